/* HS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form): verification for
 * the handshake auth middleware and the plain WebSocket endpoint, and a small
 * signer for tests and tools. Exactly one algorithm is accepted: HS256. */
#ifndef SIO_AUTH_JWT_H
#define SIO_AUTH_JWT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Why a token was refused. Distinct from the sio_status codes, which
 * sio_jwt_verify also returns: SIO_EINVAL (NULL token, NULL or empty secret),
 * SIO_ENOMEM, SIO_EIO (the HMAC failed). */
enum {
    SIO_JWT_EMALFORMED = -200, /* not three base64url parts, bad base64url, header or
                                  payload not a JSON object */
    SIO_JWT_EALG = -201,       /* header alg missing or not exactly "HS256", or crit present */
    SIO_JWT_ESIG = -202,       /* signature does not match (or is not 32 bytes) */
    SIO_JWT_EEXPIRED = -203,   /* exp <= now - skew */
    SIO_JWT_ENOTYET = -204,    /* nbf > now + skew */
    SIO_JWT_ECLAIMS = -205,    /* exp/nbf/iat present but not numbers, sub not a string,
                                  or one of them given twice */
    SIO_JWT_ETOOBIG = -206,    /* token longer than SIO_JWT_MAX_LEN */
    SIO_JWT_ENOEXP = -207,     /* no exp claim (and SIO_JWT_ALLOW_NO_EXP not given) */
};

/* sio_jwt_verify flags. By default a token must carry exp: one without it,
 * once leaked, would be valid forever (the secret cannot revoke it short of
 * being changed for everyone). */
#define SIO_JWT_ALLOW_NO_EXP 1u

/* Longest token accepted (8 KiB). */
#define SIO_JWT_MAX_LEN 8192
/* Largest clock skew honoured, in seconds; larger arguments are clamped. */
#define SIO_JWT_MAX_SKEW 60

/* Verify a compact HS256 token of len bytes (need not be NUL-terminated).
 * now_s: the current time in seconds since the epoch; skew_s: the clock skew
 * allowed for exp and nbf, clamped to 0..SIO_JWT_MAX_SKEW; flags: 0 or
 * SIO_JWT_ALLOW_NO_EXP. On SIO_OK, *claims
 * (when claims is not NULL) receives the payload object, which the caller
 * frees with cJSON_Delete; on any error *claims is set to NULL.
 *
 * Checks, in this order: length, three base64url parts (no padding, no
 * characters outside A-Z a-z 0-9 - _, canonical trailing bits), header is a
 * JSON object with alg exactly "HS256" and no crit, the signature decodes to
 * 32 bytes equal (constant-time) to HMAC-SHA256(secret, header "." payload),
 * payload is a JSON object, then the claims. The payload is parsed only
 * after the signature matched. */
int sio_jwt_verify(const char *token, size_t len, const uint8_t *secret, size_t secret_len,
                   int64_t now_s, int64_t skew_s, unsigned flags, cJSON **claims);

/* Short English description of a sio_jwt_verify result, for logs. */
const char *sio_jwt_strerror(int rc);

/* Append to out a token for payload (a JSON object) with the header
 * {"alg":"HS256","typ":"JWT"}. SIO_OK, SIO_EINVAL (payload not an object,
 * empty secret), SIO_ETOOBIG (the token would be refused by sio_jwt_verify),
 * SIO_ENOMEM or SIO_EIO; on error out keeps its earlier content. */
int sio_jwt_sign_hs256(const cJSON *payload, const uint8_t *secret, size_t secret_len, sbuf *out);

#endif
