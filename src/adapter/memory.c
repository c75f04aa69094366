/* In-memory adapter: rooms of one node. A membership is one node linked into
 * both its room's list (join order, for broadcasts) and its socket's list
 * (for leave-all, kept in the socket's adapter slot). A socket's own room
 * (its id) is not stored: the namespace's socket map already answers it
 * (sio_nsp_find_socket), which saves a room per socket. Built on the public
 * adapter interface only (sio/adapter.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/recovery_log.h"
#include "sio/adapter.h"
#include "sio/status.h"
#include "util/map.h"
#include "util/slab.h"

/* The log's expiry timer fires at most this often: packets and sessions
 * expire up to this late, in exchange for one wake-up per second at most
 * under steady traffic instead of one per packet. */
#define SWEEP_SLACK_MS 1000

struct room;

struct member {
    sio_socket *s;
    struct room *room;
    struct member *rprev, *rnext; /* in the room */
    struct member *snext;         /* in the socket */
};

struct room {
    struct member *head, *tail;
    size_t count;
    char name[]; /* the map key points here */
};

typedef struct mem_adapter {
    sio_adapter base;
    smap rooms;
    sio_socket **scratch;
    size_t scratch_cap;
    uint32_t epoch;     /* the current selection's mark in the sockets' slots */
    slab_pool *members; /* struct member (util/slab.h): one per socket per room */
    rlog *log;          /* recovery's packets and sessions; NULL when recovery is off */
    sio_loop *loop;
    sio_timer sweep;
} mem_adapter;

static sio_socket_slot *slot_of(const sio_socket *s) {
    return sio_socket_adapter_slot(s);
}

/* A fresh selection epoch (never 0, the mark of a new socket). */
static uint32_t next_epoch(mem_adapter *m) {
    if (++m->epoch == 0) ++m->epoch;
    return m->epoch;
}

static int m_join(sio_adapter *a, sio_socket *s, const char *name) {
    mem_adapter *m = (mem_adapter *)a;
    if (strcmp(name, sio_socket_id(s)) == 0) return SIO_OK;
    sio_socket_slot *sl = slot_of(s);
    size_t nl = strlen(name);
    struct room *r = smap_get(&m->rooms, name, nl);
    if (r) {
        for (struct member *x = sl->rooms; x; x = x->snext)
            if (x->room == r) return SIO_OK;
    } else {
        r = calloc(1, sizeof *r + nl + 1);
        if (!r) return SIO_ENOMEM;
        memcpy(r->name, name, nl + 1);
        if (smap_put(&m->rooms, r->name, nl, r)) {
            free(r);
            return SIO_ENOMEM;
        }
    }
    struct member *x = slab_calloc(m->members);
    if (!x) {
        if (!r->count) free(smap_del(&m->rooms, r->name, nl));
        return SIO_ENOMEM;
    }
    x->s = s;
    x->room = r;
    x->rprev = r->tail;
    if (r->tail)
        r->tail->rnext = x;
    else
        r->head = x;
    r->tail = x;
    r->count++;
    x->snext = sl->rooms;
    sl->rooms = x;
    sl->n_rooms++;
    return SIO_OK;
}

static void unlink_member(mem_adapter *m, struct member *x) {
    struct room *r = x->room;
    if (x->rprev)
        x->rprev->rnext = x->rnext;
    else
        r->head = x->rnext;
    if (x->rnext)
        x->rnext->rprev = x->rprev;
    else
        r->tail = x->rprev;
    if (--r->count == 0) free(smap_del(&m->rooms, r->name, strlen(r->name)));
    slab_free(x);
}

static void m_leave(sio_adapter *a, sio_socket *s, const char *name) {
    mem_adapter *m = (mem_adapter *)a;
    sio_socket_slot *sl = slot_of(s);
    for (struct member **pp = (struct member **)&sl->rooms; *pp; pp = &(*pp)->snext) {
        if (strcmp((*pp)->room->name, name) == 0) {
            struct member *x = *pp;
            *pp = x->snext;
            sl->n_rooms--;
            unlink_member(m, x);
            return;
        }
    }
}

static void m_leave_all(sio_adapter *a, sio_socket *s) {
    mem_adapter *m = (mem_adapter *)a;
    sio_socket_slot *sl = slot_of(s);
    struct member *x = sl->rooms;
    sl->rooms = NULL;
    sl->n_rooms = 0;
    while (x) {
        struct member *n = x->snext;
        unlink_member(m, x);
        x = n;
    }
}

static int m_has(sio_adapter *a, const sio_socket *s, const char *name) {
    if (strcmp(name, sio_socket_id(s)) == 0) return 1;
    for (struct member *x = slot_of(s)->rooms; x; x = x->snext)
        if (strcmp(x->room->name, name) == 0) return 1;
    return 0;
}

static void m_rooms_of(sio_adapter *a, const sio_socket *s, void (*fn)(const char *, void *),
                       void *ud) {
    fn(sio_socket_id(s), ud);
    for (struct member *x = slot_of(s)->rooms; x; x = x->snext)
        fn(x->room->name, ud);
}

/* Mark every socket in the named room (or the socket of that id). */
static void mark_room(mem_adapter *m, const char *name, uint32_t epoch) {
    struct room *r = smap_get(&m->rooms, name, strlen(name));
    if (r)
        for (struct member *x = r->head; x; x = x->rnext)
            slot_of(x->s)->mark = epoch;
    sio_socket *s = sio_nsp_find_socket(m->base.nsp, name);
    if (s) slot_of(s)->mark = epoch;
}

/* Select the target's sockets into the scratch array. Selection finishes
 * before any callback runs, so callbacks may join, leave or disconnect. */
static size_t select_targets(mem_adapter *m, const sio_target *t, sio_socket ***out) {
    sio_namespace *nsp = m->base.nsp;
    uint32_t epoch = next_epoch(m);
    size_t n = 0;
    size_t need = sio_nsp_size(nsp);
    if (need > m->scratch_cap) {
        size_t cap = need < 64 ? 64 : need * 2;
        sio_socket **p = realloc(m->scratch, cap * sizeof *p);
        if (!p) return 0;
        m->scratch = p;
        m->scratch_cap = cap;
    }
    if (t && t->except)
        for (const char *const *e = t->except; *e; e++)
            mark_room(m, *e, epoch);
    if (!t || !t->rooms) {
        size_t pos = 0;
        sio_socket *s;
        while ((s = sio_nsp_next_socket(nsp, &pos)))
            if (slot_of(s)->mark != epoch) m->scratch[n++] = s;
    } else {
        for (const char *const *rn = t->rooms; *rn; rn++) {
            struct room *r = smap_get(&m->rooms, *rn, strlen(*rn));
            for (struct member *x = r ? r->head : NULL; x; x = x->rnext) {
                sio_socket_slot *sl = slot_of(x->s);
                if (sl->mark == epoch || !sio_socket_connected(x->s)) continue;
                sl->mark = epoch;
                m->scratch[n++] = x->s;
            }
            sio_socket *s = sio_nsp_find_socket(nsp, *rn);
            if (s && slot_of(s)->mark != epoch) {
                slot_of(s)->mark = epoch;
                m->scratch[n++] = s;
            }
        }
    }
    *out = m->scratch;
    return n;
}

static void m_each(sio_adapter *a, const sio_target *t, void (*fn)(sio_socket *, void *),
                   void *ud) {
    mem_adapter *m = (mem_adapter *)a;
    sio_socket **v;
    size_t n = select_targets(m, t, &v);
    if (!n) return;
    /* Copy: fn may broadcast, which reuses the scratch array. */
    sio_socket **copy = malloc(n * sizeof *copy);
    if (!copy) return;
    memcpy(copy, v, n * sizeof *copy);
    for (size_t i = 0; i < n; i++)
        fn(copy[i], ud);
    free(copy);
}

static void sweep(sio_loop *loop, sio_timer *t) {
    mem_adapter *m = (mem_adapter *)((char *)t - offsetof(mem_adapter, sweep));
    uint64_t now = sio_loop_now(loop);
    uint64_t next = rlog_expire(m->log, now);
    if (next) sio_timer_start(loop, &m->sweep, next - now + SWEEP_SLACK_MS, sweep);
}

/* Something was kept: make sure it expires. */
static void arm_sweep(mem_adapter *m) {
    if (!sio_timer_active(&m->sweep)) sweep(m->loop, &m->sweep);
}

/* Number and log a packet (recovery), then encode it with its offset (the
 * same bytes as the logged copy; given apart, the observer sees it too); an
 * unlogged packet (out of memory) goes out without one. */
static sio_encoded *numbered(mem_adapter *m, const sio_adapter_packet *pkt, const sio_target *t) {
    sio_namespace *nsp = m->base.nsp;
    const rlog_entry *e =
        m->log ? rlog_append(m->log, pkt->data, pkt->event, pkt->args, t ? t->rooms : NULL,
                             t ? t->except : NULL, sio_loop_now(m->loop))
               : NULL;
    if (!e) return sio_adapter_encode(nsp, pkt, NULL);
    arm_sweep(m);
    return sio_adapter_encode(nsp, pkt, rlog_offset(e));
}

static int m_broadcast(sio_adapter *a, const sio_adapter_packet *pkt, const sio_target *t) {
    mem_adapter *m = (mem_adapter *)a;
    sio_encoded *enc = pkt->encoded;
    if (pkt->wants_offset && !(enc = numbered(m, pkt, t))) return SIO_ENOMEM;
    sio_socket **v;
    size_t n = select_targets(m, t, &v);
    int vol = t && t->is_volatile;
    /* A delivery can disconnect a client (backpressure), whose disconnect
     * handler may broadcast again: that inner call must not reuse the array
     * this loop walks, so it is handed over for the duration. */
    sio_socket **mine = m->scratch;
    size_t cap = m->scratch_cap;
    m->scratch = NULL;
    m->scratch_cap = 0;
    for (size_t i = 0; i < n; i++)
        sio_socket_deliver(v[i], enc, vol);
    if (m->scratch || cap > 4096) {
        /* Kept only when small: a big room's array would outlive the room. */
        free(mine);
    } else {
        m->scratch = mine;
        m->scratch_cap = cap;
    }
    return SIO_OK;
}

static int m_persist(sio_adapter *a, const sio_session *s) {
    mem_adapter *m = (mem_adapter *)a;
    if (!m->log) return SIO_ENOMEM;
    if (rlog_persist(m->log, s->sid, s->pid, s->rooms, s->data, sio_loop_now(m->loop)))
        return SIO_ENOMEM;
    arm_sweep(m);
    return SIO_OK;
}

/* Synchronous: the session and its missed packets are in memory. */
static int m_restore(sio_adapter *a, const char *pid, const char *offset, sio_restore_cb cb,
                     void *ud) {
    mem_adapter *m = (mem_adapter *)a;
    rlog_session *rs = NULL;
    cJSON *missed = NULL;
    if (!m->log ||
        rlog_restore(m->log, pid, offset, sio_loop_now(m->loop), &rs, &missed) != RLOG_RECOVERED) {
        cb(m->base.nsp, NULL, NULL, ud);
        return SIO_OK;
    }
    sio_session s = {rs->sid, rs->pid, (const char *const *)rs->rooms, rs->data};
    cb(m->base.nsp, &s, missed, ud);
    rlog_session_free(rs);
    return SIO_OK;
}

static void m_recovery_stats(sio_adapter *a, sio_recovery_stats *out) {
    mem_adapter *m = (mem_adapter *)a;
    if (!m->log) return;
    out->sessions = rlog_session_count(m->log);
    out->log_packets = m->log->len;
    out->log_bytes = m->log->bytes;
}

static size_t m_room_count(sio_adapter *a) {
    return smap_len(&((mem_adapter *)a)->rooms);
}

static void m_free(sio_adapter *a) {
    mem_adapter *m = (mem_adapter *)a;
    size_t pos = 0;
    smap_slot *slot;
    while ((slot = smap_next(&m->rooms, &pos))) {
        struct room *r = slot->val;
        struct member *x = r->head;
        while (x) {
            struct member *n = x->rnext;
            slot_of(x->s)->rooms = NULL;
            slot_of(x->s)->n_rooms = 0;
            slab_free(x);
            x = n;
        }
        free(r);
    }
    smap_free(&m->rooms);
    free(m->scratch);
    slab_release(m->members);
    if (m->log) {
        sio_timer_stop(m->loop, &m->sweep);
        rlog_free(m->log);
        free(m->log);
    }
    free(m);
}

static const sio_adapter_ops mem_ops = {
    m_join,
    m_leave,
    m_leave_all,
    m_has,
    m_rooms_of,
    m_each,
    m_broadcast,
    m_room_count,
    m_free,
    /* a single node: no remote hooks */
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    m_persist,
    m_restore,
    NULL,
    m_recovery_stats,
};

sio_adapter *sio_memory_adapter_new(sio_namespace *nsp) {
    mem_adapter *m = calloc(1, sizeof *m);
    if (!m || !(m->members = slab_new(sizeof(struct member)))) {
        free(m);
        return NULL;
    }
    m->base.ops = &mem_ops;
    m->base.nsp = nsp;
    const sio_options *o = sio_server_options(sio_nsp_server(nsp));
    m->loop = sio_server_loop(sio_nsp_server(nsp));
    if (o->recovery_window_ms) {
        if (!(m->log = malloc(sizeof *m->log))) {
            slab_release(m->members);
            free(m);
            return NULL;
        }
        rlog_init(m->log, o->recovery_window_ms, o->recovery_log_bytes, o->recovery_log_age_ms);
    }
    return &m->base;
}

static sio_adapter *create(sio_namespace *nsp, void *state) {
    return sio_memory_adapter_new(nsp);
}

const sio_adapter_factory *sio_memory_adapter(void) {
    static const sio_adapter_factory f = {NULL, create, NULL, NULL};
    return &f;
}
