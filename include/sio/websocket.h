/* A plain WebSocket endpoint (RFC 6455, no Engine.IO framing) on the shared
 * HTTP listener, for clients that do not speak Socket.IO. Heartbeats are
 * WebSocket ping/pong frames; a peer that misses a pong is closed.
 *
 * Backpressure: what is sent to a peer is queued until its socket takes it.
 * A peer whose queue would pass max_buffered (it stopped reading, or reads
 * slower than it is sent to) is closed with code 1013 "Try Again Later": the
 * frames it has not begun to receive are dropped, the close frame follows,
 * and the socket is closed after 2 s at most even if the peer never reads.
 * on_close runs for it with 1013 at the next turn of the loop, never inside
 * the sio_ws_send / sio_ws_broadcast that found it over (that call returns
 * SIO_ECLOSED for it, and the peer pointer stays valid until on_close). The
 * log says so at info level and /metrics counts it in
 * sio_backpressure_disconnects_total. Producers that check sio_ws_writable
 * and wait for on_drain never get there.
 *
 * Threads, error codes, ownership and re-entrancy follow the rules at the
 * top of sio/sio.h: data given to on_message is borrowed for the call, data
 * given to sio_ws_send / sio_ws_broadcast is copied (or shared by
 * reference, never taken), and no callback may free the server. */
#ifndef SIO_WEBSOCKET_H
#define SIO_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "sio/eio.h"
#include "sio/loop.h"
#include "sio/export.h"

SIO_BEGIN_DECLS

typedef struct sio_ws_server sio_ws_server;
typedef struct sio_ws_peer sio_ws_peer;

typedef struct sio_ws_options {
    const char *path;                   /* exact path, e.g. "/ws" */
    uint32_t ping_interval_ms;          /* default 25000 */
    uint32_t ping_timeout_ms;           /* default 20000 */
    size_t max_message;                 /* default 1000000 */
    const char *const *allowed_origins; /* NULL-terminated; NULL: any */
    size_t max_buffered;                /* bytes queued for one peer before it
                                           is closed with 1013; default 1048576
                                           (as --max-buffered), 0: no bound */
    int deflate;                        /* permessage-deflate (RFC 7692) for peers
                                           that offer it, messages from 1024 bytes
                                           on; default 0 (off, as npm `ws`) */
} sio_ws_options;

typedef struct sio_ws_callbacks {
    /* Before the 101 answer, with the request (valid during the call only):
     * return 0 to refuse with 403, non-zero to accept; *peer_data becomes the
     * peer's data (the app owns it; free it in on_close). */
    int (*on_request)(eio_request *req, void **peer_data, void *ud);
    /* The handshake completed; p is valid until on_close for it returns. */
    void (*on_open)(sio_ws_peer *p, void *ud);
    /* A complete message (text is valid UTF-8), borrowed for the call. It may
     * send to any peer, and sio_ws_close this one (p is invalid after). */
    void (*on_message)(sio_ws_peer *p, const uint8_t *data, size_t len, int binary, void *ud);
    /* The peer is gone (code received, 1006 when the connection dropped,
     * 1001 on shutdown); the pointer is invalid afterwards. Also called,
     * with 1006 and no on_open before, when a connection on_request
     * accepted could not become a peer: then only sio_ws_peer_data may be
     * used on p (to free what on_request made). */
    void (*on_close)(sio_ws_peer *p, int code, void *ud);
    /* Optional: the peer's queue is empty again after sio_ws_writable
     * returned 0 for it (once, however many times it returned 0; not after
     * the peer closed). It runs from the loop, when the socket took the last
     * queued byte, never inside another sio_ws_* call. Inside it every call on
     * this or another peer is allowed: sio_ws_send / sio_ws_broadcast (a
     * paused producer goes on; asking sio_ws_writable again re-arms it), and
     * sio_ws_close, after which p is invalid. Not sio_ws_server_free (as in
     * every callback). */
    void (*on_drain)(sio_ws_peer *p, void *ud);
} sio_ws_callbacks;

/* Fill with defaults. */
void sio_ws_options_init(sio_ws_options *o);
/* Serve WebSocket clients at o->path (o and cbs copied, with path and
 * allowed_origins). NULL with *err: SIO_ENOMEM (also when the listener has
 * no route left). */
sio_ws_server *sio_ws_server_new(sio_loop *loop, sio_http *http, const sio_ws_options *o,
                                 const sio_ws_callbacks *cbs, void *ud, int *err);
/* Close every peer with 1001 (on_close runs for each, inside) and free the
 * server. Not from a callback. */
void sio_ws_server_free(sio_ws_server *srv);
/* Peers connected now. */
size_t sio_ws_server_count(const sio_ws_server *srv);
/* Send one message to a peer. SIO_OK, SIO_ENOMEM, or SIO_ECLOSED when it is
 * closing, or when the message would take its queue past max_buffered (it
 * is then closed, see the top of this file: on_close comes later). */
int sio_ws_send(sio_ws_peer *p, const void *data, size_t len, int binary);
/* Bytes queued for the peer that its socket has not taken yet. */
size_t sio_ws_buffered(const sio_ws_peer *p);
/* Whether a producer may go on sending to the peer: 1 while its queue is
 * under half of max_buffered (or empty). 0 when it is not, or the peer is
 * closing; in the first case on_drain runs once the queue has emptied. */
int sio_ws_writable(sio_ws_peer *p);
/* Send one message to every peer but `except` (may be NULL); the frame is
 * encoded once. Peers it would take past max_buffered are closed instead,
 * closing ones skipped. SIO_OK, or SIO_ENOMEM (the frame could not be
 * made; nobody got it). */
int sio_ws_broadcast(sio_ws_server *srv, const void *data, size_t len, int binary,
                     sio_ws_peer *except);
/* Close with a code and reason (may be NULL; read during the call):
 * on_close runs at once, inside this call, with that code, and p is invalid
 * when this returns. */
void sio_ws_close(sio_ws_peer *p, uint16_t code, const char *reason);
/* The peer's data (from on_request; the app owns it). */
void *sio_ws_peer_data(const sio_ws_peer *p);
void sio_ws_peer_set_data(sio_ws_peer *p, void *data);

SIO_END_DECLS

#endif
