/* --app chat (the default): a chat room on namespace "/", bridged to plain
 * WebSocket clients at /ws.
 *  - A Socket.IO client's "message" goes to everyone as "Client #<name> said:
 *    <text>" (to a room when it names one); "join"/"leave" manage rooms
 *    (within the library's --max-rooms-per-socket / --max-room-name);
 *    everyone gets "users" with the count on each connect and disconnect.
 *  - Each text frame from a /ws client is a chat message: it reaches the
 *    Socket.IO clients as "message" and the other /ws clients as a text
 *    frame; Socket.IO messages reach /ws clients as text frames.
 *  - With a JWT secret, Socket.IO connects need a valid HS256 token (auth
 *    payload or ?token=) and /ws clients a ?token=; refused /ws clients get
 *    close code 4001 after the handshake. <name> is the token's "sub",
 *    else the socket id.
 *  - With --admin-auth, the @socket.io/admin-ui namespace (sio/admin.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "app/app.h"
#include "app/handlers.h"
#include "sio/auth.h"
#include "sio/sio.h"
#include "sio/websocket.h"

struct chat {
    sio_server *io;
    sio_namespace *nsp;
    sio_ws_server *ws;
    sio_jwt_auth auth;
    int auth_on;
    sio_admin *admin; /* --admin-auth: the admin UI's namespace */
};

/* The /ws peer whose token was refused: it is closed with 4001 once open. */
static char unauthorized_mark;

static void send_count(sio_namespace *n) {
    cJSON *a = cJSON_CreateArray();
    if (!a) return;
    cJSON_AddItemToArray(a, cJSON_CreateNumber((double)sio_nsp_size(n)));
    sio_broadcast(n, NULL, "users", a);
    cJSON_Delete(a);
}

static void on_connection(sio_socket *s, void *ud) {
    send_count(sio_socket_nsp(s));
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud) {
    sio_socket_forget_claims(s);
    /* The socket is already out of the namespace: the count excludes it. */
    send_count(sio_socket_nsp(s));
}

/* "Client #<name> said: <text>" to the Socket.IO clients (of a room when
 * room is set) and to the /ws clients but `from`. */
static void say(struct chat *c, const char *name, const char *text, const char *room,
                sio_ws_peer *from) {
    size_t n = strlen(name) + strlen(text) + 32;
    char *line = malloc(n);
    if (!line) return;
    int len = snprintf(line, n, "Client #%s said: %s", name, text);
    cJSON *a = cJSON_CreateArray();
    if (a) {
        cJSON_AddItemToArray(a, cJSON_CreateString(line));
        const char *rooms[] = {room, NULL};
        sio_target tg = {rooms, NULL, 0, 0};
        sio_broadcast(c->nsp, room ? &tg : NULL, "message", a);
        cJSON_Delete(a);
    }
    if (c->ws && !room) sio_ws_broadcast(c->ws, line, (size_t)len, 0, from);
    free(line);
}

static void on_message(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    struct chat *c = ud;
    cJSON *text = cJSON_GetArrayItem(args, 0);
    cJSON *room = cJSON_GetArrayItem(args, 1);
    char *owned = NULL;
    const char *t =
        cJSON_IsString(text) ? text->valuestring : (owned = cJSON_PrintUnformatted(text));
    if (t) {
        const char *sub = sio_jwt_subject(s);
        say(c, sub ? sub : sio_socket_id(s), t, cJSON_IsString(room) ? room->valuestring : NULL,
            NULL);
    }
    free(owned);
    if (ack >= 0) sio_ack(s, ack, NULL);
}

/* join(room) / leave(room): ack "ok", or "error" for a room that is not a
 * string; a join the library refuses acks ["error", reason], and a client
 * that keeps trying is disconnected (app_join). */
static void on_room(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *room = cJSON_GetArrayItem(args, 0);
    int ok = cJSON_IsString(room);
    if (ok && strcmp(ev, "join") == 0) {
        app_join(s, room->valuestring, ack);
        return;
    }
    if (ok) sio_leave(s, room->valuestring);
    if (ack >= 0) {
        cJSON *a = cJSON_CreateArray();
        if (a) cJSON_AddItemToArray(a, cJSON_CreateString(ok ? "ok" : "error"));
        sio_ack(s, ack, a);
        cJSON_Delete(a);
    }
}

/* ---------- /ws ---------- */

static int ws_request(eio_request *req, void **data, void *ud) {
    struct chat *c = ud;
    const char *token = eio_request_query(req, "token");
    if (c->auth_on) {
        cJSON *claims = NULL;
        const cJSON *sub;
        if (!token || sio_jwt_check(&c->auth, token, &claims) != SIO_OK ||
            !cJSON_IsString(sub = cJSON_GetObjectItemCaseSensitive(claims, "sub"))) {
            cJSON_Delete(claims);
            *data = &unauthorized_mark;
            return 1; /* answer 101, then close with 4001 so browsers see why */
        }
        *data = strdup(sub->valuestring);
        cJSON_Delete(claims);
        return 1;
    }
    /* An unguessable name, as the socket ids: 20 hex digits of the kernel's
     * CSPRNG. */
    unsigned char raw[10];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return 0;
    char id[2 * sizeof raw + 1];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    *data = strdup(id);
    return *data != NULL;
}

static void ws_open(sio_ws_peer *p, void *ud) {
    if (sio_ws_peer_data(p) == &unauthorized_mark) sio_ws_close(p, 4001, "unauthorized");
}

static void ws_message(sio_ws_peer *p, const uint8_t *d, size_t n, int binary, void *ud) {
    struct chat *c = ud;
    const char *name = sio_ws_peer_data(p);
    if (binary || !name || name == &unauthorized_mark) return;
    char *text = malloc(n + 1);
    if (!text) return;
    memcpy(text, d, n);
    text[n] = 0;
    say(c, name, text, NULL, p);
    free(text);
}

static void ws_close(sio_ws_peer *p, int code, void *ud) {
    void *d = sio_ws_peer_data(p);
    if (d != &unauthorized_mark) free(d);
}

static void stop(void *app);

static void *start(const app_env *env, int *err) {
    struct chat *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->io = sio_server_new(env->loop, env->http, env->eio, env->sio, err);
    if (!c->io) {
        free(c);
        return NULL;
    }
    c->nsp = sio_of(c->io, "/");
    if (env->admin && !(c->admin = sio_admin_instrument(c->io, env->admin, err))) {
        stop(c);
        return NULL;
    }
    if (env->jwt_secret && *env->jwt_secret) {
        c->auth_on = 1;
        c->auth.secret = (const uint8_t *)env->jwt_secret;
        c->auth.secret_len = strlen(env->jwt_secret);
        c->auth.skew_s = 30;
        c->auth.allow_no_exp = env->jwt_allow_no_exp;
        sio_use(c->nsp, sio_jwt_middleware, &c->auth);
    }
    sio_on_connection(c->nsp, on_connection, c);
    sio_on_disconnect(c->nsp, on_disconnect, c);
    sio_on(c->nsp, "message", on_message, c);
    sio_on(c->nsp, "join", on_room, c);
    sio_on(c->nsp, "leave", on_room, c);
    sio_ws_options wo;
    sio_ws_options_init(&wo);
    wo.path = "/ws";
    wo.ping_interval_ms = env->eio->ping_interval_ms;
    wo.ping_timeout_ms = env->eio->ping_timeout_ms;
    wo.max_message = env->eio->max_payload;
    wo.allowed_origins = env->eio->cors_origins;
    /* /ws peers get the same output bound as Socket.IO clients. */
    wo.max_buffered = env->eio->max_buffered;
    /* --ws-deflate covers /ws peers too. */
    wo.deflate = env->eio->ws_deflate;
    static const sio_ws_callbacks wcb = {.on_request = ws_request,
                                         .on_open = ws_open,
                                         .on_message = ws_message,
                                         .on_close = ws_close};
    c->ws = sio_ws_server_new(env->loop, env->http, &wo, &wcb, c, err);
    if (!c->ws) {
        stop(c);
        return NULL;
    }
    return c;
}

static void shutdown_app(void *app) {
    struct chat *c = app;
    sio_server_shutdown(c->io);
    sio_ws_server_free(c->ws); /* every /ws peer gets close 1001 */
    c->ws = NULL;
}

static size_t sessions(void *app) {
    struct chat *c = app;
    return eio_server_sessions(sio_server_eio(c->io)) + (c->ws ? sio_ws_server_count(c->ws) : 0);
}

static void stop(void *app) {
    struct chat *c = app;
    sio_ws_server_free(c->ws);
    sio_admin_free(c->admin);
    sio_server_free(c->io);
    free(c);
}

const app_def app_chat = {"chat",
                          "chat room: message, join, leave, users count; /ws bridge (default)",
                          start, shutdown_app, sessions, stop,
                          /* Recovery on: a phone that loses its network for a moment comes back
                           * in its room with the messages it missed (README, "Recovery"). */
                          120000};
