/* HS256 JSON Web Tokens: verification (every refusal reason), the signer,
 * the connect middleware and the per-socket claims table. The token vectors
 * were made with Node's node:crypto (createHmac + base64url), independently
 * of this code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/jwt.h"
#include "check.h"
#include "sio/auth.h"
#include "socketio/internal.h"
#include "sio/status.h"
#include "util/buf.h"
#include "util/log.h"

#define SECRET     "sio-unit-test-secret-32-bytes-ok"
#define SECRET_LEN (sizeof SECRET - 1)
#define NOW        INT64_C(1700000100) /* inside GOOD's iat..exp */

/* ---- vectors (secret SECRET unless the name says otherwise) ----
 * Made in Node with node:crypto:
 *   const e = (x) => Buffer.from(x).toString("base64url");
 *   const i = `${e(header)}.${e(payload)}`; // header, payload: JSON text
 *   token = `${i}.${crypto.createHmac("sha256", SECRET).update(i).digest("base64url")}`
 * (HS512 with "sha512"; "none" with an empty signature). */

static const char GOOD[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                           "eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
                           "pucCFHn-lhwF3vKglJ-pJCRX5OgQJ2l9fb73wYecvjs";
static const char GOOD_NOTYP[] = "eyJhbGciOiJIUzI1NiJ9."
                                 "eyJzdWIiOiJib2IiLCJuYW1lIjoiQm9iIMOp5LiWIiwiYWRtaW4iOnRydWV9."
                                 "TvilZKLSaseNCuYG-NXdobzmEBeh5nPwmmp4WjZg2RY";
static const char GOOD_SPACES[] = "IHsiYWxnIiA6ICJIUzI1NiJ9IA."
                                  "Cnsic3ViIjoiY2Fyb2wiLCJleHAiOjE3MDAwMDM2MDAuNX0J."
                                  "FfWhhk8nN4Xyv3pYGWuhP0L0Bd6NpLmpVQH5ykzI7r4";
static const char PAYLOAD_ARRAY[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                    "WzEsMiwzXQ."
                                    "qKUjsCw729M9Ld0Ndg9fRwiwdT1-djHckJhhwCQKuAE";
static const char PAYLOAD_STRING[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                     "YWxpY2U."
                                     "lBXi_7nTYsCT6oxtmld-f5L0QmWRQhji9yYTiuDwpyE";
static const char PAYLOAD_TRAILING[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                       "eyJzdWIiOiJhbGljZSJ9eA."
                                       "0McjrSdD9DWM1Cuv8HEhutJVl5SpsssyfrjTe81Woxw";
static const char HEADER_NOT_JSON[] = "bm90IGpzb24."
                                      "eyJzdWIiOiJhbGljZSJ9."
                                      "rj8dwjB-72up18MPwEHBR7k2NC1TMucgeoKGRfkscAc";
static const char HEADER_ARRAY[] = "WyJIUzI1NiJd."
                                   "eyJzdWIiOiJhbGljZSJ9."
                                   "MScY1067ktcz5lUaXTaGCc89LKQ75G_QHALBFN-kUyg";
static const char NONE_NOSIG[] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                                 "eyJzdWIiOiJhbGljZSJ9."
                                 "";
static const char NONE_SIG[] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                               "eyJzdWIiOiJhbGljZSJ9."
                               "lzT-XXWIj4wbJlJDnkpHN1I0iK86p2g0tK3ZR-dAXYg";
static const char HS512[] =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZSJ9."
    "gUgLJc9nPO0XiVDX-EaAcvv9H-pHC_lWa9yq2XfjIGBYJNILVtHmtKMNp9R_ZlJUjh-tboYdPwxZm1Irvr13_w";
static const char HS512_AS_256[] = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
                                   "eyJzdWIiOiJhbGljZSJ9."
                                   "uOJw-ui9BBJsD4wCIutASdjrYSxf8n5PpB3sJrh6jIE";
static const char RS256[] = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
                            "eyJzdWIiOiJhbGljZSJ9."
                            "Krrgv0omdiG5h7lZgXWThT8LFVv1axzDAwwsg74J2ys";
static const char LOWER[] = "eyJhbGciOiJoczI1NiIsInR5cCI6IkpXVCJ9."
                            "eyJzdWIiOiJhbGljZSJ9."
                            "NyItKVvcU4FdCFyRUfrfHPIDDJe6wUyH6b_UI6aHsAw";
static const char NO_ALG[] = "eyJ0eXAiOiJKV1QifQ."
                             "eyJzdWIiOiJhbGljZSJ9."
                             "xUqo1SoO_CJVX-FZVIJHLBvgbJ19nnrKArkyIp_pXJA";
static const char ALG_NUMBER[] = "eyJhbGciOjI1Nn0."
                                 "eyJzdWIiOiJhbGljZSJ9."
                                 "0J7d-Uiih4wwgSTRiAtSQDeDXzauCcUJhsj7TPMRbJw";
static const char DUP_ALG[] = "eyJhbGciOiJIUzI1NiIsImFsZyI6Im5vbmUifQ."
                              "eyJzdWIiOiJhbGljZSJ9."
                              "hRGzOkzcxGLBS7r_fyFGcZVMfk_FCV5Ajmmwc3u966s";
static const char CRIT[] = "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiZXhwIl19."
                           "eyJzdWIiOiJhbGljZSJ9."
                           "T5b4kdn5qAnnctUcID4ouckoiC71Whl4FjVkKFgvbq8";
static const char WRONG_SECRET[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                   "eyJzdWIiOiJhbGljZSJ9."
                                   "4-0bmrpfE_TFxMTkrZRWkdIm4d90h-VNkZXmGyyhKhk";
static const char EXP_STRING[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                 "eyJzdWIiOiJhbGljZSIsImV4cCI6IjE3MDAwMDM2MDAifQ."
                                 "l76TzOa5OCtJ1gVNh-ZrMedDNPHS98rJ19c-BO3qbP8";
static const char NBF_NULL[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                               "eyJzdWIiOiJhbGljZSIsIm5iZiI6bnVsbH0."
                               "2y-1LSm-O2M3LvnrByeNmojjsvFO-ejZfkxUXA6WUwI";
static const char IAT_BOOL[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                               "eyJzdWIiOiJhbGljZSIsImlhdCI6dHJ1ZX0."
                               "uipEinsbSkHRdEtNljKzUxEMxf2ryBbosDzximvhCoc";
static const char SUB_NUMBER[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                                 "eyJzdWIiOjQyfQ."
                                 "H-mW0f7Z9mtUquXaV72MSpHOAj9pYndrHmMj8mkKphI";
static const char DUP_EXP[] = "eyJhbGciOiJIUzI1NiJ9."
                              "eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OSwiZXhwIjoxfQ."
                              "DGhCtJ78WAKIwUamWVF43eLg4RbbVkNI0ZtrB-z7dA0";
/* {"exp":1e400} and {"exp":-1e400}: out of double range (cJSON reads +-inf). */
static const char EXP_HUGE[] = "eyJhbGciOiJIUzI1NiJ9."
                               "eyJleHAiOjFlNDAwfQ."
                               "fDTVsEd-1uPssuzUw18rmDvtr6LQMY9-hiCRbXJd6Lg";
static const char EXP_NEG_HUGE[] = "eyJhbGciOiJIUzI1NiJ9."
                                   "eyJleHAiOi0xZTQwMH0."
                                   "ZwX2CeVGtCYl27vfasX4Kdldec4c5XsKj35s4cL5P6U";
/* {"sub":"alice"} followed by a NUL byte, inside the signed payload. */
static const char PAYLOAD_NUL[] = "eyJhbGciOiJIUzI1NiJ9."
                                  "eyJzdWIiOiJhbGljZSJ9AA."
                                  "iTCzeQkoUNzTrga7pv2us1I7HgnoyEuFtASt5xmwpbs";

/* ---- helpers ---- */

static const uint8_t *key(void) {
    return (const uint8_t *)SECRET;
}

/* Verify a NUL-terminated token at `now` with `skew` and flags; claims
 * discarded, and checked to be NULL on failure. */
static int verify_flags(const char *tok, int64_t now, int64_t skew, unsigned flags) {
    cJSON *claims = (cJSON *)&claims; /* garbage the call must overwrite */
    int rc = sio_jwt_verify(tok, strlen(tok), key(), SECRET_LEN, now, skew, flags, &claims);
    if (rc == SIO_OK && !cJSON_IsObject(claims)) rc = 12345;
    if (rc != SIO_OK && claims != NULL) rc = 54321;
    if (rc == SIO_OK) cJSON_Delete(claims);
    return rc;
}

/* With the default flags: exp required. */
static int verify_at(const char *tok, int64_t now, int64_t skew) {
    return verify_flags(tok, now, skew, 0);
}

static int verify(const char *tok) {
    return verify_at(tok, NOW, 0);
}

/* Tokens without exp allowed (SIO_JWT_ALLOW_NO_EXP). */
static int verify_lax_at(const char *tok, int64_t now, int64_t skew) {
    return verify_flags(tok, now, skew, SIO_JWT_ALLOW_NO_EXP);
}

static int verify_lax(const char *tok) {
    return verify_lax_at(tok, NOW, 0);
}

/* A token signed by our signer for this payload (JSON text); caller frees. */
static char *mint(const char *payload_json) {
    cJSON *p = cJSON_Parse(payload_json);
    sbuf b = SBUF_INIT;
    int rc = p ? sio_jwt_sign_hs256(p, key(), SECRET_LEN, &b) : SIO_EPARSE;
    cJSON_Delete(p);
    if (rc != SIO_OK || sbuf_putc(&b, 0) != SIO_OK) {
        fprintf(stderr, "  mint(%s) failed: %d\n", payload_json, rc);
        sbuf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static char *mintf(const char *fmt, long long a, long long b) {
    char json[256];
    snprintf(json, sizeof json, fmt, a, b);
    return mint(json);
}

static const char *ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int val(char c) {
    const char *p = strchr(ALPHABET, c);
    return p && c ? (int)(p - ALPHABET) : -1;
}

/* GOOD with its part `part` (0..2) replaced by `with`. */
static char *replace_part(const char *tok, int part, const char *with) {
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    const char *start[3] = {tok, d1 + 1, d2 + 1}, *end[3] = {d1, d2, tok + strlen(tok)};
    sbuf b = SBUF_INIT;
    for (int i = 0; i < 3; i++) {
        if (i) sbuf_putc(&b, '.');
        if (i == part)
            sbuf_puts(&b, with);
        else
            sbuf_append(&b, start[i], (size_t)(end[i] - start[i]));
    }
    sbuf_putc(&b, 0);
    return (char *)b.data;
}

static int verify_replaced(const char *tok, int part, const char *with) {
    char *t = replace_part(tok, part, with);
    int rc = verify(t);
    free(t);
    return rc;
}

/* ---- tests ---- */

static void test_good_vectors(void) {
    cJSON *c = NULL;
    CHECK(sio_jwt_verify(GOOD, strlen(GOOD), key(), SECRET_LEN, NOW, 0, 0, &c) == SIO_OK);
    CHECK(cJSON_IsObject(c));
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(c, "sub");
    CHECK(cJSON_IsString(sub) && strcmp(sub->valuestring, "alice") == 0);
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
    CHECK(cJSON_IsNumber(exp) && exp->valuedouble == 1700003600.0);
    cJSON_Delete(c);

    c = NULL;
    /* GOOD_NOTYP has no exp: refused by default, accepted when allowed. */
    CHECK(verify(GOOD_NOTYP) == SIO_EJWT_NOEXP);
    CHECK(sio_jwt_verify(GOOD_NOTYP, strlen(GOOD_NOTYP), key(), SECRET_LEN, NOW, 0,
                         SIO_JWT_ALLOW_NO_EXP, &c) == SIO_OK);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
    CHECK(cJSON_IsString(name) && strcmp(name->valuestring, "Bob \xc3\xa9\xe4\xb8\x96") == 0);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "admin")));
    cJSON_Delete(c);

    /* Whitespace around the JSON texts; a fractional exp. */
    CHECK(verify_at(GOOD_SPACES, 1700003600, 0) == SIO_OK);
    CHECK(verify_at(GOOD_SPACES, 1700003601, 0) == SIO_EJWT_EXPIRED);

    /* claims may be NULL; the token need not be NUL-terminated. */
    CHECK(sio_jwt_verify(GOOD, strlen(GOOD), key(), SECRET_LEN, NOW, 0, 0, NULL) == SIO_OK);
    char copy[sizeof GOOD];
    memcpy(copy, GOOD, sizeof GOOD);
    copy[sizeof GOOD - 1] = 'X';
    CHECK(sio_jwt_verify(copy, sizeof GOOD - 1, key(), SECRET_LEN, NOW, 0, 0, NULL) == SIO_OK);
}

static void test_shape(void) {
    CHECK(verify("") == SIO_EJWT_MALFORMED);
    CHECK(verify("abc") == SIO_EJWT_MALFORMED);
    CHECK(verify("..") == SIO_EJWT_MALFORMED);
    CHECK(verify("...") == SIO_EJWT_MALFORMED);
    /* Two parts: GOOD without its signature part (and without the dot). */
    char two[sizeof GOOD];
    memcpy(two, GOOD, sizeof GOOD);
    *strrchr(two, '.') = 0;
    CHECK(verify(two) == SIO_EJWT_MALFORMED);
    /* Four parts. */
    char four[sizeof GOOD + 8];
    snprintf(four, sizeof four, "%s.abcd", GOOD);
    CHECK(verify(four) == SIO_EJWT_MALFORMED);
    snprintf(four, sizeof four, "%s.", GOOD);
    CHECK(verify(four) == SIO_EJWT_MALFORMED);
    /* Empty header or payload. */
    CHECK(verify_replaced(GOOD, 0, "") == SIO_EJWT_MALFORMED);
    CHECK(verify_replaced(GOOD, 1, "") == SIO_EJWT_MALFORMED);
    /* A leading or trailing dot makes four parts or an empty one. */
    char lead[sizeof GOOD + 1] = ".";
    strcat(lead, GOOD);
    CHECK(verify(lead) == SIO_EJWT_MALFORMED);
}

static void test_base64url(void) {
    /* Padding is refused, wherever it is. */
    char pad[sizeof GOOD + 4];
    snprintf(pad, sizeof pad, "%s=", GOOD);
    CHECK(verify(pad) == SIO_EJWT_MALFORMED);
    CHECK(verify_replaced(GOOD, 1, "eyJzdWIiOiJhbGljZSJ9==") == SIO_EJWT_MALFORMED);
    CHECK(verify_replaced(GOOD, 0, "eyJhbGciOiJIUzI1NiJ9=") == SIO_EJWT_MALFORMED);
    /* Standard-base64 characters, spaces and other bytes are not in the alphabet. */
    const char *bad[] = {"+", "/", " ", "\t", "\n", "*", "%", "\x80", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *t = replace_part(GOOD, 1, "eyJzdWIiOiJhbGljZSJ9");
        char *p = strchr(t, '.') + 5;
        *p = bad[i][0];
        CHECK(verify(t) == SIO_EJWT_MALFORMED);
        free(t);
    }
    /* The same payload in standard base64 (it has a '/' where base64url has '_'). */
    CHECK(verify_replaced(GOOD, 1, "eyJzdWIiOiI/In0") == SIO_EJWT_MALFORMED);
    /* A part whose length is 1 modulo 4 cannot be base64. */
    CHECK(verify_replaced(GOOD, 1, "eyJzdWIiOiJhbGljZSJ9A") == SIO_EJWT_MALFORMED);
    CHECK(verify_replaced(GOOD, 0, "e") == SIO_EJWT_MALFORMED);
    /* Non-canonical trailing bits: GOOD's signature ends with 's' (44, low
     * bits 00); 't' decodes to the same bytes plus a stray bit. */
    size_t n = strlen(GOOD);
    CHECK(GOOD[n - 1] == 's');
    char nc[sizeof GOOD];
    memcpy(nc, GOOD, sizeof GOOD);
    nc[n - 1] = 't';
    CHECK(verify(nc) == SIO_EJWT_MALFORMED);
    /* Same for a 2-character tail: "eQ" is "y", "eR" is not canonical. */
    CHECK(verify_replaced(GOOD, 1, "eyJzdWIiOiJhbGljZSJ9eR") == SIO_EJWT_MALFORMED);

    /* NUL bytes inside the given length. */
    char nul[sizeof GOOD];
    memcpy(nul, GOOD, sizeof GOOD);
    nul[40] = 0;
    CHECK(sio_jwt_verify(nul, sizeof GOOD - 1, key(), SECRET_LEN, NOW, 0, 0, NULL) ==
          SIO_EJWT_MALFORMED);
    CHECK(sio_jwt_verify(GOOD, sizeof GOOD, key(), SECRET_LEN, NOW, 0, 0, NULL) ==
          SIO_EJWT_MALFORMED); /* the terminating NUL counted in */
}

static void test_not_objects(void) {
    CHECK(verify(HEADER_NOT_JSON) == SIO_EJWT_MALFORMED);
    CHECK(verify(HEADER_ARRAY) == SIO_EJWT_MALFORMED);
    CHECK(verify(PAYLOAD_ARRAY) == SIO_EJWT_MALFORMED);
    CHECK(verify(PAYLOAD_STRING) == SIO_EJWT_MALFORMED);
    CHECK(verify(PAYLOAD_TRAILING) == SIO_EJWT_MALFORMED);
    CHECK(verify(PAYLOAD_NUL) == SIO_EJWT_MALFORMED);
}

static void test_alg(void) {
    CHECK(verify(NONE_NOSIG) == SIO_EJWT_ALG);
    CHECK(verify(NONE_SIG) == SIO_EJWT_ALG);
    CHECK(verify(HS512) == SIO_EJWT_ALG);
    CHECK(verify(HS512_AS_256) == SIO_EJWT_ALG);
    CHECK(verify(RS256) == SIO_EJWT_ALG);
    CHECK(verify(LOWER) == SIO_EJWT_ALG);
    CHECK(verify(NO_ALG) == SIO_EJWT_ALG);
    CHECK(verify(ALG_NUMBER) == SIO_EJWT_ALG);
    CHECK(verify(DUP_ALG) == SIO_EJWT_ALG);
    CHECK(verify(CRIT) == SIO_EJWT_ALG);
    /* GOOD's payload and signature under a "none" header. */
    CHECK(verify_replaced(GOOD, 0, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0") == SIO_EJWT_ALG);
}

static void test_signature(void) {
    CHECK(verify(WRONG_SECRET) == SIO_EJWT_SIG);
    const uint8_t other[] = "sio-unit-test-secret-32-bytes-ok!";
    CHECK(sio_jwt_verify(GOOD, strlen(GOOD), other, sizeof other - 1, NOW, 0, 0, NULL) ==
          SIO_EJWT_SIG);
    CHECK(sio_jwt_verify(GOOD, strlen(GOOD), key(), SECRET_LEN - 1, NOW, 0, 0, NULL) ==
          SIO_EJWT_SIG);

    /* Flip each of the 256 signature bits: base64url characters carry 6
     * bits each, the last one 4 (its 2 low bits are padding). */
    size_t n = strlen(GOOD), s0 = (size_t)(strrchr(GOOD, '.') - GOOD) + 1;
    CHECK(n - s0 == 43);
    int flipped = 0, refused = 0;
    for (size_t i = s0; i < n; i++) {
        for (int bit = (i == n - 1) ? 2 : 0; bit < 6; bit++) {
            char t[sizeof GOOD];
            memcpy(t, GOOD, sizeof GOOD);
            t[i] = ALPHABET[val(t[i]) ^ (1 << bit)];
            flipped++;
            refused += verify(t) == SIO_EJWT_SIG;
        }
    }
    CHECK(flipped == 256);
    CHECK(refused == 256);

    /* Truncated or extended signatures: other lengths are refused. */
    char t[sizeof GOOD + 100];
    memcpy(t, GOOD, sizeof GOOD);
    t[n - 3] = 0; /* 40 characters: 30 bytes */
    CHECK(verify(t) == SIO_EJWT_SIG);
    memcpy(t, GOOD, sizeof GOOD);
    t[n - 1] = 0; /* 42 characters: 31 bytes, with stray bits */
    CHECK(verify(t) != SIO_OK);
    t[s0] = 0; /* empty */
    CHECK(verify(t) == SIO_EJWT_SIG);
    snprintf(t, sizeof t, "%sAAAA", GOOD); /* 47 characters: 35 bytes */
    CHECK(verify(t) == SIO_EJWT_SIG);
    /* HS256 header with an HS512-sized signature. */
    const char *sig512 = strrchr(HS512, '.') + 1;
    CHECK(verify_replaced(GOOD, 2, sig512) == SIO_EJWT_SIG);
    /* A valid signature for a different payload. */
    CHECK(verify_replaced(GOOD, 2, strrchr(WRONG_SECRET, '.') + 1) == SIO_EJWT_SIG);
    char *swapped = replace_part(GOOD, 1, "eyJzdWIiOiJtYWxsb3J5In0"); /* {"sub":"mallory"} */
    CHECK(verify(swapped) == SIO_EJWT_SIG);
    free(swapped);
}

static void test_claim_types(void) {
    CHECK(verify(EXP_STRING) == SIO_EJWT_CLAIMS);
    CHECK(verify(NBF_NULL) == SIO_EJWT_CLAIMS);
    CHECK(verify(IAT_BOOL) == SIO_EJWT_CLAIMS);
    CHECK(verify(SUB_NUMBER) == SIO_EJWT_CLAIMS);
    CHECK(verify(DUP_EXP) == SIO_EJWT_CLAIMS);
    char *t = mint("{\"exp\":[1]}");
    CHECK(t && verify(t) == SIO_EJWT_CLAIMS);
    free(t);
    t = mint("{\"nbf\":{}}");
    CHECK(t && verify(t) == SIO_EJWT_CLAIMS);
    free(t);
    /* Other claims may be anything; names are case-sensitive ("Exp" is no
     * exp: refused by default for the missing exp, accepted when allowed). */
    t = mint("{\"Exp\":\"x\",\"aud\":[\"a\",\"b\"],\"jti\":null}");
    CHECK(t && verify(t) == SIO_EJWT_NOEXP);
    CHECK(t && verify_lax(t) == SIO_OK);
    free(t);
    /* A wrongly typed claim is reported as such, not as a missing exp. */
    t = mint("{\"nbf\":\"soon\"}");
    CHECK(t && verify(t) == SIO_EJWT_CLAIMS);
    free(t);
}

static void test_times(void) {
    const int64_t now = NOW;
    char *t;
#define AT(fmt, a, b, n, skew, want)                                                               \
    do {                                                                                           \
        t = mintf(fmt, (long long)(a), (long long)(b));                                            \
        CHECK(t &&verify_lax_at(t, n, skew) == (want));                                            \
        free(t);                                                                                   \
    } while (0)
    /* exp: refused when exp <= now - skew. */
    AT("{\"exp\":%lld%.0lld}", now + 1, 0, now, 0, SIO_OK);
    AT("{\"exp\":%lld%.0lld}", now, 0, now, 0, SIO_EJWT_EXPIRED);
    AT("{\"exp\":%lld%.0lld}", now - 3600, 0, now, 0, SIO_EJWT_EXPIRED);
    AT("{\"exp\":%lld%.0lld}", now - 61, 0, now, 60, SIO_EJWT_EXPIRED); /* beyond skew */
    AT("{\"exp\":%lld%.0lld}", now - 60, 0, now, 60, SIO_EJWT_EXPIRED);
    AT("{\"exp\":%lld%.0lld}", now - 59, 0, now, 60, SIO_OK); /* within skew */
    AT("{\"exp\":%lld%.0lld}", now - 30, 0, now, 60, SIO_OK);
    AT("{\"exp\":%lld%.0lld}", now - 5, 0, now, 10, SIO_OK);
    AT("{\"exp\":%lld%.0lld}", now - 11, 0, now, 10, SIO_EJWT_EXPIRED);
    /* The skew is clamped to 0..60. */
    AT("{\"exp\":%lld%.0lld}", now - 61, 0, now, 3600, SIO_EJWT_EXPIRED);
    AT("{\"exp\":%lld%.0lld}", now - 59, 0, now, 3600, SIO_OK);
    AT("{\"exp\":%lld%.0lld}", now + 1, 0, now, -5, SIO_OK);
    AT("{\"exp\":%lld%.0lld}", now, 0, now, INT64_MIN, SIO_EJWT_EXPIRED);
    AT("{\"exp\":%lld%.0lld}", now - 61, 0, now, INT64_MAX, SIO_EJWT_EXPIRED);
    /* nbf: refused when nbf > now + skew. */
    AT("{\"nbf\":%lld%.0lld}", now, 0, now, 0, SIO_OK);
    AT("{\"nbf\":%lld%.0lld}", now + 1, 0, now, 0, SIO_EJWT_NOTYET);
    AT("{\"nbf\":%lld%.0lld}", now + 61, 0, now, 60, SIO_EJWT_NOTYET); /* beyond skew */
    AT("{\"nbf\":%lld%.0lld}", now + 60, 0, now, 60, SIO_OK);          /* within skew */
    AT("{\"nbf\":%lld%.0lld}", now + 30, 0, now, 60, SIO_OK);
    AT("{\"nbf\":%lld%.0lld}", now + 61, 0, now, 3600, SIO_EJWT_NOTYET);
    AT("{\"nbf\":%lld%.0lld}", now - 100000, 0, now, 0, SIO_OK);
    /* Both: a window. */
    AT("{\"nbf\":%lld,\"exp\":%lld}", now - 10, now + 10, now, 0, SIO_OK);
    AT("{\"nbf\":%lld,\"exp\":%lld}", now - 10, now + 10, now + 10, 0, SIO_EJWT_EXPIRED);
    AT("{\"nbf\":%lld,\"exp\":%lld}", now - 10, now + 10, now - 11, 0, SIO_EJWT_NOTYET);
    /* iat is only type-checked, even in the future. */
    AT("{\"iat\":%lld%.0lld}", now + 100000, 0, now, 0, SIO_OK);
    /* Extreme clocks and dates do not overflow. */
    AT("{\"exp\":%lld%.0lld}", now, 0, INT64_MAX, 60, SIO_EJWT_EXPIRED);
    AT("{\"exp\":%lld%.0lld}", now, 0, INT64_MIN, 60, SIO_OK);
    AT("{\"nbf\":%lld%.0lld}", now, 0, INT64_MIN, 60, SIO_EJWT_NOTYET);
    AT("{\"exp\":%lld%.0lld}", INT64_MAX, 0, now, 60, SIO_OK);
#undef AT
    CHECK(verify(EXP_HUGE) == SIO_OK);
    CHECK(verify_at(EXP_HUGE, INT64_MAX, 60) == SIO_OK);
    CHECK(verify(EXP_NEG_HUGE) == SIO_EJWT_EXPIRED);
    /* GOOD itself: iat 1700000000, exp 1700003600. */
    CHECK(verify_at(GOOD, 1700003599, 0) == SIO_OK);
    CHECK(verify_at(GOOD, 1700003600, 0) == SIO_EJWT_EXPIRED);
    CHECK(verify_at(GOOD, 1700003600 + 59, 60) == SIO_OK);
    CHECK(verify_at(GOOD, 1700003600 + 60, 60) == SIO_EJWT_EXPIRED);
}

static void test_no_exp(void) {
    /* No exp: refused by default whatever else the token says, so that a
     * leaked token does not stay valid forever. */
    const char *payloads[] = {"{}", "{\"sub\":\"alice\"}", "{\"sub\":\"alice\",\"iat\":1700000000}",
                              "{\"nbf\":1}", "{\"exp\":null}"};
    for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++) {
        char *t = mint(payloads[i]);
        int want_lax = i == 4 ? SIO_EJWT_CLAIMS : SIO_OK; /* null is not a NumericDate */
        CHECK(t && verify(t) == (i == 4 ? SIO_EJWT_CLAIMS : SIO_EJWT_NOEXP));
        CHECK(t && verify_lax(t) == want_lax);
        free(t);
    }
    /* A not-yet-valid token without exp, allowed: its nbf still counts. */
    char *t = mintf("{\"nbf\":%lld%.0lld}", (long long)NOW + 100, 0);
    CHECK(t && verify_lax(t) == SIO_EJWT_NOTYET);
    free(t);
    /* The flag changes nothing for a token that has exp. */
    CHECK(verify_lax_at(GOOD, 1700003599, 0) == SIO_OK);
    CHECK(verify_lax_at(GOOD, 1700003600, 0) == SIO_EJWT_EXPIRED);
    CHECK(strstr(sio_strerror(SIO_EJWT_NOEXP), "exp") != NULL);
}

static void test_limits(void) {
    /* 9 KiB of a well-formed-looking token. */
    size_t n = 9 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'A', n);
    big[100] = '.';
    big[200] = '.';
    big[n] = 0;
    CHECK(verify(big) == SIO_EJWT_TOOBIG);
    CHECK(sio_jwt_verify(big, SIO_JWT_MAX_LEN + 1, key(), SECRET_LEN, NOW, 0, 0, NULL) ==
          SIO_EJWT_TOOBIG);
    free(big);

    /* A valid token of exactly 8192 bytes is accepted; the signer refuses to
     * make a longer one. */
    int found = 0;
    for (size_t pad = 6000; pad < 6200 && !found; pad++) {
        cJSON *p = cJSON_CreateObject();
        char *s = malloc(pad + 1);
        memset(s, 'x', pad);
        s[pad] = 0;
        cJSON_AddStringToObject(p, "pad", s);
        sbuf b = SBUF_INIT;
        int rc = sio_jwt_sign_hs256(p, key(), SECRET_LEN, &b);
        if (rc == SIO_OK && b.len == SIO_JWT_MAX_LEN) {
            found = 1;
            CHECK(sio_jwt_verify((const char *)b.data, b.len, key(), SECRET_LEN, NOW, 0,
                                 SIO_JWT_ALLOW_NO_EXP, NULL) == SIO_OK);
        } else if (rc == SIO_ETOOBIG) {
            CHECK(b.len == 0 && b.data == NULL);
            found = 2; /* passed the limit without meeting it exactly */
        }
        sbuf_free(&b);
        free(s);
        cJSON_Delete(p);
    }
    CHECK(found == 1);
    cJSON *p = cJSON_CreateObject();
    char *s = malloc(7001);
    memset(s, 'x', 7000);
    s[7000] = 0;
    cJSON_AddStringToObject(p, "pad", s);
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "keep");
    CHECK(sio_jwt_sign_hs256(p, key(), SECRET_LEN, &b) == SIO_ETOOBIG);
    CHECK_MEM(b.data, b.len, "keep");
    sbuf_free(&b);
    free(s);
    cJSON_Delete(p);
}

static void test_args(void) {
    CHECK(sio_jwt_verify(NULL, 0, key(), SECRET_LEN, NOW, 0, 0, NULL) == SIO_EINVAL);
    CHECK(sio_jwt_verify(GOOD, strlen(GOOD), NULL, 0, NOW, 0, 0, NULL) == SIO_EINVAL);
    CHECK(sio_jwt_verify(GOOD, strlen(GOOD), key(), 0, NOW, 0, 0, NULL) == SIO_EINVAL);
    cJSON *c = (cJSON *)&c;
    CHECK(sio_jwt_verify(GOOD, strlen(GOOD), key(), 0, NOW, 0, 0, &c) == SIO_EINVAL && c == NULL);

    /* The refusal reasons are sio_status codes of their own (test_status
     * checks that every code is distinct and described). */
    cJSON *claims = (cJSON *)&claims;
    CHECK(sio_jwt_check(NULL, GOOD, &claims) == SIO_EINVAL && claims == NULL);
}

static void test_sign(void) {
    /* Byte for byte what Node made. */
    char *t = mint("{\"sub\":\"alice\",\"iat\":1700000000,\"exp\":1700003600}");
    CHECK(t && strcmp(t, GOOD) == 0);
    free(t);

    /* Round trips, appended after what out already holds. */
    const char *payloads[] = {
        "{}",
        "{\"sub\":\"alice\"}",
        "{\"sub\":\"\xc3\xa9\xe4\xb8\x96 \\\" \\\\ \\n\",\"n\":[1,2.5,-3e-7,null,true],\"o\":{}}",
        "{\"exp\":4102444800,\"nbf\":1,\"iat\":1.5,\"sub\":\"x\"}",
        "{\"a\":\"x\"}",
        "{\"ab\":\"x\"}",
        "{\"abc\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++) {
        cJSON *p = cJSON_Parse(payloads[i]);
        sbuf b = SBUF_INIT;
        sbuf_puts(&b, "prefix:");
        CHECK(p && sio_jwt_sign_hs256(p, key(), SECRET_LEN, &b) == SIO_OK);
        CHECK(b.len > 7 && memcmp(b.data, "prefix:", 7) == 0);
        cJSON *c = NULL;
        CHECK(sio_jwt_verify((const char *)b.data + 7, b.len - 7, key(), SECRET_LEN, NOW, 0,
                             SIO_JWT_ALLOW_NO_EXP, &c) == SIO_OK);
        CHECK(c && cJSON_Compare(c, p, 1));
        /* Tokens from the signer never contain padding or standard-base64 characters. */
        for (size_t k = 7; k < b.len; k++)
            CHECK(b.data[k] == '.' || val((char)b.data[k]) >= 0);
        cJSON_Delete(c);
        cJSON_Delete(p);
        sbuf_free(&b);
    }

    /* Only objects, only with a secret. */
    sbuf b = SBUF_INIT;
    cJSON *arr = cJSON_CreateArray(), *obj = cJSON_CreateObject();
    CHECK(sio_jwt_sign_hs256(arr, key(), SECRET_LEN, &b) == SIO_EINVAL);
    CHECK(sio_jwt_sign_hs256(NULL, key(), SECRET_LEN, &b) == SIO_EINVAL);
    CHECK(sio_jwt_sign_hs256(obj, key(), 0, &b) == SIO_EINVAL);
    CHECK(sio_jwt_sign_hs256(obj, NULL, 4, &b) == SIO_EINVAL);
    CHECK(b.len == 0);
    cJSON_Delete(arr);
    cJSON_Delete(obj);
    sbuf_free(&b);
}

/* ---- middleware and claims, on bare socket structs (no connection: the
 * query parameter is absent, sio_refuse only records its message) ---- */

static sio_socket *fake_socket(const char *id) {
    sio_socket *s = calloc(1, sizeof *s);
    size_t n = strlen(id);
    if (n > sizeof s->id - 1) n = sizeof s->id - 1;
    memcpy(s->id, id, n);
    s->id[n] = 0;
    return s;
}

static void free_socket(sio_socket *s) {
    sio_socket_forget_claims(s);
    free(s->refuse_msg);
    cJSON_Delete(s->refuse_data);
    free(s);
}

/* Run the middleware with an auth payload (JSON text, or NULL for none). */
static int run_mw(sio_socket *s, const char *auth_json, sio_jwt_auth *cfg) {
    cJSON *auth = auth_json ? cJSON_Parse(auth_json) : NULL;
    if (auth_json && !auth) fprintf(stderr, "  bad auth JSON %s\n", auth_json);
    free(s->refuse_msg);
    s->refuse_msg = NULL;
    s->refused = 0;
    int v = sio_jwt_middleware(s, auth, cfg);
    cJSON_Delete(auth);
    return v;
}

static int refused_unauthorized(const sio_socket *s) {
    return s->refused && s->refuse_msg && strcmp(s->refuse_msg, "unauthorized") == 0 &&
           !s->refuse_data;
}

static void test_middleware(void) {
    sio_jwt_auth cfg = {key(), SECRET_LEN, 30, 0};
    sio_jwt_auth lax = {key(), SECRET_LEN, 30, 1};
    long long now = (long long)time(NULL);
    char *ok = mintf("{\"sub\":\"alice\",\"exp\":%lld,\"iat\":%lld}", now + 600, now);
    char *late = mintf("{\"sub\":\"alice\",\"exp\":%lld%.0lld}", now - 31, 0);
    char *skewed = mintf("{\"sub\":\"bob\",\"exp\":%lld%.0lld}", now - 20, 0);
    char *early = mintf("{\"sub\":\"alice\",\"nbf\":%lld,\"exp\":%lld}", now + 120, now + 600);
    char *nosub = mintf("{\"name\":\"x\",\"exp\":%lld%.0lld}", now + 600, 0);
    char *noexp = mint("{\"sub\":\"carol\"}");
    char auth[1024];
    sio_socket *s = fake_socket("AAAAAAAAAAAAAAAAAAAA");

    snprintf(auth, sizeof auth, "{\"token\":\"%s\"}", ok);
    CHECK(run_mw(s, auth, &cfg) == SIO_MW_NEXT);
    CHECK(!s->refused);
    CHECK(sio_jwt_subject(s) && strcmp(sio_jwt_subject(s), "alice") == 0);
    const cJSON *c = sio_socket_claims(s);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(c, "exp")));
    sio_socket_forget_claims(s);
    CHECK(sio_socket_claims(s) == NULL && sio_jwt_subject(s) == NULL);
    sio_socket_forget_claims(s); /* twice is fine */

    /* Expired within the configured skew: accepted. */
    snprintf(auth, sizeof auth, "{\"token\":\"%s\",\"extra\":1}", skewed);
    CHECK(run_mw(s, auth, &cfg) == SIO_MW_NEXT);
    CHECK(sio_jwt_subject(s) && strcmp(sio_jwt_subject(s), "bob") == 0);

    /* Refusals; a refusal also drops claims left at this socket. */
    const char *bad[] = {late, early, NONE_NOSIG, NONE_SIG, HS512, WRONG_SECRET, "", "x.y.z", GOOD};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(auth, sizeof auth, "{\"token\":\"%s\"}", bad[i]);
        CHECK(run_mw(s, auth, &cfg) == SIO_MW_REFUSE);
        CHECK(refused_unauthorized(s));
        CHECK(sio_socket_claims(s) == NULL);
    }
    const char *bad_auth[] = {
        NULL,      "{}",        "{\"token\":5}",     "{\"token\":null}",
        "[\"x\"]", "\"token\"", "{\"Token\":\"x\"}", "{\"token\":{\"token\":\"x\"}}"};
    for (size_t i = 0; i < sizeof bad_auth / sizeof *bad_auth; i++) {
        CHECK(run_mw(s, bad_auth[i], &cfg) == SIO_MW_REFUSE);
        CHECK(refused_unauthorized(s));
    }
    /* Not configured, or configured without a secret: everything is refused. */
    snprintf(auth, sizeof auth, "{\"token\":\"%s\"}", ok);
    CHECK(run_mw(s, auth, NULL) == SIO_MW_REFUSE && refused_unauthorized(s));
    sio_jwt_auth empty = {key(), 0, 0, 0};
    CHECK(run_mw(s, auth, &empty) == SIO_MW_REFUSE && refused_unauthorized(s));
    sio_jwt_auth other = {(const uint8_t *)"other", 5, 0, 0};
    CHECK(run_mw(s, auth, &other) == SIO_MW_REFUSE && refused_unauthorized(s));

    /* A token without sub: accepted, no subject. */
    snprintf(auth, sizeof auth, "{\"token\":\"%s\"}", nosub);
    CHECK(run_mw(s, auth, &cfg) == SIO_MW_NEXT);
    CHECK(sio_socket_claims(s) != NULL && sio_jwt_subject(s) == NULL);

    /* A token without exp: refused by default, accepted with allow_no_exp. */
    snprintf(auth, sizeof auth, "{\"token\":\"%s\"}", noexp);
    CHECK(run_mw(s, auth, &cfg) == SIO_MW_REFUSE && refused_unauthorized(s));
    CHECK(sio_socket_claims(s) == NULL);
    CHECK(run_mw(s, auth, &lax) == SIO_MW_NEXT);
    CHECK(sio_jwt_subject(s) && strcmp(sio_jwt_subject(s), "carol") == 0);
    /* sio_jwt_check (the /ws endpoint's) follows the same setting. */
    cJSON *cl = (cJSON *)&cl;
    CHECK(sio_jwt_check(&cfg, noexp, &cl) == SIO_EJWT_NOEXP && cl == NULL);
    CHECK(sio_jwt_check(&lax, noexp, &cl) == SIO_OK && cl != NULL);
    cJSON_Delete(cl);

    free_socket(s);
    free(noexp);
    free(ok);
    free(late);
    free(skewed);
    free(early);
    free(nosub);
}

static void test_claims(void) {
    enum { N = 1000 };
    sio_socket **socks = calloc(N, sizeof *socks);
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "sock%016d", i);
        socks[i] = fake_socket(id);
        cJSON *c = cJSON_CreateObject();
        snprintf(id, sizeof id, "user%d", i);
        cJSON_AddStringToObject(c, "sub", id);
        CHECK(sio_socket_set_claims(socks[i], c) == SIO_OK);
    }
    int right = 0;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "user%d", i);
        const char *sub = sio_jwt_subject(socks[i]);
        right += sub && strcmp(sub, id) == 0;
    }
    CHECK(right == N);
    /* Remove every third; the others keep theirs. */
    for (int i = 0; i < N; i += 3)
        sio_socket_forget_claims(socks[i]);
    right = 0;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "user%d", i);
        const char *sub = sio_jwt_subject(socks[i]);
        right += i % 3 == 0 ? sub == NULL : (sub && strcmp(sub, id) == 0);
    }
    CHECK(right == N);
    /* Replace some claims; NULL detaches. */
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", "renamed");
    CHECK(sio_socket_set_claims(socks[1], c) == SIO_OK);
    CHECK(strcmp(sio_jwt_subject(socks[1]), "renamed") == 0);
    CHECK(sio_socket_set_claims(socks[2], NULL) == SIO_OK);
    CHECK(sio_socket_claims(socks[2]) == NULL);
    /* Claims replaced on a socket that has some. */
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", "fresh");
    CHECK(sio_socket_set_claims(socks[5], c) == SIO_OK);
    CHECK(strcmp(sio_jwt_subject(socks[5]), "fresh") == 0);

    for (int i = 0; i < N; i++)
        free_socket(socks[i]);
    free(socks);
    /* A new socket starts without claims (LSan sees anything left). */
    sio_socket *s = fake_socket("ZZZZZZZZZZZZZZZZZZZZ");
    CHECK(sio_socket_claims(s) == NULL);
    free_socket(s);
}

int main(void) {
    log_set_level(LOG_WARN); /* the middleware logs each refusal at info */
    test_good_vectors();
    test_shape();
    test_base64url();
    test_not_objects();
    test_alg();
    test_signature();
    test_claim_types();
    test_times();
    test_no_exp();
    test_limits();
    test_args();
    test_sign();
    test_middleware();
    test_claims();
    return CHECK_DONE();
}
