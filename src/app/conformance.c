/* --app conformance: the behaviour the Socket.IO protocol test suite expects.
 * Socket.IO at the configured path (default /socket.io/): on connect to "/"
 * or "/custom" emit "auth" with the CONNECT payload (or {}); "message" comes
 * back as "message-back" with the same arguments; "message-with-ack" is
 * acknowledged with them. An Engine.IO echo runs at /engine.io/ beside it. */
#include <stdlib.h>

#include "app/app.h"
#include "sio/sio.h"

struct conformance {
    sio_server *sio;
    eio_server *eio;
};

static void on_connection(sio_socket *s, void *ud) {
    cJSON *args = cJSON_CreateArray();
    if (!args) return;
    const cJSON *auth = sio_socket_auth(s);
    cJSON_AddItemToArray(args, auth ? cJSON_Duplicate(auth, 1) : cJSON_CreateObject());
    sio_emit(s, "auth", args);
    cJSON_Delete(args);
}

static void on_message(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_emit(s, "message-back", args);
}

static void on_message_ack(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    if (ack >= 0) sio_ack(s, ack, args);
}

static void setup(sio_namespace *n) {
    sio_on_connection(n, on_connection, NULL);
    sio_on(n, "message", on_message, NULL);
    sio_on(n, "message-with-ack", on_message_ack, NULL);
}

static void echo(eio_session *s, const uint8_t *data, size_t len, int binary, void *ud) {
    eio_send(s, data, len, binary);
}

/* As in eio-echo: a bare Engine.IO echo has no handshake of its own. */
static void echo_open(eio_session *s, void *ud) {
    eio_session_established(s);
}

static void stop(void *app);

static void *start(const app_env *env, int *err) {
    struct conformance *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->sio = sio_server_new(env->loop, env->http, env->eio, env->sio, err);
    if (!c->sio) {
        free(c);
        return NULL;
    }
    setup(sio_of(c->sio, "/"));
    setup(sio_of(c->sio, "/custom"));
    eio_options eo = *env->eio;
    eo.path = "/engine.io/";
    static const eio_callbacks cbs = {.on_open = echo_open, .on_message = echo};
    c->eio = eio_server_new(env->loop, env->http, &eo, &cbs, NULL, err);
    if (!c->eio) {
        stop(c);
        return NULL;
    }
    return c;
}

static void shutdown_app(void *app) {
    struct conformance *c = app;
    sio_server_shutdown(c->sio);
    eio_server_close_all(c->eio);
}

static size_t sessions(void *app) {
    struct conformance *c = app;
    return eio_server_sessions(sio_server_eio(c->sio)) + (c->eio ? eio_server_sessions(c->eio) : 0);
}

static void stop(void *app) {
    struct conformance *c = app;
    eio_server_free(c->eio);
    sio_server_free(c->sio);
    free(c);
}

const app_def app_conformance = {"conformance",
                                 "Socket.IO protocol conformance target (+ Engine.IO echo at "
                                 "/engine.io/)",
                                 start,
                                 shutdown_app,
                                 sessions,
                                 stop,
                                 0};
