/* HS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form): verification for
 * the handshake auth middleware and the plain WebSocket endpoint, and a small
 * signer for tests and tools. Exactly one algorithm is accepted: HS256. */
#ifndef SIO_AUTH_JWT_H
#define SIO_AUTH_JWT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Besides SIO_OK, sio_jwt_verify returns the refusal reasons SIO_EJWT_* of
 * sio/status.h, SIO_EINVAL (NULL token, NULL or empty secret) and SIO_EIO
 * (the HMAC failed). An allocation failure while parsing is reported as
 * SIO_EJWT_MALFORMED (cJSON does not tell the two apart). */
#include "sio/status.h"

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

/* Append to out a token for payload (a JSON object) with the header
 * {"alg":"HS256","typ":"JWT"}. SIO_OK, SIO_EINVAL (payload not an object,
 * empty secret), SIO_ETOOBIG (the token would be refused by sio_jwt_verify),
 * SIO_ENOMEM or SIO_EIO; on error out keeps its earlier content. */
int sio_jwt_sign_hs256(const cJSON *payload, const uint8_t *secret, size_t secret_len, sbuf *out);

#endif
