/* An Engine.IO server's counters (GET /metrics): kept in the server, written
 * where the event happens, registered with the loop's registry by
 * eio_server_new (eio_metrics_register). */
#ifndef SIO_EIO_METRICS_H
#define SIO_EIO_METRICS_H

#include <stdint.h>

#include "util/metrics.h"

/* Why a request was refused (sio_handshake_rejections_total{reason}). */
enum eio_reject {
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

typedef struct eio_metrics {
    int64_t sessions_polling; /* gauges */
    int64_t sessions_websocket;
    uint64_t sessions_opened; /* counters */
    uint64_t sessions_closed;
    uint64_t upgrades;
    uint64_t packets_in;
    uint64_t packets_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t backpressure_disconnects;
    uint64_t rejected[REJ_COUNT];
    /* Admission: sessions on which no namespace was joined yet (a gauge), and
     * those of them closed to make room at capacity. */
    int64_t sessions_half_open;
    uint64_t sessions_shed;
} eio_metrics;

/* Show m in the loop's /metrics until metrics_remove(registry, m). */
int eio_metrics_register(metrics_registry *r, eio_metrics *m);

#endif
