/* sio-bench scenarios: the controller runs on worker 0's thread, driving its
 * loop between checks, and reads the other workers' counters. */
#define _GNU_SOURCE
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- counters, snapshots ---------------------------------------------------------- */

static uint64_t sum_at(bench *b, size_t off) {
    uint64_t v = 0;
    for (int i = 0; i < b->nw; i++)
        v += CNT_GET(*(counter *)((char *)&b->w[i].k + off));
    return v;
}
#define SUM(b, field) sum_at((b), offsetof(counters, field))

static uint64_t max_at(bench *b, size_t off) {
    uint64_t v = 0;
    for (int i = 0; i < b->nw; i++) {
        uint64_t x = CNT_GET(*(counter *)((char *)&b->w[i].k + off));
        if (x > v) v = x;
    }
    return v;
}
#define MAXC(b, field) max_at((b), offsetof(counters, field))

typedef struct snap {
    uint64_t t;         /* ns */
    long long ticks;    /* server utime + stime */
    long long sched_ns; /* server run time from schedstat */
    uint64_t client_ns; /* our CPU time */
} snap;

static snap take(const bench *b) {
    snap s;
    s.ticks = proc_cpu_ticks(b->cfg.server_pid);
    s.sched_ns = proc_sched_ns(b->cfg.server_pid);
    s.client_ns = proc_cpu_ns();
    s.t = now_ns();
    return s;
}

/* Server CPU (µs) between two snapshots from /proc/PID/stat, -1 if unknown. */
static double server_us(const snap *a, const snap *z) {
    if (a->ticks < 0 || z->ticks < 0) return NAN;
    return (double)(z->ticks - a->ticks) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static double sched_us(const snap *a, const snap *z) {
    if (a->sched_ns < 0 || z->sched_ns < 0) return NAN;
    return (double)(z->sched_ns - a->sched_ns) / 1e3;
}

/* ---- waiting ------------------------------------------------------------------------- */

static bool server_gone;

static bool pump(bench *b, int ms) {
    static uint64_t last_check;
    worker_iterate(&b->w[0], ms);
    uint64_t t = now_ns();
    if (b->cfg.server_pid && t - last_check > 200000000ull) {
        last_check = t;
        if (!proc_alive(b->cfg.server_pid)) {
            server_gone = true;
            return false;
        }
    }
    return true;
}

static void run_for(bench *b, double seconds) {
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    while (now_ns() < end && pump(b, 5)) {
    }
}

typedef bool (*cond_fn)(bench *b);

static bool wait_until(bench *b, cond_fn cond, double timeout) {
    uint64_t end = now_ns() + (uint64_t)(timeout * 1e9);
    while (!cond(b)) {
        if (now_ns() > end || !pump(b, 5)) return false;
    }
    return true;
}

static bool all_opened(bench *b) {
    return SUM(b, established) + SUM(b, failed) >= b->total;
}

static bool echo_drained(bench *b) {
    return SUM(b, sent) <= SUM(b, acks) + SUM(b, dropped) + SUM(b, failed);
}

static void set_phase(bench *b, int ph) {
    atomic_store(&b->phase, ph);
}

/* ---- report -------------------------------------------------------------------------- */

typedef struct report {
    bbuf text;
    bbuf json;
} report;

static void rep_init(report *r, const bench *b) {
    memset(r, 0, sizeof *r);
    bb_printf(&r->json, "{\"scenario\":\"%s\",\"threads\":%d", b->cfg.scenario_name,
              b->cfg.threads);
}

static void rep_line(report *r, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rep_line(report *r, const char *label, const char *fmt, ...) {
    char v[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    bb_printf(&r->text, "  %-26s %s\n", label, v);
}

static void jnum(report *r, const char *key, double v, int decimals) {
    if (isnan(v) || isinf(v))
        bb_printf(&r->json, ",\"%s\":null", key);
    else
        bb_printf(&r->json, ",\"%s\":%.*f", key, decimals, v);
}
static void jint(report *r, const char *key, long long v) {
    bb_printf(&r->json, ",\"%s\":%lld", key, v);
}
static void jstr(report *r, const char *key, const char *v) {
    bb_printf(&r->json, ",\"%s\":\"", key);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            bb_printf(&r->json, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            bb_printf(&r->json, "\\u%04x", *p);
        else
            bb_append(&r->json, p, 1);
    }
    bb_puts(&r->json, "\"");
}

/* A /proc figure: null when unknown (no --server-pid). */
static void jopt(report *r, const char *key, long v) {
    if (v < 0)
        bb_printf(&r->json, ",\"%s\":null", key);
    else
        jint(r, key, v);
}

static const char *fmt_num(char *buf, size_t n, double v, const char *fmt) {
    if (isnan(v) || isinf(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, fmt, v);
    return buf;
}

/* Adds the server and client CPU lines: per operation and share of a core. */
static void rep_cpu(report *r, const snap *a, const snap *z, double ops, const char *per) {
    double wall = (double)(z->t - a->t) / 1e9;
    double sus = server_us(a, z), sch = sched_us(a, z);
    double cus = (double)(z->client_ns - a->client_ns) / 1e3;
    char b1[32], b2[32], b3[32];
    double sper = ops > 0 ? sus / ops : NAN;
    double schper = ops > 0 ? sch / ops : NAN;
    rep_line(r, "server CPU", "%s us/%s (%s%% of a core; schedstat %s us/%s)",
             fmt_num(b1, sizeof b1, sper, "%.2f"), per,
             fmt_num(b2, sizeof b2, sus / 1e4 / wall, "%.0f"),
             fmt_num(b3, sizeof b3, schper, "%.2f"), per);
    rep_line(r, "client CPU", "%.2f us/%s (%.0f%% of a core)", ops > 0 ? cus / ops : 0, per,
             cus / 1e4 / wall);
    jnum(r, "server_cpu_us_per_op", sper, 3);
    jnum(r, "server_cpu_sched_us_per_op", schper, 3);
    jnum(r, "server_cpu_pct", sus / 1e4 / wall, 1);
    jnum(r, "client_cpu_us_per_op", ops > 0 ? cus / ops : 0, 3);
    jnum(r, "client_cpu_pct", cus / 1e4 / wall, 1);
    jnum(r, "window_s", wall, 3);
}

static void rep_common_errors(report *r, bench *b) {
    if (b->cfg.scenario != SC_IDLE) {
        rep_line(r, "pings answered", "%llu", (unsigned long long)SUM(b, pings));
        jint(r, "pings", (long long)SUM(b, pings));
    }
    uint64_t errors = SUM(b, errors), failed = SUM(b, failed), dropped = SUM(b, dropped);
    rep_line(r, "failed / dropped / errors", "%llu / %llu / %llu", (unsigned long long)failed,
             (unsigned long long)dropped, (unsigned long long)errors);
    jint(r, "failed", (long long)failed);
    jint(r, "dropped", (long long)dropped);
    jint(r, "errors", (long long)errors);
    for (int i = 0; i < b->nw; i++)
        if (b->w[i].last_error[0]) {
            rep_line(r, "first error", "%s", b->w[i].last_error);
            jstr(r, "first_error", b->w[i].last_error);
            break;
        }
    if (server_gone) {
        rep_line(r, "SERVER", "process %d exited during the run", b->cfg.server_pid);
        bb_puts(&r->json, ",\"server_exited\":true");
    }
}

static int rep_finish(report *r, bench *b, const char *title, bool ok) {
    bb_printf(&r->json, ",\"ok\":%s}", ok ? "true" : "false");
    printf("sio-bench %s: %s\n%.*s  %-26s %s\nRESULT %.*s\n", b->cfg.scenario_name, title,
           (int)r->text.len, (char *)r->text.p, "verdict", ok ? "OK" : "FAILED", (int)r->json.len,
           (char *)r->json.p);
    fflush(stdout);
    bb_free(&r->text);
    bb_free(&r->json);
    return ok ? 0 : 1;
}

static void merged_hist(bench *b, hist *h) {
    memset(h, 0, sizeof *h);
    for (int i = 0; i < b->nw; i++)
        hist_merge(h, &b->w[i].lat);
}

/* ---- threads ------------------------------------------------------------------------- */

static int start_threads(bench *b) {
    for (int i = 1; i < b->nw; i++)
        if (pthread_create(&b->w[i].th, NULL, worker_thread, &b->w[i]) != 0) return -1;
    return 0;
}

static void stop_threads(bench *b) {
    set_phase(b, PH_CLOSE);
    run_for(b, 0.05);
    set_phase(b, PH_QUIT);
    for (int i = 1; i < b->nw; i++)
        pthread_join(b->w[i].th, NULL);
}

/* ---- scenarios -------------------------------------------------------------------------- */

static int sc_idle(bench *b) {
    const config *cfg = &b->cfg;
    report r;
    rep_init(&r, b);
    long rss_fresh = proc_rss_kib(cfg->server_pid);
    uint32_t warmed = 0;
    for (uint32_t i = 0; i < cfg->prewarm; i++)
        warmed += prewarm_session(&b->w[0]) == 0;
    if (cfg->prewarm) run_for(b, 1);
    long rss0 = proc_rss_kib(cfg->server_pid), fd0 = proc_fd_count(cfg->server_pid);
    snap s0 = take(b);
    set_phase(b, PH_OPEN);
    bool opened = wait_until(b, all_opened, cfg->timeout);
    snap s1 = take(b);
    uint64_t est = SUM(b, established);
    double open_s = (double)(s1.t - s0.t) / 1e9;
    run_for(b, cfg->settle);
    long rss1 = proc_rss_kib(cfg->server_pid), fd1 = proc_fd_count(cfg->server_pid);
    uint64_t dropped0 = SUM(b, dropped);
    snap h0 = take(b);
    if (cfg->hold > 0) run_for(b, cfg->hold);
    snap h1 = take(b);
    long rss2 = proc_rss_kib(cfg->server_pid);
    uint64_t live = SUM(b, live);
    set_phase(b, PH_CLOSE);
    run_for(b, cfg->settle);
    long rss3 = proc_rss_kib(cfg->server_pid), fd3 = proc_fd_count(cfg->server_pid);
    stop_threads(b);

    double per1 = rss0 >= 0 && rss1 >= 0 && est ? (double)(rss1 - rss0) / (double)est : NAN;
    double per2 = rss0 >= 0 && rss2 >= 0 && live ? (double)(rss2 - rss0) / (double)live : NAN;
    char b1[32], b2[32];
    rep_line(&r, "sessions", "%llu of %u established in %.2f s (%.0f/s)%s%s",
             (unsigned long long)est, cfg->sessions, open_s, (double)est / open_s,
             cfg->sio ? ", Socket.IO connected" : ", Engine.IO only",
             cfg->join ? ", joined a room" : "");
    {
        double sus = server_us(&s0, &s1), cus = (double)(s1.client_ns - s0.client_ns) / 1e3;
        char b3[32];
        rep_line(&r, "CPU while opening", "server %s us/session, client %.1f us/session",
                 fmt_num(b3, sizeof b3, est ? sus / (double)est : NAN, "%.1f"),
                 est ? cus / (double)est : 0);
        jnum(&r, "open_server_cpu_us_per_session", est ? sus / (double)est : NAN, 2);
        jnum(&r, "open_client_cpu_us_per_session", est ? cus / (double)est : NAN, 2);
    }
    if (cfg->prewarm)
        rep_line(&r, "prewarm", "%u of %u sessions opened and closed; RSS %ld -> %ld KiB", warmed,
                 cfg->prewarm, rss_fresh, rss0);
    rep_line(&r, "server RSS before", "%ld KiB", rss0);
    rep_line(&r, "server RSS with sessions", "%ld KiB after %.1f s settle", rss1, cfg->settle);
    rep_line(&r, "RSS per session", "%s KiB", fmt_num(b1, sizeof b1, per1, "%.2f"));
    if (cfg->hold > 0) {
        rep_line(&r, "hold", "%.0f s: %llu live at the end, %llu dropped during the hold",
                 cfg->hold, (unsigned long long)live,
                 (unsigned long long)(SUM(b, dropped) - dropped0));
        rep_line(&r, "RSS per session after hold", "%s KiB (%ld KiB)",
                 fmt_num(b2, sizeof b2, per2, "%.2f"), rss2);
        double hs = server_us(&h0, &h1);
        rep_line(&r, "server CPU during hold", "%s%% of a core",
                 fmt_num(b1, sizeof b1, hs / 1e4 / cfg->hold, "%.2f"));
    }
    rep_line(&r, "server RSS after close", "%ld KiB (%+.1f%% of before)", rss3,
             rss0 > 0 ? 100.0 * (double)(rss3 - rss0) / (double)rss0 : 0);
    rep_line(&r, "server open files", "%ld before, %ld with sessions, %ld after close", fd0, fd1,
             fd3);
    rep_line(&r, "pings answered", "%llu", (unsigned long long)SUM(b, pings));
    jint(&r, "sessions", cfg->sessions);
    jint(&r, "established", (long long)est);
    jstr(&r, "mode", cfg->join ? "sio+join" : cfg->sio ? "sio" : "eio");
    jnum(&r, "open_s", open_s, 3);
    jint(&r, "prewarm", cfg->prewarm);
    jopt(&r, "rss_fresh_kib", rss_fresh);
    jopt(&r, "rss_before_kib", rss0);
    jopt(&r, "rss_kib", rss1);
    jnum(&r, "rss_per_session_kib", per1, 3);
    jnum(&r, "hold_s", cfg->hold, 1);
    jint(&r, "live_after_hold", (long long)live);
    jnum(&r, "rss_per_session_after_hold_kib", per2, 3);
    jopt(&r, "rss_after_close_kib", rss3);
    jnum(&r, "rss_after_close_pct",
         rss0 > 0 && rss3 >= 0 ? 100.0 * (double)(rss3 - rss0) / (double)rss0 : NAN, 2);
    jopt(&r, "server_fds_before", fd0);
    jopt(&r, "server_fds", fd1);
    jopt(&r, "server_fds_after_close", fd3);
    jint(&r, "concurrency", cfg->concurrency);
    jint(&r, "pings", (long long)SUM(b, pings));
    rep_common_errors(&r, b);
    bool ok = opened && est == cfg->sessions && SUM(b, dropped) == 0 && SUM(b, failed) == 0 &&
              !server_gone;
    char title[128];
    snprintf(title, sizeof title, "%u idle WebSocket sessions", cfg->sessions);
    return rep_finish(&r, b, title, ok);
}

static int sc_echo(bench *b) {
    const config *cfg = &b->cfg;
    report r;
    rep_init(&r, b);
    set_phase(b, PH_OPEN);
    bool opened = wait_until(b, all_opened, cfg->timeout);
    uint64_t est = SUM(b, established);
    bool ok = opened && est == cfg->sessions;
    snap s0 = {0}, s1 = {0};
    uint64_t a0 = 0, a1 = 0;
    if (ok) {
        set_phase(b, PH_RUN);
        run_for(b, cfg->warmup);
        a0 = SUM(b, acks);
        s0 = take(b);
        atomic_store(&b->measuring, 1);
        run_for(b, cfg->duration);
        atomic_store(&b->measuring, 0);
        s1 = take(b);
        a1 = SUM(b, acks);
        set_phase(b, PH_DRAIN);
        wait_until(b, echo_drained, 5);
    }
    stop_threads(b);
    hist h;
    merged_hist(b, &h);
    double wall = (double)(s1.t - s0.t) / 1e9;
    double acks = (double)(a1 - a0);
    rep_line(&r, "clients", "%u (%s), %llu connected", cfg->sessions,
             cfg->scenario == SC_POLL_ECHO ? "long-polling" : "WebSocket", (unsigned long long)est);
    if (ok) {
        rep_line(&r, "acks/s", "%.0f (%.0f acks in %.2f s)", acks / wall, acks, wall);
        rep_line(&r, "RTT p50 / p99 / max", "%.3f / %.3f / %.3f ms", hist_pct(&h, 50) / 1e6,
                 hist_pct(&h, 99) / 1e6, h.max / 1e6);
        rep_cpu(&r, &s0, &s1, acks, "ack");
        jnum(&r, "acks_per_s", acks / wall, 1);
        jint(&r, "acks", (long long)acks);
        jnum(&r, "rtt_p50_ms", hist_pct(&h, 50) / 1e6, 3);
        jnum(&r, "rtt_p99_ms", hist_pct(&h, 99) / 1e6, 3);
        jnum(&r, "rtt_max_ms", h.max / 1e6, 3);
    }
    jint(&r, "clients", cfg->sessions);
    jstr(&r, "transport", cfg->scenario == SC_POLL_ECHO ? "polling" : "websocket");
    if (cfg->scenario == SC_POLL_ECHO) {
        rep_line(&r, "HTTP reconnects / retries", "%llu / %llu",
                 (unsigned long long)SUM(b, reconnects), (unsigned long long)SUM(b, retries));
        jint(&r, "http_reconnects", (long long)SUM(b, reconnects));
        jint(&r, "http_retries", (long long)SUM(b, retries));
        uint64_t wire = SUM(b, wire_bytes), body = SUM(b, body_bytes);
        rep_line(&r, "GET answers coded / bytes on the wire / decoded", "%llu / %llu / %llu",
                 (unsigned long long)SUM(b, coded), (unsigned long long)wire,
                 (unsigned long long)body);
        jint(&r, "http_coded_answers", (long long)SUM(b, coded));
        jnum(&r, "http_wire_ratio", body ? (double)wire / (double)body : 0, 3);
    }
    jint(&r, "echo_bytes", cfg->echo_bytes);
    rep_common_errors(&r, b);
    ok = ok && acks > 0 && SUM(b, errors) == 0 && SUM(b, dropped) == 0 && !server_gone;
    char title[128];
    snprintf(title, sizeof title, "%u clients, closed loop, %.0f s", cfg->sessions, cfg->duration);
    return rep_finish(&r, b, title, ok);
}

static bool fanout_done(bench *b) {
    return SUM(b, deliveries) >= (uint64_t)b->cfg.sessions * b->cfg.messages;
}

static int sc_fanout(bench *b) {
    const config *cfg = &b->cfg;
    report r;
    rep_init(&r, b);
    uint64_t expect = (uint64_t)cfg->sessions * cfg->messages;
    set_phase(b, PH_OPEN);
    bool opened = wait_until(b, all_opened, cfg->timeout);
    uint64_t est = SUM(b, established);
    bool ok = opened && est == b->total;
    snap s0 = {0}, s1 = {0};
    bool complete = false;
    long rss_ready = -1, rss_peak = -1, hwm = -1;
    uint64_t next_sample = 0;
    if (ok) {
        run_for(b, cfg->warmup);
        rss_ready = proc_rss_kib(cfg->server_pid);
        rss_peak = rss_ready;
        s0 = take(b);
        set_phase(b, PH_RUN);
        /* Until every receiver has every message, or nothing moved for 5 s after
         * the last send, or the timeout. */
        uint64_t end = now_ns() + (uint64_t)(cfg->timeout * 1e9);
        uint64_t last_n = 0, last_change = now_ns();
        while (!(complete = fanout_done(b))) {
            if (!pump(b, 5) || now_ns() > end) break;
            if (now_ns() >= next_sample) { /* RSS every 20 ms: the burst's peak */
                long v = proc_rss_kib(cfg->server_pid);
                if (v > rss_peak) rss_peak = v;
                next_sample = now_ns() + 20000000ull;
            }
            uint64_t n = SUM(b, deliveries) + SUM(b, sent);
            if (n != last_n) {
                last_n = n;
                last_change = now_ns();
            } else if (now_ns() - last_change > 5000000000ull) {
                break;
            }
        }
        s1 = take(b);
        long v = proc_rss_kib(cfg->server_pid);
        if (v > rss_peak) rss_peak = v;
        hwm = proc_hwm_kib(cfg->server_pid);
        run_for(b, 0.3); /* late duplicates */
    }
    stop_threads(b);
    hist h;
    merged_hist(b, &h);
    uint64_t got = SUM(b, deliveries), dups = SUM(b, dups), sent = SUM(b, sent);
    uint64_t first = MAXC(b, first_send), last = MAXC(b, last_recv);
    double span = last > first ? (double)(last - first) / 1e9 : NAN;
    uint32_t incomplete = 0;
    for (int i = 0; i < b->nw; i++)
        for (uint32_t j = 0; j < b->w[i].nsess; j++) {
            session *s = &b->w[i].sess[j];
            if (!s->sender && s->got != cfg->messages) incomplete++;
        }
    uint32_t npoll = 0;
    for (int i = 0; i < b->nw; i++)
        for (uint32_t j = 0; j < b->w[i].nsess; j++)
            npoll += b->w[i].sess[j].polling;
    rep_line(&r, "receivers", "%u in room \"%s\", %u on long-polling (%llu sessions connected)",
             cfg->sessions, cfg->room, npoll, (unsigned long long)est);
    rep_line(&r, "messages", "%llu of %u sent, %u B payload, %s", (unsigned long long)sent,
             cfg->messages, cfg->payload, cfg->rate > 0 ? "rate-limited" : "back to back");
    if (ok) {
        rep_line(&r, "deliveries/s", "%.0f (%llu deliveries in %.3f s)",
                 span > 0 ? (double)got / span : 0, (unsigned long long)got, span);
        rep_line(&r, "latency p50 / p99 / max", "%.2f / %.2f / %.2f ms", hist_pct(&h, 50) / 1e6,
                 hist_pct(&h, 99) / 1e6, h.max / 1e6);
        rep_line(&r, "lost / duplicated", "%llu / %llu (%u receivers incomplete)",
                 (unsigned long long)(expect - got), (unsigned long long)dups, incomplete);
        rep_cpu(&r, &s0, &s1, (double)got, "delivery");
        rep_line(&r, "server RSS", "%ld KiB ready, %ld KiB peak sampled, VmHWM %ld KiB", rss_ready,
                 rss_peak, hwm);
    }
    jint(&r, "receivers", cfg->sessions);
    jint(&r, "polling_receivers", npoll);
    jnum(&r, "rate", cfg->rate, 1);
    jopt(&r, "rss_ready_kib", rss_ready);
    jopt(&r, "rss_peak_kib", rss_peak);
    jopt(&r, "vm_hwm_kib", hwm);
    jnum(&r, "rss_peak_mib", rss_peak >= 0 ? (double)rss_peak / 1024 : NAN, 2);
    jnum(&r, "vm_hwm_mib", hwm >= 0 ? (double)hwm / 1024 : NAN, 2);
    jint(&r, "messages", cfg->messages);
    jint(&r, "payload", cfg->payload);
    jint(&r, "deliveries", (long long)got);
    jnum(&r, "deliveries_per_s", span > 0 ? (double)got / span : NAN, 1);
    jnum(&r, "latency_p50_ms", hist_pct(&h, 50) / 1e6, 3);
    jnum(&r, "latency_p99_ms", hist_pct(&h, 99) / 1e6, 3);
    jnum(&r, "latency_max_ms", h.max / 1e6, 3);
    jint(&r, "lost", (long long)(expect - got));
    jint(&r, "duplicated", (long long)dups);
    rep_common_errors(&r, b);
    ok = ok && complete && dups == 0 && SUM(b, errors) == 0 && SUM(b, dropped) == 0 && !server_gone;
    char title[128];
    snprintf(title, sizeof title, "%u receivers x %u messages", cfg->sessions, cfg->messages);
    return rep_finish(&r, b, title, ok);
}

static int sc_connect_rate(bench *b) {
    const config *cfg = &b->cfg;
    report r;
    rep_init(&r, b);
    set_phase(b, PH_RUN);
    run_for(b, cfg->warmup);
    uint64_t c0 = SUM(b, completed), f0 = SUM(b, failed);
    snap s0 = take(b);
    atomic_store(&b->measuring, 1);
    run_for(b, cfg->duration);
    atomic_store(&b->measuring, 0);
    snap s1 = take(b);
    uint64_t c1 = SUM(b, completed), f1 = SUM(b, failed);
    set_phase(b, PH_DRAIN);
    run_for(b, 0.3);
    stop_threads(b);
    hist h;
    merged_hist(b, &h);
    double wall = (double)(s1.t - s0.t) / 1e9, n = (double)(c1 - c0);
    rep_line(&r, "sessions in flight", "%u", cfg->concurrency);
    rep_line(&r, "new sessions/s", "%.0f (%.0f in %.2f s, %s)", n / wall, n, wall,
             cfg->upgrade ? "polling handshake, CONNECT ack, upgrade to WebSocket"
             : cfg->sio   ? "WebSocket handshake to Socket.IO CONNECT ack"
                          : "Engine.IO handshake only");
    jstr(&r, "mode", cfg->upgrade ? "polling+upgrade" : cfg->sio ? "websocket" : "eio");
    rep_line(&r, "handshake p50 / p99", "%.3f / %.3f ms", hist_pct(&h, 50) / 1e6,
             hist_pct(&h, 99) / 1e6);
    rep_cpu(&r, &s0, &s1, n, "session");
    jnum(&r, "sessions_per_s", n / wall, 1);
    jint(&r, "sessions", (long long)n);
    jint(&r, "concurrency", cfg->concurrency);
    jnum(&r, "handshake_p50_ms", hist_pct(&h, 50) / 1e6, 3);
    jnum(&r, "handshake_p99_ms", hist_pct(&h, 99) / 1e6, 3);
    jint(&r, "failed_in_window", (long long)(f1 - f0));
    rep_line(&r, "server close not seen", "%llu sessions reset after 1 s",
             (unsigned long long)SUM(b, resets));
    jint(&r, "resets", (long long)SUM(b, resets));
    rep_common_errors(&r, b);
    bool ok = n > 0 && SUM(b, failed) == 0 && SUM(b, errors) == 0 && !server_gone;
    char title[128];
    snprintf(title, sizeof title, "open and close sessions, %.0f s", cfg->duration);
    return rep_finish(&r, b, title, ok);
}

int run_scenario(bench *b) {
    if (start_threads(b) < 0) {
        fprintf(stderr, "sio-bench: cannot start threads\n");
        set_phase(b, PH_QUIT);
        return 3;
    }
    switch (b->cfg.scenario) {
    case SC_IDLE:
        return sc_idle(b);
    case SC_ECHO:
    case SC_POLL_ECHO:
        return sc_echo(b);
    case SC_FANOUT:
        return sc_fanout(b);
    case SC_CONNECT_RATE:
        return sc_connect_rate(b);
    }
    return 2;
}
