/* Connection state recovery's node-local log and sessions (see
 * recovery_log.h). No I/O and no clock: the caller passes the time. */
#include "adapter/recovery_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/json.h"

void rlog_init(rlog *l, uint64_t window_ms, size_t max_bytes, uint64_t max_age_ms) {
    memset(l, 0, sizeof *l);
    l->next_seq = 1;
    l->window_ms = window_ms;
    l->max_bytes = max_bytes;
    l->max_age_ms = max_age_ms ? max_age_ms : window_ms;
}

static void free_strv(char **v) {
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* A NULL-terminated copy, adding its bytes to *bytes; *ok 0 when out of memory. */
static char **copy_strv(const char *const *v, size_t *bytes, int *ok) {
    if (!v) return NULL;
    size_t n = 0;
    while (v[n])
        n++;
    char **c = calloc(n + 1, sizeof *c);
    if (!c) {
        *ok = 0;
        return NULL;
    }
    *bytes += (n + 1) * sizeof *c;
    for (size_t i = 0; i < n; i++) {
        if (!(c[i] = strdup(v[i]))) {
            free_strv(c);
            *ok = 0;
            return NULL;
        }
        *bytes += strlen(v[i]) + 1;
    }
    return c;
}

/* What a tree holds in memory (nodes, keys, strings, binary bytes). */
static size_t tree_bytes(const cJSON *n) {
    size_t b = 0;
    for (; n; n = n->next) {
        b += sizeof *n;
        if (n->string) b += strlen(n->string) + 1;
        if (sio_json_is_binary(n))
            b += (size_t)n->valuedouble;
        else if (n->valuestring)
            b += strlen(n->valuestring) + 1;
        b += tree_bytes(n->child);
    }
    return b;
}

static void entry_clear(rlog_entry *e) {
    cJSON_Delete(e->data);
    free_strv(e->rooms);
    free_strv(e->except);
    memset(e, 0, sizeof *e);
}

static void drop_oldest(rlog *l) {
    rlog_entry *e = &l->v[l->head];
    l->bytes -= e->bytes;
    entry_clear(e);
    l->head = (l->head + 1) % l->cap;
    l->len--;
}

static void drop_aged(rlog *l, uint64_t now_ms) {
    while (l->len && l->v[l->head].at_ms + l->max_age_ms < now_ms)
        drop_oldest(l);
}

static int grow(rlog *l) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    rlog_entry *v = calloc(cap, sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < l->len; i++)
        v[i] = l->v[(l->head + i) % l->cap];
    free(l->v);
    l->v = v;
    l->cap = cap;
    l->head = 0;
    return 0;
}

const rlog_entry *rlog_append(rlog *l, const cJSON *data, const char *event, const cJSON *args,
                              const char *const *rooms, const char *const *except,
                              uint64_t now_ms) {
    cJSON *tree;
    if (data) {
        tree = sio_json_duplicate(data);
    } else {
        tree = cJSON_CreateArray();
        if (tree) cJSON_AddItemToArray(tree, cJSON_CreateString(event ? event : ""));
        for (const cJSON *a = args ? args->child : NULL; tree && a; a = a->next) {
            cJSON *c = sio_json_duplicate(a);
            if (!c) {
                cJSON_Delete(tree);
                tree = NULL;
            } else {
                cJSON_AddItemToArray(tree, c);
            }
        }
    }
    char off[24];
    snprintf(off, sizeof off, "%llu", (unsigned long long)l->next_seq);
    cJSON *o = tree ? cJSON_CreateString(off) : NULL;
    if (!o || !cJSON_AddItemToArray(tree, o)) {
        cJSON_Delete(o);
        cJSON_Delete(tree);
        return NULL;
    }
    rlog_entry e = {l->next_seq, now_ms, sizeof e + tree_bytes(tree), tree, NULL, NULL};
    int ok = 1;
    e.rooms = copy_strv(rooms, &e.bytes, &ok);
    e.except = copy_strv(except, &e.bytes, &ok);
    if (!ok || (l->len == l->cap && grow(l))) {
        entry_clear(&e);
        return NULL;
    }
    drop_aged(l, now_ms);
    while (l->len && l->max_bytes && l->bytes + e.bytes > l->max_bytes)
        drop_oldest(l);
    rlog_entry *slot = &l->v[(l->head + l->len) % l->cap];
    *slot = e;
    l->len++;
    l->bytes += e.bytes;
    l->next_seq++;
    return slot;
}

const char *rlog_offset(const rlog_entry *e) {
    cJSON *last = e->data && e->data->child ? e->data->child->prev : NULL;
    return last ? last->valuestring : "";
}

/* ---------- sessions ---------- */

void rlog_session_free(rlog_session *s) {
    if (!s) return;
    free(s->sid);
    free(s->pid);
    free_strv(s->rooms);
    cJSON_Delete(s->data);
    free(s);
}

/* Out of the FIFO and the map (the caller frees or hands it on). */
static void unlink_session(rlog *l, rlog_session *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        l->oldest = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->newest = s->prev;
    s->prev = s->next = NULL;
    smap_del(&l->sessions, s->pid, strlen(s->pid));
}

int rlog_persist(rlog *l, const char *sid, const char *pid, const char *const *rooms,
                 const cJSON *data, uint64_t now_ms) {
    rlog_session *s = calloc(1, sizeof *s);
    if (!s) return -1;
    size_t bytes = 0;
    int ok = 1;
    s->sid = strdup(sid);
    s->pid = strdup(pid);
    s->rooms = copy_strv(rooms, &bytes, &ok);
    s->data = data ? sio_json_duplicate(data) : NULL;
    s->at_ms = now_ms;
    if (!ok || !s->sid || !s->pid || (data && !s->data)) {
        rlog_session_free(s);
        return -1;
    }
    rlog_session *old = smap_get(&l->sessions, pid, strlen(pid));
    if (old) {
        unlink_session(l, old);
        rlog_session_free(old);
    }
    if (smap_put(&l->sessions, s->pid, strlen(s->pid), s)) {
        rlog_session_free(s);
        return -1;
    }
    /* The window is the same for every session: keeping order is expiry order. */
    s->prev = l->newest;
    if (l->newest)
        l->newest->next = s;
    else
        l->oldest = s;
    l->newest = s;
    return 0;
}

/* Node's shouldIncludePacket: the packet's rooms (none: everyone) meet the
 * session's, and none of the session's rooms is excluded. */
static int selects(const rlog_entry *e, char *const *rooms) {
    int in = !e->rooms;
    for (char *const *r = rooms; r && *r; r++) {
        for (char *const *x = e->except; x && *x; x++)
            if (strcmp(*x, *r) == 0) return 0;
        for (char *const *t = e->rooms; !in && t && *t; t++)
            if (strcmp(*t, *r) == 0) in = 1;
    }
    return in;
}

/* The log position of the packet numbered by offset, or -1. */
static long find_offset(const rlog *l, const char *offset) {
    if (!l->len || !*offset || strlen(offset) > 20) return -1;
    uint64_t seq = 0;
    for (const char *p = offset; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        seq = seq * 10 + (uint64_t)(*p - '0');
    }
    uint64_t first = l->v[l->head].seq;
    if (seq < first || seq >= first + l->len) return -1;
    return (long)(seq - first);
}

enum rlog_result rlog_restore(rlog *l, const char *pid, const char *offset, uint64_t now_ms,
                              rlog_session **out, cJSON **missed) {
    *out = NULL;
    *missed = NULL;
    rlog_session *s = smap_get(&l->sessions, pid, strlen(pid));
    if (!s) return RLOG_NO_SESSION;
    unlink_session(l, s);
    if (s->at_ms + l->window_ms < now_ms) {
        rlog_session_free(s);
        return RLOG_EXPIRED;
    }
    drop_aged(l, now_ms);
    long at = find_offset(l, offset);
    cJSON *arr = at >= 0 ? cJSON_CreateArray() : NULL;
    for (size_t i = (size_t)at + 1; arr && i < l->len; i++) {
        const rlog_entry *e = &l->v[(l->head + i) % l->cap];
        if (!selects(e, s->rooms)) continue;
        cJSON *c = sio_json_duplicate(e->data);
        if (!c) {
            cJSON_Delete(arr);
            arr = NULL;
            break;
        }
        cJSON_AddItemToArray(arr, c);
    }
    if (!arr) {
        rlog_session_free(s);
        return at < 0 ? RLOG_OFFSET_LOST : RLOG_NO_SESSION;
    }
    *out = s;
    *missed = arr;
    return RLOG_RECOVERED;
}

uint64_t rlog_expire(rlog *l, uint64_t now_ms) {
    while (l->oldest && l->oldest->at_ms + l->window_ms < now_ms) {
        rlog_session *s = l->oldest;
        unlink_session(l, s);
        rlog_session_free(s);
    }
    drop_aged(l, now_ms);
    uint64_t next = 0;
    if (l->oldest) next = l->oldest->at_ms + l->window_ms + 1;
    if (l->len) {
        uint64_t p = l->v[l->head].at_ms + l->max_age_ms + 1;
        if (!next || p < next) next = p;
    }
    return next;
}

size_t rlog_session_count(const rlog *l) {
    return smap_len(&l->sessions);
}

void rlog_free(rlog *l) {
    while (l->len)
        drop_oldest(l);
    free(l->v);
    while (l->oldest) {
        rlog_session *s = l->oldest;
        l->oldest = s->next;
        rlog_session_free(s);
    }
    smap_free(&l->sessions);
    memset(l, 0, sizeof *l);
}
