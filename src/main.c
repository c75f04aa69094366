/* sio-server: parses options (command line over environment), starts the
 * HTTP listener and the chosen app on one event loop, and hands them to the
 * runtime (sio/runtime.h: signals, graceful shutdown, /metrics, /healthz). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "app/app.h"
#include "app/assets.h"
#include "app/web.h"
#include "sio/eio.h"
#include "sio/loop.h"
#include "sio/redis.h"
#include "sio/runtime.h"
#include "sio/sio.h"
#include "sio/status.h"
#include "util/cidr.h"
#include "util/log.h"

#define MAX_ORIGINS 32

struct config {
    sio_http_options http;
    eio_options eio;
    sio_options sio;
    sio_redis_options redis; /* --redis: the Redis adapter's factory reads it */
    sio_adapter_factory redis_factory;
    const char *app;
    const char *static_dir;
    const char *jwt_secret;
    const char *log_file;
    const char *client_dir;
    const char *metrics_allow;
    int jwt_allow_no_exp;
    const char *origins[MAX_ORIGINS + 1];
    size_t n_origins;
    unsigned shutdown_timeout_ms;
};

/* OPT_FLAG: a switch; "--name" alone turns it on, "--name=0" and the
 * environment take 1/0, true/false, yes/no, on/off. */
enum opt_kind { OPT_STR, OPT_UINT, OPT_PORT, OPT_ORIGIN, OPT_LEVEL, OPT_FLAG };

struct opt {
    const char *name;
    const char *env;
    enum opt_kind kind;
    const char *arg;
    const char *help;
};

static const struct opt opts[] = {
    {"host", "SIO_HOST", OPT_STR, "ADDR", "address to listen on (default 0.0.0.0)"},
    {"port", "SIO_PORT", OPT_PORT, "N", "TCP port (default 3000; 0 picks a free one)"},
    {"path", "SIO_PATH", OPT_STR, "PATH", "Engine.IO path (default /socket.io/)"},
    {"ping-interval", "SIO_PING_INTERVAL", OPT_UINT, "MS", "heartbeat interval (default 25000)"},
    {"ping-timeout", "SIO_PING_TIMEOUT", OPT_UINT, "MS",
     "close a session whose pong is this late (default 20000)"},
    {"upgrade-timeout", "SIO_UPGRADE_TIMEOUT", OPT_UINT, "MS",
     "abandon an unfinished polling->WebSocket upgrade (default 10000)"},
    {"max-payload", "SIO_MAX_PAYLOAD", OPT_UINT, "BYTES",
     "largest message or POST body (default 1000000)"},
    {"max-connections", "SIO_MAX_CONNECTIONS", OPT_UINT, "N",
     "sessions at once; beyond, the oldest half-open session is shed, else 503 (default: as "
     "many as the open-file limit allows)"},
    {"cors-origin", "SIO_CORS_ORIGIN", OPT_ORIGIN, "ORIGIN",
     "allowed browser origin, repeatable (env: comma-separated); '*' allows any"},
    {"trust-proxy", "SIO_TRUST_PROXY", OPT_STR, "ADDRS",
     "comma-separated proxy addresses (e.g. 127.0.0.1) whose X-Forwarded-For gives the client"},
    {"connect-timeout", "SIO_CONNECT_TIMEOUT", OPT_UINT, "MS",
     "close a connection that joins no namespace in time (default 45000)"},
    {"max-attachments", "SIO_MAX_ATTACHMENTS", OPT_UINT, "N",
     "binary attachments allowed in one packet (default 64)"},
    {"redis", "SIO_REDIS_URL", OPT_STR, "URL",
     "share rooms and broadcasts through Redis (redis://host:port[/db]); default: this node only"},
    {"redis-key", "SIO_REDIS_KEY", OPT_STR, "PREFIX",
     "Redis channel prefix, as @socket.io/redis-adapter's key (default socket.io)"},
    {"static", "SIO_STATIC", OPT_STR, "DIR",
     "serve this directory at / (default: the demo page, share/sio-server/js-client)"},
    {"client-dir", "SIO_CLIENT_DIR", OPT_STR, "DIR",
     "serve socket.io-client's browser bundle from here at <path>socket.io.js (default: "
     "share/sio-server/client)"},
    {"jwt-secret", "SIO_JWT_SECRET", OPT_STR, "SECRET",
     "require HS256 JWTs signed with SECRET (chat app: Socket.IO auth.token or ?token=, /ws "
     "?token=)"},
    {"max-buffered", "SIO_MAX_BUFFERED", OPT_UINT, "BYTES",
     "bytes queued per client before it is disconnected (backpressure; default 1048576)"},
    {"max-handshake-rate", "SIO_MAX_HANDSHAKE_RATE", OPT_UINT, "N",
     "new sessions per second, beyond: 503 + Retry-After (default 0: no cap)"},
    {"max-per-address", "SIO_MAX_PER_ADDRESS", OPT_UINT, "N",
     "sessions per client address, beyond: 429 (default 0: no cap; mind proxies)"},
    {"max-half-open-per-address", "SIO_MAX_HALF_OPEN_PER_ADDRESS", OPT_UINT, "N",
     "sessions per client address that joined no namespace yet, beyond: 429 (default 1000; "
     "0: no cap)"},
    {"app", "SIO_APP", OPT_STR, "NAME", "application to run (default chat)"},
    {"log-level", "SIO_LOG_LEVEL", OPT_LEVEL, "LEVEL", "debug, info, warn, error or off"},
    {"log-file", "SIO_LOG_FILE", OPT_STR, "PATH",
     "append logs to this file instead of stderr; SIGHUP reopens it (rotation)"},
    {"shutdown-timeout", "SIO_SHUTDOWN_TIMEOUT", OPT_UINT, "MS",
     "on SIGTERM, wait this long for clients to be told (default 10000)"},
    {"max-rooms-per-socket", "SIO_MAX_ROOMS_PER_SOCKET", OPT_UINT, "N",
     "rooms a socket may join besides its own (default 256; 0: no cap)"},
    {"max-room-name", "SIO_MAX_ROOM_NAME", OPT_UINT, "BYTES",
     "longest room name a socket may join (default 256; 0: no cap)"},
    {"cleanup-empty-namespaces", "SIO_CLEANUP_EMPTY_NAMESPACES", OPT_FLAG, "",
     "remove a dynamic namespace when its last socket leaves (default off)"},
    {"parser", "SIO_PARSER", OPT_STR, "NAME",
     "Socket.IO packet format: default (socket.io-parser) or msgpack (socket.io-msgpack-parser)"},
    {"metrics-allow", "SIO_METRICS_ALLOW", OPT_STR, "ADDRS",
     "client addresses or CIDRs (comma-separated, IPv4/IPv6) allowed /metrics (default "
     "127.0.0.0/8,::1)"},
    {"jwt-allow-no-exp", "SIO_JWT_ALLOW_NO_EXP", OPT_FLAG, "",
     "accept JWTs without an exp claim (default: refused, a token must expire)"},
    {"ws-deflate", "SIO_WS_DEFLATE", OPT_FLAG, "",
     "WebSocket permessage-deflate for clients that offer it, messages from 1024 bytes "
     "(default off)"},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

static void usage(FILE *f) {
    fprintf(f, "usage: sio-server [options]\n\nA Socket.IO / Engine.IO server.\n\noptions:\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s %s", opts[i].name, opts[i].arg);
        fprintf(f, "  %-28s %s [env %s]\n", left, opts[i].help, opts[i].env);
    }
    fprintf(f, "  %-28s %s\n\napps:\n", "-h, --help", "show this help");
    for (const app_def *const *a = app_all(); *a; a++)
        fprintf(f, "  %-28s %s\n", (*a)->name, (*a)->summary);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
    if (!*s) return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || s[0] == '-' || v > max) return -1;
    *out = v;
    return 0;
}

static int add_origins(struct config *c, const char *v, int split) {
    char *copy = strdup(v);
    if (!copy) return -1;
    char *save = NULL;
    for (char *t = split ? strtok_r(copy, ",", &save) : copy; t;
         t = split ? strtok_r(NULL, ",", &save) : NULL) {
        while (*t == ' ')
            t++;
        if (!*t) continue;
        if (c->n_origins == MAX_ORIGINS) return -1;
        c->origins[c->n_origins++] = strdup(t);
    }
    free(copy);
    return 0;
}

static int apply(struct config *c, const struct opt *o, const char *v, int from_env) {
    unsigned long u;
    switch (o->kind) {
    case OPT_STR:
        if (!*v) return -1;
        if (strcmp(o->name, "host") == 0)
            c->http.host = v;
        else if (strcmp(o->name, "path") == 0) {
            if (v[0] != '/') return -1;
            c->eio.path = v;
        } else if (strcmp(o->name, "app") == 0)
            c->app = v;
        else if (strcmp(o->name, "static") == 0)
            c->static_dir = v;
        else if (strcmp(o->name, "client-dir") == 0)
            c->client_dir = v;
        else if (strcmp(o->name, "trust-proxy") == 0)
            c->http.trusted_proxies = v;
        else if (strcmp(o->name, "log-file") == 0)
            c->log_file = v;
        else if (strcmp(o->name, "jwt-secret") == 0)
            c->jwt_secret = v;
        else if (strcmp(o->name, "redis") == 0) {
            c->redis.url = v;
            if (sio_redis_adapter(&c->redis_factory, &c->redis)) return -1;
            c->sio.adapter = &c->redis_factory;
        } else if (strcmp(o->name, "redis-key") == 0)
            c->redis.key = v;
        else if (strcmp(o->name, "parser") == 0) {
            if (strcmp(v, "default") == 0)
                c->sio.parser = SIO_PARSER_DEFAULT;
            else if (strcmp(v, "msgpack") == 0)
                c->sio.parser = SIO_PARSER_MSGPACK;
            else
                return -1;
        } else if (strcmp(o->name, "metrics-allow") == 0) {
            cidr_list l; /* refused here, with the option's name, not at start-up */
            if (cidr_list_parse(&l, v)) return -1;
            cidr_list_free(&l);
            c->metrics_allow = v;
        }
        return 0;
    case OPT_FLAG: {
        static const char *const on[] = {"1", "true", "yes", "on", NULL};
        static const char *const off[] = {"0", "false", "no", "off", "", NULL};
        int val = -1;
        for (size_t i = 0; on[i]; i++)
            if (strcasecmp(v, on[i]) == 0) val = 1;
        for (size_t i = 0; off[i]; i++)
            if (strcasecmp(v, off[i]) == 0) val = 0;
        if (val < 0) return -1;
        if (strcmp(o->name, "jwt-allow-no-exp") == 0)
            c->jwt_allow_no_exp = val;
        else if (strcmp(o->name, "cleanup-empty-namespaces") == 0)
            c->sio.cleanup_empty_namespaces = val;
        else if (strcmp(o->name, "ws-deflate") == 0)
            c->eio.ws_deflate = val;
        return 0;
    }
    case OPT_PORT:
        if (parse_uint(v, 65535, &u)) return -1;
        c->http.port = (int)u;
        return 0;
    case OPT_ORIGIN:
        return add_origins(c, v, from_env);
    case OPT_LEVEL: {
        int l = log_parse_level(v);
        if (l < 0) return -1;
        log_set_level((log_level)l);
        return 0;
    }
    case OPT_UINT:
        if (parse_uint(v, UINT_MAX, &u)) return -1;
        if (strcmp(o->name, "ping-interval") == 0 && u > 0)
            c->eio.ping_interval_ms = (uint32_t)u;
        else if (strcmp(o->name, "ping-timeout") == 0 && u > 0)
            c->eio.ping_timeout_ms = (uint32_t)u;
        else if (strcmp(o->name, "upgrade-timeout") == 0 && u > 0)
            c->eio.upgrade_timeout_ms = (uint32_t)u;
        else if (strcmp(o->name, "max-payload") == 0 && u > 0)
            c->eio.max_payload = u;
        else if (strcmp(o->name, "max-connections") == 0 && u > 0) {
            c->eio.max_sessions = (uint32_t)u;
            c->http.max_connections = (unsigned)u;
        } else if (strcmp(o->name, "shutdown-timeout") == 0)
            c->shutdown_timeout_ms = (unsigned)u;
        else if (strcmp(o->name, "connect-timeout") == 0 && u > 0)
            c->sio.connect_timeout_ms = (uint32_t)u;
        else if (strcmp(o->name, "max-buffered") == 0)
            c->eio.max_buffered = u;
        else if (strcmp(o->name, "max-handshake-rate") == 0)
            c->eio.max_handshake_rate = (uint32_t)u;
        else if (strcmp(o->name, "max-per-address") == 0)
            c->eio.max_per_address = (uint32_t)u;
        else if (strcmp(o->name, "max-half-open-per-address") == 0)
            c->eio.max_half_open_per_address = (uint32_t)u;
        else if (strcmp(o->name, "max-attachments") == 0)
            c->sio.max_attachments = u;
        else if (strcmp(o->name, "max-rooms-per-socket") == 0)
            c->sio.max_rooms_per_socket = u;
        else if (strcmp(o->name, "max-room-name") == 0)
            c->sio.max_room_name = u;
        else
            return -1;
        return 0;
    }
    return -1;
}

static int parse(struct config *c, int argc, char **argv) {
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && apply(c, &opts[i], v, 1)) {
            fprintf(stderr, "sio-server: invalid value for %s: '%s'\n", opts[i].env, v);
            return 2;
        }
    }
    int cli_origins = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "sio-server: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = NULL;
        for (size_t k = 0; k < N_OPTS; k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, name, nl) == 0) o = &opts[k];
        if (!o) {
            fprintf(stderr, "sio-server: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        const char *v = eq ? eq + 1 : o->kind == OPT_FLAG ? "1" : i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "sio-server: option --%s needs a value\n", o->name);
            return 2;
        }
        if (o->kind == OPT_ORIGIN && !cli_origins) {
            /* Command-line origins replace the environment's. */
            cli_origins = 1;
            c->n_origins = 0;
        }
        if (apply(c, o, v, 0)) {
            fprintf(stderr, "sio-server: invalid value for --%s: '%s'\n", o->name, v);
            return 2;
        }
    }
    if (!app_find(c->app)) {
        fprintf(stderr, "sio-server: unknown app '%s' (see --help)\n", c->app);
        return 2;
    }
    c->origins[c->n_origins] = NULL;
    if (c->n_origins) c->eio.cors_origins = c->origins;
    return 0;
}

/* Descriptors kept back from sessions: listeners, libmicrohttpd's epoll, the
 * loop, signals, logs, Redis links, static files being sent. */
#define FD_HEADROOM 64

/* Raise the soft open-file limit to the hard one, as nginx and redis do: the
 * soft default (often 1024) would cap a server whose idle session costs a
 * kilobyte. Returns the limit in force. */
static unsigned long raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl.rlim_cur = rl.rlim_max;
    }
    return rl.rlim_cur == RLIM_INFINITY ? (unsigned long)UINT32_MAX : (unsigned long)rl.rlim_cur;
}

/* The app's hooks as the runtime's callbacks. */
struct running_app {
    const app_def *app;
    void *state;
};

static void app_shutdown(void *ud) {
    struct running_app *ra = ud;
    ra->app->shutdown(ra->state);
}

static size_t app_sessions(void *ud) {
    struct running_app *ra = ud;
    return ra->app->sessions(ra->state);
}

int main(int argc, char **argv) {
    struct config c;
    memset(&c, 0, sizeof c);
    sio_http_options_init(&c.http);
    eio_options_init(&c.eio);
    sio_options_init(&c.sio);
    /* Sessions are capped by descriptors, not by a round number: a WebSocket
     * session holds one, a polling one one or two for a moment. */
    unsigned long fd_limit = raise_fd_limit();
    unsigned long fd_sessions = fd_limit > 2 * FD_HEADROOM ? fd_limit - FD_HEADROOM : FD_HEADROOM;
    if (fd_sessions > UINT32_MAX) fd_sessions = UINT32_MAX;
    c.eio.max_sessions = (uint32_t)fd_sessions;
    c.app = "chat";
    c.shutdown_timeout_ms = 10000;
    int pr = parse(&c, argc, argv);
    if (pr) return pr == 1 ? 0 : 2;

    sio_loop *loop = sio_loop_new();
    if (!loop) {
        fprintf(stderr, "sio-server: cannot create the event loop\n");
        return 1;
    }
    int err;
    sio_http *http = sio_http_new(loop, &c.http, &err);
    if (!http) {
        fprintf(stderr, "sio-server: cannot listen on %s:%d: %s\n", c.http.host, c.http.port,
                err == SIO_EINVAL ? "invalid address" : "address in use or not available");
        return 1;
    }
    struct running_app ra = {app_find(c.app), NULL};
    sio_runtime_options ro;
    sio_runtime_options_init(&ro);
    ro.shutdown_timeout_ms = c.shutdown_timeout_ms;
    ro.metrics_allow = c.metrics_allow;
    ro.log_file = c.log_file;
    ro.on_shutdown = app_shutdown;
    ro.sessions = app_sessions;
    ro.ud = &ra;
    sio_runtime *rt = sio_runtime_new(loop, http, &ro, &err);
    if (!rt) {
        if (err == SIO_EIO && c.log_file)
            fprintf(stderr, "sio-server: cannot open log file %s\n", c.log_file);
        else
            fprintf(stderr, "sio-server: cannot start the runtime: %s\n",
                    err == SIO_EINVAL ? "invalid --metrics-allow" : sio_strerror(err));
        return err == SIO_EIO && c.log_file ? 2 : 1;
    }
    /* The demo page and the client bundle: next to the installed binary, or
     * the source tree's from a build tree, unless --static / --client-dir. */
    static app_assets assets;
    web_options wo = {NULL, NULL, c.eio.path,
                      /* The demo page's policy; a --static site of one's own
                       * sets its own (e.g. in the proxy): it may need inline
                       * scripts. */
                      c.static_dir ? NULL : web_demo_csp};
    app_assets_resolve(&assets, c.static_dir, c.client_dir, &wo);
    web *site = web_install(http, &wo, &err);
    if (!site) {
        fprintf(stderr, "sio-server: cannot install the HTTP routes: %s\n", sio_strerror(err));
        return 1;
    }
    app_env env = {loop, http, &c.eio, &c.sio, c.jwt_secret, c.jwt_allow_no_exp};
    ra.state = ra.app->start(&env, &err);
    if (!ra.state) {
        fprintf(stderr, "sio-server: cannot start app %s: %s\n", c.app, sio_strerror(err));
        return 1;
    }
    log_info("sio-server listening on http://%s:%d%s app=%s", c.http.host, sio_http_port(http),
             c.eio.path, c.app);
    log_info("open-file limit %lu: up to %u sessions at once", fd_limit, c.eio.max_sessions);
    if (c.eio.max_sessions > fd_sessions)
        log_warn("--max-connections %u is above what the open-file limit %lu allows (%lu): raise "
                 "it (ulimit -n, LimitNOFILE=) or clients will be refused at accept",
                 c.eio.max_sessions, fd_limit, fd_sessions);
    int rc = sio_runtime_run(rt);
    ra.app->stop(ra.state);
    sio_runtime_free(rt);
    web_free(site);
    sio_http_free(http);
    sio_loop_free(loop);
    for (size_t i = 0; i < c.n_origins; i++)
        free((char *)c.origins[i]);
    log_info("sio-server stopped");
    return rc == SIO_OK ? 0 : 1;
}
