/* sio-bench: command line, limits, workers. See usage() and README. */
#define _GNU_SOURCE
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* connect-rate: session slots per session in flight (the others wait for the
 * server to close). */
#define CR_SLOTS 8

static void usage(FILE *f) {
    fputs("usage: sio-bench SCENARIO --url http://127.0.0.1:PORT [--server-pid PID] [options]\n"
          "       sio-bench free-port        print a free TCP port on 127.0.0.1\n"
          "\n"
          "A load generator speaking Engine.IO v4 / Socket.IO v5 itself (WebSocket with\n"
          "masked frames, or HTTP/1.1 keep-alive long-polling), one epoll loop per thread.\n"
          "Server RSS and CPU come from /proc/PID (--server-pid). Prints a readable block\n"
          "and one line 'RESULT {json}'. Exit status: 0 ok, 1 the run failed its checks\n"
          "(lost messages, dropped sessions, errors), 2 bad usage, 3 setup error.\n"
          "\n"
          "scenarios:\n"
          "  idle          open N WebSocket sessions, answer pings, report server RSS per\n"
          "                session, hold them, close them, report RSS again\n"
          "  echo          clients emit 42<id>[\"echo\",<32 B string>] and wait for the ack,\n"
          "                closed loop: acks/s, RTT p50/p99, CPU per ack\n"
          "  poll-echo     the same over long-polling only\n"
          "  fanout        R receivers join a room; one sender emits [\"to\",room,{...}] M\n"
          "                times back to back: deliveries/s, latency, loss, CPU per delivery\n"
          "  connect-rate  open and close sessions in a loop (WebSocket, handshake to the\n"
          "                Socket.IO CONNECT ack): sessions/s, CPU per session\n"
          "\n"
          "options:\n"
          "  --url URL            server, http://127.0.0.1:PORT[/path/] (loopback only)\n"
          "  --path PATH          Engine.IO path (default: the URL's, else /socket.io/)\n"
          "  --server-pid PID     server process, for RSS and CPU figures\n"
          "  -n, --sessions N     idle: sessions (1000); echo, poll-echo: clients (100);\n"
          "                       fanout: receivers (1000). Aliases --clients, --receivers\n"
          "  --threads N          worker threads, each with its own epoll loop (1)\n"
          "  --concurrency N      handshakes in flight (256); connect-rate: sessions in\n"
          "                       flight (16)\n"
          "  --sio                idle: Socket.IO CONNECT to / after the Engine.IO handshake\n"
          "  --join ROOM          idle: also emit [\"join\",ROOM] and wait for its ack\n"
          "  --eio-only           connect-rate: stop at the Engine.IO handshake\n"
          "  --settle S           idle: wait before reading RSS (3)\n"
          "  --hold S             idle: hold the sessions, checking none drops (0)\n"
          "  --prewarm N          idle: open and close N sessions one by one before reading\n"
          "                       the baseline RSS (one-time costs out of the per-session\n"
          "                       figure) (0)\n"
          "  --duration S         echo, poll-echo, connect-rate: measured window (10)\n"
          "  --warmup S           before the measured window (2; fanout: after joins, 1)\n"
          "  --messages M         fanout: messages (200)\n"
          "  --payload B          fanout: payload object size in bytes, 16..8000 (64)\n"
          "  --echo-bytes B       echo, poll-echo: length of the echoed string (32..65536; 32)\n"
          "  --accept-encoding V  long-polling GETs send Accept-Encoding: V; gzip/deflate\n"
          "                       answers (chunked or not) are decoded and checked (none)\n"
          "  --room NAME          fanout: room (r)\n"
          "  --rate N             fanout: sender messages per second (0: back to back)\n"
          "  --poll-share F       fanout: this share (0..1) of the receivers use long-polling,\n"
          "                       spread evenly over them (0)\n"
          "  --upgrade            connect-rate: start on long-polling and upgrade to\n"
          "                       WebSocket as engine.io-client does (CONNECT over polling,\n"
          "                       probe, wait for the held GET, \"5\"); done at \"5\"\n"
          "  --cookie-bytes N     add a Cookie header of N bytes to every request (0)\n"
          "  --deflate            offer permessage-deflate in WebSocket handshakes, as npm ws\n"
          "                       and browsers do, and inflate what the server compresses\n"
          "  --timeout S          bound on each waiting phase (120)\n"
          "  --sources K          connect from 127.0.0.1..127.0.0.K (default: one per 8,000\n"
          "                       connections; Linux slows connect() past ~14k per address)\n",
          f);
}

static int bad(const char *msg, const char *arg) {
    fprintf(stderr, "sio-bench: %s%s%s (see --help)\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

static bool num(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static int parse_url(config *cfg, const char *url) {
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else if (strncmp(p, "ws://", 5) == 0)
        p += 5;
    else
        return -1;
    const char *colon = strchr(p, ':');
    const char *slash = strchr(p, '/');
    if (!colon || (slash && slash < colon)) return -1;
    char host[64];
    size_t hl = (size_t)(colon - p);
    if (!hl || hl >= sizeof host) return -1;
    memcpy(host, p, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (port <= 0 || port > 65535 || (*end && *end != '/')) return -1;
    struct in_addr a;
    if (strcmp(host, "localhost") == 0)
        inet_pton(AF_INET, "127.0.0.1", &a);
    else if (inet_pton(AF_INET, host, &a) != 1)
        return -1;
    if ((ntohl(a.s_addr) >> 24) != 127) return -2; /* loopback only */
    cfg->addr = a.s_addr;
    cfg->port = (uint16_t)port;
    snprintf(cfg->host, sizeof cfg->host, "%s:%ld", host, port);
    if (*end == '/' && end[1] && !cfg->path[0]) {
        snprintf(cfg->path, sizeof cfg->path, "%s", end);
        size_t n = strlen(cfg->path);
        if (cfg->path[n - 1] != '/' && n + 1 < sizeof cfg->path) strcat(cfg->path, "/");
    }
    return 0;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        perror("sio-bench free-port");
        return 3;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

static void on_alarm(int sig) {
    static const char msg[] = "sio-bench: run exceeded its time bound, giving up\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    (void)sig;
    _exit(4);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "free-port")) return free_port();

    static bench B;
    config *cfg = &B.cfg;
    const char *sc = argv[1];
    cfg->scenario_name = sc;
    if (!strcmp(sc, "idle"))
        cfg->scenario = SC_IDLE;
    else if (!strcmp(sc, "echo"))
        cfg->scenario = SC_ECHO;
    else if (!strcmp(sc, "poll-echo"))
        cfg->scenario = SC_POLL_ECHO;
    else if (!strcmp(sc, "fanout"))
        cfg->scenario = SC_FANOUT;
    else if (!strcmp(sc, "connect-rate"))
        cfg->scenario = SC_CONNECT_RATE;
    else
        return bad("unknown scenario", sc);

    double sessions = -1, concurrency = -1, warmup = -1, sources = 0;
    cfg->threads = 1;
    cfg->messages = 200;
    cfg->payload = 64;
    cfg->echo_bytes = 32;
    cfg->room = "r";
    cfg->duration = 10;
    cfg->settle = 3;
    cfg->timeout = 120;
    bool eio_only = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
#define NUMOPT(name, lo, hi, dst)                                                                  \
    if (!strcmp(a, name)) {                                                                        \
        if (!num(v, lo, hi, &d)) return bad("bad value for " name, v);                             \
        dst;                                                                                       \
        i++;                                                                                       \
        continue;                                                                                  \
    }
        if (!strcmp(a, "--url")) {
            if (!v) return bad("--url needs a value", NULL);
            cfg->url = v;
            i++;
            continue;
        }
        if (!strcmp(a, "--path")) {
            if (!v || v[0] != '/') return bad("--path needs a value starting with /", v);
            snprintf(cfg->path, sizeof cfg->path, "%s", v);
            i++;
            continue;
        }
        if (!strcmp(a, "--join") || !strcmp(a, "--room")) {
            if (!v || !*v || strpbrk(v, "\"\\")) return bad("bad room name", v);
            if (!strcmp(a, "--join"))
                cfg->join = v;
            else
                cfg->room = v;
            i++;
            continue;
        }
        if (!strcmp(a, "--accept-encoding")) {
            if (!v || !*v || strpbrk(v, "\r\n")) return bad("bad --accept-encoding", v);
            cfg->accept_encoding = v;
            i++;
            continue;
        }
        if (!strcmp(a, "--sio")) {
            cfg->sio = true;
            continue;
        }
        if (!strcmp(a, "--upgrade")) {
            cfg->upgrade = true;
            continue;
        }
        if (!strcmp(a, "--eio-only")) {
            eio_only = true;
            continue;
        }
        if (!strcmp(a, "--deflate")) {
            cfg->deflate = true;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            cfg->quiet = true;
            continue;
        }
        NUMOPT("--server-pid", 1, 1e9, cfg->server_pid = (int)d)
        NUMOPT("--sessions", 1, 1e7, sessions = d)
        NUMOPT("-n", 1, 1e7, sessions = d)
        NUMOPT("--clients", 1, 1e7, sessions = d)
        NUMOPT("--receivers", 1, 1e7, sessions = d)
        NUMOPT("--threads", 1, 64, cfg->threads = (int)d)
        NUMOPT("--concurrency", 1, 1e6, concurrency = d)
        NUMOPT("--settle", 0, 3600, cfg->settle = d)
        NUMOPT("--hold", 0, 3600, cfg->hold = d)
        NUMOPT("--duration", 0.1, 3600, cfg->duration = d)
        NUMOPT("--warmup", 0, 3600, warmup = d)
        NUMOPT("--messages", 1, 1e8, cfg->messages = (uint32_t)d)
        NUMOPT("--payload", 16, 8000, cfg->payload = (uint32_t)d)
        NUMOPT("--echo-bytes", 32, 65536, cfg->echo_bytes = (uint32_t)d)
        NUMOPT("--rate", 0, 1e9, cfg->rate = d)
        NUMOPT("--poll-share", 0, 1, cfg->poll_share = d)
        NUMOPT("--cookie-bytes", 0, 1 << 20, cfg->cookie_bytes = (uint32_t)d)
        NUMOPT("--timeout", 1, 36000, cfg->timeout = d)
        NUMOPT("--sources", 1, 64, sources = d)
        NUMOPT("--prewarm", 0, 10000, cfg->prewarm = (uint32_t)d)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        return bad("unknown option", a);
    }
    if (!cfg->url) return bad("--url is required", NULL);
    int ur = parse_url(cfg, cfg->url);
    if (ur == -2) return bad("only loopback (127.0.0.0/8) servers may be targeted", cfg->url);
    if (ur < 0) return bad("--url must look like http://127.0.0.1:PORT[/path/]", cfg->url);
    if (!cfg->path[0]) strcpy(cfg->path, "/socket.io/");
    if (cfg->join && !cfg->sio) return bad("--join needs --sio", NULL);
    if (cfg->poll_share > 0 && cfg->scenario != SC_FANOUT)
        return bad("--poll-share is for fanout", NULL);
    if (cfg->upgrade && (cfg->scenario != SC_CONNECT_RATE || eio_only))
        return bad("--upgrade is for connect-rate with Socket.IO", NULL);

    switch (cfg->scenario) {
    case SC_IDLE:
        cfg->sessions = sessions > 0 ? (uint32_t)sessions : 1000;
        break;
    case SC_ECHO:
    case SC_POLL_ECHO:
        cfg->sessions = sessions > 0 ? (uint32_t)sessions : 100;
        cfg->sio = true;
        break;
    case SC_FANOUT:
        cfg->sessions = sessions > 0 ? (uint32_t)sessions : 1000;
        cfg->sio = true;
        break;
    case SC_CONNECT_RATE:
        cfg->sio = !eio_only;
        break;
    }
    if (cfg->scenario == SC_CONNECT_RATE)
        cfg->concurrency = concurrency > 0 ? (uint32_t)concurrency : 16;
    else
        cfg->concurrency = concurrency > 0 ? (uint32_t)concurrency : 256;
    /* Long-polling receivers of a fanout: receiver i polls when the running
     * share crosses an integer, which spreads them evenly. */
    uint32_t npoll = (uint32_t)(cfg->sessions * cfg->poll_share);
    /* One source address per 8,000 connections (see conn_connect). */
    cfg->sources =
        sources > 0 ? (uint32_t)sources
        : cfg->scenario == SC_CONNECT_RATE
            ? 1
            : (cfg->sessions * (cfg->scenario == SC_POLL_ECHO ? 2u : 1u) + npoll + 7999) / 8000;
    cfg->warmup = warmup >= 0 ? warmup : cfg->scenario == SC_FANOUT ? 1 : 2;
    if (cfg->scenario == SC_FANOUT &&
        (uint64_t)cfg->sessions * ((cfg->messages + 7) / 8) > (512ull << 20))
        return bad("fanout: receivers x messages too large to track", NULL);
    if (cfg->cookie_bytes) {
        cfg->cookie_hdr = xcalloc(1, cfg->cookie_bytes + 32);
        memcpy(cfg->cookie_hdr, "Cookie: bench=", 14);
        memset(cfg->cookie_hdr + 14, 'a', cfg->cookie_bytes);
        memcpy(cfg->cookie_hdr + 14 + cfg->cookie_bytes, "\r\n", 3);
    } else {
        cfg->cookie_hdr = "";
    }

    /* File descriptors: one per session (two with long-polling) plus a few. */
    uint64_t conns =
        cfg->scenario == SC_CONNECT_RATE ? CR_SLOTS * cfg->concurrency : cfg->sessions + 1;
    uint64_t need = conns * (cfg->scenario == SC_POLL_ECHO ? 2
                             : cfg->upgrade                ? 3
                                                           : 1) +
                    npoll + 32 + (uint64_t)cfg->threads;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur) {
        fprintf(stderr,
                "sio-bench: %llu file descriptors needed, the limit is %llu: use fewer "
                "sessions\n",
                (unsigned long long)need, (unsigned long long)rl.rlim_cur);
        return 2;
    }
    if (cfg->server_pid && !proc_alive(cfg->server_pid)) {
        fprintf(stderr, "sio-bench: no process %d (--server-pid)\n", cfg->server_pid);
        return 3;
    }
    signal(SIGPIPE, SIG_IGN);
    double bound =
        cfg->warmup + cfg->duration + 2 * cfg->settle + cfg->hold + 3 * cfg->timeout + 60;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)bound);

    /* Sessions, spread over the workers. */
    bench *b = &B;
    b->nw = cfg->threads;
    b->w = xcalloc((size_t)b->nw, sizeof *b->w);
    for (int i = 0; i < b->nw; i++)
        if (worker_init(b, &b->w[i], i) < 0) {
            perror("sio-bench: epoll_create1");
            return 3;
        }
    uint32_t total = cfg->scenario == SC_CONNECT_RATE ? CR_SLOTS * cfg->concurrency : cfg->sessions;
    uint32_t extra = cfg->scenario == SC_FANOUT ? 1 : 0; /* the sender, on worker 0 */
    b->total = total + extra;
    uint32_t idx = 0;
    for (int i = 0; i < b->nw; i++) {
        worker *w = &b->w[i];
        uint32_t mine = total / (uint32_t)b->nw + ((uint32_t)i < total % (uint32_t)b->nw);
        w->nsess = mine + (i == 0 ? extra : 0);
        w->sess = xcalloc(w->nsess ? w->nsess : 1, sizeof *w->sess);
        for (uint32_t j = 0; j < w->nsess; j++) {
            session *s = &w->sess[j];
            s->w = w;
            s->c.fd = -1;
            s->c.s = s;
            s->idx = (i == 0 && extra && j == mine) ? total : idx++;
            s->polling = cfg->scenario == SC_POLL_ECHO || cfg->upgrade;
            if (cfg->poll_share > 0 && s->idx < total)
                s->polling = (uint32_t)((s->idx + 1) * cfg->poll_share) !=
                             (uint32_t)(s->idx * cfg->poll_share);
        }
        if (i == 0 && extra) {
            b->sender = &w->sess[mine];
            b->sender->sender = 1;
        }
    }
    atomic_store(&b->phase, PH_SETUP);
    int rc = run_scenario(b);
    for (int i = 0; i < b->nw; i++)
        worker_free(&b->w[i]);
    free(b->w);
    if (cfg->cookie_bytes) free(cfg->cookie_hdr);
    return rc;
}
