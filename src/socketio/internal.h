/* Socket.IO server internals of the protocol code (socketio/). Not part of
 * the public API: adapters (adapter/) reach sockets and namespaces through
 * include/sio/adapter.h only. */
#ifndef SIO_SIO_INTERNAL_H
#define SIO_SIO_INTERNAL_H

#include "eio/batch.h"
#include "sio/adapter.h"
#include "socketio/packet.h"
#include "sio/sio.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/slab.h"

#define SIO_ID_LEN 20

typedef struct sio_client sio_client;

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
    uint8_t mw_pending;       /* a middleware answered SIO_MW_PENDING: the app still
                                 holds the pointer, so it stays allocated until
                                 sio_middleware_done */
    uint8_t restoring;        /* restore_session has not answered yet: the adapter
                                 holds the pointer until its callback */
    uint8_t recovered;        /* connected with the session it left (sio_socket_recovered) */
    char pid[SIO_ID_LEN + 1]; /* private session id; "" when recovery is off */
    char **restore_rooms;     /* a recovered session's rooms, joined at connect */
    cJSON *json_data;         /* sio_socket_set_json_data: owned */
    sio_namespace *nsp;
    sio_client *client;
    sio_socket *next_in_client;
    void *data;
    sio_socket_slot slot;   /* the adapter's (rooms, their count, a mark) */
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
    size_t n_clients;
    uint64_t volatile_dropped; /* for /metrics */
    uint64_t recovered_total;  /* restores that gave the session back, ... */
    uint64_t fresh_total;      /* ... and those that gave a fresh one */
    int shutting_down;
    sio_adapter_factory adapters; /* sio_options.adapter, copied */
    void *adapter_state;          /* what its open made */
    int adapter_open;             /* open succeeded: close is due */
    char path[128];               /* the Engine.IO path, for handshake descriptions */
    /* Memory of the sockets and clients (util/slab.h): kept away from the
     * handshakes' short-lived allocations; released with the server, freed
     * with the last deferred free. */
    slab_pool *socket_pool, *client_pool;
    /* sio_server_observe: obs points at obs_copy, NULL when nobody observes
     * (the one branch each hook site pays). */
    const sio_observer *obs;
    sio_observer obs_copy;
    /* While an observed broadcast delivers: its event and arguments, for the
     * observer's event_sent per receiver (NULL otherwise). */
    const char *bc_event;
    const cJSON *bc_args;
    /* ... and the offset its packet carries as its last argument ("" when
     * none), what the reference's onAnyOutgoing sees at the end of the
     * packet's data: set when the broadcast starts or when its adapter
     * encodes it (sio_adapter_encode), copied because an adapter's string
     * (a log entry's) may go while the deliveries run. */
    char bc_offset[64];
};

/* Call the observer's hook when there is one: OBSERVE(srv, connected, s). */
#define OBSERVE(srv, hook, ...)                                                                    \
    do {                                                                                           \
        if (__builtin_expect((srv)->obs != NULL, 0) && (srv)->obs->hook)                           \
            (srv)->obs->hook(__VA_ARGS__, (srv)->obs->ud);                                         \
    } while (0)

/* Acknowledgements of one broadcast, gathered from every node. */
struct sio_ack_group {
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
     * (and taken) instead of gathered; fwd_release(fwd_ud) runs when the
     * group goes. */
    void (*forward)(sio_namespace *nsp, cJSON *arg, void *ud);
    void *fwd_ud;
    void (*fwd_release)(void *ud);
};
#endif
