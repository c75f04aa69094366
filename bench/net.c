/* sio-bench network engine: one epoll loop per worker, non-blocking sockets,
 * WebSocket (RFC 6455, masked client frames) and HTTP/1.1 keep-alive
 * long-polling clients of Engine.IO v4, and the Socket.IO v5 packets the
 * scenarios use. */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_FRAME       (64u << 20) /* refuse larger server frames */
#define MAX_HEADER      (64u << 10) /* refuse larger HTTP response headers */
#define SENDER_CHUNK    (64u << 10) /* fanout sender: generate this much at a time */
#define CLOSE_WAIT_NS   1000000000ull
#define SWEEP_PERIOD_NS 10000000ull

static const char ECHO_FILL[] = "abcdefghij";

/* ---- errors ------------------------------------------------------------------ */

void worker_error(worker *w, const char *fmt, ...) {
    CNT_ADD(w->k.errors, 1);
    if (w->last_error[0]) return; /* keep the first one */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->last_error, sizeof w->last_error, fmt, ap);
    va_end(ap);
}

/* ---- sockets ----------------------------------------------------------------- */

static void conn_arm(worker *w, conn *c, bool out) {
    if (c->fd < 0 || c->epout == out) return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->epout = out;
}

static void conn_close(worker *w, conn *c, bool rst) {
    (void)w;
    if (c->fd >= 0) {
        if (rst) {
            struct linger lg = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
    }
    c->state = CS_IDLE;
    c->epout = 0;
    c->busy = 0;
    c->got_resp = 0;
    c->close_after = 0;
    c->served = 0;
    bb_free(&c->in);
    bb_free(&c->out);
    if (c->inf) {
        inflateEnd(c->inf);
        free(c->inf);
        c->inf = NULL;
    }
    c->z_keep = 0;
}

/* Inflate one permessage-deflate message into w->zout (RFC 7692 7.2.2: the
 * 00 00 ff ff tail its sender cut goes back first). With context takeover the
 * connection keeps its own stream (messages refer back to earlier ones), else
 * the worker's is reset after each. Returns 0 or -1. */
static int inflate_msg(worker *w, conn *c, const void *p, size_t n) {
    void **slot = c->z_keep ? &c->inf : &w->inf;
    if (!*slot) {
        z_stream *z = calloc(1, sizeof *z);
        if (!z || inflateInit2(z, -15) != Z_OK) {
            free(z);
            return -1;
        }
        *slot = z;
    }
    z_stream *z = *slot;
    static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
    w->zout.len = 0;
    int rc = Z_OK;
    for (int part = 0; part < 2 && rc == Z_OK; part++) {
        z->next_in = (Bytef *)(part ? tail : p);
        z->avail_in = (uInt)(part ? 4 : n);
        do {
            bb_reserve(&w->zout, 65536);
            z->next_out = w->zout.p + w->zout.len;
            z->avail_out = (uInt)(w->zout.cap - w->zout.len);
            uInt before = z->avail_out;
            rc = inflate(z, Z_SYNC_FLUSH);
            w->zout.len += before - z->avail_out;
            if (rc == Z_BUF_ERROR) rc = Z_OK; /* no progress possible: all consumed */
        } while ((z->avail_in || z->avail_out == 0) && rc == Z_OK);
    }
    if (!c->z_keep) inflateReset(z);
    return rc == Z_OK || rc == Z_STREAM_END ? 0 : -1;
}

/* Opens a non-blocking TCP connection to the server; the first bytes to send
 * (if any) wait in c->out. Returns 0 or -1 (errno set). */
static int conn_connect(worker *w, conn *c) {
    const config *cfg = &w->b->cfg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg->sources > 1) {
        /* Spread the sessions over source addresses 127.0.0.1..K: Linux hands
         * connect() the even ephemeral ports first and scans the whole range
         * for each connect once they run out (~14k per source address). */
        uint32_t k = c->s ? c->s->idx % cfg->sources : 0;
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + k);
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
    sa.sin_addr.s_addr = cfg->addr;
    int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (r < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    c->fd = fd;
    c->state = CS_CONNECTING;
    c->epout = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        close(fd);
        c->fd = -1;
        c->state = CS_IDLE;
        errno = e;
        return -1;
    }
    return 0;
}

static void session_fail(worker *w, session *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes what c->out holds; returns -1 when the connection failed (and the
 * session was closed). */
static int conn_flush(worker *w, conn *c) {
    while (c->out.len) {
        ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            session_fail(w, c->s, "send: %s", strerror(errno));
            return -1;
        }
        bb_consume(&c->out, (size_t)n);
    }
    conn_arm(w, c, c->out.len > 0);
    return 0;
}

/* Sends now what the socket takes; queues the rest. */
static int conn_send(worker *w, conn *c, const void *p, size_t n) {
    if (c->fd < 0) return -1;
    if (c->state == CS_CONNECTING || c->out.len) {
        bb_append(&c->out, p, n);
        return 0;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t r = send(c->fd, (const uint8_t *)p + off, n - off, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            session_fail(w, c->s, "send: %s", strerror(errno));
            return -1;
        }
        off += (size_t)r;
    }
    if (off < n) {
        bb_append(&c->out, (const uint8_t *)p + off, n - off);
        conn_arm(w, c, true);
    }
    return 0;
}

/* ---- WebSocket frames ----------------------------------------------------------- */

/* Appends one masked client frame to b. */
static void ws_frame(worker *w, bbuf *b, int opcode, const void *payload, size_t n) {
    bb_reserve(b, n + 14);
    uint8_t *h = b->p + b->len;
    size_t hl = 2;
    h[0] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        h[1] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    uint32_t key = (uint32_t)xrand(&w->rng);
    uint8_t mk[4];
    memcpy(mk, &key, 4);
    memcpy(h + hl, mk, 4);
    hl += 4;
    uint8_t *dst = h + hl;
    const uint8_t *src = payload;
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] ^ mk[i & 3];
    b->len += hl + n;
}

static int ws_send(worker *w, conn *c, int opcode, const void *p, size_t n) {
    w->wtmp.len = 0;
    ws_frame(w, &w->wtmp, opcode, p, n);
    return conn_send(w, c, w->wtmp.p, w->wtmp.len);
}

/* ---- HTTP requests ---------------------------------------------------------------- */

static const char *cookie_header(const config *cfg) {
    return cfg->cookie_hdr;
}

/* sid: upgrade an existing long-polling session (NULL: a new session);
 * offer: ask for permessage-deflate (with --deflate). */
static void ws_upgrade_request(worker *w, bbuf *out, const char *sid, bool offer) {
    const config *cfg = &w->b->cfg;
    uint8_t raw[16];
    uint64_t a = xrand(&w->rng), b2 = xrand(&w->rng);
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b2, 8);
    char key[32];
    b64_encode(raw, 16, key);
    bb_printf(out,
              "GET %s?EIO=4&transport=websocket%s%s HTTP/1.1\r\nHost: %s\r\n"
              "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
              "Sec-WebSocket-Version: 13\r\n%s%s\r\n",
              cfg->path, sid ? "&sid=" : "", sid ? sid : "", cfg->host, key, cookie_header(cfg),
              offer ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                    : "");
}

static size_t count_sub(const bbuf *b, const char *s) {
    size_t n = 0, sl = strlen(s);
    const uint8_t *p = b->p, *end = b->p + b->len;
    while (p < end) {
        const uint8_t *q = memmem(p, (size_t)(end - p), s, sl);
        if (!q) break;
        n++;
        p = q + sl;
    }
    return n;
}

/* Blocking: opens one WebSocket session (and its Socket.IO CONNECT with
 * cfg->sio) and closes it. Used before the baseline RSS is read, so that code
 * and tables a server touches only on its first sessions (e.g. OpenSSL's) do
 * not count as per-session memory. Returns 0 or -1. */
int prewarm_session(worker *w) {
    const config *cfg = &w->b->cfg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
    sa.sin_addr.s_addr = cfg->addr;
    bbuf out = {0}, in = {0};
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) goto done;
    ws_upgrade_request(w, &out, NULL, false); /* its reader does not inflate */
    size_t want = 1; /* "sid" occurrences: the open packet, then the CONNECT ack */
    bool sent_connect = false;
    for (;;) {
        if (out.len) {
            ssize_t s = send(fd, out.p, out.len, MSG_NOSIGNAL);
            if (s <= 0) goto done;
            bb_consume(&out, (size_t)s);
            continue;
        }
        if (count_sub(&in, "\"sid\"") >= want) {
            if (!cfg->sio || sent_connect) break;
            ws_frame(w, &out, 1, "40", 2);
            sent_connect = true;
            want = 2;
            continue;
        }
        bb_reserve(&in, 4096);
        ssize_t r = recv(fd, in.p + in.len, in.cap - in.len, 0);
        if (r <= 0) goto done;
        in.len += (size_t)r;
        if (in.len > (1u << 20)) goto done;
    }
    rc = 0;
done:
    close(fd);
    bb_free(&out);
    bb_free(&in);
    return rc;
}

/* Starts an HTTP request on c (connecting first when it has no socket). */
static int http_request(worker *w, conn *c, const void *req, size_t n) {
    c->busy = 1;
    c->got_resp = 0;
    if (c->req.p != req) {
        c->req.len = 0;
        bb_append(&c->req, req, n);
    }
    if (c->fd < 0) {
        bb_append(&c->out, req, n);
        if (conn_connect(w, c) < 0) {
            session_fail(w, c->s, "connect: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    return conn_send(w, c, req, n);
}

static void poll_get(worker *w, session *s) {
    conn *c = &s->c;
    if (c->busy || s->state == SS_DEAD || s->state == SS_FREE) return;
    const config *cfg = &w->b->cfg;
    bbuf *b = &w->wtmp;
    b->len = 0;
    if (s->sid[0])
        bb_printf(b, "GET %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s\r\n", cfg->path,
                  s->sid, cfg->host);
    else
        bb_printf(b, "GET %s?EIO=4&transport=polling HTTP/1.1\r\nHost: %s\r\n", cfg->path,
                  cfg->host);
    if (cfg->accept_encoding) bb_printf(b, "Accept-Encoding: %s\r\n", cfg->accept_encoding);
    bb_printf(b, "%s\r\n", cookie_header(cfg));
    http_request(w, c, b->p, b->len);
}

static void poll_post(worker *w, session *s) {
    conn *c = s->post;
    if (!c || c->busy || !s->pq.len || !s->sid[0]) return;
    if (s->state == SS_DEAD || s->state == SS_FREE) return;
    const config *cfg = &w->b->cfg;
    bbuf *b = &w->wtmp;
    b->len = 0;
    bb_printf(b,
              "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s\r\n"
              "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n%s\r\n",
              cfg->path, s->sid, cfg->host, s->pq.len, cookie_header(cfg));
    bb_append(b, s->pq.p, s->pq.len);
    s->pq.len = 0;
    http_request(w, c, b->p, b->len);
}

/* ---- Engine.IO / Socket.IO sending ---------------------------------------------------- */

/* The session's WebSocket: its own, or the one it upgraded to. */
static conn *session_ws(session *s) {
    return s->upgraded && s->up ? s->up : &s->c;
}

/* Sends one Engine.IO text packet on the session's transport. */
static void eio_send(worker *w, session *s, const char *p, size_t n) {
    if (s->polling && !s->upgraded) {
        if (s->pq.len) bb_append(&s->pq, "\x1e", 1);
        bb_append(&s->pq, p, n);
        poll_post(w, s);
    } else {
        ws_send(w, session_ws(s), 1, p, n);
    }
}

/* What follows the echo's "<idx>-<seq>-": "abcdefghij" (the whole fill at
 * the default 32 bytes), then text-like words, so that a big echo compresses
 * about as a chat message or JSON does (to ~30 % with gzip), not as a run of
 * one pattern would (to 3 %, and cheaply). */
static char echo_fill[65536];
static pthread_once_t echo_fill_once = PTHREAD_ONCE_INIT;

static void echo_fill_init(void) {
    /* Nothing a JSON string would escape. */
    static const char *const words[] = {"socket", "io",   "event", "room", "ack", "message",
                                        " ",      ",",    "'",     ":",    "{",   "}",
                                        "42",     "user", "0",     "7"};
    memcpy(echo_fill, ECHO_FILL, 10);
    uint32_t x = 1;
    for (size_t i = 10; i < sizeof echo_fill;) {
        x = x * 1103515245u + 12345u;
        const char *wd = words[(x >> 16) % (sizeof words / sizeof *words)];
        for (size_t k = 0; wd[k] && i < sizeof echo_fill; k++)
            echo_fill[i++] = wd[k];
    }
}

/* The echoed string, cfg->echo_bytes characters. */
static void echo_string(const worker *w, const session *s, bbuf *out) {
    pthread_once(&echo_fill_once, echo_fill_init);
    size_t n = w->b->cfg.echo_bytes;
    bb_reserve(out, n + 1);
    int k = snprintf((char *)out->p + out->len, 23, "%010u-%010u-", s->idx, s->seq);
    memcpy(out->p + out->len + k, echo_fill, n - (size_t)k);
    out->len += n;
}

static void send_echo(worker *w, session *s) {
    bbuf *b = &w->etmp;
    b->len = 0;
    s->ack_id = s->next_id++;
    bb_printf(b, "42%u[\"echo\",\"", s->ack_id);
    echo_string(w, s, b);
    bb_append(b, "\"]", 2);
    s->waiting = 1;
    CNT_ADD(w->k.sent, 1);
    s->t_start = now_ns();
    eio_send(w, s, (const char *)b->p, b->len);
}

/* ---- session lifecycle -------------------------------------------------------------- */

static void session_reset(session *s) {
    s->state = SS_FREE;
    s->waiting = 0;
    s->counted = 0;
    s->sid[0] = 0;
    s->next_id = 0;
    s->seq = 0;
    s->pq.len = 0;
    s->upgrading = s->upgraded = s->want_upgrade = 0;
}

void session_close(session *s, bool drop_ok) {
    worker *w = s->w;
    if (s->state == SS_FREE || s->state == SS_DEAD) return;
    if (s->state == SS_READY) {
        CNT_ADD(w->k.live, (uint64_t)-1);
        if (!drop_ok) CNT_ADD(w->k.dropped, 1);
    } else if (s->state != SS_CLOSING) {
        w->opening--;
        if (!drop_ok) CNT_ADD(w->k.failed, 1);
    }
    conn_close(w, &s->c, false);
    if (s->post) {
        conn_close(w, s->post, false);
        bb_free(&s->post->req);
    }
    if (s->up) {
        conn_close(w, s->up, false);
        bb_free(&s->up->req);
    }
    bb_free(&s->c.req);
    bb_free(&s->pq);
    s->state = SS_DEAD;
    s->waiting = 0;
}

static void session_fail(worker *w, session *s, const char *fmt, ...) {
    if (s->state == SS_FREE || s->state == SS_DEAD) return;
    int ph = atomic_load(&w->b->phase);
    bool expected = ph >= PH_CLOSE;
    if (!expected) {
        char msg[128];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        const char *what = s->state == SS_READY ? "dropped" : "failed";
        if (!w->last_error[0])
            snprintf(w->last_error, sizeof w->last_error, "session %u %s: %s", s->idx, what, msg);
    }
    session_close(s, expected);
}

static void session_start(worker *w, session *s) {
    const config *cfg = &w->b->cfg;
    session_reset(s);
    s->w = w;
    s->c.s = s;
    s->c.fd = -1;
    s->state = SS_EIO_WAIT;
    s->t_start = now_ns();
    w->opening++;
    if (s->polling) {
        if (!s->post) {
            s->post = xcalloc(1, sizeof *s->post);
            s->post->fd = -1;
        }
        s->post->s = s;
        s->post->is_http = 1;
        s->post->is_post = 1;
        s->c.is_http = 1;
        poll_get(w, s);
        return;
    }
    (void)cfg;
    ws_upgrade_request(w, &s->c.out, NULL, cfg->deflate);
    if (conn_connect(w, &s->c) < 0) session_fail(w, s, "connect: %s", strerror(errno));
}

static void session_ready(worker *w, session *s) {
    const bench *b = w->b;
    s->state = SS_READY;
    w->opening--;
    CNT_ADD(w->k.established, 1);
    CNT_ADD(w->k.live, 1);
    switch (b->cfg.scenario) {
    case SC_ECHO:
    case SC_POLL_ECHO:
        if (atomic_load(&w->b->phase) == PH_RUN) send_echo(w, s);
        break;
    case SC_CONNECT_RATE: {
        uint64_t t = now_ns();
        CNT_ADD(w->k.completed, 1);
        if (atomic_load_explicit(&w->b->measuring, memory_order_relaxed))
            hist_add(&w->lat, t - s->t_start);
        /* Goodbye as socket.io-client says it: Socket.IO DISCONNECT, then a
         * WebSocket close; the server closes the TCP connection first. */
        conn *wc = session_ws(s);
        if (b->cfg.sio) ws_send(w, wc, 1, "41", 2);
        if (wc->fd >= 0) ws_send(w, wc, 8, "\x03\xe8", 2);
        if (s->state != SS_READY) break;
        CNT_ADD(w->k.live, (uint64_t)-1);
        s->state = SS_CLOSING;
        wc->state = CS_CLOSING;
        s->deadline = t + CLOSE_WAIT_NS;
        w->last_sweep = 0; /* start a new one at the end of this loop pass */
        break;
    }
    default:
        break;
    }
}

/* ---- upgrade (connect-rate --upgrade), as engine.io-client does it --------------------------- */

/* After the CONNECT ack on polling: open a WebSocket with the sid; "2probe"
 * goes once it is upgraded (ws_input). */
static void upgrade_start(worker *w, session *s) {
    if (!s->up) {
        s->up = xcalloc(1, sizeof *s->up);
        s->up->fd = -1;
    }
    s->up->s = s;
    s->up->is_http = 0;
    s->upgrading = 1;
    ws_upgrade_request(w, &s->up->out, s->sid, w->b->cfg.deflate);
    if (conn_connect(w, s->up) < 0) session_fail(w, s, "connect: %s", strerror(errno));
}

/* "5" on the WebSocket: the session is upgraded; the polling sockets go. */
static void upgrade_finish(worker *w, session *s) {
    s->upgrading = s->want_upgrade = 0;
    s->upgraded = 1;
    ws_send(w, s->up, 1, "5", 1);
    if (s->up->fd < 0) return;
    conn_close(w, &s->c, false);
    if (s->post) conn_close(w, s->post, false);
    session_ready(w, s);
}

/* "3probe": pause polling (wait for the held GET, which the server lets go
 * with a noop) and then send "5". */
static void upgrade_probed(worker *w, session *s) {
    if (s->c.busy)
        s->want_upgrade = 1;
    else
        upgrade_finish(w, s);
}

/* ---- receiving ---------------------------------------------------------------------- */

static bool parse_u64(const char *p, const char *end, uint64_t *v, const char **next) {
    if (p >= end || *p < '0' || *p > '9') return false;
    uint64_t x = 0;
    while (p < end && *p >= '0' && *p <= '9')
        x = x * 10 + (uint64_t)(*p++ - '0');
    *v = x;
    if (next) *next = p;
    return true;
}

/* The number after `"key":` in [p, end). */
static bool json_u64(const char *p, const char *end, const char *key, uint64_t *v) {
    size_t kl = strlen(key);
    const char *k = memmem(p, (size_t)(end - p), key, kl);
    if (!k) return false;
    return parse_u64(k + kl, end, v, NULL);
}

static void on_ack(worker *w, session *s, uint32_t id, const char *p, size_t n) {
    const config *cfg = &w->b->cfg;
    if (s->state == SS_JOIN_WAIT && id == s->ack_id) {
        if (n != 6 || memcmp(p, "[\"ok\"]", 6) != 0)
            worker_error(w, "join ack: unexpected %.*s", (int)(n > 60 ? 60 : n), p);
        session_ready(w, s);
        return;
    }
    if ((cfg->scenario == SC_ECHO || cfg->scenario == SC_POLL_ECHO) && s->waiting &&
        id == s->ack_id) {
        uint64_t t = now_ns();
        bbuf *str = &w->etmp;
        str->len = 0;
        echo_string(w, s, str);
        size_t eb = str->len;
        if (n != eb + 4 || p[0] != '[' || p[1] != '"' || memcmp(p + 2, str->p, eb) != 0 ||
            p[eb + 2] != '"' || p[eb + 3] != ']')
            worker_error(w, "echo ack %u: unexpected %.*s", id, (int)(n > 60 ? 60 : n), p);
        if (atomic_load_explicit(&w->b->measuring, memory_order_relaxed))
            hist_add(&w->lat, t - s->t_start);
        CNT_ADD(w->k.acks, 1);
        s->waiting = 0;
        s->seq++;
        if (atomic_load_explicit(&w->b->phase, memory_order_relaxed) == PH_RUN) send_echo(w, s);
        return;
    }
    worker_error(w, "unexpected ack %u in state %d", id, s->state);
}

static void on_event(worker *w, session *s, const char *p, size_t n) {
    const config *cfg = &w->b->cfg;
    const char *end = p + n;
    if (cfg->scenario != SC_FANOUT || n < 8 || memcmp(p, "[\"msg\",", 7) != 0) {
        worker_error(w, "unexpected event %.*s", (int)(n > 60 ? 60 : n), p);
        return;
    }
    uint64_t seq, t;
    if (!json_u64(p + 7, end, "\"s\":", &seq) || !json_u64(p + 7, end, "\"t\":", &t) ||
        seq >= cfg->messages) {
        worker_error(w, "bad msg payload %.*s", (int)(n > 80 ? 80 : n), p);
        return;
    }
    uint64_t now = now_ns();
    if (!s->seen) s->seen = xcalloc((cfg->messages + 7) / 8, 1);
    uint8_t bit = (uint8_t)(1u << (seq & 7));
    if (s->seen[seq >> 3] & bit) {
        CNT_ADD(w->k.dups, 1);
        return;
    }
    s->seen[seq >> 3] |= bit;
    s->got++;
    hist_add(&w->lat, now > t ? now - t : 0);
    CNT_ADD(w->k.deliveries, 1);
    atomic_store_explicit(&w->k.last_recv, now, memory_order_relaxed);
}

static void sio_packet(worker *w, session *s, const char *p, size_t n) {
    const config *cfg = &w->b->cfg;
    const char *end = p + n;
    if (!n) {
        worker_error(w, "empty Socket.IO packet");
        return;
    }
    switch (p[0]) {
    case '0': /* CONNECT ack */
        if (s->state != SS_SIO_WAIT) {
            worker_error(w, "unexpected CONNECT %.*s", (int)(n > 60 ? 60 : n), p);
            return;
        }
        if (n < 2 || p[1] != '{' || !memmem(p, n, "\"sid\":", 6)) {
            worker_error(w, "CONNECT ack without sid: %.*s", (int)(n > 60 ? 60 : n), p);
        }
        if (cfg->join && cfg->scenario == SC_IDLE) {
            char msg[160];
            s->ack_id = s->next_id++;
            int m = snprintf(msg, sizeof msg, "42%u[\"join\",\"%s\"]", s->ack_id, cfg->join);
            s->state = SS_JOIN_WAIT;
            eio_send(w, s, msg, (size_t)m);
        } else if (cfg->scenario == SC_FANOUT && !s->sender) {
            char msg[160];
            s->ack_id = s->next_id++;
            int m = snprintf(msg, sizeof msg, "42%u[\"join\",\"%s\"]", s->ack_id, cfg->room);
            s->state = SS_JOIN_WAIT;
            eio_send(w, s, msg, (size_t)m);
        } else if (cfg->upgrade && s->polling && !s->upgraded) {
            if (!s->upgrading) upgrade_start(w, s);
        } else {
            session_ready(w, s);
        }
        return;
    case '4': /* CONNECT_ERROR */
        session_fail(w, s, "CONNECT_ERROR %.*s", (int)(n > 80 ? 80 : n), p);
        return;
    case '1':
        session_fail(w, s, "server sent Socket.IO DISCONNECT");
        return;
    case '3': {
        uint64_t id;
        const char *q;
        if (!parse_u64(p + 1, end, &id, &q)) {
            worker_error(w, "ack without id: %.*s", (int)(n > 60 ? 60 : n), p);
            return;
        }
        on_ack(w, s, (uint32_t)id, q, (size_t)(end - q));
        return;
    }
    case '2':
        on_event(w, s, p + 1, n - 1);
        return;
    default:
        worker_error(w, "unexpected Socket.IO packet %.*s", (int)(n > 60 ? 60 : n), p);
    }
}

static void eio_packet(worker *w, session *s, const char *p, size_t n) {
    const config *cfg = &w->b->cfg;
    if (!n) {
        worker_error(w, "empty Engine.IO packet");
        return;
    }
    switch (p[0]) {
    case '0': {
        if (s->state != SS_EIO_WAIT) {
            worker_error(w, "unexpected open packet");
            return;
        }
        const char *k = memmem(p, n, "\"sid\":\"", 7);
        if (!k) {
            session_fail(w, s, "open packet without sid: %.*s", (int)(n > 60 ? 60 : n), p);
            return;
        }
        k += 7;
        size_t i = 0;
        while (k + i < p + n && k[i] != '"' && i + 1 < sizeof s->sid)
            i++;
        memcpy(s->sid, k, i);
        s->sid[i] = 0;
        if (cfg->sio) {
            s->state = SS_SIO_WAIT;
            eio_send(w, s, "40", 2);
        } else {
            session_ready(w, s);
        }
        return;
    }
    case '1':
        session_fail(w, s, "server sent Engine.IO close");
        return;
    case '2':
        CNT_ADD(w->k.pings, 1);
        eio_send(w, s, "3", 1);
        return;
    case '3':
        if (s->upgrading && n == 6 && memcmp(p, "3probe", 6) == 0) upgrade_probed(w, s);
        return;
    case '6':
        return;
    case '4':
        sio_packet(w, s, p + 1, n - 1);
        return;
    default:
        worker_error(w, "unexpected Engine.IO packet %.*s", (int)(n > 60 ? 60 : n), p);
    }
}

/* Returns bytes consumed, or -1 when the connection is gone. */
static long ws_input(worker *w, conn *c, uint8_t *d, size_t n) {
    session *s = c->s;
    size_t off = 0;
    if (c->state == CS_HANDSHAKE) {
        uint8_t *e = memmem(d, n, "\r\n\r\n", 4);
        if (!e) {
            if (n > MAX_HEADER) {
                session_fail(w, s, "upgrade response headers too large");
                return -1;
            }
            return 0;
        }
        if (n < 12 || memcmp(d, "HTTP/1.1 101", 12) != 0) {
            uint8_t *eol = memmem(d, n, "\r\n", 2);
            session_fail(w, s, "upgrade refused: %.*s", (int)(eol - d), (char *)d);
            return -1;
        }
        off = (size_t)(e - d) + 4;
        c->state = CS_OPEN;
        /* Accepted permessage-deflate without server_no_context_takeover:
         * this connection's messages need their own inflate stream. */
        c->z_keep = memmem(d, off, "permessage-deflate", 18) &&
                    !memmem(d, off, "server_no_context_takeover", 26);
        if (s->upgrading && c == s->up && ws_send(w, c, 1, "2probe", 6) < 0) return -1;
    }
    while (off < n) {
        size_t avail = n - off;
        uint8_t *h = d + off;
        if (avail < 2) break;
        int fin = h[0] & 0x80, op = h[0] & 0x0f, z = (h[0] & 0x40) != 0;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2;
        if (h[1] & 0x80) {
            session_fail(w, s, "masked frame from the server");
            return -1;
        }
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (len > MAX_FRAME) {
            session_fail(w, s, "frame of %llu bytes", (unsigned long long)len);
            return -1;
        }
        if (avail < hl + len) break;
        char *pl = (char *)h + hl;
        off += hl + (size_t)len;
        switch (op) {
        case 0x1:
        case 0x2:
        case 0x0: {
            if (op != 0 && fin && !c->req.len) {
                if (z && inflate_msg(w, c, pl, (size_t)len)) {
                    session_fail(w, s, "compressed message does not inflate");
                    return -1;
                }
                if (op == 1)
                    eio_packet(w, s, z ? (char *)w->zout.p : pl, z ? w->zout.len : (size_t)len);
                break;
            }
            /* Fragmented message: gather it in c->req (unused on WebSockets). */
            if (op != 0) {
                c->req.len = 0;
                c->frag_text = op == 1;
                c->frag_z = (uint8_t)z;
            }
            bb_append(&c->req, pl, (size_t)len);
            if (fin) {
                if (c->frag_z && inflate_msg(w, c, c->req.p, c->req.len)) {
                    session_fail(w, s, "compressed message does not inflate");
                    return -1;
                }
                if (c->frag_text)
                    eio_packet(w, s, c->frag_z ? (char *)w->zout.p : (char *)c->req.p,
                               c->frag_z ? w->zout.len : c->req.len);
                bb_free(&c->req);
            }
            break;
        }
        case 0x8:
            if (c->state == CS_CLOSING) break; /* our close was answered; EOF follows */
            ws_send(w, c, 8, pl, len >= 2 ? 2 : 0);
            session_fail(w, s, "server closed the WebSocket");
            return -1;
        case 0x9:
            ws_send(w, c, 0xA, pl, (size_t)len);
            break;
        case 0xA:
            break;
        default:
            session_fail(w, s, "unknown opcode %d", op);
            return -1;
        }
        if (c->fd < 0) return -1;
    }
    return (long)off;
}

static void http_response(worker *w, conn *c, int status, const char *body, size_t n) {
    session *s = c->s;
    if (c->is_post) {
        if (status != 200 || n != 2 || memcmp(body, "ok", 2) != 0) {
            session_fail(w, s, "POST answered %d %.*s", status, (int)(n > 80 ? 80 : n), body);
            return;
        }
        poll_post(w, s);
        return;
    }
    if (status != 200) {
        session_fail(w, s, "GET answered %d %.*s", status, (int)(n > 80 ? 80 : n), body);
        return;
    }
    const char *p = body, *end = body + n;
    while (p < end) {
        const char *sep = memchr(p, 0x1e, (size_t)(end - p));
        const char *e = sep ? sep : end;
        eio_packet(w, s, p, (size_t)(e - p));
        if (s->state == SS_DEAD || s->state == SS_FREE) return;
        p = sep ? sep + 1 : end;
    }
    if (s->want_upgrade) {
        upgrade_finish(w, s); /* the held GET came back: polling is paused */
        return;
    }
    poll_get(w, s);
}

/* A chunked body at p (avail bytes): its decoded bytes appended to out and
 * the bytes it spans (trailers included), 0 when incomplete, -1 when bad. */
static long dechunk(const uint8_t *p, size_t avail, bbuf *out) {
    size_t off = 0;
    for (;;) {
        const uint8_t *eol = memmem(p + off, avail - off, "\r\n", 2);
        if (!eol) return 0;
        char *end;
        unsigned long long len = strtoull((const char *)p + off, &end, 16);
        if (end == (const char *)p + off) return -1;
        off = (size_t)(eol - p) + 2;
        if (len == 0) {
            const uint8_t *fin = memmem(p + off - 2, avail - (off - 2), "\r\n\r\n", 4);
            return fin ? (long)(fin - p) + 4 : 0;
        }
        if (avail - off < len + 2) return 0;
        bb_append(out, p + off, (size_t)len);
        off += (size_t)len + 2;
    }
}

/* gzip or zlib data (inflate detects which) into out; false when bad. */
static bool inflate_body(const uint8_t *in, size_t n, bbuf *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return false;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    int rc;
    do {
        bb_reserve(out, 65536);
        z.next_out = out->p + out->len;
        z.avail_out = 65536;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len += 65536 - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    return rc == Z_STREAM_END;
}

/* Returns bytes consumed, or -1 when the connection is gone. */
static long http_input(worker *w, conn *c, uint8_t *d, size_t n) {
    session *s = c->s;
    size_t off = 0;
    while (off < n) {
        if (!c->busy) {
            session_fail(w, s, "HTTP bytes without a request");
            return -1;
        }
        uint8_t *b = d + off;
        size_t avail = n - off;
        uint8_t *e = memmem(b, avail, "\r\n\r\n", 4);
        if (!e) {
            if (avail > MAX_HEADER) {
                session_fail(w, s, "HTTP response headers too large");
                return -1;
            }
            break;
        }
        size_t hl = (size_t)(e - b) + 4;
        if (avail < 12 || memcmp(b, "HTTP/1.", 7) != 0) {
            session_fail(w, s, "not an HTTP response");
            return -1;
        }
        int status = atoi((char *)b + 9);
        long long clen = -1;
        bool chunked = false, coded = false;
        bool close_after = memcmp(b, "HTTP/1.0", 8) == 0;
        for (uint8_t *l = memmem(b, hl, "\r\n", 2) + 2; l < e;) {
            uint8_t *eol = memmem(l, (size_t)(e + 2 - l), "\r\n", 2);
            size_t ll = (size_t)(eol - l);
            if (ll > 15 && strncasecmp((char *)l, "content-length:", 15) == 0)
                clen = strtoll((char *)l + 15, NULL, 10);
            else if (ll > 18 && strncasecmp((char *)l, "transfer-encoding:", 18) == 0) {
                /* Node streams its compressed answers chunked. */
                if (!memmem(l, ll, "chunked", 7)) {
                    session_fail(w, s, "unsupported Transfer-Encoding %.*s", (int)ll, (char *)l);
                    return -1;
                }
                chunked = true;
            } else if (ll > 17 && strncasecmp((char *)l, "content-encoding:", 17) == 0) {
                if (!w->b->cfg.accept_encoding) {
                    session_fail(w, s, "a coded answer although no Accept-Encoding was sent");
                    return -1;
                }
                coded = true;
            } else if (ll > 11 && strncasecmp((char *)l, "connection:", 11) == 0) {
                const char *v = (char *)l + 11;
                while (*v == ' ')
                    v++;
                if (strncasecmp(v, "close", 5) == 0) close_after = true;
                if (strncasecmp(v, "keep-alive", 10) == 0) close_after = false;
            }
            l = eol + 2;
        }
        const char *body = (char *)b + hl;
        size_t blen;
        if (chunked) {
            w->ztmp.len = 0;
            long span = dechunk(b + hl, avail - hl, &w->ztmp);
            if (span < 0) {
                session_fail(w, s, "bad chunked body");
                return -1;
            }
            if (span == 0) break;
            clen = span;
            body = (char *)w->ztmp.p;
            blen = w->ztmp.len;
        } else {
            if (clen < 0) {
                session_fail(w, s, "HTTP response without Content-Length (status %d)", status);
                return -1;
            }
            if (avail < hl + (size_t)clen) break;
            blen = (size_t)clen;
        }
        if (!c->is_post) CNT_ADD(w->k.wire_bytes, blen);
        if (coded) {
            /* A de-chunked body sits in ztmp: inflate it from there. */
            bbuf raw = {0};
            if (chunked) {
                raw = w->ztmp;
                w->ztmp = (bbuf){0};
            }
            w->ztmp.len = 0;
            bool good = inflate_body((const uint8_t *)body, blen, &w->ztmp);
            bb_free(&raw);
            if (!good) {
                session_fail(w, s, "a coded answer that does not inflate");
                return -1;
            }
            body = (char *)w->ztmp.p;
            blen = w->ztmp.len;
            CNT_ADD(w->k.coded, 1);
        }
        if (!c->is_post) CNT_ADD(w->k.body_bytes, blen);
        off += hl + (size_t)clen;
        c->busy = 0;
        c->served++;
        c->req.len = 0;
        c->close_after = close_after;
        if (close_after) {
            /* The server will not take another request on this socket. */
            CNT_ADD(w->k.reconnects, 1);
            conn_close(w, c, false);
        }
        http_response(w, c, status, body, blen);
        if (close_after || c->fd < 0) return -1;
    }
    return (long)off;
}

static void conn_eof(worker *w, conn *c, const char *why) {
    session *s = c->s;
    if (c->state == CS_CLOSING) { /* connect-rate: the server closed after our goodbye */
        conn_close(w, c, false);
        session_close(s, true);
        return;
    }
    if (c->is_http) {
        if (c->busy && !c->got_resp && c->served > 0) {
            /* A keep-alive socket the server had closed: resend once on a new one. */
            CNT_ADD(w->k.retries, 1);
            conn_close(w, c, false);
            bbuf req = c->req;
            c->req = (bbuf){0};
            http_request(w, c, req.p, req.len);
            bb_free(&req);
            return;
        }
        if (!c->busy) {
            CNT_ADD(w->k.reconnects, 1);
            conn_close(w, c, false);
            return;
        }
    }
    session_fail(w, s, "%s", why);
}

static void conn_readable(worker *w, conn *c) {
    size_t have = c->in.len;
    if (w->rcap < have + (64u << 10)) {
        size_t cap = w->rcap;
        while (cap < have + (64u << 10))
            cap *= 2;
        uint8_t *p = realloc(w->rbuf, cap);
        if (!p) {
            fputs("sio-bench: out of memory\n", stderr);
            exit(3);
        }
        w->rbuf = p;
        w->rcap = cap;
    }
    if (have) memcpy(w->rbuf, c->in.p, have);
    ssize_t r = recv(c->fd, w->rbuf + have, w->rcap - have, 0);
    if (r == 0) {
        conn_eof(w, c, "connection closed by the server");
        return;
    }
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        char why[96];
        snprintf(why, sizeof why, "recv: %s", strerror(errno));
        conn_eof(w, c, why);
        return;
    }
    c->in.len = 0;
    c->got_resp = 1;
    size_t n = have + (size_t)r;
    long used = c->is_http ? http_input(w, c, w->rbuf, n) : ws_input(w, c, w->rbuf, n);
    if (used < 0 || c->fd < 0) return;
    if ((size_t)used < n)
        bb_append(&c->in, w->rbuf + used, n - (size_t)used);
    else if (c->in.cap > 4096)
        bb_free(&c->in); /* do not keep big buffers on idle connections */
}

static void conn_writable(worker *w, conn *c) {
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            session_fail(w, c->s, "connect: %s", strerror(err));
            return;
        }
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) < 0) return; /* not yet */
        c->state = c->is_http ? CS_OPEN : CS_HANDSHAKE;
    }
    conn_flush(w, c);
    if (c->fd >= 0 && !c->out.len && c->out.cap > 4096) bb_free(&c->out);
}

/* ---- the fanout sender ------------------------------------------------------------------ */

static void sender_pump(worker *w, session *s) {
    const config *cfg = &w->b->cfg;
    if (s->state != SS_READY || s->seq >= cfg->messages || s->c.out.len) return;
    uint64_t now = now_ns();
    uint64_t first = CNT_GET(w->k.first_send);
    uint32_t allowed = cfg->messages;
    if (cfg->rate > 0) {
        double may = first ? (double)(now - first) / 1e9 * cfg->rate + 1 : 1;
        if (may < allowed) allowed = (uint32_t)may;
    }
    bbuf *out = &w->wtmp;
    out->len = 0;
    char msg[8448], pad[8192]; /* --payload up to 8000: above permessage-deflate's threshold */
    while (s->seq < allowed && out->len < SENDER_CHUNK) {
        uint64_t t = now_ns();
        if (!first) {
            first = t;
            atomic_store(&w->k.first_send, t);
        }
        /* {"s":N,"t":T,"pad":"xxx"} padded to cfg->payload bytes. */
        int base = snprintf(msg, sizeof msg, "{\"s\":%u,\"t\":%llu,\"pad\":\"\"}", s->seq,
                            (unsigned long long)t);
        int padn = (int)cfg->payload - base;
        if (padn < 0) padn = 0;
        if (padn > (int)sizeof pad - 1) padn = (int)sizeof pad - 1;
        memset(pad, 'x', (size_t)padn);
        pad[padn] = 0;
        int n = snprintf(msg, sizeof msg, "42[\"to\",\"%s\",{\"s\":%u,\"t\":%llu,\"pad\":\"%s\"}]",
                         cfg->room, s->seq, (unsigned long long)t, pad);
        ws_frame(w, out, 1, msg, (size_t)n);
        s->seq++;
        CNT_ADD(w->k.sent, 1);
    }
    if (out->len) conn_send(w, &s->c, out->p, out->len);
}

/* ---- the loop ------------------------------------------------------------------------- */

int worker_init(bench *b, worker *w, int id) {
    w->id = id;
    w->b = b;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (w->ep < 0) return -1;
    w->rcap = 256u << 10;
    w->rbuf = xcalloc(1, w->rcap);
    w->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)id << 32) ^ now_ns();
    if (!w->rng) w->rng = 1;
    w->seen_phase = PH_SETUP;
    return 0;
}

void worker_free(worker *w) {
    for (uint32_t i = 0; i < w->nsess; i++) {
        session *s = &w->sess[i];
        session_close(s, true);
        free(s->seen);
        if (s->post) {
            bb_free(&s->post->req);
            free(s->post);
        }
        if (s->up) {
            bb_free(&s->up->req);
            free(s->up);
        }
        bb_free(&s->c.req);
        bb_free(&s->pq);
    }
    free(w->sess);
    free(w->rbuf);
    bb_free(&w->wtmp);
    bb_free(&w->etmp);
    bb_free(&w->ztmp);
    if (w->ep >= 0) close(w->ep);
}

static uint32_t share(uint32_t total, int nw) {
    uint32_t v = (total + (uint32_t)nw - 1) / (uint32_t)nw;
    return v ? v : 1;
}

static void worker_tick(worker *w) {
    bench *b = w->b;
    const config *cfg = &b->cfg;
    int ph = atomic_load(&b->phase);
    bool entered = ph != w->seen_phase;
    w->seen_phase = ph;

    if (cfg->scenario == SC_CONNECT_RATE) {
        uint64_t now = now_ns();
        if (now - w->last_sweep < SWEEP_PERIOD_NS && !entered) return;
        w->last_sweep = now;
        /* Slots outnumber the sessions in flight, so that sessions waiting for
         * the server to close do not hold back new handshakes. */
        uint32_t conc = share(cfg->concurrency, b->nw);
        for (uint32_t i = 0; i < w->nsess; i++) {
            session *s = &w->sess[i];
            if (s->state == SS_CLOSING && now > s->deadline) {
                /* The server did not close: reset the connection ourselves. */
                CNT_ADD(w->k.resets, 1);
                conn_close(w, session_ws(s), true);
                session_close(s, true);
            }
            if (ph == PH_RUN && (s->state == SS_FREE || s->state == SS_DEAD) && w->opening < conc)
                session_start(w, s);
            else if (ph >= PH_CLOSE)
                session_close(s, true);
        }
        return;
    }

    if (ph == PH_OPEN || ph == PH_RUN) {
        uint32_t conc = share(cfg->concurrency, b->nw);
        while (w->next_open < w->nsess && w->opening < conc) {
            session *s = &w->sess[w->next_open++];
            session_start(w, s);
        }
    }
    if (entered && ph == PH_RUN && (cfg->scenario == SC_ECHO || cfg->scenario == SC_POLL_ECHO)) {
        for (uint32_t i = 0; i < w->nsess; i++) {
            session *s = &w->sess[i];
            if (s->state == SS_READY && !s->waiting) send_echo(w, s);
        }
    }
    if (ph == PH_RUN && cfg->scenario == SC_FANOUT && b->sender && b->sender->w == w)
        sender_pump(w, b->sender);
    if (entered && ph >= PH_CLOSE) {
        for (uint32_t i = 0; i < w->nsess; i++)
            session_close(&w->sess[i], true);
    }
}

void worker_iterate(worker *w, int timeout_ms) {
    struct epoll_event ev[512];
    bench *b = w->b;
    session *snd = b->sender;
    if (snd && snd->w == w && snd->state == SS_READY && !snd->c.out.len &&
        snd->seq < b->cfg.messages && atomic_load(&b->phase) == PH_RUN)
        timeout_ms = b->cfg.rate > 0 ? 1 : 0; /* more to generate */
    int n = epoll_wait(w->ep, ev, 512, timeout_ms);
    for (int i = 0; i < n; i++) {
        conn *c = ev[i].data.ptr;
        if (c->fd < 0) continue;
        uint32_t e = ev[i].events;
        if (c->state == CS_CONNECTING) {
            if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) conn_writable(w, c);
            continue;
        }
        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) conn_readable(w, c);
        if (c->fd >= 0 && (e & EPOLLOUT)) conn_writable(w, c);
    }
    worker_tick(w);
}

void *worker_thread(void *arg) {
    worker *w = arg;
    while (atomic_load(&w->b->phase) != PH_QUIT)
        worker_iterate(w, 10);
    return NULL;
}
