#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "sio/status.h"
#include "util/buf.h"
#include "util/log.h"

#define MAX_ROUTES 16
/* Slowloris: libmicrohttpd's timeout is an idle timeout, reset by every byte,
 * so a client trickling one byte a second holds a connection forever. These
 * bound the whole request instead; held long-polls are exempt. */
#define HEADERS_DEADLINE_MS 10000
#define BODY_DEADLINE_MS    20000
#define SWEEP_MS            1000

/* Every HTTP connection libmicrohttpd holds, with the time its current
 * request began. */
struct conn_track {
    struct conn_track *prev, *next;
    struct MHD_Connection *c;
    http_req *req; /* the request in flight on it, if any */
    uint64_t since_ms;
    /* libmicrohttpd drops a suspended connection from its epoll set, so it
     * would only see the client leave at resume: this watches for the peer's
     * FIN or RST instead. Registered at the connection's first suspend and
     * kept until it closes (edge-triggered, so it costs nothing between
     * polls): a long-polling client holds one GET after another on the same
     * connection, and an add and a delete per GET were two of the syscalls
     * a polling delivery costs beyond the floor's recv + send. */
    sio_io watch;
    uint8_t phase; /* TRACK_HEADERS, TRACK_BODY, TRACK_ANSWERED */
    uint8_t cut;
    uint8_t hup;     /* the watch saw the peer's FIN or RST (sticky) */
    uint8_t watched; /* the watch was ever registered: free t after the batch */
};

enum { TRACK_HEADERS, TRACK_BODY, TRACK_ANSWERED };

struct route {
    char *prefix;
    size_t prefix_len;
    http_handler h;
    void *ud;
    size_t max_body;
};

struct http_server {
    sio_loop *loop;
    struct MHD_Daemon *d;
    sio_io io; /* libmicrohttpd's epoll fd inside ours */
    sio_timer timer;
    int port;
    int need_run;
    int running;
    int listen_fd; /* after quiesce, ours to close */
    struct route routes[MAX_ROUTES];
    size_t n_routes;
    http_req *held; /* requests whose owner has not yet been told their end */
    size_t n_suspended;
    char *trusted; /* ",a,b," for a quick substring test */
    struct conn_track *tracks;
    int hup_pending; /* a GET was suspended on a connection already hung up */
    sio_timer sweep;
    zcodec *z; /* content codings; see http_server_zcodec */
};

enum { RQ_NEW, RQ_BODY, RQ_DISPATCHED, RQ_SUSPENDED, RQ_RESUMED, RQ_ABORTED, RQ_DONE };

struct http_req {
    http_server *srv;
    struct MHD_Connection *c;
    const struct route *route;
    const char *url;
    const char *method_str;
    http_method method;
    int state;
    int too_large;
    sbuf body;
    /* long-polling: from http_suspend until the owner is told the end (once:
     * on_resume or on_abort), the request sits on the server's held list and
     * sops is set; nothing else may end it without telling the owner. */
    const http_suspend_ops *sops;
    void *sud;
    http_req *prev, *next;
    /* upgrade */
    http_upgraded_cb up_cb;
    void *up_ud;
    char addr[48];
};

static void run_mhd(http_server *s);
static void mark_run(http_server *s);

static struct conn_track *track_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void track_phase(struct MHD_Connection *c, int phase, uint64_t now) {
    struct conn_track *t = track_of(c);
    if (!t) return;
    t->phase = (uint8_t)phase;
    t->since_ms = now;
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **ctx,
                              enum MHD_ConnectionNotificationCode code) {
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_track *t = calloc(1, sizeof *t);
        if (!t) return;
        t->c = c;
        t->watch.fd = -1;
        t->since_ms = sio_loop_now(s->loop);
        t->next = s->tracks;
        if (s->tracks) s->tracks->prev = t;
        s->tracks = t;
        *ctx = t;
    } else if (*ctx) {
        struct conn_track *t = *ctx;
        if (t->prev)
            t->prev->next = t->next;
        else
            s->tracks = t->next;
        if (t->next) t->next->prev = t->prev;
        *ctx = NULL;
        if (!t->watched) {
            free(t);
            return;
        }
        /* libmicrohttpd closes the socket after telling us (and an upgraded
         * one lives on as a duplicate, which would keep the registration):
         * delete it now, and free t after the batch, which may still name it. */
        if (t->watch.events) sio_loop_del(s->loop, &t->watch);
        t->watch.fd = -1;
        if (sio_loop_free_later(s->loop, t, free)) {
            /* Out of memory for the deferral: leaking beats a use-after-free. */
        }
    }
}

static void sweep(sio_loop *loop, sio_timer *tm) {
    http_server *s = (http_server *)((char *)tm - offsetof(http_server, sweep));
    uint64_t now = sio_loop_now(loop);
    for (struct conn_track *t = s->tracks; t; t = t->next) {
        uint64_t limit = t->phase == TRACK_HEADERS ? HEADERS_DEADLINE_MS
                         : t->phase == TRACK_BODY  ? BODY_DEADLINE_MS
                                                   : 0;
        if (!limit || t->cut || now - t->since_ms < limit) continue;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(t->c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci) continue;
        /* libmicrohttpd notices the dead socket on its next pass and cleans up. */
        shutdown(ci->connect_fd, SHUT_RDWR);
        t->cut = 1;
        log_info("http: dropped a connection whose request took over %llu s",
                 (unsigned long long)limit / 1000);
        mark_run(s);
    }
    sio_timer_start(loop, tm, SWEEP_MS, sweep);
}

static void mark_run(http_server *s) {
    s->need_run = 1;
}

static void on_mhd_io(sio_loop *loop, sio_io *io, uint32_t ev) {
    http_server *s = (http_server *)((char *)io - offsetof(http_server, io));
    run_mhd(s);
}

static void on_mhd_timer(sio_loop *loop, sio_timer *t) {
    http_server *s = (http_server *)((char *)t - offsetof(http_server, timer));
    run_mhd(s);
}

static void arm_timer(http_server *s) {
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(s->d, &ms) == MHD_YES)
        sio_timer_start(s->loop, &s->timer, ms, on_mhd_timer);
    else
        sio_timer_stop(s->loop, &s->timer);
}

static void run_mhd(http_server *s) {
    if (!s->d) return;
    /* libmicrohttpd 0.9.75 without an internal thread does not wake itself
     * after a resume or an upgrade CLOSE, so run it until it stops asking. */
    for (int i = 0; i < 8; i++) {
        s->need_run = 0;
        MHD_run(s->d);
        if (!s->need_run) break;
    }
    arm_timer(s);
}

static void abort_hung_up(http_server *s);

static void before_sleep(sio_loop *loop, void *ud) {
    http_server *s = ud;
    if (s->hup_pending) abort_hung_up(s);
    if (s->need_run) run_mhd(s);
}

static const struct route *find_route(http_server *s, const char *url) {
    const struct route *best = NULL;
    for (size_t i = 0; i < s->n_routes; i++) {
        const struct route *r = &s->routes[i];
        if (r->h && strncmp(url, r->prefix, r->prefix_len) == 0 &&
            (!best || r->prefix_len > best->prefix_len))
            best = r;
    }
    return best;
}

static http_method parse_method(const char *m) {
    static const struct {
        const char *name;
        http_method m;
    } t[] = {{"GET", HTTP_GET},    {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
             {"PUT", HTTP_PUT},    {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
             {"PATCH", HTTP_PATCH}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(m, t[i].name) == 0) return t[i].m;
    return HTTP_OTHER;
}

/* The request leaves the held list; its owner is no longer to be told. */
static const http_suspend_ops *unhold(http_req *r) {
    http_server *s = r->srv;
    const http_suspend_ops *ops = r->sops;
    if (!ops) return NULL;
    if (r->prev)
        r->prev->next = r->next;
    else
        s->held = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->sops = NULL;
    if (r->state == RQ_SUSPENDED) s->n_suspended--;
    return ops;
}

/* Every path that ends a held request other than its resume lands here: the
 * client left while it was suspended, or after a resume but before it ran
 * (a reset under a resumed long-poll), or the server stops. */
static int tell_abort(http_req *r) {
    int suspended = r->state == RQ_SUSPENDED;
    void *ud = r->sud;
    const http_suspend_ops *ops = unhold(r);
    if (!ops) return 0;
    r->state = RQ_ABORTED;
    if (ops->on_abort) ops->on_abort(r, ud);
    return suspended;
}

static void dispatch(http_req *r) {
    r->state = RQ_DISPATCHED;
    track_phase(r->c, TRACK_ANSWERED, 0);
    if (!r->route || !r->route->h) {
        static const char body[] = "Not Found";
        http_respond(r, 404, "text/plain", body, sizeof body - 1, NULL);
        return;
    }
    r->route->h(r, r->route->ud);
    if (r->state == RQ_DISPATCHED) {
        /* A handler that neither answered nor suspended is a bug; do not
         * leave the client hanging on it. */
        log_error("http: handler for %s left the request unanswered", r->url);
        http_respond(r, 500, "text/plain", "", 0, NULL);
    }
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->srv = s;
        r->c = c;
        r->url = url;
        r->method_str = method;
        r->method = parse_method(method);
        r->route = find_route(s, url);
        r->state = RQ_NEW;
        *con_cls = r;
        struct conn_track *t = track_of(c);
        if (t) t->req = r;
        track_phase(c, TRACK_BODY, sio_loop_now(s->loop));
        /* libmicrohttpd 0.9.75 accepts a response only before the body is
         * read or after all of it: refuse a declared oversized body now. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && r->route && strtoull(cl, NULL, 10) > r->route->max_body) {
            r->too_large = 1;
            dispatch(r);
            return MHD_YES;
        }
        /* Answering on a later call keeps the connection alive in 0.9.75. */
        return MHD_YES;
    }
    switch (r->state) {
    case RQ_NEW:
    case RQ_BODY:
        if (*upload_data_size) {
            r->state = RQ_BODY;
            size_t max = r->route ? r->route->max_body : 0;
            if (!r->too_large && r->body.len + *upload_data_size > max) {
                /* A chunked body grew too large: drop it and read on to the
                 * end, where the answer can be queued. */
                r->too_large = 1;
                sbuf_free(&r->body);
            }
            if (!r->too_large && sbuf_append(&r->body, upload_data, *upload_data_size))
                return MHD_NO;
            *upload_data_size = 0;
            return MHD_YES;
        }
        dispatch(r);
        return MHD_YES;
    case RQ_RESUMED: {
        void *ud = r->sud;
        const http_suspend_ops *ops = unhold(r);
        r->state = RQ_DISPATCHED;
        if (ops)
            ops->on_resume(r, ud);
        else /* released by its owner (a server freed before this one) */
            http_respond(r, 503, "text/plain", "", 0, NULL);
        if (r->state == RQ_DISPATCHED) http_respond(r, 500, "text/plain", "", 0, NULL);
        return MHD_YES;
    }
    case RQ_ABORTED:
        return MHD_NO;
    default:
        /* Body bytes after an early answer (413): discard them. */
        *upload_data_size = 0;
        return MHD_YES;
    }
}

static void req_free(void *p) {
    http_req *r = p;
    sbuf_free(&r->body);
    free(r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    http_req *r = *con_cls;
    /* The next request on a kept-alive connection gets its own deadline. */
    track_phase(c, TRACK_HEADERS, sio_loop_now(((http_server *)cls)->loop));
    if (!r) return;
    struct conn_track *t = track_of(c);
    if (t && t->req == r) t->req = NULL;
    if (r->up_cb) {
        /* The 101 never went out: the owner still hears about it, once. */
        http_upgraded_cb cb = r->up_cb;
        r->up_cb = NULL;
        cb(-1, NULL, 0, r->up_ud);
    }
    /* Suspended or resumed-but-not-run: the owner still points at r. */
    tell_abort(r);
    *con_cls = NULL;
    /* Free r once the loop's batch is done: a callback of this pass may
     * still hold it (the owner's on_abort above ran from inside it). */
    if (sio_loop_free_later(((http_server *)cls)->loop, r, req_free)) {
        /* Out of memory for the deferral: leaking beats a use-after-free. */
    }
}

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* libmicrohttpd's percent-decoding (MHD_http_unescape: %XX becomes the byte,
 * anything else stays) of the path and the query arguments, except that
 * "%00" stays as it is: a decoded NUL would cut the C string the handlers
 * see ("/index.html%00.png" would name index.html). Left encoded, it names
 * nothing. Returns the new length. */
static size_t unescape_no_nul(void *cls, struct MHD_Connection *c, char *s) {
    char *w = s;
    for (const char *p = s; *p;) {
        int hi, lo;
        if (p[0] == '%' && (hi = hex_val(p[1])) >= 0 && (lo = hex_val(p[2])) >= 0 && (hi | lo)) {
            *w++ = (char)(hi << 4 | lo);
            p += 3;
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    log_debug("libmicrohttpd: %s", buf);
}

http_server *http_server_new(sio_loop *loop, const http_options *o, int *err) {
    http_server *s = calloc(1, sizeof *s);
    *err = SIO_ENOMEM;
    if (!s) return NULL;
    s->loop = loop;
    s->listen_fd = -1;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const char *host = o->host && *o->host ? o->host : "0.0.0.0";
    unsigned flags =
        MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)o->port);
        flags |= MHD_USE_IPv6;
    } else {
        *err = SIO_EINVAL;
        free(s);
        return NULL;
    }
    s->d = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, access_handler, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_connections ? o->max_connections : 10000),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(o->connection_memory ? o->connection_memory : 16384),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->idle_timeout_s ? o->idle_timeout_s : 30),
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_NOTIFY_CONNECTION, notify_connection,
        s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape_no_nul, s,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
        MHD_OPTION_END);
    if (!s->d) {
        *err = SIO_EIO;
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = pi ? pi->port : o->port;
    s->io.fd = di ? di->epoll_fd : -1;
    s->io.cb = on_mhd_io;
    if (s->io.fd < 0 || sio_loop_add(loop, &s->io, EPOLLIN) ||
        sio_loop_add_hook(loop, before_sleep, s)) {
        MHD_stop_daemon(s->d);
        free(s);
        *err = SIO_EIO;
        return NULL;
    }
    if (o->trusted_proxies && *o->trusted_proxies) {
        size_t n = strlen(o->trusted_proxies);
        s->trusted = malloc(n + 3);
        if (s->trusted) {
            s->trusted[0] = ',';
            size_t k = 1;
            for (size_t i = 0; i < n; i++)
                if (o->trusted_proxies[i] != ' ') s->trusted[k++] = o->trusted_proxies[i];
            s->trusted[k++] = ',';
            s->trusted[k] = 0;
        }
    }
    s->running = 1;
    arm_timer(s);
    sio_timer_start(loop, &s->sweep, SWEEP_MS, sweep);
    *err = SIO_OK;
    return s;
}

int http_server_port(const http_server *s) {
    return s->port;
}
size_t http_server_suspended(const http_server *s) {
    return s->n_suspended;
}

zcodec *http_server_zcodec(http_server *s) {
    /* zlib's default level (6), as Node's zlib and so the reference. */
    if (!s->z) s->z = zc_new(-1);
    return s->z;
}

int http_server_route(http_server *s, const char *prefix, http_handler h, void *ud,
                      size_t max_body) {
    if (s->n_routes == MAX_ROUTES) return SIO_ENOMEM;
    char *p = strdup(prefix);
    if (!p) return SIO_ENOMEM;
    s->routes[s->n_routes++] = (struct route){p, strlen(p), h, ud, max_body};
    return SIO_OK;
}

void http_server_unroute(http_server *s, void *ud) {
    for (size_t i = 0; i < s->n_routes; i++) {
        struct route *rt = &s->routes[i];
        if (!rt->h || rt->ud != ud) continue;
        rt->h = NULL;
        /* Requests in flight on it keep pointing at the slot (a later pass
         * answers them 404); their owner hears of their end now, while it
         * still exists, and never again. */
        for (struct conn_track *t = s->tracks; t; t = t->next) {
            http_req *r = t->req;
            if (!r || r->route != rt) continue;
            if (tell_abort(r)) MHD_resume_connection(r->c);
            if (r->up_cb) {
                http_upgraded_cb cb = r->up_cb;
                r->up_cb = NULL;
                cb(-1, NULL, 0, r->up_ud);
            }
        }
        mark_run(s);
    }
}

void http_server_quiesce(http_server *s) {
    if (!s->d || s->listen_fd >= 0) return;
    s->listen_fd = MHD_quiesce_daemon(s->d);
}

void http_server_free(http_server *s) {
    if (!s) return;
    /* MHD_stop_daemon aborts the process while a connection is suspended;
     * and every owner hears of the end before the connection goes. */
    while (s->held) {
        http_req *r = s->held;
        if (tell_abort(r)) MHD_resume_connection(r->c);
    }
    sio_timer_stop(s->loop, &s->timer);
    sio_timer_stop(s->loop, &s->sweep);
    sio_loop_remove_hook(s->loop, before_sleep, s);
    if (s->io.fd >= 0) sio_loop_del(s->loop, &s->io);
    if (s->d) {
        MHD_run(s->d);
        MHD_stop_daemon(s->d);
    }
    if (s->listen_fd >= 0) close(s->listen_fd);
    for (size_t i = 0; i < s->n_routes; i++)
        free(s->routes[i].prefix);
    free(s->trusted);
    zc_free(s->z);
    free(s);
}

http_method http_req_method(const http_req *r) {
    return r->method;
}
const char *http_req_method_str(const http_req *r) {
    return r->method_str;
}
const char *http_req_path(const http_req *r) {
    return r->url;
}

const char *http_req_query(const http_req *r, const char *key) {
    return MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_req_header(const http_req *r, const char *name) {
    return MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, name);
}

struct iter {
    void (*fn)(const char *, const char *, void *);
    void *ud;
};

static enum MHD_Result iter_kv(void *cls, enum MHD_ValueKind kind, const char *k, const char *v) {
    struct iter *it = cls;
    it->fn(k, v ? v : "", it->ud);
    return MHD_YES;
}

void http_req_each_header(const http_req *r, void (*fn)(const char *, const char *, void *),
                          void *ud) {
    struct iter it = {fn, ud};
    MHD_get_connection_values(r->c, MHD_HEADER_KIND, iter_kv, &it);
}

void http_req_each_query(const http_req *r, void (*fn)(const char *, const char *, void *),
                         void *ud) {
    struct iter it = {fn, ud};
    MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, iter_kv, &it);
}

const uint8_t *http_req_body(const http_req *r, size_t *len) {
    *len = r->body.len;
    return r->body.data ? r->body.data : (const uint8_t *)"";
}

int http_req_body_too_large(const http_req *r) {
    return r->too_large;
}

http_server *http_req_server(const http_req *r) {
    return r->srv;
}

int http_req_coding(const http_req *r) {
    return zc_pick_encoding(http_req_header(r, "Accept-Encoding"));
}

static int is_trusted(const http_server *s, const char *a, size_t n) {
    if (!s->trusted || n == 0 || n > 45) return 0;
    char key[50];
    key[0] = ',';
    memcpy(key + 1, a, n);
    key[n + 1] = ',';
    key[n + 2] = 0;
    return strstr(s->trusted, key) != NULL;
}

static void forwarded_client(http_req *r) {
    const char *xff = http_req_header(r, "X-Forwarded-For");
    if (xff) {
        /* Walk from the right: the last hop not ours is the client. */
        const char *end = xff + strlen(xff);
        while (end > xff) {
            const char *start = end;
            while (start > xff && start[-1] != ',')
                start--;
            const char *a = start, *b = end;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            size_t n = (size_t)(b - a);
            if (n && n < sizeof r->addr && (!is_trusted(r->srv, a, n) || start == xff)) {
                memcpy(r->addr, a, n);
                r->addr[n] = 0;
                return;
            }
            end = start > xff ? start - 1 : xff;
        }
    }
    const char *real = http_req_header(r, "X-Real-IP");
    if (real && strlen(real) < sizeof r->addr) snprintf(r->addr, sizeof r->addr, "%s", real);
}

const char *http_req_remote_addr(http_req *r) {
    if (r->addr[0]) return r->addr;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return "";
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->addr, sizeof r->addr);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->addr, sizeof r->addr);
    if (r->srv->trusted && is_trusted(r->srv, r->addr, strlen(r->addr))) forwarded_client(r);
    return r->addr;
}

static int queue(http_req *r, unsigned status, struct MHD_Response *resp, const char *ctype,
                 const char *const *headers) {
    if (!resp) return SIO_ENOMEM;
    if (ctype) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    /* On every answer, whoever produced it (Engine.IO, errors, the static
     * site, /metrics): a browser must not guess a script or a page out of a
     * polling payload or a text/plain body an attacker chose. */
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    enum MHD_Result ok = MHD_queue_response(r->c, status, resp);
    MHD_destroy_response(resp);
    r->state = RQ_DONE;
    mark_run(r->srv);
    return ok == MHD_YES ? SIO_OK : SIO_EIO;
}

int http_respond(http_req *r, unsigned status, const char *ctype, const void *body, size_t len,
                 const char *const *headers) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    return queue(r, status, resp, ctype, headers);
}

int http_respond_take(http_req *r, unsigned status, const char *ctype, void *body, size_t len,
                      const char *const *headers) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) free(body);
    return queue(r, status, resp, ctype, headers);
}

int http_respond_iov(http_req *r, unsigned status, const char *ctype, const struct iovec *iov,
                     size_t n, void (*release)(void *), void *cls, const char *const *headers) {
    struct MHD_IoVec small[32] = {{0}}, *v = small;
    struct MHD_Response *resp = NULL;
    if (n > sizeof small / sizeof *small) v = n <= UINT_MAX ? malloc(n * sizeof *v) : NULL;
    if (v) {
        for (size_t i = 0; i < n; i++)
            v[i] = (struct MHD_IoVec){iov[i].iov_base, iov[i].iov_len};
        resp = MHD_create_response_from_iovec(v, (unsigned)n, release, cls);
        if (v != small) free(v);
    }
    if (!resp) release(cls);
    return queue(r, status, resp, ctype, headers);
}

int http_respond_fd(http_req *r, unsigned status, const char *ctype, int fd, uint64_t size,
                    const char *const *headers) {
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    if (!resp) close(fd);
    return queue(r, status, resp, ctype, headers);
}

/* The client closed the connection under a held long-poll: libmicrohttpd
 * would only notice at resume, so report it now and let it clean up. */
static void abort_held(http_req *r) {
    tell_abort(r);
    MHD_resume_connection(r->c);
    mark_run(r->srv);
}

static void on_watch(sio_loop *loop, sio_io *io, uint32_t ev) {
    struct conn_track *t = (struct conn_track *)((char *)io - offsetof(struct conn_track, watch));
    /* Edge-triggered: this is the one report of the hang-up, also when it
     * comes between two GETs; the next suspend looks at t->hup. */
    t->hup = 1;
    if (t->req && t->req->state == RQ_SUSPENDED) abort_held(t->req);
}

/* GETs suspended on a connection whose hang-up the watch had already
 * reported: end them from the loop's pass, not inside http_suspend (its
 * caller does not expect on_abort before it returns). */
static void abort_hung_up(http_server *s) {
    s->hup_pending = 0;
    for (http_req *r = s->held; r;) {
        struct conn_track *t = r->state == RQ_SUSPENDED ? track_of(r->c) : NULL;
        if (t && t->hup) {
            abort_held(r);
            r = s->held; /* on_abort may have changed the list: start over */
        } else {
            r = r->next;
        }
    }
}

/* Watch the connection's socket for the client's hang-up from its first
 * suspended GET until it closes (see struct conn_track). */
static void watch_conn(http_req *r) {
    http_server *s = r->srv;
    struct conn_track *t = track_of(r->c);
    if (!t) return; /* no memory for the track: the end is seen at resume */
    if (t->hup) {
        s->hup_pending = 1;
        sio_loop_wake(s->loop);
        return;
    }
    if (t->watch.events) return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return;
    t->watch.fd = ci->connect_fd;
    t->watch.cb = on_watch;
    /* A hang-up that came before this is reported once, by the add. */
    if (sio_loop_add(s->loop, &t->watch, EPOLLRDHUP | EPOLLET)) {
        t->watch.events = 0;
        t->watch.fd = -1;
        return;
    }
    t->watched = 1;
}

int http_suspend(http_req *r, const http_suspend_ops *ops, void *ud) {
    http_server *s = r->srv;
    r->sops = ops;
    r->sud = ud;
    MHD_suspend_connection(r->c);
    r->state = RQ_SUSPENDED;
    r->next = s->held;
    r->prev = NULL;
    if (s->held) s->held->prev = r;
    s->held = r;
    s->n_suspended++;
    watch_conn(r);
    return SIO_OK;
}

void http_resume(http_req *r) {
    if (r->state != RQ_SUSPENDED) return;
    /* Still held: the owner hears on_resume when it runs, or on_abort if the
     * client resets first. */
    r->srv->n_suspended--;
    r->state = RQ_RESUMED;
    MHD_resume_connection(r->c);
    mark_run(r->srv);
}

void http_release(http_req *r) {
    int suspended = r->state == RQ_SUSPENDED;
    if (!unhold(r)) return;
    if (suspended) {
        /* Nobody will answer it: let it run and get the ownerless 503. */
        r->state = RQ_RESUMED;
        MHD_resume_connection(r->c);
        mark_run(r->srv);
    }
}

static void upgrade_handler(void *cls, struct MHD_Connection *c, void *con_cls,
                            const char *extra_in, size_t extra_in_size, MHD_socket sock,
                            struct MHD_UpgradeResponseHandle *urh) {
    http_req *r = con_cls;
    http_server *s = cls;
    /* The WebSocket watches its own duplicate of the socket from here on. */
    struct conn_track *t = track_of(c);
    if (t && t->watch.events) {
        sio_loop_del(s->loop, &t->watch);
        t->watch.fd = -1;
    }
    /* Detach: keep a duplicate of the socket and let libmicrohttpd free its
     * per-connection pool right away (it then only close()s its own copy). */
    uint8_t small[512];
    uint8_t *pre = extra_in_size <= sizeof small ? small : malloc(extra_in_size);
    if (pre && extra_in_size) memcpy(pre, extra_in, extra_in_size);
    int fd = fcntl(sock, F_DUPFD_CLOEXEC, 0);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    mark_run(s);
    http_upgraded_cb cb = r->up_cb;
    r->up_cb = NULL;
    if (!cb) { /* its owner went away (http_server_unroute) */
        if (fd >= 0) close(fd);
        if (pre != small) free(pre);
        return;
    }
    if (fd < 0 || !pre) {
        if (fd >= 0) close(fd);
        if (pre != small) free(pre);
        log_warn("http: could not detach an upgraded socket: %s", strerror(errno));
        cb(-1, NULL, 0, r->up_ud);
        return;
    }
    cb(fd, pre, extra_in_size, r->up_ud);
    if (pre != small) free(pre);
}

int http_upgrade(http_req *r, const char *accept, const char *const *headers, http_upgraded_cb cb,
                 void *ud) {
    r->up_cb = cb;
    r->up_ud = ud;
    struct MHD_Response *resp = MHD_create_response_for_upgrade(upgrade_handler, r->srv);
    if (!resp) return SIO_ENOMEM;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    return queue(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp, NULL, headers);
}

int http_header_has_token(const char *v, const char *token) {
    if (!v) return 0;
    size_t tl = strlen(token);
    for (const char *p = v; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0) return 1;
        p = e;
    }
    return 0;
}
