#include "ws/conn.h"

#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <wslay/wslay.h>

#include "sio/status.h"
#include "util/slab.h"
#include "util/zcodec.h"
#include "ws/deflate.h"
#include "ws/frame.h"

enum { ST_OPEN, ST_CLOSING, ST_LINGER, ST_DEAD };

#define LINGER_MS   2000
#define READ_BUDGET (256 * 1024)
#define MAX_POOL_RX 64
#define FLUSH_IOV   64
/* Compression scratch buffers larger than this are freed after use. */
#define KEEP_Z_CAP (64 * 1024)

/* Parser state that lives only while a connection has unparsed input. */
struct ws_rx {
    wslay_frame_context_ptr fctx;
    struct ws_rx *next_free;
    uint64_t given;    /* bytes handed to wslay */
    uint64_t consumed; /* bytes of completed frames */
    uint64_t frame_len;
    uint64_t frame_got;
    uint8_t in_frame;
    uint8_t opcode;
    uint8_t fin;
    uint8_t ctrl_len;
    uint8_t ctrl[125];
};

struct ws_ctx {
    sio_loop *loop;
    struct ws_rx *free_rx;
    size_t n_free_rx;
    ws_conn *dirty;
    ws_conn *all;
    size_t count;
    /* wslay fixes user_data at init, and a pooled parser context serves many
     * connections: its user_data is this ctx, which names the connection
     * being parsed and what it may still read in this pass. */
    ws_conn *rx_current;
    size_t rx_budget;
    /* permessage-deflate, borrowed for one message at a time by every
     * connection that negotiated it (ws/deflate.h): made at the first
     * compressed message, so a loop without one pays nothing. */
    zcodec *z;
    sbuf z_in;        /* a prefixed message made contiguous for the compressor */
    sbuf z_out;       /* a compressed message before it is framed */
    sbuf z_msg;       /* an inflated message while it is delivered (taken, then given back) */
    slab_pool *conns; /* the connections' memory (util/slab.h): it outlives the
                         context until the last deferred free */
};

static ssize_t rx_recv(uint8_t *buf, size_t len, int flags, void *ud) {
    ws_ctx *ctx = ud;
    ws_conn *c = ctx->rx_current;
    if (c->pre.len) {
        size_t n = c->pre.len < len ? c->pre.len : len;
        memcpy(buf, c->pre.data, n);
        sbuf_consume(&c->pre, n);
        if (!c->pre.len) sbuf_free(&c->pre);
        c->rx->given += n;
        return (ssize_t)n;
    }
    if (ctx->rx_budget == 0) return -1;
    if (len > ctx->rx_budget) len = ctx->rx_budget;
    ssize_t n = recv(c->io.fd, buf, len, 0);
    if (n > 0) {
        ctx->rx_budget -= (size_t)n;
        c->rx->given += (uint64_t)n;
        return n;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) c->eof = 1;
    return -1;
}

static ssize_t rx_send(const uint8_t *data, size_t len, int flags, void *ud) {
    return -1;
}
static int rx_genmask(uint8_t *buf, size_t len, void *ud) {
    return -1;
}

static const struct wslay_frame_callbacks rx_callbacks = {rx_send, rx_recv, rx_genmask};

static struct ws_rx *rx_borrow(ws_ctx *ctx) {
    struct ws_rx *rx = ctx->free_rx;
    if (rx) {
        ctx->free_rx = rx->next_free;
        ctx->n_free_rx--;
    } else {
        rx = malloc(sizeof *rx);
        if (!rx) return NULL;
        if (wslay_frame_context_init(&rx->fctx, &rx_callbacks, ctx)) {
            free(rx);
            return NULL;
        }
    }
    wslay_frame_context_ptr f = rx->fctx;
    memset(rx, 0, sizeof *rx);
    rx->fctx = f;
    return rx;
}

static void rx_release(ws_ctx *ctx, struct ws_rx *rx) {
    /* A context with a half-read frame or buffered bytes cannot serve another
     * connection; only clean ones go back to the pool. */
    int clean = !rx->in_frame && rx->given == rx->consumed;
    if (!clean || ctx->n_free_rx >= MAX_POOL_RX) {
        wslay_frame_context_free(rx->fctx);
        free(rx);
        return;
    }
    rx->next_free = ctx->free_rx;
    ctx->free_rx = rx;
    ctx->n_free_rx++;
}

static void flush_dirty(sio_loop *loop, void *ud);
static void flush(ws_conn *c);

ws_ctx *ws_ctx_new(sio_loop *loop) {
    ws_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->loop = loop;
    if (!(ctx->conns = slab_new(sizeof(ws_conn))) || sio_loop_add_hook(loop, flush_dirty, ctx)) {
        slab_release(ctx->conns);
        free(ctx);
        return NULL;
    }
    return ctx;
}

size_t ws_ctx_count(const ws_ctx *ctx) {
    return ctx->count;
}

static void conn_free(void *p) {
    ws_conn *c = p;
    segq_free(&c->out);
    sbuf_free(&c->msg);
    sbuf_free(&c->pre);
    slab_free(c);
}

/* Off the flush list: a connection destroyed after its context's flush ran
 * in this round (a later hook's work aborted it) would otherwise be freed at
 * the end of the round and still be named there by the next flush. */
static void undirty(ws_conn *c) {
    if (!c->dirty) return;
    if (c->prev_dirty)
        c->prev_dirty->next_dirty = c->next_dirty;
    else
        c->ctx->dirty = c->next_dirty;
    if (c->next_dirty) c->next_dirty->prev_dirty = c->prev_dirty;
    c->next_dirty = c->prev_dirty = NULL;
    c->dirty = 0;
}

static void conn_destroy(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    if (c->state == ST_DEAD) return;
    undirty(c);
    c->state = ST_DEAD;
    sio_timer_stop(ctx->loop, &c->timer);
    sio_loop_del(ctx->loop, &c->io);
    close(c->io.fd);
    c->io.fd = -1;
    if (c->rx) {
        c->rx->in_frame = 1; /* never pool a context torn away mid-stream */
        rx_release(ctx, c->rx);
        c->rx = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        ctx->all = c->next;
    if (c->next) c->next->prev = c->prev;
    ctx->count--;
    /* An event of this batch may still point at it. */
    if (sio_loop_free_later(ctx->loop, c, conn_free)) conn_free(c);
}

void ws_ctx_free(ws_ctx *ctx) {
    if (!ctx) return;
    while (ctx->all) {
        ws_conn *c = ctx->all;
        c->h = NULL;
        /* What is queued (the close frame of a server shutting down) gets one
         * non-blocking write: the peer hears why, not just a dropped socket. */
        if (c->state == ST_CLOSING) flush(c);
        conn_destroy(c);
    }
    while (ctx->free_rx) {
        struct ws_rx *rx = ctx->free_rx;
        ctx->free_rx = rx->next_free;
        wslay_frame_context_free(rx->fctx);
        free(rx);
    }
    sio_loop_remove_hook(ctx->loop, flush_dirty, ctx);
    zc_free(ctx->z);
    sbuf_free(&ctx->z_in);
    sbuf_free(&ctx->z_out);
    sbuf_free(&ctx->z_msg);
    slab_release(ctx->conns);
    free(ctx);
}

static void notify_close(ws_conn *c, int code) {
    const ws_handler *h = c->h;
    c->h = NULL;
    if (h && h->on_close) h->on_close(c, code);
}

static void linger_timeout(sio_loop *loop, sio_timer *t) {
    ws_conn *c = (ws_conn *)((char *)t - offsetof(ws_conn, timer));
    conn_destroy(c);
}

/* Keep out_partial right as n more bytes leave: step over the headers of the
 * frames they reach into. Each frame is looked at once, when it starts going;
 * the queue holds whole frames only and none spans two of its parts, so a
 * frame that does not parse cannot happen (then everything left counts as in
 * flight, and ws_conn_shed drops nothing). */
static void sent_bytes(ws_conn *c, size_t n) {
    size_t off = c->out_partial;
    while (off < n) {
        size_t avail;
        const uint8_t *p = segq_at(&c->out, off, &avail);
        size_t f = p ? ws_frame_size(p, avail) : 0;
        if (!f || f > avail) {
            off = segq_len(&c->out);
            break;
        }
        off += f;
    }
    c->out_partial = off - n;
    segq_consume(&c->out, n);
}

/* Write what the kernel takes: one send for a lone buffer, else one sendmsg
 * gathering up to FLUSH_IOV parts (own frames and shared broadcasts). */
static ssize_t write_out(ws_conn *c) {
    if (!c->out.n)
        return send(c->io.fd, c->out.tail.data, c->out.tail.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    struct iovec iov[FLUSH_IOV];
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = segq_iov(&c->out, iov, FLUSH_IOV, NULL)};
    return sendmsg(c->io.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void flush(ws_conn *c) {
    while (segq_len(&c->out)) {
        ssize_t n = write_out(c);
        if (n > 0) {
            sent_bytes(c, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->blocked = 1;
            sio_loop_mod(c->ctx->loop, &c->io, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
            return;
        }
        notify_close(c, 1006);
        conn_destroy(c);
        return;
    }
    /* An idle connection keeps no output memory: a malloc and free per write
     * (~50 ns) beside a send() of microseconds, against 144 B on every idle
     * session (most of them, most of the time). */
    segq_free(&c->out);
    sio_loop_mod(c->ctx->loop, &c->io, EPOLLIN | EPOLLRDHUP);
    if (c->blocked || c->want_drain) {
        /* The kernel took everything after refusing some, or the owner
         * waits: producers that slowed down may go on. */
        c->blocked = 0;
        c->want_drain = 0;
        if (c->state == ST_OPEN && c->h && c->h->on_drain) c->h->on_drain(c);
        /* What on_drain queued (a close frame too) is flushed later in this
         * iteration: the half-close below must wait for it. */
        if (c->state == ST_DEAD || segq_len(&c->out)) return;
    }
    if (c->state == ST_CLOSING) {
        /* Half-close and wait briefly for the peer's FIN, so the close frame
         * is not lost to a reset caused by unread input. */
        shutdown(c->io.fd, SHUT_WR);
        c->state = ST_LINGER;
        sio_timer_start(c->ctx->loop, &c->timer, LINGER_MS, linger_timeout);
    }
}

static void on_readable(ws_conn *c);

static void flush_dirty(sio_loop *loop, void *ud) {
    ws_ctx *ctx = ud;
    while (ctx->dirty) {
        ws_conn *c = ctx->dirty;
        undirty(c);
        /* A fan-out walks thousands of connections whose state is out of
         * cache: fetch the next one while c's send runs (perf at 10k: this
         * loop's samples were the misses on each line of the struct). */
        for (size_t o = 0; ctx->dirty && o < sizeof *c; o += 64)
            __builtin_prefetch((const char *)ctx->dirty + o);
        if (c->state == ST_OPEN && c->pre.len) on_readable(c);
        if (c->state == ST_OPEN || c->state == ST_CLOSING) flush(c);
    }
}

void ws_conn_flush_later(ws_conn *c) {
    if (c->dirty || c->state == ST_DEAD) return;
    ws_ctx *ctx = c->ctx;
    c->dirty = 1;
    c->prev_dirty = NULL;
    c->next_dirty = ctx->dirty;
    if (ctx->dirty) ctx->dirty->prev_dirty = c;
    ctx->dirty = c;
}

static void close_with(ws_conn *c, uint16_t code, const char *reason, int notify) {
    if (c->state != ST_OPEN) return;
    ws_frame_append_close(segq_tail(&c->out), code, reason);
    c->state = ST_CLOSING;
    /* A peer that never reads would hold the socket and its queue forever:
     * whatever is not flushed by then is dropped with the connection. */
    sio_timer_start(c->ctx->loop, &c->timer, LINGER_MS, linger_timeout);
    if (notify) notify_close(c, code);
    c->h = NULL;
    ws_conn_flush_later(c);
}

void ws_conn_close(ws_conn *c, uint16_t code, const char *reason) {
    close_with(c, code, reason, 0);
}

void ws_conn_shed(ws_conn *c, uint16_t code, const char *reason) {
    if (c->state != ST_OPEN) return;
    segq_truncate(&c->out, c->out_partial);
    close_with(c, code, reason, 0);
}

void ws_conn_abort(ws_conn *c) {
    c->h = NULL;
    conn_destroy(c);
}

int ws_conn_is_open(const ws_conn *c) {
    return c->state == ST_OPEN;
}

void ws_conn_set_owner(ws_conn *c, const ws_handler *h, void *ud) {
    c->h = h;
    c->ud = ud;
}

void ws_conn_set_timeout(ws_conn *c, uint64_t ms, sio_timer_cb cb) {
    if (c->state != ST_OPEN) return;
    sio_timer_start(c->ctx->loop, &c->timer, ms, cb);
}

sbuf *ws_conn_outbuf(ws_conn *c) {
    return c->state == ST_OPEN ? segq_tail(&c->out) : NULL;
}

static zcodec *codec(ws_ctx *ctx) {
    if (!ctx->z) ctx->z = zc_new(-1);
    return ctx->z;
}

static void trim(sbuf *b) {
    if (b->cap > KEEP_Z_CAP)
        sbuf_free(b);
    else
        sbuf_clear(b);
}

/* Append one data message (the byte `prefix` first when it is >= 0, then
 * data) to out as one frame: compressed with RSV1 when the connection
 * negotiated it, the message reaches the threshold and deflate makes it
 * smaller (RFC 7692 lets every message choose; incompressible bytes go as
 * they are), else plain. Without memory for zlib it goes plain too. */
static int append_message(ws_ctx *ctx, sbuf *out, int opcode, int prefix, const uint8_t *data,
                          size_t len, int deflate) {
    size_t total = len + (prefix >= 0);
    if (deflate && opcode < WS_OP_CLOSE && total >= WS_DEFLATE_THRESHOLD && codec(ctx)) {
        const uint8_t *in = data;
        if (prefix >= 0) {
            sbuf_clear(&ctx->z_in);
            if (sbuf_putc(&ctx->z_in, (uint8_t)prefix) || sbuf_append(&ctx->z_in, data, len))
                goto plain;
            in = ctx->z_in.data;
        }
        sbuf_clear(&ctx->z_out);
        int done =
            zc_compress(ctx->z, ZC_RAW, in, total, &ctx->z_out) == SIO_OK && ctx->z_out.len < total;
        int r = done ? ws_frame_append_deflated(out, opcode, ctx->z_out.data, ctx->z_out.len) : 0;
        trim(&ctx->z_in);
        trim(&ctx->z_out);
        if (done) return r;
    }
plain:
    return prefix >= 0 ? ws_frame_append_prefixed(out, opcode, (uint8_t)prefix, data, len)
                       : ws_frame_append(out, opcode, data, len);
}

int ws_conn_send(ws_conn *c, int opcode, const uint8_t *data, size_t len) {
    if (c->state != ST_OPEN) return SIO_ECLOSED;
    int r = append_message(c->ctx, segq_tail(&c->out), opcode, -1, data, len, c->deflate);
    if (r == SIO_OK) ws_conn_flush_later(c);
    return r;
}

int ws_conn_send_prefixed(ws_conn *c, int opcode, uint8_t prefix, const uint8_t *data, size_t len) {
    if (c->state != ST_OPEN) return SIO_ECLOSED;
    int r = append_message(c->ctx, segq_tail(&c->out), opcode, prefix, data, len, c->deflate);
    if (r == SIO_OK) ws_conn_flush_later(c);
    return r;
}

int ws_ctx_deflate_frames(ws_ctx *ctx, const uint8_t *frames, size_t n, sbuf *out) {
    int changed = 0;
    for (size_t off = 0; off < n;) {
        const uint8_t *p = frames + off;
        size_t f = ws_frame_size(p, n - off);
        if (!f || f > n - off) return SIO_EINVAL;
        size_t hl = (p[1] & 0x7f) < 126 ? 2 : (p[1] & 0x7f) == 126 ? 4 : 10;
        int op = p[0] & 0x0f, plain = (p[0] & 0xf0) == 0x80;
        size_t before = out->len;
        int r = plain && op < WS_OP_CLOSE && op != WS_OP_CONT && f - hl >= WS_DEFLATE_THRESHOLD
                    ? append_message(ctx, out, op, -1, p + hl, f - hl, 1)
                    : sbuf_append(out, p, f);
        if (r) return r;
        if (out->len - before != f || (out->data[before] & WS_RSV1)) changed++;
        off += f;
    }
    return changed;
}

int ws_conn_send_raw(ws_conn *c, const uint8_t *frames, size_t len) {
    if (c->state != ST_OPEN) return SIO_ECLOSED;
    if (sbuf_append(segq_tail(&c->out), frames, len)) return SIO_ENOMEM;
    ws_conn_flush_later(c);
    return SIO_OK;
}

int ws_conn_send_shared(ws_conn *c, sbuf_shared *frames) {
    if (c->state != ST_OPEN) return SIO_ECLOSED;
    if (segq_push_shared(&c->out, frames)) return SIO_ENOMEM;
    ws_conn_flush_later(c);
    return SIO_OK;
}

static void protocol_error(ws_conn *c, uint16_t code, const char *why) {
    close_with(c, code, why, 1);
}

/* Deliver a complete message; a compressed one is inflated first into the
 * context's buffer, bounded by max_message (a few bytes can inflate to
 * gigabytes). The buffer is taken from the context for the call: on_message
 * may send, and compressing uses the context's other buffers. */
static void deliver(ws_conn *c, int opcode, const uint8_t *data, size_t len, int deflated) {
    ws_ctx *ctx = c->ctx;
    sbuf plain = SBUF_INIT;
    if (deflated) {
        plain = ctx->z_msg;
        ctx->z_msg = (sbuf)SBUF_INIT;
        sbuf_clear(&plain);
        int r = codec(ctx) ? zc_inflate_raw(ctx->z, data, len, c->max_message, &plain) : SIO_ENOMEM;
        if (r != SIO_OK) {
            sbuf_free(&plain);
            /* As npm `ws`: too big is 1009, bytes that do not inflate 1007. */
            if (r == SIO_ETOOBIG)
                protocol_error(c, 1009, "message too big");
            else if (r == SIO_EPARSE)
                protocol_error(c, 1007, "invalid compressed data");
            else
                protocol_error(c, 1011, "out of memory");
            return;
        }
        data = plain.data;
        len = plain.len;
    }
    if (opcode == WS_OP_TEXT && !ws_utf8_valid(data, len))
        protocol_error(c, 1007, "invalid UTF-8");
    else if (c->h && c->h->on_message)
        c->h->on_message(c, opcode == WS_OP_BINARY, data, len);
    if (!deflated) return;
    if (!ctx->z_msg.cap && plain.cap <= KEEP_Z_CAP)
        ctx->z_msg = plain;
    else
        sbuf_free(&plain);
}

static void control_frame(ws_conn *c, struct ws_rx *rx) {
    switch (rx->opcode) {
    case WS_OP_PING:
        ws_conn_send(c, WS_OP_PONG, rx->ctrl, rx->ctrl_len);
        break;
    case WS_OP_PONG:
        if (c->h && c->h->on_pong) c->h->on_pong(c);
        break;
    case WS_OP_CLOSE: {
        int code = 1005;
        if (rx->ctrl_len == 1) {
            protocol_error(c, 1002, "bad close frame");
            return;
        }
        if (rx->ctrl_len >= 2) {
            code = rx->ctrl[0] << 8 | rx->ctrl[1];
            int valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                        (code >= 3000 && code <= 4999);
            if (!valid || !ws_utf8_valid(rx->ctrl + 2, rx->ctrl_len - 2u)) {
                protocol_error(c, 1002, "bad close frame");
                return;
            }
        }
        /* Echo the peer's code, as RFC 6455 section 5.5.1 asks. */
        close_with(c, code == 1005 ? 1000 : (uint16_t)code, NULL, 1);
        break;
    }
    }
}

/* One chunk of frame payload from wslay. Returns 0 to go on, -1 to stop. */
static int on_chunk(ws_conn *c, struct ws_rx *rx, const struct wslay_frame_iocb *io) {
    if (!rx->in_frame) {
        rx->in_frame = 1;
        rx->opcode = io->opcode;
        rx->fin = io->fin;
        rx->frame_len = io->payload_length;
        rx->frame_got = 0;
        rx->ctrl_len = 0;
        if (!io->mask) return protocol_error(c, 1002, "unmasked client frame"), -1;
        int op = io->opcode;
        /* RSV1 marks a compressed message: only where deflate was negotiated,
         * and only on the first frame of a data message (RFC 7692 6.1). */
        int rsv_ok = io->rsv == WSLAY_RSV_NONE ||
                     (io->rsv == WSLAY_RSV1_BIT && c->deflate &&
                      (op == WS_OP_TEXT || op == WS_OP_BINARY) && !c->msg_opcode);
        if (!rsv_ok) return protocol_error(c, 1002, "reserved bits set"), -1;
        if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
            if (c->msg_opcode) return protocol_error(c, 1002, "expected continuation"), -1;
            c->msg_deflated = io->rsv == WSLAY_RSV1_BIT;
        } else if (op == WS_OP_CONT) {
            if (!c->msg_opcode) return protocol_error(c, 1002, "unexpected continuation"), -1;
        } else if (op != WS_OP_CLOSE && op != WS_OP_PING && op != WS_OP_PONG) {
            return protocol_error(c, 1002, "unknown opcode"), -1;
        }
        if (op < 8 && (uint64_t)c->msg.len + io->payload_length > c->max_message)
            return protocol_error(c, 1009, "message too big"), -1;
    }
    rx->frame_got += io->data_length;
    int done = rx->frame_got == rx->frame_len;
    int op = rx->opcode;
    if (op >= 8) {
        memcpy(rx->ctrl + rx->ctrl_len, io->data, io->data_length);
        rx->ctrl_len = (uint8_t)(rx->ctrl_len + io->data_length);
    } else if (done && rx->fin && op != WS_OP_CONT && io->data_length == rx->frame_len) {
        /* The common case: a whole unfragmented message in wslay's buffer. */
    } else if (sbuf_append(&c->msg, io->data, io->data_length)) {
        return protocol_error(c, 1011, "out of memory"), -1;
    }
    if (!done) return 0;
    rx->in_frame = 0;
    rx->consumed += ws_frame_header_len(rx->frame_len) + 4 + rx->frame_len;
    if (op >= 8) {
        control_frame(c, rx);
    } else if (rx->fin && op != WS_OP_CONT && !c->msg.len) {
        deliver(c, op, io->data, io->data_length, c->msg_deflated);
    } else {
        if (op != WS_OP_CONT) c->msg_opcode = (uint8_t)op;
        if (rx->fin) {
            int mop = c->msg_opcode;
            c->msg_opcode = 0;
            sbuf m = c->msg;
            c->msg = (sbuf)SBUF_INIT;
            deliver(c, mop, m.data, m.len, c->msg_deflated);
            sbuf_free(&m);
        }
    }
    return c->state == ST_OPEN ? 0 : -1;
}

static void on_readable(ws_conn *c) {
    ws_ctx *ctx = c->ctx;
    if (!c->rx && !(c->rx = rx_borrow(ctx))) {
        notify_close(c, 1011);
        conn_destroy(c);
        return;
    }
    struct ws_rx *rx = c->rx;
    ctx->rx_current = c;
    ctx->rx_budget = READ_BUDGET;
    for (;;) {
        struct wslay_frame_iocb io;
        ssize_t r = wslay_frame_recv(rx->fctx, &io);
        if (r == WSLAY_ERR_WANT_READ) break;
        if (r < 0) {
            protocol_error(c, 1002, "protocol error");
            break;
        }
        if (on_chunk(c, rx, &io) < 0) break;
    }
    ctx->rx_current = NULL;
    if (c->state == ST_DEAD) return;
    if (c->eof) {
        if (c->state == ST_OPEN) notify_close(c, 1006);
        conn_destroy(c);
        return;
    }
    if (c->state != ST_OPEN) {
        /* Input after our close frame is discarded; drop the parser. */
        rx->in_frame = 1;
        rx_release(ctx, rx);
        c->rx = NULL;
        return;
    }
    if (!rx->in_frame && rx->given == rx->consumed) {
        rx_release(ctx, rx);
        c->rx = NULL;
    }
}

static void linger_readable(ws_conn *c) {
    char buf[4096];
    for (;;) {
        ssize_t n = recv(c->io.fd, buf, sizeof buf, 0);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        conn_destroy(c);
        return;
    }
}

static void on_io(sio_loop *loop, sio_io *io, uint32_t ev) {
    ws_conn *c = (ws_conn *)io;
    if (ev & EPOLLOUT) {
        flush(c);
        if (c->state == ST_DEAD) return;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (c->state == ST_OPEN)
            on_readable(c);
        else if (c->state == ST_LINGER)
            linger_readable(c);
        else if (ev & (EPOLLHUP | EPOLLERR))
            conn_destroy(c);
        else
            linger_readable(c); /* closing: discard input while flushing */
    }
}

ws_conn *ws_conn_new(ws_ctx *ctx, int fd, const uint8_t *pre, size_t pre_len, uint32_t max_message,
                     const ws_handler *h, void *ud) {
    ws_conn *c = slab_calloc(ctx->conns);
    if (!c || (pre_len && sbuf_append(&c->pre, pre, pre_len))) {
        slab_free(c);
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->io.fd = fd;
    c->io.cb = on_io;
    c->ctx = ctx;
    c->h = h;
    c->ud = ud;
    c->max_message = max_message;
    c->state = ST_OPEN;
    if (sio_loop_add(ctx->loop, &c->io, EPOLLIN | EPOLLRDHUP)) {
        close(fd);
        sbuf_free(&c->pre);
        slab_free(c);
        return NULL;
    }
    c->next = ctx->all;
    if (ctx->all) ctx->all->prev = c;
    ctx->all = c;
    ctx->count++;
    /* Bytes read before the upgrade are parsed at the end of this iteration,
     * once the owner has finished setting the connection up. */
    if (pre_len) ws_conn_flush_later(c);
    return c;
}
