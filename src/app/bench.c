/* --app bench: the benchmark app, the same as test/reference/bench-app.mjs
 * runs on the Node.js reference. echo acks its arguments; join(room) acks
 * "ok"; to(room, payload) emits msg to the room; all(payload) emits msg to
 * everyone; the server-side event "echo" from another node is answered with
 * its value. With --admin-auth, the admin UI's namespace too (to measure
 * what it costs). */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/handlers.h"
#include "sio/sio.h"
#include "sio/status.h"

static void on_server_event(sio_namespace *n, const char *ev, cJSON *args, sio_server_ack *ack,
                            void *ud) {
    if (strcmp(ev, "echo") == 0 && ack) sio_server_ack_reply(ack, cJSON_GetArrayItem(args, 0));
}

struct bench {
    sio_server *srv;
    sio_admin *admin;
};

static void stop(void *app) {
    struct bench *b = app;
    sio_admin_free(b->admin);
    sio_server_free(b->srv);
    free(b);
}

static void *start(const app_env *env, int *err) {
    struct bench *b = calloc(1, sizeof *b);
    *err = SIO_ENOMEM;
    if (!b) return NULL;
    b->srv = sio_server_new(env->loop, env->http, env->eio, env->sio, err);
    if (!b->srv) {
        free(b);
        return NULL;
    }
    sio_namespace *n = sio_of(b->srv, "/");
    if ((*err = app_register_bench(n, NULL)) ||
        (env->admin && !(b->admin = sio_admin_instrument(b->srv, env->admin, err)))) {
        stop(b);
        return NULL;
    }
    sio_on_server_event(n, on_server_event, NULL);
    return b;
}

static void shutdown_app(void *app) {
    struct bench *b = app;
    sio_server_shutdown(b->srv);
}
static size_t sessions(void *app) {
    struct bench *b = app;
    return eio_server_sessions(sio_server_eio(b->srv));
}

const app_def app_bench = {
    "bench", "benchmark app (echo, join, to, all)", start, shutdown_app, sessions, stop, 0};
