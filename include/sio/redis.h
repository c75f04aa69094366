/* The Redis adapter: rooms and broadcasts shared by every node connected to
 * the same Redis, wire-compatible with Node's @socket.io/redis-adapter 8.x
 * (classic pub/sub) and @socket.io/redis-emitter 5.x, so sio-server nodes and
 * Node.js socket.io servers can serve one cluster together.
 *
 *   sio_redis_options ro = {"redis://127.0.0.1:6379", NULL};
 *   sio_adapter_factory redis;
 *   if (sio_redis_adapter(&redis, &ro) != SIO_OK) ...;   // a bad URL
 *   opts.adapter = &redis;
 *   sio_server *io = sio_server_new(loop, http, &eio, &opts, &err);
 *
 * The server keeps two links (publish, subscribe) that reconnect by
 * themselves; while Redis is away each node serves its own clients.
 * sio_options.requests_timeout_ms bounds the cluster requests. */
#ifndef SIO_REDIS_H
#define SIO_REDIS_H

#include "sio/adapter.h"
#include "sio/export.h"

SIO_BEGIN_DECLS

typedef struct sio_redis_options {
    const char *url; /* "redis://host:port[/db]" */
    const char *key; /* channel prefix, as the Node adapter's `key`; NULL or "": "socket.io" */
} sio_redis_options;

/* Fill *f with the Redis adapter's factory. SIO_EINVAL when the URL does not
 * parse. f->ud points at o: o and its strings must stay valid until
 * sio_server_new returns (the server copies them). */
int sio_redis_adapter(sio_adapter_factory *f, const sio_redis_options *o);

SIO_END_DECLS

#endif
