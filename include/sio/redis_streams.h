/* The Redis Streams adapter: rooms, broadcasts and connection state recovery
 * shared by every node connected to the same Redis, wire-compatible with
 * Node's @socket.io/redis-streams-adapter 0.3.x, so sio-server nodes and
 * Node.js socket.io servers can serve one cluster together and a client can
 * recover its session on any of them.
 *
 *   sio_redis_streams_options ro = {.url = "redis://127.0.0.1:6379"};
 *   sio_adapter_factory streams;
 *   if (sio_redis_streams_adapter(&streams, &ro) != SIO_OK) ...;   // a bad URL
 *   opts.adapter = &streams;
 *   sio_server *io = sio_server_new(loop, http, &eio, &opts, &err);
 *
 * Broadcasts, socketsJoin/Leave and disconnectSockets are stream entries
 * (XADD ... MAXLEN ~ max_len, fields uid, nsp, type, data); requests and
 * their answers (fetchSockets, serverSideEmit, broadcasts with acks) go over
 * pub/sub, as in 0.3. With sio_options' recovery on, the stream entry id is
 * the packet's offset and sessions are kept under <session_prefix><pid>.
 * The server keeps three links (commands, subscriptions, the blocking XREAD)
 * that reconnect by themselves; while Redis is away each node serves its own
 * clients. sio_options.requests_timeout_ms bounds the cluster requests. */
#ifndef SIO_REDIS_STREAMS_H
#define SIO_REDIS_STREAMS_H

#include <stdint.h>

#include "sio/adapter.h"
#include "sio/export.h"

SIO_BEGIN_DECLS

typedef struct sio_redis_streams_options {
    const char *url;            /* "redis://host:port[/db]" */
    const char *stream_name;    /* NULL or "": "socket.io" (Node's streamName) */
    uint32_t stream_count;      /* 0: 1; namespaces spread over <name>-0..N-1 (streamCount) */
    uint32_t max_len;           /* 0: 10000; approximate stream length (maxLen) */
    const char *channel_prefix; /* NULL or "": "socket.io" (channelPrefix) */
    const char *session_prefix; /* NULL or "": "sio:session:" (sessionKeyPrefix) */
    /* With recovery on: keep each connected socket's session record in Redis
     * (written at connect and on room changes, refreshed before it expires),
     * so a client whose node died is recovered by another. 0: only at
     * disconnect, as Node's adapter. */
    int live_sessions;
} sio_redis_streams_options;

/* Fill *f with the adapter's factory. SIO_EINVAL when the URL does not
 * parse. f->ud points at o: o and its strings must stay valid until
 * sio_server_new returns (the server copies them). */
int sio_redis_streams_adapter(sio_adapter_factory *f, const sio_redis_streams_options *o);

SIO_END_DECLS

#endif
