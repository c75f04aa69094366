/* --app bench: the benchmark app, the same as test/reference/bench-app.mjs
 * runs on the Node.js reference. echo acks its arguments; join(room) acks
 * "ok"; to(room, payload) emits msg to the room; all(payload) emits msg to
 * everyone. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "sio/sio.h"

static void on_echo(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    if (ack >= 0) sio_ack(s, ack, args);
}

static void ack_ok(sio_socket *s, int64_t ack) {
    if (ack < 0) return;
    cJSON *a = cJSON_CreateArray();
    if (!a) return;
    cJSON_AddItemToArray(a, cJSON_CreateString("ok"));
    sio_ack(s, ack, a);
    cJSON_Delete(a);
}

static void on_join(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *room = cJSON_GetArrayItem(args, 0);
    if (cJSON_IsString(room)) sio_join(s, room->valuestring);
    ack_ok(s, ack);
}

static void on_to(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *room = cJSON_GetArrayItem(args, 0);
    if (!cJSON_IsString(room)) return;
    /* Re-use the argument array minus the room: detach it, emit, done. */
    cJSON *r = cJSON_DetachItemFromArray(args, 0);
    const char *rooms[] = {r->valuestring, NULL};
    sio_target t = {rooms, NULL, 0, 0};
    sio_broadcast(sio_socket_nsp(s), &t, "msg", args);
    cJSON_Delete(r);
    ack_ok(s, ack);
}

static void on_all(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_broadcast(sio_socket_nsp(s), NULL, "msg", args);
    ack_ok(s, ack);
}

/* serverSideEmit("echo", x) from another node is answered with x. */
static void on_server_event(sio_namespace *n, const char *ev, cJSON *args, sio_server_ack *ack,
                            void *ud) {
    if (strcmp(ev, "echo") == 0 && ack) sio_server_ack_reply(ack, cJSON_GetArrayItem(args, 0));
}

static void *start(const app_env *env, int *err) {
    sio_server *srv = sio_server_new(env->loop, env->http, env->eio, env->sio, err);
    if (!srv) return NULL;
    sio_namespace *n = sio_of(srv, "/");
    sio_on(n, "echo", on_echo, NULL);
    sio_on(n, "join", on_join, NULL);
    sio_on(n, "to", on_to, NULL);
    sio_on(n, "all", on_all, NULL);
    sio_on_server_event(n, on_server_event, NULL);
    return srv;
}

static void shutdown_app(void *app) {
    sio_server_shutdown(app);
}
static size_t sessions(void *app) {
    return eio_server_sessions(sio_server_eio(app));
}
static void stop(void *app) {
    sio_server_free(app);
}

const app_def app_bench = {
    "bench", "benchmark app (echo, join, to, all)", start, shutdown_app, sessions, stop};
