/* One Redis connection driven by the project's event loop (hiredis 0.14's
 * async API with our own ev hooks: Debian's hiredis has no epoll adapter).
 * It reconnects by itself with capped exponential backoff and re-issues its
 * subscriptions, so the adapter above only sees "up", "down" and messages. */
#ifndef SIO_ADAPTER_REDIS_LINK_H
#define SIO_ADAPTER_REDIS_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "sio/loop.h"

typedef struct redis_link redis_link;

typedef struct redis_link_cbs {
    /* Connected (and subscriptions re-issued). */
    void (*on_up)(redis_link *l, void *ud);
    /* The connection was lost or could not be made; a retry is scheduled. */
    void (*on_down)(redis_link *l, const char *why, void *ud);
    /* A published message on a subscribed channel or pattern (pattern NULL
     * for plain subscriptions). */
    void (*on_message)(redis_link *l, const char *pattern, const char *channel, size_t chlen,
                       const uint8_t *data, size_t len, void *ud);
} redis_link_cbs;

/* Where to connect: "redis://host:port[/db]"; SIO_EINVAL when malformed. */
typedef struct redis_url {
    char host[256];
    int port;
    int db;
} redis_url;
int redis_url_parse(const char *url, redis_url *out);

/* Start connecting (in the background); NULL when out of memory. */
redis_link *redis_link_new(sio_loop *loop, const redis_url *url, const char *name,
                           const redis_link_cbs *cbs, void *ud);
/* Close the connection and free the link; no callbacks afterwards. */
void redis_link_free(redis_link *l);
/* Whether the connection is up. */
int redis_link_is_up(const redis_link *l);
/* Its sio_redis_up{link="<name>"} gauge, for an adapter's /metrics. */
struct metrics_out;
void redis_link_metrics(struct metrics_out *o, const redis_link *l);
/* Subscribe to a pattern or a channel, now and after every reconnection. */
int redis_link_psubscribe(redis_link *l, const char *pattern);
int redis_link_subscribe(redis_link *l, const char *channel);
/* PUBLISH; SIO_ECLOSED while down (the message is dropped, not queued:
 * memory stays bounded while Redis is away). */
int redis_link_publish(redis_link *l, const char *channel, size_t chlen, const uint8_t *data,
                       size_t len);
/* A command whose integer or array reply is passed to cb (reply NULL when the
 * connection went away first). For PUBSUB NUMSUB and the like. */
typedef void (*redis_reply_cb)(redis_link *l, const void *reply, void *ud);
int redis_link_command(redis_link *l, redis_reply_cb cb, void *ud, int argc, const char **argv,
                       const size_t *argvlen);

#endif
