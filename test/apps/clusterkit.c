/* --app clusterkit: the bench app plus events that drive the cluster-wide
 * operations (include/sio/sio.h) from a client, for the Redis adapter tests.
 * test/reference/cluster-node.mjs runs the same app on a Node.js socket.io
 * server with @socket.io/redis-adapter, so both kinds of node can be mixed.
 * Public API only.
 *
 * Namespaces "/" and "/admin", the same events in each. A SELECTOR is null
 * (every socket), a room name or an array of room names; ROOMS is a room
 * name or an array of them. Commands ack ["ok"] when the client asks for an
 * ack, unless another answer is listed.
 *   echo ...args                  ack with the same arguments
 *   join ROOM / leave ROOM        join or leave a room
 *   rooms                         ack with the socket's rooms (its id first)
 *   to ROOM ...payload            "msg" with payload to the room (all nodes)
 *   all ...payload                "msg" to everyone (all nodes)
 *   except ROOM ...payload        "msg" to everyone not in ROOM (all nodes)
 *   broadcast ...payload          "msg" to everyone but the sender (all nodes)
 *   fetch SELECTOR                sio_fetch_sockets; ack with
 *                                 ([{id, rooms}...], "ok"|"timeout")
 *   sockets-join SELECTOR ROOMS   sio_sockets_join
 *   sockets-leave SELECTOR ROOMS  sio_sockets_leave
 *   disconnect-sockets SELECTOR CLOSE
 *                                 sio_disconnect_sockets (acked before the
 *                                 disconnection, which may include the sender)
 *   server-emit EVENT ARG         sio_server_side_emit(EVENT, ARG) waiting for
 *                                 answers; ack with (responses, "ok"|"timeout")
 *   broadcast-ack ROOM|null EVENT ARG TIMEOUT_MS
 *                                 sio_broadcast_with_ack(EVENT, ARG) to the room
 *                                 (or everyone); ack with
 *                                 {status: "ok"|"timeout", responses}
 * Server-side events from other nodes (serverSideEmit):
 *   echo X   answered with X
 *   size     answered with the number of sockets connected to this node's
 *            namespace */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/handlers.h"
#include "sio/sio.h"

#define MAX_ROOMS 64

/* An operation whose answer comes later: the client is found again by its
 * socket id (it may have left meanwhile). */
struct pending {
    struct clusterkit *ck;
    struct pending *prev, *next;
    sio_namespace *nsp;
    char sid[64];
    int64_t ack;
};

struct clusterkit {
    sio_server *srv;
    struct pending *pending;
    int stopping;
};

/* ---------- helpers ---------- */

/* Room names of a string or an array of strings into list (NULL-terminated);
 * the names point into v. Returns the count. */
static size_t room_list(const cJSON *v, const char **list) {
    size_t n = 0;
    if (cJSON_IsString(v)) {
        list[n++] = v->valuestring;
    } else if (cJSON_IsArray(v)) {
        const cJSON *r;
        cJSON_ArrayForEach(r, v) {
            if (cJSON_IsString(r) && n < MAX_ROOMS) list[n++] = r->valuestring;
        }
    }
    list[n] = NULL;
    return n;
}

/* A selector (null, a room or rooms) as a target; rooms NULL selects all. */
static void selector(const cJSON *v, const char **list, sio_target *t) {
    memset(t, 0, sizeof *t);
    t->rooms = room_list(v, list) ? list : NULL;
}

static struct pending *pending_new(struct clusterkit *ck, sio_socket *s, int64_t ack) {
    struct pending *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    const char *id = sio_socket_id(s);
    size_t len = strlen(id);
    if (len >= sizeof p->sid) len = sizeof p->sid - 1;
    memcpy(p->sid, id, len);
    p->ck = ck;
    p->nsp = sio_socket_nsp(s);
    p->ack = ack;
    p->next = ck->pending;
    if (p->next) p->next->prev = p;
    ck->pending = p;
    return p;
}

static void pending_free(struct pending *p) {
    if (p->prev)
        p->prev->next = p->next;
    else
        p->ck->pending = p->next;
    if (p->next) p->next->prev = p->prev;
    free(p);
}

struct find {
    sio_socket *s;
};

static void found(sio_socket *s, void *ud) {
    ((struct find *)ud)->s = s;
}

/* Ack the waiting client (if it is still here) with args, then forget p. */
static void pending_answer(struct pending *p, const cJSON *args) {
    if (!p->ck->stopping && p->ack >= 0) {
        const char *rooms[] = {p->sid, NULL};
        sio_target t = {rooms, NULL, 0, 1};
        struct find f = {NULL};
        sio_each_socket(p->nsp, &t, found, &f);
        if (f.s) sio_ack(f.s, p->ack, args);
    }
    pending_free(p);
}

/* Ack with (value, status) where value is lent by the library: it goes into
 * the answer for the time of the ack and is taken back (it may hold binary
 * nodes, which must not be duplicated). */
static void answer_lent(struct pending *p, cJSON *value, const char *status) {
    cJSON *a = cJSON_CreateArray();
    if (!a) {
        pending_free(p);
        return;
    }
    if (value) {
        cJSON_AddItemToArray(a, value);
    } else {
        cJSON_AddItemToArray(a, cJSON_CreateArray());
    }
    cJSON_AddItemToArray(a, cJSON_CreateString(status));
    pending_answer(p, a);
    if (value) cJSON_DetachItemViaPointer(a, value);
    cJSON_Delete(a);
}

/* ---------- the bench events ---------- */

static void add_room(const char *room, void *ud) {
    cJSON_AddItemToArray(ud, cJSON_CreateString(room));
}

static void on_rooms(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *a = cJSON_CreateArray();
    cJSON *list = cJSON_CreateArray();
    if (a && list) {
        sio_socket_rooms(s, add_room, list);
        cJSON_AddItemToArray(a, list);
        list = NULL;
        if (ack >= 0) sio_ack(s, ack, a);
    }
    cJSON_Delete(list);
    cJSON_Delete(a);
}

/* ---------- cluster operations ---------- */

static void fetched(sio_namespace *nsp, int status, cJSON *sockets, void *ud) {
    cJSON *list = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, sockets) {
        cJSON *o = cJSON_CreateObject();
        if (!list || !o) {
            cJSON_Delete(o);
            break;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(it, "rooms");
        cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 1));
        cJSON_AddItemToObject(o, "rooms", rooms ? cJSON_Duplicate(rooms, 1) : cJSON_CreateArray());
        cJSON_AddItemToArray(list, o);
    }
    cJSON *a = cJSON_CreateArray();
    if (a && list) {
        cJSON_AddItemToArray(a, list);
        list = NULL;
        cJSON_AddItemToArray(a, cJSON_CreateString(status == SIO_OK ? "ok" : "timeout"));
        pending_answer(ud, a);
    } else {
        pending_free(ud);
    }
    cJSON_Delete(list);
    cJSON_Delete(a);
}

static void on_fetch(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    const char *list[MAX_ROOMS + 1];
    sio_target t;
    selector(cJSON_GetArrayItem(args, 0), list, &t);
    struct pending *p = pending_new(ud, s, ack);
    if (p) sio_fetch_sockets(sio_socket_nsp(s), &t, fetched, p);
    /* On an error return the callback may still run; otherwise stop() frees p. */
}

static void on_sockets_rooms(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    const char *sel[MAX_ROOMS + 1], *rooms[MAX_ROOMS + 1];
    sio_target t;
    selector(cJSON_GetArrayItem(args, 0), sel, &t);
    if (room_list(cJSON_GetArrayItem(args, 1), rooms)) {
        if (strcmp(ev, "sockets-join") == 0)
            sio_sockets_join(sio_socket_nsp(s), &t, rooms);
        else
            sio_sockets_leave(sio_socket_nsp(s), &t, rooms);
    }
    app_ack_ok(s, ack);
}

static void on_disconnect_sockets(sio_socket *s, const char *ev, cJSON *args, int64_t ack,
                                  void *ud) {
    const char *sel[MAX_ROOMS + 1];
    sio_target t;
    selector(cJSON_GetArrayItem(args, 0), sel, &t);
    int close = cJSON_IsTrue(cJSON_GetArrayItem(args, 1));
    sio_namespace *nsp = sio_socket_nsp(s);
    /* The sender may be among the disconnected sockets: answer first, and
     * do not touch s afterwards. */
    app_ack_ok(s, ack);
    sio_disconnect_sockets(nsp, &t, close);
}

static void responded(sio_namespace *nsp, int status, cJSON *responses, void *ud) {
    answer_lent(ud, responses, status == SIO_OK ? "ok" : "timeout");
}

static void on_server_emit(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *name = cJSON_DetachItemFromArray(args, 0);
    if (!cJSON_IsString(name)) {
        cJSON_Delete(name);
        app_ack_ok(s, ack);
        return;
    }
    struct pending *p = pending_new(ud, s, ack);
    if (p) sio_server_side_emit(sio_socket_nsp(s), name->valuestring, args, responded, p);
    cJSON_Delete(name);
}

static void broadcast_acked(sio_namespace *nsp, int status, cJSON *responses, void *ud) {
    struct pending *p = ud;
    cJSON *a = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    if (!a || !o) {
        cJSON_Delete(a);
        cJSON_Delete(o);
        pending_free(p);
        return;
    }
    cJSON_AddStringToObject(o, "status", status == SIO_OK ? "ok" : "timeout");
    cJSON_AddItemToArray(a, o);
    if (responses) {
        /* Lent: the answers may hold binary nodes. */
        cJSON_AddItemToObject(o, "responses", responses);
        pending_answer(p, a);
        cJSON_DetachItemViaPointer(o, responses);
    } else {
        cJSON_AddItemToObject(o, "responses", cJSON_CreateArray());
        pending_answer(p, a);
    }
    cJSON_Delete(a);
}

static void on_broadcast_ack(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *room = cJSON_DetachItemFromArray(args, 0);
    cJSON *name = cJSON_DetachItemFromArray(args, 0);
    cJSON *arg = cJSON_DetachItemFromArray(args, 0);
    const cJSON *ms = cJSON_GetArrayItem(args, 0);
    double timeout = cJSON_IsNumber(ms) && ms->valuedouble > 0 ? ms->valuedouble : 5000;
    if (timeout > 60000) timeout = 60000;
    if (!cJSON_IsString(name)) {
        app_ack_ok(s, ack);
        goto done;
    }
    const char *rooms[] = {cJSON_IsString(room) ? room->valuestring : NULL, NULL};
    sio_target t = {rooms[0] ? rooms : NULL, NULL, 0, 0};
    cJSON *eargs = cJSON_CreateArray();
    struct pending *p = eargs ? pending_new(ud, s, ack) : NULL;
    if (p) {
        if (arg) cJSON_AddItemToArray(eargs, arg);
        sio_broadcast_with_ack(sio_socket_nsp(s), &t, name->valuestring, eargs, (uint32_t)timeout,
                               broadcast_acked, p);
        if (arg) cJSON_DetachItemViaPointer(eargs, arg);
    }
    cJSON_Delete(eargs);
done:
    cJSON_Delete(room);
    cJSON_Delete(name);
    cJSON_Delete(arg);
}

/* ---------- server-side events ---------- */

static void on_server_event(sio_namespace *nsp, const char *ev, cJSON *args, sio_server_ack *ack,
                            void *ud) {
    if (!ack) return;
    if (strcmp(ev, "echo") == 0) {
        sio_server_ack_reply(ack, cJSON_GetArrayItem(args, 0));
    } else if (strcmp(ev, "size") == 0) {
        cJSON *n = cJSON_CreateNumber((double)sio_nsp_size(nsp));
        if (n) sio_server_ack_reply(ack, n);
        cJSON_Delete(n);
    }
}

/* ---------- setup ---------- */

static int setup(struct clusterkit *ck, sio_namespace *n) {
    static const struct {
        const char *name;
        sio_event_cb cb;
    } events[] = {
        {"echo", app_on_echo},
        {"join", app_on_room},
        {"leave", app_on_room},
        {"rooms", on_rooms},
        {"to", app_on_to},
        {"all", app_on_all},
        {"except", app_on_except},
        {"broadcast", app_on_broadcast},
        {"fetch", on_fetch},
        {"sockets-join", on_sockets_rooms},
        {"sockets-leave", on_sockets_rooms},
        {"disconnect-sockets", on_disconnect_sockets},
        {"server-emit", on_server_emit},
        {"broadcast-ack", on_broadcast_ack},
    };
    if (!n) return SIO_ENOMEM;
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        int r = sio_on(n, events[i].name, events[i].cb, ck);
        if (r) return r;
    }
    sio_on_server_event(n, on_server_event, ck);
    return SIO_OK;
}

static void stop(void *app) {
    struct clusterkit *ck = app;
    ck->stopping = 1;
    sio_server_free(ck->srv);
    /* Operations still waiting (their callbacks will not run any more). */
    while (ck->pending)
        pending_free(ck->pending);
    free(ck);
}

static void *start(const app_env *env, int *err) {
    struct clusterkit *ck = calloc(1, sizeof *ck);
    if (!ck) {
        *err = SIO_ENOMEM;
        return NULL;
    }
    ck->srv = sio_server_new(env->loop, env->http, env->eio, env->sio, err);
    if (!ck->srv) {
        free(ck);
        return NULL;
    }
    int r = setup(ck, sio_of(ck->srv, "/"));
    if (!r) r = setup(ck, sio_of(ck->srv, "/admin"));
    if (r) {
        *err = r;
        stop(ck);
        return NULL;
    }
    return ck;
}

static void shutdown_app(void *app) {
    struct clusterkit *ck = app;
    sio_server_shutdown(ck->srv);
}

static size_t sessions(void *app) {
    struct clusterkit *ck = app;
    return eio_server_sessions(sio_server_eio(ck->srv));
}

const app_def app_clusterkit = {"clusterkit",
                                "cluster test app (bench + fetch, sockets-join/leave, "
                                "disconnect-sockets, server-emit, broadcast-ack)",
                                start,
                                shutdown_app,
                                sessions,
                                stop,
                                0};
