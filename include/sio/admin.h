/* The @socket.io/admin-ui 0.5 protocol on a server, as the reference's
 * instrument(io, options): the admin UI (its ui/dist front-end, or
 * https://admin.socket.io) connects to a namespace ("/admin") and sees the
 * server's sockets, rooms, events and per-second traffic, and can make
 * sockets emit, join, leave and disconnect.
 *
 *     sio_admin_options ao;
 *     sio_admin_options_init(&ao);
 *     ao.username = "admin";
 *     ao.password_hash = "$2b$10$...";      // bcrypt, e.g. from bcryptjs
 *     sio_admin *admin = sio_admin_instrument(io, &ao, &err);
 *     ...
 *     sio_admin_free(admin);                // before sio_server_free
 *
 * What the admin namespace gets (lib/index.ts of the reference):
 *  - on connect: "session" (a fresh session id, after a password login),
 *    "config" {supportedFeatures}, and in development mode "all_sockets"
 *    (every socket of every namespace, of every node with a cluster adapter);
 *  - every stats_interval_ms: "server_stats" {serverId, hostname, pid,
 *    uptime, clientsCount, pollingClientsCount, namespaces, aggregatedEvents}
 *    (per-second rawConnection, rawDisconnection by reason, packetsIn/Out,
 *    bytesIn/Out);
 *  - in development mode, as they happen: socket_connected, socket_updated
 *    (WebSocket upgrades), socket_disconnected, room_joined, room_left,
 *    event_received, event_sent;
 *  - unless readonly, it may send emit(nsp, room|null, event, ...args),
 *    join(nsp, room, filter?), leave(nsp, room, filter?) and
 *    _disconnect(nsp, close, filter?), run cluster-wide (the broadcast,
 *    socketsJoin, socketsLeave, disconnectSockets of sio.h).
 * Everything goes to the admin namespace as broadcasts, so with a cluster
 * adapter (sio/redis.h) an admin connected to any node sees every node
 * (Node.js nodes running instrument() included) and every node reports its
 * own. Admin clients are clients: one that falls --max-buffered behind is
 * disconnected like any other.
 *
 * Authentication: the reference's basic auth. The CONNECT auth payload
 * {username, password} is checked against a bcrypt hash ($2a$, $2b$ or $2y$,
 * the forms bcryptjs reads; glibc's libcrypt computes it, on the loop: a cost
 * of 10 takes some 50-100 ms of CPU per attempt); a success gets a session
 * id the UI sends back as {sessionId} when it reconnects (kept in memory, on
 * this node). Failures answer CONNECT_ERROR {"message":"invalid
 * credentials"}; after one, the next attempt from the same address waits (1 s,
 * doubling per failure up to 30 s, on a timer: the loop is not held). The
 * credentials are never logged.
 *
 * The admin is the server's observer (sio_server_observe): one per server. */
#ifndef SIO_ADMIN_H
#define SIO_ADMIN_H

#include <stdint.h>

#include "sio/export.h"
#include "sio/sio.h"

SIO_BEGIN_DECLS

typedef struct sio_admin sio_admin;

typedef enum sio_admin_mode {
    SIO_ADMIN_DEVELOPMENT = 0, /* every socket and event is reported (the default) */
    SIO_ADMIN_PRODUCTION,      /* only server_stats: nothing per socket */
} sio_admin_mode;

typedef struct sio_admin_options {
    const char *nsp; /* the admin namespace; default "/admin" */
    /* Basic auth: the user name and a bcrypt hash of the password. Either
     * both, or no_auth set: the reference insists on an explicit choice. */
    const char *username;
    const char *password_hash;
    int no_auth; /* anyone who reaches the namespace is an admin */
    sio_admin_mode mode;
    int readonly;               /* no emit/join/leave/_disconnect */
    const char *server_id;      /* NULL: "<hostname>#<pid>" (unique per node) */
    uint32_t stats_interval_ms; /* default 2000, as the reference */
} sio_admin_options;

/* Fill with the defaults above (no authentication chosen yet). */
void sio_admin_options_init(sio_admin_options *o);
/* Serve the admin namespace on srv (options and strings copied). NULL with
 * *err: SIO_EINVAL (no authentication chosen, or both; a hash that is not
 * bcrypt; a bad namespace name), SIO_ESTATE (the server has an observer),
 * SIO_ENOMEM. */
sio_admin *sio_admin_instrument(sio_server *srv, const sio_admin_options *o, int *err);
/* Stop reporting and free (the admin namespace and its sockets stay until
 * sio_server_free). Call it after sio_loop_run returned (the namespace's
 * middleware refers to it) and before sio_server_free; NULL is ignored. */
void sio_admin_free(sio_admin *a);

SIO_END_DECLS

#endif
