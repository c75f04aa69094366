#include "admin/stats.h"

#include <string.h>

void admin_stats_init(admin_stats *st, const eio_counters *now) {
    memset(st, 0, sizeof *st);
    st->last = *now;
}

static void add(admin_stats *st, int64_t second_ms, const char *type, const char *subtype,
                uint64_t count) {
    if (!count) return;
    for (size_t i = st->n; i-- > 0;) {
        struct admin_bucket *b = &st->b[i];
        if (b->second_ms == second_ms && b->type == type && b->subtype == subtype) {
            b->count += count;
            return;
        }
    }
    if (st->n == ADMIN_STATS_BUCKETS) return; /* nobody took them: bounded */
    st->b[st->n++] = (struct admin_bucket){second_ms, type, subtype, count};
}

void admin_stats_sample(admin_stats *st, int64_t now_ms, const eio_counters *c) {
    int64_t sec = (now_ms - 1) / 1000 * 1000;
    add(st, sec, "rawConnection", NULL, c->sessions_opened - st->last.sessions_opened);
    add(st, sec, "packetsIn", NULL, c->packets_in - st->last.packets_in);
    add(st, sec, "packetsOut", NULL, c->packets_out - st->last.packets_out);
    add(st, sec, "bytesIn", NULL, c->bytes_in - st->last.bytes_in);
    add(st, sec, "bytesOut", NULL, c->bytes_out - st->last.bytes_out);
    st->last = *c;
}

void admin_stats_closed(admin_stats *st, int64_t now_ms, const char *reason) {
    add(st, now_ms / 1000 * 1000, "rawDisconnection", reason, 1);
}

cJSON *admin_stats_take(admin_stats *st) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < st->n; i++) {
        const struct admin_bucket *b = &st->b[i];
        cJSON *e = cJSON_CreateObject();
        if (!e) break;
        cJSON_AddNumberToObject(e, "timestamp", (double)b->second_ms);
        cJSON_AddStringToObject(e, "type", b->type);
        if (b->subtype) cJSON_AddStringToObject(e, "subType", b->subtype);
        cJSON_AddNumberToObject(e, "count", (double)b->count);
        cJSON_AddItemToArray(arr, e);
    }
    st->n = 0;
    return arr;
}
