/* The adapter interface: where a namespace keeps its rooms and how a
 * broadcast, a fetchSockets, a socketsJoin... reach the sockets they select,
 * on this node only (the in-memory adapter, the default) or on every node of
 * a cluster (the Redis adapter of <sio/redis.h>, or one of your own).
 *
 * The Socket.IO core (sio.h) knows no adapter by name: a server gets its
 * adapters from the factory in sio_options.adapter, one adapter per
 * namespace, made when the namespace is and freed with it. Everything here
 * runs on the loop's thread.
 *
 * Writing an adapter: embed sio_adapter first in your struct, fill an
 * sio_adapter_ops, and keep local membership either yourself (through the
 * socket's sio_socket_slot) or, as the Redis adapter does, by delegating the
 * local part to an inner sio_memory_adapter_new() and adding the traffic with
 * the other nodes (the cluster hooks below). The functions at the end of this
 * header are the adapter's way back into the core: finding sockets,
 * delivering encoded packets, and running this node's half of an operation
 * another node asked for. */
#ifndef SIO_ADAPTER_H
#define SIO_ADAPTER_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "sio/export.h"
#include "sio/sio.h"

SIO_BEGIN_DECLS

typedef struct sio_adapter sio_adapter;
typedef struct sio_adapter_ops sio_adapter_ops;
/* A packet encoded once for this node's receivers (opaque: give it to
 * sio_socket_deliver). */
typedef struct eio_batch sio_encoded;
/* The answers of one broadcast with acknowledgements, gathered from every
 * node (opaque; see remote_broadcast_ack). */
typedef struct sio_ack_group sio_ack_group;

/* ---- Connection state recovery (sio_options.recovery_window_ms) ----
 * What a disconnected socket leaves behind (Node's Session): persisted by
 * persist_session, given back by restore_session. */
typedef struct sio_session {
    const char *sid;
    const char *pid;
    const char *const *rooms; /* NULL-terminated; as Node's [...socket.rooms]: its own id first */
    const cJSON *data;        /* the socket's JSON data (sio_socket_json_data), NULL when none */
} sio_session;

/* restore_session's answer, exactly once (also on failure, an unknown pid or
 * offset, and when the adapter is freed first: s NULL, missed NULL). s and
 * what it points to are read during the call only. missed: a JSON array of
 * the packets to replay, each the full [event, ...args, offset] data array,
 * in order; taken by the core (NULL: none). */
typedef void (*sio_restore_cb)(sio_namespace *nsp, const sio_session *s, cJSON *missed, void *ud);

/* What an adapter reports for /metrics about recovery (all optional). */
typedef struct sio_recovery_stats {
    size_t sessions;    /* disconnected sessions kept for their window */
    size_t log_packets; /* packets in the node-local log */
    size_t log_bytes;   /* memory the log holds */
} sio_recovery_stats;

/* A broadcast on its way out: the bytes for local receivers and the logical
 * packet, for adapters that forward it to other nodes (which re-encode it in
 * their own format). */
typedef struct sio_adapter_packet {
    sio_encoded *encoded; /* NULL in remote_broadcast_ack (nothing to deliver here) */
    const char *nsp;      /* the namespace's name */
    const cJSON *data;    /* the full [event, ...args] array, or NULL ... */
    const char *event;    /* ... then the event name and ... */
    const cJSON *args;    /* ... its arguments (a JSON array or NULL), kept apart */
    /* Recovery is on and the packet is an EVENT without ack id, not
     * volatile: encoded is NULL; the adapter numbers it (its log's id, or a
     * Redis stream entry id, maybe asynchronously), keeps what a restore
     * needs and encodes it for its local receivers with sio_adapter_encode.
     * Only set for adapters with persist_session and restore_session. */
    int wants_offset;
} sio_adapter_packet;

/* Every op gets the adapter it belongs to. The core calls them only from the
 * loop, never two at once, and never from inside another op's callback
 * except as said: `each` and `broadcast` select their sockets before they
 * call out, so a callback or a delivery may join, leave, disconnect (which
 * calls leave_all) or broadcast again; an adapter must not keep pointers into
 * its selection across those calls. Room names are the caller's: copy what
 * you keep. A socket's own room (its id) holds just that socket: adapters
 * answer it without storing it (sio_nsp_find_socket). */
struct sio_adapter_ops {
    /* The socket (connected, in this adapter's namespace) joins a room: SIO_OK
     * (also when it was in it already) or SIO_ENOMEM. The core has checked
     * the sio_options limits; it reads sio_socket_slot.n_rooms for them. */
    int (*join)(sio_adapter *a, sio_socket *s, const char *room);
    /* Leaves a room (nothing when not in it). */
    void (*leave)(sio_adapter *a, sio_socket *s, const char *room);
    /* Leaves every room: the socket is leaving the namespace. */
    void (*leave_all)(sio_adapter *a, sio_socket *s);
    /* Whether the socket is in the room (its own id room included). */
    int (*has)(sio_adapter *a, const sio_socket *s, const char *room);
    /* fn for each room of the socket, its own id first. */
    void (*rooms_of)(sio_adapter *a, const sio_socket *s, void (*fn)(const char *room, void *ud),
                     void *ud);
    /* fn for each connected local socket the target selects (NULL: all),
     * each once, in a stable order (rooms in the target's order, members in
     * join order). */
    void (*each)(sio_adapter *a, const sio_target *t, void (*fn)(sio_socket *s, void *ud),
                 void *ud);
    /* Deliver pkt->encoded to the selected local sockets (sio_socket_deliver,
     * with t->is_volatile) and, for a cluster adapter, forward the packet to
     * the other nodes unless t->local. */
    int (*broadcast)(sio_adapter *a, const sio_adapter_packet *pkt, const sio_target *t);
    /* Rooms with members on this node (for /metrics). */
    size_t (*room_count)(sio_adapter *a);
    /* Free the adapter (its namespace is being freed; its sockets are gone
     * or going without leave_all). */
    void (*free)(sio_adapter *a);

    /* Cluster hooks, NULL on a single node. The core has done the local part
     * (sio_local_* below) before it calls one; the hook only reaches the
     * other nodes, and is never called for a target with t->local set. */
    /* socketsJoin / socketsLeave on the other nodes. */
    int (*remote_rooms)(sio_adapter *a, const sio_target *t, const char *const *rooms, int leave);
    /* disconnectSockets on the other nodes. */
    int (*remote_disconnect)(sio_adapter *a, const sio_target *t, int close_connection);
    /* fetchSockets: takes `local` (this node's sockets, a JSON array) and
     * calls cb exactly once with everyone's (then frees them), SIO_ETIMEDOUT
     * with what arrived when a node did not answer in requests_timeout_ms. */
    int (*remote_fetch)(sio_adapter *a, const sio_target *t, cJSON *local, sio_fetch_cb cb,
                        void *ud);
    /* serverSideEmit: data is [event, ...args] (read only); cb NULL when no
     * answer is wanted, else called once with the other nodes' answers. */
    int (*remote_server_emit)(sio_adapter *a, const cJSON *data, sio_responses_cb cb, void *ud);
    /* Ask the other nodes to broadcast pkt->data with acks into g: hold g
     * (sio_ack_group_ref) while answers may come, report how many nodes
     * will answer (sio_ack_group_servers, this one included), each node's
     * client count (sio_ack_group_count) and each answer
     * (sio_ack_group_answer); on failure report 1 server (this one). */
    int (*remote_broadcast_ack)(sio_adapter *a, const sio_adapter_packet *pkt, const sio_target *t,
                                uint32_t timeout_ms, sio_ack_group *g);

    /* Connection state recovery, NULL when this adapter cannot recover
     * (every connect is then fresh, no pid is sent, packets get no offset).
     * Keep the session of a socket leaving for a recoverable reason, for
     * sio_server_options()->recovery_window_ms (copy what you keep). Called
     * before leave_all. SIO_OK or SIO_ENOMEM (the session is lost). */
    int (*persist_session)(sio_adapter *a, const sio_session *s);
    /* A CONNECT with auth.pid and auth.offset: find the session and the
     * packets after offset that its rooms select; cb exactly once, maybe
     * inside this call. A session is given back at most once (restoring
     * consumes it). SIO_OK, or an error (then cb never runs). */
    int (*restore_session)(sio_adapter *a, const char *pid, const char *offset, sio_restore_cb cb,
                           void *ud);
    /* Optional: a socket finished connecting (fresh or recovered, its rooms
     * restored), just before its CONNECT reply. */
    void (*connected)(sio_adapter *a, sio_socket *s);
    /* Optional: recovery figures for /metrics. */
    void (*recovery_stats)(sio_adapter *a, sio_recovery_stats *out);
};

/* The head of every adapter. nsp is the namespace it serves (set by the
 * adapter's create function, valid until free). */
struct sio_adapter {
    const sio_adapter_ops *ops;
    sio_namespace *nsp;
};

/* Where a server gets its adapters (sio_options.adapter). sio_server_new
 * copies the struct: the factory itself may be a local variable, but ud
 * must stay valid as long as the open function says (until sio_server_new
 * returns for the Redis adapter, which copies its configuration). */
struct sio_adapter_factory {
    /* Optional: once per server, in sio_server_new before any namespace:
     * make what the server's adapters share (connections, a node id) into
     * *state; an error fails sio_server_new with it. NULL: *state is ud. */
    int (*open)(sio_server *srv, void *ud, void **state);
    /* One adapter for a new namespace (sio_of, a dynamic match, "/" at
     * start), with open's state; NULL when out of memory (the namespace is
     * then not made). */
    sio_adapter *(*create)(sio_namespace *nsp, void *state);
    /* Optional: in sio_server_free, after every namespace's adapter was
     * freed. */
    void (*close)(void *state);
    void *ud;
};

/* The in-memory adapter: rooms of this node only. The factory is the
 * default (sio_options.adapter NULL); sio_memory_adapter_new makes one for a
 * namespace, to which a cluster adapter can delegate the local part. */
const sio_adapter_factory *sio_memory_adapter(void);
sio_adapter *sio_memory_adapter_new(sio_namespace *nsp);

/* ---- What adapters reach sockets and namespaces with ---- */

/* Per-socket state the core keeps for the namespace's adapter (one adapter
 * owns it: one that delegates to an inner memory adapter leaves it to that
 * one). Zero when the socket connects; the adapter's to change, also through
 * a const socket (it is the adapter's, not the socket's, state). */
typedef struct sio_socket_slot {
    void *rooms;      /* the adapter's record of the socket's rooms */
    uint32_t n_rooms; /* how many rooms it is in, its own id room not counted:
                         sio_join's max_rooms_per_socket reads it, keep it true */
    uint32_t mark;    /* free for de-duplicating a selection (an epoch of the
                         adapter's own: "already selected in this pass") */
} sio_socket_slot;
sio_socket_slot *sio_socket_adapter_slot(const sio_socket *s);

/* The connected socket with this id in the namespace, or NULL. */
sio_socket *sio_nsp_find_socket(const sio_namespace *nsp, const char *id);
/* Walk the namespace's connected sockets: *pos starts at 0; NULL at the end.
 * No socket may connect or leave during the walk (collect, then call out). */
sio_socket *sio_nsp_next_socket(const sio_namespace *nsp, size_t *pos);
/* Whether the namespace's adapter reaches other nodes (it has cluster
 * hooks): a broadcast with no local receiver may still reach someone. */
int sio_nsp_clustered(const sio_namespace *nsp);
/* The server of a namespace, and the options it was made with. */
sio_server *sio_nsp_server(const sio_namespace *nsp);
const sio_options *sio_server_options(const sio_server *srv);
/* Hold a namespace while something outside its sockets points at it (a
 * cluster request waiting for answers): an emptied dynamic namespace with
 * cleanup_empty_namespaces is removed only at the last unref. */
void sio_nsp_ref(sio_namespace *nsp);
void sio_nsp_unref(sio_namespace *nsp);

/* Queue an encoded packet on the socket's connection: SIO_OK, or
 * SIO_ECLOSED when the socket is gone. A volatile packet is dropped (and
 * counted) when the transport is not ready. A delivery may disconnect the
 * socket (its client fell max_buffered behind), which runs the app's
 * disconnect handler from inside this call. */
int sio_socket_deliver(sio_socket *s, sio_encoded *pkt, int is_volatile);

/* Recovery: pkt's data (or event + args) encoded as an EVENT of pkt's
 * namespace with offset appended as its last argument (offset NULL: none),
 * for sio_socket_deliver. Valid until the next encode on this server (any
 * emit or broadcast); NULL when out of memory or unprintable. */
sio_encoded *sio_adapter_encode(sio_namespace *nsp, const sio_adapter_packet *pkt,
                                const char *offset);
/* Deliver a packet to the local sockets t selects through adapter via's
 * broadcast op (via: the adapter itself, or the inner memory adapter it
 * delegates to; via->nsp is the namespace), as the core's own broadcast
 * does: with the server's observer (sio_server_observe), each receiver's
 * delivery is seen as event_sent, its data (pkt->data or pkt->event/args)
 * with offset at the end as the receivers get it. pkt->encoded is sent as
 * it is (offset then only tells the observer); NULL: pkt is encoded here
 * with offset as its last argument (offset NULL: none). For deliveries an
 * adapter makes after its broadcast op returned (waiting for an offset from
 * Redis, say); inside the op the core has done this already. t should have
 * t->local set (nothing is forwarded again). SIO_EINVAL when via or pkt is
 * NULL, SIO_ENOMEM when the encoding fails, else what the op returns. */
int sio_adapter_deliver_local(sio_adapter *via, const sio_adapter_packet *pkt, const char *offset,
                              const sio_target *t);
/* The socket's private session id (Node's pid, sent in the CONNECT reply),
 * NULL when recovery is off for its namespace. Valid as the socket. */
const char *sio_socket_pid(const sio_socket *s);

/* ---- This node's half of an operation, for requests from other nodes
 * (they select with t; the adapter's `each` decides, t->local is implied) ---- */

/* Deliver a broadcast that came from another node: data is [event, ...args]
 * (binary as sio/json.h binary nodes), encoded here in the server's format. */
int sio_local_broadcast(sio_namespace *nsp, const cJSON *data, const sio_target *t);
/* A broadcast from another node that already has its offset (a stream entry
 * id): encoded with it as the last argument, delivered to the local
 * selection (adapter broadcast with t->local, not wants_offset); nothing is
 * logged. offset NULL: as sio_local_broadcast without recovery. */
int sio_local_broadcast_offset(sio_namespace *nsp, const cJSON *data, const sio_target *t,
                               const char *offset);
/* socketsJoin (leave 0) / socketsLeave (leave 1) of the selected sockets. */
void sio_local_rooms(sio_namespace *nsp, const sio_target *t, const char *const *rooms, int leave);
/* disconnectSockets of the selected sockets. */
void sio_local_disconnect(sio_namespace *nsp, const sio_target *t, int close_connection);
/* The selected sockets as fetchSockets describes them: a new JSON array of
 * {"id","handshake","rooms","data"} (the caller's), NULL when out of memory. */
cJSON *sio_local_fetch(sio_namespace *nsp, const sio_target *t);
/* A serverSideEmit from another node: runs the namespace's server-event
 * handler with data ([event, ...args]; its first item is detached and freed,
 * the rest stays the caller's). reply is NULL when the sender wants no
 * answer; else the handler's answer (at most one, before this returns) is
 * given to reply(arg, ud), arg read only. */
void sio_local_server_event(sio_namespace *nsp, cJSON *data,
                            void (*reply)(const cJSON *arg, void *ud), void *ud);
/* A broadcast with acks asked by another node: sends data ([event,
 * ...args]) to the selected local sockets, each waiting for its ack at most
 * timeout_ms, and hands every answer to forward (arg taken, NULL for an empty
 * ack). Returns how many sockets were asked. release(ud) runs once no answer
 * can come any more (release may be NULL). */
size_t sio_local_broadcast_ack(sio_namespace *nsp, const cJSON *data, const sio_target *t,
                               uint32_t timeout_ms,
                               void (*forward)(sio_namespace *nsp, cJSON *arg, void *ud), void *ud,
                               void (*release)(void *ud));

/* ---- The ack group of remote_broadcast_ack ---- */

void sio_ack_group_ref(sio_ack_group *g);
void sio_ack_group_unref(sio_ack_group *g);
/* The number of nodes that will report (this one included). */
void sio_ack_group_servers(sio_ack_group *g, int servers);
/* One node reported how many of its clients it asked. */
void sio_ack_group_count(sio_ack_group *g, size_t clients);
/* One client's answer (taken; NULL stands for an empty ack). */
void sio_ack_group_answer(sio_ack_group *g, cJSON *arg);

SIO_END_DECLS

#endif
