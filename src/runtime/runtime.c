/* The runtime of include/sio/runtime.h: what a server process needs around
 * the protocol layers (signals, the graceful drain, the ops endpoints, the
 * loop's health, memory trimming), on the loop and listener it is given. */
#include "sio/runtime.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "http/server.h"
#include "sio/status.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/metrics.h"

#define DEFAULT_METRICS_ALLOW "127.0.0.0/8,::1"
#define LAG_PERIOD_MS         100
#define TRIM_PERIOD_MS        2000
#define DRAIN_POLL_MS         20

struct sio_runtime {
    sio_loop *loop;
    sio_http *http;
    sio_runtime_options o;
    cidr_list metrics_allow;
    int routed;
    sio_io sig;
    int stopping;
    uint64_t deadline;
    sio_timer drain;
    /* The event loop's health: a 100 ms timer that measures how late it fires. */
    sio_timer lag_timer;
    uint64_t lag_expected;
    /* Memory trimming: when sessions closed since the last check. */
    uint64_t trim_checked_ms;
    double closed_seen;
    double opened_seen;
    /* For /metrics. */
    double lag_s;     /* the last measured delay of the probe */
    double lag_max_s; /* the largest since start */
};

static const metrics_field lag_fields[] = {
    {"sio_event_loop_lag_seconds", "How late the last 100 ms probe timer fired.", METRIC_GAUGE,
     NULL, METRIC_F64, offsetof(sio_runtime, lag_s)},
    {"sio_event_loop_lag_max_seconds", "The largest lag seen since start.", METRIC_GAUGE, NULL,
     METRIC_F64, offsetof(sio_runtime, lag_max_s)},
};

void sio_runtime_options_init(sio_runtime_options *o) {
    memset(o, 0, sizeof *o);
    o->shutdown_timeout_ms = 10000;
    o->serve_metrics = 1;
    o->serve_healthz = 1;
}

/* ---------- /metrics and /healthz ---------- */

static const char *const no_store[] = {"Cache-Control", "no-store", NULL};

/* The routes are prefixes: "/metricsX" and "/metrics/" reach them too, and
 * are not the metrics. */
static int exact(http_req *r, const char *path) {
    if (strcmp(http_req_path(r), path) == 0) return 1;
    http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
    return 0;
}

static void on_metrics(http_req *r, void *ud) {
    sio_runtime *rt = ud;
    if (!exact(r, "/metrics")) return;
    /* The client as --trust-proxy resolves it: behind a trusted proxy the
     * proxy's own loopback address does not count. */
    if (!cidr_list_match(&rt->metrics_allow, http_req_remote_addr(r))) {
        http_respond(r, 403, "text/plain", "Forbidden", 9, no_store);
        return;
    }
    sbuf out = SBUF_INIT;
    metrics_render(sio_loop_metrics(rt->loop), &out);
    http_respond_take(r, 200, "text/plain; version=0.0.4", out.data, out.len, no_store);
}

static void on_healthz(http_req *r, void *ud) {
    if (!exact(r, "/healthz")) return;
    static const char body[] = "{\"status\":\"ok\"}";
    http_respond(r, 200, "application/json", body, sizeof body - 1, no_store);
}

/* ---------- the loop's health and memory ---------- */

/* glibc keeps freed memory in its arenas; after a wave of disconnects hand it
 * back so RSS follows the number of sessions down, not just up. A wave of
 * handshakes leaves the same behind: what the requests in flight held (their
 * 16 KiB connection pools, buffers) is free once they are sessions, ~0.3 KiB
 * per session at 256 in flight; the sessions themselves live in slabs
 * (util/slab.h), so the heap's free pages can go. The heap then holds only
 * short-lived buffers and the tables: a trim is a short walk. */
static void maybe_trim(sio_runtime *rt, uint64_t now) {
    if (now - rt->trim_checked_ms < TRIM_PERIOD_MS) return;
    rt->trim_checked_ms = now;
    /* The Engine.IO servers' count, whoever made them. */
    double closed = metrics_sum(sio_loop_metrics(rt->loop), "sio_sessions_closed_total");
    double opened = metrics_sum(sio_loop_metrics(rt->loop), "sio_sessions_opened_total");
    if (closed == rt->closed_seen && opened == rt->opened_seen) return;
    rt->closed_seen = closed;
    rt->opened_seen = opened;
    malloc_trim(0);
}

static void lag_probe(sio_loop *loop, sio_timer *t) {
    sio_runtime *rt = (sio_runtime *)((char *)t - offsetof(sio_runtime, lag_timer));
    uint64_t now = sio_loop_update_time(loop);
    maybe_trim(rt, now);
    double lag =
        rt->lag_expected && now > rt->lag_expected ? (double)(now - rt->lag_expected) / 1000.0 : 0;
    rt->lag_s = lag;
    if (lag > rt->lag_max_s) rt->lag_max_s = lag;
    rt->lag_expected = now + LAG_PERIOD_MS;
    sio_timer_start(loop, t, LAG_PERIOD_MS, lag_probe);
}

/* ---------- shutdown ---------- */

static void drain_check(sio_loop *loop, sio_timer *t) {
    sio_runtime *rt = (sio_runtime *)((char *)t - offsetof(sio_runtime, drain));
    size_t open = rt->o.sessions ? rt->o.sessions(rt->o.ud) : 0;
    if (open == 0 || sio_loop_now(loop) >= rt->deadline) {
        sio_loop_stop(loop);
        return;
    }
    sio_timer_start(loop, t, DRAIN_POLL_MS, drain_check);
}

void sio_runtime_shutdown(sio_runtime *rt) {
    if (rt->stopping) return;
    rt->stopping = 1;
    rt->deadline = sio_loop_now(rt->loop) + rt->o.shutdown_timeout_ms;
    sio_http_quiesce(rt->http);
    if (rt->o.on_shutdown) rt->o.on_shutdown(rt->o.ud);
    sio_timer_start(rt->loop, &rt->drain, 0, drain_check);
}

int sio_runtime_stopping(const sio_runtime *rt) {
    return rt->stopping;
}

static void on_signal(sio_loop *loop, sio_io *io, uint32_t ev) {
    sio_runtime *rt = (sio_runtime *)((char *)io - offsetof(sio_runtime, sig));
    struct signalfd_siginfo si;
    while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            if (log_reopen())
                fprintf(stderr, "sio-server: cannot reopen the log file\n");
            else
                log_info("SIGHUP: log file reopened");
            continue;
        }
        if (rt->stopping) {
            log_warn("second signal: stopping now");
            sio_loop_stop(loop);
            return;
        }
        log_info("signal %u: shutting down", si.ssi_signo);
        sio_runtime_shutdown(rt);
    }
}

/* ---------- lifetime ---------- */

static int watch_signals(sio_runtime *rt) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    rt->sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    rt->sig.cb = on_signal;
    if (rt->sig.fd >= 0 && sio_loop_add(rt->loop, &rt->sig, EPOLLIN) == SIO_OK) return SIO_OK;
    if (rt->sig.fd >= 0) close(rt->sig.fd);
    rt->sig.fd = -1;
    return SIO_EIO;
}

sio_runtime *sio_runtime_new(sio_loop *loop, sio_http *http, const sio_runtime_options *o,
                             int *err) {
    sio_runtime *rt = calloc(1, sizeof *rt);
    *err = SIO_ENOMEM;
    if (!rt) return NULL;
    rt->loop = loop;
    rt->http = http;
    rt->sig.fd = -1;
    rt->deadline = UINT64_MAX;
    if (o)
        rt->o = *o;
    else
        sio_runtime_options_init(&rt->o);
    rt->o.metrics_allow = rt->o.log_file = NULL; /* copied where they are used */
    *err = cidr_list_parse(&rt->metrics_allow,
                           o && o->metrics_allow ? o->metrics_allow : DEFAULT_METRICS_ALLOW);
    if (*err) {
        free(rt);
        return NULL;
    }
    if (o && o->log_file && log_open(o->log_file)) {
        *err = SIO_EIO;
        goto fail;
    }
    if ((*err = watch_signals(rt))) goto fail;
    rt->routed = 1;
    *err = SIO_OK;
    if (rt->o.serve_metrics) *err = http_server_route(http, "/metrics", on_metrics, rt, 0);
    if (*err == SIO_OK && rt->o.serve_healthz)
        *err = http_server_route(http, "/healthz", on_healthz, rt, 0);
    if (*err == SIO_OK)
        *err = metrics_add(sio_loop_metrics(loop), rt, lag_fields,
                           sizeof lag_fields / sizeof lag_fields[0], NULL);
    if (*err) goto fail;
    lag_probe(loop, &rt->lag_timer);
    return rt;
fail:
    sio_runtime_free(rt);
    return NULL;
}

int sio_runtime_run(sio_runtime *rt) {
    return sio_loop_run(rt->loop);
}

void sio_runtime_free(sio_runtime *rt) {
    if (!rt) return;
    if (rt->routed) http_server_unroute(rt->http, rt);
    if (rt->sig.fd >= 0) {
        sio_loop_del(rt->loop, &rt->sig);
        close(rt->sig.fd);
    }
    sio_timer_stop(rt->loop, &rt->drain);
    sio_timer_stop(rt->loop, &rt->lag_timer);
    metrics_remove(sio_loop_metrics(rt->loop), rt);
    cidr_list_free(&rt->metrics_allow);
    free(rt);
}
