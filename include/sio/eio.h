/* Engine.IO v4 server: long-polling and WebSocket transports, the upgrade
 * between them, heartbeats and limits. Sessions carry messages (text or
 * binary) between the application and one client. Everything runs on the
 * thread of the sio_loop given at creation; the rules on threads, error
 * codes, ownership and re-entrancy are those at the top of sio/sio.h. */
#ifndef SIO_EIO_H
#define SIO_EIO_H

#include <stddef.h>
#include <stdint.h>

#include "sio/loop.h"
#include "sio/export.h"

SIO_BEGIN_DECLS

typedef struct eio_server eio_server;
typedef struct eio_session eio_session;
typedef struct http_server sio_http;
/* A handshake request, valid only during the callback that receives it
 * (as are the strings its accessors return). */
typedef struct http_req eio_request;

/* The HTTP listener that Engine.IO servers (and other routes) share. */
typedef struct sio_http_options {
    const char *host;            /* default "0.0.0.0" */
    int port;                    /* default 3000; 0 picks a free port */
    unsigned max_connections;    /* sessions the listener is sized for; 0 (default): as many
                                    as the process's open-file limit allows */
    size_t connection_memory;    /* per HTTP connection; bounds header size; default 16 KiB */
    const char *trusted_proxies; /* comma-separated proxy addresses whose
                                    X-Forwarded-For names the client; NULL: none */
} sio_http_options;

typedef struct eio_options {
    const char *path;                /* default "/socket.io/" */
    uint32_t ping_interval_ms;       /* default 25000 */
    uint32_t ping_timeout_ms;        /* default 20000 */
    uint32_t upgrade_timeout_ms;     /* default 10000 */
    size_t max_payload;              /* bytes per message / POST body; default 1000000 */
    uint32_t max_sessions;           /* beyond it handshakes get 503; 0: no limit */
    const char *const *cors_origins; /* NULL-terminated; NULL: no CORS headers */
    int allow_upgrades;              /* offer polling -> WebSocket; default 1 */
    size_t max_buffered;             /* bytes queued per client before it is dropped
                                        ("backpressure"); default 1 MiB */
    uint32_t max_handshake_rate;     /* new sessions per second (503 beyond); 0: no cap */
    uint32_t max_per_address;        /* sessions per client address (429 beyond); 0: no cap */

    /* Sessions per client address not yet established (see
     * eio_session_established), 429 beyond; default 1000; 0: no cap. */
    uint32_t max_half_open_per_address;

    /* The transports a client may use (engine.io's `transports`), a mask of
     * EIO_TRANSPORT_*; default both (0 counts as both). A request on another
     * gets 400 code 0 "Transport unknown", and the open packet offers no
     * upgrade to a transport that is off. */
    unsigned transports;
    /* Name of a cookie holding the sid, set on the polling handshake answer
     * (engine.io's `cookie`): "<name>=<sid>; Path=/; HttpOnly; SameSite=Lax",
     * for proxies that route by cookie; NULL (default): none. A WebSocket
     * handshake gets none, as in engine.io. */
    const char *cookie;
    /* engine.io's `addTrailingSlash`: 1 (default) serves the path with one
     * trailing slash ("/socket.io" and "/socket.io/" both mean
     * "/socket.io/..."); 0 drops it, so "/socket.io?EIO=4..." is served too
     * (a prefix match, as engine.io's). */
    int add_trailing_slash;
    /* WebSocket permessage-deflate (RFC 7692) for clients that offer it;
     * default 0 (off, as the reference's perMessageDeflate). Messages from
     * 1024 bytes on are compressed; no compressor is kept per session. */
    int ws_deflate;

    /* Long-polling answers of at least this many bytes are sent gzip- or
     * deflate-coded when the client's Accept-Encoding asks (the reference's
     * httpCompression.threshold); default 1024; 0: never. */
    size_t http_compression_threshold;
} eio_options;

enum { EIO_TRANSPORT_POLLING = 1, EIO_TRANSPORT_WEBSOCKET = 2 };

typedef struct eio_callbacks {
    /* Optional, engine.io's `allowRequest`: runs for each handshake (not for
     * the later requests of a session), on the loop, once the transport,
     * method and Origin were accepted and before the protocol version and the
     * admission limits are looked at. Return non-zero to accept; 0 refuses
     * with 403 {"code":4,"message":M}, M being *message when the hook set it
     * (copied at once; NULL leaves "Forbidden"). It must answer at once:
     * there is no asynchronous form. No session exists yet. */
    int (*allow_request)(eio_server *srv, eio_request *req, const char **message, void *ud);
    /* A session completed its handshake. The pointer is valid until
     * on_close for it returns. */
    void (*on_open)(eio_session *s, void *ud);
    /* A message from the client; data is borrowed (valid during the call).
     * It may eio_send, and eio_close the session (on_close then runs inside
     * that call). */
    void (*on_message)(eio_session *s, const uint8_t *data, size_t len, int binary, void *ud);
    /* The session is gone; reason is one of "transport close", "transport
     * error", "parse error", "ping timeout", "forced close", "server shutting
     * down", "backpressure" (the client fell more than max_buffered behind),
     * "server at capacity" (a session not yet established, shed at
     * max_sessions to make room for a new one); a static string.
     * eio_send on the session returns SIO_ECLOSED from here on; its
     * handshake data still answer. The session pointer is invalid after
     * this returns. */
    void (*on_close)(eio_session *s, const char *reason, void *ud);
    /* Optional: the session's queue drained after the client had fallen
     * behind (eio_session_writable returned 0); producers that paused may
     * resume. Runs from the loop, never inside another eio_* call. */
    void (*on_drain)(eio_session *s, void *ud);
    /* Optional: the session moved from polling to WebSocket (its transport
     * now answers "websocket"). Runs from the loop, once per session. */
    void (*on_upgrade)(eio_session *s, void *ud);
} eio_callbacks;

/* Fill options with the defaults above. */
void sio_http_options_init(sio_http_options *o);
/* Start listening (options copied). NULL with *err: SIO_ENOMEM, SIO_EINVAL
 * (host is not a numeric IPv4 or IPv6 address), SIO_EIO (the socket could
 * not be made, bound or listened on: the port is taken, say). */
sio_http *sio_http_new(sio_loop *loop, const sio_http_options *o, int *err);
/* The bound port. */
int sio_http_port(const sio_http *h);
/* Stop accepting new HTTP connections (may be called from a callback). */
void sio_http_quiesce(sio_http *h);
/* Close the listener and every HTTP connection. Free the Engine.IO and
 * WebSocket servers on it first; not from a callback. NULL is ignored. */
void sio_http_free(sio_http *h);

/* Fill options with the defaults above. */
void eio_options_init(eio_options *o);
/* Serve Engine.IO at opts->path of the listener (opts and cbs copied, with
 * path and cors_origins). NULL with *err: SIO_ENOMEM (also when the
 * listener has no route left: 16 at most). */
eio_server *eio_server_new(sio_loop *loop, sio_http *http, const eio_options *opts,
                           const eio_callbacks *cbs, void *ud, int *err);
/* Close every session (reason "server shutting down"; on_close runs for
 * each, inside) and free the server. Not from a callback. NULL is ignored. */
void eio_server_free(eio_server *srv);
/* Close every session with reason "server shutting down", sending each client
 * a close (WebSocket close frame 1001, or "1" to polling clients); handshakes
 * from then on are refused (503). */
void eio_server_close_all(eio_server *srv);
/* Sessions currently open, and those of them on WebSocket. */
size_t eio_server_sessions(const eio_server *srv);
size_t eio_server_websockets(const eio_server *srv);
/* The loop the server runs on. */
sio_loop *eio_server_loop(const eio_server *srv);
/* What the server's /metrics counts, for observers that sample it (the
 * admin UI's per-second figures): counters since the server started and the
 * sessions per transport now. Reading them costs nothing on the data path. */
typedef struct eio_counters {
    uint64_t packets_in, packets_out; /* Engine.IO messages */
    uint64_t bytes_in, bytes_out;     /* their payload bytes */
    uint64_t sessions_opened, sessions_closed, upgrades;
    size_t polling, websocket; /* sessions open now on each transport */
} eio_counters;
void eio_server_counters(const eio_server *srv, eio_counters *out);

/* Queue a message (data copied); written at the end of this loop iteration.
 * SIO_OK; SIO_ETOOBIG (len over max_payload; nothing queued); SIO_ENOMEM;
 * SIO_ECLOSED when the session is closing, or when the message would take
 * its queue past max_buffered: the session is then closed ("backpressure")
 * and on_close has run inside this call. */
int eio_send(eio_session *s, const uint8_t *data, size_t len, int binary);
/* Close the session after writing what is queued; on_close runs at once,
 * inside this call, with reason "forced close" (nothing when the session is
 * closing already). The pointer is invalid once the callback that called
 * this returns. */
void eio_close(eio_session *s);
/* The client proved itself real: the session stops being half-open. Until
 * then it counts against max_half_open_per_address and, at max_sessions, the
 * half-open session that has waited longest is closed to admit a new one, so
 * that handshakes nobody follows up cannot lock other clients out. Socket.IO
 * calls it when a namespace CONNECT succeeds; an application on Engine.IO
 * alone calls it itself (on its first message, say, or from on_open to opt
 * out). Calling it again does nothing. */
void eio_session_established(eio_session *s);
/* The session id (20 URL-safe characters), valid as long as the session;
 * the strings below are too. */
const char *eio_session_id(const eio_session *s);
/* "polling" or "websocket". */
const char *eio_session_transport(const eio_session *s);
/* Whether a message queued now leaves without waiting (WebSocket with an
 * empty queue, or a long-poll held open): volatile packets need this. */
int eio_session_ready(const eio_session *s);
/* Bytes queued for the client and not yet written. */
size_t eio_session_buffered(const eio_session *s);
/* Whether the queue is below half of max_buffered; when it is not, on_drain
 * runs once the queue has emptied (producers wait for it). */
int eio_session_writable(eio_session *s);
/* Application data attached to the session (never touched by the library;
 * Socket.IO uses it for its own sessions). */
void eio_session_set_data(eio_session *s, void *p);
void *eio_session_data(const eio_session *s);
/* The handshake request as the session kept it: a header (case-insensitive
 * name), a query parameter, the peer address. NULL when absent. Owned by the
 * session (valid until on_close returns). */
const char *eio_session_header(const eio_session *s, const char *name);
const char *eio_session_query(const eio_session *s, const char *key);
const char *eio_session_remote_addr(const eio_session *s);
/* Call fn for each kept header (lower-case names) or query parameter; k and
 * v are borrowed for the call. */
void eio_session_each_header(const eio_session *s,
                             void (*fn)(const char *k, const char *v, void *ud), void *ud);
void eio_session_each_query(const eio_session *s,
                            void (*fn)(const char *k, const char *v, void *ud), void *ud);

/* Accessors for the request given to allow_request. */
const char *eio_request_header(eio_request *r, const char *name);
const char *eio_request_query(eio_request *r, const char *key);
const char *eio_request_remote_addr(eio_request *r);

SIO_END_DECLS

#endif
