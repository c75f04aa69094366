/* Socket.IO server internals shared by the protocol code (sio/) and the
 * adapters (adapter/). Not part of the public API. */
#ifndef SIO_SIO_INTERNAL_H
#define SIO_SIO_INTERNAL_H

#include "eio/batch.h"
#include "sio/packet.h"
#include "sio/sio.h"
#include "util/buf.h"
#include "util/map.h"

#define SIO_ID_LEN 20

typedef struct sio_adapter sio_adapter;
typedef struct sio_client sio_client;

/* A packet on its way out: the encoded bytes for local receivers and the
 * logical packet for adapters that forward it to other nodes. */
typedef struct sio_out {
    const eio_batch *batch;
    sio_pkt_type type;
    const char *nsp;
    const cJSON *data;
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
    uint32_t mark; /* broadcast de-duplication epoch */
    sio_namespace *nsp;
    sio_client *client;
    sio_socket *next_in_client;
    void *data;
    void *rooms; /* the adapter's membership list */
    struct pending_ack *acks;
    int64_t next_ack;
    cJSON *auth;
    cJSON *refuse_data;
    char *refuse_msg;
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
    sio_decoder dec;          /* shared: text packets decode in one call */
    sbuf enc;                 /* the last encoded packet's text */
    sio_attachment_list bins; /* ... and its attachments */
    eio_batch batch;
    uint32_t epoch;
    size_t n_clients;
    int shutting_down;
};

/* Queue an encoded packet on the socket's connection (the adapters' way
 * out); volatile packets are dropped when the transport is not ready. */
int sio_socket_deliver(sio_socket *s, const eio_batch *b, int is_volatile);
/* The memory adapter (single node). */
sio_adapter *sio_memory_adapter_new(sio_namespace *nsp);
/* A fresh broadcast epoch for de-duplication marks. */
uint32_t sio_next_epoch(sio_server *srv);

#endif
