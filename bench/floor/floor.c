/* sio-floor: the kernel's floor for a paced fan-out on loopback.
 *
 * Holds N TCP connections to itself on 127.0.0.1 and, at the pacing of
 * `sio-bench fanout --rate R`, does the least a server could do per delivery:
 * one send() of a pre-built WebSocket frame (`42["msg",{...}]`, the bytes a
 * Socket.IO server sends) per receiver per message. With --poll-share a share
 * of the receivers are long-polling ones: for those the least is one recv()
 * of the client's GET and one send() of a pre-built HTTP response carrying
 * the packet (messages that find no GET waiting go out together with the next
 * one). No protocol state, no queues, no timers.
 *
 * The sending process's CPU (utime + stime from /proc/self/stat, and the
 * schedstat run time) over the window from the first message to the last is
 * divided by the deliveries, the way sio-bench measures a server's CPU per
 * delivery. The receivers live in a forked child (its CPU is not counted);
 * it reads everything, counts the messages and reports the count through a
 * pipe, so a lost delivery fails the run.
 *
 *   sio-floor -n 1000 --rate 200 --messages 1000 [--payload 64] [--poll-share 0.1]
 *
 * Output: a readable block and one line 'RESULT {json}' (server_cpu_us_per_op,
 * server_cpu_sched_us_per_op, deliveries, lost, ok, ...). Exit status 0 ok, 1
 * lost deliveries or a failure, 2 bad usage. Loopback only, bounded in time. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXMSG 1024

typedef struct opts {
    unsigned n, messages, payload, sources;
    double rate, poll_share, timeout;
} opts;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* utime + stime of this process in clock ticks, as sio-bench reads the server's. */
static long long self_ticks(void) {
    char buf[2048];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    long long ut = -1, st = -1;
    p++;
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        long long v = strtoll(p, NULL, 10);
        if (field == 14) ut = v;
        if (field == 15) st = v;
        while (*p && *p != ' ')
            p++;
    }
    return ut + st;
}

static long long self_sched_ns(void) {
    char buf[128];
    FILE *f = fopen("/proc/self/schedstat", "r");
    if (!f) return -1;
    long long v = fgets(buf, sizeof buf, f) ? strtoll(buf, NULL, 10) : -1;
    fclose(f);
    return v;
}

/* Receiver i is a long-polling one when the running share crosses an integer
 * (the same spread as sio-bench --poll-share). */
static int is_poll(const opts *o, unsigned i) {
    return o->poll_share > 0 &&
           (unsigned)((i + 1) * o->poll_share) != (unsigned)(i * o->poll_share);
}

static const char GET_REQ[] = "GET /socket.io/?EIO=4&transport=polling&sid=floor HTTP/1.1\r\n"
                              "Host: 127.0.0.1\r\n\r\n";

/* ---- the receivers (child) ---------------------------------------------------- */

typedef struct rconn {
    int fd;
    int poll;
    size_t have; /* bytes of the current HTTP response gathered */
    char *buf;
} rconn;

/* Counts WebSocket text frames (server frames: unmasked, 2- or 4-byte headers
 * for these sizes) or HTTP responses' packets; returns the messages parsed. */
static unsigned long ws_count(rconn *c, const char *d, size_t n, size_t *carry) {
    unsigned long got = 0;
    size_t off = 0;
    while (off + 2 <= n) {
        size_t len = (unsigned char)d[off + 1] & 0x7f, hl = 2;
        if (len == 126) {
            if (off + 4 > n) break;
            len = (size_t)((unsigned char)d[off + 2] << 8 | (unsigned char)d[off + 3]);
            hl = 4;
        }
        if (off + hl + len > n) break;
        off += hl + len;
        got++;
    }
    *carry = n - off;
    if (*carry) memmove(c->buf, d + off, *carry);
    return got;
}

static unsigned long http_count(rconn *c, size_t n, size_t *carry, int *again) {
    unsigned long got = 0;
    size_t off = 0;
    *again = 0;
    for (;;) {
        char *h = memmem(c->buf + off, n - off, "\r\n\r\n", 4);
        if (!h) break;
        size_t hl = (size_t)(h - (c->buf + off)) + 4;
        char *cl = memmem(c->buf + off, hl, "Content-Length: ", 16);
        if (!cl) break;
        size_t blen = strtoul(cl + 16, NULL, 10);
        if (off + hl + blen > n) break;
        got++;
        for (size_t i = 0; i < blen; i++)
            got += c->buf[off + hl + i] == 0x1e;
        off += hl + blen;
        *again = 1;
    }
    *carry = n - off;
    if (*carry) memmove(c->buf, c->buf + off, *carry);
    return got;
}

static int receivers(const opts *o, uint16_t port, int ready_fd, int report_fd) {
    rconn *rc = calloc(o->n, sizeof *rc);
    int ep = epoll_create1(0);
    if (!rc || ep < 0) return 3;
    for (unsigned i = 0; i < o->n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return 3;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (o->sources > 1) {
            struct sockaddr_in src = {.sin_family = AF_INET};
            src.sin_addr.s_addr = htonl(0x7f000001u + i % o->sources);
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) return 3;
        }
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            perror("sio-floor: connect");
            return 3;
        }
        rc[i].fd = fd;
        rc[i].poll = is_poll(o, i);
        rc[i].buf = malloc(1 << 16);
        if (rc[i].poll && send(fd, GET_REQ, sizeof GET_REQ - 1, MSG_NOSIGNAL) < 0) return 3;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1) return 3;
    unsigned long want = (unsigned long)o->n * o->messages, got = 0;
    uint64_t end = now_ns() + (uint64_t)(o->timeout * 1e9);
    struct epoll_event evs[256];
    while (got < want && now_ns() < end) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int j = 0; j < k; j++) {
            rconn *r = &rc[evs[j].data.u32];
            ssize_t m = recv(r->fd, r->buf + r->have, (1 << 16) - r->have, 0);
            if (m <= 0) {
                if (m < 0 && errno == EAGAIN) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, r->fd, NULL);
                continue;
            }
            size_t n = r->have + (size_t)m, carry;
            if (r->poll) {
                int again;
                got += http_count(r, n, &carry, &again);
                if (again) send(r->fd, GET_REQ, sizeof GET_REQ - 1, MSG_NOSIGNAL);
            } else {
                got += ws_count(r, r->buf, n, &carry);
            }
            r->have = carry;
        }
    }
    if (write(report_fd, &got, sizeof got) != (ssize_t)sizeof got) return 3;
    return 0;
}

/* ---- the sender (parent) ------------------------------------------------------- */

typedef struct sconn {
    int fd;
    int poll;
    int held;      /* a GET is waiting */
    unsigned owed; /* messages that found no GET waiting */
} sconn;

/* 42["msg",{"s":N,"t":T,"pad":"xxx"}] with the object padded to `payload`
 * bytes, as the server relays sio-bench's messages. */
static size_t build_packet(const opts *o, unsigned seq, char *out) {
    char pad[512];
    unsigned long long t = (unsigned long long)now_ns();
    int base = snprintf(NULL, 0, "{\"s\":%u,\"t\":%llu,\"pad\":\"\"}", seq, t);
    int padn = (int)o->payload - base;
    if (padn < 0) padn = 0;
    if (padn > (int)sizeof pad - 1) padn = (int)sizeof pad - 1;
    memset(pad, 'x', (size_t)padn);
    pad[padn] = 0;
    return (size_t)snprintf(out, MAXMSG, "42[\"msg\",{\"s\":%u,\"t\":%llu,\"pad\":\"%s\"}]", seq, t,
                            pad);
}

static size_t ws_frame(const char *p, size_t n, char *out) {
    size_t hl = 2;
    out[0] = (char)0x81;
    if (n < 126) {
        out[1] = (char)n;
    } else {
        out[1] = 126;
        out[2] = (char)(n >> 8);
        out[3] = (char)n;
        hl = 4;
    }
    memcpy(out + hl, p, n);
    return hl + n;
}

/* One HTTP response carrying k copies of the packet (0x1e-separated). */
static size_t http_resp(const char *p, size_t n, unsigned k, char *out, size_t cap) {
    size_t body = k * n + (k - 1);
    int hl = snprintf(out, cap,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n",
                      body);
    size_t off = (size_t)hl;
    for (unsigned i = 0; i < k && off + n + 1 < cap; i++) {
        if (i) out[off++] = 0x1e;
        memcpy(out + off, p, n);
        off += n;
    }
    return off;
}

static int send_all(int fd, const char *p, size_t n) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    return r == (ssize_t)n ? 0 : -1; /* a full socket buffer is a failure of the floor run */
}

static int usage(int rc) {
    fputs("usage: sio-floor -n RECEIVERS --rate MSGS_PER_S --messages M [--payload B (64)]\n"
          "                 [--poll-share F (0)] [--sources K] [--timeout S (60)]\n"
          "One send() of a pre-built frame per receiver per message (long-polling: one recv()\n"
          "of the GET and one send() of the response) on loopback: the CPU floor of a paced\n"
          "fan-out. Prints 'RESULT {json}'.\n",
          rc ? stderr : stdout);
    return rc;
}

int main(int argc, char **argv) {
    opts o = {.n = 1000, .messages = 100, .payload = 64, .rate = 20, .timeout = 60};
    double sources = 0;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(0);
        if (!v) return usage(2);
        double d = strtod(v, NULL);
        if (!strcmp(a, "-n") || !strcmp(a, "--receivers"))
            o.n = (unsigned)d;
        else if (!strcmp(a, "--rate"))
            o.rate = d;
        else if (!strcmp(a, "--messages"))
            o.messages = (unsigned)d;
        else if (!strcmp(a, "--payload"))
            o.payload = (unsigned)d;
        else if (!strcmp(a, "--poll-share"))
            o.poll_share = d;
        else if (!strcmp(a, "--sources"))
            sources = d;
        else if (!strcmp(a, "--timeout"))
            o.timeout = d;
        else
            return usage(2);
    }
    if (o.n < 1 || o.n > 19000 || o.rate <= 0 || o.rate > 1e5 || o.messages < 1 || o.payload < 16 ||
        o.payload > 400 || o.poll_share < 0 || o.poll_share > 1 || o.timeout < 1 ||
        o.timeout > 3600)
        return usage(2);
    o.sources = sources > 0 ? (unsigned)sources : (o.n + 7999) / 8000;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < o.n + 64) {
            fprintf(stderr, "sio-floor: %u connections need more than %llu fds\n", o.n,
                    (unsigned long long)rl.rlim_cur);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)(o.timeout * 3 + o.messages / o.rate + 30));

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("sio-floor: listen");
        return 3;
    }
    int ready[2], report[2];
    if (pipe(ready) < 0 || pipe(report) < 0) return 3;
    pid_t child = fork();
    if (child < 0) return 3;
    if (child == 0) {
        close(lfd);
        _exit(receivers(&o, ntohs(sa.sin_port), ready[1], report[1]));
    }
    close(ready[1]);
    close(report[1]);

    /* Accept every receiver; long-polling ones are watched for their GETs. */
    sconn *sc = calloc(o.n, sizeof *sc);
    int ep = epoll_create1(0);
    if (!sc || ep < 0) return 3;
    for (unsigned i = 0; i < o.n; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            perror("sio-floor: accept");
            kill(child, SIGKILL);
            return 3;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sc[i].fd = fd;
    }
    /* A long-polling receiver is one that sends a GET (WebSocket ones never
     * send): wait for every expected first GET before the window opens. */
    unsigned npoll = 0, want_poll = 0;
    for (unsigned i = 0; i < o.n; i++) {
        want_poll += is_poll(&o, i);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, sc[i].fd, &ev);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) {
        fprintf(stderr, "sio-floor: the receivers did not start\n");
        return 3;
    }
    struct epoll_event evs[256];
    uint64_t until = now_ns() + 10000000000ull;
    while (npoll < want_poll && now_ns() < until) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int j = 0; j < k; j++) {
            sconn *s = &sc[evs[j].data.u32];
            char req[4096];
            if (recv(s->fd, req, sizeof req, 0) > 0 && !s->poll) {
                s->poll = s->held = 1;
                npoll++;
            }
        }
    }
    for (unsigned i = 0; i < o.n; i++) /* only the polling ones stay watched */
        if (!sc[i].poll) epoll_ctl(ep, EPOLL_CTL_DEL, sc[i].fd, NULL);

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
    long long period = (long long)(1e9 / o.rate);
    struct itimerspec its = {.it_interval = {period / 1000000000, period % 1000000000},
                             .it_value = {0, 1}};
    long long tk0 = self_ticks(), sch0 = self_sched_ns();
    uint64_t t0 = now_ns();
    timerfd_settime(tfd, 0, &its, NULL);
    unsigned sent_msgs = 0;
    unsigned long failures = 0;
    char pkt[MAXMSG], frame[MAXMSG + 8], resp[1 << 16];
    size_t plen = 0;
    int done_polls = 0;
    while (sent_msgs < o.messages || !done_polls) {
        int k = epoll_wait(ep, evs, 256, 1000);
        if (k <= 0 && sent_msgs >= o.messages) break;
        for (int j = 0; j < k; j++) {
            uint32_t id = evs[j].data.u32;
            if (id == UINT32_MAX) {
                uint64_t exp = 0;
                if (read(tfd, &exp, sizeof exp) != sizeof exp) continue;
                for (uint64_t e = 0; e < exp && sent_msgs < o.messages; e++) {
                    plen = build_packet(&o, sent_msgs, pkt);
                    size_t flen = ws_frame(pkt, plen, frame);
                    size_t rlen = http_resp(pkt, plen, 1, resp, sizeof resp);
                    for (unsigned i = 0; i < o.n; i++) {
                        sconn *s = &sc[i];
                        if (!s->poll) {
                            failures += send_all(s->fd, frame, flen) < 0;
                        } else if (s->held) {
                            failures += send_all(s->fd, resp, rlen) < 0;
                            s->held = 0;
                        } else {
                            s->owed++;
                        }
                    }
                    sent_msgs++;
                }
                continue;
            }
            sconn *s = &sc[id];
            char req[4096];
            ssize_t m = recv(s->fd, req, sizeof req, 0);
            if (m <= 0) continue;
            if (s->owed) { /* what found no GET goes out now, in one response */
                size_t rlen = http_resp(pkt, plen, s->owed, resp, sizeof resp);
                failures += send_all(s->fd, resp, rlen) < 0;
                s->owed = 0;
            } else {
                s->held = 1;
            }
        }
        if (sent_msgs >= o.messages) {
            done_polls = 1;
            for (unsigned i = 0; i < o.n; i++)
                if (sc[i].owed) done_polls = 0;
        }
    }
    uint64_t t1 = now_ns();
    long long tk1 = self_ticks(), sch1 = self_sched_ns();

    unsigned long got = 0;
    ssize_t rr = read(report[0], &got, sizeof got); /* the child stops once it has everything */
    int status = 0;
    waitpid(child, &status, 0);
    /* Only now: closing a socket with an unread GET would reset it and could
     * cost the child bytes it had not read yet. */
    for (unsigned i = 0; i < o.n; i++)
        close(sc[i].fd);
    free(sc);
    unsigned long want = (unsigned long)o.n * o.messages;
    if (rr != (ssize_t)sizeof got) got = 0;
    double deliveries = (double)want;
    double cpu_us = (double)(tk1 - tk0) * 1e6 / (double)sysconf(_SC_CLK_TCK);
    double sched_us = (double)(sch1 - sch0) / 1e3;
    double wall = (double)(t1 - t0) / 1e9;
    int ok = got == want && failures == 0;
    printf("sio-floor: %u receivers (%u long-polling) x %u messages at %.0f/s, %u B payload\n", o.n,
           npoll, o.messages, o.rate, o.payload);
    printf("  %-26s %lu of %lu (%lu sends failed)\n", "deliveries", got, want, failures);
    printf("  %-26s %.3f s\n", "window", wall);
    printf("  %-26s %.3f us/delivery (%.1f%% of a core; schedstat %.3f us/delivery)\n",
           "sender CPU", cpu_us / deliveries, cpu_us / 1e4 / wall, sched_us / deliveries);
    printf("  %-26s %s\n", "verdict", ok ? "OK" : "FAILED");
    printf("RESULT {\"scenario\":\"floor\",\"receivers\":%u,\"polling_receivers\":%u,"
           "\"messages\":%u,\"rate\":%.1f,\"payload\":%u,\"deliveries\":%lu,\"lost\":%lu,"
           "\"send_failures\":%lu,\"window_s\":%.3f,\"server_cpu_us_per_op\":%.3f,"
           "\"server_cpu_sched_us_per_op\":%.3f,\"server_cpu_pct\":%.1f,\"ok\":%s}\n",
           o.n, npoll, o.messages, o.rate, o.payload, got, want - got, failures, wall,
           cpu_us / deliveries, sched_us / deliveries, cpu_us / 1e4 / wall, ok ? "true" : "false");
    return ok ? 0 : 1;
}
