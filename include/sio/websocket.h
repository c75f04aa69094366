/* A plain WebSocket endpoint (RFC 6455, no Engine.IO framing) on the shared
 * HTTP listener, for clients that do not speak Socket.IO. Heartbeats are
 * WebSocket ping/pong frames; a peer that misses a pong is closed. */
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
} sio_ws_options;

typedef struct sio_ws_callbacks {
    /* Before the 101 answer, with the request (valid during the call only):
     * return 0 to refuse with 403, non-zero to accept; *peer_data becomes the
     * peer's data (the app owns it; free it in on_close). */
    int (*on_request)(eio_request *req, void **peer_data, void *ud);
    /* The handshake completed. */
    void (*on_open)(sio_ws_peer *p, void *ud);
    /* A complete message (text is valid UTF-8). */
    void (*on_message)(sio_ws_peer *p, const uint8_t *data, size_t len, int binary, void *ud);
    /* The peer is gone (code received, 1006 when the connection dropped,
     * 1001 on shutdown); the pointer is invalid afterwards. */
    void (*on_close)(sio_ws_peer *p, int code, void *ud);
} sio_ws_callbacks;

/* Fill with defaults. */
void sio_ws_options_init(sio_ws_options *o);
/* Serve WebSocket clients at o->path. NULL with *err set. */
sio_ws_server *sio_ws_server_new(sio_loop *loop, sio_http *http, const sio_ws_options *o,
                                 const sio_ws_callbacks *cbs, void *ud, int *err);
/* Close every peer with 1001 (on_close runs for each) and free the server. */
void sio_ws_server_free(sio_ws_server *srv);
/* Peers connected now. */
size_t sio_ws_server_count(const sio_ws_server *srv);
/* Send one message to a peer. */
int sio_ws_send(sio_ws_peer *p, const void *data, size_t len, int binary);
/* Send one message to every peer but `except` (may be NULL); the frame is
 * encoded once. */
int sio_ws_broadcast(sio_ws_server *srv, const void *data, size_t len, int binary,
                     sio_ws_peer *except);
/* Close with a code and reason (on_close runs at once with that code). */
void sio_ws_close(sio_ws_peer *p, uint16_t code, const char *reason);
void *sio_ws_peer_data(const sio_ws_peer *p);
void sio_ws_peer_set_data(sio_ws_peer *p, void *data);

SIO_END_DECLS

#endif
