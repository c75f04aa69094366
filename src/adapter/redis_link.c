#include "adapter/redis_link.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sio/status.h"
#include "util/log.h"
#include "util/metrics.h"

#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  2000
#define CONNECT_TIMEOUT 3000
#define MAX_UNSENT      (8u << 20)

struct sub {
    char *name;
    int pattern;
};

struct redis_link {
    sio_loop *loop;
    redis_url url;
    char name[32];
    char label[48]; /* link="<name>": /metrics keeps the pointer while it renders */
    redis_link_cbs cbs;
    void *ud;
    redisAsyncContext *ac;
    sio_io io;
    int registered;
    int up;
    int logged_down; /* log the outage once, not every retry */
    int logged_stall;
    uint32_t backoff_ms;
    sio_timer timer;
    struct sub *subs;
    size_t n_subs;
    int freeing;
};

int redis_url_parse(const char *url, redis_url *out) {
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *p = url;
    if (strncmp(p, "redis://", 8) == 0) p += 8;
    const char *at = strchr(p, '@');
    if (at) p = at + 1; /* credentials are not supported; ignore them */
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof out->host) return SIO_EINVAL;
    memcpy(out->host, p, hl);
    p += hl;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535) return SIO_EINVAL;
        out->port = (int)port;
        p = end;
    }
    if (*p == '/') {
        if (p[1]) {
            char *end;
            long db = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end || db < 0 || db > 1000000) return SIO_EINVAL;
            out->db = (int)db;
        }
    } else if (*p) {
        return SIO_EINVAL;
    }
    return SIO_OK;
}

/* ---------- hiredis ev hooks ---------- */

static void on_io(sio_loop *loop, sio_io *io, uint32_t ev) {
    redis_link *l = (redis_link *)((char *)io - offsetof(redis_link, io));
    redisAsyncContext *ac = l->ac;
    if (!ac) return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) redisAsyncHandleRead(ac);
    /* The read may have freed the context (disconnect). */
    if (l->ac == ac && (ev & EPOLLOUT)) redisAsyncHandleWrite(ac);
}

static void set_events(redis_link *l, uint32_t events) {
    if (!l->registered) {
        if (!events) return;
        if (sio_loop_add(l->loop, &l->io, events) == SIO_OK) l->registered = 1;
        return;
    }
    if (events)
        sio_loop_mod(l->loop, &l->io, events);
    else {
        sio_loop_del(l->loop, &l->io);
        l->registered = 0;
    }
}

static void ev_add_read(void *p) {
    redis_link *l = p;
    set_events(l, l->io.events | EPOLLIN);
}
static void ev_del_read(void *p) {
    redis_link *l = p;
    set_events(l, l->io.events & ~(uint32_t)EPOLLIN);
}
static void ev_add_write(void *p) {
    redis_link *l = p;
    set_events(l, l->io.events | EPOLLOUT);
}
static void ev_del_write(void *p) {
    redis_link *l = p;
    set_events(l, l->io.events & ~(uint32_t)EPOLLOUT);
}
static void ev_cleanup(void *p) {
    redis_link *l = p;
    if (l->registered) sio_loop_del(l->loop, &l->io);
    l->registered = 0;
    l->io.events = 0;
}

/* ---------- connection life ---------- */

static void start_connect(redis_link *l);

static void retry_timer(sio_loop *loop, sio_timer *t) {
    redis_link *l = (redis_link *)((char *)t - offsetof(redis_link, timer));
    if (l->ac && !l->up) {
        /* The connect hung past its deadline: drop it and try again. */
        redisAsyncContext *ac = l->ac;
        l->ac = NULL;
        ac->onDisconnect = NULL;
        ac->onConnect = NULL;
        redisAsyncFree(ac);
    }
    if (!l->ac) start_connect(l);
}

static void went_down(redis_link *l, const char *why) {
    int was_up = l->up;
    l->up = 0;
    l->ac = NULL;
    if (l->freeing) return;
    if (!l->logged_down) {
        log_warn("redis %s: %s:%d unreachable (%s); retrying with backoff", l->name, l->url.host,
                 l->url.port, why);
        l->logged_down = 1;
    }
    if (was_up || l->backoff_ms == BACKOFF_MIN_MS)
        if (l->cbs.on_down) l->cbs.on_down(l, why, l->ud);
    sio_timer_start(l->loop, &l->timer, l->backoff_ms, retry_timer);
    l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
}

static void on_sub_reply(redisAsyncContext *ac, void *r, void *priv);

static void resubscribe(redis_link *l) {
    for (size_t i = 0; i < l->n_subs; i++) {
        const char *argv[2] = {l->subs[i].pattern ? "PSUBSCRIBE" : "SUBSCRIBE", l->subs[i].name};
        redisAsyncCommandArgv(l->ac, on_sub_reply, l, 2, argv, NULL);
    }
}

static void on_connect(const redisAsyncContext *ac, int status) {
    redis_link *l = ac->data;
    if (status != REDIS_OK) {
        went_down(l, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    sio_timer_stop(l->loop, &l->timer);
    l->up = 1;
    l->backoff_ms = BACKOFF_MIN_MS;
    if (l->logged_down) log_info("redis %s: connected to %s:%d", l->name, l->url.host, l->url.port);
    l->logged_down = 0;
    if (l->url.db) {
        char db[16];
        snprintf(db, sizeof db, "%d", l->url.db);
        const char *argv[2] = {"SELECT", db};
        redisAsyncCommandArgv(l->ac, NULL, NULL, 2, argv, NULL);
    }
    resubscribe(l);
    if (l->cbs.on_up) l->cbs.on_up(l, l->ud);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    redis_link *l = ac->data;
    went_down(l, status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "error"));
}

static void start_connect(redis_link *l) {
    redisAsyncContext *ac = redisAsyncConnect(l->url.host, l->url.port);
    if (!ac) {
        went_down(l, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof why, "%s", ac->errstr);
        redisAsyncFree(ac);
        went_down(l, why);
        return;
    }
    l->ac = ac;
    ac->data = l;
    l->io.fd = ac->c.fd;
    l->io.cb = on_io;
    l->io.events = 0;
    l->registered = 0;
    ac->ev.data = l;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* hiredis 0.14 has no async connect timeout: bound it ourselves. */
    sio_timer_start(l->loop, &l->timer, CONNECT_TIMEOUT, retry_timer);
}

redis_link *redis_link_new(sio_loop *loop, const redis_url *url, const char *name,
                           const redis_link_cbs *cbs, void *ud) {
    redis_link *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->loop = loop;
    l->url = *url;
    snprintf(l->name, sizeof l->name, "%s", name ? name : "link");
    snprintf(l->label, sizeof l->label, "link=\"%s\"", l->name);
    l->cbs = *cbs;
    l->ud = ud;
    l->backoff_ms = BACKOFF_MIN_MS;
    l->io.fd = -1;
    start_connect(l);
    return l;
}

void redis_link_free(redis_link *l) {
    if (!l) return;
    l->freeing = 1;
    sio_timer_stop(l->loop, &l->timer);
    if (l->ac) {
        redisAsyncContext *ac = l->ac;
        l->ac = NULL;
        ac->onDisconnect = NULL;
        redisAsyncFree(ac);
    }
    for (size_t i = 0; i < l->n_subs; i++)
        free(l->subs[i].name);
    free(l->subs);
    free(l);
}

int redis_link_is_up(const redis_link *l) {
    return l->up;
}

/* ---------- commands ---------- */

static void on_sub_reply(redisAsyncContext *ac, void *r, void *priv) {
    redis_link *l = priv;
    redisReply *reply = r;
    if (!reply || l->freeing || reply->type != REDIS_REPLY_ARRAY) return;
    if (reply->elements == 4 && strcmp(reply->element[0]->str, "pmessage") == 0) {
        redisReply *pat = reply->element[1], *ch = reply->element[2], *msg = reply->element[3];
        if (l->cbs.on_message)
            l->cbs.on_message(l, pat->str, ch->str, ch->len, (const uint8_t *)msg->str, msg->len,
                              l->ud);
    } else if (reply->elements == 3 && strcmp(reply->element[0]->str, "message") == 0) {
        redisReply *ch = reply->element[1], *msg = reply->element[2];
        if (l->cbs.on_message)
            l->cbs.on_message(l, NULL, ch->str, ch->len, (const uint8_t *)msg->str, msg->len,
                              l->ud);
    }
}

static int add_sub(redis_link *l, const char *name, int pattern) {
    /* Once per name: a namespace removed when emptied and created again
     * subscribes again, and the list must not grow with every round. */
    for (size_t i = 0; i < l->n_subs; i++)
        if (l->subs[i].pattern == pattern && strcmp(l->subs[i].name, name) == 0) return SIO_OK;
    struct sub *v = realloc(l->subs, (l->n_subs + 1) * sizeof *v);
    if (!v) return SIO_ENOMEM;
    l->subs = v;
    char *n = strdup(name);
    if (!n) return SIO_ENOMEM;
    l->subs[l->n_subs++] = (struct sub){n, pattern};
    if (l->up) {
        const char *argv[2] = {pattern ? "PSUBSCRIBE" : "SUBSCRIBE", name};
        redisAsyncCommandArgv(l->ac, on_sub_reply, l, 2, argv, NULL);
    }
    return SIO_OK;
}

int redis_link_psubscribe(redis_link *l, const char *p) {
    return add_sub(l, p, 1);
}
int redis_link_subscribe(redis_link *l, const char *c) {
    return add_sub(l, c, 0);
}

int redis_link_publish(redis_link *l, const char *channel, size_t chlen, const uint8_t *data,
                       size_t len) {
    if (!l->up || !l->ac) return SIO_ECLOSED;
    /* A stalled Redis (connected, not reading) must not grow our memory:
     * past this much unsent output, publishes are dropped like while down. */
    if (sdslen(l->ac->c.obuf) > MAX_UNSENT) {
        if (!l->logged_stall) log_warn("redis %s: not keeping up; dropping publishes", l->name);
        l->logged_stall = 1;
        return SIO_ETOOBIG;
    }
    l->logged_stall = 0;
    const char *argv[3] = {"PUBLISH", channel, (const char *)data};
    size_t lens[3] = {7, chlen, len};
    return redisAsyncCommandArgv(l->ac, NULL, NULL, 3, argv, lens) == REDIS_OK ? SIO_OK : SIO_EIO;
}

struct cmd {
    redis_link *l;
    redis_reply_cb cb;
    void *ud;
};

static void on_cmd_reply(redisAsyncContext *ac, void *r, void *priv) {
    struct cmd *c = priv;
    /* Called with no reply when the link goes away, so owners can release
     * what they handed us. */
    c->cb(c->l, c->l->freeing ? NULL : r, c->ud);
    free(c);
}

int redis_link_command(redis_link *l, redis_reply_cb cb, void *ud, int argc, const char **argv,
                       const size_t *argvlen) {
    if (!l->up || !l->ac) return SIO_ECLOSED;
    struct cmd *c = malloc(sizeof *c);
    if (!c) return SIO_ENOMEM;
    *c = (struct cmd){l, cb, ud};
    if (redisAsyncCommandArgv(l->ac, on_cmd_reply, c, argc, argv, argvlen) != REDIS_OK) {
        free(c);
        return SIO_EIO;
    }
    return SIO_OK;
}

void redis_link_metrics(struct metrics_out *o, const redis_link *l) {
    metrics_put(o, "sio_redis_up", "Whether the Redis link is connected.", METRIC_GAUGE, l->label,
                METRIC_I64, redis_link_is_up(l));
}
