/* HS256 JWT verification and signing on OpenSSL's HMAC, with no JWT library.
 *
 * Why OpenSSL directly rather than libjwt: we need exactly one algorithm
 * (HMAC-SHA256) and OpenSSL's libcrypto is already a dependency (session ids
 * come from its CSPRNG). Debian's libjwt is the 1.x series, which pulls in
 * jansson as a second JSON library next to cJSON, and JWT libraries have a
 * history of algorithm-confusion bugs (accepting "none", or verifying an HMAC
 * with a public key) because they dispatch on the attacker-controlled "alg"
 * header. Here nothing dispatches on it: the header must say exactly "HS256"
 * and the MAC is always HMAC-SHA256 with the configured secret, compared in
 * constant time with CRYPTO_memcmp. The whole format is a hundred lines of
 * strict base64url and two cJSON parses, small enough to read and fuzz.
 *
 * HMAC() (one-shot) is the OpenSSL 3 API that is not deprecated (unlike
 * HMAC_CTX_*), and it exists in OpenSSL 1.1 as well. */
#include "auth/jwt.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "sio/status.h"
#include "util/base64.h"

#define MAC_LEN     32 /* SHA-256 */
#define MAC_B64_LEN 43 /* base64url of 32 bytes, unpadded */

/* base64url of {"alg":"HS256","typ":"JWT"} */
static const char HEADER_B64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/* Parse exactly one JSON object from n bytes (surrounding whitespace allowed);
 * NULL when the bytes are anything else. */
static cJSON *parse_object(const uint8_t *p, size_t n) {
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts((const char *)p, n, &end, 0);
    if (!v) return NULL;
    const char *stop = (const char *)p + n;
    while (end && end < stop && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (!cJSON_IsObject(v) || end != stop) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* The member named key (case-sensitive) and how many times it occurs. */
static const cJSON *member(const cJSON *obj, const char *key, int *count) {
    const cJSON *found = NULL;
    *count = 0;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (c->string && strcmp(c->string, key) == 0) {
            if (!found) found = c;
            (*count)++;
        }
    }
    return found;
}

static int check_header(const cJSON *h) {
    int n;
    const cJSON *alg = member(h, "alg", &n);
    /* A duplicated alg could be read differently by another parser. */
    if (n != 1 || !cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
        return SIO_EJWT_ALG;
    /* crit lists extensions the receiver must understand; we understand none. */
    member(h, "crit", &n);
    if (n) return SIO_EJWT_ALG;
    return SIO_OK;
}

static int check_claims(const cJSON *c, int64_t now_s, int64_t skew_s, unsigned flags) {
    static const char *const numeric[] = {"exp", "nbf", "iat"};
    const cJSON *v[3];
    int n;
    for (int i = 0; i < 3; i++) {
        v[i] = member(c, numeric[i], &n);
        if (n > 1 || (v[i] && !cJSON_IsNumber(v[i]))) return SIO_EJWT_CLAIMS;
    }
    const cJSON *sub = member(c, "sub", &n);
    if (n > 1 || (sub && !cJSON_IsString(sub))) return SIO_EJWT_CLAIMS;
    if (!v[0] && !(flags & SIO_JWT_ALLOW_NO_EXP)) return SIO_EJWT_NOEXP;
    /* In doubles: no int64 overflow whatever now_s is, and fractional
     * NumericDates compare as they should. */
    double now = (double)now_s, skew = (double)skew_s;
    if (v[0] && v[0]->valuedouble <= now - skew) return SIO_EJWT_EXPIRED;
    if (v[1] && v[1]->valuedouble > now + skew) return SIO_EJWT_NOTYET;
    return SIO_OK;
}

int sio_jwt_verify(const char *token, size_t len, const uint8_t *secret, size_t secret_len,
                   int64_t now_s, int64_t skew_s, unsigned flags, cJSON **claims) {
    if (claims) *claims = NULL;
    if (!token || !secret || secret_len == 0 || secret_len > INT_MAX) return SIO_EINVAL;
    if (len > SIO_JWT_MAX_LEN) return SIO_EJWT_TOOBIG;
    if (skew_s < 0) skew_s = 0;
    if (skew_s > SIO_JWT_MAX_SKEW) skew_s = SIO_JWT_MAX_SKEW;

    /* Shape: base64url "." base64url "." base64url, nothing else (the
     * strict decodes below refuse anything outside the alphabet). */
    size_t dot[2], ndots = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (ndots == 2) return SIO_EJWT_MALFORMED;
            dot[ndots++] = i;
        }
    }
    if (ndots != 2 || dot[0] == 0 || dot[1] == dot[0] + 1) return SIO_EJWT_MALFORMED;

    /* The three decoded parts together are shorter than the token. */
    uint8_t dec[SIO_JWT_MAX_LEN];
    uint8_t *hdr = dec, *pay, *sig;
    size_t hlen, plen, slen;
    if (b64_decode(token, dot[0], hdr, &hlen, B64_STRICT)) return SIO_EJWT_MALFORMED;
    pay = hdr + hlen;
    if (b64_decode(token + dot[0] + 1, dot[1] - dot[0] - 1, pay, &plen, B64_STRICT))
        return SIO_EJWT_MALFORMED;
    sig = pay + plen;
    if (b64_decode(token + dot[1] + 1, len - dot[1] - 1, sig, &slen, B64_STRICT))
        return SIO_EJWT_MALFORMED;

    cJSON *h = parse_object(hdr, hlen);
    if (!h) return SIO_EJWT_MALFORMED;
    int rc = check_header(h);
    cJSON_Delete(h);
    if (rc) return rc;

    if (slen != MAC_LEN) return SIO_EJWT_SIG;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)token, dot[1], mac,
              &mac_len) ||
        mac_len != MAC_LEN)
        return SIO_EIO;
    rc = CRYPTO_memcmp(mac, sig, MAC_LEN) == 0 ? SIO_OK : SIO_EJWT_SIG;
    OPENSSL_cleanse(mac, sizeof mac);
    if (rc) return rc;

    cJSON *p = parse_object(pay, plen);
    if (!p) return SIO_EJWT_MALFORMED;
    rc = check_claims(p, now_s, skew_s, flags);
    if (rc || !claims)
        cJSON_Delete(p);
    else
        *claims = p;
    return rc;
}

int sio_jwt_sign_hs256(const cJSON *payload, const uint8_t *secret, size_t secret_len, sbuf *out) {
    if (!cJSON_IsObject(payload) || !secret || secret_len == 0 || secret_len > INT_MAX || !out)
        return SIO_EINVAL;
    char *json = cJSON_PrintUnformatted(payload);
    if (!json) return SIO_ENOMEM;
    size_t jlen = strlen(json);
    size_t hlen = sizeof HEADER_B64 - 1;
    if (jlen > SIO_JWT_MAX_LEN ||
        hlen + 1 + b64_encoded_len(jlen, B64_URL) + 1 + MAC_B64_LEN > SIO_JWT_MAX_LEN) {
        cJSON_free(json);
        return SIO_ETOOBIG;
    }
    size_t total = hlen + 1 + b64_encoded_len(jlen, B64_URL) + 1 + MAC_B64_LEN;
    if (sbuf_reserve(out, total)) {
        cJSON_free(json);
        return SIO_ENOMEM;
    }
    char *start = (char *)out->data + out->len, *w = start;
    memcpy(w, HEADER_B64, hlen);
    w += hlen;
    *w++ = '.';
    b64_encode((const uint8_t *)json, jlen, w, B64_URL);
    w += b64_encoded_len(jlen, B64_URL);
    cJSON_free(json);

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)start,
              (size_t)(w - start), mac, &mac_len) ||
        mac_len != MAC_LEN)
        return SIO_EIO;
    *w++ = '.';
    b64_encode(mac, MAC_LEN, w, B64_URL);
    OPENSSL_cleanse(mac, sizeof mac);
    out->len += total;
    return SIO_OK;
}
