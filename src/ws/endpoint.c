/* The plain WebSocket endpoint: libmicrohttpd answers the handshake, the
 * socket is detached into a ws_conn, and a per-peer timer drives ping/pong. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/server.h"
#include "sio/status.h"
#include "sio/websocket.h"
#include "util/buf.h"
#include "ws/conn.h"
#include "ws/frame.h"
#include "ws/handshake.h"

struct sio_ws_peer {
    sio_ws_server *srv;
    ws_conn *c;
    void *data;
    sio_ws_peer *prev, *next;
    uint8_t awaiting_pong;
};

struct sio_ws_server {
    sio_loop *loop;
    http_server *http;
    ws_ctx *ctx;
    sio_ws_options o;
    char *path;
    char **origins;
    sio_ws_callbacks cb;
    void *ud;
    sio_ws_peer *peers;
    size_t count;
    sbuf frame;
};

struct pending {
    sio_ws_server *srv;
    void *data;
};

void sio_ws_options_init(sio_ws_options *o) {
    memset(o, 0, sizeof *o);
    o->path = "/ws";
    o->ping_interval_ms = 25000;
    o->ping_timeout_ms = 20000;
    o->max_message = 1000000;
}

static void unlink_peer(sio_ws_peer *p) {
    sio_ws_server *s = p->srv;
    if (p->prev)
        p->prev->next = p->next;
    else
        s->peers = p->next;
    if (p->next) p->next->prev = p->prev;
    s->count--;
}

static void peer_gone(sio_ws_peer *p, int code) {
    sio_ws_server *s = p->srv;
    unlink_peer(p);
    if (s->cb.on_close) s->cb.on_close(p, code, s->ud);
    free(p);
}

static void tick(sio_loop *loop, sio_timer *t);

static void on_message(ws_conn *c, int binary, const uint8_t *d, size_t n) {
    sio_ws_peer *p = c->ud;
    if (p->srv->cb.on_message) p->srv->cb.on_message(p, d, n, binary, p->srv->ud);
}

static void on_closed(ws_conn *c, int code) {
    peer_gone(c->ud, code);
}

static void on_pong(ws_conn *c) {
    sio_ws_peer *p = c->ud;
    if (!p->awaiting_pong) return;
    p->awaiting_pong = 0;
    ws_conn_set_timeout(c, p->srv->o.ping_interval_ms, tick);
}

static const ws_handler handler = {on_message, on_closed, on_pong, NULL};

/* One timer per peer: the next ping, or the deadline for its pong. */
static void tick(sio_loop *loop, sio_timer *t) {
    ws_conn *c = (ws_conn *)((char *)t - offsetof(ws_conn, timer));
    sio_ws_peer *p = c->ud;
    sio_ws_server *s = p->srv;
    if (p->awaiting_pong) {
        ws_conn_close(c, 1001, "ping timeout");
        peer_gone(p, 1006);
        return;
    }
    p->awaiting_pong = 1;
    ws_conn_send(c, WS_OP_PING, NULL, 0);
    ws_conn_set_timeout(c, s->o.ping_timeout_ms, tick);
}

static void upgraded(int fd, const uint8_t *pre, size_t n, void *ud) {
    struct pending *pd = ud;
    sio_ws_server *s = pd->srv;
    void *data = pd->data;
    free(pd);
    sio_ws_peer *p = fd >= 0 ? calloc(1, sizeof *p) : NULL;
    if (p) {
        p->srv = s;
        p->data = data;
        p->c = ws_conn_new(s->ctx, fd, pre, n, (uint32_t)s->o.max_message, &handler, p);
        fd = -1;
    }
    if (!p || !p->c) {
        /* The connection never became a peer: hand the data back. */
        if (fd >= 0) close(fd);
        free(p);
        if (s->cb.on_close) {
            sio_ws_peer ghost = {s, NULL, data, NULL, NULL, 0};
            s->cb.on_close(&ghost, 1006, s->ud);
        }
        return;
    }
    p->next = s->peers;
    if (s->peers) s->peers->prev = p;
    s->peers = p;
    s->count++;
    ws_conn_set_timeout(p->c, s->o.ping_interval_ms, tick);
    if (s->cb.on_open) s->cb.on_open(p, s->ud);
}

static void on_request(http_req *r, void *ud) {
    sio_ws_server *s = ud;
    if (strcmp(http_req_path(r), s->path) != 0) {
        http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
        return;
    }
    char accept[29];
    if (!ws_handshake_check(r, accept)) {
        static const char *const h[] = {"Sec-WebSocket-Version", "13", NULL};
        http_respond(r, 400, "text/plain", "Bad Request", 11, h);
        return;
    }
    const char *origin = http_req_header(r, "Origin");
    if (s->origins && origin) {
        int ok = 0;
        for (char **o = s->origins; *o && !ok; o++)
            ok = strcmp(*o, "*") == 0 || strcmp(*o, origin) == 0;
        if (!ok) {
            http_respond(r, 403, "text/plain", "Forbidden", 9, NULL);
            return;
        }
    }
    void *data = NULL;
    if (s->cb.on_request && !s->cb.on_request(r, &data, s->ud)) {
        http_respond(r, 403, "text/plain", "Forbidden", 9, NULL);
        return;
    }
    struct pending *pd = malloc(sizeof *pd);
    if (!pd) {
        http_respond(r, 500, "text/plain", "", 0, NULL);
        return;
    }
    pd->srv = s;
    pd->data = data;
    http_upgrade(r, accept, NULL, upgraded, pd);
}

sio_ws_server *sio_ws_server_new(sio_loop *loop, sio_http *http, const sio_ws_options *o,
                                 const sio_ws_callbacks *cbs, void *ud, int *err) {
    *err = SIO_ENOMEM;
    sio_ws_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->loop = loop;
    s->http = http;
    s->o = *o;
    s->cb = *cbs;
    s->ud = ud;
    s->path = strdup(o->path ? o->path : "/ws");
    s->ctx = ws_ctx_new(loop);
    if (o->allowed_origins) {
        size_t n = 0;
        while (o->allowed_origins[n])
            n++;
        s->origins = calloc(n + 1, sizeof *s->origins);
        for (size_t i = 0; s->origins && i < n; i++)
            s->origins[i] = strdup(o->allowed_origins[i]);
    }
    if (!s->path || !s->ctx || (o->allowed_origins && !s->origins) ||
        (*err = http_server_route(http, s->path, on_request, s, 0))) {
        sio_ws_server_free(s);
        if (*err == SIO_OK) *err = SIO_ENOMEM;
        return NULL;
    }
    s->o.path = s->path;
    s->o.allowed_origins = NULL;
    return s;
}

void sio_ws_server_free(sio_ws_server *s) {
    if (!s) return;
    /* Handshakes in flight end now, while s can still hear of them. */
    if (s->http) http_server_unroute(s->http, s);
    while (s->peers) {
        sio_ws_peer *p = s->peers;
        ws_conn_close(p->c, 1001, "server shutting down");
        peer_gone(p, 1001);
    }
    ws_ctx_free(s->ctx);
    if (s->origins)
        for (char **o = s->origins; *o; o++)
            free(*o);
    free(s->origins);
    free(s->path);
    sbuf_free(&s->frame);
    free(s);
}

size_t sio_ws_server_count(const sio_ws_server *s) {
    return s->count;
}

int sio_ws_send(sio_ws_peer *p, const void *data, size_t len, int binary) {
    return ws_conn_send(p->c, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
}

int sio_ws_broadcast(sio_ws_server *s, const void *data, size_t len, int binary,
                     sio_ws_peer *except) {
    sbuf_clear(&s->frame);
    int r = ws_frame_append(&s->frame, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
    if (r) return r;
    /* Large frames are queued by reference: a slow peer then holds the
     * broadcast, not a copy of it. Small ones are cheaper copied. */
    sbuf_shared *sh =
        s->frame.len >= SEGQ_SHARE_MIN ? sbuf_shared_new(s->frame.data, s->frame.len) : NULL;
    for (sio_ws_peer *p = s->peers; p; p = p->next) {
        if (p == except) continue;
        if (sh)
            ws_conn_send_shared(p->c, sh);
        else
            ws_conn_send_raw(p->c, s->frame.data, s->frame.len);
    }
    sbuf_shared_unref(sh);
    return SIO_OK;
}

void sio_ws_close(sio_ws_peer *p, uint16_t code, const char *reason) {
    ws_conn_close(p->c, code, reason);
    peer_gone(p, code);
}

void *sio_ws_peer_data(const sio_ws_peer *p) {
    return p->data;
}
void sio_ws_peer_set_data(sio_ws_peer *p, void *data) {
    p->data = data;
}
