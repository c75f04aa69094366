/* The admin namespace's connect middleware (@socket.io/admin-ui's basic
 * auth): bcrypt password check with libcrypt, the session ids the UI
 * reconnects with, and failed logins slowed per client address on a timer. */
#ifndef SIO_ADMIN_AUTH_H
#define SIO_ADMIN_AUTH_H

#include "sio/loop.h"
#include "sio/sio.h"

typedef struct admin_auth admin_auth;

/* Whether hash is a bcrypt hash bcryptjs would read ($2a$/$2b$/$2y$, two
 * cost digits, 53 characters of salt and digest). */
int admin_auth_valid_hash(const char *hash);
/* username and hash copied; NULL when out of memory. */
admin_auth *admin_auth_new(sio_loop *loop, const char *username, const char *hash);
/* Pending attempts are finished (refused) first. NULL is ignored. */
void admin_auth_free(admin_auth *a);
/* The middleware (ud: the admin_auth). A password login that succeeds
 * leaves the new session id for admin_auth_take_session. */
int admin_auth_middleware(sio_socket *s, const cJSON *auth, void *ud);
/* The session id issued to s by its login (to emit as "session"; the
 * caller frees it), or NULL (a session-id login, or none). The socket's data
 * (the admin namespace's sockets are the admin's) is cleared. */
char *admin_auth_take_session(sio_socket *s);

#endif
