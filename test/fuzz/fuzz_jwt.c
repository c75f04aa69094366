/* libFuzzer target for HS256 JWT verification (fixed secret and clock).
 *
 * The first byte picks the mode:
 *   'H'  the rest is "header.payload" (base64url text): the fuzzer appends the
 *        right HMAC, so header and payload parsing and the claim checks run
 *        on arbitrary bytes; a bad signature is then impossible.
 *   'S'  the rest is JSON: an object is signed by sio_jwt_sign_hs256 and must
 *        verify (or fail only on its claims), giving the same claims back.
 *   else the whole input is a token, verified as is.
 * Every input goes through an exact-size copy, so ASan sees any over-read. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"
#include "sio/status.h"
#include "util/buf.h"

#define NOW  INT64_C(1700000000)
#define SKEW 30

static const uint8_t SECRET[] = "fuzz-secret";

/* Fuzzer-only: a broken invariant must stop the run loudly. */
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

static int is_result(int rc) {
    return rc == SIO_OK || rc == SIO_EJWT_MALFORMED || rc == SIO_EJWT_ALG || rc == SIO_EJWT_SIG ||
           rc == SIO_EJWT_EXPIRED || rc == SIO_EJWT_NOTYET || rc == SIO_EJWT_CLAIMS ||
           rc == SIO_EJWT_TOOBIG || rc == SIO_EJWT_NOEXP || rc == SIO_ENOMEM;
}

static int verify_copy(const uint8_t *p, size_t n, cJSON **claims) {
    char *copy = malloc(n ? n : 1);
    REQUIRE(copy);
    if (n) memcpy(copy, p, n);
    /* Both settings of the exp requirement, chosen by the input's length. */
    unsigned flags = n & 1 ? SIO_JWT_ALLOW_NO_EXP : 0;
    int rc = sio_jwt_verify(copy, n, SECRET, sizeof SECRET - 1, NOW, SKEW, flags, claims);
    free(copy);
    REQUIRE(is_result(rc));
    REQUIRE((rc == SIO_OK) == (*claims != NULL));
    if (*claims) REQUIRE(cJSON_IsObject(*claims));
    return rc;
}

static void b64url(const uint8_t *in, size_t n, sbuf *out) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++)
            sbuf_putc(out, (uint8_t)A[v >> (18 - 6 * k) & 63]);
    }
}

static void mode_hmac(const uint8_t *p, size_t n) {
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    REQUIRE(HMAC(EVP_sha256(), SECRET, (int)(sizeof SECRET - 1), p, n, mac, &mac_len));
    sbuf tok = SBUF_INIT;
    REQUIRE(sbuf_append(&tok, p, n) == SIO_OK);
    sbuf_putc(&tok, '.');
    b64url(mac, mac_len, &tok);
    cJSON *claims = NULL;
    int rc = verify_copy(tok.data, tok.len, &claims);
    REQUIRE(rc != SIO_EJWT_SIG);
    cJSON_Delete(claims);
    sbuf_free(&tok);
}

static void mode_sign(const uint8_t *p, size_t n) {
    cJSON *payload = cJSON_ParseWithLength((const char *)p, n);
    if (!payload) return;
    sbuf tok = SBUF_INIT;
    int rc = sio_jwt_sign_hs256(payload, SECRET, sizeof SECRET - 1, &tok);
    REQUIRE(rc == SIO_OK || rc == SIO_EINVAL || rc == SIO_ETOOBIG || rc == SIO_ENOMEM);
    REQUIRE(rc != SIO_EINVAL || !cJSON_IsObject(payload));
    if (rc == SIO_OK) {
        REQUIRE(tok.len <= SIO_JWT_MAX_LEN);
        cJSON *claims = NULL;
        rc = verify_copy(tok.data, tok.len, &claims);
        REQUIRE(rc == SIO_OK || rc == SIO_EJWT_EXPIRED || rc == SIO_EJWT_NOTYET ||
                rc == SIO_EJWT_CLAIMS || rc == SIO_EJWT_NOEXP || rc == SIO_ENOMEM);
        if (claims) {
            char *a = cJSON_PrintUnformatted(payload), *b = cJSON_PrintUnformatted(claims);
            REQUIRE(a && b && strcmp(a, b) == 0);
            cJSON_free(a);
            cJSON_free(b);
            cJSON_Delete(claims);
        }
    }
    sbuf_free(&tok);
    cJSON_Delete(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size && data[0] == 'H') {
        mode_hmac(data + 1, size - 1);
    } else if (size && data[0] == 'S') {
        mode_sign(data + 1, size - 1);
    } else {
        cJSON *claims = NULL;
        verify_copy(data, size, &claims);
        cJSON_Delete(claims);
    }
    return 0;
}
