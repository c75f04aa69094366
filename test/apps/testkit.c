/* --app testkit: an app made for the integration tests, the same as
 * test/reference/sio-testkit.mjs runs on the Node.js reference. It uses only
 * the public API (include/sio/sio.h).
 *
 * Namespaces: "/" (with two connect middlewares), "/admin", and dynamic ones
 * matching "/dyn-*" (removed when emptied with --cleanup-empty-namespaces).
 * Middlewares of "/": when the CONNECT auth has a
 * "refuse" string, refuse with that message and data {"reason":"by-test"};
 * when it has "slow", answer asynchronously (SIO_MW_PENDING, accepted from a
 * timer: 1 ms, or "slow" ms when it is a positive number, at most 10 s).
 *
 * Events, in every namespace (commands that are not answered otherwise ack
 * ["ok"] when the client asks for an ack, after doing their work):
 *   echo ...args           ack with the same arguments, or emit "echo" back
 *   join ROOM / leave ROOM join or leave a room
 *   to ROOMS EVENT ...args ROOMS a string or an array of strings: emit EVENT
 *                          with args to those rooms (sender included when in one)
 *   except ROOM ...args    emit "msg" to every socket not in ROOM
 *   broadcast ...args      emit "msg" to every socket but the sender
 *   all ...args            emit "msg" to every socket, sender included
 *   volatile ...args       volatile emit of "volatile" with args to the sender
 *   ask MS ...args         emit "question" with args and an ack (timeout MS,
 *                          0 none); the answer or the timeout emits "answer"
 *                          {"status":"ok"|"timeout","args":[...]}
 *   disconnect-me CLOSE    sio_disconnect (CLOSE true: the whole connection)
 *   rooms                  ack with the socket's rooms (its id first)
 *   volatile-to ROOMS EVENT ...args   volatile broadcast of EVENT to ROOMS
 *   ask-to ROOMS EVENT ...args        broadcast of EVENT with acks (2 s, dropped)
 *   set-data VALUE / data  the socket's JSON data (Node's socket.data): set / ack it
 *   recovered              ack with whether the socket was recovered
 *   fetch                  ack with fetchSockets: [{id, rooms, data}]
 *   handshake              ack with {auth, query, header (x-test), address}
 *   reasons                ack with the last 50 disconnect reasons seen in the
 *                          namespace, oldest first, each {id, reason}
 *   flood {room, count, size, batch, interval, event, volatile}
 *                          emit EVENT (default "flood") with [seq, "xxx..." of
 *                          SIZE bytes] to ROOM COUNT times (seq 0..COUNT-1),
 *                          BATCH packets (default 1) every INTERVAL ms (default
 *                          1; 0: all at once), volatile when VOLATILE is true;
 *                          then emit "flood-done" [{count}] to ROOM. Acks
 *                          ["ok"] once started.
 *   stream {count, size}   emit "chunk" [seq, "xxx..." of SIZE bytes] COUNT
 *                          times to the sender as a well-behaved producer:
 *                          pause while sio_socket_writable is false and resume
 *                          from the drain callback; then "stream-done"
 *                          [{count, pauses}]. Acks ["ok"] once started.
 *   buffered               ack with {buffered, writable} of the sender
 *   namespaces             ack with the names of the namespaces that exist
 *                          (any order; emptied dynamic ones go with
 *                          --cleanup-empty-namespaces)
 * Each disconnect is also printed on stdout:
 *   "testkit: disconnect NSP ID REASON".
 *
 * Handshakes: sio_options.allow_request refuses one whose query has "deny",
 * with the value as the message (empty: none given). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/handlers.h"
#include "sio/adapter.h" /* sio_nsp_find_socket */
#include "sio/sio.h"

#define REASONS_KEPT 50
#define MAX_ROOMS    64

struct reason {
    char id[64];
    char reason[48];
};

struct nsp_state {
    struct testkit *tk;
    sio_namespace *nsp;
    struct nsp_state *next;
    struct reason ring[REASONS_KEPT];
    size_t head, count; /* ring[head] is the oldest once full */
};

/* A connect waiting for the asynchronous middleware. */
struct slow {
    sio_timer timer; /* first: the timer callback recovers the struct */
    sio_socket *s;
    struct testkit *tk;
    struct slow *prev, *next;
};

struct flood;

struct testkit {
    sio_server *srv;
    sio_loop *loop;
    struct nsp_state *nsps;
    struct slow *slow;
    struct flood *floods;
    int failed; /* out of memory while creating a namespace's state */
};

/* ---------- helpers ---------- */

/* Ack with one value (taken). */
static void ack_one(sio_socket *s, int64_t ack, cJSON *v) {
    cJSON *a = cJSON_CreateArray();
    if (a && v) {
        cJSON_AddItemToArray(a, v);
        v = NULL;
        if (ack >= 0) sio_ack(s, ack, a);
    }
    cJSON_Delete(v);
    cJSON_Delete(a);
}

/* Drop the first argument (the command's own parameter), freeing it. */
static void drop_first(cJSON *args) {
    cJSON_Delete(cJSON_DetachItemFromArray(args, 0));
}

/* ---------- middlewares ---------- */

static const cJSON *auth_field(const cJSON *auth, const char *name) {
    return cJSON_IsObject(auth) ? cJSON_GetObjectItemCaseSensitive(auth, name) : NULL;
}

static int mw_refuse(sio_socket *s, const cJSON *auth, void *ud) {
    const cJSON *r = auth_field(auth, "refuse");
    if (!cJSON_IsString(r)) return SIO_MW_NEXT;
    cJSON *data = cJSON_CreateObject();
    if (data) cJSON_AddStringToObject(data, "reason", "by-test");
    sio_refuse(s, r->valuestring, data);
    cJSON_Delete(data);
    return SIO_MW_REFUSE;
}

static void slow_unlink(struct slow *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        w->tk->slow = w->next;
    if (w->next) w->next->prev = w->prev;
}

/* Caveat: the public API does not tell an application that a socket whose
 * middleware is pending went away (its client left meanwhile), so `s` may be
 * gone here. test/integration/sio_raw.test.mjs ("clients leaving while an
 * asynchronous middleware is pending") exercises that case. */
static void slow_fire(sio_loop *loop, sio_timer *t) {
    struct slow *w = (struct slow *)t;
    sio_socket *s = w->s;
    slow_unlink(w);
    free(w);
    sio_middleware_done(s, SIO_MW_NEXT);
}

static int mw_slow(sio_socket *s, const cJSON *auth, void *ud) {
    struct testkit *tk = ud;
    const cJSON *v = auth_field(auth, "slow");
    if (!v || cJSON_IsFalse(v) || cJSON_IsNull(v)) return SIO_MW_NEXT;
    struct slow *w = calloc(1, sizeof *w);
    if (!w) {
        sio_refuse(s, "server error", NULL);
        return SIO_MW_REFUSE;
    }
    w->s = s;
    w->tk = tk;
    w->next = tk->slow;
    if (w->next) w->next->prev = w;
    tk->slow = w;
    uint64_t delay = 1;
    if (cJSON_IsNumber(v) && v->valuedouble >= 1)
        delay = v->valuedouble > 10000 ? 10000 : (uint64_t)v->valuedouble;
    if (sio_timer_start(tk->loop, &w->timer, delay, slow_fire)) {
        slow_unlink(w);
        free(w);
        sio_refuse(s, "server error", NULL);
        return SIO_MW_REFUSE;
    }
    return SIO_MW_PENDING;
}

/* ---------- events ---------- */

static void on_echo(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    if (ack >= 0)
        sio_ack(s, ack, args);
    else
        sio_emit(s, "echo", args);
}

/* The rooms of args[0] (a name or a list) into list (NULL-terminated). */
static size_t room_list(const cJSON *rooms, const char **list) {
    size_t n = 0;
    if (cJSON_IsString(rooms)) {
        list[n++] = rooms->valuestring;
    } else if (cJSON_IsArray(rooms)) {
        const cJSON *r;
        cJSON_ArrayForEach(r, rooms) {
            if (cJSON_IsString(r) && n < MAX_ROOMS) list[n++] = r->valuestring;
        }
    }
    list[n] = NULL;
    return n;
}

static void on_to(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *rooms = cJSON_DetachItemFromArray(args, 0);
    cJSON *name = cJSON_DetachItemFromArray(args, 0);
    const char *list[MAX_ROOMS + 1];
    size_t n = room_list(rooms, list);
    if (n && cJSON_IsString(name)) {
        sio_target t = {list, NULL, 0, 0};
        sio_broadcast(sio_socket_nsp(s), &t, name->valuestring, args);
    }
    cJSON_Delete(rooms);
    cJSON_Delete(name);
    app_ack_ok(s, ack);
}

static void on_volatile(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_emit_volatile(s, "volatile", args);
    app_ack_ok(s, ack);
}

static void on_answer(sio_socket *s, int status, cJSON *args, void *ud) {
    if (status != SIO_OK && status != SIO_ETIMEDOUT) return; /* socket gone */
    cJSON *out = cJSON_CreateArray();
    cJSON *obj = cJSON_CreateObject();
    if (!out || !obj) goto done;
    cJSON_AddItemToArray(out, obj);
    cJSON_AddStringToObject(obj, "status", status == SIO_OK ? "ok" : "timeout");
    if (args) {
        /* Lend the library's array (it may hold binary nodes, which must not
         * be duplicated) and take it back after the emit. */
        cJSON_AddItemToObject(obj, "args", args);
        sio_emit(s, "answer", out);
        cJSON_DetachItemViaPointer(obj, args);
    } else {
        cJSON_AddItemToObject(obj, "args", cJSON_CreateArray());
        sio_emit(s, "answer", out);
    }
    obj = NULL;
done:
    cJSON_Delete(obj);
    cJSON_Delete(out);
}

static void on_ask(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *ms = cJSON_GetArrayItem(args, 0);
    double timeout = cJSON_IsNumber(ms) && ms->valuedouble > 0 ? ms->valuedouble : 0;
    if (timeout > 3600000) timeout = 3600000;
    drop_first(args);
    sio_emit_with_ack(s, "question", args, (uint32_t)timeout, on_answer, NULL);
    app_ack_ok(s, ack);
}

/* "volatile-to" [rooms, event, ...payload] (a volatile broadcast) and
 * "ask-to" [rooms, event, ...payload] (a broadcast with acks, answers
 * dropped): recovery never replays either. */
static void drop_answers(sio_namespace *n, int status, cJSON *responses, void *ud) {}

static void on_special_to(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *rooms = cJSON_DetachItemFromArray(args, 0);
    cJSON *name = cJSON_DetachItemFromArray(args, 0);
    const char *list[MAX_ROOMS + 1];
    if (room_list(rooms, list) && cJSON_IsString(name)) {
        sio_target t = {list, NULL, strcmp(ev, "volatile-to") == 0, 0};
        if (t.is_volatile)
            sio_broadcast(sio_socket_nsp(s), &t, name->valuestring, args);
        else
            sio_broadcast_with_ack(sio_socket_nsp(s), &t, name->valuestring, args, 2000,
                                   drop_answers, NULL);
    }
    cJSON_Delete(rooms);
    cJSON_Delete(name);
    app_ack_ok(s, ack);
}

/* "set-data" [value]: the socket's JSON data (Node's socket.data); "data"
 * answers it, "recovered" answers sio_socket_recovered. */
static void on_set_data(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_socket_set_json_data(s, cJSON_DetachItemFromArray(args, 0));
    app_ack_ok(s, ack);
}

static void on_data(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    const cJSON *d = sio_socket_json_data(s);
    ack_one(s, ack, d ? sio_json_duplicate(d) : cJSON_CreateObject());
}

static void on_recovered(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    ack_one(s, ack, cJSON_CreateBool(sio_socket_recovered(s)));
}

/* "fetch": ack with fetchSockets of the namespace, as [{id, rooms, data}]. */
struct fetch_req {
    char id[32];
    int64_t ack;
};

static void on_fetched(sio_namespace *n, int status, cJSON *sockets, void *ud) {
    struct fetch_req *q = ud;
    sio_socket *s = sio_nsp_find_socket(n, q->id);
    cJSON *out = cJSON_CreateArray();
    const cJSON *x;
    cJSON_ArrayForEach(x, sockets) {
        cJSON *o = cJSON_CreateObject();
        const char *keys[] = {"id", "rooms", "data"};
        for (size_t i = 0; o && i < 3; i++)
            cJSON_AddItemToObject(o, keys[i],
                                  sio_json_duplicate(cJSON_GetObjectItemCaseSensitive(x, keys[i])));
        cJSON_AddItemToArray(out, o);
    }
    if (s)
        ack_one(s, q->ack, out);
    else
        cJSON_Delete(out);
    free(q);
}

static void on_fetch(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    struct fetch_req *q = calloc(1, sizeof *q);
    if (!q) return;
    snprintf(q->id, sizeof q->id, "%s", sio_socket_id(s));
    q->ack = ack;
    if (sio_fetch_sockets(sio_socket_nsp(s), NULL, on_fetched, q)) free(q);
}

static void on_disconnect_me(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_disconnect(s, cJSON_IsTrue(cJSON_GetArrayItem(args, 0)));
}

static void add_room(const char *room, void *ud) {
    cJSON_AddItemToArray(ud, cJSON_CreateString(room));
}

static void on_rooms(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *list = cJSON_CreateArray();
    if (list) sio_socket_rooms(s, add_room, list);
    ack_one(s, ack, list);
}

static void add_query(const char *k, const char *v, void *ud) {
    cJSON_AddStringToObject(ud, k, v);
}

static void on_handshake(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return;
    const cJSON *auth = sio_socket_auth(s);
    cJSON_AddItemToObject(o, "auth", auth ? cJSON_Duplicate(auth, 1) : cJSON_CreateObject());
    cJSON *q = cJSON_AddObjectToObject(o, "query");
    eio_session *es = sio_socket_session(s);
    if (q && es) eio_session_each_query(es, add_query, q);
    const char *h = sio_socket_header(s, "x-test");
    cJSON_AddItemToObject(o, "header", h ? cJSON_CreateString(h) : cJSON_CreateNull());
    const char *addr = sio_socket_address(s);
    cJSON_AddStringToObject(o, "address", addr ? addr : "");
    ack_one(s, ack, o);
}

static void on_reasons(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    struct nsp_state *ns = ud;
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < ns->count; i++) {
        const struct reason *r = &ns->ring[(ns->head + i) % REASONS_KEPT];
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "reason", r->reason);
        cJSON_AddItemToArray(list, o);
    }
    ack_one(s, ack, list);
}

/* The namespaces this app has state for: every one created and not removed. */
static void on_namespaces(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    struct nsp_state *ns = ud;
    cJSON *list = cJSON_CreateArray();
    for (struct nsp_state *x = ns->tk->nsps; list && x; x = x->next)
        cJSON_AddItemToArray(list, cJSON_CreateString(sio_nsp_name(x->nsp)));
    ack_one(s, ack, list);
}

static void stream_free(sio_socket *s);

static void on_disconnect(sio_socket *s, const char *reason, void *ud) {
    struct nsp_state *ns = ud;
    struct reason *r;
    if (ns->count < REASONS_KEPT) {
        r = &ns->ring[(ns->head + ns->count++) % REASONS_KEPT];
    } else {
        r = &ns->ring[ns->head];
        ns->head = (ns->head + 1) % REASONS_KEPT;
    }
    snprintf(r->id, sizeof r->id, "%s", sio_socket_id(s));
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    stream_free(s);
    printf("testkit: disconnect %s %s %s\n", sio_nsp_name(sio_socket_nsp(s)), r->id, reason);
    fflush(stdout);
}

/* ---------- flood, stream, buffered (reliability tests) ---------- */

#define FLOOD_MAX_SIZE  (1 << 20)
#define FLOOD_MAX_COUNT 10000000

/* A paced broadcast to one room; it belongs to the namespace, not to the
 * socket that asked for it, so it outlives its sender. */
struct flood {
    sio_timer timer; /* first: the timer callback recovers the struct */
    struct testkit *tk;
    sio_namespace *nsp;
    struct flood *prev, *next;
    char *room;
    char *event;
    cJSON *args; /* [seq, payload], reused for every packet */
    uint64_t count, sent, batch, interval;
    int is_volatile;
};

static void flood_unlink(struct flood *f) {
    if (f->prev)
        f->prev->next = f->next;
    else
        f->tk->floods = f->next;
    if (f->next) f->next->prev = f->prev;
}

static void flood_free(struct flood *f) {
    cJSON_Delete(f->args);
    free(f->room);
    free(f->event);
    free(f);
}

static void flood_stop_all(struct testkit *tk) {
    while (tk->floods) {
        struct flood *f = tk->floods;
        sio_timer_stop(tk->loop, &f->timer);
        flood_unlink(f);
        flood_free(f);
    }
}

static char *payload_of(size_t size) {
    char *p = malloc(size + 1);
    if (!p) return NULL;
    memset(p, 'x', size);
    p[size] = 0;
    return p;
}

/* Emit up to one batch; returns 1 when the flood is over. */
static int flood_step(struct flood *f) {
    const char *rooms[] = {f->room, NULL};
    sio_target t = {rooms, NULL, f->is_volatile, 0};
    cJSON *seq = cJSON_GetArrayItem(f->args, 0);
    for (uint64_t i = 0; i < f->batch && f->sent < f->count; i++, f->sent++) {
        cJSON_SetNumberValue(seq, (double)f->sent);
        sio_broadcast(f->nsp, &t, f->event, f->args);
    }
    if (f->sent < f->count) return 0;
    cJSON *done = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    if (done && o) {
        cJSON_AddNumberToObject(o, "count", (double)f->count);
        cJSON_AddItemToArray(done, o);
        o = NULL;
        sio_target all = {rooms, NULL, 0, 0};
        sio_broadcast(f->nsp, &all, "flood-done", done);
    }
    cJSON_Delete(o);
    cJSON_Delete(done);
    return 1;
}

static void flood_fire(sio_loop *loop, sio_timer *t) {
    struct flood *f = (struct flood *)t;
    if (flood_step(f) || sio_timer_start(loop, &f->timer, f->interval, flood_fire)) {
        flood_unlink(f);
        flood_free(f);
    }
}

static uint64_t num_field(const cJSON *o, const char *name, uint64_t dflt, uint64_t max) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0) return dflt;
    return v->valuedouble > (double)max ? max : (uint64_t)v->valuedouble;
}

static void on_flood(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    struct nsp_state *ns = ud;
    struct testkit *tk = ns->tk;
    const cJSON *o = cJSON_GetArrayItem(args, 0);
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(o, "room");
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(o, "event");
    if (!cJSON_IsObject(o) || !cJSON_IsString(room)) {
        ack_one(s, ack, cJSON_CreateString("bad arguments"));
        return;
    }
    struct flood *f = calloc(1, sizeof *f);
    char *payload = NULL;
    if (!f) goto oom;
    f->tk = tk;
    f->nsp = sio_socket_nsp(s);
    f->count = num_field(o, "count", 1, FLOOD_MAX_COUNT);
    f->batch = num_field(o, "batch", 1, FLOOD_MAX_COUNT);
    f->interval = num_field(o, "interval", 1, 60000);
    f->is_volatile = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "volatile"));
    if (f->batch == 0) f->batch = 1;
    if (f->interval == 0) f->batch = f->count;
    f->room = strdup(room->valuestring);
    f->event = strdup(cJSON_IsString(event) ? event->valuestring : "flood");
    payload = payload_of(num_field(o, "size", 0, FLOOD_MAX_SIZE));
    f->args = cJSON_CreateArray();
    if (!f->room || !f->event || !payload || !f->args) goto oom;
    cJSON_AddItemToArray(f->args, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(f->args, cJSON_CreateString(payload));
    free(payload);
    payload = NULL;
    if (cJSON_GetArraySize(f->args) != 2) goto oom;
    f->next = tk->floods;
    if (f->next) f->next->prev = f;
    tk->floods = f;
    app_ack_ok(s, ack);
    /* The first batch goes now; the rest from the timer. */
    flood_fire(tk->loop, &f->timer);
    return;
oom:
    free(payload);
    if (f) flood_free(f);
    ack_one(s, ack, cJSON_CreateString("out of memory"));
}

/* A producer that respects backpressure, one per socket (its data). */
struct stream {
    cJSON *args; /* [seq, payload] */
    uint64_t count, sent, pauses;
    int waiting; /* paused until the drain callback */
};

static void stream_free(sio_socket *s) {
    struct stream *st = sio_socket_data(s);
    if (!st) return;
    sio_socket_set_data(s, NULL);
    cJSON_Delete(st->args);
    free(st);
}

static void stream_pump(sio_socket *s) {
    struct stream *st = sio_socket_data(s);
    if (!st) return;
    st->waiting = 0;
    cJSON *seq = cJSON_GetArrayItem(st->args, 0);
    while (st->sent < st->count) {
        if (!sio_socket_writable(s)) {
            st->waiting = 1;
            st->pauses++;
            return;
        }
        cJSON_SetNumberValue(seq, (double)st->sent);
        if (sio_emit(s, "chunk", st->args) != SIO_OK) return;
        st->sent++;
    }
    cJSON *done = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    if (done && o) {
        cJSON_AddNumberToObject(o, "count", (double)st->count);
        cJSON_AddNumberToObject(o, "pauses", (double)st->pauses);
        cJSON_AddItemToArray(done, o);
        o = NULL;
        sio_emit(s, "stream-done", done);
    }
    cJSON_Delete(o);
    cJSON_Delete(done);
    stream_free(s);
}

static void on_stream(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    const cJSON *o = cJSON_GetArrayItem(args, 0);
    if (!cJSON_IsObject(o) || sio_socket_data(s)) {
        ack_one(s, ack, cJSON_CreateString(sio_socket_data(s) ? "busy" : "bad arguments"));
        return;
    }
    struct stream *st = calloc(1, sizeof *st);
    char *payload = payload_of(num_field(o, "size", 0, FLOOD_MAX_SIZE));
    if (st) st->args = cJSON_CreateArray();
    if (!st || !payload || !st->args) {
        free(payload);
        if (st) cJSON_Delete(st->args);
        free(st);
        ack_one(s, ack, cJSON_CreateString("out of memory"));
        return;
    }
    st->count = num_field(o, "count", 1, FLOOD_MAX_COUNT);
    cJSON_AddItemToArray(st->args, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(st->args, cJSON_CreateString(payload));
    free(payload);
    sio_socket_set_data(s, st);
    app_ack_ok(s, ack);
    stream_pump(s);
}

static void on_stream_drain(sio_socket *s, void *ud) {
    struct stream *st = sio_socket_data(s);
    if (st && st->waiting) stream_pump(s);
}

static void on_buffered(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddNumberToObject(o, "buffered", (double)sio_socket_buffered(s));
        cJSON_AddBoolToObject(o, "writable", sio_socket_writable(s));
    }
    ack_one(s, ack, o);
}

/* ---------- setup ---------- */

static void setup(struct testkit *tk, sio_namespace *n) {
    struct nsp_state *ns = calloc(1, sizeof *ns);
    if (!ns) {
        tk->failed = 1;
        return;
    }
    ns->tk = tk;
    ns->nsp = n;
    ns->next = tk->nsps;
    tk->nsps = ns;
    static const struct {
        const char *name;
        sio_event_cb cb;
    } events[] = {
        {"echo", on_echo},
        {"join", app_on_room},
        {"leave", app_on_room},
        {"to", on_to},
        {"except", app_on_except},
        {"broadcast", app_on_broadcast},
        {"all", app_on_all},
        {"volatile", on_volatile},
        {"ask", on_ask},
        {"disconnect-me", on_disconnect_me},
        {"rooms", on_rooms},
        {"handshake", on_handshake},
        {"reasons", on_reasons},
        {"flood", on_flood},
        {"stream", on_stream},
        {"buffered", on_buffered},
        {"namespaces", on_namespaces},
        {"volatile-to", on_special_to},
        {"ask-to", on_special_to},
        {"set-data", on_set_data},
        {"data", on_data},
        {"recovered", on_recovered},
        {"fetch", on_fetch},
    };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (sio_on(n, events[i].name, events[i].cb, ns)) tk->failed = 1;
    sio_on_disconnect(n, on_disconnect, ns);
    sio_on_drain(n, on_stream_drain, ns);
}

static void on_created(sio_namespace *n, void *ud) {
    setup(ud, n);
}

/* An emptied dynamic namespace goes (--cleanup-empty-namespaces): its state
 * and floods go with it; a later connect gets fresh ones. */
static void on_removed(sio_namespace *n, void *ud) {
    struct testkit *tk = ud;
    for (struct nsp_state **pp = &tk->nsps; *pp; pp = &(*pp)->next) {
        if ((*pp)->nsp == n) {
            struct nsp_state *ns = *pp;
            *pp = ns->next;
            free(ns);
            break;
        }
    }
    for (struct flood *f = tk->floods, *next; f; f = next) {
        next = f->next;
        if (f->nsp != n) continue;
        sio_timer_stop(tk->loop, &f->timer);
        flood_unlink(f);
        flood_free(f);
    }
}

static void stop(void *app);

static int allow_request(eio_request *req, const char **message, void *ud) {
    const char *deny = eio_request_query(req, "deny");
    if (!deny) return 1;
    *message = deny;
    return 0;
}

static void *start(const app_env *env, int *err) {
    struct testkit *tk = calloc(1, sizeof *tk);
    if (!tk) {
        *err = SIO_ENOMEM;
        return NULL;
    }
    tk->loop = env->loop;
    sio_options so = *env->sio;
    so.allow_request = allow_request;
    tk->srv = sio_server_new(env->loop, env->http, env->eio, &so, err);
    if (!tk->srv) {
        free(tk);
        return NULL;
    }
    /* "/" exists already; every later namespace goes through on_created. */
    sio_namespace *root = sio_of(tk->srv, "/");
    setup(tk, root);
    sio_on_namespace(tk->srv, on_created, tk);
    sio_on_namespace_removed(tk->srv, on_removed, tk);
    int r = sio_use(root, mw_refuse, tk);
    if (!r) r = sio_use(root, mw_slow, tk);
    if (!r && !sio_of(tk->srv, "/admin")) r = SIO_ENOMEM;
    if (!r) r = sio_add_dynamic_pattern(tk->srv, "/dyn-*");
    if (!r && tk->failed) r = SIO_ENOMEM;
    if (r) {
        *err = r;
        stop(tk);
        return NULL;
    }
    return tk;
}

static void shutdown_app(void *app) {
    struct testkit *tk = app;
    flood_stop_all(tk);
    sio_server_shutdown(tk->srv);
}

static size_t sessions(void *app) {
    struct testkit *tk = app;
    return eio_server_sessions(sio_server_eio(tk->srv));
}

static void stop(void *app) {
    struct testkit *tk = app;
    while (tk->slow) {
        struct slow *w = tk->slow;
        sio_timer_stop(tk->loop, &w->timer);
        slow_unlink(w);
        free(w);
    }
    flood_stop_all(tk);
    sio_server_free(tk->srv);
    while (tk->nsps) {
        struct nsp_state *ns = tk->nsps;
        tk->nsps = ns->next;
        free(ns);
    }
    free(tk);
}

const app_def app_testkit = {
    "testkit", "integration-test app (test/apps/testkit.c)", start, shutdown_app, sessions, stop,
    0};
