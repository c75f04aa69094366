/* Connection state recovery on the Redis Streams adapter, as
 * @socket.io/redis-streams-adapter 0.3 does it, so a session left on any node
 * (C or Node.js) is restored on any other:
 *   persist   SET <sessionKeyPrefix><pid> base64(msgpack({sid, pid, rooms, data}))
 *             PX <window>
 *   restore   MULTI GET+DEL of that key, XRANGE <stream> <offset> <offset> (the
 *             offset must still be in the stream), then XRANGE from the entry
 *             after it, keeping the broadcasts of this namespace that the
 *             session's rooms select, each with its entry id appended.
 * Beyond the reference: while a socket is connected its record is kept in
 * Redis too (written at connect and when its rooms change, one SET per socket
 * per loop turn, pipelined; PEXPIREd every window / 2), so a client whose
 * node was killed is recovered by another node with every packet it missed.
 * A socket that leaves for good (not recoverable) takes its record along
 * (DEL). And restores are bounded work: at most RESTORES_AT_ONCE at a time,
 * each reading the stream in batches of RESTORE_BATCH entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "adapter/cluster_wire.h"
#include "adapter/redis_streams_internal.h"
#include "sio/adapter.h"
#include "socketio/msgpack.h"
#include "util/base64.h"
#include "util/log.h"

#define RESTORES_AT_ONCE  32
#define RESTORE_BATCH     "500"
#define RESTORE_BATCH_N   500
#define RESTORE_MAX_CALLS 100 /* as the reference's RESTORE_SESSION_MAX_XRANGE_CALLS */

/* ---------- session records ---------- */

static void ignore_reply(redis_link *l, const void *reply, void *ud) {}

static char *session_key(struct sio_streams *st, const char *pid) {
    return cluster_concat3(st->session_prefix, pid, "");
}

static void add_room(const char *room, void *ud) {
    cJSON_AddItemToArray(ud, cJSON_CreateString(room));
}

/* base64(msgpack({sid, pid, rooms, data})) into out: the reference's record.
 * rooms is a JSON array of strings; data NULL stands for socket.data's {}. */
static int encode_record(const char *sid, const char *pid, cJSON *rooms, const cJSON *data,
                         sbuf *out) {
    cJSON *rec = cJSON_CreateObject();
    cJSON empty;
    memset(&empty, 0, sizeof empty);
    empty.type = cJSON_Object;
    int rc = SIO_ENOMEM;
    if (rec) {
        cJSON_AddStringToObject(rec, "sid", sid);
        cJSON_AddStringToObject(rec, "pid", pid);
        cJSON_AddItemReferenceToObject(rec, "rooms", rooms);
        cJSON_AddItemReferenceToObject(rec, "data", data ? (cJSON *)data : &empty);
        sbuf mp = SBUF_INIT;
        rc = msgpack_encode(rec, &mp);
        sbuf_clear(out);
        if (rc == SIO_OK) rc = sbuf_reserve(out, b64_encoded_len(mp.len, 0) + 1);
        if (rc == SIO_OK) {
            b64_encode(mp.data, mp.len, (char *)out->data, 0);
            out->len = b64_encoded_len(mp.len, 0);
        }
        sbuf_free(&mp);
    }
    cJSON_Delete(rec);
    return rc;
}

static int set_record(struct sio_streams *st, const char *key, const sbuf *val, uint32_t px) {
    char ms[16];
    snprintf(ms, sizeof ms, "%u", px);
    const char *argv[5] = {"SET", key, (const char *)val->data, "PX", ms};
    size_t lens[5] = {3, strlen(key), val->len, 2, strlen(ms)};
    return redis_link_command(st->pub, ignore_reply, NULL, 5, argv, lens);
}

/* A live record lasts a refresh period past the window: a node killed just
 * before refreshing still leaves its clients the whole window. */
static uint32_t live_ttl(const struct sio_streams *st) {
    return st->window_ms + st->window_ms / 2;
}

/* A connected socket's record, by socket id in streams_adapter.live. */
struct live_rec {
    int dirty;
    char *key;  /* <sessionKeyPrefix><pid> */
    char sid[]; /* the map key */
};

static void live_rec_free(struct live_rec *r) {
    free(r->key);
    free(r);
}

static void write_live(streams_adapter *a, struct live_rec *r) {
    sio_socket *s = sio_nsp_find_socket(a->in.base.nsp, r->sid);
    r->dirty = 0;
    const char *pid = s ? sio_socket_pid(s) : NULL;
    cJSON *rooms = cJSON_CreateArray();
    if (!pid || !rooms) {
        cJSON_Delete(rooms);
        return;
    }
    inner_rooms_of(&a->in.base, s, add_room, rooms);
    if (encode_record(r->sid, pid, rooms, sio_socket_json_data(s), &a->st->scratch) == SIO_OK)
        set_record(a->st, r->key, &a->st->scratch, live_ttl(a->st));
    cJSON_Delete(rooms);
}

/* Once per loop turn: every socket whose rooms changed gets one SET (a
 * burst of joins costs one write), all pipelined on the command link. */
static void flush_live(sio_loop *loop, sio_timer *t) {
    streams_adapter *a = (streams_adapter *)((char *)t - offsetof(streams_adapter, flush));
    size_t pos = 0;
    smap_slot *sl;
    a->live_dirty = 0;
    while ((sl = smap_next(&a->live, &pos)))
        if (((struct live_rec *)sl->val)->dirty) write_live(a, sl->val);
}

static void mark_dirty(streams_adapter *a, struct live_rec *r) {
    r->dirty = 1;
    if (!a->live_dirty) sio_timer_start(a->st->loop, &a->flush, 0, flush_live);
    a->live_dirty = 1;
}

void streams_connected(sio_adapter *b, sio_socket *s) {
    streams_adapter *a = (streams_adapter *)b;
    const char *pid = sio_socket_pid(s);
    const char *sid = sio_socket_id(s);
    if (!a->st->live_sessions || !a->st->window_ms || !pid) return;
    size_t n = strlen(sid);
    struct live_rec *r = smap_get(&a->live, sid, n);
    if (!r) {
        r = calloc(1, sizeof *r + n + 1);
        if (!r) return;
        memcpy(r->sid, sid, n + 1);
        r->key = session_key(a->st, pid);
        if (!r->key || smap_put(&a->live, r->sid, n, r) != SIO_OK) {
            live_rec_free(r);
            return;
        }
    }
    mark_dirty(a, r);
}

void streams_live_touch(streams_adapter *a, const sio_socket *s) {
    if (!smap_len(&a->live)) return;
    const char *sid = sio_socket_id(s);
    struct live_rec *r = smap_get(&a->live, sid, strlen(sid));
    if (r) mark_dirty(a, r);
}

void streams_live_leave(streams_adapter *a, const sio_socket *s) {
    if (!smap_len(&a->live)) return;
    const char *sid = sio_socket_id(s);
    struct live_rec *r = smap_del(&a->live, sid, strlen(sid));
    if (!r) return;
    /* Not persisted first: a leave for good (client disconnect, kicked). */
    const char *argv[2] = {"DEL", r->key};
    redis_link_command(a->st->pub, ignore_reply, NULL, 2, argv, NULL);
    live_rec_free(r);
}

static void refresh_live(sio_loop *loop, sio_timer *t) {
    struct sio_streams *st =
        (struct sio_streams *)((char *)t - offsetof(struct sio_streams, refresh));
    char ms[16];
    snprintf(ms, sizeof ms, "%u", live_ttl(st));
    for (streams_adapter *a = st->adapters; a; a = a->next) {
        size_t pos = 0;
        smap_slot *sl;
        while ((sl = smap_next(&a->live, &pos))) {
            const char *argv[3] = {"PEXPIRE", ((struct live_rec *)sl->val)->key, ms};
            redis_link_command(st->pub, ignore_reply, NULL, 3, argv, NULL);
        }
    }
    sio_timer_start(loop, &st->refresh, st->window_ms / 2 ? st->window_ms / 2 : 1, refresh_live);
}

int streams_persist_session(sio_adapter *b, const sio_session *s) {
    streams_adapter *a = (streams_adapter *)b;
    struct sio_streams *st = a->st;
    /* The record replaces the live one, which stops being refreshed. */
    struct live_rec *r = smap_del(&a->live, s->sid, strlen(s->sid));
    if (r) live_rec_free(r);
    cJSON *rooms = cluster_rooms_json(s->rooms);
    char *key = session_key(st, s->pid);
    int rc =
        rooms && key ? encode_record(s->sid, s->pid, rooms, s->data, &st->scratch) : SIO_ENOMEM;
    if (rc == SIO_OK) rc = set_record(st, key, &st->scratch, st->window_ms);
    cJSON_Delete(rooms);
    free(key);
    return rc == SIO_ENOMEM ? SIO_ENOMEM : SIO_OK; /* Redis away: as Node, the session is lost */
}

/* ---------- restores ---------- */

struct restore {
    struct restore *next;   /* in the adapter's list */
    struct restore *q_next; /* in the server's waiting queue */
    streams_adapter *a;     /* NULL once the adapter went (replies still due) */
    sio_restore_cb cb;
    void *ud;
    char *pid;
    char offset[ENTRY_ID_MAX];
    int replies; /* outstanding replies of the first round */
    int started;
    int failed;
    int exists;
    int calls;
    cJSON *record; /* the decoded session */
    cJSON *missed;
};

static void restore_next(struct sio_streams *st);

static void restore_free(struct restore *r) {
    cJSON_Delete(r->record);
    cJSON_Delete(r->missed);
    free(r->pid);
    free(r);
}

static void unlink_restore(struct restore *r) {
    if (!r->a) return;
    for (struct restore **pp = &r->a->restores; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
}

/* Answer the core once (ok: with the session and its missed packets). */
static void restore_finish(struct restore *r, int ok) {
    streams_adapter *a = r->a;
    struct sio_streams *st = a ? a->st : NULL;
    unlink_restore(r);
    r->a = NULL;
    if (a && ok) {
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(r->record, "sid");
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(r->record, "pid");
        const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(r->record, "rooms");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->record, "data");
        size_t n = (size_t)cJSON_GetArraySize(rooms), k = 0;
        const char **list = calloc(n + 1, sizeof *list);
        const cJSON *it;
        cJSON_ArrayForEach(it, rooms) if (list && cJSON_IsString(it)) list[k++] = it->valuestring;
        if (list && cJSON_IsString(sid) && cJSON_IsString(pid)) {
            sio_session s = {sid->valuestring, pid->valuestring, list,
                             cJSON_IsObject(data) ? data : NULL};
            cJSON *missed = r->missed;
            r->missed = NULL;
            r->cb(a->in.base.nsp, &s, missed, r->ud);
        } else {
            r->cb(a->in.base.nsp, NULL, NULL, r->ud);
        }
        free(list);
    } else if (a) {
        r->cb(a->in.base.nsp, NULL, NULL, r->ud);
    }
    restore_free(r);
    if (st) {
        st->restoring--;
        restore_next(st);
    }
}

/* shouldIncludePacket of the reference: the packet's rooms select one of
 * the session's (or it goes to everyone) and its except names none. */
static int selects(const cJSON *session_rooms, const cJSON *opts) {
    cluster_target tb;
    cluster_target_from(&tb, opts);
    int included = !tb.t.rooms, excluded = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, session_rooms) {
        if (!cJSON_IsString(it)) continue;
        for (const char *const *p = tb.t.rooms; p && *p && !included; p++)
            included = strcmp(*p, it->valuestring) == 0;
        for (const char *const *p = tb.t.except; p && *p && !excluded; p++)
            excluded = strcmp(*p, it->valuestring) == 0;
    }
    /* Volatile broadcasts carry no offset when delivered live: none in a
     * replay either (the reference replays them). */
    return included && !excluded && !tb.t.is_volatile;
}

/* One entry of the replay: a broadcast of this namespace the session's
 * rooms select, its data array with the entry id appended. */
static void replay_entry(struct restore *r, const redisReply *e) {
    const redisReply *kv = e->element[1];
    const redisReply *nsp = streams_entry_field(kv, "nsp"), *type = streams_entry_field(kv, "type");
    const redisReply *data = streams_entry_field(kv, "data");
    if (!nsp || !type || !data || strcmp(type->str, "3") != 0 ||
        strcmp(nsp->str, sio_nsp_name(r->a->in.base.nsp)) != 0)
        return;
    cJSON *m = streams_entry_decode(data->str, data->len);
    cJSON *packet = cJSON_GetObjectItemCaseSensitive(m, "packet");
    cJSON *pdata = cJSON_GetObjectItemCaseSensitive(packet, "data");
    const cJSON *ptype = cJSON_GetObjectItemCaseSensitive(packet, "type");
    if (cJSON_IsArray(pdata) && cJSON_GetArraySize(pdata) > 0 &&
        !cJSON_GetObjectItemCaseSensitive(m, "requestId") &&
        !(cJSON_IsNumber(ptype) && ptype->valueint != 2) &&
        selects(cJSON_GetObjectItemCaseSensitive(r->record, "rooms"),
                cJSON_GetObjectItemCaseSensitive(m, "opts"))) {
        cJSON_AddItemToArray(pdata, cJSON_CreateString(e->element[0]->str));
        cJSON_AddItemToArray(r->missed, cJSON_DetachItemViaPointer(packet, pdata));
    }
    cJSON_Delete(m);
}

/* "<ms>-<seq + 1>": the first id after offset (exclusive ranges need Redis
 * 6.2; the reference does the same). */
static void next_id(const char *id, char out[ENTRY_ID_MAX]) {
    unsigned long long ms = 0, seq = 0;
    sscanf(id, "%llu-%llu", &ms, &seq);
    snprintf(out, ENTRY_ID_MAX, "%llu-%llu", ms, seq + 1);
}

static void read_batch(struct restore *r);

static void on_batch(redis_link *l, const void *reply, void *ud) {
    struct restore *r = ud;
    const redisReply *rep = reply;
    if (!r->a || !rep || rep->type != REDIS_REPLY_ARRAY) {
        /* Redis went away mid-replay: a partial replay would be a gap. */
        restore_finish(r, 0);
        return;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= ENTRY_ID_MAX ||
            e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        replay_entry(r, e);
        snprintf(r->offset, ENTRY_ID_MAX, "%s", e->element[0]->str);
    }
    if (rep->elements < RESTORE_BATCH_N || ++r->calls >= RESTORE_MAX_CALLS)
        restore_finish(r, 1);
    else
        read_batch(r); /* one batch per reply: the loop runs in between */
}

static void read_batch(struct restore *r) {
    char from[ENTRY_ID_MAX];
    next_id(r->offset, from);
    const char *argv[6] = {"XRANGE", r->a->key, from, "+", "COUNT", RESTORE_BATCH};
    if (redis_link_command(r->a->st->pub, on_batch, r, 6, argv, NULL) != SIO_OK)
        restore_finish(r, 0);
}

static void first_round_done(struct restore *r) {
    if (--r->replies > 0) return;
    if (!r->a || r->failed || !r->exists || !cJSON_IsObject(r->record)) {
        restore_finish(r, 0);
        return;
    }
    r->missed = cJSON_CreateArray();
    if (!r->missed) {
        restore_finish(r, 0);
        return;
    }
    read_batch(r);
}

/* EXEC of MULTI GET DEL: [record or nil, deleted count]. */
static void on_exec(redis_link *l, const void *reply, void *ud) {
    struct restore *r = ud;
    const redisReply *rep = reply;
    const redisReply *got =
        rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 ? rep->element[0] : NULL;
    if (got && got->type == REDIS_REPLY_STRING) {
        uint8_t *raw = malloc(got->len / 4 * 3 + 3);
        size_t n = 0;
        if (raw && b64_decode(got->str, got->len, raw, &n, 0) == 0 &&
            cluster_decode_one(raw, n, &r->record) != SIO_OK)
            r->record = NULL;
        free(raw);
    }
    if (!rep) r->failed = 1;
    first_round_done(r);
}

static void on_exists(redis_link *l, const void *reply, void *ud) {
    struct restore *r = ud;
    const redisReply *rep = reply;
    r->exists = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0;
    if (!rep) r->failed = 1;
    first_round_done(r);
}

static void restore_start(struct restore *r) {
    struct sio_streams *st = r->a->st;
    char *key = session_key(st, r->pid);
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    const char *get[2] = {"GET", key}, *del[2] = {"DEL", key};
    const char *xr[4] = {"XRANGE", r->a->key, r->offset, r->offset};
    st->restoring++;
    r->started = 1;
    r->replies = 2;
    /* Issued back to back from the loop: nothing else gets between MULTI
     * and EXEC on the link. */
    if (!key || redis_link_command(st->pub, ignore_reply, NULL, 1, multi, NULL) != SIO_OK) {
        free(key);
        r->replies = 0;
        restore_finish(r, 0);
        return;
    }
    redis_link_command(st->pub, ignore_reply, NULL, 2, get, NULL);
    redis_link_command(st->pub, ignore_reply, NULL, 2, del, NULL);
    if (redis_link_command(st->pub, on_exec, r, 1, exec, NULL) != SIO_OK)
        r->replies--, r->failed = 1;
    if (redis_link_command(st->pub, on_exists, r, 4, xr, NULL) != SIO_OK)
        r->replies--, r->failed = 1;
    free(key);
    if (r->replies == 0) {
        r->replies = 1;
        first_round_done(r);
    }
}

static void restore_next(struct sio_streams *st) {
    /* Not reentrant: a start that fails at once finishes inside, which
     * would call here again (deeply, in a storm while Redis is away). */
    if (st->starting) return;
    st->starting = 1;
    while (st->waiting && st->restoring < RESTORES_AT_ONCE) {
        struct restore *r = st->waiting;
        st->waiting = r->q_next;
        if (!st->waiting) st->waiting_tail = NULL;
        if (!r->a) {
            restore_free(r);
            continue;
        }
        restore_start(r);
    }
    st->starting = 0;
}

static int valid_offset(const char *o) {
    size_t d1 = strspn(o, "0123456789");
    if (!d1 || o[d1] != '-') return 0;
    size_t d2 = strspn(o + d1 + 1, "0123456789");
    return d2 && !o[d1 + 1 + d2] && d1 + 1 + d2 < ENTRY_ID_MAX;
}

int streams_restore_session(sio_adapter *b, const char *pid, const char *offset, sio_restore_cb cb,
                            void *ud) {
    streams_adapter *a = (streams_adapter *)b;
    struct sio_streams *st = a->st;
    if (!valid_offset(offset) || !redis_link_is_up(st->pub)) {
        cb(a->in.base.nsp, NULL, NULL, ud);
        return SIO_OK;
    }
    struct restore *r = calloc(1, sizeof *r);
    if (!r || !(r->pid = strdup(pid))) {
        free(r);
        return SIO_ENOMEM;
    }
    r->a = a;
    r->cb = cb;
    r->ud = ud;
    snprintf(r->offset, ENTRY_ID_MAX, "%s", offset);
    r->next = a->restores;
    a->restores = r;
    if (st->waiting_tail)
        st->waiting_tail->q_next = r;
    else
        st->waiting = r;
    st->waiting_tail = r;
    restore_next(st);
    return SIO_OK;
}

/* ---------- life ---------- */

void streams_sessions_open(struct sio_streams *st) {
    if (st->window_ms && st->live_sessions)
        sio_timer_start(st->loop, &st->refresh, st->window_ms / 2 ? st->window_ms / 2 : 1,
                        refresh_live);
}

void streams_sessions_close(struct sio_streams *st) {
    sio_timer_stop(st->loop, &st->refresh);
    while (st->waiting) {
        struct restore *r = st->waiting;
        st->waiting = r->q_next;
        restore_free(r); /* every adapter went first: already answered */
    }
    st->waiting_tail = NULL;
}

void streams_sessions_free(streams_adapter *a) {
    sio_timer_stop(a->st->loop, &a->flush);
    /* Answer the restores now; those reading Redis are freed by their
     * replies (r->a NULL), those still waiting when their turn comes. */
    while (a->restores) {
        struct restore *r = a->restores;
        a->restores = r->next;
        sio_namespace *nsp = a->in.base.nsp;
        r->a = NULL;
        if (r->started) a->st->restoring--;
        r->cb(nsp, NULL, NULL, r->ud);
        r->cb = NULL;
    }
    size_t pos = 0;
    smap_slot *sl;
    while ((sl = smap_next(&a->live, &pos)))
        live_rec_free(sl->val);
    smap_free(&a->live);
}
