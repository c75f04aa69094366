/* --app chat (the default): a chat room on namespace "/". A client's
 * "message" goes to everyone as "Client #<id> said: <text>"; "join" and
 * "leave" manage rooms (with "message" to a room when the client names one);
 * everyone gets "users" with the count on each connect and disconnect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "sio/sio.h"

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
    /* The socket is already out of the namespace: the count excludes it. */
    send_count(sio_socket_nsp(s));
}

static void on_message(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *text = cJSON_GetArrayItem(args, 0);
    cJSON *room = cJSON_GetArrayItem(args, 1);
    char *owned = NULL;
    const char *t =
        cJSON_IsString(text) ? text->valuestring : (owned = cJSON_PrintUnformatted(text));
    if (!t) return;
    const char *user = sio_socket_data(s) ? sio_socket_data(s) : sio_socket_id(s);
    size_t n = strlen(user) + strlen(t) + 32;
    char *line = malloc(n);
    if (line) {
        snprintf(line, n, "Client #%s said: %s", user, t);
        cJSON *a = cJSON_CreateArray();
        if (a) {
            cJSON_AddItemToArray(a, cJSON_CreateString(line));
            const char *rooms[] = {cJSON_IsString(room) ? room->valuestring : NULL, NULL};
            sio_target tg = {rooms, NULL, 0, 0};
            sio_broadcast(sio_socket_nsp(s), rooms[0] ? &tg : NULL, "message", a);
            cJSON_Delete(a);
        }
        free(line);
    }
    free(owned);
    if (ack >= 0) sio_ack(s, ack, NULL);
}

static void on_room(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *room = cJSON_GetArrayItem(args, 0);
    int ok = cJSON_IsString(room);
    if (ok && strcmp(ev, "join") == 0)
        sio_join(s, room->valuestring);
    else if (ok)
        sio_leave(s, room->valuestring);
    if (ack >= 0) {
        cJSON *a = cJSON_CreateArray();
        if (a) cJSON_AddItemToArray(a, cJSON_CreateString(ok ? "ok" : "error"));
        sio_ack(s, ack, a);
        cJSON_Delete(a);
    }
}

static void *start(const app_env *env, int *err) {
    sio_server *srv = sio_server_new(env->loop, env->http, env->eio, env->sio, err);
    if (!srv) return NULL;
    sio_namespace *n = sio_of(srv, "/");
    sio_on_connection(n, on_connection, NULL);
    sio_on_disconnect(n, on_disconnect, NULL);
    sio_on(n, "message", on_message, NULL);
    sio_on(n, "join", on_room, NULL);
    sio_on(n, "leave", on_room, NULL);
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

const app_def app_chat = {"chat",   "chat room: message, join, leave, users count (default)",
                          start,    shutdown_app,
                          sessions, stop};
