/* Socket.IO v5 server on top of the Engine.IO server: namespaces, connect
 * middleware, events and acknowledgements (JSON as cJSON trees, binary as
 * sio/json.h binary nodes), rooms and broadcasts through an adapter.
 *
 * Lifetimes: a sio_socket pointer is valid from the connection callback until
 * the disconnect callback returns. Arguments given to handlers belong to the
 * library and are freed when the handler returns (detach what you keep).
 * Arguments given to emit functions are only read, never taken. */
#ifndef SIO_SIO_H
#define SIO_SIO_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "sio/eio.h"
#include "sio/json.h"
#include "sio/loop.h"
#include "sio/status.h"
#include "sio/export.h"

SIO_BEGIN_DECLS

typedef struct sio_server sio_server;
typedef struct sio_namespace sio_namespace;
typedef struct sio_socket sio_socket;
/* Where namespaces get their adapter (rooms, broadcasts, cluster): sio/adapter.h. */
typedef struct sio_adapter_factory sio_adapter_factory;

/* The Socket.IO packet format of every client of a server (see sio_options.parser). */
typedef enum sio_parser {
    SIO_PARSER_DEFAULT = 0, /* npm socket.io-parser: text packets, binary as attachments */
    SIO_PARSER_MSGPACK,     /* npm socket.io-msgpack-parser: one binary MessagePack message */
} sio_parser;

typedef struct sio_options {
    uint32_t connect_timeout_ms;        /* close a connection with no namespace; default 45000 */
    size_t max_attachments;             /* binary attachments per packet; default 64 */
    const sio_adapter_factory *adapter; /* NULL: the in-memory adapter (this node only);
                                           sio_redis_adapter (sio/redis.h): a cluster */
    uint32_t requests_timeout_ms;       /* how long cluster requests wait; default 5000 */
    /* Bounds on what clients can make a socket hold (sio_join refuses beyond
     * them, also for joins asked by other nodes); 0: no bound. */
    size_t max_rooms_per_socket; /* rooms besides the socket's own id room; default 256 */
    size_t max_room_name;        /* bytes in a room name; default 256 */
    /* Remove a dynamic namespace (sio_add_dynamic*) when its last socket
     * leaves; a later connect creates it again (socket.io's
     * cleanupEmptyChildNamespaces). Default 0, as in Node. */
    int cleanup_empty_namespaces;
    sio_parser parser; /* packet format the clients must use, like the reference's
                          `parser` option: a client on the other one is closed
                          at its first packet; default SIO_PARSER_DEFAULT. The
                          Redis adapter's format does not depend on it. */
} sio_options;

/* An event from a client. args is a JSON array of the arguments (without the
 * event name); ack_id >= 0 when the client waits for an acknowledgement, to
 * be answered with sio_ack (now or later, while the socket lives). */
typedef void (*sio_event_cb)(sio_socket *s, const char *event, cJSON *args, int64_t ack_id,
                             void *ud);
/* A socket joined a namespace (after every middleware accepted it). */
typedef void (*sio_connection_cb)(sio_socket *s, void *ud);
/* A socket left; reason as the reference server names it ("client namespace
 * disconnect", "server namespace disconnect", "transport close", "transport
 * error", "ping timeout", "parse error", "server shutting down", "forced
 * close"), or "backpressure" (its client fell more than max-buffered behind). */
typedef void (*sio_disconnect_cb)(sio_socket *s, const char *reason, void *ud);
/* The answer to a server-side emit with ack: status SIO_OK with the client's
 * arguments, SIO_ETIMEDOUT (args NULL) or SIO_ECLOSED (socket gone). */
typedef void (*sio_ack_cb)(sio_socket *s, int status, cJSON *args, void *ud);

/* Middleware verdicts. */
enum { SIO_MW_NEXT = 0, SIO_MW_REFUSE = 1, SIO_MW_PENDING = 2 };
/* Connect middleware: sees the handshake (sio_socket_header/query/address)
 * and the CONNECT auth payload (NULL when none). Returns SIO_MW_NEXT,
 * SIO_MW_REFUSE after sio_refuse, or SIO_MW_PENDING and later calls
 * sio_middleware_done. */
typedef int (*sio_middleware)(sio_socket *s, const cJSON *auth, void *ud);
/* Decide whether a namespace name not registered with sio_of may be created
 * (dynamic namespaces); non-zero accepts. */
typedef int (*sio_nsp_match_cb)(const char *name, void *ud);
/* A namespace was created (static or dynamic): attach handlers here. */
typedef void (*sio_nsp_created_cb)(sio_namespace *nsp, void *ud);

/* Who a broadcast reaches: sockets in any of `rooms` (every socket of the
 * namespace when NULL), minus sockets in any of `except`. Both lists end
 * with NULL. A socket's id names a room holding just that socket. */
typedef struct sio_target {
    const char *const *rooms;
    const char *const *except;
    int is_volatile; /* drop for clients whose transport is not ready */
    int local;       /* this node only (cluster adapters) */
} sio_target;

#define SIO_ETIMEDOUT (-100)

/* Fill with defaults. */
void sio_options_init(sio_options *o);
/* Serve Socket.IO at eio->path of the listener. NULL with *err set. */
sio_server *sio_server_new(sio_loop *loop, sio_http *http, const eio_options *eio,
                           const sio_options *o, int *err);
/* Disconnect every socket with "server shutting down" and close every
 * connection (clients are told: WebSocket close 1001, "1" over polling). */
void sio_server_shutdown(sio_server *srv);
/* Free the server (after shutdown, or abruptly). */
void sio_server_free(sio_server *srv);
/* Engine.IO connections currently open. */
size_t sio_server_connections(const sio_server *srv);
/* The underlying Engine.IO server. */
eio_server *sio_server_eio(sio_server *srv);
/* The loop. */
sio_loop *sio_server_loop(const sio_server *srv);

/* The namespace with this name ("/" is the main one), created when missing. */
sio_namespace *sio_of(sio_server *srv, const char *name);
/* Accept unknown namespace names for which match returns non-zero. */
int sio_add_dynamic(sio_server *srv, sio_nsp_match_cb match, void *ud);
/* Accept unknown names matching a glob pattern ("/room-*", fnmatch rules). */
int sio_add_dynamic_pattern(sio_server *srv, const char *pattern);
/* Called for each namespace created from now on (and dynamic ones). */
void sio_on_namespace(sio_server *srv, sio_nsp_created_cb cb, void *ud);
/* Called when an emptied dynamic namespace is removed (cleanup_empty_namespaces),
 * from the loop after the batch in which its last socket left, just before it
 * is freed: drop what refers to it. Not called by sio_server_free. */
void sio_on_namespace_removed(sio_server *srv, sio_nsp_created_cb cb, void *ud);
/* Namespace name. */
const char *sio_nsp_name(const sio_namespace *nsp);
/* Connected sockets in the namespace. */
size_t sio_nsp_size(const sio_namespace *nsp);
/* Add a middleware (run in order for each CONNECT). */
int sio_use(sio_namespace *nsp, sio_middleware mw, void *ud);
void sio_on_connection(sio_namespace *nsp, sio_connection_cb cb, void *ud);
void sio_on_disconnect(sio_namespace *nsp, sio_disconnect_cb cb, void *ud);
/* Handler for one event name (replaces an earlier one). */
int sio_on(sio_namespace *nsp, const char *event, sio_event_cb cb, void *ud);
/* Handler for events that have no handler of their own. */
void sio_on_any(sio_namespace *nsp, sio_event_cb cb, void *ud);

/* Refuse a connect from a middleware: CONNECT_ERROR {"message","data"}; data
 * may be NULL and is copied. */
void sio_refuse(sio_socket *s, const char *message, const cJSON *data);
/* Finish a pending middleware: SIO_MW_NEXT or SIO_MW_REFUSE. Call it exactly
 * once for every SIO_MW_PENDING, even when the client has left meanwhile (the
 * socket stays allocated until then; the verdict is then ignored). */
void sio_middleware_done(sio_socket *s, int verdict);

/* Socket id (distinct from the Engine.IO session id). */
const char *sio_socket_id(const sio_socket *s);
sio_namespace *sio_socket_nsp(const sio_socket *s);
/* The Engine.IO session carrying this socket. */
eio_session *sio_socket_session(const sio_socket *s);
/* Handshake data: header (case-insensitive), query parameter, peer address. */
const char *sio_socket_header(const sio_socket *s, const char *name);
const char *sio_socket_query(const sio_socket *s, const char *key);
const char *sio_socket_address(const sio_socket *s);
/* The CONNECT auth payload (NULL when none). */
const cJSON *sio_socket_auth(const sio_socket *s);
void sio_socket_set_data(sio_socket *s, void *p);
void *sio_socket_data(const sio_socket *s);
/* Whether the socket is connected. */
int sio_socket_connected(const sio_socket *s);
/* Backpressure: bytes queued for the socket's client, and whether the queue
 * is below half of --max-buffered. A client more than max-buffered behind is
 * disconnected ("backpressure"); producers that check sio_socket_writable and
 * wait for the drain callback never get there. */
size_t sio_socket_buffered(const sio_socket *s);
int sio_socket_writable(const sio_socket *s);
/* Called when a socket's queue empties after its client fell behind. */
void sio_on_drain(sio_namespace *nsp, sio_connection_cb cb, void *ud);

/* Emit an event to one socket; args is a JSON array (or NULL for none). */
int sio_emit(sio_socket *s, const char *event, const cJSON *args);
/* Emit to one socket, dropped when its transport is not ready. */
int sio_emit_volatile(sio_socket *s, const char *event, const cJSON *args);
/* Emit and wait for the client's acknowledgement, at most timeout_ms
 * (0: no timeout); cb runs exactly once. */
int sio_emit_with_ack(sio_socket *s, const char *event, const cJSON *args, uint32_t timeout_ms,
                      sio_ack_cb cb, void *ud);
/* Acknowledge a client's event (ack_id from the event callback). */
int sio_ack(sio_socket *s, int64_t ack_id, const cJSON *args);

/* Rooms. sio_join refuses, leaving the socket as it was, with SIO_ETOOBIG
 * for a name longer than max_room_name and SIO_ELIMIT when the socket is in
 * max_rooms_per_socket rooms already (its own id room does not count;
 * joining a room it is in succeeds). */
int sio_join(sio_socket *s, const char *room);
/* How many joins of this socket sio_join refused for those limits (an app's
 * policy can disconnect a client that keeps trying). */
size_t sio_socket_refused_joins(const sio_socket *s);
int sio_leave(sio_socket *s, const char *room);
/* Whether the socket is in the room. */
int sio_in_room(const sio_socket *s, const char *room);
/* Call fn for each room the socket is in (its own id first). */
void sio_socket_rooms(const sio_socket *s, void (*fn)(const char *room, void *ud), void *ud);

/* Broadcast to the target (NULL: every socket of the namespace). The packet is
 * encoded once and the same bytes are queued for every receiver. */
int sio_broadcast(sio_namespace *nsp, const sio_target *t, const char *event, const cJSON *args);
/* Broadcast from a socket: like sio_broadcast, excluding the socket itself. */
int sio_socket_broadcast(sio_socket *s, const sio_target *t, const char *event, const cJSON *args);
/* Call fn for each local socket the target selects. */
void sio_each_socket(sio_namespace *nsp, const sio_target *t, void (*fn)(sio_socket *, void *),
                     void *ud);

/* Disconnect from the namespace ("server namespace disconnect"); with
 * close_connection, close the whole Engine.IO connection too. */
void sio_disconnect(sio_socket *s, int close_connection);

/* ---- Cluster-wide operations: with a Redis adapter they reach the sockets
 * of every node (Node.js servers with @socket.io/redis-adapter included);
 * without one, this node's. ---- */

/* fetchSockets: cb gets a JSON array of {"id","handshake","rooms","data"}
 * (status SIO_ETIMEDOUT with what arrived when a node did not answer). */
typedef void (*sio_fetch_cb)(sio_namespace *nsp, int status, cJSON *sockets, void *ud);
int sio_fetch_sockets(sio_namespace *nsp, const sio_target *t, sio_fetch_cb cb, void *ud);
/* socketsJoin / socketsLeave: the selected sockets join or leave rooms
 * (a socket at a sio_join limit skips the rooms it refuses). */
int sio_sockets_join(sio_namespace *nsp, const sio_target *t, const char *const *rooms);
int sio_sockets_leave(sio_namespace *nsp, const sio_target *t, const char *const *rooms);
/* disconnectSockets. */
int sio_disconnect_sockets(sio_namespace *nsp, const sio_target *t, int close_connection);

/* serverSideEmit: an event for the other nodes' handlers (not clients). A
 * handler sees ack != NULL when the sender waits for an answer, and may call
 * sio_server_ack_reply once, before returning. */
typedef struct sio_server_ack sio_server_ack;
typedef void (*sio_server_event_cb)(sio_namespace *nsp, const char *event, cJSON *args,
                                    sio_server_ack *ack, void *ud);
void sio_on_server_event(sio_namespace *nsp, sio_server_event_cb cb, void *ud);
int sio_server_ack_reply(sio_server_ack *ack, const cJSON *arg);
/* cb (optional) gets the JSON array of the other nodes' answers. */
typedef void (*sio_responses_cb)(sio_namespace *nsp, int status, cJSON *responses, void *ud);
int sio_server_side_emit(sio_namespace *nsp, const char *event, const cJSON *args,
                         sio_responses_cb cb, void *ud);

/* Broadcast expecting an acknowledgement from every receiving client on every
 * node; cb runs once, with all answers (their first argument each) or, after
 * timeout_ms, SIO_ETIMEDOUT and the answers that came. */
int sio_broadcast_with_ack(sio_namespace *nsp, const sio_target *t, const char *event,
                           const cJSON *args, uint32_t timeout_ms, sio_responses_cb cb, void *ud);

SIO_END_DECLS

#endif
