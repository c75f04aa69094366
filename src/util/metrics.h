/* Process-wide counters for GET /metrics (Prometheus text format 0.0.4).
 * One event loop owns the process, so plain integers suffice; layers bump
 * them where the event happens and modules with richer state (namespaces,
 * rooms, Redis links) add lines through collectors at scrape time. */
#ifndef SIO_UTIL_METRICS_H
#define SIO_UTIL_METRICS_H

#include <stdint.h>

#include "util/buf.h"

enum metrics_reject {
    REJ_MAX_CONNECTIONS,
    REJ_HANDSHAKE_RATE,
    REJ_PER_ADDRESS,
    REJ_FORBIDDEN,
    REJ_BAD_REQUEST,
    REJ_UNKNOWN_SID,
    REJ_BAD_METHOD,
    REJ_PROTOCOL_VERSION,
    REJ_TRANSPORT,
    REJ_HALF_OPEN_PER_ADDRESS,
    REJ_COUNT,
};

typedef struct sio_metrics {
    int64_t sessions_polling; /* gauges */
    int64_t sessions_websocket;
    uint64_t sessions_opened; /* counters */
    uint64_t sessions_closed;
    uint64_t upgrades;
    uint64_t packets_in;
    uint64_t packets_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t volatile_dropped;
    uint64_t backpressure_disconnects;
    uint64_t rejected[REJ_COUNT];
    double loop_lag_s;     /* the last measured delay of a timer */
    double loop_lag_max_s; /* the largest since start */

    /* Admission: sessions on which no namespace was joined yet (a gauge), and
     * those of them closed to make room at capacity. */
    int64_t sessions_half_open;
    uint64_t sessions_shed;
} sio_metrics;

extern sio_metrics g_metrics;

/* A collector appends complete exposition lines (with # HELP/# TYPE). */
typedef void (*metrics_collector)(sbuf *out, void *ud);
int metrics_add_collector(metrics_collector fn, void *ud);
void metrics_remove_collector(metrics_collector fn, void *ud);
/* The whole exposition. */
int metrics_render(sbuf *out);

#endif
