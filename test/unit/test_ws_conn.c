/* Server-side WebSocket connections over socketpairs, driven by a real
 * sio_loop: the test plays the client, writing masked frames it builds by
 * hand into one end and reading the server's frames from the same end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sio/loop.h"
#include "sio/status.h"
#include "util/buf.h"
#include "util/zcodec.h"
#include "ws/conn.h"
#include "ws/deflate.h"
#include "ws/frame.h"

#define MAXMSG (4u << 20)

static sio_loop *loop;
static ws_ctx *ctx;

static uint64_t rng_state = 0xa4093822299f31d0ull;

static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* ---- the client side ---- */

enum { ACT_NONE, ACT_ECHO, ACT_CLOSE, ACT_ABORT, ACT_SEND_ABORT };

typedef struct peer {
    sio_io io; /* the client end, watched by the same loop */
    int registered;
    int eof;        /* the server closed its side */
    ws_conn *c;     /* NULL once on_close ran (or the server closed it) */
    int msgs;       /* messages delivered to the server's handler */
    int binary;     /* of the last one */
    sbuf last;      /* the last message */
    uint64_t hash;  /* of every message in order */
    int closed;     /* on_close calls */
    int close_code; /* the code passed to on_close */
    int pongs;      /* on_pong calls */
    int action;     /* what the handler does on a message */
    sbuf in;        /* bytes the server sent */
    sbuf pending;   /* bytes not yet written to the server */
} peer;

static uint64_t hash_msg(uint64_t h, int binary, const uint8_t *p, size_t n) {
    h = (h ^ (uint64_t)binary) * 1099511628211ull;
    h = (h ^ (uint64_t)n) * 1099511628211ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void h_message(ws_conn *c, int binary, const uint8_t *data, size_t len) {
    peer *p = c->ud;
    p->msgs++;
    p->binary = binary;
    sbuf_clear(&p->last);
    sbuf_append(&p->last, data, len);
    p->hash = hash_msg(p->hash, binary, data, len);
    switch (p->action) {
    case ACT_ECHO:
        ws_conn_send(c, binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
        break;
    case ACT_CLOSE:
        ws_conn_close(c, 4000, "handler closed");
        p->c = NULL; /* no callback after ws_conn_close */
        break;
    case ACT_ABORT:
        ws_conn_abort(c);
        p->c = NULL;
        break;
    case ACT_SEND_ABORT:
        ws_conn_send(c, WS_OP_TEXT, (const uint8_t *)"bye", 3);
        ws_conn_abort(c);
        p->c = NULL;
        break;
    }
}

static void h_close(ws_conn *c, int code) {
    peer *p = c->ud;
    p->closed++;
    p->close_code = code;
    p->c = NULL;
    CHECK(!ws_conn_is_open(c) || code == 1006);
}

static void h_pong(ws_conn *c) {
    peer *p = c->ud;
    p->pongs++;
}

static const ws_handler handler = {h_message, h_close, h_pong, NULL};

static void peer_pump(peer *p);

static void peer_io_cb(sio_loop *l, sio_io *io, uint32_t ev) {
    peer_pump((peer *)io);
}

static void peer_pump(peer *p) {
    while (p->pending.len) {
        ssize_t n = send(p->io.fd, p->pending.data, p->pending.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break;
        sbuf_consume(&p->pending, (size_t)n);
    }
    while (!p->eof) {
        if (sbuf_reserve(&p->in, 65536)) break;
        ssize_t n = recv(p->io.fd, p->in.data + p->in.len, 65536, MSG_DONTWAIT);
        if (n > 0) {
            p->in.len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) p->eof = 1;
        break;
    }
    if (!p->registered) return;
    if (p->eof && !p->pending.len) {
        sio_loop_del(loop, &p->io);
        p->registered = 0;
        return;
    }
    sio_loop_mod(loop, &p->io, (p->eof ? 0 : EPOLLIN) | (p->pending.len ? EPOLLOUT : 0));
}

/* Connections opened while this is set negotiated permessage-deflate. */
static int peer_deflate;

static void peer_open_pre(peer *p, uint32_t max_message, const uint8_t *pre, size_t pre_len) {
    memset(p, 0, sizeof *p);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
        perror("socketpair");
        exit(2);
    }
    p->io.fd = sv[0];
    p->io.cb = peer_io_cb;
    CHECK(sio_loop_add(loop, &p->io, EPOLLIN) == SIO_OK);
    p->registered = 1;
    p->c = ws_conn_new(ctx, sv[1], pre, pre_len, max_message, &handler, p);
    CHECK(p->c != NULL);
    if (p->c && peer_deflate) ws_conn_enable_deflate(p->c);
}

static void peer_open(peer *p, uint32_t max_message) {
    peer_open_pre(p, max_message, NULL, 0);
}

static void peer_send(peer *p, const sbuf *b) {
    sbuf_append(&p->pending, b->data, b->len);
    peer_pump(p);
}

/* Build one client frame (masked unless told otherwise) and append it. */
static void cframe(sbuf *out, int fin, int rsv, int opcode, int masked, const void *data,
                   size_t len) {
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 15));
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        h[hl++] = (uint8_t)(m | len);
    } else if (len < 65536) {
        h[hl++] = m | 126;
        h[hl++] = (uint8_t)(len >> 8);
        h[hl++] = (uint8_t)len;
    } else {
        h[hl++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t key[4] = {0, 0, 0, 0};
    if (masked) {
        uint32_t k = rnd() | 0x01010101u; /* never a zero key byte */
        memcpy(key, &k, 4);
        memcpy(h + hl, key, 4);
        hl += 4;
    }
    sbuf_append(out, h, hl);
    sbuf_reserve(out, len);
    const uint8_t *d = data;
    for (size_t i = 0; i < len; i++)
        out->data[out->len + i] = d[i] ^ key[i % 4];
    out->len += len;
}

static void ctext(sbuf *out, const char *s) {
    cframe(out, 1, 0, WS_OP_TEXT, 1, s, strlen(s));
}

static void cclose(sbuf *out, int code, const char *reason) {
    uint8_t pl[125];
    size_t n = 0;
    if (code >= 0) {
        pl[n++] = (uint8_t)(code >> 8);
        pl[n++] = (uint8_t)code;
    }
    size_t rl = reason ? strlen(reason) : 0;
    memcpy(pl + n, reason ? reason : "", rl);
    cframe(out, 1, 0, WS_OP_CLOSE, 1, pl, n + rl);
}

/* A server frame parsed out of peer->in. */
typedef struct sframe {
    int fin, rsv, opcode, masked;
    const uint8_t *data;
    uint64_t len;
    size_t size; /* header + payload */
} sframe;

static int frame_at(const uint8_t *p, size_t n, sframe *f) {
    if (n < 2) return 0;
    f->fin = p[0] >> 7;
    f->rsv = (p[0] >> 4) & 7;
    f->opcode = p[0] & 15;
    f->masked = p[1] >> 7;
    uint64_t len = p[1] & 127;
    size_t h = 2;
    if (len == 126) {
        if (n < 4) return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        h = 10;
    }
    if (f->masked) h += 4;
    if (n < h || n - h < len) return 0;
    f->data = p + h;
    f->len = len;
    f->size = h + (size_t)len;
    return 1;
}

/* Parse up to max frames of p->in; returns how many are complete. */
static int frames(const peer *p, sframe *out, int max) {
    size_t off = 0;
    int k = 0;
    sframe f;
    while (off < p->in.len && frame_at(p->in.data + off, p->in.len - off, &f)) {
        if (k < max) out[k] = f;
        k++;
        off += f.size;
    }
    return k;
}

/* The close code of the server's close frame (1005 when empty), or -1. */
static int server_close_code(const peer *p) {
    sframe f[64];
    int n = frames(p, f, 64);
    for (int i = 0; i < n && i < 64; i++) {
        if (f[i].opcode != WS_OP_CLOSE) continue;
        if (f[i].len < 2) return 1005;
        return f[i].data[0] << 8 | f[i].data[1];
    }
    return -1;
}

/* ---- running the loop ---- */

typedef int (*cond_fn)(void *);
static cond_fn until_fn;
static void *until_arg;
static int timed_out;
static int timeouts; /* run_until calls whose condition never held */

static void until_hook(sio_loop *l, void *ud) {
    if (until_fn && until_fn(until_arg)) sio_loop_stop(l);
}

static void on_timeout(sio_loop *l, sio_timer *t) {
    timed_out = 1;
    sio_loop_stop(l);
}

/* Run the loop until cond(arg) holds (checked once per iteration, after the
 * connections flushed their output) or ms elapse. 1 when cond held. */
static int run_until(cond_fn cond, void *arg, uint64_t ms) {
    until_fn = cond;
    until_arg = arg;
    timed_out = 0;
    sio_timer t;
    memset(&t, 0, sizeof t);
    sio_loop_update_time(loop);
    sio_timer_start(loop, &t, ms, on_timeout);
    sio_loop_run(loop);
    sio_timer_stop(loop, &t);
    until_fn = NULL;
    int ok = cond(arg);
    if (!ok) timeouts++;
    return ok;
}

static int want_n;

static int c_msgs(void *a) {
    peer *p = a;
    return p->msgs >= want_n || p->closed;
}
static int wait_msgs(peer *p, int n) {
    want_n = n;
    run_until(c_msgs, p, 5000);
    return p->msgs == n;
}

static int c_frames(void *a) {
    peer *p = a;
    return frames(p, NULL, 0) >= want_n || p->eof;
}
static int wait_frames(peer *p, int n) {
    want_n = n;
    run_until(c_frames, p, 5000);
    return frames(p, NULL, 0) >= n;
}

static int c_closed(void *a) {
    peer *p = a;
    return p->closed && server_close_code(p) >= 0;
}

static int c_eof(void *a) {
    return ((peer *)a)->eof;
}

static int c_pongs(void *a) {
    return ((peer *)a)->pongs >= want_n;
}

/* The server has read everything written so far (or is gone). */
static int server_drained(const peer *p) {
    if (p->pending.len) return 0;
    if (!p->c || p->c->io.fd < 0) return 1;
    int avail = 0;
    if (ioctl(p->c->io.fd, FIONREAD, &avail) != 0) return 1;
    return avail == 0;
}
static int c_drained(void *a) {
    return server_drained(a);
}

static int c_count(void *a) {
    return ws_ctx_count(ctx) <= (size_t)(uintptr_t)a;
}

static int wait_count(size_t n) {
    return run_until(c_count, (void *)(uintptr_t)n, 5000);
}

/* Close the client end and wait until the server has let go of the peer. */
static void peer_close(peer *p) {
    if (p->registered) sio_loop_del(loop, &p->io);
    p->registered = 0;
    if (p->io.fd >= 0) close(p->io.fd);
    p->io.fd = -1;
}

static int c_detached(void *a) {
    return ((peer *)a)->c == NULL;
}

static void peer_free(peer *p) {
    peer_close(p);
    if (p->c) {
        run_until(c_detached, p, 5000);
        CHECK(p->c == NULL);
    }
    sbuf_free(&p->last);
    sbuf_free(&p->in);
    sbuf_free(&p->pending);
}

static int msg_is(const peer *p, int binary, const void *data, size_t len) {
    int ok =
        p->binary == binary && p->last.len == len && (!len || !memcmp(p->last.data, data, len));
    if (!ok)
        fprintf(stderr, "  last message: binary %d, %zu bytes (want %d, %zu)\n", p->binary,
                p->last.len, binary, len);
    return ok;
}

/* ---- data messages ---- */

static void test_messages(void) {
    peer p;
    peer_open(&p, MAXMSG);
    sbuf f = SBUF_INIT;
    ctext(&f, "hello");
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 1));
    CHECK(msg_is(&p, 0, "hello", 5));

    uint8_t bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (uint8_t)i;
    sbuf_clear(&f);
    cframe(&f, 1, 0, WS_OP_BINARY, 1, bin, sizeof bin);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 2));
    CHECK(msg_is(&p, 1, bin, sizeof bin));

    /* Empty text and binary messages. */
    sbuf_clear(&f);
    cframe(&f, 1, 0, WS_OP_TEXT, 1, "", 0);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 3));
    CHECK(msg_is(&p, 0, "", 0));
    sbuf_clear(&f);
    cframe(&f, 1, 0, WS_OP_BINARY, 1, "", 0);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 4));
    CHECK(msg_is(&p, 1, "", 0));

    /* Several frames in one write arrive as several messages, in order. */
    sbuf_clear(&f);
    uint64_t want = p.hash;
    for (int i = 0; i < 20; i++) {
        char m[32];
        snprintf(m, sizeof m, "msg %d \xe2\x82\xac", i);
        ctext(&f, m);
        want = hash_msg(want, 0, (const uint8_t *)m, strlen(m));
    }
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 24));
    CHECK(p.hash == want);
    CHECK(p.closed == 0 && server_close_code(&p) == -1);
    CHECK(ws_ctx_count(ctx) == 1);
    sbuf_free(&f);
    peer_free(&p);
    CHECK(p.closed == 1 && p.close_code == 1006);
    CHECK(wait_count(0));
}

static void test_fragments(void) {
    peer p;
    peer_open(&p, MAXMSG);
    sbuf f = SBUF_INIT;
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "Hel", 3);
    cframe(&f, 0, 0, WS_OP_CONT, 1, "lo, ", 4);
    cframe(&f, 1, 0, WS_OP_PING, 1, "x", 1); /* control frames may come in between */
    cframe(&f, 1, 0, WS_OP_CONT, 1, "world", 5);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 1));
    CHECK(msg_is(&p, 0, "Hello, world", 12));
    CHECK(wait_frames(&p, 1));
    sframe sf[4];
    CHECK(frames(&p, sf, 4) == 1 && sf[0].opcode == WS_OP_PONG && sf[0].len == 1 &&
          sf[0].data[0] == 'x' && !sf[0].masked && sf[0].fin);

    /* Binary, in many fragments. */
    uint8_t bin[1000];
    for (int i = 0; i < 1000; i++)
        bin[i] = (uint8_t)(i * 7);
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_BINARY, 1, bin, 100);
    for (int i = 1; i < 9; i++)
        cframe(&f, 0, 0, WS_OP_CONT, 1, bin + 100 * i, 100);
    cframe(&f, 1, 0, WS_OP_CONT, 1, bin + 900, 100);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 2));
    CHECK(msg_is(&p, 1, bin, 1000));

    /* Empty first and last fragments. */
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "", 0);
    cframe(&f, 1, 0, WS_OP_CONT, 1, "abc", 3);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 3));
    CHECK(msg_is(&p, 0, "abc", 3));
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "abc", 3);
    cframe(&f, 1, 0, WS_OP_CONT, 1, "", 0);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 4));
    CHECK(msg_is(&p, 0, "abc", 3));
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_BINARY, 1, "", 0);
    cframe(&f, 0, 0, WS_OP_CONT, 1, "", 0);
    cframe(&f, 1, 0, WS_OP_CONT, 1, "", 0);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 5));
    CHECK(msg_is(&p, 1, "", 0));

    /* A character split between fragments is fine: UTF-8 is checked on the message. */
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "\xe2", 1);
    cframe(&f, 0, 0, WS_OP_CONT, 1, "\x82", 1);
    cframe(&f, 1, 0, WS_OP_CONT, 1, "\xac!", 2);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 6));
    CHECK(msg_is(&p, 0, "\xe2\x82\xac!", 4));

    /* A plain message right after a fragmented one. */
    sbuf_clear(&f);
    ctext(&f, "plain");
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 7));
    CHECK(msg_is(&p, 0, "plain", 5));
    CHECK(p.closed == 0);
    sbuf_free(&f);
    peer_free(&p);
    CHECK(wait_count(0));
}

/* Write `stream` in pieces of random size in [1, maxpiece], letting the
 * server read each piece on its own. */
static void send_in_pieces(peer *p, const sbuf *stream, size_t maxpiece) {
    size_t off = 0;
    while (off < stream->len && p->c) {
        size_t n = 1 + (maxpiece > 1 ? rnd() % maxpiece : 0);
        if (n > stream->len - off) n = stream->len - off;
        ssize_t w = send(p->io.fd, stream->data + off, n, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
        run_until(c_drained, p, 2000);
    }
    CHECK(off == stream->len);
}

static void test_small_writes(void) {
    peer p;
    peer_open(&p, MAXMSG);
    sbuf s = SBUF_INIT;
    uint64_t want = 0;
    int nmsg = 0;
    ctext(&s, "hello");
    want = hash_msg(want, 0, (const uint8_t *)"hello", 5), nmsg++;
    uint8_t bin[300];
    for (int i = 0; i < 300; i++)
        bin[i] = (uint8_t)rnd();
    cframe(&s, 1, 0, WS_OP_BINARY, 1, bin, 300); /* 16-bit length */
    want = hash_msg(want, 1, bin, 300), nmsg++;
    cframe(&s, 0, 0, WS_OP_TEXT, 1, "frag", 4);
    cframe(&s, 1, 0, WS_OP_PING, 1, "pp", 2);
    cframe(&s, 1, 0, WS_OP_CONT, 1, "mented \xf0\x9f\x98\x80", 11);
    want = hash_msg(want, 0, (const uint8_t *)"fragmented \xf0\x9f\x98\x80", 15), nmsg++;
    cframe(&s, 1, 0, WS_OP_PONG, 1, "", 0);
    cframe(&s, 1, 0, WS_OP_TEXT, 1, "", 0);
    want = hash_msg(want, 0, (const uint8_t *)"", 0), nmsg++;

    /* One byte at a time. */
    send_in_pieces(&p, &s, 1);
    CHECK(wait_msgs(&p, nmsg));
    CHECK(p.hash == want);
    CHECK(p.pongs == 1 && p.closed == 0);
    CHECK(wait_frames(&p, 1));
    sframe sf[2];
    CHECK(frames(&p, sf, 2) == 1 && sf[0].opcode == WS_OP_PONG && sf[0].len == 2 &&
          memcmp(sf[0].data, "pp", 2) == 0);

    /* A longer stream of mixed frames in pieces of 1..7 bytes. */
    sbuf_clear(&s);
    p.hash = want = 0;
    p.msgs = nmsg = 0;
    for (int i = 0; i < 60; i++) {
        size_t len = rnd() % 400;
        uint8_t d[400];
        for (size_t k = 0; k < len; k++)
            d[k] = (uint8_t)('a' + rnd() % 26);
        int binary = rnd() % 2;
        if (rnd() % 4 == 0 && len > 2) {
            cframe(&s, 0, 0, binary ? WS_OP_BINARY : WS_OP_TEXT, 1, d, len / 2);
            cframe(&s, 1, 0, WS_OP_CONT, 1, d + len / 2, len - len / 2);
        } else {
            cframe(&s, 1, 0, binary ? WS_OP_BINARY : WS_OP_TEXT, 1, d, len);
        }
        want = hash_msg(want, binary, d, len), nmsg++;
    }
    send_in_pieces(&p, &s, 7);
    CHECK(wait_msgs(&p, nmsg));
    CHECK(p.hash == want);
    CHECK(p.closed == 0);
    sbuf_free(&s);
    peer_free(&p);
    CHECK(wait_count(0));
}

static void test_big(void) {
    peer p;
    peer_open(&p, MAXMSG);
    sbuf f = SBUF_INIT;

    /* Bigger than wslay's 4096-byte buffer, with 16- and 64-bit lengths. */
    size_t sizes[] = {4095, 4096, 4097, 5000, 65535, 65536, 100000, 1000000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *d = malloc(n);
        for (size_t k = 0; k < n; k++)
            d[k] = (uint8_t)rnd();
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_BINARY, 1, d, n);
        peer_send(&p, &f);
        CHECK(wait_msgs(&p, (int)i + 1));
        int ok = msg_is(&p, 1, d, n);
        if (!ok) fprintf(stderr, "  (binary message of %zu bytes)\n", n);
        CHECK(ok);
        free(d);
    }
    int base = p.msgs;

    /* Long text: 3-byte characters straddle every 4096-byte buffer boundary. */
    size_t n = 3 * 30000;
    char *t = malloc(n);
    for (size_t k = 0; k < n; k += 3)
        memcpy(t + k, "\xe2\x82\xac", 3);
    sbuf_clear(&f);
    cframe(&f, 1, 0, WS_OP_TEXT, 1, t, n);
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, base + 1));
    CHECK(msg_is(&p, 0, t, n));
    /* The same text in fragments of 1000 bytes (cut inside characters). */
    sbuf_clear(&f);
    for (size_t off = 0; off < n; off += 1000) {
        size_t len = n - off < 1000 ? n - off : 1000;
        cframe(&f, off + len == n, 0, off ? WS_OP_CONT : WS_OP_TEXT, 1, t + off, len);
    }
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, base + 2));
    CHECK(msg_is(&p, 0, t, n));
    CHECK(p.closed == 0);
    free(t);
    sbuf_free(&f);
    peer_free(&p);
    CHECK(wait_count(0));
}

/* ---- control frames ---- */

static void test_ping_pong(void) {
    peer p;
    peer_open(&p, MAXMSG);
    sbuf f = SBUF_INIT;
    uint8_t big[125];
    for (int i = 0; i < 125; i++)
        big[i] = (uint8_t)(i + 1);
    cframe(&f, 1, 0, WS_OP_PING, 1, "abc", 3);
    cframe(&f, 1, 0, WS_OP_PING, 1, "", 0);
    cframe(&f, 1, 0, WS_OP_PING, 1, big, 125);
    peer_send(&p, &f);
    CHECK(wait_frames(&p, 3));
    sframe sf[4];
    CHECK(frames(&p, sf, 4) == 3);
    CHECK(sf[0].opcode == WS_OP_PONG && sf[0].fin && !sf[0].masked && sf[0].len == 3 &&
          memcmp(sf[0].data, "abc", 3) == 0);
    CHECK(sf[1].opcode == WS_OP_PONG && sf[1].len == 0);
    CHECK(sf[2].opcode == WS_OP_PONG && sf[2].len == 125 && memcmp(sf[2].data, big, 125) == 0);
    CHECK(p.msgs == 0);

    /* Pongs from the client reach on_pong. */
    sbuf_clear(&f);
    cframe(&f, 1, 0, WS_OP_PONG, 1, "", 0);
    cframe(&f, 1, 0, WS_OP_PONG, 1, "unsolicited", 11);
    peer_send(&p, &f);
    want_n = 2;
    CHECK(run_until(c_pongs, &p, 5000));
    CHECK(p.pongs == 2 && p.msgs == 0 && p.closed == 0);
    sbuf_free(&f);
    peer_free(&p);
    CHECK(wait_count(0));
}

/* The client sends a close frame; the server echoes it and calls on_close. */
static int close_echo(int code, const char *reason, int want_echo, const char *what) {
    peer p;
    peer_open(&p, MAXMSG);
    sbuf f = SBUF_INIT;
    cclose(&f, code, reason);
    ctext(&f, "after close"); /* never delivered */
    peer_send(&p, &f);
    run_until(c_closed, &p, 5000);
    int echoed = server_close_code(&p);
    int ok = p.closed == 1 && echoed == want_echo && p.close_code == want_echo && p.msgs == 0;
    if (!ok)
        fprintf(stderr, "  %s: on_close %d (code %d), echoed %d, want %d\n", what, p.closed,
                p.close_code, echoed, want_echo);
    /* After its close frame the server shuts its side down. */
    run_until(c_eof, &p, 5000);
    if (!p.eof) {
        fprintf(stderr, "  %s: no EOF after the close frame\n", what);
        ok = 0;
    }
    sframe sf[8];
    int nf = frames(&p, sf, 8);
    if (nf != 1 || sf[0].opcode != WS_OP_CLOSE || sf[0].masked || !sf[0].fin) {
        fprintf(stderr, "  %s: %d frames before EOF\n", what, nf);
        ok = 0;
    }
    sbuf_free(&f);
    peer_free(&p);
    if (!wait_count(0)) ok = 0;
    return ok;
}

static void test_close(void) {
    CHECK(close_echo(1000, NULL, 1000, "close 1000"));
    CHECK(close_echo(1001, "bye", 1001, "close 1001 with a reason"));
    CHECK(close_echo(1003, "", 1003, "close 1003"));
    CHECK(close_echo(1011, "\xe2\x82\xac", 1011, "close 1011 UTF-8 reason"));
    CHECK(close_echo(3000, NULL, 3000, "close 3000"));
    CHECK(close_echo(4999, NULL, 4999, "close 4999"));
    /* No code: answered with 1000. */
    {
        peer p;
        peer_open(&p, MAXMSG);
        sbuf f = SBUF_INIT;
        cclose(&f, -1, NULL);
        peer_send(&p, &f);
        CHECK(run_until(c_closed, &p, 5000));
        CHECK(server_close_code(&p) == 1000);
        CHECK(p.closed == 1 && (p.close_code == 1000 || p.close_code == 1005));
        sbuf_free(&f);
        peer_free(&p);
        CHECK(wait_count(0));
    }
    /* Invalid close frames: protocol error. */
    static const int bad_codes[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        char what[40];
        snprintf(what, sizeof what, "close code %d", bad_codes[i]);
        CHECK(close_echo(bad_codes[i], NULL, 1002, what));
    }
    {
        peer p;
        peer_open(&p, MAXMSG);
        sbuf f = SBUF_INIT;
        cframe(&f, 1, 0, WS_OP_CLOSE, 1, "\x03", 1); /* one-byte payload */
        peer_send(&p, &f);
        CHECK(run_until(c_closed, &p, 5000));
        CHECK(server_close_code(&p) == 1002 && p.close_code == 1002);
        sbuf_free(&f);
        peer_free(&p);
        CHECK(wait_count(0));
    }
    {
        peer p;
        peer_open(&p, MAXMSG);
        sbuf f = SBUF_INIT;
        cclose(&f, 1000, "\xc0\xaf"); /* invalid UTF-8 reason */
        peer_send(&p, &f);
        CHECK(run_until(c_closed, &p, 5000));
        int code = server_close_code(&p);
        CHECK(code == 1002 || code == 1007);
        sbuf_free(&f);
        peer_free(&p);
        CHECK(wait_count(0));
    }
}

/* ---- protocol errors ---- */

/* Send `bytes`; the server must answer with a close frame carrying `code`,
 * tell on_close the same code, and deliver `msgs` messages first. */
static int fails_with(const sbuf *bytes, uint32_t max_message, int code, int msgs,
                      const char *what) {
    peer p;
    peer_open(&p, max_message);
    peer_send(&p, bytes);
    run_until(c_closed, &p, 5000);
    int echoed = server_close_code(&p);
    int ok = p.closed == 1 && p.close_code == code && echoed == code && p.msgs == msgs;
    if (!ok)
        fprintf(stderr, "  %s: on_close %d (code %d), close frame %d, %d messages; want %d\n", what,
                p.closed, p.close_code, echoed, p.msgs, code);
    run_until(c_eof, &p, 5000);
    if (!p.eof) {
        fprintf(stderr, "  %s: no EOF after the close frame\n", what);
        ok = 0;
    }
    peer_free(&p);
    if (!wait_count(0)) ok = 0;
    return ok;
}

static void test_protocol_errors(void) {
    sbuf f = SBUF_INIT;
    cframe(&f, 1, 0, WS_OP_TEXT, 0, "unmasked", 8);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "unmasked text"));
    sbuf_clear(&f);
    ctext(&f, "fine");
    cframe(&f, 1, 0, WS_OP_BINARY, 0, "unmasked", 8);
    CHECK(fails_with(&f, MAXMSG, 1002, 1, "unmasked binary after a good frame"));
    sbuf_clear(&f);
    cframe(&f, 1, 0, WS_OP_PING, 0, "", 0);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "unmasked ping"));

    for (int rsv = 1; rsv <= 7; rsv++) {
        sbuf_clear(&f);
        cframe(&f, 1, rsv, WS_OP_TEXT, 1, "rsv", 3);
        CHECK(fails_with(&f, MAXMSG, 1002, 0, "reserved bits"));
    }
    sbuf_clear(&f);
    cframe(&f, 1, 4, WS_OP_PING, 1, "", 0);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "reserved bit on a ping"));

    /* Invalid UTF-8 in text. */
    static const char *bad_utf8[] = {"\xff", "abc\xc0\xaf", "\xed\xa0\x80", "\xe2\x82",
                                     "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        sbuf_clear(&f);
        ctext(&f, bad_utf8[i]);
        CHECK(fails_with(&f, MAXMSG, 1007, 0, "invalid UTF-8"));
    }
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "ok so far ", 10);
    cframe(&f, 1, 0, WS_OP_CONT, 1, "\xe2\x82", 2); /* truncated at the end of the message */
    CHECK(fails_with(&f, MAXMSG, 1007, 0, "fragmented invalid UTF-8"));
    sbuf_clear(&f);
    {
        size_t n = 10000;
        char *t = malloc(n);
        memset(t, 'a', n);
        t[9000] = (char)0x80;
        cframe(&f, 1, 0, WS_OP_TEXT, 1, t, n);
        free(t);
    }
    CHECK(fails_with(&f, MAXMSG, 1007, 0, "invalid UTF-8 in a long text"));
    /* Binary messages are not checked. */
    {
        peer p;
        peer_open(&p, MAXMSG);
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_BINARY, 1, "\xff\xc0", 2);
        peer_send(&p, &f);
        CHECK(wait_msgs(&p, 1) && p.closed == 0);
        peer_free(&p);
    }

    /* Size limit. */
    {
        uint8_t d[1200];
        memset(d, 'm', sizeof d);
        peer p;
        peer_open(&p, 1000);
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_TEXT, 1, d, 1000); /* exactly the limit */
        cframe(&f, 0, 0, WS_OP_TEXT, 1, d, 500);
        cframe(&f, 1, 0, WS_OP_CONT, 1, d, 500);
        peer_send(&p, &f);
        CHECK(wait_msgs(&p, 2) && p.closed == 0 && p.last.len == 1000);
        peer_free(&p);
        CHECK(wait_count(0));
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_TEXT, 1, d, 1001);
        CHECK(fails_with(&f, 1000, 1009, 0, "text over max_message"));
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_BINARY, 1, d, 1200);
        CHECK(fails_with(&f, 1000, 1009, 0, "binary over max_message"));
        sbuf_clear(&f);
        cframe(&f, 0, 0, WS_OP_BINARY, 1, d, 600);
        cframe(&f, 1, 0, WS_OP_CONT, 1, d, 600);
        CHECK(fails_with(&f, 1000, 1009, 0, "fragments over max_message"));
        /* Control frames do not count against the limit. */
        peer_open(&p, 10);
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_PING, 1, d, 100);
        peer_send(&p, &f);
        CHECK(wait_frames(&p, 1) && p.closed == 0);
        peer_free(&p);
        CHECK(wait_count(0));
    }

    /* Control frames: fragmented, too long. */
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_PING, 1, "frag", 4);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "fragmented ping"));
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_CLOSE, 1, "\x03\xe8", 2);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "fragmented close"));
    sbuf_clear(&f);
    {
        uint8_t d[126];
        memset(d, 'p', sizeof d);
        cframe(&f, 1, 0, WS_OP_PING, 1, d, 126);
    }
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "126-byte ping"));

    /* Unknown opcodes. */
    static const int bad_ops[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
    for (size_t i = 0; i < sizeof bad_ops / sizeof bad_ops[0]; i++) {
        sbuf_clear(&f);
        cframe(&f, 1, 0, bad_ops[i], 1, "op", 2);
        CHECK(fails_with(&f, MAXMSG, 1002, 0, "unknown opcode"));
    }

    /* Fragmentation errors. */
    sbuf_clear(&f);
    cframe(&f, 1, 0, WS_OP_CONT, 1, "orphan", 6);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "continuation without a start"));
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "one", 3);
    cframe(&f, 1, 0, WS_OP_TEXT, 1, "two", 3);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "new message inside a fragmented one"));
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_BINARY, 1, "one", 3);
    cframe(&f, 1, 0, WS_OP_BINARY, 1, "two", 3);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "binary inside a fragmented binary"));
    sbuf_clear(&f);
    ctext(&f, "whole");
    cframe(&f, 1, 0, WS_OP_CONT, 1, "late", 4);
    CHECK(fails_with(&f, MAXMSG, 1002, 1, "continuation after a whole message"));

    /* Bad lengths: not minimally encoded, or with the top bit set. */
    sbuf_clear(&f);
    {
        static const uint8_t nonmin16[] = {0x81, 0xfe, 0x00, 0x05, 1,   2,  3,
                                           4,    'a',  'b',  'c',  'd', 'e'};
        sbuf_append(&f, nonmin16, sizeof nonmin16);
    }
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "16-bit length below 126"));
    sbuf_clear(&f);
    {
        static const uint8_t nonmin64[] = {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 2, 3, 4};
        sbuf_append(&f, nonmin64, sizeof nonmin64);
    }
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "64-bit length below 65536"));
    sbuf_clear(&f);
    {
        static const uint8_t huge[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
        sbuf_append(&f, huge, sizeof huge);
    }
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "64-bit length with the top bit"));
    sbuf_clear(&f);
    {
        static const uint8_t big[] = {0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9};
        sbuf_append(&f, big, sizeof big); /* 4 GiB: refused on its first payload bytes */
    }
    CHECK(fails_with(&f, MAXMSG, 1009, 0, "4 GiB frame"));
    sbuf_free(&f);
}

/* ---- EOF ---- */

static void test_eof(void) {
    /* The client goes away: on_close(1006), and the connection is freed. */
    peer p;
    peer_open(&p, MAXMSG);
    sbuf f = SBUF_INIT;
    ctext(&f, "last words");
    peer_send(&p, &f);
    CHECK(wait_msgs(&p, 1));
    CHECK(ws_ctx_count(ctx) == 1);
    shutdown(p.io.fd, SHUT_WR);
    CHECK(run_until(c_detached, &p, 5000));
    CHECK(p.closed == 1 && p.close_code == 1006);
    CHECK(wait_count(0));
    peer_free(&p);

    /* In the middle of a frame. */
    peer_open(&p, MAXMSG);
    sbuf_clear(&f);
    ctext(&f, "cut short");
    f.len -= 3;
    peer_send(&p, &f);
    CHECK(run_until(c_drained, &p, 5000));
    peer_close(&p);
    CHECK(run_until(c_detached, &p, 5000));
    CHECK(p.closed == 1 && p.close_code == 1006 && p.msgs == 0);
    CHECK(wait_count(0));
    peer_free(&p);

    /* In the middle of a fragmented message, in the middle of a header. */
    peer_open(&p, MAXMSG);
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "part", 4);
    sbuf_putc(&f, 0x80);
    peer_send(&p, &f);
    CHECK(run_until(c_drained, &p, 5000));
    shutdown(p.io.fd, SHUT_WR);
    CHECK(run_until(c_detached, &p, 5000));
    CHECK(p.closed == 1 && p.close_code == 1006 && p.msgs == 0);
    CHECK(wait_count(0));
    peer_free(&p);
    sbuf_free(&f);
}

/* ---- many connections ---- */

#define NPEERS 200

static peer many[NPEERS];

static int c_all_msgs(void *a) {
    for (int i = 0; i < NPEERS; i++)
        if (many[i].msgs < want_n && !many[i].closed) return 0;
    return 1;
}

static int c_all_drained(void *a) {
    for (int i = 0; i < NPEERS; i++)
        if (!server_drained(&many[i])) return 0;
    return 1;
}

static int c_all_pongs(void *a) {
    for (int i = 0; i < NPEERS; i += 3)
        if (frames(&many[i], NULL, 0) < 1) return 0;
    return 1;
}

static void make_msg(int i, int round, uint8_t *d, size_t *len) {
    int n = snprintf((char *)d, 64, "peer %d round %d:", i, round);
    size_t total = (size_t)n + (size_t)((i * 37 + round * 1013) % 6000);
    for (size_t k = (size_t)n; k < total; k++)
        d[k] = (uint8_t)('a' + (k + (size_t)i) % 26);
    *len = total;
}

static void test_many_connections(void) {
    static uint8_t d[7000];
    size_t len;
    for (int i = 0; i < NPEERS; i++)
        peer_open(&many[i], MAXMSG);
    CHECK(ws_ctx_count(ctx) == NPEERS);
    uint64_t want[NPEERS];
    for (int i = 0; i < NPEERS; i++)
        want[i] = 0;

    /* Round 0: half a frame to everyone (cut at a different point each),
     * then the other halves in reverse order. */
    sbuf frames0[NPEERS];
    size_t cut[NPEERS];
    for (int i = 0; i < NPEERS; i++) {
        frames0[i] = (sbuf)SBUF_INIT;
        make_msg(i, 0, d, &len);
        cframe(&frames0[i], 1, 0, WS_OP_TEXT, 1, d, len);
        want[i] = hash_msg(want[i], 0, d, len);
        cut[i] = (size_t)(i * 7919) % frames0[i].len;
        sbuf part = {frames0[i].data, cut[i], cut[i]};
        peer_send(&many[i], &part);
    }
    CHECK(run_until(c_all_drained, NULL, 5000));
    int early = 0;
    for (int i = 0; i < NPEERS; i++)
        early += many[i].msgs;
    CHECK(early == 0);
    for (int i = NPEERS - 1; i >= 0; i--) {
        sbuf rest = {frames0[i].data + cut[i], frames0[i].len - cut[i], 0};
        peer_send(&many[i], &rest);
    }
    want_n = 1;
    CHECK(run_until(c_all_msgs, NULL, 5000));

    /* Round 1: a few whole frames to everyone at once, plus a ping to every
     * third peer, all written before the loop runs. */
    for (int i = 0; i < NPEERS; i++) {
        sbuf b = SBUF_INIT;
        for (int round = 1; round <= 3; round++) {
            make_msg(i, round, d, &len);
            cframe(&b, 1, 0, round == 2 ? WS_OP_BINARY : WS_OP_TEXT, 1, d, len);
            want[i] = hash_msg(want[i], round == 2, d, len);
        }
        if (i % 3 == 0) cframe(&b, 1, 0, WS_OP_PING, 1, &i, sizeof i);
        peer_send(&many[i], &b);
        sbuf_free(&b);
    }
    want_n = 4;
    CHECK(run_until(c_all_msgs, NULL, 5000));
    CHECK(run_until(c_all_pongs, NULL, 5000));

    /* Round 2: one byte of a header to everyone, then the rest, in a shuffled order. */
    sbuf frames2[NPEERS];
    for (int i = 0; i < NPEERS; i++) {
        frames2[i] = (sbuf)SBUF_INIT;
        make_msg(i, 4, d, &len);
        cframe(&frames2[i], 0, 0, WS_OP_TEXT, 1, d, len / 2);
        cframe(&frames2[i], 1, 0, WS_OP_CONT, 1, d + len / 2, len - len / 2);
        want[i] = hash_msg(want[i], 0, d, len);
        sbuf one = {frames2[i].data, 1, 1};
        peer_send(&many[i], &one);
    }
    CHECK(run_until(c_all_drained, NULL, 5000));
    int order[NPEERS];
    for (int i = 0; i < NPEERS; i++)
        order[i] = i;
    for (int i = NPEERS - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < NPEERS; k++) {
        int i = order[k];
        sbuf rest = {frames2[i].data + 1, frames2[i].len - 1, 0};
        peer_send(&many[i], &rest);
    }
    want_n = 5;
    CHECK(run_until(c_all_msgs, NULL, 5000));

    int bad_hash = 0, closed = 0, bad_pong = 0;
    for (int i = 0; i < NPEERS; i++) {
        if (many[i].msgs != 5 || many[i].hash != want[i]) bad_hash++;
        closed += many[i].closed;
        sframe sf[4];
        int nf = frames(&many[i], sf, 4);
        if (i % 3 == 0 && (nf != 1 || sf[0].opcode != WS_OP_PONG || sf[0].len != sizeof i ||
                           memcmp(sf[0].data, &i, sizeof i) != 0))
            bad_pong++;
        if (i % 3 != 0 && nf != 0) bad_pong++;
    }
    CHECK(bad_hash == 0);
    CHECK(closed == 0);
    CHECK(bad_pong == 0);
    for (int i = 0; i < NPEERS; i++) {
        sbuf_free(&frames0[i]);
        sbuf_free(&frames2[i]);
    }
    /* Everyone leaves. */
    for (int i = 0; i < NPEERS; i++) {
        if (many[i].registered) sio_loop_del(loop, &many[i].io);
        many[i].registered = 0;
        close(many[i].io.fd);
        many[i].io.fd = -1;
    }
    CHECK(wait_count(0));
    int gone = 0;
    for (int i = 0; i < NPEERS; i++) {
        gone += many[i].closed == 1 && many[i].close_code == 1006;
        peer_free(&many[i]);
    }
    CHECK(gone == NPEERS);
}

/* ---- output ---- */

static int c_in_len(void *a) {
    peer *p = a;
    return p->in.len >= (size_t)want_n || p->eof;
}

static void test_send(void) {
    peer p;
    peer_open(&p, MAXMSG);
    ws_conn *c = p.c;
    sbuf want = SBUF_INIT;
    CHECK(ws_conn_send(c, WS_OP_TEXT, (const uint8_t *)"hello", 5) == SIO_OK);
    CHECK(ws_frame_append(&want, WS_OP_TEXT, (const uint8_t *)"hello", 5) == SIO_OK);
    CHECK(ws_conn_buffered(c) == want.len); /* queued, written at the end of the iteration */
    size_t big = 3u << 20;                  /* several times the socket buffer */
    uint8_t *d = malloc(big);
    for (size_t k = 0; k < big; k++)
        d[k] = (uint8_t)rnd();
    CHECK(ws_conn_send(c, WS_OP_BINARY, d, big) == SIO_OK);
    CHECK(ws_frame_append(&want, WS_OP_BINARY, d, big) == SIO_OK);
    CHECK(ws_conn_send(c, WS_OP_PING, (const uint8_t *)"p", 1) == SIO_OK);
    CHECK(ws_frame_append(&want, WS_OP_PING, (const uint8_t *)"p", 1) == SIO_OK);
    /* Pre-encoded frames. */
    sbuf raw = SBUF_INIT;
    CHECK(ws_frame_append_prefixed(&raw, WS_OP_TEXT, '4', (const uint8_t *)"broadcast", 9) ==
          SIO_OK);
    CHECK(ws_conn_send_raw(c, raw.data, raw.len) == SIO_OK);
    CHECK(sbuf_append(&want, raw.data, raw.len) == SIO_OK);
    /* Frames encoded in place. */
    sbuf *ob = ws_conn_outbuf(c);
    CHECK(ob != NULL);
    CHECK(ws_frame_append(ob, WS_OP_TEXT, (const uint8_t *)"in place", 8) == SIO_OK);
    ws_conn_flush_later(c);
    CHECK(ws_frame_append(&want, WS_OP_TEXT, (const uint8_t *)"in place", 8) == SIO_OK);
    /* An oversized control frame is refused. */
    CHECK(ws_conn_send(c, WS_OP_PING, d, 126) == SIO_EINVAL);

    want_n = (int)want.len;
    CHECK(run_until(c_in_len, &p, 10000));
    CHECK(p.in.len == want.len && memcmp(p.in.data, want.data, want.len) == 0);
    CHECK(ws_conn_buffered(c) == 0);

    /* Sending from the message handler (echo). */
    p.action = ACT_ECHO;
    sbuf f = SBUF_INIT;
    ctext(&f, "echo me");
    cframe(&f, 1, 0, WS_OP_BINARY, 1, d, 70000);
    peer_send(&p, &f);
    CHECK(ws_frame_append(&want, WS_OP_TEXT, (const uint8_t *)"echo me", 7) == SIO_OK);
    CHECK(ws_frame_append(&want, WS_OP_BINARY, d, 70000) == SIO_OK);
    want_n = (int)want.len;
    CHECK(run_until(c_in_len, &p, 10000));
    CHECK(p.in.len == want.len && memcmp(p.in.data, want.data, want.len) == 0);
    p.action = ACT_NONE;

    /* The server closes: a close frame with code and reason, then EOF; no
     * callback, and nothing more can be sent. */
    ws_conn_close(c, 1001, "going away");
    p.c = NULL;
    CHECK(!ws_conn_is_open(c));
    CHECK(ws_conn_send(c, WS_OP_TEXT, (const uint8_t *)"x", 1) == SIO_ECLOSED);
    CHECK(ws_conn_send_raw(c, raw.data, raw.len) == SIO_ECLOSED);
    CHECK(ws_conn_outbuf(c) == NULL);
    ws_conn_close(c, 1000, NULL); /* twice is harmless */
    CHECK(ws_frame_append_close(&want, 1001, "going away") == SIO_OK);
    CHECK(run_until(c_eof, &p, 5000));
    CHECK(p.in.len == want.len && memcmp(p.in.data, want.data, want.len) == 0);
    CHECK(p.closed == 0);
    /* Input after the close frame is ignored. */
    sbuf_clear(&f);
    ctext(&f, "ignored");
    peer_send(&p, &f);
    peer_free(&p);
    CHECK(wait_count(0));
    CHECK(p.msgs == 2 && p.closed == 0);
    sbuf_free(&f);
    sbuf_free(&raw);
    sbuf_free(&want);
    free(d);
}

/* ---- bytes read before the upgrade ---- */

static void test_pre(void) {
    sbuf pre = SBUF_INIT, rest = SBUF_INIT;
    ctext(&pre, "pre one");
    cframe(&pre, 1, 0, WS_OP_PING, 1, "pp", 2);
    ctext(&rest, "pre two, split");
    size_t half = rest.len / 2;
    sbuf_append(&pre, rest.data, half);
    peer p;
    peer_open_pre(&p, MAXMSG, pre.data, pre.len);
    CHECK(wait_msgs(&p, 1));
    CHECK(msg_is(&p, 0, "pre one", 7));
    sbuf tail = {rest.data + half, rest.len - half, 0};
    peer_send(&p, &tail);
    CHECK(wait_msgs(&p, 2));
    CHECK(msg_is(&p, 0, "pre two, split", 14));
    CHECK(wait_frames(&p, 1));
    sframe sf[2];
    CHECK(frames(&p, sf, 2) == 1 && sf[0].opcode == WS_OP_PONG && sf[0].len == 2);
    peer_free(&p);
    CHECK(wait_count(0));

    /* A protocol error in the early bytes. */
    sbuf_clear(&pre);
    cframe(&pre, 1, 0, WS_OP_TEXT, 0, "unmasked", 8);
    peer_open_pre(&p, MAXMSG, pre.data, pre.len);
    CHECK(run_until(c_closed, &p, 5000));
    CHECK(p.close_code == 1002 && server_close_code(&p) == 1002);
    peer_free(&p);
    CHECK(wait_count(0));
    sbuf_free(&pre);
    sbuf_free(&rest);
}

/* ---- handlers that close, owners, timers ---- */

static int owner_msgs;

static void owner2_message(ws_conn *c, int binary, const uint8_t *data, size_t len) {
    owner_msgs++;
}

static const ws_handler handler2 = {owner2_message, h_close, NULL, NULL};

static int timer_fired;

static void on_conn_timer(sio_loop *l, sio_timer *t) {
    timer_fired++;
}

static int c_timer(void *a) {
    return timer_fired > 0;
}

static void test_handlers(void) {
    /* Closing from on_message: later frames of the same read are dropped. */
    peer p;
    peer_open(&p, MAXMSG);
    p.action = ACT_CLOSE;
    sbuf f = SBUF_INIT;
    ctext(&f, "close me");
    ctext(&f, "dropped");
    peer_send(&p, &f);
    CHECK(run_until(c_eof, &p, 5000));
    CHECK(p.msgs == 1 && p.closed == 0);
    CHECK(server_close_code(&p) == 4000);
    peer_free(&p);
    CHECK(wait_count(0));

    /* Aborting from on_message: no close frame, just EOF. */
    peer_open(&p, MAXMSG);
    p.action = ACT_ABORT;
    sbuf_clear(&f);
    ctext(&f, "abort me");
    ctext(&f, "dropped");
    peer_send(&p, &f);
    CHECK(run_until(c_eof, &p, 5000));
    CHECK(p.msgs == 1 && p.closed == 0 && p.in.len == 0);
    CHECK(wait_count(0));
    peer_free(&p);

    /* A new owner gets the messages. */
    peer_open(&p, MAXMSG);
    owner_msgs = 0;
    ws_conn_set_owner(p.c, &handler2, &p);
    sbuf_clear(&f);
    ctext(&f, "to owner 2");
    peer_send(&p, &f);
    CHECK(run_until(c_drained, &p, 5000));
    CHECK(owner_msgs == 1 && p.msgs == 0);
    /* The owner's timer. */
    timer_fired = 0;
    ws_conn_set_timeout(p.c, 5, on_conn_timer);
    CHECK(run_until(c_timer, NULL, 5000));
    CHECK(timer_fired == 1);
    /* Closing disarms the owner's timer, and it cannot be armed again. */
    ws_conn *c = p.c;
    timer_fired = 0;
    ws_conn_set_timeout(c, 5, on_conn_timer);
    ws_conn_close(c, 1000, NULL);
    p.c = NULL;
    ws_conn_set_timeout(c, 1, on_conn_timer);
    CHECK(run_until(c_eof, &p, 5000));
    peer_free(&p);
    CHECK(wait_count(0));
    CHECK(timer_fired == 0);

    /* ws_conn_abort from outside the loop. */
    peer_open(&p, MAXMSG);
    ws_conn_abort(p.c);
    p.c = NULL;
    CHECK(ws_ctx_count(ctx) == 0);
    CHECK(run_until(c_eof, &p, 5000));
    CHECK(p.closed == 0);
    peer_free(&p);
    sbuf_free(&f);
}

/* ---- bugs, each in a child process so a crash is one failed check ---- */

static void fresh_loop(void) {
    loop = sio_loop_new();
    ctx = ws_ctx_new(loop);
    if (!loop || !ctx) exit(3);
    sio_loop_add_hook(loop, until_hook, NULL);
}

static void free_loop(void) {
    ws_ctx_free(ctx);
    ctx = NULL;
    /* One more iteration runs the deferred frees of ws_ctx_free. */
    sio_timer t;
    memset(&t, 0, sizeof t);
    sio_timer_start(loop, &t, 0, on_timeout);
    sio_loop_run(loop);
    sio_loop_remove_hook(loop, until_hook, NULL);
    sio_loop_free(loop);
    loop = NULL;
}

/* A connection that queued output and then sees EOF in the same read is
 * destroyed while still on the flush list. */
static void child_output_then_eof(int action, int ping) {
    fresh_loop();
    peer p;
    peer_open(&p, MAXMSG);
    p.action = action;
    sbuf f = SBUF_INIT;
    if (ping)
        cframe(&f, 1, 0, WS_OP_PING, 1, "ping", 4);
    else
        ctext(&f, "message");
    peer_send(&p, &f);
    sbuf_free(&f);
    if (action != ACT_SEND_ABORT) shutdown(p.io.fd, SHUT_WR); /* data and EOF in one read */
    run_until(c_detached, &p, 2000);
    run_until(c_eof, &p, 2000);
    peer_free(&p);
    free_loop();
    exit(p.c == NULL ? 0 : 4);
}

/* ws_ctx_free after the loop stopped, then sio_loop_free, as main() does at shutdown. */
static void child_shutdown_leak(void) {
    fresh_loop();
    peer p;
    peer_open(&p, MAXMSG);
    sbuf f = SBUF_INIT;
    ctext(&f, "hello");
    peer_send(&p, &f);
    sbuf_free(&f);
    wait_msgs(&p, 1);
    ws_ctx_free(ctx);
    sio_loop_remove_hook(loop, until_hook, NULL);
    sio_loop_free(loop);
    p.c = NULL; /* only the loop's deferred list knew the connection */
    close(p.io.fd);
    sbuf_free(&p.last);
    sbuf_free(&p.in);
    sbuf_free(&p.pending);
    exit(0); /* LeakSanitizer runs here */
}

enum { BUG_PING_EOF, BUG_ECHO_EOF, BUG_SEND_ABORT, BUG_SHUTDOWN_LEAK };

static int in_child(int which) {
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        switch (which) {
        case BUG_PING_EOF:
            child_output_then_eof(ACT_NONE, 1);
            break;
        case BUG_ECHO_EOF:
            child_output_then_eof(ACT_ECHO, 0);
            break;
        case BUG_SEND_ABORT:
            child_output_then_eof(ACT_SEND_ABORT, 0);
            break;
        default:
            child_shutdown_leak();
            break;
        }
        exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_bugs(void) {
    static const char *what[] = {
        "a ping, then EOF in the same read",
        "a message echoed from on_message, then EOF in the same read",
        "ws_conn_send then ws_conn_abort in on_message",
        "ws_ctx_free + sio_loop_free at shutdown (leak check)",
    };
    for (int which = BUG_PING_EOF; which <= BUG_SHUTDOWN_LEAK; which++) {
        int ok = in_child(which);
        if (!ok) fprintf(stderr, "  child process failed: %s\n", what[which]);
        CHECK(ok);
    }
}

/* ---- permessage-deflate ---- */

/* Text that compresses well: a few words repeated in varying order. */
static void words(sbuf *out, size_t n) {
    static const char *const w[] = {"socket ", "engine ", "deflate ", "message ", "frame "};
    while (out->len < n)
        sbuf_puts(out, w[rnd() % 5]);
    out->len = n;
}

/* Inflate the i-th server frame of p->in, which must carry RSV1. */
static int server_frame_inflates_to(const peer *p, int i, const sbuf *want, zcodec *z) {
    sframe f[8];
    int n = frames(p, f, 8);
    if (i >= n || f[i].rsv != 4) {
        fprintf(stderr, "  frame %d: %d frames, rsv %d\n", i, n, i < n ? f[i].rsv : -1);
        return 0;
    }
    sbuf d = SBUF_INIT;
    int ok = zc_inflate_raw(z, f[i].data, f[i].len, MAXMSG, &d) == SIO_OK && d.len == want->len &&
             memcmp(d.data, want->data, d.len) == 0;
    sbuf_free(&d);
    return ok;
}

static void test_deflate(void) {
    zcodec *z = zc_new(-1);
    sbuf text = SBUF_INIT, c = SBUF_INIT, f = SBUF_INIT;
    words(&text, 20000);
    CHECK(zc_compress(z, ZC_RAW, text.data, text.len, &c) == SIO_OK);
    CHECK(c.len < text.len / 3);
    peer_deflate = 1;

    /* A compressed text is delivered inflated; the echo goes compressed. */
    {
        peer p;
        peer_open(&p, MAXMSG);
        p.action = ACT_ECHO;
        cframe(&f, 1, 4, WS_OP_TEXT, 1, c.data, c.len);
        peer_send(&p, &f);
        CHECK(wait_msgs(&p, 1));
        CHECK(msg_is(&p, 0, text.data, text.len));
        CHECK(wait_frames(&p, 1));
        CHECK(server_frame_inflates_to(&p, 0, &text, z));
        /* Below the threshold: plain, RSV1 clear. */
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_TEXT, 1, text.data, WS_DEFLATE_THRESHOLD - 1);
        peer_send(&p, &f);
        CHECK(wait_msgs(&p, 2));
        CHECK(wait_frames(&p, 2));
        sframe fr[2];
        frames(&p, fr, 2);
        CHECK(fr[1].rsv == 0 && fr[1].len == WS_DEFLATE_THRESHOLD - 1);
        /* Fragmented: RSV1 on the first frame only. */
        sbuf_clear(&f);
        cframe(&f, 0, 4, WS_OP_TEXT, 1, c.data, 100);
        cframe(&f, 0, 0, WS_OP_CONT, 1, c.data + 100, 1000);
        cframe(&f, 1, 0, WS_OP_CONT, 1, c.data + 1100, c.len - 1100);
        peer_send(&p, &f);
        CHECK(wait_msgs(&p, 3));
        CHECK(msg_is(&p, 0, text.data, text.len));
        CHECK(wait_frames(&p, 3));
        CHECK(server_frame_inflates_to(&p, 2, &text, z));
        /* Incompressible bytes above the threshold go as they are. */
        uint8_t rnd_bytes[4096];
        for (size_t i = 0; i < sizeof rnd_bytes; i++)
            rnd_bytes[i] = (uint8_t)rnd();
        sbuf_clear(&p.in);
        CHECK(ws_conn_send(p.c, WS_OP_BINARY, rnd_bytes, sizeof rnd_bytes) == SIO_OK);
        CHECK(wait_frames(&p, 1));
        frames(&p, fr, 1);
        CHECK(fr[0].rsv == 0 && fr[0].len == sizeof rnd_bytes);
        /* The prefixed form (Engine.IO's "4" + message) compresses as one. */
        sbuf_clear(&p.in);
        CHECK(ws_conn_send_prefixed(p.c, WS_OP_TEXT, '4', text.data, text.len) == SIO_OK);
        CHECK(wait_frames(&p, 1));
        sbuf want = SBUF_INIT;
        sbuf_putc(&want, '4');
        sbuf_append(&want, text.data, text.len);
        CHECK(server_frame_inflates_to(&p, 0, &want, z));
        sbuf_free(&want);
        /* Control frames never carry RSV1. */
        sbuf_clear(&p.in);
        sbuf_clear(&f);
        cframe(&f, 1, 0, WS_OP_PING, 1, "ping", 4);
        peer_send(&p, &f);
        CHECK(wait_frames(&p, 1));
        frames(&p, fr, 1);
        CHECK(fr[0].opcode == WS_OP_PONG && fr[0].rsv == 0);
        peer_free(&p);
        CHECK(wait_count(0));
    }

    /* Broadcast frames: compressed once into a variant for deflate receivers. */
    {
        sbuf plain = SBUF_INIT, out = SBUF_INIT;
        ws_frame_append(&plain, WS_OP_TEXT, (const uint8_t *)"small", 5);
        ws_frame_append_prefixed(&plain, WS_OP_TEXT, '4', text.data, text.len);
        ws_frame_append(&plain, WS_OP_PING, NULL, 0);
        CHECK(ws_ctx_deflate_frames(ctx, plain.data, plain.len, &out) == 1);
        CHECK(out.len < plain.len / 2);
        sframe fr[3];
        CHECK(frame_at(out.data, out.len, &fr[0]) && fr[0].rsv == 0 && fr[0].len == 5);
        CHECK(frame_at(out.data + fr[0].size, out.len - fr[0].size, &fr[1]) && fr[1].rsv == 4);
        size_t o2 = fr[0].size + fr[1].size;
        CHECK(frame_at(out.data + o2, out.len - o2, &fr[2]) && fr[2].opcode == WS_OP_PING &&
              fr[2].size == out.len - o2);
        sbuf d = SBUF_INIT;
        CHECK(zc_inflate_raw(z, fr[1].data, fr[1].len, MAXMSG, &d) == SIO_OK);
        CHECK(d.len == text.len + 1 && d.data[0] == '4' &&
              !memcmp(d.data + 1, text.data, text.len));
        sbuf_clear(&out);
        CHECK(ws_ctx_deflate_frames(ctx, plain.data, 7, &out) == 0); /* the small one alone */
        CHECK(out.len == 7 && !memcmp(out.data, plain.data, 7));
        sbuf_clear(&out);
        CHECK(ws_ctx_deflate_frames(ctx, plain.data, 9, &out) == SIO_EINVAL); /* cut frame */
        sbuf_free(&d);
        sbuf_free(&plain);
        sbuf_free(&out);
    }

    /* What a peer with deflate may not send. */
    sbuf_clear(&f);
    cframe(&f, 0, 0, WS_OP_TEXT, 1, "ab", 2);
    cframe(&f, 1, 4, WS_OP_CONT, 1, c.data, c.len);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "RSV1 on a continuation"));
    sbuf_clear(&f);
    cframe(&f, 1, 4, WS_OP_PING, 1, "", 0);
    CHECK(fails_with(&f, MAXMSG, 1002, 0, "RSV1 on a ping"));
    for (int rsv = 1; rsv <= 3; rsv++) {
        sbuf_clear(&f);
        cframe(&f, 1, rsv, WS_OP_TEXT, 1, "rsv", 3);
        CHECK(fails_with(&f, MAXMSG, 1002, 0, "RSV2/RSV3"));
    }
    /* A small frame that inflates past max_message: 1009, as npm ws. */
    {
        size_t n = 2000000;
        uint8_t *zeros = calloc(1, n);
        sbuf bomb = SBUF_INIT;
        CHECK(zc_compress(z, ZC_RAW, zeros, n, &bomb) == SIO_OK);
        CHECK(bomb.len < 4096);
        sbuf_clear(&f);
        cframe(&f, 1, 4, WS_OP_BINARY, 1, bomb.data, bomb.len);
        CHECK(fails_with(&f, 1000000, 1009, 0, "inflates past max_message"));
        free(zeros);
        sbuf_free(&bomb);
    }
    /* Bytes that are not deflate data: 1007, as npm ws. */
    sbuf_clear(&f);
    cframe(&f, 1, 4, WS_OP_TEXT, 1, "ÿÿÿÿ garbage", 12);
    CHECK(fails_with(&f, MAXMSG, 1007, 0, "not deflate data"));
    /* Inflated text is still checked for UTF-8. */
    {
        sbuf bad = SBUF_INIT;
        CHECK(zc_compress(z, ZC_RAW, (const uint8_t *)"ok \xff", 4, &bad) == SIO_OK);
        sbuf_clear(&f);
        cframe(&f, 1, 4, WS_OP_TEXT, 1, bad.data, bad.len);
        CHECK(fails_with(&f, MAXMSG, 1007, 0, "inflated invalid UTF-8"));
        sbuf_free(&bad);
    }
    peer_deflate = 0;
    zc_free(z);
    sbuf_free(&text);
    sbuf_free(&c);
    sbuf_free(&f);
}

int main(void) {
    /* The crash tests fork first, before this process has a loop to share. */
    test_bugs();

    fresh_loop();
    test_messages();
    test_fragments();
    test_small_writes();
    test_big();
    test_ping_pong();
    test_close();
    test_protocol_errors();
    test_eof();
    test_many_connections();
    test_send();
    test_pre();
    test_handlers();
    test_deflate();
    CHECK(ws_ctx_count(ctx) == 0);
    CHECK(timeouts == 0);
    free_loop();
    return CHECK_DONE();
}
