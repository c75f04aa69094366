/* The Engine.IO I/O adapter: routes HTTP requests and WebSocket messages to
 * sessions, carries out what the session state machine (eio/session.c) asks,
 * and keeps each session's outgoing queue in its transport's wire format so
 * that flushing is a single (gathered) write. Broadcasts are queued by
 * reference to one copy per wire format (util/segq.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "eio/batch.h"
#include "eio/packet.h"
#include "eio/poll_z.h"
#include "eio/session.h"
#include "http/server.h"
#include "sio/eio.h"
#include "sio/status.h"
#include "util/buf.h"
#include "util/fifo.h"
#include "util/log.h"
#include "util/id.h"
#include "util/map.h"
#include "eio/metrics.h"
#include "util/segq.h"
#include "util/slab.h"
#include "ws/conn.h"
#include "ws/deflate.h"
#include "ws/frame.h"
#include "ws/handshake.h"

#define SID_LEN          20
#define HS_CLASSES       64 /* handshake blocks up to 2 KiB in slabs (hs_store) */
#define CLOSE_TIMEOUT_MS 30000
/* At shutdown a polling client between two GETs has this long to come back
 * for its close packet; one that has gone away must not hold up the exit. */
#define SHUTDOWN_GRACE_MS 1000
#define READY_BACKLOG     (64 * 1024)
/* Longest --cookie name: a token, as RFC 6265 wants, short enough for one
 * Set-Cookie line built on the stack. */
#define COOKIE_NAME_MAX 64

struct eio_session {
    char sid[SID_LEN + 1];
    eio_core core;
    uint16_t refs;         /* callbacks that still hold the pointer */
    uint8_t close_queued;  /* "1" is in poll_out: the next answer ends it */
    uint8_t want_drain;    /* a producer waits for poll_out to be taken */
    uint8_t end_noop;      /* the client closed: a held GET is let go with "6" */
    uint8_t probe_deflate; /* the probe's handshake negotiated permessage-deflate */
    eio_server *srv;
    segq poll_out; /* polling payload waiting for a GET: parts joined by 0x1e */
    ws_conn *ws;   /* transport, once on WebSocket */
    ws_conn *probe;
    http_req *poll_req;
    sio_timer timer;
    void *user;
    char *hs; /* the handshake, packed */
    /* Its slot in srv->half_open; 0 once established (see admission). */
    uint32_t half_open;
};

struct eio_server {
    sio_loop *loop;
    eio_metrics m; /* this server's part of /metrics */
    http_server *http;
    ws_ctx *ws;
    eio_options o;
    char *path;
    char *cookie; /* the cookie name, owned (o.cookie points here) */
    char **cors;
    eio_callbacks cb;
    void *ud;
    smap sessions;
    size_t n_ws;
    sbuf scratch;
    char open_tail[160]; /* ,"pingInterval":...} */
    smap per_address;    /* address -> struct addr_count, with either per-address cap */
    double tokens;       /* handshake token bucket, with max_handshake_rate */
    uint64_t tokens_at;
    uint8_t closing; /* eio_server_close_all ran: no new sessions */
    /* Sessions not yet established, oldest first. */
    fifo half_open;
    poll_z pz;                      /* compressed polling answers (eio/poll_z.h) */
    slab_pool *pool;                /* the sessions' memory (util/slab.h), released with the
                                       server: it goes with the last deferred free */
    slab_pool *hs_pool[HS_CLASSES]; /* packed handshakes by size (hs_store) */
};

struct addr_count {
    uint32_t n;         /* sessions */
    uint32_t half_open; /* of which not yet established */
    char addr[];        /* the map key */
};

enum {
    ERR_TRANSPORT_UNKNOWN = 0,
    ERR_UNKNOWN_SID = 1,
    ERR_BAD_HANDSHAKE_METHOD = 2,
    ERR_BAD_REQUEST = 3,
    ERR_FORBIDDEN = 4,
    ERR_UNSUPPORTED_PROTOCOL_VERSION = 5,
};

static const char *const err_messages[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version",
};

static void session_destroy(eio_session *s);
static void close_session(eio_session *s, const char *reason, int graceful);
static void arm(eio_session *s, uint64_t ms);

/* ---------- options ---------- */

void sio_http_options_init(sio_http_options *o) {
    memset(o, 0, sizeof *o);
    o->host = "0.0.0.0";
    o->port = 3000;
    o->max_connections = 0; /* as many as the open-file limit allows */
    o->connection_memory = 16384;
}

sio_http *sio_http_new(sio_loop *loop, const sio_http_options *o, int *err) {
    /* libmicrohttpd stops accepting at its own limit and, without an internal
     * thread, may not resume when upgraded sockets detach: give it headroom
     * (a polling session holds up to two HTTP connections) so that the
     * session cap answers 503 itself instead of leaving clients unaccepted. */
    struct rlimit rl;
    unsigned long fds = getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY
                            ? 1UL << 20
                            : (unsigned long)rl.rlim_cur;
    /* Never more than descriptors allow: at its limit libmicrohttpd stops
     * polling the listener, where past the fd limit accept() would fail. */
    unsigned long mhd_limit = fds > 32 ? fds - 16 : 16;
    if (o->max_connections && (unsigned long)o->max_connections * 2 + 64 < mhd_limit)
        mhd_limit = (unsigned long)o->max_connections * 2 + 64;
    if (mhd_limit > UINT32_MAX) mhd_limit = UINT32_MAX;
    http_options ho = {o->host, o->port,           (unsigned)mhd_limit, o->connection_memory,
                       30,      o->trusted_proxies};
    return http_server_new(loop, &ho, err);
}

int sio_http_port(const sio_http *h) {
    return http_server_port(h);
}
void sio_http_quiesce(sio_http *h) {
    http_server_quiesce(h);
}
void sio_http_free(sio_http *h) {
    http_server_free(h);
}

void eio_options_init(eio_options *o) {
    memset(o, 0, sizeof *o);
    o->path = "/socket.io/";
    o->ping_interval_ms = 25000;
    o->ping_timeout_ms = 20000;
    o->upgrade_timeout_ms = 10000;
    o->max_payload = 1000000;
    o->allow_upgrades = 1;
    o->max_buffered = 1 << 20;
    o->max_half_open_per_address = 1000;
    o->http_compression_threshold = 1024;
    o->transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    o->add_trailing_slash = 1;
}

/* ---------- CORS and errors ---------- */

static int origin_allowed(const eio_server *srv, const char *origin) {
    if (!srv->cors || !origin) return 1;
    for (char **p = srv->cors; *p; p++)
        if (strcmp(*p, "*") == 0 || strcmp(*p, origin) == 0) return 1;
    return 0;
}

static int cors_any(const eio_server *srv) {
    for (char **p = srv->cors; p && *p; p++)
        if (strcmp(*p, "*") == 0) return 1;
    return 0;
}

/* Header pairs for CORS, filled into h (room for 8 entries + NULL). With
 * '*', as the npm cors package does for origin '*': "Allow-Origin: *" and
 * no credentials. Reflecting any Origin together with Allow-Credentials
 * would let every web site read a logged-in user's session with their
 * cookies; browsers refuse credentials with a literal '*', so a page that
 * needs them must be listed by name. */
static void cors_headers(const eio_server *srv, http_req *r, const char **h) {
    size_t n = 0;
    const char *origin = http_req_header(r, "Origin");
    if (srv->cors && origin && cors_any(srv)) {
        h[n++] = "Access-Control-Allow-Origin";
        h[n++] = "*";
    } else if (srv->cors && origin && origin_allowed(srv, origin)) {
        h[n++] = "Access-Control-Allow-Origin";
        h[n++] = origin;
        h[n++] = "Access-Control-Allow-Credentials";
        h[n++] = "true";
        h[n++] = "Vary";
        h[n++] = "Origin";
    }
    h[n] = NULL;
}

static void respond_error(eio_server *srv, http_req *r, unsigned status, int code) {
    static const int rej[] = {REJ_TRANSPORT,   REJ_UNKNOWN_SID, REJ_BAD_METHOD,
                              REJ_BAD_REQUEST, REJ_FORBIDDEN,   REJ_PROTOCOL_VERSION};
    srv->m.rejected[rej[code]]++;
    char body[96];
    int n =
        snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\"}", code, err_messages[code]);
    const char *h[12];
    cors_headers(srv, r, h);
    http_respond(r, status, "application/json", body, (size_t)n, h);
}

/* 403 code 4 with the message an allow_request hook gave, JSON-escaped;
 * engine.io's abortRequest, which keeps "Forbidden" for a missing or empty
 * one. */
static void respond_forbidden(eio_server *srv, http_req *r, const char *message) {
    cJSON *o = message && *message ? cJSON_CreateObject() : NULL;
    char *body = NULL;
    if (o && cJSON_AddNumberToObject(o, "code", ERR_FORBIDDEN) &&
        cJSON_AddStringToObject(o, "message", message))
        body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body) {
        respond_error(srv, r, 403, ERR_FORBIDDEN);
        return;
    }
    srv->m.rejected[REJ_FORBIDDEN]++;
    const char *h[12];
    cors_headers(srv, r, h);
    http_respond(r, 403, "application/json", body, strlen(body), h);
    cJSON_free(body);
}

static void respond_text(eio_server *srv, http_req *r, unsigned status, const char *ctype,
                         const char *body) {
    const char *h[12];
    cors_headers(srv, r, h);
    http_respond(r, status, ctype, body, strlen(body), h);
}

/* The headers of a polling answer (GET and POST): CORS, and, as the
 * reference, Cache-Control: no-store so no cache between keeps a session's
 * packets. h has room for 12 entries. */
static void poll_headers(const eio_server *srv, http_req *r, const char **h) {
    cors_headers(srv, r, h);
    size_t n = 0;
    while (h[n])
        n++;
    h[n++] = "Cache-Control";
    h[n++] = "no-store";
    h[n] = NULL;
}

static void respond_poll_text(eio_server *srv, http_req *r, const char *ctype, const char *body) {
    const char *h[12];
    poll_headers(srv, r, h);
    http_respond(r, 200, ctype, body, strlen(body), h);
}

static void respond_preflight(eio_server *srv, http_req *r) {
    const char *h[16];
    cors_headers(srv, r, h);
    size_t n = 0;
    while (h[n])
        n++;
    if (n) {
        h[n++] = "Access-Control-Allow-Methods";
        h[n++] = "GET,HEAD,PUT,PATCH,POST,DELETE";
        const char *req_h = http_req_header(r, "Access-Control-Request-Headers");
        if (req_h) {
            h[n++] = "Access-Control-Allow-Headers";
            h[n++] = req_h;
        }
    }
    h[n] = NULL;
    http_respond(r, 204, NULL, "", 0, h);
}

/* ---------- handshake info ---------- */

struct pack {
    sbuf b;
    char tag;
};

static void pack_kv(const char *k, const char *v, void *ud) {
    struct pack *p = ud;
    sbuf_putc(&p->b, (uint8_t)p->tag);
    size_t kl = strlen(k);
    for (size_t i = 0; i < kl; i++) {
        char c = k[i];
        if (p->tag == 'H' && c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        sbuf_putc(&p->b, (uint8_t)c);
    }
    sbuf_putc(&p->b, 0);
    sbuf_append(&p->b, v, strlen(v) + 1);
}

/* A packed handshake lives as long as its session: it is kept in slab
 * classes of HS_STEP bytes (util/slab.h), away from the handshakes' short-
 * lived allocations whose holes it would otherwise pin. The byte before the
 * block names its class, or HS_MALLOC for one larger than the classes. */
#define HS_STEP   32
#define HS_MALLOC 0xff

static char *hs_store(eio_server *srv, const uint8_t *p, size_t n) {
    size_t k = (n + 1 + HS_STEP - 1) / HS_STEP; /* 1.. */
    uint8_t *b = NULL;
    if (k <= HS_CLASSES) {
        slab_pool **pool = &srv->hs_pool[k - 1];
        if (!*pool) *pool = slab_new(k * HS_STEP);
        if (*pool && (b = slab_calloc(*pool))) b[0] = (uint8_t)(k - 1);
    } else if ((b = malloc(n + 1))) {
        b[0] = HS_MALLOC;
    }
    if (!b) return NULL;
    memcpy(b + 1, p, n);
    return (char *)b + 1;
}

static void hs_free(char *hs) {
    if (!hs) return;
    uint8_t *b = (uint8_t *)hs - 1;
    if (b[0] == HS_MALLOC)
        free(b);
    else
        slab_free(b);
}

/* The handshake is kept as one block "addr\0" then ('H'|'Q') key\0 value\0
 * ... \0: a few hundred bytes per session instead of a header table. */
static char *pack_handshake(eio_server *srv, http_req *r) {
    struct pack p = {SBUF_INIT, 'H'};
    const char *addr = http_req_remote_addr(r);
    sbuf_append(&p.b, addr, strlen(addr) + 1);
    http_req_each_header(r, pack_kv, &p);
    p.tag = 'Q';
    http_req_each_query(r, pack_kv, &p);
    char *out = sbuf_putc(&p.b, 0) ? NULL : hs_store(srv, p.b.data, p.b.len);
    sbuf_free(&p.b);
    return out;
}

/* Step through the packed handshake: *p starts at NULL; returns 0 at the end. */
static int hs_next(const char *hs, const char **p, char *tag, const char **k, const char **v) {
    if (!hs) return 0;
    if (!*p) *p = hs + strlen(hs) + 1;
    if (!**p) return 0;
    *tag = *(*p)++;
    *k = *p;
    *p += strlen(*p) + 1;
    *v = *p;
    *p += strlen(*p) + 1;
    return 1;
}

static const char *hs_find(const char *hs, char tag, const char *key) {
    const char *p = NULL, *k, *v;
    char t;
    while (hs_next(hs, &p, &t, &k, &v))
        if (t == tag && (tag == 'H' ? strcasecmp(k, key) == 0 : strcmp(k, key) == 0)) return v;
    return NULL;
}

static void hs_each(const char *hs, char tag, void (*fn)(const char *, const char *, void *),
                    void *ud) {
    const char *p = NULL, *k, *v;
    char t;
    while (hs_next(hs, &p, &t, &k, &v))
        if (t == tag) fn(k, v, ud);
}

const char *eio_session_header(const eio_session *s, const char *n) {
    return hs_find(s->hs, 'H', n);
}
const char *eio_session_query(const eio_session *s, const char *k) {
    return hs_find(s->hs, 'Q', k);
}
const char *eio_session_remote_addr(const eio_session *s) {
    return s->hs ? s->hs : "";
}
void eio_session_each_header(const eio_session *s, void (*fn)(const char *, const char *, void *),
                             void *ud) {
    hs_each(s->hs, 'H', fn, ud);
}
void eio_session_each_query(const eio_session *s, void (*fn)(const char *, const char *, void *),
                            void *ud) {
    hs_each(s->hs, 'Q', fn, ud);
}

const char *eio_request_header(eio_request *r, const char *name) {
    return http_req_header(r, name);
}
const char *eio_request_query(eio_request *r, const char *key) {
    return http_req_query(r, key);
}
const char *eio_request_remote_addr(eio_request *r) {
    return http_req_remote_addr(r);
}

/* ---------- admission bookkeeping ---------- */

/* A session is half-open from its handshake until the layer above calls
 * eio_session_established (Socket.IO: the first namespace joined). A real
 * client is half-open for one round trip; one that never goes further is
 * what a handshake flood leaves behind, so half-open sessions are counted per
 * address (max_half_open_per_address) and queued oldest first, to be shed
 * when the server is at max_sessions. Sessions per address are counted for
 * max_per_address in the same entry. */
static int per_address_on(const eio_server *srv) {
    return srv->o.max_per_address || srv->o.max_half_open_per_address;
}

static struct addr_count *addr_entry(eio_server *srv, const char *addr, int create) {
    size_t al = strlen(addr);
    struct addr_count *ac = smap_get(&srv->per_address, addr, al);
    if (ac || !create) return ac;
    if (!(ac = calloc(1, sizeof *ac + al + 1))) return NULL;
    memcpy(ac->addr, addr, al + 1);
    if (smap_put(&srv->per_address, ac->addr, al, ac)) {
        free(ac);
        return NULL;
    }
    return ac;
}

static void addr_release(eio_server *srv, struct addr_count *ac) {
    if (!ac->n && !ac->half_open) free(smap_del(&srv->per_address, ac->addr, strlen(ac->addr)));
}

/* Count a new session: one more for its address, and half-open. Without
 * memory for the bookkeeping the session is simply not limited. */
static void half_open_enter(eio_session *s) {
    eio_server *srv = s->srv;
    struct addr_count *ac = per_address_on(srv) && s->hs ? addr_entry(srv, s->hs, 1) : NULL;
    if (ac) ac->n++;
    if (fifo_push(&srv->half_open, s)) return;
    srv->m.sessions_half_open++;
    if (ac) ac->half_open++;
}

/* The session is established (closing 0) or gone (closing 1). */
static void half_open_leave(eio_session *s, int closing) {
    eio_server *srv = s->srv;
    int was_half_open = s->half_open != 0;
    if (!was_half_open && !closing) return;
    if (was_half_open) {
        fifo_remove(&srv->half_open, s);
        srv->m.sessions_half_open--;
    }
    struct addr_count *ac = per_address_on(srv) && s->hs ? addr_entry(srv, s->hs, 0) : NULL;
    if (!ac) return;
    if (was_half_open && ac->half_open) ac->half_open--;
    if (closing && ac->n) ac->n--;
    addr_release(srv, ac);
}

void eio_session_established(eio_session *s) {
    if (s && s->core.state != EIO_ST_CLOSED) half_open_leave(s, 0);
}

/* ---------- sessions ---------- */

static eio_session *session_new(eio_server *srv, eio_transport t, char *hs) {
    eio_session *s = slab_calloc(srv->pool);
    if (!s) return NULL;
    do {
        if (sio_random_id(s->sid)) {
            slab_free(s);
            return NULL;
        }
    } while (smap_get(&srv->sessions, s->sid, SID_LEN));
    if (smap_put(&srv->sessions, s->sid, SID_LEN, s)) {
        slab_free(s);
        return NULL;
    }
    s->srv = srv;
    s->hs = hs;
    eio_core_init(&s->core, t);
    if (t == EIO_TR_WEBSOCKET)
        srv->m.sessions_websocket++;
    else
        srv->m.sessions_polling++;
    srv->m.sessions_opened++;
    half_open_enter(s);
    return s;
}

static void session_free(void *p) {
    eio_session *s = p;
    segq_free(&s->poll_out);
    hs_free(s->hs);
    slab_free(s);
}

static void maybe_free(eio_session *s) {
    if (s->core.state == EIO_ST_CLOSED && s->refs == 0) {
        s->refs = 0xffff; /* never twice */
        if (sio_loop_free_later(s->srv->loop, s, session_free)) session_free(s);
    }
}

/* Leave the table for good; the struct goes once no callback holds it. */
static void session_destroy(eio_session *s) {
    eio_server *srv = s->srv;
    if (s->core.state == EIO_ST_CLOSED) return;
    s->core.state = EIO_ST_CLOSED;
    sio_timer_stop(srv->loop, &s->timer);
    smap_del(&srv->sessions, s->sid, SID_LEN);
    if (s->core.transport == EIO_TR_WEBSOCKET)
        srv->m.sessions_websocket--;
    else
        srv->m.sessions_polling--;
    srv->m.sessions_closed++;
    half_open_leave(s, 1);
    maybe_free(s);
}

static void send_open(eio_session *s, sbuf *out, int binary_frame_ws) {
    eio_server *srv = s->srv;
    char body[256];
    int n = snprintf(body, sizeof body, "{\"sid\":\"%s\",\"upgrades\":%s%s", s->sid,
                     s->core.transport == EIO_TR_POLLING && srv->o.allow_upgrades &&
                             (srv->o.transports & EIO_TRANSPORT_WEBSOCKET)
                         ? "[\"websocket\"]"
                         : "[]",
                     srv->open_tail);
    if (binary_frame_ws)
        ws_frame_append_prefixed(out, WS_OP_TEXT, '0', (const uint8_t *)body, (size_t)n);
    else
        eio_payload_append(out, EIO_OPEN, (const uint8_t *)body, (size_t)n, 0);
}

/* Queue one packet in the current transport's wire format. */
static int queue_packet(eio_session *s, eio_ptype type, const uint8_t *d, size_t n, int binary) {
    if (s->core.transport == EIO_TR_WEBSOCKET) {
        if (!s->ws) return SIO_ECLOSED;
        return binary ? ws_conn_send(s->ws, WS_OP_BINARY, d, n)
                      : ws_conn_send_prefixed(s->ws, WS_OP_TEXT, (uint8_t)('0' + type), d, n);
    }
    int r = eio_payload_append(segq_tail(&s->poll_out), type, d, n, binary);
    if (r == SIO_OK && s->poll_req) http_resume(s->poll_req);
    return r;
}

/* What a GET would carry: the parts and the separators between them. */
static size_t poll_len(const eio_session *s) {
    size_t parts = segq_parts(&s->poll_out);
    return segq_len(&s->poll_out) + (parts ? parts - 1 : 0);
}

static const char poll_ctype[] = "text/plain; charset=UTF-8";
static const uint8_t record_separator = EIO_RECORD_SEPARATOR;

static void poll_release(void *p) {
    segq_free(p);
    free(p);
}

static void poll_unref(void *p) {
    sbuf_shared_unref(p);
}

/* An answer of at least the threshold, coded as Accept-Encoding asks (see
 * eio/poll_z.h). Headers as the reference's: Content-Encoding, no Vary (its
 * polling answers are never cached); ours keep a Content-Length where it
 * streams chunked, which no client tells apart. 1 when it answered. */
static int poll_respond_coded(eio_session *s, http_req *r, const char **h) {
    eio_server *srv = s->srv;
    size_t threshold = srv->o.http_compression_threshold;
    if (!threshold || poll_len(s) < threshold) return 0;
    int coding = http_req_coding(r);
    sbuf_shared *body;
    if (coding < 0 || poll_z_encode(&srv->pz, http_server_zcodec(srv->http), coding, &s->poll_out,
                                    &record_separator, &body) != SIO_OK)
        return 0;
    segq_free(&s->poll_out);
    size_t n = 0;
    while (h[n])
        n++;
    h[n++] = "Content-Encoding";
    h[n++] = zc_coding_name(coding);
    h[n] = NULL;
    struct iovec v = {body->data, body->len};
    http_respond_iov(r, 200, poll_ctype, &v, 1, poll_unref, body, h);
    return 1;
}

/* Hand the whole queue to the response: a lone buffer as it is, several
 * parts as a gathered body that holds the shared broadcasts until sent. */
static void poll_respond(eio_session *s, http_req *r, const char **h) {
    segq *q = &s->poll_out;
    if (poll_respond_coded(s, r, h)) return;
    if (!q->n) {
        sbuf out = *segq_tail(q);
        *segq_tail(q) = (sbuf)SBUF_INIT;
        http_respond_take(r, 200, poll_ctype, out.data, out.len, h);
        return;
    }
    struct iovec small[33], *iov = small;
    size_t n = segq_parts(q) * 2 - 1;
    segq *held = malloc(sizeof *held);
    if (held && n > sizeof small / sizeof *small) iov = malloc(n * sizeof *iov);
    if (!held || !iov) {
        free(held);
        http_respond(r, 500, "text/plain", "", 0, NULL);
        return;
    }
    *held = *q;
    *q = (segq)SEGQ_INIT;
    n = segq_iov(held, iov, n, &record_separator);
    http_respond_iov(r, 200, poll_ctype, iov, n, poll_release, held, h);
    if (iov != small) free(iov);
}

/* The headers of a polling answer: CORS, and on the handshake's (the request
 * without a sid, as engine.io decides) the sid cookie when one is configured,
 * with engine.io's defaults for `cookie: {name}`. `cookie` holds the line. */
/* A polling answer's headers (poll_headers) and, on the handshake's, the
 * session cookie; h has room for 16 entries. */
static void answer_headers(eio_session *s, http_req *r, const char **h, char *cookie, size_t size) {
    poll_headers(s->srv, r, h);
    if (!s->srv->o.cookie || http_req_query(r, "sid")) return;
    size_t n = 0;
    while (h[n])
        n++;
    snprintf(cookie, size, "%s=%s; Path=/; HttpOnly; SameSite=Lax", s->srv->o.cookie, s->sid);
    h[n++] = "Set-Cookie";
    h[n++] = cookie;
    h[n] = NULL;
}

/* Answer a GET with everything queued, or with a noop when nothing is. */
static void poll_answer(eio_session *s, http_req *r) {
    sbuf *tail = segq_tail(&s->poll_out);
    if (s->core.state == EIO_ST_CLOSING && !segq_len(&s->poll_out) && !s->close_queued) {
        eio_payload_append(tail, EIO_CLOSE, NULL, 0, 0);
        s->close_queued = 1;
    }
    if (!segq_len(&s->poll_out)) eio_payload_append(tail, EIO_NOOP, NULL, 0, 0);
    /* CORS (6), no-store (2), cookie (2), Content-Encoding (2), NULL */
    const char *h[16];
    char cookie[COOKIE_NAME_MAX + SID_LEN + 48];
    answer_headers(s, r, h, cookie, sizeof cookie);
    poll_respond(s, r, h);
    if (s->core.state == EIO_ST_OPEN && s->want_drain) {
        s->want_drain = 0;
        if (s->srv->cb.on_drain) s->srv->cb.on_drain(s, s->srv->ud);
    }
    if (s->core.state != EIO_ST_CLOSING) return;
    /* What was queued before the close goes first, "1" in a later answer,
     * as the reference does: clients handle a close packet at once but the
     * packets before it a tick later, and would lose them. */
    if (s->close_queued)
        session_destroy(s);
    else /* a client gone for good must not hold up a shutdown for long */
        arm(s, s->srv->closing ? SHUTDOWN_GRACE_MS : CLOSE_TIMEOUT_MS);
}

static void poll_on_resume(http_req *r, void *ud) {
    eio_session *s = ud;
    s->refs--;
    s->poll_req = NULL;
    if (s->core.state == EIO_ST_CLOSED) {
        if (s->end_noop)
            respond_poll_text(s->srv, r, poll_ctype, "6");
        else
            respond_error(s->srv, r, 400, ERR_UNKNOWN_SID);
        maybe_free(s);
        return;
    }
    poll_answer(s, r);
}

static void poll_on_abort(http_req *r, void *ud) {
    eio_session *s = ud;
    s->refs--;
    s->poll_req = NULL;
    if (s->core.state == EIO_ST_OPEN)
        close_session(s, "transport error", 0);
    else if (s->core.state == EIO_ST_CLOSING)
        session_destroy(s);
    maybe_free(s);
}

static const http_suspend_ops poll_ops = {poll_on_resume, poll_on_abort};

static void on_timer(sio_loop *loop, sio_timer *t);

static void arm(eio_session *s, uint64_t ms) {
    sio_timer_start(s->srv->loop, &s->timer, ms, on_timer);
}

static const ws_handler transport_handler;
static const ws_handler probe_handler;

static void close_probe(eio_session *s) {
    if (!s->probe) return;
    ws_conn_close(s->probe, 1000, NULL);
    s->probe = NULL;
    eio_core_probe_detached(&s->core);
}

static void close_session(eio_session *s, const char *reason, int graceful) {
    eio_server *srv = s->srv;
    if (s->core.state != EIO_ST_OPEN) return;
    sio_timer_stop(srv->loop, &s->timer);
    close_probe(s);
    int shutting_down = strcmp(reason, "server shutting down") == 0;
    if (s->core.transport == EIO_TR_WEBSOCKET) {
        if (s->ws) {
            ws_conn_close(s->ws, shutting_down ? 1001 : 1000, NULL);
            srv->n_ws--;
        }
        s->ws = NULL;
        session_destroy(s);
    } else if (s->end_noop && s->poll_req) {
        /* The client's own close: nothing more goes to it (the reference
         * lets the held GET go with a noop), and the sid is gone now. */
        segq_clear(&s->poll_out);
        http_resume(s->poll_req);
        session_destroy(s);
    } else if (graceful || s->poll_req) {
        /* Polling has no way to push the close: it rides on the next GET,
         * which must still find the session. */
        if (!graceful) {
            /* A broken session's queue is dropped, as the reference does;
             * only the close reaches the held GET. */
            segq_clear(&s->poll_out);
            eio_payload_append(segq_tail(&s->poll_out), EIO_CLOSE, NULL, 0, 0);
            s->close_queued = 1;
        }
        s->core.state = EIO_ST_CLOSING;
        if (s->poll_req)
            http_resume(s->poll_req);
        else
            arm(s, shutting_down ? SHUTDOWN_GRACE_MS : CLOSE_TIMEOUT_MS);
    } else {
        session_destroy(s);
    }
    if (srv->cb.on_close) srv->cb.on_close(s, reason, srv->ud);
    maybe_free(s);
}

static void on_timer(sio_loop *loop, sio_timer *t) {
    eio_session *s = (eio_session *)((char *)t - offsetof(eio_session, timer));
    if (s->core.state == EIO_ST_CLOSING) {
        session_destroy(s);
        return;
    }
    eio_action a = eio_core_on_timer(&s->core);
    if (a == EIO_ACT_SEND_PING) {
        queue_packet(s, EIO_PING, NULL, 0, 0);
        arm(s, s->srv->o.ping_timeout_ms);
    } else if (a == EIO_ACT_CLOSE_PING_TIMEOUT) {
        close_session(s, eio_action_reason(a), 0);
    }
}

/* Switch the session to its probe: the polling queue is re-encoded as
 * WebSocket frames so nothing queued during the upgrade is lost. */
static void complete_upgrade(eio_session *s) {
    eio_server *srv = s->srv;
    s->ws = s->probe;
    s->probe = NULL;
    srv->n_ws++;
    srv->m.sessions_polling--;
    srv->m.sessions_websocket++;
    srv->m.upgrades++;
    sio_timer_stop(srv->loop, &s->ws->timer);
    ws_conn_set_owner(s->ws, &transport_handler, s);
    size_t parts = segq_parts(&s->poll_out);
    for (size_t i = 0; ws_conn_is_open(s->ws) && i < parts; i++) {
        size_t len, pos = 0;
        const uint8_t *d = segq_part(&s->poll_out, i, &len);
        eio_packet p;
        while (eio_payload_next(d, len, &pos, &p, &srv->scratch) == 0) {
            if (p.binary)
                ws_conn_send(s->ws, WS_OP_BINARY, p.data, p.len);
            else
                ws_conn_send_prefixed(s->ws, WS_OP_TEXT, (uint8_t)('0' + p.type), p.data, p.len);
        }
    }
    segq_free(&s->poll_out);
    ws_conn_flush_later(s->ws);
    if (s->poll_req) http_resume(s->poll_req); /* answered with a noop */
    if (srv->cb.on_upgrade) srv->cb.on_upgrade(s, srv->ud);
}

static void handle_packet(eio_session *s, eio_source src, const eio_packet *p) {
    eio_server *srv = s->srv;
    eio_action a = eio_core_on_packet(&s->core, src, p);
    switch (a) {
    case EIO_ACT_NONE:
        break;
    case EIO_ACT_DELIVER:
        srv->m.packets_in++;
        srv->m.bytes_in += p->len;
        if (srv->cb.on_message) srv->cb.on_message(s, p->data, p->len, p->binary, srv->ud);
        break;
    case EIO_ACT_HEARTBEAT_OK:
        arm(s, srv->o.ping_interval_ms);
        break;
    case EIO_ACT_SEND_PING:
        break;
    case EIO_ACT_PROBE_REPLY:
        ws_conn_send(s->probe, WS_OP_TEXT, (const uint8_t *)"3probe", 6);
        /* Release a held GET so the client can pause polling and upgrade. */
        if (s->poll_req) http_resume(s->poll_req);
        break;
    case EIO_ACT_UPGRADE:
        complete_upgrade(s);
        break;
    case EIO_ACT_CLOSE_PROBE:
        close_probe(s);
        break;
    case EIO_ACT_CLOSE_TRANSPORT_CLOSE:
        if (src == EIO_SRC_TRANSPORT && s->core.transport == EIO_TR_POLLING) s->end_noop = 1;
        close_session(s, eio_action_reason(a), 0);
        break;
    case EIO_ACT_CLOSE_PARSE_ERROR:
    case EIO_ACT_CLOSE_TRANSPORT_ERROR:
    case EIO_ACT_CLOSE_PING_TIMEOUT:
        close_session(s, eio_action_reason(a), 0);
        break;
    }
}

/* ---------- WebSocket transport ---------- */

static void ws_message(ws_conn *c, int binary, const uint8_t *data, size_t len, eio_source src) {
    eio_session *s = c->ud;
    eio_packet p = {EIO_MESSAGE, 1, data, len};
    if (!binary && eio_decode_text(data, len, &p)) {
        handle_packet(s, src, NULL);
        return;
    }
    handle_packet(s, src, &p);
}

static void transport_message(ws_conn *c, int binary, const uint8_t *d, size_t n) {
    ws_message(c, binary, d, n, EIO_SRC_TRANSPORT);
}

static void transport_closed(ws_conn *c, int code) {
    eio_session *s = c->ud;
    s->ws = NULL;
    s->srv->n_ws--;
    int error = code == 1002 || code == 1007 || code == 1009 || code == 1011;
    close_session(s, error ? "transport error" : "transport close", 0);
}

static void transport_drained(ws_conn *c) {
    eio_session *s = c->ud;
    if (s->srv->cb.on_drain) s->srv->cb.on_drain(s, s->srv->ud);
}

static const ws_handler transport_handler = {transport_message, transport_closed, NULL,
                                             transport_drained};

static void probe_message(ws_conn *c, int binary, const uint8_t *d, size_t n) {
    ws_message(c, binary, d, n, EIO_SRC_PROBE);
}

static void probe_closed(ws_conn *c, int code) {
    eio_session *s = c->ud;
    s->probe = NULL;
    eio_core_probe_detached(&s->core);
}

static const ws_handler probe_handler = {probe_message, probe_closed, NULL, NULL};

static void probe_timeout(sio_loop *loop, sio_timer *t) {
    ws_conn *c = (ws_conn *)((char *)t - offsetof(ws_conn, timer));
    eio_session *s = c->ud;
    if (s && s->probe == c) close_probe(s);
}

static void probe_upgraded(int fd, const uint8_t *pre, size_t n, void *ud) {
    eio_session *s = ud;
    eio_server *srv = s->srv;
    s->refs--;
    if (fd < 0 || s->core.state != EIO_ST_OPEN) {
        if (fd >= 0) close(fd);
        if (s->probe == NULL) eio_core_probe_detached(&s->core);
        maybe_free(s);
        return;
    }
    s->probe = ws_conn_new(srv->ws, fd, pre, n, (uint32_t)srv->o.max_payload, &probe_handler, s);
    if (!s->probe) {
        eio_core_probe_detached(&s->core);
        return;
    }
    if (s->probe_deflate) ws_conn_enable_deflate(s->probe);
    ws_conn_set_timeout(s->probe, srv->o.upgrade_timeout_ms, probe_timeout);
}

static void refused_message(ws_conn *c, int binary, const uint8_t *d, size_t n) {}
static void refused_closed(ws_conn *c, int code) {}
static const ws_handler refused_handler = {refused_message, refused_closed, NULL, NULL};

static void refuse_upgraded(int fd, const uint8_t *pre, size_t n, void *ud) {
    eio_server *srv = ud;
    if (fd < 0) return;
    ws_conn *c = ws_conn_new(srv->ws, fd, pre, n, 125, &refused_handler, NULL);
    /* A close frame without a status, as the `ws` module's close() sends. */
    if (c) ws_conn_close(c, 0, NULL);
}

struct pending_ws {
    eio_server *srv;
    char *hs;
    int deflate;
};

static void handshake_upgraded(int fd, const uint8_t *pre, size_t n, void *ud) {
    struct pending_ws *pw = ud;
    eio_server *srv = pw->srv;
    char *hs = pw->hs;
    int deflate = pw->deflate;
    free(pw);
    if (fd < 0) {
        hs_free(hs);
        return;
    }
    if (srv->closing) {
        /* Its 101 was queued before the shutdown began: the client hears the
         * same close 1001 as everyone else, without a session. */
        hs_free(hs);
        ws_conn *c = ws_conn_new(srv->ws, fd, pre, n, (uint32_t)srv->o.max_payload, NULL, NULL);
        if (c) ws_conn_close(c, 1001, NULL);
        return;
    }
    eio_session *s = session_new(srv, EIO_TR_WEBSOCKET, hs);
    if (!s) {
        hs_free(hs);
        close(fd);
        return;
    }
    s->ws = ws_conn_new(srv->ws, fd, pre, n, (uint32_t)srv->o.max_payload, &transport_handler, s);
    if (!s->ws) {
        session_destroy(s);
        return;
    }
    if (deflate) ws_conn_enable_deflate(s->ws);
    srv->n_ws++;
    send_open(s, ws_conn_outbuf(s->ws), 1);
    ws_conn_flush_later(s->ws);
    arm(s, srv->o.ping_interval_ms);
    if (srv->cb.on_open) srv->cb.on_open(s, srv->ud);
}

/* ---------- HTTP entry ---------- */

static void poll_get(eio_session *s, http_req *r) {
    if (s->poll_req) {
        /* Two GETs at once break the protocol: the reference answers the
         * newcomer 400, closes the session, and the held GET gets "1". */
        respond_text(s->srv, r, 400, "text/html", "");
        close_session(s, "transport error", 0);
        return;
    }
    if (segq_len(&s->poll_out) || s->core.state == EIO_ST_CLOSING ||
        s->core.upgrade == EIO_UP_PROBED) {
        poll_answer(s, r);
        return;
    }
    s->poll_req = r;
    s->refs++;
    http_suspend(r, &poll_ops, s);
}

static void poll_post(eio_session *s, http_req *r) {
    eio_server *srv = s->srv;
    if (http_req_body_too_large(r)) {
        respond_text(srv, r, 413, "text/html", "");
        close_session(s, "transport error", 0);
        return;
    }
    const char *ctype = http_req_header(r, "Content-Type");
    if (ctype && strcasecmp(ctype, "application/octet-stream") == 0) {
        /* Binary POST bodies belong to Engine.IO v3; v4 sends base64. */
        respond_text(srv, r, 400, "text/html", "");
        close_session(s, "transport error", 0);
        return;
    }
    size_t n;
    const uint8_t *body = http_req_body(r, &n);
    size_t pos = 0;
    eio_packet p;
    while (s->core.state == EIO_ST_OPEN) {
        int rc = eio_payload_next(body, n, &pos, &p, &srv->scratch);
        if (rc == 1) break;
        handle_packet(s, EIO_SRC_TRANSPORT, rc == SIO_OK ? &p : NULL);
        if (rc != SIO_OK) break;
    }
    respond_poll_text(srv, r, "text/html", "ok");
}

/* Make room at capacity: close the session that has been half-open longest
 * (any address), answering its held GET if it has one. Its place counts as
 * free at once, even while that answer is still being written. */
static void shed_oldest(eio_server *srv) {
    eio_session *s = fifo_oldest(&srv->half_open);
    if (!s) return;
    srv->m.sessions_shed++;
    log_debug("eio: at capacity, shedding half-open session %s from %s", s->sid,
              eio_session_remote_addr(s));
    half_open_leave(s, 0);
    if (s->core.state == EIO_ST_OPEN)
        close_session(s, "server at capacity", 0);
    else if (!s->poll_req)
        session_destroy(s); /* closed already, waiting for a GET that may never come */
}

/* Admission control for a new session: capacity, handshake rate (a token
 * bucket refilled at the rate and holding a tenth of a second's worth, so a
 * reconnection storm is spread out rather than let in as one burst), sessions
 * and half-open sessions per address. At capacity a half-open session is shed
 * to make room, once every other check has passed. Answers the refusal itself
 * and returns 0. */
static int admit(eio_server *srv, http_req *r) {
    static const char *const retry[] = {"Retry-After", "1", NULL};
    int full = srv->o.max_sessions && smap_len(&srv->sessions) >= srv->o.max_sessions;
    if (full && !fifo_oldest(&srv->half_open)) {
        srv->m.rejected[REJ_MAX_CONNECTIONS]++;
        static const char body[] = "{\"code\":503,\"message\":\"Server at capacity\"}";
        http_respond(r, 503, "application/json", body, sizeof body - 1, retry);
        return 0;
    }
    if (srv->o.max_handshake_rate) {
        uint64_t now = sio_loop_now(srv->loop);
        double rate = srv->o.max_handshake_rate;
        double cap = rate / 10 < 1 ? 1 : rate / 10;
        if (!srv->tokens_at)
            srv->tokens = cap;
        else
            srv->tokens += (double)(now - srv->tokens_at) * rate / 1000.0;
        if (srv->tokens > cap) srv->tokens = cap;
        srv->tokens_at = now ? now : 1;
        if (srv->tokens < 1.0) {
            srv->m.rejected[REJ_HANDSHAKE_RATE]++;
            static const char body[] = "{\"code\":503,\"message\":\"Too many handshakes\"}";
            http_respond(r, 503, "application/json", body, sizeof body - 1, retry);
            return 0;
        }
        srv->tokens -= 1.0;
    }
    struct addr_count *ac =
        per_address_on(srv) ? addr_entry(srv, http_req_remote_addr(r), 0) : NULL;
    if (ac && srv->o.max_per_address && ac->n >= srv->o.max_per_address) {
        srv->m.rejected[REJ_PER_ADDRESS]++;
        static const char body[] = "{\"code\":429,\"message\":\"Too many sessions\"}";
        http_respond(r, 429, "application/json", body, sizeof body - 1, retry);
        return 0;
    }
    if (ac && srv->o.max_half_open_per_address &&
        ac->half_open >= srv->o.max_half_open_per_address) {
        srv->m.rejected[REJ_HALF_OPEN_PER_ADDRESS]++;
        static const char body[] = "{\"code\":429,\"message\":\"Too many half-open sessions\"}";
        http_respond(r, 429, "application/json", body, sizeof body - 1, retry);
        return 0;
    }
    if (full) shed_oldest(srv);
    return 1;
}

static void on_request(http_req *r, void *ud) {
    eio_server *srv = ud;
    http_method m = http_req_method(r);
    const char *origin = http_req_header(r, "Origin");
    if (m == HTTP_OPTIONS && srv->cors) {
        respond_preflight(srv, r);
        return;
    }
    const char *transport = http_req_query(r, "transport");
    int is_ws = transport && strcmp(transport, "websocket") == 0;
    int is_polling = transport && strcmp(transport, "polling") == 0;
    /* A transport that is off is unknown, as engine.io's verify() has it. */
    if (!(is_ws && (srv->o.transports & EIO_TRANSPORT_WEBSOCKET)) &&
        !(is_polling && (srv->o.transports & EIO_TRANSPORT_POLLING))) {
        respond_error(srv, r, 400, ERR_TRANSPORT_UNKNOWN);
        return;
    }
    if (!origin_allowed(srv, origin)) {
        respond_error(srv, r, 403, ERR_FORBIDDEN);
        return;
    }
    char accept[29];
    if (is_ws && !ws_handshake_check(r, accept)) {
        respond_error(srv, r, 400, ERR_BAD_REQUEST);
        return;
    }
    /* permessage-deflate, when enabled and offered: the 101 carries the
     * answer and the connection is told once it exists. */
    char ext[WS_DEFLATE_RESPONSE_MAX];
    int deflate = is_ws && srv->o.ws_deflate && ws_handshake_deflate(r, ext);
    const char *const ext_headers[] = {"Sec-WebSocket-Extensions", ext, NULL};
    const char *const *ws_headers = deflate ? ext_headers : NULL;
    const char *sid = http_req_query(r, "sid");
    if (sid) {
        eio_session *s = strlen(sid) == SID_LEN ? smap_get(&srv->sessions, sid, SID_LEN) : NULL;
        if (!s || s->core.state == EIO_ST_CLOSED) {
            respond_error(srv, r, 400, ERR_UNKNOWN_SID);
            return;
        }
        if (is_ws) {
            /* Without allow_upgrades the open packet offers no upgrade, but
             * a client that asks all the same is upgraded: engine.io checks
             * the option only when it writes the offer. */
            if (eio_core_probe_attached(&s->core) != EIO_ACT_NONE) {
                /* Already upgraded, or a probe in flight: the reference takes
                 * the handshake and closes the newcomer, so a client sees a
                 * close rather than an HTTP error; the session is untouched. */
                http_upgrade(r, accept, NULL, refuse_upgraded, srv);
                return;
            }
            s->refs++;
            s->probe_deflate = (uint8_t)deflate;
            http_upgrade(r, accept, ws_headers, probe_upgraded, s);
            return;
        }
        if (s->core.transport != EIO_TR_POLLING) {
            respond_error(srv, r, 400, ERR_BAD_REQUEST);
            return;
        }
        if (m == HTTP_GET)
            poll_get(s, r);
        else if (m == HTTP_POST)
            poll_post(s, r);
        else
            respond_error(srv, r, 400, ERR_BAD_REQUEST);
        return;
    }
    if (m != HTTP_GET) {
        respond_error(srv, r, 400, ERR_BAD_HANDSHAKE_METHOD);
        return;
    }
    /* The hook before the protocol version, in engine.io's order (verify(),
     * then handshake()): a v3 client it refuses sees 403, not code 5. */
    const char *refusal = NULL;
    if (srv->cb.allow_request && !srv->cb.allow_request(srv, r, &refusal, srv->ud)) {
        respond_forbidden(srv, r, refusal);
        return;
    }
    const char *eio = http_req_query(r, "EIO");
    if (!eio || strcmp(eio, "4") != 0) {
        respond_error(srv, r, 400, ERR_UNSUPPORTED_PROTOCOL_VERSION);
        return;
    }
    if (srv->closing) {
        /* A handshake on a connection accepted before the shutdown: a session
         * opened now would hold the exit until its deadline. */
        static const char *const retry[] = {"Retry-After", "1", NULL};
        static const char body[] = "{\"code\":503,\"message\":\"Server shutting down\"}";
        http_respond(r, 503, "application/json", body, sizeof body - 1, retry);
        return;
    }
    if (!admit(srv, r)) return;
    char *hs = pack_handshake(srv, r);
    if (is_ws) {
        struct pending_ws *pw = malloc(sizeof *pw);
        if (!pw) {
            hs_free(hs);
            http_respond(r, 500, "text/plain", "", 0, NULL);
            return;
        }
        pw->srv = srv;
        pw->hs = hs;
        pw->deflate = deflate;
        http_upgrade(r, accept, ws_headers, handshake_upgraded, pw);
        return;
    }
    eio_session *s = session_new(srv, EIO_TR_POLLING, hs);
    if (!s) {
        hs_free(hs);
        http_respond(r, 500, "text/plain", "", 0, NULL);
        return;
    }
    send_open(s, segq_tail(&s->poll_out), 0);
    arm(s, srv->o.ping_interval_ms);
    poll_answer(s, r);
    if (srv->cb.on_open) srv->cb.on_open(s, srv->ud);
}

/* ---------- public ---------- */

/* The path served, as engine.io's _computePath: without its trailing slash,
 * then with one unless add_trailing_slash is 0 ("/" stays "/"). */
static char *served_path(const eio_options *o) {
    const char *p = o->path ? o->path : "/socket.io/";
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    int slash = o->add_trailing_slash && !(n == 1 && p[0] == '/');
    char *out = malloc(n + 2);
    if (!out) return NULL;
    memcpy(out, p, n);
    if (slash) out[n++] = '/';
    out[n] = 0;
    return out;
}

/* A cookie name is an RFC 6265 token: no separators, controls or spaces. */
static int cookie_name_ok(const char *name) {
    size_t n = strlen(name);
    if (!n || n > COOKIE_NAME_MAX) return 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c <= ' ' || *c >= 127 || strchr("()<>@,;:\\\"/[]?={}", *c)) return 0;
    return 1;
}

eio_server *eio_server_new(sio_loop *loop, sio_http *http, const eio_options *opts,
                           const eio_callbacks *cbs, void *ud, int *err) {
    *err = SIO_ENOMEM;
    eio_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->loop = loop;
    srv->http = http;
    srv->o = *opts;
    srv->cb = *cbs;
    srv->ud = ud;
    srv->half_open = (fifo)FIFO_INIT(eio_session, half_open);
    srv->pz = (poll_z)POLL_Z_INIT;
    if (!srv->o.transports) srv->o.transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    if (opts->cookie && !cookie_name_ok(opts->cookie)) {
        *err = SIO_EINVAL;
        goto fail;
    }
    srv->cookie = opts->cookie ? strdup(opts->cookie) : NULL;
    srv->path = served_path(opts);
    srv->ws = ws_ctx_new(loop);
    srv->pool = slab_new(sizeof(eio_session));
    if (!srv->path || !srv->ws || !srv->pool || (opts->cookie && !srv->cookie)) goto fail;
    srv->o.cookie = srv->cookie;
    if (opts->cors_origins) {
        size_t n = 0;
        while (opts->cors_origins[n])
            n++;
        srv->cors = calloc(n + 1, sizeof *srv->cors);
        if (!srv->cors) goto fail;
        for (size_t i = 0; i < n; i++)
            if (!(srv->cors[i] = strdup(opts->cors_origins[i]))) goto fail;
    }
    srv->o.path = srv->path;
    srv->o.cors_origins = NULL;
    snprintf(srv->open_tail, sizeof srv->open_tail,
             ",\"pingInterval\":%u,\"pingTimeout\":%u,\"maxPayload\":%zu}", opts->ping_interval_ms,
             opts->ping_timeout_ms, opts->max_payload);
    if ((*err = eio_metrics_register(sio_loop_metrics(loop), &srv->m))) goto fail;
    if ((*err = http_server_route(http, srv->path, on_request, srv, opts->max_payload))) goto fail;
    *err = SIO_OK;
    return srv;
fail:
    eio_server_free(srv);
    return NULL;
}

void eio_server_close_all(eio_server *srv) {
    srv->closing = 1;
    size_t pos = 0;
    smap_slot *slot;
    while ((slot = smap_next(&srv->sessions, &pos))) {
        eio_session *s = slot->val;
        if (s->core.state == EIO_ST_OPEN)
            close_session(s, "server shutting down", 1);
        else if (s->core.state == EIO_ST_CLOSING && !s->poll_req)
            arm(s, SHUTDOWN_GRACE_MS); /* closed earlier, still waiting for a GET */
    }
}

void eio_server_free(eio_server *srv) {
    if (!srv) return;
    eio_server_close_all(srv);
    /* Held GETs (also those just resumed by the closes above) and upgrades
     * in flight end now, through the callbacks that drop their references,
     * while srv still exists; none reaches it afterwards. */
    if (srv->http) http_server_unroute(srv->http, srv);
    size_t pos = 0;
    smap_slot *slot;
    while ((slot = smap_next(&srv->sessions, &pos)))
        session_destroy(slot->val);
    smap_free(&srv->sessions);
    fifo_free(&srv->half_open);
    poll_z_free(&srv->pz);
    pos = 0;
    while ((slot = smap_next(&srv->per_address, &pos)))
        free(slot->val);
    smap_free(&srv->per_address);
    ws_ctx_free(srv->ws);
    if (srv->cors)
        for (char **p = srv->cors; *p; p++)
            free(*p);
    free(srv->cors);
    free(srv->path);
    free(srv->cookie);
    sbuf_free(&srv->scratch);
    metrics_remove(sio_loop_metrics(srv->loop), &srv->m);
    slab_release(srv->pool);
    for (size_t i = 0; i < HS_CLASSES; i++)
        slab_release(srv->hs_pool[i]);
    free(srv);
}

size_t eio_server_sessions(const eio_server *srv) {
    return smap_len(&srv->sessions);
}
size_t eio_server_websockets(const eio_server *srv) {
    return srv->n_ws;
}
void eio_server_counters(const eio_server *srv, eio_counters *out) {
    const eio_metrics *m = &srv->m;
    *out = (eio_counters){m->packets_in,
                          m->packets_out,
                          m->bytes_in,
                          m->bytes_out,
                          m->sessions_opened,
                          m->sessions_closed,
                          m->upgrades,
                          (size_t)(m->sessions_polling > 0 ? m->sessions_polling : 0),
                          (size_t)(m->sessions_websocket > 0 ? m->sessions_websocket : 0)};
}
sio_loop *eio_server_loop(const eio_server *srv) {
    return srv->loop;
}

/* A client that lets its queue pass max_buffered is dropped at once: its
 * memory is what a slow reader would otherwise grow without bound. The bound
 * is on what waits behind the message being written: the rest of a frame the
 * kernel has begun to take does not count, and a message larger than the
 * bound (max_payload bounds it) is taken while no more than the bound waits,
 * so a message the options allow is never by itself the reason; what piles up
 * behind it is. */
static int over_budget(eio_session *s, size_t more) {
    size_t bound = s->srv->o.max_buffered;
    size_t queued = eio_session_buffered(s);
    size_t waiting = queued;
    if (s->core.transport == EIO_TR_WEBSOCKET && s->ws) waiting -= ws_conn_in_flight(s->ws);
    /* A message larger than the bound goes in unless more than the bound
     * already waits; a smaller one must fit in what is left. */
    if (!bound || (more > bound ? waiting <= bound : waiting + more <= bound)) return 0;
    s->srv->m.backpressure_disconnects++;
    log_info("eio: %s has %zu bytes queued (%zu waiting); %zu more would pass --max-buffered "
             "%zu: disconnecting (backpressure)",
             s->sid, queued, waiting, more, bound);
    if (s->core.transport == EIO_TR_WEBSOCKET && s->ws) {
        ws_conn_abort(s->ws);
        s->ws = NULL;
        s->srv->n_ws--;
    }
    segq_free(&s->poll_out);
    close_session(s, "backpressure", 0);
    return 1;
}

int eio_send(eio_session *s, const uint8_t *data, size_t len, int binary) {
    if (s->core.state != EIO_ST_OPEN) return SIO_ECLOSED;
    if (len > s->srv->o.max_payload) return SIO_ETOOBIG;
    if (over_budget(s, len + 10)) return SIO_ECLOSED;
    s->srv->m.packets_out++;
    s->srv->m.bytes_out += len;
    return queue_packet(s, EIO_MESSAGE, data, len, binary);
}

void eio_close(eio_session *s) {
    close_session(s, "forced close", 1);
}
const char *eio_session_id(const eio_session *s) {
    return s->sid;
}
const char *eio_session_transport(const eio_session *s) {
    return s->core.transport == EIO_TR_WEBSOCKET ? "websocket" : "polling";
}
int eio_session_ready(const eio_session *s) {
    if (s->core.state != EIO_ST_OPEN) return 0;
    /* Frames queued this iteration are not a backlog; a queue the kernel
     * refused for a while is. */
    if (s->core.transport == EIO_TR_WEBSOCKET)
        return s->ws && ws_conn_buffered(s->ws) < READY_BACKLOG;
    return s->poll_req != NULL;
}
size_t eio_session_buffered(const eio_session *s) {
    return s->core.transport == EIO_TR_WEBSOCKET ? (s->ws ? ws_conn_buffered(s->ws) : 0)
                                                 : poll_len(s);
}
int eio_session_writable(eio_session *s) {
    if (s->core.state != EIO_ST_OPEN) return 0;
    if (!s->srv->o.max_buffered || eio_session_buffered(s) < s->srv->o.max_buffered / 2) return 1;
    /* The producer will wait: tell it when the queue is empty again. */
    if (s->core.transport == EIO_TR_WEBSOCKET && s->ws)
        ws_conn_want_drain(s->ws);
    else
        s->want_drain = 1;
    return 0;
}

void eio_session_set_data(eio_session *s, void *p) {
    s->user = p;
}
void *eio_session_data(const eio_session *s) {
    return s->user;
}

/* ---------- batches ---------- */

int eio_batch_add(eio_batch *b, const uint8_t *data, size_t len, int binary) {
    int r = binary ? ws_frame_append(&b->ws, WS_OP_BINARY, data, len)
                   : ws_frame_append_prefixed(&b->ws, WS_OP_TEXT, '0' + EIO_MESSAGE, data, len);
    if (r == SIO_OK) r = eio_payload_append(&b->poll, EIO_MESSAGE, data, len, binary);
    if (r == SIO_OK) {
        b->n++;
        b->bytes += len;
    }
    return r;
}

/* The receivers keep their references; the next batch gets new copies. */
static void batch_unshare(eio_batch *b) {
    sbuf_shared_unref(b->ws_shared);
    sbuf_shared_unref(b->poll_shared);
    sbuf_shared_unref(b->wsz_shared);
    b->ws_shared = b->poll_shared = b->wsz_shared = NULL;
    b->wsz_state = 0;
    b->sent = 0;
}

void eio_batch_clear(eio_batch *b) {
    batch_unshare(b);
    sbuf_clear(&b->ws);
    sbuf_clear(&b->poll);
    sbuf_clear(&b->wsz);
    b->n = 0;
    b->bytes = 0;
}

void eio_batch_free(eio_batch *b) {
    batch_unshare(b);
    sbuf_free(&b->ws);
    sbuf_free(&b->poll);
    sbuf_free(&b->wsz);
    b->n = 0;
}

/* The batch's bytes in one wire format as a shared block, made once; NULL
 * when they are small and this is the batch's first receiver (or out of
 * memory): then they are copied (see batch.h). */
static sbuf_shared *batch_shared(eio_batch *b, const sbuf *bytes, sbuf_shared **cache) {
    int share = bytes->len >= SEGQ_SHARE_MIN || b->sent++ > 0;
    if (!*cache && share) *cache = sbuf_shared_new(bytes->data, bytes->len);
    return *cache;
}

/* The frames a WebSocket receiver gets: with permessage-deflate, the
 * compressed variant, made at its first such receiver (the plain frames when
 * nothing in the batch reaches the threshold, or compressing failed). */
static const sbuf *batch_frames(eio_session *s, eio_batch *b) {
    if (!ws_conn_deflates(s->ws)) return &b->ws;
    if (!b->wsz_state) {
        sbuf_clear(&b->wsz);
        int r = ws_ctx_deflate_frames(s->srv->ws, b->ws.data, b->ws.len, &b->wsz);
        b->wsz_state = r > 0 ? 1 : -1;
        if (r <= 0) sbuf_clear(&b->wsz);
    }
    return b->wsz_state > 0 ? &b->wsz : &b->ws;
}

int eio_send_batch(eio_session *s, eio_batch *b) {
    if (s->core.state != EIO_ST_OPEN) return SIO_ECLOSED;
    if (!b->n) return SIO_OK;
    int ws = s->core.transport == EIO_TR_WEBSOCKET;
    if (ws && !s->ws) return SIO_ECLOSED;
    const sbuf *frames = ws ? batch_frames(s, b) : NULL;
    if (over_budget(s, ws ? frames->len : b->poll.len + 1)) return SIO_ECLOSED;
    s->srv->m.packets_out += b->n;
    s->srv->m.bytes_out += b->bytes;
    if (ws) {
        sbuf_shared *sh =
            batch_shared(b, frames, frames == &b->wsz ? &b->wsz_shared : &b->ws_shared);
        return sh ? ws_conn_send_shared(s->ws, sh)
                  : ws_conn_send_raw(s->ws, frames->data, frames->len);
    }
    segq *q = &s->poll_out;
    sbuf_shared *sh = batch_shared(b, &b->poll, &b->poll_shared);
    if (sh) {
        if (segq_push_shared(q, sh)) return SIO_ENOMEM;
    } else {
        /* Copied into the tail, which then needs its own separator. */
        sbuf *tail = segq_tail(q);
        if (tail->len && sbuf_putc(tail, EIO_RECORD_SEPARATOR)) return SIO_ENOMEM;
        if (sbuf_append(tail, b->poll.data, b->poll.len)) return SIO_ENOMEM;
    }
    if (s->poll_req) http_resume(s->poll_req);
    return SIO_OK;
}
