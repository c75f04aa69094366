/* sio_admin_instrument: the admin namespace of @socket.io/admin-ui 0.5
 * (lib/index.ts of the reference), on the public API only: the server's
 * observer (sio_server_observe) for what happens to sockets, the cluster-wide
 * operations of sio.h for the UI's actions and all_sockets, and the Engine.IO
 * counters for the per-second figures. */
#include "sio/admin.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/auth.h"
#include "admin/stats.h"
#include "sio/adapter.h"
#include "sio/json.h"
#include "sio/loop.h"
#include "sio/status.h"

#define QUEUE_MAX 8192 /* admin events waiting for the end of the iteration; beyond, dropped */
#define TICK_MS   1000 /* the per-second figures' sampling */

/* An admin event waiting for the end of the loop iteration: hooks run in the
 * middle of the core's work (a broadcast's delivery may disconnect a
 * socket), so what they report is broadcast from the loop's before-sleep
 * hook, in order, never from inside them. */
struct queued {
    struct queued *next;
    const char *event; /* static */
    cJSON *args;       /* owned */
};

/* An all_sockets being gathered from every namespace (cluster requests). */
struct gather {
    sio_admin *a; /* NULL once the admin is freed */
    char sid[32]; /* the admin socket it is for (found again by id: it may leave) */
    size_t pending;
    cJSON *sockets;
    struct gather *next;
};

struct sio_admin {
    sio_server *srv;
    sio_loop *loop;
    sio_namespace *nsp;
    admin_auth *auth; /* NULL: no authentication */
    int dev, readonly, clustered;
    char *server_id;
    char hostname[256];
    uint32_t stats_every; /* ticks between server_stats */
    uint32_t ticks;
    uint64_t started_ms;
    admin_stats stats;
    sio_timer tick;
    struct queued *q_head, *q_tail;
    size_t q_len;
    uint64_t dropped;
    struct gather *gathers;
};

static const char *const FEATURES_ACTIONS[] = {"EMIT",  "JOIN",   "LEAVE",       "DISCONNECT",
                                               "MJOIN", "MLEAVE", "MDISCONNECT", NULL};

void sio_admin_options_init(sio_admin_options *o) {
    memset(o, 0, sizeof *o);
    o->nsp = "/admin";
    o->mode = SIO_ADMIN_DEVELOPMENT;
    o->stats_interval_ms = 2000;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A JavaScript Date as JSON.stringify writes it. */
static cJSON *now_date(void) {
    int64_t ms = wall_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[40];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
    return cJSON_CreateString(buf);
}

/* Whether an admin event could reach anyone: an admin on this node, or,
 * with a cluster adapter, possibly on another. */
static int audience(const sio_admin *a) {
    return a->clustered || sio_nsp_size(a->nsp) > 0;
}

/* Queue an admin broadcast (args taken). */
static void tell(sio_admin *a, const char *event, cJSON *args) {
    struct queued *q = NULL;
    if (args && a->q_len < QUEUE_MAX) q = malloc(sizeof *q);
    if (!q) {
        a->dropped++;
        cJSON_Delete(args);
        return;
    }
    *q = (struct queued){NULL, event, args};
    if (a->q_tail)
        a->q_tail->next = q;
    else
        a->q_head = q;
    a->q_tail = q;
    a->q_len++;
}

static void flush(sio_loop *loop, void *ud) {
    sio_admin *a = ud;
    if (!a->q_head) return;
    struct queued *q = a->q_head;
    a->q_head = a->q_tail = NULL;
    a->q_len = 0;
    while (q) {
        struct queued *next = q->next;
        sio_broadcast(a->nsp, NULL, q->event, q->args);
        cJSON_Delete(q->args);
        free(q);
        q = next;
    }
    sio_loop_wake(loop); /* the transports' flush may have run already */
}

/* ---------- sockets as the UI sees them ---------- */

static const char *header_of(const cJSON *headers, const char *name) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(headers, name);
    return cJSON_IsString(h) && h->valuestring[0] ? h->valuestring : NULL;
}

static void copy_member(cJSON *to, const cJSON *from, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, name);
    if (v) cJSON_AddItemToObject(to, name, sio_json_duplicate(v));
}

/* A fetchSockets entry ({id, handshake, rooms, data}, from any node) as the
 * reference's serialize(): clientId and transport from data._admin (where
 * every instrumented node, C or Node.js, puts them), the address from
 * cf-connecting-ip, x-forwarded-for or the peer, no auth. */
static cJSON *serialize(const cJSON *in, const char *nsp) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    copy_member(o, in, "id");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(data, "_admin");
    copy_member(o, meta, "clientId");
    copy_member(o, meta, "transport");
    cJSON_AddStringToObject(o, "nsp", nsp);
    cJSON *d = cJSON_AddObjectToObject(o, "data");
    for (const cJSON *c = cJSON_IsObject(data) ? data->child : NULL; d && c; c = c->next)
        if (strcmp(c->string, "_admin") != 0)
            cJSON_AddItemToObject(d, c->string, sio_json_duplicate(c));
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(in, "handshake");
    cJSON *h = cJSON_AddObjectToObject(o, "handshake");
    if (h && hs) {
        const cJSON *headers = cJSON_GetObjectItemCaseSensitive(hs, "headers");
        const char *addr = header_of(headers, "cf-connecting-ip");
        if (!addr) addr = header_of(headers, "x-forwarded-for");
        if (addr)
            cJSON_AddStringToObject(h, "address", addr);
        else
            copy_member(h, hs, "address");
        static const char *const keep[] = {"headers", "query", "issued",  "secure",
                                           "time",    "url",   "xdomain", NULL};
        for (size_t i = 0; keep[i]; i++)
            copy_member(h, hs, keep[i]);
    }
    copy_member(o, in, "rooms");
    return o;
}

/* This node's socket, serialized (NULL when out of memory). */
static cJSON *serialize_local(sio_socket *s) {
    sio_namespace *n = sio_socket_nsp(s);
    const char *rooms[] = {sio_socket_id(s), NULL};
    sio_target t = {rooms, NULL, 0, 1};
    cJSON *arr = sio_local_fetch(n, &t);
    cJSON *o = serialize(cJSON_GetArrayItem(arr, 0), sio_nsp_name(n));
    cJSON_Delete(arr);
    return o;
}

/* [a, b, c, date] with the strings given (NULL ends them). */
static cJSON *strings_and_date(const char *x, const char *y, const char *z) {
    cJSON *args = cJSON_CreateArray();
    if (!args) return NULL;
    const char *v[] = {x, y, z};
    for (size_t i = 0; i < 3 && v[i]; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(v[i]));
    cJSON_AddItemToArray(args, now_date());
    return args;
}

/* ---------- the observer (development mode) ---------- */

static void on_connected(sio_socket *s, void *ud) {
    sio_admin *a = ud;
    if (!audience(a)) return;
    cJSON *args = cJSON_CreateArray();
    cJSON *o = serialize_local(s);
    if (args && o) {
        cJSON_AddItemToArray(args, o);
        cJSON_AddItemToArray(args, now_date());
        tell(a, "socket_connected", args);
        return;
    }
    cJSON_Delete(o);
    cJSON_Delete(args);
    a->dropped++;
}

static void on_disconnected(sio_socket *s, const char *reason, void *ud) {
    sio_admin *a = ud;
    if (!audience(a)) return;
    cJSON *args = cJSON_CreateArray();
    if (args) {
        cJSON_AddItemToArray(args, cJSON_CreateString(sio_nsp_name(sio_socket_nsp(s))));
        cJSON_AddItemToArray(args, cJSON_CreateString(sio_socket_id(s)));
        cJSON_AddItemToArray(args, cJSON_CreateString(reason));
        cJSON_AddItemToArray(args, now_date());
    }
    tell(a, "socket_disconnected", args);
}

static void on_room(sio_admin *a, sio_socket *s, const char *room, const char *event) {
    if (!audience(a)) return;
    tell(a, event, strings_and_date(sio_nsp_name(sio_socket_nsp(s)), room, sio_socket_id(s)));
}
static void on_joined(sio_socket *s, const char *room, void *ud) {
    on_room(ud, s, room, "room_joined");
}
static void on_left(sio_socket *s, const char *room, void *ud) {
    on_room(ud, s, room, "room_left");
}

/* event_received / event_sent (nsp, id, [event, ...args], date); not for
 * the admin namespace's own traffic, as the reference. */
static void on_event(sio_admin *a, sio_socket *s, const char *ev, const cJSON *in,
                     const char *what) {
    if (sio_socket_nsp(s) == a->nsp || !audience(a)) return;
    cJSON *args = cJSON_CreateArray();
    cJSON *list = cJSON_CreateArray();
    if (!args || !list) {
        cJSON_Delete(args);
        cJSON_Delete(list);
        a->dropped++;
        return;
    }
    cJSON_AddItemToArray(list, cJSON_CreateString(ev));
    for (const cJSON *c = in ? in->child : NULL; c; c = c->next)
        cJSON_AddItemToArray(list, sio_json_duplicate(c));
    cJSON_AddItemToArray(args, cJSON_CreateString(sio_nsp_name(sio_socket_nsp(s))));
    cJSON_AddItemToArray(args, cJSON_CreateString(sio_socket_id(s)));
    cJSON_AddItemToArray(args, list);
    cJSON_AddItemToArray(args, now_date());
    tell(a, what, args);
}
static void on_received(sio_socket *s, const char *ev, const cJSON *args, void *ud) {
    on_event(ud, s, ev, args, "event_received");
}
static void on_sent(sio_socket *s, const char *ev, const cJSON *args, void *ud) {
    on_event(ud, s, ev, args, "event_sent");
}

static void on_upgraded(sio_socket *s, void *ud) {
    sio_admin *a = ud;
    if (!audience(a)) return;
    cJSON *args = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "id", sio_socket_id(s));
        cJSON_AddStringToObject(o, "nsp", sio_nsp_name(sio_socket_nsp(s)));
        cJSON_AddStringToObject(o, "transport", "websocket");
    }
    if (args && o) {
        cJSON_AddItemToArray(args, o);
        tell(a, "socket_updated", args);
        return;
    }
    cJSON_Delete(o);
    cJSON_Delete(args);
    a->dropped++;
}

/* What the reference keeps in socket.data._admin, so that other nodes'
 * admins (fetchSockets) see the client and transport too. */
static void on_describe(const sio_socket *s, cJSON *data, void *ud) {
    eio_session *es = sio_socket_session(s);
    cJSON *m = es ? cJSON_AddObjectToObject(data, "_admin") : NULL;
    if (!m) return;
    char client[13];
    snprintf(client, sizeof client, "%s", eio_session_id(es));
    cJSON_AddStringToObject(m, "clientId", client);
    cJSON_AddStringToObject(m, "transport", eio_session_transport(es));
}

static void on_connection_closed(eio_session *es, const char *reason, void *ud) {
    sio_admin *a = ud;
    admin_stats_closed(&a->stats, wall_ms(), reason);
}

/* ---------- server_stats ---------- */

static cJSON *server_stats(sio_admin *a) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    eio_server *e = sio_server_eio(a->srv);
    eio_counters c;
    eio_server_counters(e, &c);
    cJSON_AddStringToObject(o, "serverId", a->server_id);
    cJSON_AddStringToObject(o, "hostname", a->hostname);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddNumberToObject(o, "uptime", (double)(sio_loop_now(a->loop) - a->started_ms) / 1000.0);
    cJSON_AddNumberToObject(o, "clientsCount", (double)eio_server_sessions(e));
    cJSON_AddNumberToObject(o, "pollingClientsCount", (double)c.polling);
    cJSON *ev = admin_stats_take(&a->stats);
    if (ev) cJSON_AddItemToObject(o, "aggregatedEvents", ev);
    cJSON *nsps = cJSON_AddArrayToObject(o, "namespaces");
    size_t pos = 0;
    sio_namespace *n;
    while (nsps && (n = sio_server_next_namespace(a->srv, &pos))) {
        cJSON *x = cJSON_CreateObject();
        if (!x) break;
        cJSON_AddStringToObject(x, "name", sio_nsp_name(n));
        cJSON_AddNumberToObject(x, "socketsCount", (double)sio_nsp_size(n));
        cJSON_AddItemToArray(nsps, x);
    }
    return o;
}

static void emit_stats(sio_admin *a) {
    if (!audience(a)) {
        cJSON_Delete(admin_stats_take(&a->stats)); /* nobody to see them */
        return;
    }
    cJSON *args = cJSON_CreateArray();
    cJSON *st = server_stats(a);
    if (args && st) {
        cJSON_AddItemToArray(args, st);
        tell(a, "server_stats", args);
        return;
    }
    cJSON_Delete(st);
    cJSON_Delete(args);
}

static void on_tick(sio_loop *loop, sio_timer *t) {
    sio_admin *a = (sio_admin *)((char *)t - offsetof(sio_admin, tick));
    eio_counters c;
    eio_server_counters(sio_server_eio(a->srv), &c);
    admin_stats_sample(&a->stats, wall_ms(), &c);
    if (++a->ticks >= a->stats_every) {
        a->ticks = 0;
        emit_stats(a);
    }
    sio_timer_start(loop, &a->tick, TICK_MS, on_tick);
}

/* ---------- the admin namespace ---------- */

static sio_namespace *find_nsp(sio_admin *a, const cJSON *name) {
    if (!cJSON_IsString(name)) return NULL;
    size_t pos = 0;
    sio_namespace *n;
    while ((n = sio_server_next_namespace(a->srv, &pos)))
        if (strcmp(sio_nsp_name(n), name->valuestring) == 0) return n;
    return NULL;
}

/* The UI's optional room filter: a string, else everyone. */
static const sio_target *filter_of(const cJSON *f, const char *rooms[2], sio_target *t) {
    if (!cJSON_IsString(f) || !f->valuestring[0]) return NULL; /* JS: if (filter) */
    rooms[0] = f->valuestring;
    rooms[1] = NULL;
    *t = (sio_target){rooms, NULL, 0, 0};
    return t;
}

/* emit(nsp, filter, event, ...args): a broadcast (cluster-wide). */
static void cmd_emit(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_admin *a = ud;
    cJSON *nsp = cJSON_DetachItemFromArray(args, 0);
    cJSON *filter = cJSON_DetachItemFromArray(args, 0);
    cJSON *event = cJSON_DetachItemFromArray(args, 0);
    sio_namespace *n = find_nsp(a, nsp);
    const char *rooms[2];
    sio_target t;
    if (n && cJSON_IsString(event))
        sio_broadcast(n, filter_of(filter, rooms, &t), event->valuestring, args);
    cJSON_Delete(nsp);
    cJSON_Delete(filter);
    cJSON_Delete(event);
}

/* join / leave (nsp, room, filter?): socketsJoin / socketsLeave. */
static void cmd_rooms(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_admin *a = ud;
    sio_namespace *n = find_nsp(a, cJSON_GetArrayItem(args, 0));
    const cJSON *room = cJSON_GetArrayItem(args, 1);
    if (!n || !cJSON_IsString(room)) return;
    const char *rooms[2], *target_room[] = {room->valuestring, NULL};
    sio_target t;
    const sio_target *tp = filter_of(cJSON_GetArrayItem(args, 2), rooms, &t);
    if (strcmp(ev, "join") == 0)
        sio_sockets_join(n, tp, target_room);
    else
        sio_sockets_leave(n, tp, target_room);
}

/* _disconnect(nsp, close, filter?): disconnectSockets. */
static void cmd_disconnect(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_admin *a = ud;
    sio_namespace *n = find_nsp(a, cJSON_GetArrayItem(args, 0));
    if (!n) return;
    const char *rooms[2];
    sio_target t;
    const sio_target *tp = filter_of(cJSON_GetArrayItem(args, 2), rooms, &t);
    sio_disconnect_sockets(n, tp, cJSON_IsTrue(cJSON_GetArrayItem(args, 1)));
}

static void gather_done(struct gather *g) {
    sio_admin *a = g->a;
    if (a) {
        for (struct gather **pp = &a->gathers; *pp; pp = &(*pp)->next)
            if (*pp == g) {
                *pp = g->next;
                break;
            }
        sio_socket *s = sio_nsp_find_socket(a->nsp, g->sid);
        cJSON *args = cJSON_CreateArray();
        if (s && args) {
            cJSON_AddItemToArray(args, g->sockets);
            g->sockets = NULL;
            sio_emit(s, "all_sockets", args);
        }
        cJSON_Delete(args);
    }
    cJSON_Delete(g->sockets);
    free(g);
}

static void gathered(sio_namespace *n, int status, cJSON *sockets, void *ud) {
    struct gather *g = ud;
    for (const cJSON *c = sockets ? sockets->child : NULL; g->sockets && c; c = c->next) {
        cJSON *o = serialize(c, sio_nsp_name(n));
        if (o) cJSON_AddItemToArray(g->sockets, o);
    }
    if (--g->pending == 0) gather_done(g);
}

/* all_sockets: fetchSockets of every namespace, on every node. */
static void send_all_sockets(sio_admin *a, sio_socket *s) {
    struct gather *g = calloc(1, sizeof *g);
    if (!g || !(g->sockets = cJSON_CreateArray())) {
        free(g);
        return;
    }
    g->a = a;
    snprintf(g->sid, sizeof g->sid, "%s", sio_socket_id(s));
    g->next = a->gathers;
    a->gathers = g;
    /* Collect first: a fetch may answer inside the call. pending counts one
     * more until every request is out, so the gather cannot end early. */
    sio_namespace *list[256];
    size_t n = 0, pos = 0;
    sio_namespace *x;
    while (n < 256 && (x = sio_server_next_namespace(a->srv, &pos)))
        list[n++] = x;
    g->pending = 1;
    for (size_t i = 0; i < n; i++) {
        g->pending++;
        if (sio_fetch_sockets(list[i], NULL, gathered, g) != SIO_OK) g->pending--;
    }
    if (--g->pending == 0) gather_done(g);
}

static void on_admin_connection(sio_socket *s, void *ud) {
    sio_admin *a = ud;
    char *session = a->auth ? admin_auth_take_session(s) : NULL;
    if (session) {
        cJSON *args = cJSON_CreateArray();
        if (args) cJSON_AddItemToArray(args, cJSON_CreateString(session));
        sio_emit(s, "session", args);
        cJSON_Delete(args);
        free(session);
    }
    cJSON *args = cJSON_CreateArray();
    cJSON *config = cJSON_CreateObject();
    if (args && config) {
        cJSON_AddItemToArray(args, config);
        cJSON *f = cJSON_AddArrayToObject(config, "supportedFeatures");
        for (size_t i = 0; f && !a->readonly && FEATURES_ACTIONS[i]; i++)
            cJSON_AddItemToArray(f, cJSON_CreateString(FEATURES_ACTIONS[i]));
        cJSON_AddItemToArray(f, cJSON_CreateString("AGGREGATED_EVENTS"));
        if (a->dev) cJSON_AddItemToArray(f, cJSON_CreateString("ALL_EVENTS"));
    }
    if (!args || !config) cJSON_Delete(config);
    int r = sio_emit(s, "config", args);
    cJSON_Delete(args);
    if (r == SIO_OK && a->dev) send_all_sockets(a, s);
}

static void on_admin_disconnect(sio_socket *s, const char *reason, void *ud) {
    sio_admin *a = ud;
    if (a->auth) free(admin_auth_take_session(s));
}

sio_admin *sio_admin_instrument(sio_server *srv, const sio_admin_options *o, int *err) {
    sio_admin_options d;
    if (!o) {
        sio_admin_options_init(&d);
        o = &d;
    }
    *err = SIO_EINVAL;
    int basic = o->username || o->password_hash;
    if (basic == !!o->no_auth || (basic && (!o->username || !o->password_hash)) ||
        (basic && !admin_auth_valid_hash(o->password_hash)))
        return NULL;
    const char *name = o->nsp ? o->nsp : "/admin";
    if (name[0] != '/' || strchr(name, ',')) return NULL;
    *err = SIO_ESTATE;
    if (sio_server_observer(srv)) return NULL;
    *err = SIO_ENOMEM;
    int mw = 0; /* the middleware is in: its admin_auth must live on */
    sio_admin *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->srv = srv;
    a->loop = sio_server_loop(srv);
    a->dev = o->mode == SIO_ADMIN_DEVELOPMENT;
    a->readonly = o->readonly;
    a->started_ms = sio_loop_now(a->loop);
    uint32_t every = o->stats_interval_ms ? o->stats_interval_ms : 2000;
    a->stats_every = every < TICK_MS ? 1 : every / TICK_MS;
    if (gethostname(a->hostname, sizeof a->hostname - 1)) snprintf(a->hostname, 9, "unknown");
    char id[300];
    snprintf(id, sizeof id, "%s#%ld", a->hostname, (long)getpid());
    a->server_id = strdup(o->server_id ? o->server_id : id);
    if (!a->server_id ||
        (basic && !(a->auth = admin_auth_new(a->loop, o->username, o->password_hash))))
        goto fail;
    if (!(a->nsp = sio_of(srv, name))) goto fail;
    a->clustered = sio_nsp_clustered(a->nsp);
    if (a->auth && (*err = sio_use(a->nsp, admin_auth_middleware, a->auth))) goto fail;
    mw = a->auth != NULL;
    *err = SIO_ENOMEM;
    if (sio_loop_add_hook(a->loop, flush, a)) goto fail;
    sio_on_connection(a->nsp, on_admin_connection, a);
    sio_on_disconnect(a->nsp, on_admin_disconnect, a);
    if (!a->readonly) {
        int r = sio_on(a->nsp, "emit", cmd_emit, a);
        if (!r) r = sio_on(a->nsp, "join", cmd_rooms, a);
        if (!r) r = sio_on(a->nsp, "leave", cmd_rooms, a);
        if (!r) r = sio_on(a->nsp, "_disconnect", cmd_disconnect, a);
        if (r) {
            sio_loop_remove_hook(a->loop, flush, a);
            goto fail;
        }
    }
    eio_counters c;
    eio_server_counters(sio_server_eio(srv), &c);
    admin_stats_init(&a->stats, &c);
    sio_observer obs = {.connection_closed = on_connection_closed, .ud = a};
    if (a->dev) {
        obs.connected = on_connected;
        obs.disconnected = on_disconnected;
        obs.joined = on_joined;
        obs.left = on_left;
        obs.event_received = on_received;
        obs.event_sent = on_sent;
        obs.upgraded = on_upgraded;
        obs.describe = on_describe;
    }
    sio_server_observe(srv, &obs);
    sio_timer_start(a->loop, &a->tick, TICK_MS, on_tick);
    *err = SIO_OK;
    return a;
fail:
    if (a->nsp) {
        sio_on_connection(a->nsp, NULL, NULL);
        sio_on_disconnect(a->nsp, NULL, NULL);
    }
    /* A middleware cannot be removed: once in, its state stays (out of
     * memory at start-up only). */
    if (!mw) admin_auth_free(a->auth);
    free(a->server_id);
    free(a);
    return NULL;
}

void sio_admin_free(sio_admin *a) {
    if (!a) return;
    sio_server_observe(a->srv, NULL);
    sio_timer_stop(a->loop, &a->tick);
    sio_loop_remove_hook(a->loop, flush, a);
    for (struct gather *g = a->gathers; g; g = g->next)
        g->a = NULL;
    while (a->q_head) {
        struct queued *q = a->q_head;
        a->q_head = q->next;
        cJSON_Delete(q->args);
        free(q);
    }
    sio_on_connection(a->nsp, NULL, NULL);
    sio_on_disconnect(a->nsp, NULL, NULL);
    for (size_t i = 0; !a->readonly && i < 4; i++) {
        static const char *const cmds[] = {"emit", "join", "leave", "_disconnect"};
        sio_on(a->nsp, cmds[i], NULL, NULL);
    }
    admin_auth_free(a->auth);
    free(a->server_id);
    free(a);
}
