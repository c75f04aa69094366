/* A server-side WebSocket connection on a socket detached from libmicrohttpd.
 * Input is parsed with a wslay frame context borrowed from a per-loop pool only
 * while the connection has unparsed bytes, so an idle connection costs about
 * the size of this struct. Output is appended to a per-connection queue and
 * written once per loop iteration (write coalescing); pre-encoded broadcasts
 * are queued by reference (util/segq.h), not copied. */
#ifndef SIO_WS_CONN_H
#define SIO_WS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "sio/loop.h"
#include "util/buf.h"
#include "util/segq.h"

typedef struct ws_ctx ws_ctx;
typedef struct ws_conn ws_conn;
struct ws_rx;

typedef struct ws_handler {
    /* A complete data message; text was checked to be valid UTF-8. */
    void (*on_message)(ws_conn *c, int binary, const uint8_t *data, size_t len);
    /* The peer went away or broke the protocol (code: the close code received,
     * 1006 for a dropped connection, or the code this side closed with). The
     * connection is already detached from its owner when this runs. */
    void (*on_close)(ws_conn *c, int code);
    /* A pong frame arrived (optional). */
    void (*on_pong)(ws_conn *c);
    /* The output queue emptied after the kernel had refused bytes, or after
     * ws_conn_want_drain (optional). */
    void (*on_drain)(ws_conn *c);
} ws_handler;

struct ws_conn {
    sio_io io;
    ws_ctx *ctx;
    const ws_handler *h;
    void *ud;
    struct ws_rx *rx;   /* borrowed parser, NULL when idle */
    segq out;           /* own frames in out.tail, shared broadcasts before them */
    size_t out_partial; /* bytes at the head of out that end a frame the kernel
                           took part of: frames begin after them */
    sbuf msg;           /* message spanning several reads or frames */
    sbuf pre;           /* bytes read by libmicrohttpd before the upgrade */
    sio_timer timer;    /* the owner's while open; the linger timer while closing */
    ws_conn *next_dirty;
    ws_conn *prev_dirty;
    ws_conn *prev, *next; /* all connections of the context */
    uint32_t max_message;
    uint8_t state;
    uint8_t msg_opcode; /* opcode of the fragmented message in progress, or 0 */
    uint8_t dirty;
    uint8_t eof;
    uint8_t blocked;      /* a send() met EAGAIN since the queue was last empty */
    uint8_t want_drain;   /* the owner waits for the queue to empty */
    uint8_t deflate;      /* permessage-deflate negotiated (ws/deflate.h) */
    uint8_t msg_deflated; /* the data message being received is compressed */
};

/* Per-loop state: the pool of parser contexts and the flush list. */
ws_ctx *ws_ctx_new(sio_loop *loop);
/* Close every connection still open (no callbacks) and free the context. */
void ws_ctx_free(ws_ctx *ctx);
/* Number of open connections. */
size_t ws_ctx_count(const ws_ctx *ctx);

/* Adopt a connected, upgraded socket; `pre` holds bytes already read from it.
 * NULL on failure (the fd is then closed). */
ws_conn *ws_conn_new(ws_ctx *ctx, int fd, const uint8_t *pre, size_t pre_len, uint32_t max_message,
                     const ws_handler *h, void *ud);
/* The handshake negotiated permessage-deflate (ws/deflate.h): data messages
 * from the threshold on go compressed, and compressed ones are accepted. The
 * connection holds no compressor: the context's is borrowed per message.
 * Call before the end of the loop iteration that made the connection. */
static inline void ws_conn_enable_deflate(ws_conn *c) {
    c->deflate = 1;
}
static inline int ws_conn_deflates(const ws_conn *c) {
    return c->deflate;
}
/* Change the owner of a connection. */
void ws_conn_set_owner(ws_conn *c, const ws_handler *h, void *ud);
/* Queue one frame; SIO_ECLOSED when the connection is closing. */
int ws_conn_send(ws_conn *c, int opcode, const uint8_t *data, size_t len);
/* Queue one data frame whose payload is `prefix` followed by data (the
 * Engine.IO text form, see ws_frame_append_prefixed). */
int ws_conn_send_prefixed(ws_conn *c, int opcode, uint8_t prefix, const uint8_t *data, size_t len);
/* For a pre-encoded broadcast to connections that negotiated deflate: append
 * to out the frames of `frames` (whole server frames, as ws_frame_append
 * makes them) with each data frame from the threshold on compressed, the
 * rest copied. Every receiver with deflate can take the result (one set of
 * parameters is ever negotiated). Returns how many frames were compressed
 * (0: out is the same bytes) or a negative SIO_* error. */
int ws_ctx_deflate_frames(ws_ctx *ctx, const uint8_t *frames, size_t n, sbuf *out);
/* Queue bytes that are already whole frames (a pre-encoded broadcast). */
int ws_conn_send_raw(ws_conn *c, const uint8_t *frames, size_t len);
/* The same by reference: the connection holds a reference to the frames
 * until they are written, so N receivers cost one copy of a broadcast. */
int ws_conn_send_shared(ws_conn *c, sbuf_shared *frames);
/* The output buffer (the queue's tail: it goes after everything queued), for
 * encoders that append frames in place; call ws_conn_flush_later afterwards.
 * NULL when the connection is closing. */
sbuf *ws_conn_outbuf(ws_conn *c);
/* Schedule a write of the output buffer at the end of this loop iteration. */
void ws_conn_flush_later(ws_conn *c);
/* Ask for on_drain once the queue is empty again. */
static inline void ws_conn_want_drain(ws_conn *c) {
    c->want_drain = 1;
}
/* Bytes queued and not yet accepted by the kernel. */
static inline size_t ws_conn_buffered(const ws_conn *c) {
    return segq_len(&c->out);
}
/* Of those, the rest of the frame the kernel has begun to take. */
static inline size_t ws_conn_in_flight(const ws_conn *c) {
    return c->out_partial;
}
/* Arm the owner's timer (only while the connection is open). */
void ws_conn_set_timeout(ws_conn *c, uint64_t ms, sio_timer_cb cb);
/* Send a close frame, flush, then close the socket; the owner is detached
 * and gets no more callbacks. */
void ws_conn_close(ws_conn *c, uint16_t code, const char *reason);
/* Close a peer that fell behind: drop the queued frames it has not begun to
 * receive (they would only hold memory until the linger timer), then close as
 * ws_conn_close does, the close frame right after the frame in flight. */
void ws_conn_shed(ws_conn *c, uint16_t code, const char *reason);
/* Close the socket now, without a close frame and without callbacks. */
void ws_conn_abort(ws_conn *c);
/* Whether the connection still accepts output. */
int ws_conn_is_open(const ws_conn *c);

#endif
