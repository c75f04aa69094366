/* The plain WebSocket endpoint: libmicrohttpd answers the handshake, the
 * socket is detached into a ws_conn, and a per-peer timer drives ping/pong.
 * Output to a peer is bounded by max_buffered, as for Engine.IO sessions. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"
#include "sio/status.h"
#include "sio/websocket.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "ws/conn.h"
#include "ws/deflate.h"
#include "ws/frame.h"
#include "ws/handshake.h"

/* The close code for a peer that fell more than max_buffered behind: 1013
 * "Try Again Later" (IANA WebSocket close code registry: "a temporary
 * condition, e.g. it is overloaded and is casting off some of its clients").
 * That is what happens: the server sheds a client it cannot hold the output
 * of, and the client may well do better on a new connection. 1008 (policy
 * violation) is RFC 6455's code for a message the peer *sent*, and reads as
 * "do not come back". npm `ws` has no output bound of its own (bufferedAmount
 * is left to the app); it accepts 1013 as a valid code since ws#711. */
#define CLOSE_BACKPRESSURE 1013

struct sio_ws_peer {
    sio_ws_server *srv;
    ws_conn *c;
    void *data;
    sio_ws_peer *prev, *next;
    sio_ws_peer *next_shed; /* on srv->shed: closed, on_close not run yet */
    uint8_t awaiting_pong;
    uint8_t shed;
    uint8_t want_drain; /* sio_ws_writable said no: on_drain is owed */
    char addr[48];      /* the client's address, as http_req_remote_addr */
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
    sbuf framez;                       /* the broadcast frame compressed, for deflate peers */
    sio_ws_peer *shed;                 /* peers closed for backpressure, to report */
    uint64_t backpressure_disconnects; /* this server's part of /metrics */
    sio_timer report;                  /* runs their on_close outside the sender's call */
};

struct pending {
    sio_ws_server *srv;
    void *data;
    char addr[48];
    int deflate;
};

void sio_ws_options_init(sio_ws_options *o) {
    memset(o, 0, sizeof *o);
    o->path = "/ws";
    o->ping_interval_ms = 25000;
    o->ping_timeout_ms = 20000;
    o->max_message = 1000000;
    o->max_buffered = 1 << 20;
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
    if (p->shed) {
        /* Closed by the app (sio_ws_close) before its report ran. */
        sio_ws_peer **q = &s->shed;
        while (*q != p)
            q = &(*q)->next_shed;
        *q = p->next_shed;
    }
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

static void on_drained(ws_conn *c) {
    sio_ws_peer *p = c->ud;
    if (!p->want_drain) return; /* the queue emptied, but nobody waits */
    p->want_drain = 0;
    if (p->srv->cb.on_drain) p->srv->cb.on_drain(p, p->srv->ud);
}

static const ws_handler handler = {on_message, on_closed, on_pong, on_drained};

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
    sio_ws_peer *p = fd >= 0 ? calloc(1, sizeof *p) : NULL;
    if (p) {
        p->srv = s;
        p->data = data;
        memcpy(p->addr, pd->addr, sizeof p->addr);
        p->c = ws_conn_new(s->ctx, fd, pre, n, (uint32_t)s->o.max_message, &handler, p);
        if (p->c && pd->deflate) ws_conn_enable_deflate(p->c);
        fd = -1;
    }
    free(pd);
    if (!p || !p->c) {
        /* The connection never became a peer: hand the data back. */
        if (fd >= 0) close(fd);
        free(p);
        if (s->cb.on_close) {
            sio_ws_peer ghost = {.srv = s, .data = data};
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
    snprintf(pd->addr, sizeof pd->addr, "%s", http_req_remote_addr(r));
    char ext[WS_DEFLATE_RESPONSE_MAX];
    pd->deflate = s->o.deflate && ws_handshake_deflate(r, ext);
    const char *const ext_headers[] = {"Sec-WebSocket-Extensions", ext, NULL};
    http_upgrade(r, accept, pd->deflate ? ext_headers : NULL, upgraded, pd);
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
    /* Peers shed for backpressure count with the Engine.IO clients'. */
    static const metrics_field fields[] = {
        {"sio_backpressure_disconnects_total",
         "Clients disconnected because their queue exceeded --max-buffered.", METRIC_COUNTER, NULL,
         METRIC_U64, offsetof(sio_ws_server, backpressure_disconnects)}};
    if (!s->path || !s->ctx || (o->allowed_origins && !s->origins) ||
        (*err = metrics_add(sio_loop_metrics(loop), s, fields, 1, NULL)) ||
        (*err = http_server_route(http, s->path, on_request, s, 0))) {
        sio_ws_server_free(s);
        if (*err == SIO_OK) *err = SIO_ENOMEM;
        return NULL;
    }
    s->o.path = s->path;
    s->o.allowed_origins = NULL;
    return s;
}

/* The peers shed since the last report hear of it now, from the loop: a
 * sender's sio_ws_send / sio_ws_broadcast never runs on_close under it. */
static void report_shed(sio_loop *loop, sio_timer *t) {
    sio_ws_server *s = (sio_ws_server *)((char *)t - offsetof(sio_ws_server, report));
    /* on_close may send (and shed more) or close other peers: take one at a
     * time from the head. */
    while (s->shed)
        peer_gone(s->shed, CLOSE_BACKPRESSURE);
}

void sio_ws_server_free(sio_ws_server *s) {
    if (!s) return;
    /* Handshakes in flight end now, while s can still hear of them. */
    if (s->http) http_server_unroute(s->http, s);
    sio_timer_stop(s->loop, &s->report);
    while (s->shed)
        peer_gone(s->shed, CLOSE_BACKPRESSURE);
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
    sbuf_free(&s->framez);
    metrics_remove(sio_loop_metrics(s->loop), s);
    free(s);
}

size_t sio_ws_server_count(const sio_ws_server *s) {
    return s->count;
}

/* Whether `more` bytes would take the peer's queue past max_buffered; if so
 * the peer is closed with 1013 (its backlog dropped, the socket closed by the
 * linger timer if it never reads: ws_conn_shed) and reported soon after. The
 * queue is what a peer that stopped reading would grow without bound. */
static int over_budget(sio_ws_peer *p, size_t more) {
    sio_ws_server *s = p->srv;
    size_t queued = ws_conn_buffered(p->c);
    if (!s->o.max_buffered || queued + more <= s->o.max_buffered) return 0;
    s->backpressure_disconnects++;
    if (log_enabled(LOG_INFO)) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char ip[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        if (getpeername(p->c->io.fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
                inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
                port = ntohs(a->sin_port);
            } else if (ss.ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
                inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
                port = ntohs(a->sin6_port);
            }
        }
        /* Behind a proxy the TCP peer is the proxy: name the client too. */
        int via = p->addr[0] && strcmp(p->addr, ip) != 0;
        log_info("ws: %s peer %s%s%s:%u has %zu bytes queued, %zu more would pass "
                 "max-buffered %zu: closing it with %d (backpressure)",
                 s->path, via ? p->addr : "", via ? " via " : "", ip, port, queued, more,
                 s->o.max_buffered, CLOSE_BACKPRESSURE);
    }
    ws_conn_shed(p->c, CLOSE_BACKPRESSURE, "backpressure");
    p->shed = 1;
    p->want_drain = 0;
    p->next_shed = s->shed;
    s->shed = p;
    sio_timer_start(s->loop, &s->report, 0, report_shed);
    return 1;
}

int sio_ws_send(sio_ws_peer *p, const void *data, size_t len, int binary) {
    if (!ws_conn_is_open(p->c)) return SIO_ECLOSED;
    /* Counted uncompressed: the bound holds whatever deflate makes of it. */
    if (over_budget(p, ws_frame_header_len(len) + len)) return SIO_ECLOSED;
    return ws_conn_send(p->c, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
}

size_t sio_ws_buffered(const sio_ws_peer *p) {
    return ws_conn_buffered(p->c);
}

int sio_ws_writable(sio_ws_peer *p) {
    if (!ws_conn_is_open(p->c)) return 0;
    size_t q = ws_conn_buffered(p->c), max = p->srv->o.max_buffered;
    if (!max || q == 0 || q < max / 2) return 1;
    /* The producer will wait: tell it when the queue is empty again. */
    p->want_drain = 1;
    ws_conn_want_drain(p->c);
    return 0;
}

int sio_ws_broadcast(sio_ws_server *s, const void *data, size_t len, int binary,
                     sio_ws_peer *except) {
    sbuf_clear(&s->frame);
    int r = ws_frame_append(&s->frame, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
    if (r) return r;
    /* Large frames are queued by reference: a slow peer then holds the
     * broadcast, not a copy of it; small ones are cheaper copied. Shedding
     * does not unlink a peer (its report comes later), so the walk is safe;
     * a shed peer's ws_conn is no longer open and is skipped. */
    sbuf_shared *sh =
        s->frame.len >= SEGQ_SHARE_MIN ? sbuf_shared_new(s->frame.data, s->frame.len) : NULL;
    /* Peers with permessage-deflate share one compressed copy, made at the
     * first of them (0: not yet, 1: made, -1: the plain frame serves). */
    sbuf_shared *shz = NULL;
    int z = len >= WS_DEFLATE_THRESHOLD ? 0 : -1;
    for (sio_ws_peer *p = s->peers; p; p = p->next) {
        if (p == except || !ws_conn_is_open(p->c)) continue;
        const sbuf *f = &s->frame;
        sbuf_shared *fsh = sh;
        if (ws_conn_deflates(p->c) && z >= 0) {
            if (!z) {
                sbuf_clear(&s->framez);
                z = ws_ctx_deflate_frames(s->ctx, s->frame.data, s->frame.len, &s->framez) > 0 ? 1
                                                                                               : -1;
                if (z > 0 && s->framez.len >= SEGQ_SHARE_MIN)
                    shz = sbuf_shared_new(s->framez.data, s->framez.len);
            }
            if (z > 0) {
                f = &s->framez;
                fsh = shz;
            }
        }
        if (over_budget(p, f->len)) continue;
        if (fsh)
            ws_conn_send_shared(p->c, fsh);
        else
            ws_conn_send_raw(p->c, f->data, f->len);
    }
    sbuf_shared_unref(sh);
    sbuf_shared_unref(shz);
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
