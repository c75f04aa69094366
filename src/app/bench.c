/* --app bench: the benchmark app, the same as test/reference/bench-app.mjs
 * runs on the Node.js reference. echo acks its arguments; join(room) acks
 * "ok"; to(room, payload) emits msg to the room; all(payload) emits msg to
 * everyone; the server-side event "echo" from another node is answered with
 * its value. */
#include <string.h>

#include "app/app.h"
#include "app/handlers.h"
#include "sio/sio.h"

static void on_server_event(sio_namespace *n, const char *ev, cJSON *args, sio_server_ack *ack,
                            void *ud) {
    if (strcmp(ev, "echo") == 0 && ack) sio_server_ack_reply(ack, cJSON_GetArrayItem(args, 0));
}

static void *start(const app_env *env, int *err) {
    sio_server *srv = sio_server_new(env->loop, env->http, env->eio, env->sio, err);
    if (!srv) return NULL;
    sio_namespace *n = sio_of(srv, "/");
    if ((*err = app_register_bench(n, NULL))) {
        sio_server_free(srv);
        return NULL;
    }
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
    "bench", "benchmark app (echo, join, to, all)", start, shutdown_app, sessions, stop, 0};
