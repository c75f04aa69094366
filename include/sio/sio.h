/* Socket.IO v5 server on top of the Engine.IO server: namespaces, connect
 * middleware, events and acknowledgements (JSON as cJSON trees, binary as
 * sio/json.h binary nodes), rooms and broadcasts through an adapter.
 *
 * ==== Threads and callbacks (the rules of every sio/ header) ====
 *
 * Threads. The library has none and locks nothing. Call every function from
 * the thread that runs sio_loop_run (or before the loop runs, or after it
 * returned); every callback runs on that thread. Some state is process-wide
 * (the /metrics counters, the log), so one loop per process.
 *
 * Errors. A function returning int returns SIO_OK (0) or a negative
 * sio_status (sio/status.h; sio_strerror describes any of them); each
 * declaration below lists exactly the codes it can return. A constructor
 * returns NULL and sets *err (err must not be NULL). Nothing a peer does
 * makes the library exit or abort, and running out of memory is an error
 * code, not a crash. Functions returning void cannot fail in a way the
 * caller could act on (an allocation failure there drops that work).
 *
 * Ownership of what you pass in.
 *  - Option structs (sio_options, eio_options, sio_http_options,
 *    sio_ws_options) and callback structs are copied, with every string and
 *    array in them, by the constructor: free them when it returns. The
 *    exception is sio_jwt_auth (sio/auth.h), used in place.
 *  - Strings (event, room, namespace names, patterns, messages) are copied
 *    when the library keeps them, otherwise only read during the call.
 *  - cJSON trees given to emit, ack, broadcast and refuse functions are
 *    read during the call, never modified or taken: the packet is encoded
 *    before the call returns, so free them right after if you like. The
 *    one function that takes a tree is sio_socket_set_claims (sio/auth.h).
 *  - User data pointers (ud, sio_socket_set_data, eio_session_set_data, peer
 *    data) are never touched by the library; freeing them is the caller's.
 *
 * Ownership of what you get.
 *  - cJSON trees given to callbacks (event and ack arguments, fetchSockets
 *    results, server-side events and answers) are borrowed: the library
 *    frees them when the callback returns. Keep a part by detaching it
 *    (cJSON_DetachItemFromArray: you then own and free it), or copy it with
 *    sio_json_duplicate (cJSON_Duplicate breaks binary nodes, sio/json.h).
 *  - Strings returned by the library (ids, names, headers, query values,
 *    addresses) belong to it and live as long as the object they came from
 *    (stated per function); copy what you keep longer.
 *  - A sio_socket pointer is valid from the connection callback (or the
 *    middleware call) until its disconnect callback returns; a socket that
 *    never connected (refused, or gone during its middlewares) gets no
 *    disconnect callback and is valid until the middleware returns (or, for
 *    SIO_MW_PENDING, until sio_middleware_done). Its memory lasts until the
 *    end of the loop iteration, so a pointer still on the stack of a
 *    callback after the socket went (say, a sio_emit that disconnected it
 *    for backpressure) stays safe to pass in: calls on it return SIO_ECLOSED
 *    or do nothing. Keep socket data (sio_socket_set_data) from the
 *    connection callback on and free it in the disconnect callback.
 *  - A namespace lives until sio_server_free; a dynamic one removed by
 *    cleanup_empty_namespaces until its sio_on_namespace_removed callback.
 *
 * Re-entrancy.
 *  - From inside any callback, any function may be called on any object,
 *    except those that destroy what is running: sio_server_free,
 *    eio_server_free, sio_ws_server_free, sio_http_free, sio_loop_free and
 *    sio_loop_run. Stop the loop (sio_loop_stop) and free after
 *    sio_loop_run returned; sio_server_shutdown and sio_http_quiesce may be
 *    called from callbacks (sio-server calls them from a signal callback).
 *  - Some calls run callbacks before they return, so code after them must
 *    not assume a socket is still connected (check the return value or
 *    sio_socket_connected):
 *      sio_emit, sio_emit_volatile, sio_emit_with_ack, sio_ack, the
 *      broadcasts, eio_send: a client more than max_buffered behind is
 *      disconnected on the spot ("backpressure"), its pending-ack callbacks
 *      (SIO_ECLOSED) and disconnect callback run inside the call;
 *      sio_disconnect, sio_disconnect_sockets, sio_server_shutdown,
 *      eio_close, sio_server_free: the disconnect callbacks run inside;
 *      sio_of: the sio_on_namespace callback runs inside for a new one;
 *      sio_fetch_sockets, sio_server_side_emit, sio_broadcast_with_ack: the
 *      answer callback may run inside (on a single node: always for the
 *      first two, for the third when no client receives the broadcast).
 *  - A callback and its own socket: an event handler may emit, ack, join,
 *    leave and disconnect it (with or without its connection). A middleware
 *    sees a socket that is not connected yet: it may read the handshake,
 *    sio_refuse, attach claims; sio_emit and sio_join return SIO_ECLOSED. A
 *    disconnect handler sees a socket that has already left its rooms and
 *    its namespace (handshake data still answer): sio_emit, sio_ack,
 *    sio_join return SIO_ECLOSED, sio_disconnect does nothing, broadcasts
 *    to the others work.
 *  - Handlers and middlewares may be replaced or added from callbacks; the
 *    change applies from the next packet (a middleware added while a socket
 *    runs the chain also runs for that socket).
 */
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
    /* Optional, the reference's `allowRequest`: decides each Engine.IO
     * handshake before any namespace is involved (see
     * eio_callbacks.allow_request for when it runs and what a refused client
     * gets). The request (headers, query, address: eio_request_*) lives only
     * during the call; *message, when set, is copied. Non-zero accepts. */
    int (*allow_request)(eio_request *req, const char **message, void *ud);
    void *allow_request_ud;
    /* Connection state recovery (Node's connectionStateRecovery), with an
     * adapter that supports it (the in-memory and Redis adapters do): how
     * long a socket that lost its connection (transport close or error, ping
     * timeout, forced close, server shutting down) stays recoverable, in ms
     * (Node's maxDisconnectionDuration); 0: off (the default). When on, the
     * CONNECT reply carries a pid and every non-volatile event without ack
     * id carries an offset as its last argument, as in Node. */
    uint32_t recovery_window_ms;
    /* Run the middlewares on a recovered connect too (Node's
     * skipMiddlewares: false); default 0: skipped. */
    int recovery_run_middlewares;
    /* The in-memory adapter's log of recent packets, per namespace: at most
     * this many bytes (default 8 MiB; 0: no byte bound) and packets at most
     * this old (default 0: the recovery window). A client whose offset fell
     * out of the log gets a fresh session. */
    size_t recovery_log_bytes;
    uint32_t recovery_log_age_ms;
} sio_options;

/* An event from a client. event is borrowed (valid during the call); args, a
 * JSON array of the arguments without the event name, is borrowed too: the
 * handler may detach what it keeps (see "Ownership" above). ack_id >= 0 when
 * the client waits for an acknowledgement, to be answered once with sio_ack
 * (now or later, while the socket lives); -1 otherwise. */
typedef void (*sio_event_cb)(sio_socket *s, const char *event, cJSON *args, int64_t ack_id,
                             void *ud);
/* A socket joined a namespace (after every middleware accepted it). It is
 * connected and in its own id room: emit, join, disconnect all work here. */
typedef void (*sio_connection_cb)(sio_socket *s, void *ud);
/* A socket left; reason as the reference server names it ("client namespace
 * disconnect", "server namespace disconnect", "transport close", "transport
 * error", "ping timeout", "parse error", "server shutting down", "forced
 * close"), or "backpressure" (its client fell more than max-buffered behind).
 * reason is a static string. The socket has left its rooms and namespace
 * (see "Re-entrancy" above); the pointer is invalid once this returns. */
typedef void (*sio_disconnect_cb)(sio_socket *s, const char *reason, void *ud);
/* The answer to a server-side emit with ack, called exactly once: status
 * SIO_OK with the client's arguments (a JSON array, borrowed: detach what you
 * keep), SIO_ETIMEDOUT (args NULL; the socket is still connected) or
 * SIO_ECLOSED (args NULL; the socket is disconnecting: called just before its
 * disconnect callback, also from sio_server_free). */
typedef void (*sio_ack_cb)(sio_socket *s, int status, cJSON *args, void *ud);

/* Middleware verdicts. */
enum { SIO_MW_NEXT = 0, SIO_MW_REFUSE = 1, SIO_MW_PENDING = 2 };
/* Connect middleware: sees the handshake (sio_socket_header/query/address)
 * and the CONNECT auth payload (NULL when none; borrowed, the same tree as
 * sio_socket_auth). Returns SIO_MW_NEXT, SIO_MW_REFUSE (after sio_refuse;
 * without it the client gets {"message":"refused"}), or SIO_MW_PENDING and
 * calls sio_middleware_done later, from another callback (a call made before
 * the middleware returned is ignored). */
typedef int (*sio_middleware)(sio_socket *s, const cJSON *auth, void *ud);
/* Decide whether a namespace name not registered with sio_of may be created
 * (dynamic namespaces); non-zero accepts. name is borrowed. */
typedef int (*sio_nsp_match_cb)(const char *name, void *ud);
/* A namespace was created (static or dynamic): attach handlers here. Runs
 * inside the sio_of or the client CONNECT that created it. */
typedef void (*sio_nsp_created_cb)(sio_namespace *nsp, void *ud);

/* Who a broadcast reaches: sockets in any of `rooms` (every socket of the
 * namespace when NULL), minus sockets in any of `except`. Both lists end
 * with NULL. A socket's id names a room holding just that socket. Read
 * during the call only; a NULL target means every socket. */
typedef struct sio_target {
    const char *const *rooms;
    const char *const *except;
    int is_volatile; /* drop for clients whose transport is not ready */
    int local;       /* this node only (cluster adapters) */
} sio_target;

/* Fill with defaults. */
void sio_options_init(sio_options *o);
/* Serve Socket.IO at eio->path of the listener (eio required; o NULL: the
 * defaults). Both are copied. NULL with *err: SIO_ENOMEM, SIO_EINVAL (an
 * adapter factory without create), or what the adapter factory's open
 * returned. The namespace "/" exists on return. Redis being unreachable is
 * not an error: the links retry. */
sio_server *sio_server_new(sio_loop *loop, sio_http *http, const eio_options *eio,
                           const sio_options *o, int *err);
/* Disconnect every socket with "server shutting down" and close every
 * connection (clients are told: WebSocket close 1001, "1" over polling);
 * the disconnect callbacks run inside. New handshakes get 503. May be
 * called from a callback. */
void sio_server_shutdown(sio_server *srv);
/* Free the server (after shutdown, or abruptly: the remaining sockets'
 * disconnect callbacks run inside, with "server shutting down"). Not from a
 * callback: after sio_loop_run returned. Pending cluster requests
 * (fetchSockets, serverSideEmit answers) are dropped without their
 * callback. NULL is ignored. */
void sio_server_free(sio_server *srv);
/* Engine.IO connections currently open. */
size_t sio_server_connections(const sio_server *srv);
/* The underlying Engine.IO server. */
eio_server *sio_server_eio(sio_server *srv);
/* The loop. */
sio_loop *sio_server_loop(const sio_server *srv);

/* The namespace with this name ("/" is the main one), created when missing
 * (name copied). NULL when name is NULL, does not start with '/', holds a
 * ',', or memory ran out. */
sio_namespace *sio_of(sio_server *srv, const char *name);
/* Accept unknown namespace names for which match returns non-zero (tried in
 * the order added). SIO_OK, SIO_EINVAL (match NULL), SIO_ENOMEM. */
int sio_add_dynamic(sio_server *srv, sio_nsp_match_cb match, void *ud);
/* Accept unknown names matching a glob pattern ("/room-*", fnmatch rules;
 * copied). SIO_OK, SIO_EINVAL (pattern NULL), SIO_ENOMEM. */
int sio_add_dynamic_pattern(sio_server *srv, const char *pattern);
/* Called for each namespace created from now on (and dynamic ones), not
 * for "/" (made by sio_server_new); one callback per server, replacing the
 * earlier one. */
void sio_on_namespace(sio_server *srv, sio_nsp_created_cb cb, void *ud);
/* Called when an emptied dynamic namespace is removed (cleanup_empty_namespaces),
 * from the loop after the batch in which its last socket left, just before it
 * is freed: drop what refers to it. Not called by sio_server_free. */
void sio_on_namespace_removed(sio_server *srv, sio_nsp_created_cb cb, void *ud);
/* Namespace name, valid as long as the namespace. */
const char *sio_nsp_name(const sio_namespace *nsp);
/* Connected sockets in the namespace. */
size_t sio_nsp_size(const sio_namespace *nsp);
/* Add a middleware (run in order for each CONNECT). SIO_OK, SIO_EINVAL
 * (mw NULL), SIO_ETOOBIG (200 already), SIO_ENOMEM. */
int sio_use(sio_namespace *nsp, sio_middleware mw, void *ud);
/* One connection and one disconnect callback per namespace (a new one
 * replaces the old; NULL removes it). */
void sio_on_connection(sio_namespace *nsp, sio_connection_cb cb, void *ud);
void sio_on_disconnect(sio_namespace *nsp, sio_disconnect_cb cb, void *ud);
/* Handler for one event name (copied; replaces an earlier handler). A NULL
 * cb drops that event (sio_on_any does not see it). SIO_OK, SIO_EINVAL
 * (event NULL), SIO_ENOMEM. */
int sio_on(sio_namespace *nsp, const char *event, sio_event_cb cb, void *ud);
/* Handler for events that have no handler of their own. */
void sio_on_any(sio_namespace *nsp, sio_event_cb cb, void *ud);

/* Refuse a connect from a middleware: CONNECT_ERROR {"message","data"}.
 * message (NULL: "refused") and data (may be NULL; no binary nodes) are
 * copied. The refusal is sent when the middleware returns SIO_MW_REFUSE (or
 * passes it to sio_middleware_done). */
void sio_refuse(sio_socket *s, const char *message, const cJSON *data);
/* Finish a pending middleware: SIO_MW_NEXT or SIO_MW_REFUSE. Call it exactly
 * once for every SIO_MW_PENDING, even when the client has left meanwhile (the
 * socket stays allocated until then; the verdict is then ignored). */
void sio_middleware_done(sio_socket *s, int verdict);

/* Socket id (distinct from the Engine.IO session id): 20 characters, valid
 * as long as the socket pointer. */
const char *sio_socket_id(const sio_socket *s);
sio_namespace *sio_socket_nsp(const sio_socket *s);
/* The Engine.IO session carrying this socket; NULL once it is gone. Do not
 * eio_session_set_data on it: Socket.IO keeps its state there. */
eio_session *sio_socket_session(const sio_socket *s);
/* Handshake data: header (case-insensitive), query parameter (NULL when
 * absent), peer address. Owned by the session: valid while the socket is
 * connected and during its disconnect callback; afterwards NULL (address
 * ""). */
const char *sio_socket_header(const sio_socket *s, const char *name);
const char *sio_socket_query(const sio_socket *s, const char *key);
const char *sio_socket_address(const sio_socket *s);
/* The CONNECT auth payload (NULL when none), owned by the socket. */
const cJSON *sio_socket_auth(const sio_socket *s);
/* Application data (see "Ownership": free it in the disconnect callback). */
void sio_socket_set_data(sio_socket *s, void *p);
void *sio_socket_data(const sio_socket *s);
/* The socket's JSON data (Node's socket.data): what fetchSockets reports as
 * "data" (on every node) and what a recovered session brings back.
 * sio_socket_set_json_data takes the tree (no binary nodes; NULL clears;
 * the previous one is freed); sio_socket_json_data returns it borrowed (the
 * socket's, NULL when none): the app may change it in place. Freed with the
 * socket; on a recoverable disconnect a copy is kept with the session. */
void sio_socket_set_json_data(sio_socket *s, cJSON *data);
cJSON *sio_socket_json_data(const sio_socket *s);
/* Whether the socket's session was recovered (Node's socket.recovered): its
 * id, rooms and JSON data are those of the session it left, and the events
 * it missed were sent before its CONNECT reply. */
int sio_socket_recovered(const sio_socket *s);
/* Whether the socket is connected (0 in a middleware, in its disconnect
 * callback and after). */
int sio_socket_connected(const sio_socket *s);
/* Backpressure: bytes queued for the socket's client, and whether the queue
 * is below half of --max-buffered. A client more than max-buffered behind is
 * disconnected ("backpressure"); producers that check sio_socket_writable and
 * wait for the drain callback never get there. */
size_t sio_socket_buffered(const sio_socket *s);
int sio_socket_writable(const sio_socket *s);
/* Called when a socket's queue empties after its client fell behind (after
 * sio_socket_writable returned 0); from the loop, never inside another call. */
void sio_on_drain(sio_namespace *nsp, sio_connection_cb cb, void *ud);

/* Emit an event to one socket; args is a JSON array (or NULL for none),
 * read only (see "Ownership"). The packet is queued; it is written at the
 * end of the loop iteration. Returns SIO_OK; SIO_EINVAL (event NULL, or args
 * holding a node that cannot be printed); SIO_ENOMEM; SIO_ETOOBIG (the
 * packet, or one of its binary attachments, is over eio max_payload;
 * nothing of it was sent, unless an attachment after the first part was the
 * one too big); SIO_ECLOSED (the socket is not connected, or its client was
 * more than max_buffered behind and has just been disconnected: its
 * disconnect callback ran inside this call). */
int sio_emit(sio_socket *s, const char *event, const cJSON *args);
/* Emit to one socket, dropped (SIO_OK, counted in /metrics) when its
 * transport is not ready. The codes of sio_emit. */
int sio_emit_volatile(sio_socket *s, const char *event, const cJSON *args);
/* Emit and wait for the client's acknowledgement, at most timeout_ms
 * (0: no timeout). On SIO_OK cb runs exactly once, later (never inside this
 * call); on any other return it never runs. The codes of sio_emit, and
 * SIO_EINVAL for a NULL cb. */
int sio_emit_with_ack(sio_socket *s, const char *event, const cJSON *args, uint32_t timeout_ms,
                      sio_ack_cb cb, void *ud);
/* Acknowledge a client's event (ack_id from the event callback), once; args
 * as for sio_emit. SIO_OK, SIO_EINVAL (ack_id < 0 or too large), SIO_ENOMEM,
 * SIO_ETOOBIG, SIO_ECLOSED (as for sio_emit). */
int sio_ack(sio_socket *s, int64_t ack_id, const cJSON *args);

/* Rooms (names copied). sio_join: SIO_OK (also for a room the socket is in,
 * and its own id room); SIO_EINVAL (room NULL); SIO_ECLOSED (not connected:
 * in a middleware or disconnect callback, or gone); SIO_ENOMEM; and,
 * leaving the socket as it was, SIO_ETOOBIG for a name longer than
 * max_room_name and SIO_ELIMIT when the socket is in max_rooms_per_socket
 * rooms already (its own id room does not count). */
int sio_join(sio_socket *s, const char *room);
/* How many joins of this socket sio_join refused for those limits (an app's
 * policy can disconnect a client that keeps trying). */
size_t sio_socket_refused_joins(const sio_socket *s);
/* SIO_OK (also when the socket was not in the room), SIO_EINVAL (room
 * NULL), SIO_ECLOSED (not connected). */
int sio_leave(sio_socket *s, const char *room);
/* Whether the socket is in the room (0 when it is not connected). */
int sio_in_room(const sio_socket *s, const char *room);
/* Call fn for each room the socket is in (its own id first; nothing when it
 * is not connected). room is borrowed; fn must not join or leave. */
void sio_socket_rooms(const sio_socket *s, void (*fn)(const char *room, void *ud), void *ud);

/* Broadcast to the target (NULL: every socket of the namespace; with a
 * cluster adapter, of every node unless t->local). The packet is encoded
 * once and the same bytes are queued for every receiver; a receiver that is
 * closing or too far behind is skipped (the latter disconnected, inside this
 * call). SIO_OK (whoever received it), SIO_EINVAL (event NULL, or args that
 * cannot be printed), SIO_ENOMEM. */
int sio_broadcast(sio_namespace *nsp, const sio_target *t, const char *event, const cJSON *args);
/* Broadcast from a socket: like sio_broadcast, excluding the socket itself.
 * The codes of sio_broadcast, and SIO_ETOOBIG for more than 62 t->except
 * rooms. */
int sio_socket_broadcast(sio_socket *s, const sio_target *t, const char *event, const cJSON *args);
/* Call fn for each local socket the target selects. The selection is made
 * before the first call, so fn may emit, join, leave or disconnect; a
 * socket an earlier fn disconnected is still passed (sio_socket_connected
 * says 0). */
void sio_each_socket(sio_namespace *nsp, const sio_target *t, void (*fn)(sio_socket *, void *),
                     void *ud);

/* Disconnect from the namespace ("server namespace disconnect"); with
 * close_connection, every socket of its connection and the Engine.IO
 * connection too. The disconnect callbacks run inside (the socket is then
 * invalid once the callback that called this returns). Nothing for a
 * socket already gone. */
void sio_disconnect(sio_socket *s, int close_connection);

/* ---- Cluster-wide operations: with a Redis adapter they reach the sockets
 * of every node (Node.js servers with @socket.io/redis-adapter included);
 * without one, this node's. ---- */

/* fetchSockets: cb gets a JSON array of {"id","handshake","rooms","data"}
 * (borrowed), status SIO_OK, or SIO_ETIMEDOUT with what arrived when a node
 * did not answer within requests_timeout_ms. On SIO_OK cb runs exactly once
 * (inside the call on a single node or when Redis is down); otherwise never.
 * SIO_OK, SIO_EINVAL (cb NULL), SIO_ENOMEM. */
typedef void (*sio_fetch_cb)(sio_namespace *nsp, int status, cJSON *sockets, void *ud);
int sio_fetch_sockets(sio_namespace *nsp, const sio_target *t, sio_fetch_cb cb, void *ud);
/* socketsJoin / socketsLeave: the selected sockets join or leave rooms
 * (NULL-terminated, read during the call; a socket at a sio_join limit
 * skips the rooms it refuses). The local part is always done; the codes are
 * about reaching the other nodes: SIO_OK; with a Redis adapter also
 * SIO_ENOMEM, SIO_ECLOSED (Redis link down: the others missed it),
 * SIO_ETOOBIG, SIO_EIO. */
int sio_sockets_join(sio_namespace *nsp, const sio_target *t, const char *const *rooms);
int sio_sockets_leave(sio_namespace *nsp, const sio_target *t, const char *const *rooms);
/* disconnectSockets (disconnect callbacks run inside). The codes of
 * sio_sockets_join. */
int sio_disconnect_sockets(sio_namespace *nsp, const sio_target *t, int close_connection);

/* serverSideEmit: an event for the other nodes' handlers (not clients). A
 * handler gets event and args borrowed; ack != NULL when the sender waits
 * for an answer: it may call sio_server_ack_reply once, before returning
 * (ack is invalid afterwards). One handler per namespace. */
typedef struct sio_server_ack sio_server_ack;
typedef void (*sio_server_event_cb)(sio_namespace *nsp, const char *event, cJSON *args,
                                    sio_server_ack *ack, void *ud);
void sio_on_server_event(sio_namespace *nsp, sio_server_event_cb cb, void *ud);
/* arg is read only. SIO_OK, SIO_EINVAL (ack NULL), SIO_ESTATE (already
 * replied). */
int sio_server_ack_reply(sio_server_ack *ack, const cJSON *arg);
/* cb (optional) gets the JSON array of the other nodes' answers (borrowed),
 * status SIO_OK or SIO_ETIMEDOUT (some node did not answer within
 * requests_timeout_ms); on SIO_OK it runs exactly once (inside the call on a
 * single node, with no answers), otherwise never. SIO_OK, SIO_EINVAL (event
 * NULL), SIO_ENOMEM; without cb, with a Redis adapter, also SIO_ECLOSED
 * (Redis link down), SIO_ETOOBIG, SIO_EIO, SIO_EINVAL (args that cannot be
 * printed). */
typedef void (*sio_responses_cb)(sio_namespace *nsp, int status, cJSON *responses, void *ud);
int sio_server_side_emit(sio_namespace *nsp, const char *event, const cJSON *args,
                         sio_responses_cb cb, void *ud);

/* Broadcast expecting an acknowledgement from every receiving client on every
 * node; on SIO_OK cb runs exactly once (inside the call on a single node
 * when no client receives it), with all answers (their first argument each, borrowed) or,
 * after timeout_ms (0: none), SIO_ETIMEDOUT and the answers that came.
 * SIO_OK, SIO_EINVAL (cb or event NULL), SIO_ENOMEM. */
int sio_broadcast_with_ack(sio_namespace *nsp, const sio_target *t, const char *event,
                           const cJSON *args, uint32_t timeout_ms, sio_responses_cb cb, void *ud);

/* ---- Observing a server (what @socket.io/admin-ui's instrument() listens
 * to; sio/admin.h is built on it) ----
 *
 * One observer per server sees what happens to every socket of every
 * namespace. Every hook is optional (NULL: not called) and runs on the loop,
 * inside the call that caused it, after the state changed unless said
 * otherwise. Hooks may emit and broadcast, to other sockets than the one they
 * are told about (the observed socket may be in the middle of a packet):
 * they must not join, leave or disconnect it. Without an observer, each
 * place costs one predictable branch (per receiver of a broadcast: one). The
 * traffic itself is counted by Engine.IO (eio_server_counters). */
typedef struct sio_observer {
    /* Connected (in its namespace and its own id room), before the
     * namespace's connection callback. */
    void (*connected)(sio_socket *s, void *ud);
    /* Leaving (reason as sio_disconnect_cb's), after `left` was called for
     * each of its rooms and before the namespace's disconnect callback. */
    void (*disconnected)(sio_socket *s, const char *reason, void *ud);
    /* Joined a room it was not in / left one it was in (sio_join, sio_leave,
     * socketsJoin/Leave from any node, and every room when it leaves; its own
     * id room only then, since it is in it from the start). */
    void (*joined)(sio_socket *s, const char *room, void *ud);
    void (*left)(sio_socket *s, const char *room, void *ud);
    /* An event from the client, before its handler; args (without the event
     * name) borrowed, read only. */
    void (*event_received)(sio_socket *s, const char *event, const cJSON *args, void *ud);
    /* An event emitted to this socket (sio_emit and its variants, and each
     * receiver of sio_broadcast, from this node or another; not acks), before
     * it is queued; args borrowed, may be NULL. The one per-delivery hook:
     * with an observer, a broadcast pays a call per receiver. */
    void (*event_sent)(sio_socket *s, const char *event, const cJSON *args, void *ud);
    /* The socket's connection moved to WebSocket (once per socket). */
    void (*upgraded)(sio_socket *s, void *ud);
    /* An Engine.IO connection closed; reason as eio_callbacks.on_close's. */
    void (*connection_closed)(eio_session *es, const char *reason, void *ud);
    /* Add to the "data" object this node reports for the socket in
     * fetchSockets answers (local and to other nodes); data is the
     * library's, add members only. */
    void (*describe)(const sio_socket *s, cJSON *data, void *ud);
    void *ud;
} sio_observer;

/* Install the server's observer (copied; replaces the earlier one), or
 * remove it (o NULL). */
void sio_server_observe(sio_server *srv, const sio_observer *o);
/* The installed observer, NULL when none. */
const sio_observer *sio_server_observer(const sio_server *srv);
/* Walk the server's namespaces: *pos starts at 0; NULL at the end. No
 * namespace may be created or removed during the walk. */
sio_namespace *sio_server_next_namespace(const sio_server *srv, size_t *pos);

SIO_END_DECLS

#endif
