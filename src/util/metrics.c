#include "util/metrics.h"

#include "sio/status.h"

sio_metrics g_metrics;

#define MAX_COLLECTORS 16

static struct {
    metrics_collector fn;
    void *ud;
} collectors[MAX_COLLECTORS];
static int n_collectors;

int metrics_add_collector(metrics_collector fn, void *ud) {
    if (n_collectors == MAX_COLLECTORS) return SIO_ENOMEM;
    collectors[n_collectors].fn = fn;
    collectors[n_collectors].ud = ud;
    n_collectors++;
    return SIO_OK;
}

void metrics_remove_collector(metrics_collector fn, void *ud) {
    for (int i = 0; i < n_collectors; i++) {
        if (collectors[i].fn == fn && collectors[i].ud == ud) {
            collectors[i] = collectors[--n_collectors];
            return;
        }
    }
}

static void counter(sbuf *o, const char *name, const char *help, uint64_t v) {
    sbuf_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                (unsigned long long)v);
}

int metrics_render(sbuf *o) {
    const sio_metrics *m = &g_metrics;
    sbuf_printf(o,
                "# HELP sio_sessions Engine.IO sessions open now, by transport.\n"
                "# TYPE sio_sessions gauge\n"
                "sio_sessions{transport=\"polling\"} %lld\n"
                "sio_sessions{transport=\"websocket\"} %lld\n",
                (long long)m->sessions_polling, (long long)m->sessions_websocket);
    counter(o, "sio_sessions_opened_total", "Engine.IO handshakes completed.", m->sessions_opened);
    counter(o, "sio_sessions_closed_total", "Engine.IO sessions closed.", m->sessions_closed);
    sbuf_printf(o,
                "# HELP sio_sessions_half_open Sessions not yet established (no namespace "
                "joined).\n# TYPE sio_sessions_half_open gauge\nsio_sessions_half_open %lld\n",
                (long long)m->sessions_half_open);
    counter(o, "sio_sessions_shed_total",
            "Half-open sessions closed to make room at --max-connections.", m->sessions_shed);
    counter(o, "sio_upgrades_total", "Polling sessions upgraded to WebSocket.", m->upgrades);
    counter(o, "sio_packets_received_total", "Engine.IO messages received.", m->packets_in);
    counter(o, "sio_packets_sent_total", "Engine.IO messages queued for clients.", m->packets_out);
    counter(o, "sio_bytes_received_total", "Engine.IO message bytes received.", m->bytes_in);
    counter(o, "sio_bytes_sent_total", "Engine.IO message bytes queued for clients.", m->bytes_out);
    counter(o, "sio_volatile_dropped_total", "Volatile packets dropped (transport not ready).",
            m->volatile_dropped);
    counter(o, "sio_backpressure_disconnects_total",
            "Clients disconnected because their queue exceeded --max-buffered.",
            m->backpressure_disconnects);
    static const char *const reasons[REJ_COUNT] = {
        "max_connections",   "handshake_rate",       "per_address", "forbidden",
        "bad_request",       "unknown_sid",          "bad_method",  "protocol_version",
        "transport_unknown", "half_open_per_address"};
    sbuf_puts(o, "# HELP sio_handshake_rejections_total Requests refused, by reason.\n"
                 "# TYPE sio_handshake_rejections_total counter\n");
    for (int i = 0; i < REJ_COUNT; i++)
        sbuf_printf(o, "sio_handshake_rejections_total{reason=\"%s\"} %llu\n", reasons[i],
                    (unsigned long long)m->rejected[i]);
    sbuf_printf(o,
                "# HELP sio_event_loop_lag_seconds How late the last 100 ms probe timer fired.\n"
                "# TYPE sio_event_loop_lag_seconds gauge\n"
                "sio_event_loop_lag_seconds %.6f\n"
                "# HELP sio_event_loop_lag_max_seconds The largest lag seen since start.\n"
                "# TYPE sio_event_loop_lag_max_seconds gauge\n"
                "sio_event_loop_lag_max_seconds %.6f\n",
                m->loop_lag_s, m->loop_lag_max_s);
    for (int i = 0; i < n_collectors; i++)
        collectors[i].fn(o, collectors[i].ud);
    return SIO_OK;
}
