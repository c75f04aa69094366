/* Token authentication at the Socket.IO handshake: a ready-made connect
 * middleware that accepts HS256 JSON Web Tokens, and per-socket claims.
 *
 *     static sio_jwt_auth auth = {secret, secret_len, 30, 0};
 *     sio_use(sio_of(srv, "/"), sio_jwt_middleware, &auth);
 *
 * The token is read from the CONNECT auth payload {"token": "..."} or, when
 * that has no "token" member, from the "token" query parameter of the
 * Engine.IO handshake. Any refusal (missing, malformed, wrong signature, alg
 * other than HS256 including "none", expired, not yet valid, no exp claim
 * unless allow_no_exp) answers the
 * client CONNECT_ERROR {"message":"unauthorized"}; the Engine.IO connection
 * itself stays open, so the client sees connect_error. The reason is logged
 * (info) with its sio_strerror text; the SIO_EJWT_* codes are in
 * sio/status.h. */
#ifndef SIO_AUTH_H
#define SIO_AUTH_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "sio/sio.h"
#include "sio/export.h"

SIO_BEGIN_DECLS

/* Middleware configuration; must outlive the namespace it is used on. The
 * secret is not copied. skew_s: clock skew allowed for exp and nbf, clamped
 * to 0..60 seconds. An empty secret refuses every token. allow_no_exp: 0
 * (the default) refuses tokens without an exp claim, which would never
 * expire; non-zero accepts them. */
typedef struct sio_jwt_auth {
    const uint8_t *secret;
    size_t secret_len;
    int64_t skew_s;
    int allow_no_exp;
} sio_jwt_auth;

/* Connect middleware (ud: a sio_jwt_auth*; NULL refuses everyone).
 * SIO_MW_NEXT with the verified claims attached to the socket
 * (sio_socket_claims), or sio_refuse(s, "unauthorized", NULL) and
 * SIO_MW_REFUSE. */
int sio_jwt_middleware(sio_socket *s, const cJSON *auth, void *ud);

/* ---- Claims attached to a socket ----
 * The socket keeps what a middleware verified and frees it with itself.
 * Not thread-safe: use from the loop thread, like the rest of the API. */

/* Attach claims to the socket, replacing (and freeing) earlier ones. Takes
 * ownership of claims; NULL detaches. Always SIO_OK. */
int sio_socket_set_claims(sio_socket *s, cJSON *claims);
/* The claims attached to the socket, or NULL. Owned by the socket: valid
 * until they are replaced or forgotten, or the socket goes. */
const cJSON *sio_socket_claims(const sio_socket *s);
/* The "sub" claim (the user's name in the chat app), or NULL; as long as the
 * claims. */
const char *sio_jwt_subject(const sio_socket *s);
/* Free the socket's claims now rather than with the socket (they go with it
 * anyway). Safe to call for a socket without claims. */
void sio_socket_forget_claims(sio_socket *s);

/* Verify an HS256 token against cfg (for transports without Socket.IO's
 * middleware, like a plain WebSocket's ?token=): SIO_OK with *claims (the
 * caller frees it with cJSON_Delete). Otherwise *claims is NULL (when claims
 * is not) and the code says why: SIO_EINVAL (cfg, token or claims NULL, or
 * an empty secret), SIO_EJWT_TOOBIG, SIO_EJWT_MALFORMED, SIO_EJWT_ALG,
 * SIO_EJWT_SIG, SIO_EJWT_CLAIMS, SIO_EJWT_NOEXP, SIO_EJWT_EXPIRED,
 * SIO_EJWT_NOTYET (checked in about that order), SIO_EIO (the HMAC
 * failed). */
int sio_jwt_check(const sio_jwt_auth *cfg, const char *token, cJSON **claims);

SIO_END_DECLS

#endif
