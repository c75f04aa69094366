/* What the two halves of the Redis Streams adapter share: redis_streams.c
 * (the cluster traffic: stream entries, pub/sub requests, the XREAD loop,
 * numbered broadcasts) and redis_streams_session.c (connection state
 * recovery: session records, restores, live records of connected sockets). */
#ifndef SIO_ADAPTER_REDIS_STREAMS_INTERNAL_H
#define SIO_ADAPTER_REDIS_STREAMS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "adapter/inner.h"
#include "adapter/redis_link.h"
#include "sio/adapter.h"
#include "util/buf.h"
#include "util/map.h"

/* socket.io-adapter's MessageType. */
enum {
    MSG_BROADCAST = 3,
    MSG_SOCKETS_JOIN = 4,
    MSG_SOCKETS_LEAVE = 5,
    MSG_DISCONNECT_SOCKETS = 6,
    MSG_FETCH_SOCKETS = 7,
    MSG_FETCH_SOCKETS_RESPONSE = 8,
    MSG_SERVER_SIDE_EMIT = 9,
    MSG_SERVER_SIDE_EMIT_RESPONSE = 10,
    MSG_BROADCAST_CLIENT_COUNT = 11,
    MSG_BROADCAST_ACK = 12,
};

#define UID_LEN      16 /* as socket.io-adapter's randomId(): 8 random bytes in hex */
#define ENTRY_ID_MAX 48

struct cluster_request;
struct restore;
struct pending;
typedef struct streams_adapter streams_adapter;

/* What a server's adapters share (the factory's state). */
struct sio_streams {
    sio_loop *loop;
    sio_server *srv;
    redis_link *pub; /* commands: XADD, PUBLISH, PUBSUB, SET, GET, XRANGE */
    redis_link *sub; /* SUBSCRIBE */
    redis_link *rd;  /* XREAD BLOCK: it holds its connection while it waits */
    char uid[UID_LEN + 1];
    char *stream;
    char *prefix;
    char *session_prefix;
    uint32_t stream_count;
    uint32_t max_len;
    uint32_t timeout_ms;
    uint32_t window_ms; /* sio_options.recovery_window_ms: 0, recovery off */
    int live_sessions;
    char **keys;                /* the stream names, stream_count of them */
    char (*last)[ENTRY_ID_MAX]; /* the last entry read of each, "$" at first */
    int reading;                /* an XREAD is out */
    sio_timer read_retry;
    streams_adapter *adapters; /* one per namespace */
    struct cluster_request *requests;
    sbuf scratch;
    /* Restores: at most RESTORES_AT_ONCE read Redis at a time, the others
     * wait in arrival order (a reconnect storm is bounded work). */
    struct restore *waiting, *waiting_tail;
    unsigned restoring;
    int starting;      /* restore_next is running */
    sio_timer refresh; /* live records' PEXPIRE, every window / 2 */
};

struct streams_adapter {
    inner_adapter in; /* first: the head and this node's rooms */
    struct sio_streams *st;
    streams_adapter *next;
    char *key;      /* its stream */
    char *pubchan;  /* <prefix>#<nsp># */
    char *privchan; /* <prefix>#<nsp>#<uid># */
    /* Broadcasts waiting for their XADD's entry id before local delivery,
     * in order (recovery on). */
    struct pending *pending, *pending_tail;
    int flushing; /* delivering from pending */
    /* Recovery: the restores under way, and the live records of connected
     * sockets by socket id (struct live_rec), written when dirty. */
    struct restore *restores;
    smap live;
    int live_dirty;
    sio_timer flush;
};

/* The reference's decoder of an entry's data: "{" starts JSON, anything
 * else is base64 MessagePack. NULL when malformed. */
cJSON *streams_entry_decode(const char *d, size_t n);
/* The value of an entry's field (kv: its [field, value, ...] reply), NULL
 * when absent. */
struct redisReply;
const struct redisReply *streams_entry_field(const struct redisReply *kv, const char *name);

/* redis_streams_session.c: the recovery ops, and the hooks the cluster half
 * calls. */
int streams_persist_session(sio_adapter *b, const sio_session *s);
int streams_restore_session(sio_adapter *b, const char *pid, const char *offset, sio_restore_cb cb,
                            void *ud);
void streams_connected(sio_adapter *b, sio_socket *s);
/* The socket's rooms changed (join, leave): rewrite its live record. */
void streams_live_touch(streams_adapter *a, const sio_socket *s);
/* The socket leaves the namespace: its live record goes, unless a
 * persist_session just took it over. */
void streams_live_leave(streams_adapter *a, const sio_socket *s);
/* Server start (the refresh timer) and the adapter's end (its restores are
 * answered with no session, its records forgotten). */
void streams_sessions_open(struct sio_streams *st);
void streams_sessions_close(struct sio_streams *st);
void streams_sessions_free(streams_adapter *a);

#endif
