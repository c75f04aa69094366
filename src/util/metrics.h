/* Metrics for GET /metrics (Prometheus text format 0.0.4), owned by the
 * components that count them: each one (an Engine.IO server, a Socket.IO
 * server, a /ws server, a Redis adapter, the runtime) keeps its own numbers
 * and registers them with its loop's registry, as a table of fields of its
 * own struct and/or a collector function for values computed at scrape
 * time. Rendering asks every registered component; samples of one family
 * (same name) from several components are summed per label set, so two
 * servers on one loop still give one sio_sessions_opened_total. */
#ifndef SIO_UTIL_METRICS_H
#define SIO_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sio/loop.h"
#include "util/buf.h"

typedef struct metrics_registry metrics_registry;
/* What a collector adds its samples to, during one rendering. */
typedef struct metrics_out metrics_out;

typedef enum metrics_type { METRIC_COUNTER, METRIC_GAUGE } metrics_type;
/* How a field is read: uint64_t, int64_t or double. */
typedef enum metrics_kind { METRIC_U64, METRIC_I64, METRIC_F64 } metrics_kind;

/* One sample read from a field at `offset` of the owner's struct. labels is
 * NULL or the text between the braces (`reason="forbidden"`); samples that
 * share a name share help and type (the first registered wins). */
typedef struct metrics_field {
    const char *name;
    const char *help;
    metrics_type type;
    const char *labels;
    metrics_kind kind;
    size_t offset;
} metrics_field;

typedef void (*metrics_collector)(metrics_out *out, void *owner);

/* The loop's registry (made on first use, freed with the loop): no process
 * globals, and everything on one loop renders together. NULL without memory. */
metrics_registry *sio_loop_metrics(sio_loop *loop);
metrics_registry *metrics_registry_new(void);
void metrics_registry_free(metrics_registry *r);

/* Register n fields of the struct at `owner`, and/or (fn non-NULL) a
 * collector called with owner at each rendering. SIO_OK or SIO_ENOMEM. */
int metrics_add(metrics_registry *r, void *owner, const metrics_field *fields, size_t n,
                metrics_collector fn);
/* Forget everything registered with owner (before it is freed). */
void metrics_remove(metrics_registry *r, const void *owner);

/* From a collector: one sample. */
void metrics_put(metrics_out *out, const char *name, const char *help, metrics_type type,
                 const char *labels, metrics_kind kind, double value);

/* The whole exposition. */
int metrics_render(metrics_registry *r, sbuf *out);
/* The sum of the registered fields with this name (collectors not asked):
 * for components that watch another's counter (the runtime's trimming). */
double metrics_sum(metrics_registry *r, const char *name);

#endif
