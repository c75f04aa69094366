/* Socket.IO server internals shared by the protocol code (socketio/) and the
 * adapters (adapter/). Not part of the public API. */
#ifndef SIO_SIO_INTERNAL_H
#define SIO_SIO_INTERNAL_H

#include "eio/batch.h"
#include "socketio/packet.h"
#include "sio/sio.h"
#include "util/buf.h"
#include "util/map.h"

#define SIO_ID_LEN 20

typedef struct sio_adapter sio_adapter;
typedef struct sio_client sio_client;
struct ack_group;

/* A packet on its way out: the encoded bytes for local receivers and the
 * logical packet for adapters that forward it to other nodes. */
typedef struct sio_out {
    eio_batch *batch;
    sio_pkt_type type;
    const char *nsp;
    const cJSON *data; /* the full [event, ...args] array, or NULL ... */
    const char *event; /* ... then the event name and ... */
    const cJSON *args; /* ... its arguments, kept apart */
} sio_out;

typedef struct sio_adapter_ops {
    int (*join)(sio_adapter *a, sio_socket *s, const char *room);
    void (*leave)(sio_adapter *a, sio_socket *s, const char *room);
    void (*leave_all)(sio_adapter *a, sio_socket *s);
    int (*has)(sio_adapter *a, const sio_socket *s, const char *room);
    void (*rooms_of)(sio_adapter *a, const sio_socket *s, void (*fn)(const char *, void *),
                     void *ud);
    /* Local sockets the target selects, each once, in a stable order. */
    void (*each)(sio_adapter *a, const sio_target *t, void (*fn)(sio_socket *, void *), void *ud);
    /* Deliver to the selected local sockets (and, for cluster adapters,
     * forward to the other nodes unless t->local). */
    int (*broadcast)(sio_adapter *a, const sio_out *pkt, const sio_target *t);
    size_t (*room_count)(sio_adapter *a);
    void (*free)(sio_adapter *a);
    /* Cluster hooks, NULL on a single node: the caller did the local part,
     * these reach the other nodes. */
    int (*remote_rooms)(sio_adapter *a, const sio_target *t, const char *const *rooms, int leave);
    int (*remote_disconnect)(sio_adapter *a, const sio_target *t, int close);
    /* Takes `local` (this node's sockets) and calls cb with everyone's. */
    int (*remote_fetch)(sio_adapter *a, const sio_target *t, cJSON *local, sio_fetch_cb cb,
                        void *ud);
    /* data is [event, ...args]; cb NULL when no answer is wanted. */
    int (*remote_server_emit)(sio_adapter *a, const cJSON *data, sio_responses_cb cb, void *ud);
    /* Ask the other nodes to broadcast pkt with acks into group g. */
    int (*remote_broadcast_ack)(sio_adapter *a, const sio_out *pkt, const sio_target *t,
                                uint32_t timeout_ms, struct ack_group *g);
} sio_adapter_ops;

struct sio_adapter {
    const sio_adapter_ops *ops;
    sio_namespace *nsp;
};

struct handler {
    char *event;
    sio_event_cb cb;
    void *ud;
};

struct mw {
    sio_middleware fn;
    void *ud;
};

struct sio_namespace {
    char *name;
    sio_server *srv;
    smap sockets; /* id -> connected socket */
    struct handler *handlers;
    size_t n_handlers;
    sio_event_cb any_cb;
    void *any_ud;
    sio_connection_cb conn_cb;
    void *conn_ud;
    sio_disconnect_cb disc_cb;
    void *disc_ud;
    struct mw *mws;
    size_t n_mws;
    sio_adapter *adapter;
    sio_server_event_cb server_event_cb;
    void *server_event_ud;
    sio_connection_cb drain_cb;
    void *drain_ud;
    int64_t next_ack; /* one counter per namespace, as the reference: a
                         broadcast with acks uses one id for every receiver */
    /* Everything alive that points here: sockets (connecting, connected, or
     * gone with a middleware pending), ack groups, cluster requests. A
     * dynamic namespace with cleanup_empty_namespaces is removed at zero. */
    size_t refs;
    uint8_t dynamic; /* created by a match on connect, not by sio_of */
    uint8_t removed; /* out of srv->nsps, freed by the next reap */
    sio_namespace *next_removed;
};

enum { SOCK_CONNECTING, SOCK_CONNECTED, SOCK_GONE };

struct pending_ack {
    struct pending_ack *next;
    sio_socket *s;
    int64_t id;
    sio_ack_cb cb;
    void *ud;
    sio_timer timer;
};

struct sio_socket {
    char id[SIO_ID_LEN + 1];
    uint8_t state;
    uint8_t mw_index; /* next middleware to run while connecting */
    uint8_t refused;
    uint8_t mw_pending; /* a middleware answered SIO_MW_PENDING: the app still
                           holds the pointer, so it stays allocated until
                           sio_middleware_done */
    uint32_t mark;      /* broadcast de-duplication epoch */
    sio_namespace *nsp;
    sio_client *client;
    sio_socket *next_in_client;
    void *data;
    void *rooms;            /* the adapter's membership list */
    uint32_t n_rooms;       /* ... its length (the own id room is not stored) */
    uint32_t refused_joins; /* sio_join refusals (limits), for apps' policies */
    struct pending_ack *acks;
    uint64_t connected_at_ms; /* wall clock, for fetchSockets' handshake */
    cJSON *auth;
    cJSON *refuse_data;
    char *refuse_msg;
    cJSON *claims; /* sio_socket_set_claims: the token's, owned */
};

struct sio_client {
    eio_session *es;
    sio_server *srv;
    sio_socket *sockets;
    sio_decoder *pending; /* only while a binary packet's attachments arrive */
    sio_timer connect_timer;
    uint8_t closing;
};

struct dyn {
    sio_nsp_match_cb match;
    void *ud;
    char *pattern;
};

struct sio_server {
    sio_loop *loop;
    eio_server *eio;
    sio_options o;
    smap nsps;
    struct dyn *dyns;
    size_t n_dyns;
    sio_nsp_created_cb created_cb;
    void *created_ud;
    sio_nsp_created_cb removed_cb;
    void *removed_ud;
    sio_namespace *removed;   /* emptied dynamic namespaces waiting for the reap */
    struct nsp_reap *reap;    /* the queued reap, NULL when none */
    sio_decoder dec;          /* shared: text packets decode in one call */
    sbuf enc;                 /* the last encoded packet's text */
    sio_attachment_list bins; /* ... and its attachments */
    eio_batch batch;
    uint32_t epoch;
    size_t n_clients;
    int shutting_down;
    struct sio_redis *redis; /* NULL on a single node */
    char path[128];          /* the Engine.IO path, for handshake descriptions */
};

/* Acknowledgements of one broadcast, gathered from every node. */
struct ack_group {
    sio_namespace *nsp;
    sio_responses_cb cb;
    void *ud;
    cJSON *responses;
    int expected_servers; /* -1 until known */
    int actual_servers;
    size_t expected_clients;
    int done;
    int refs;
    sio_timer timer;
    /* Set for a broadcast asked by another node: each answer is handed on
     * (and taken) instead of gathered; fwd_ud is freed with the group. */
    void (*forward)(struct ack_group *g, cJSON *arg);
    void *fwd_ud;
};
/* A node (this one included) reported how many clients it asked. */
void sio_ack_group_count(struct ack_group *g, size_t clients);
/* One client's answer (taken). */
void sio_ack_group_answer(struct ack_group *g, cJSON *arg);
/* The number of nodes that will report (this one included). */
void sio_ack_group_servers(struct ack_group *g, int servers);
void sio_ack_group_unref(struct ack_group *g);

/* Deliver a packet that came from another node to this node's sockets:
 * data is the full [event, ...args] array, binary as binary nodes. */
int sio_nsp_broadcast_packet(sio_namespace *nsp, const cJSON *data, const sio_target *t);
/* Local halves of the cluster operations, for requests from other nodes. */
void sio_local_rooms(sio_namespace *nsp, const sio_target *t, const char *const *rooms, int leave);
void sio_local_disconnect(sio_namespace *nsp, const sio_target *t, int close);
cJSON *sio_local_fetch(sio_namespace *nsp, const sio_target *t);
/* Broadcast data with acks to local sockets into g; returns the count. */
size_t sio_local_broadcast_ack(sio_namespace *nsp, const cJSON *data, const sio_target *t,
                               uint32_t timeout_ms, struct ack_group *g);
/* Run the namespace's server-event handler. */
void sio_nsp_server_event(sio_namespace *nsp, cJSON *data, sio_server_ack *ack);
struct sio_server_ack {
    void (*send)(sio_server_ack *ack, const cJSON *arg);
    int used;
};
/* The Redis adapter for a namespace; NULL when it cannot be made. */
sio_adapter *sio_redis_adapter_new(sio_namespace *nsp);
/* Server-wide Redis state (links, uid), made once by sio_server_new. */
int sio_redis_init(sio_server *srv);
void sio_redis_free(sio_server *srv);
/* Metrics lines for the Redis links (nothing on a single node). */
void sio_redis_collect(sio_server *srv, struct sbuf *out);

/* Queue an encoded packet on the socket's connection (the adapters' way
 * out); volatile packets are dropped when the transport is not ready. */
int sio_socket_deliver(sio_socket *s, eio_batch *b, int is_volatile);
/* The memory adapter (single node). */
sio_adapter *sio_memory_adapter_new(sio_namespace *nsp);
/* Hold a namespace while something outside its socket map points at it
 * (an ack group, a cluster request); the last unref of an emptied dynamic
 * namespace removes it when cleanup_empty_namespaces is on. */
void sio_nsp_ref(sio_namespace *nsp);
void sio_nsp_unref(sio_namespace *nsp);
/* A fresh broadcast epoch for de-duplication marks. */
uint32_t sio_next_epoch(sio_server *srv);

#endif
