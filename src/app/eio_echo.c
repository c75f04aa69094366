/* --app eio-echo: every Engine.IO message goes back to its sender as it came
 * (text as text, binary as binary). The transport's conformance target. */
#include <stdlib.h>

#include "app/app.h"

static void on_message(eio_session *s, const uint8_t *data, size_t len, int binary, void *ud) {
    eio_send(s, data, len, binary);
}

/* A bare Engine.IO echo has no handshake of its own after the transport's:
 * a session is established when it opens (an idle client that only answers
 * pings is a real one). Apps with a handshake of their own call
 * eio_session_established when it completes, as the Socket.IO layer does. */
static void on_open(eio_session *s, void *ud) {
    eio_session_established(s);
}

static void *start(const app_env *env, int *err) {
    static const eio_callbacks cbs = {.on_open = on_open, .on_message = on_message};
    return eio_server_new(env->loop, env->http, env->eio, &cbs, NULL, err);
}

static void shutdown_app(void *app) {
    eio_server_close_all(app);
}
static size_t sessions(void *app) {
    return eio_server_sessions(app);
}
static void stop(void *app) {
    eio_server_free(app);
}

const app_def app_eio_echo = {
    "eio-echo", "echo every Engine.IO message back", start, shutdown_app, sessions, stop, 0};
