/* HTTP on libmicrohttpd in external-epoll mode, driven by the project's loop on
 * one thread. Routes by path prefix; handlers get a complete request (body
 * included) and answer it, suspend it (long-polling) or upgrade it (WebSocket,
 * after which the socket is detached from libmicrohttpd). */
#ifndef SIO_HTTP_SERVER_H
#define SIO_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "sio/loop.h"
#include "util/zcodec.h"

typedef struct http_server http_server;
typedef struct http_req http_req;

typedef enum http_method {
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_DELETE,
    HTTP_OPTIONS,
    HTTP_PATCH,
    HTTP_OTHER,
} http_method;

typedef struct http_options {
    const char *host;
    int port;                    /* 0: any free port */
    unsigned max_connections;    /* HTTP connections libmicrohttpd holds */
    size_t connection_memory;    /* per-connection pool; bounds header size */
    unsigned idle_timeout_s;     /* slow or silent HTTP clients are dropped */
    const char *trusted_proxies; /* comma-separated peer addresses whose
                                    X-Forwarded-For names the client; NULL: none */
} http_options;

/* Called when a request is complete. It must answer (http_respond*),
 * suspend (http_suspend) or upgrade (http_upgrade) the request. */
typedef void (*http_handler)(http_req *req, void *ud);

typedef struct http_suspend_ops {
    /* After http_resume: answer the request now. */
    void (*on_resume)(http_req *req, void *ud);
    /* The client went away while suspended; the request is gone. */
    void (*on_abort)(http_req *req, void *ud);
} http_suspend_ops;

/* Called with the detached socket of an upgraded connection and the bytes the
 * client sent after its request. The callee owns fd from here on. */
typedef void (*http_upgraded_cb)(int fd, const uint8_t *pre, size_t pre_len, void *ud);

/* Start listening; NULL with *err set on failure. */
http_server *http_server_new(sio_loop *loop, const http_options *opts, int *err);
/* The port actually bound (useful with port 0). */
int http_server_port(const http_server *s);
/* Route every path that starts with `prefix` (longest prefix wins).
 * max_body bounds POST/PUT bodies; beyond it the handler sees body_too_large. */
int http_server_route(http_server *s, const char *prefix, http_handler h, void *ud,
                      size_t max_body);
/* Remove every route registered with ud and end its requests in flight:
 * held ones get on_abort and upgrades not yet handed over get their callback
 * with fd -1, from inside this call; after it returns no callback of that
 * route runs again (a request still arriving on it is answered 404). An owner
 * calls this before it frees ud. */
void http_server_unroute(http_server *s, void *ud);
/* Stop listening: no new connections are accepted. */
void http_server_quiesce(http_server *s);
/* Stop: aborts suspended requests (their on_abort runs) and frees. */
void http_server_free(http_server *s);
/* Number of requests currently suspended. */
size_t http_server_suspended(const http_server *s);
/* The listener's compressor for content codings, made on first use (NULL
 * when out of memory): one per listener, i.e. per event loop, borrowed by
 * whatever answers on it (long-polling, static files) for one body at a
 * time. A deflate state is ~270 KiB: never one per request or session. */
zcodec *http_server_zcodec(http_server *s);

http_method http_req_method(const http_req *r);
const char *http_req_method_str(const http_req *r);
const char *http_req_path(const http_req *r);
/* Decoded query parameter, or NULL. */
const char *http_req_query(const http_req *r, const char *key);
/* Request header (case-insensitive), or NULL. */
const char *http_req_header(const http_req *r, const char *name);
/* Call fn for every header, or every query argument. */
void http_req_each_header(const http_req *r, void (*fn)(const char *k, const char *v, void *ud),
                          void *ud);
void http_req_each_query(const http_req *r, void (*fn)(const char *k, const char *v, void *ud),
                         void *ud);
const uint8_t *http_req_body(const http_req *r, size_t *len);
/* Whether a comma-separated header value holds token (case-insensitive). */
int http_header_has_token(const char *value, const char *token);
int http_req_body_too_large(const http_req *r);
/* The listener the request came in on. */
http_server *http_req_server(const http_req *r);
/* The content coding the request's Accept-Encoding prefers among those the
 * server offers (zc_pick_encoding): ZC_GZIP, ZC_DEFLATE, or -1 for none. */
int http_req_coding(const http_req *r);
/* The client's address ("127.0.0.1"): the peer's, or, when the peer is a
 * trusted proxy, the right-most X-Forwarded-For entry that is not one (else
 * X-Real-IP). "" when unknown. */
const char *http_req_remote_addr(http_req *r);

/* Answer with a copy of body. headers: NULL, or name/value pairs ending in NULL. */
int http_respond(http_req *r, unsigned status, const char *content_type, const void *body,
                 size_t len, const char *const *headers);
/* Same, taking ownership of a malloc'd body. */
int http_respond_take(http_req *r, unsigned status, const char *content_type, void *body,
                      size_t len, const char *const *headers);
/* Same, with a body gathered from iov[0..n) (the array is copied, the bytes
 * are not): release(cls) runs once the response no longer needs them, also
 * when this fails. */
int http_respond_iov(http_req *r, unsigned status, const char *content_type,
                     const struct iovec *iov, size_t n, void (*release)(void *), void *cls,
                     const char *const *headers);
/* Hold the request open until http_resume (or the client leaves). */
int http_suspend(http_req *r, const http_suspend_ops *ops, void *ud);
/* Wake a suspended request; its on_resume runs from the next HTTP pass, or
 * its on_abort if the client resets first. Exactly one of the two reaches the
 * owner for every suspended request, whatever ends it (the client, a resume,
 * http_server_free); until then the owner may keep and use the pointer. */
void http_resume(http_req *r);
/* The owner gives up a held request without being told its end (an owner
 * freed before the HTTP server): no callback follows; the request is
 * answered 503 if it still needs an answer. */
void http_release(http_req *r);
/* Answer with a file's content (the descriptor is taken and closed). */
int http_respond_fd(http_req *r, unsigned status, const char *content_type, int fd, uint64_t size,
                    const char *const *headers);
/* Answer 101 Switching Protocols for a WebSocket handshake and hand the
 * socket to cb once it is detached. */
int http_upgrade(http_req *r, const char *ws_accept, const char *const *headers,
                 http_upgraded_cb cb, void *ud);

#endif
