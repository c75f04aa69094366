/* The admin UI's aggregated events: per-second counts of raw connections,
 * disconnections by reason, packets and bytes in and out, as the reference's
 * EventBuffer reports them in server_stats. The traffic figures are sampled
 * from the Engine.IO counters (eio_server_counters), so the data path pays
 * nothing for them. */
#ifndef SIO_ADMIN_STATS_H
#define SIO_ADMIN_STATS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "sio/eio.h"

#define ADMIN_STATS_BUCKETS 128 /* entries between two server_stats; beyond, dropped */

struct admin_bucket {
    int64_t second_ms;   /* the second's start, wall clock */
    const char *type;    /* static */
    const char *subtype; /* static (a close reason) or NULL */
    uint64_t count;
};

typedef struct admin_stats {
    eio_counters last; /* at the previous sample */
    struct admin_bucket b[ADMIN_STATS_BUCKETS];
    size_t n;
} admin_stats;

void admin_stats_init(admin_stats *st, const eio_counters *now);
/* Count what the counters moved by since the last sample, in the second
 * before now_ms. */
void admin_stats_sample(admin_stats *st, int64_t now_ms, const eio_counters *c);
/* An Engine.IO connection closed (reason static). */
void admin_stats_closed(admin_stats *st, int64_t now_ms, const char *reason);
/* The aggregatedEvents array since the last take (new, the caller's; NULL
 * when out of memory), and forget them. */
cJSON *admin_stats_take(admin_stats *st);

#endif
