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
#include "sio/admin.h"
#include "sio/eio.h"
#include "sio/loop.h"
#include "sio/redis.h"
#include "sio/redis_streams.h"
#include "sio/runtime.h"
#include "sio/sio.h"
#include "sio/status.h"
#include "sio/log.h"
#include "util/cidr.h"

#define MAX_ORIGINS 32

/* A repeatable option's values. */
struct str_list {
    const char *v[MAX_ORIGINS + 1]; /* NULL-terminated after parsing; strdup'ed */
    size_t n;
};

struct config {
    sio_http_options http;
    eio_options eio;
    sio_options sio;
    sio_redis_options redis; /* --redis: the Redis adapter's factory reads it */
    sio_adapter_factory redis_factory;
    int adapter;                       /* --adapter: index in adapters[] */
    sio_redis_streams_options streams; /* --adapter redis-streams: its factory reads it */
    const char *app;
    const char *static_dir;
    const char *jwt_secret;
    const char *log_file;
    const char *client_dir;
    const char *metrics_allow;
    int jwt_allow_no_exp;
    int log_level;
    uint32_t max_connections; /* 0: not given (sessions and HTTP connections both follow it) */
    const char *transports;   /* --transports, into eio.transports after parsing */
    struct str_list origins;
    uint32_t shutdown_timeout_ms;
    /* The admin UI (sio/admin.h): on when --admin-auth is given. */
    const char *admin_nsp;
    const char *admin_auth; /* "none" or USER:BCRYPT_HASH */
    int admin_mode;         /* sio_admin_mode */
    int admin_readonly;
    const char *admin_ui_dir;
    char admin_user[128];
    sio_admin_options admin;
};

/* What an option's value is, and so how it is parsed and stored at its
 * offset in struct config:
 *   OPT_STR     const char *: any non-empty string (and valid(), when set)
 *   OPT_U32     uint32_t, OPT_SIZE size_t, OPT_INT int: a decimal in [min, max]
 *   OPT_FLAG    int 0/1: "--name" alone turns it on, "--name=0" and the
 *               environment take 1/0, true/false, yes/no, on/off
 *   OPT_CHOICE  int: the index of the value in choices[]
 *   OPT_LIST    struct str_list: repeatable; the environment's is comma-separated,
 *               and the command line's replace it */
enum opt_kind { OPT_STR, OPT_U32, OPT_SIZE, OPT_INT, OPT_FLAG, OPT_CHOICE, OPT_LIST };

struct opt {
    const char *name;
    const char *env;
    enum opt_kind kind;
    size_t off;             /* where the value goes: AT(field of struct config) */
    unsigned long min, max; /* numbers: the accepted range, beyond it the value is invalid */
    const char *arg;        /* the value's name in --help */
    const char *help;
    int (*valid)(const char *v); /* OPT_STR: 0 when v is acceptable (optional) */
    const char *const *choices;  /* OPT_CHOICE: NULL-terminated */
    int secret;                  /* never echo the value in errors */
};

/* One table entry: name, env, kind, field of struct config, min, max, arg,
 * help, then optionally .valid = fn or .choices = list. */
#define OPTION(name_, env_, kind_, field_, min_, max_, arg_, help_, ...)                           \
    {                                                                                              \
        .name = name_, .env = env_, .kind = kind_, .off = offsetof(struct config, field_),         \
        .min = min_, .max = max_, .arg = arg_, .help = help_, __VA_ARGS__                          \
    }
#define U32_MAX ((unsigned long)UINT_MAX)
/* --recovery-window not given: the app's default applies. */
#define RECOVERY_UNSET UINT32_MAX

static int valid_path(const char *v) {
    return v[0] == '/' ? 0 : -1;
}

/* Refused here, with the option's name, not at start-up. */
static int valid_cidrs(const char *v) {
    cidr_list l;
    if (cidr_list_parse(&l, v)) return -1;
    cidr_list_free(&l);
    return 0;
}

static int valid_redis_url(const char *v) {
    sio_redis_options ro = {v, NULL};
    sio_adapter_factory f;
    return sio_redis_adapter(&f, &ro);
}

/* "polling,websocket" (either order) or one of them, into EIO_TRANSPORT_*. */
static int parse_transports(const char *v, unsigned *out) {
    unsigned mask = 0;
    while (*v) {
        size_t n = strcspn(v, ",");
        if (n == 7 && strncmp(v, "polling", n) == 0)
            mask |= EIO_TRANSPORT_POLLING;
        else if (n == 9 && strncmp(v, "websocket", n) == 0)
            mask |= EIO_TRANSPORT_WEBSOCKET;
        else
            return -1;
        v += n;
        if (*v == ',') v++;
    }
    if (!mask) return -1;
    *out = mask;
    return 0;
}

static int valid_transports(const char *v) {
    unsigned mask;
    return parse_transports(v, &mask);
}

static const char *const adapters[] = {"redis", "redis-streams", NULL};
/* "none", or USER:HASH with a bcrypt hash (sio_admin_instrument checks it
 * in full). */
static int valid_admin_auth(const char *v) {
    if (strcmp(v, "none") == 0) return 0;
    const char *colon = strchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof((struct config *)0)->admin_user)
        return -1;
    return strlen(colon + 1) == 60 && strncmp(colon + 1, "$2", 2) == 0 ? 0 : -1;
}

static const char *const admin_modes[] = {"development", "production", NULL}; /* sio_admin_mode */
static const char *const parsers[] = {"default", "msgpack", NULL}; /* sio_parser's order */
static const char *const levels[] = {"debug", "info", "warn", "error", "off", NULL};
_Static_assert(sizeof(sio_parser) == sizeof(int), "--parser is stored as an int");

/* Adding an option: one line here (and the field it sets, in struct config
 * or the options structs it embeds), plus its row in the README. */
static const struct opt opts[] = {
    OPTION("host", "SIO_HOST", OPT_STR, http.host, 0, 0, "ADDR",
           "address to listen on (default 0.0.0.0)"),
    OPTION("port", "SIO_PORT", OPT_INT, http.port, 0, 65535, "N",
           "TCP port (default 3000; 0 picks a free one)"),
    OPTION("path", "SIO_PATH", OPT_STR, eio.path, 0, 0, "PATH",
           "Engine.IO path (default /socket.io/)", .valid = valid_path),
    OPTION("ping-interval", "SIO_PING_INTERVAL", OPT_U32, eio.ping_interval_ms, 1, U32_MAX, "MS",
           "heartbeat interval (default 25000)"),
    OPTION("ping-timeout", "SIO_PING_TIMEOUT", OPT_U32, eio.ping_timeout_ms, 1, U32_MAX, "MS",
           "close a session whose pong is this late (default 20000)"),
    OPTION("upgrade-timeout", "SIO_UPGRADE_TIMEOUT", OPT_U32, eio.upgrade_timeout_ms, 1, U32_MAX,
           "MS", "abandon an unfinished polling->WebSocket upgrade (default 10000)"),
    OPTION("max-payload", "SIO_MAX_PAYLOAD", OPT_SIZE, eio.max_payload, 1, U32_MAX, "BYTES",
           "largest message or POST body (default 1000000)"),
    OPTION("max-connections", "SIO_MAX_CONNECTIONS", OPT_U32, max_connections, 1, U32_MAX, "N",
           "sessions at once; beyond, the oldest half-open session is shed, else 503 (default: as "
           "many as the open-file limit allows)"),
    OPTION("cors-origin", "SIO_CORS_ORIGIN", OPT_LIST, origins, 0, 0, "ORIGIN",
           "allowed browser origin, repeatable (env: comma-separated); '*' allows any"),
    OPTION(
        "trust-proxy", "SIO_TRUST_PROXY", OPT_STR, http.trusted_proxies, 0, 0, "ADDRS",
        "comma-separated proxy addresses (e.g. 127.0.0.1) whose X-Forwarded-For gives the client"),
    OPTION("connect-timeout", "SIO_CONNECT_TIMEOUT", OPT_U32, sio.connect_timeout_ms, 1, U32_MAX,
           "MS", "close a connection that joins no namespace in time (default 45000)"),
    OPTION("max-attachments", "SIO_MAX_ATTACHMENTS", OPT_SIZE, sio.max_attachments, 0, U32_MAX, "N",
           "binary attachments allowed in one packet (default 64)"),
    OPTION("redis", "SIO_REDIS_URL", OPT_STR, redis.url, 0, 0, "URL",
           "share rooms and broadcasts through Redis (redis://host:port[/db]); default: this node "
           "only",
           .valid = valid_redis_url),
    OPTION("redis-key", "SIO_REDIS_KEY", OPT_STR, redis.key, 0, 0, "PREFIX",
           "Redis channel prefix, as @socket.io/redis-adapter's key and the streams adapter's "
           "channelPrefix (default socket.io)"),
    OPTION("adapter", "SIO_ADAPTER", OPT_CHOICE, adapter, 0, 0, "NAME",
           "with --redis: redis (pub/sub, as @socket.io/redis-adapter; default) or redis-streams "
           "(as @socket.io/redis-streams-adapter 0.3)",
           .choices = adapters),
    OPTION("redis-stream", "SIO_REDIS_STREAM", OPT_STR, streams.stream_name, 0, 0, "NAME",
           "redis-streams: the stream's name, as streamName (default socket.io)"),
    OPTION("redis-stream-count", "SIO_REDIS_STREAM_COUNT", OPT_U32, streams.stream_count, 1, 1024,
           "N", "redis-streams: namespaces spread over N streams, as streamCount (default 1)"),
    OPTION("redis-max-len", "SIO_REDIS_MAX_LEN", OPT_U32, streams.max_len, 1, U32_MAX, "N",
           "redis-streams: entries kept per stream (approximate), as maxLen (default 10000)"),
    OPTION("redis-live-sessions", "SIO_REDIS_LIVE_SESSIONS", OPT_FLAG, streams.live_sessions, 0, 1,
           "",
           "redis-streams with recovery: keep each connected socket's session in Redis, so "
           "another node recovers it if this one dies (default on; =0: at disconnect only, as "
           "Node)"),
    OPTION("static", "SIO_STATIC", OPT_STR, static_dir, 0, 0, "DIR",
           "serve this directory at / (default: the demo page, share/sio-server/js-client)"),
    OPTION("client-dir", "SIO_CLIENT_DIR", OPT_STR, client_dir, 0, 0, "DIR",
           "serve socket.io-client's browser bundle from here at <path>socket.io.js (default: "
           "share/sio-server/client)"),
    OPTION("jwt-secret", "SIO_JWT_SECRET", OPT_STR, jwt_secret, 0, 0, "SECRET",
           "require HS256 JWTs signed with SECRET (chat app: Socket.IO auth.token or ?token=, /ws "
           "?token=)"),
    OPTION("max-buffered", "SIO_MAX_BUFFERED", OPT_SIZE, eio.max_buffered, 0, U32_MAX, "BYTES",
           "bytes queued per client before it is disconnected (backpressure; default 1048576)"),
    OPTION("max-handshake-rate", "SIO_MAX_HANDSHAKE_RATE", OPT_U32, eio.max_handshake_rate, 0,
           U32_MAX, "N", "new sessions per second, beyond: 503 + Retry-After (default 0: no cap)"),
    OPTION("max-per-address", "SIO_MAX_PER_ADDRESS", OPT_U32, eio.max_per_address, 0, U32_MAX, "N",
           "sessions per client address, beyond: 429 (default 0: no cap; mind proxies)"),
    OPTION("max-half-open-per-address", "SIO_MAX_HALF_OPEN_PER_ADDRESS", OPT_U32,
           eio.max_half_open_per_address, 0, U32_MAX, "N",
           "sessions per client address that joined no namespace yet, beyond: 429 (default 1000; "
           "0: no cap)"),
    OPTION("app", "SIO_APP", OPT_STR, app, 0, 0, "NAME", "application to run (default chat)"),
    OPTION("log-level", "SIO_LOG_LEVEL", OPT_CHOICE, log_level, 0, 0, "LEVEL",
           "debug, info, warn, error or off", .choices = levels),
    OPTION("log-file", "SIO_LOG_FILE", OPT_STR, log_file, 0, 0, "PATH",
           "append logs to this file instead of stderr; SIGHUP reopens it (rotation)"),
    OPTION("shutdown-timeout", "SIO_SHUTDOWN_TIMEOUT", OPT_U32, shutdown_timeout_ms, 0, U32_MAX,
           "MS", "on SIGTERM, wait this long for clients to be told (default 10000)"),
    OPTION("max-rooms-per-socket", "SIO_MAX_ROOMS_PER_SOCKET", OPT_SIZE, sio.max_rooms_per_socket,
           0, U32_MAX, "N", "rooms a socket may join besides its own (default 256; 0: no cap)"),
    OPTION("max-room-name", "SIO_MAX_ROOM_NAME", OPT_SIZE, sio.max_room_name, 0, U32_MAX, "BYTES",
           "longest room name a socket may join (default 256; 0: no cap)"),
    OPTION("recovery-window", "SIO_RECOVERY_WINDOW", OPT_U32, sio.recovery_window_ms, 0,
           U32_MAX - 1, "MS",
           "connection state recovery: a client that lost its connection comes back within MS with "
           "its id, rooms and missed events (default: the app's, chat 120000, others 0 = off)"),
    OPTION("recovery-run-middlewares", "SIO_RECOVERY_RUN_MIDDLEWARES", OPT_FLAG,
           sio.recovery_run_middlewares, 0, 1, "",
           "run the connect middlewares on a recovered connect too (default: skipped, as Node)"),
    OPTION("recovery-log-bytes", "SIO_RECOVERY_LOG_BYTES", OPT_SIZE, sio.recovery_log_bytes, 0,
           SIZE_MAX, "BYTES",
           "memory for the recovery log of recent packets, per namespace (default 8388608; 0: no "
           "byte bound)"),
    OPTION("recovery-log-age", "SIO_RECOVERY_LOG_AGE", OPT_U32, sio.recovery_log_age_ms, 0, U32_MAX,
           "MS", "drop logged packets older than this (default 0: the recovery window)"),
    OPTION("cleanup-empty-namespaces", "SIO_CLEANUP_EMPTY_NAMESPACES", OPT_FLAG,
           sio.cleanup_empty_namespaces, 0, 1, "",
           "remove a dynamic namespace when its last socket leaves (default off)"),
    OPTION(
        "parser", "SIO_PARSER", OPT_CHOICE, sio.parser, 0, 0, "NAME",
        "Socket.IO packet format: default (socket.io-parser) or msgpack (socket.io-msgpack-parser)",
        .choices = parsers),
    OPTION("metrics-allow", "SIO_METRICS_ALLOW", OPT_STR, metrics_allow, 0, 0, "ADDRS",
           "client addresses or CIDRs (comma-separated, IPv4/IPv6) allowed /metrics (default "
           "127.0.0.0/8,::1)",
           .valid = valid_cidrs),
    OPTION("jwt-allow-no-exp", "SIO_JWT_ALLOW_NO_EXP", OPT_FLAG, jwt_allow_no_exp, 0, 1, "",
           "accept JWTs without an exp claim (default: refused, a token must expire)"),
    OPTION("ws-deflate", "SIO_WS_DEFLATE", OPT_FLAG, eio.ws_deflate, 0, 1, "",
           "WebSocket permessage-deflate for clients that offer it, messages from 1024 bytes "
           "(default off)"),
    OPTION("http-compression-threshold", "SIO_HTTP_COMPRESSION_THRESHOLD", OPT_SIZE,
           eio.http_compression_threshold, 0, U32_MAX, "BYTES",
           "gzip/deflate long-polling answers and static files of at least this size when the "
           "client accepts it (default 1024; 0: never)"),
    OPTION("transports", "SIO_TRANSPORTS", OPT_STR, transports, 0, 0, "LIST",
           "transports clients may use: polling,websocket (default both), or one of them",
           .valid = valid_transports),
    OPTION("allow-upgrades", "SIO_ALLOW_UPGRADES", OPT_FLAG, eio.allow_upgrades, 0, 1, "",
           "offer polling clients the upgrade to WebSocket (default on; =0: they stay on "
           "polling)"),
    OPTION("cookie", "SIO_COOKIE", OPT_STR, eio.cookie, 0, 0, "NAME",
           "set cookie NAME=<sid> (Path=/; HttpOnly; SameSite=Lax) on the polling handshake, as "
           "engine.io's cookie option (e.g. io); default: none"),
    OPTION("admin-auth", "SIO_ADMIN_AUTH", OPT_STR, admin_auth, 0, 0, "USER:HASH|none",
           "serve the @socket.io/admin-ui namespace and its front-end at /admin/, for USER with "
           "this bcrypt password hash ($2a$/$2b$/$2y$), or 'none' for no login (default: off)",
           .valid = valid_admin_auth, .secret = 1),
    OPTION("admin-namespace", "SIO_ADMIN_NAMESPACE", OPT_STR, admin_nsp, 0, 0, "NSP",
           "the admin UI's namespace (default /admin)", .valid = valid_path),
    OPTION("admin-mode", "SIO_ADMIN_MODE", OPT_CHOICE, admin_mode, 0, 0, "MODE",
           "development (every socket and event shown, the default) or production (server "
           "stats only)",
           .choices = admin_modes),
    OPTION("admin-readonly", "SIO_ADMIN_READONLY", OPT_FLAG, admin_readonly, 0, 1, "",
           "the admin UI may look but not emit, join, leave or disconnect (default off)"),
    OPTION("admin-ui-dir", "SIO_ADMIN_UI_DIR", OPT_STR, admin_ui_dir, 0, 0, "DIR",
           "serve the admin UI front-end from here (default: share/sio-server/admin-ui)"),
    OPTION("add-trailing-slash", "SIO_ADD_TRAILING_SLASH", OPT_FLAG, eio.add_trailing_slash, 0, 0,
           "", "serve <path>/ only (default on); =0 also serves the path without the slash"),
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

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out) {
    if (!*s) return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || s[0] == '-' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_flag(const char *v) {
    static const char *const on[] = {"1", "true", "yes", "on", NULL};
    static const char *const off[] = {"0", "false", "no", "off", "", NULL};
    for (size_t i = 0; on[i]; i++)
        if (strcasecmp(v, on[i]) == 0) return 1;
    for (size_t i = 0; off[i]; i++)
        if (strcasecmp(v, off[i]) == 0) return 0;
    return -1;
}

static int add_to_list(struct str_list *l, const char *v, int split) {
    char *copy = strdup(v);
    if (!copy) return -1;
    char *save = NULL;
    int rc = 0;
    for (char *t = split ? strtok_r(copy, ",", &save) : copy; t && rc == 0;
         t = split ? strtok_r(NULL, ",", &save) : NULL) {
        while (*t == ' ')
            t++;
        if (!*t) continue;
        if (l->n == MAX_ORIGINS || !(l->v[l->n] = strdup(t)))
            rc = -1;
        else
            l->n++;
    }
    free(copy);
    return rc;
}

/* Store v where o says; -1 when it is not a valid value of o. */
static int apply(struct config *c, const struct opt *o, const char *v, int from_env) {
    void *at = (char *)c + o->off;
    unsigned long u;
    switch (o->kind) {
    case OPT_STR:
        if (!*v || (o->valid && o->valid(v))) return -1;
        *(const char **)at = v;
        return 0;
    case OPT_U32:
        if (parse_ulong(v, o->min, o->max, &u)) return -1;
        *(uint32_t *)at = (uint32_t)u;
        return 0;
    case OPT_SIZE:
        if (parse_ulong(v, o->min, o->max, &u)) return -1;
        *(size_t *)at = u;
        return 0;
    case OPT_INT:
        if (parse_ulong(v, o->min, o->max, &u)) return -1;
        *(int *)at = (int)u;
        return 0;
    case OPT_FLAG: {
        int val = parse_flag(v);
        if (val < 0) return -1;
        *(int *)at = val;
        return 0;
    }
    case OPT_CHOICE:
        for (int i = 0; o->choices[i]; i++) {
            if (strcmp(v, o->choices[i]) == 0) {
                *(int *)at = i;
                return 0;
            }
        }
        return -1;
    case OPT_LIST:
        return add_to_list(at, v, from_env);
    }
    return -1;
}

static int parse(struct config *c, int argc, char **argv) {
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && apply(c, &opts[i], v, 1)) {
            fprintf(stderr, "sio-server: invalid value for %s: '%s'\n", opts[i].env,
                    opts[i].secret ? "(not shown)" : v);
            return 2;
        }
    }
    uint64_t cli_lists = 0; /* the OPT_LIST options the command line gave */
    _Static_assert(N_OPTS <= 64, "cli_lists has a bit per option");
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
        if (o->kind == OPT_LIST && !(cli_lists & (1u << (o - opts)))) {
            /* Command-line values replace the environment's. */
            cli_lists |= 1u << (o - opts);
            struct str_list *l = (struct str_list *)((char *)c + o->off);
            while (l->n)
                free((char *)l->v[--l->n]);
        }
        if (apply(c, o, v, 0)) {
            fprintf(stderr, "sio-server: invalid value for --%s: '%s'\n", o->name,
                    o->secret ? "(not shown)" : v);
            return 2;
        }
    }
    if (!app_find(c->app)) {
        fprintf(stderr, "sio-server: unknown app '%s' (see --help)\n", c->app);
        return 2;
    }
    if (c->sio.recovery_window_ms == RECOVERY_UNSET)
        c->sio.recovery_window_ms = app_find(c->app)->default_recovery_window_ms;
    /* What follows from the values. */
    c->origins.v[c->origins.n] = NULL;
    if (c->origins.n) c->eio.cors_origins = c->origins.v;
    if (c->max_connections) c->eio.max_sessions = c->http.max_connections = c->max_connections;
    if (c->transports) parse_transports(c->transports, &c->eio.transports); /* checked */
    if (c->adapter && !c->redis.url) {
        fprintf(stderr, "sio-server: --adapter %s needs --redis URL\n", adapters[c->adapter]);
        return 2;
    }
    if (c->redis.url && c->adapter == 1) {
        c->streams.url = c->redis.url;
        c->streams.channel_prefix = c->redis.key;
        sio_redis_streams_adapter(&c->redis_factory, &c->streams); /* the URL was checked */
        c->sio.adapter = &c->redis_factory;
    } else if (c->redis.url) {
        sio_redis_adapter(&c->redis_factory, &c->redis); /* the URL was checked */
        c->sio.adapter = &c->redis_factory;
    }
    if (c->admin_auth) {
        sio_admin_options_init(&c->admin);
        if (c->admin_nsp) c->admin.nsp = c->admin_nsp;
        c->admin.mode = (sio_admin_mode)c->admin_mode;
        c->admin.readonly = c->admin_readonly;
        if (strcmp(c->admin_auth, "none") == 0) {
            c->admin.no_auth = 1;
        } else {
            const char *colon = strchr(c->admin_auth, ':'); /* checked */
            snprintf(c->admin_user, sizeof c->admin_user, "%.*s", (int)(colon - c->admin_auth),
                     c->admin_auth);
            c->admin.username = c->admin_user;
            c->admin.password_hash = colon + 1;
        }
    }
    sio_log_set_level((sio_log_level)c->log_level);
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
    c.sio.recovery_window_ms = RECOVERY_UNSET;
    /* Sessions are capped by descriptors, not by a round number: a WebSocket
     * session holds one, a polling one one or two for a moment. */
    unsigned long fd_limit = raise_fd_limit();
    unsigned long fd_sessions = fd_limit > 2 * FD_HEADROOM ? fd_limit - FD_HEADROOM : FD_HEADROOM;
    if (fd_sessions > UINT32_MAX) fd_sessions = UINT32_MAX;
    c.eio.max_sessions = (uint32_t)fd_sessions;
    c.app = "chat";
    c.shutdown_timeout_ms = 10000;
    c.log_level = SIO_LOG_INFO;
    c.streams.live_sessions = 1;
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
                      c.static_dir ? NULL : web_demo_csp, c.eio.http_compression_threshold, NULL};
    app_assets_resolve(&assets, c.static_dir, c.client_dir, &wo);
    if (c.admin_auth) app_assets_resolve_admin(&assets, c.admin_ui_dir, &wo);
    web *site = web_install(http, &wo, &err);
    if (!site) {
        fprintf(stderr, "sio-server: cannot install the HTTP routes: %s\n", sio_strerror(err));
        return 1;
    }
    app_env env = {loop,
                   http,
                   &c.eio,
                   &c.sio,
                   c.jwt_secret,
                   c.jwt_allow_no_exp,
                   c.admin_auth ? &c.admin : NULL};
    ra.state = ra.app->start(&env, &err);
    if (!ra.state) {
        fprintf(stderr, "sio-server: cannot start app %s: %s\n", c.app, sio_strerror(err));
        return 1;
    }
    sio_log(SIO_LOG_INFO, "sio-server listening on http://%s:%d%s app=%s", c.http.host,
            sio_http_port(http), c.eio.path, c.app);
    sio_log(SIO_LOG_INFO, "open-file limit %lu: up to %u sessions at once", fd_limit,
            c.eio.max_sessions);
    if (c.eio.max_sessions > fd_sessions)
        sio_log(SIO_LOG_WARN,
                "--max-connections %u is above what the open-file limit %lu allows (%lu): raise "
                "it (ulimit -n, LimitNOFILE=) or clients will be refused at accept",
                c.eio.max_sessions, fd_limit, fd_sessions);
    int rc = sio_runtime_run(rt);
    ra.app->stop(ra.state);
    sio_runtime_free(rt);
    web_free(site);
    sio_http_free(http);
    sio_loop_free(loop);
    for (size_t i = 0; i < c.origins.n; i++)
        free((char *)c.origins.v[i]);
    sio_log(SIO_LOG_INFO, "sio-server stopped");
    return rc == SIO_OK ? 0 : 1;
}
