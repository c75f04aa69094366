#include "eio/metrics.h"

#include <stddef.h>

#define F(name, help, type, labels, kind, field)                                                   \
    { name, help, type, labels, kind, offsetof(eio_metrics, field) }
#define COUNTER(name, help, field) F(name, help, METRIC_COUNTER, NULL, METRIC_U64, field)
#define REJECTED(reason, i)                                                                        \
    F("sio_handshake_rejections_total", "Requests refused, by reason.", METRIC_COUNTER,            \
      "reason=\"" reason "\"", METRIC_U64, rejected[i])

static const metrics_field fields[] = {
    F("sio_sessions", "Engine.IO sessions open now, by transport.", METRIC_GAUGE,
      "transport=\"polling\"", METRIC_I64, sessions_polling),
    F("sio_sessions", "Engine.IO sessions open now, by transport.", METRIC_GAUGE,
      "transport=\"websocket\"", METRIC_I64, sessions_websocket),
    COUNTER("sio_sessions_opened_total", "Engine.IO handshakes completed.", sessions_opened),
    COUNTER("sio_sessions_closed_total", "Engine.IO sessions closed.", sessions_closed),
    F("sio_sessions_half_open", "Sessions not yet established (no namespace joined).", METRIC_GAUGE,
      NULL, METRIC_I64, sessions_half_open),
    COUNTER("sio_sessions_shed_total",
            "Half-open sessions closed to make room at --max-connections.", sessions_shed),
    COUNTER("sio_upgrades_total", "Polling sessions upgraded to WebSocket.", upgrades),
    COUNTER("sio_packets_received_total", "Engine.IO messages received.", packets_in),
    COUNTER("sio_packets_sent_total", "Engine.IO messages queued for clients.", packets_out),
    COUNTER("sio_bytes_received_total", "Engine.IO message bytes received.", bytes_in),
    COUNTER("sio_bytes_sent_total", "Engine.IO message bytes queued for clients.", bytes_out),
    COUNTER("sio_backpressure_disconnects_total",
            "Clients disconnected because their queue exceeded --max-buffered.",
            backpressure_disconnects),
    REJECTED("max_connections", REJ_MAX_CONNECTIONS),
    REJECTED("handshake_rate", REJ_HANDSHAKE_RATE),
    REJECTED("per_address", REJ_PER_ADDRESS),
    REJECTED("forbidden", REJ_FORBIDDEN),
    REJECTED("bad_request", REJ_BAD_REQUEST),
    REJECTED("unknown_sid", REJ_UNKNOWN_SID),
    REJECTED("bad_method", REJ_BAD_METHOD),
    REJECTED("protocol_version", REJ_PROTOCOL_VERSION),
    REJECTED("transport_unknown", REJ_TRANSPORT),
    REJECTED("half_open_per_address", REJ_HALF_OPEN_PER_ADDRESS),
};

int eio_metrics_register(metrics_registry *r, eio_metrics *m) {
    return metrics_add(r, m, fields, sizeof fields / sizeof fields[0], NULL);
}
