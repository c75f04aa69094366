#include "app/handlers.h"

#include <string.h>

void app_ack_ok(sio_socket *s, int64_t ack) {
    if (ack < 0) return;
    cJSON *a = cJSON_CreateArray();
    if (!a) return;
    cJSON_AddItemToArray(a, cJSON_CreateString("ok"));
    sio_ack(s, ack, a);
    cJSON_Delete(a);
}

void app_on_echo(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    if (ack >= 0) sio_ack(s, ack, args);
}

int app_join(sio_socket *s, const char *room, int64_t ack) {
    int r = sio_join(s, room);
    if (r == SIO_OK) {
        app_ack_ok(s, ack);
        return 0;
    }
    if (ack >= 0) {
        cJSON *a = cJSON_CreateArray();
        if (a) {
            cJSON_AddItemToArray(a, cJSON_CreateString("error"));
            cJSON_AddItemToArray(a, cJSON_CreateString(r == SIO_ETOOBIG  ? "room name too long"
                                                       : r == SIO_ELIMIT ? "too many rooms"
                                                                         : sio_strerror(r)));
            sio_ack(s, ack, a);
            cJSON_Delete(a);
        }
    }
    if (sio_socket_refused_joins(s) <= APP_MAX_REFUSED_JOINS) return 0;
    sio_disconnect(s, 1);
    return 1;
}

void app_on_room(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    cJSON *room = cJSON_GetArrayItem(args, 0);
    if (cJSON_IsString(room) && strcmp(ev, "leave") != 0) {
        app_join(s, room->valuestring, ack);
        return;
    }
    if (cJSON_IsString(room)) sio_leave(s, room->valuestring);
    app_ack_ok(s, ack);
}

/* The first argument names a room; the rest is the payload, sent as is (the
 * room is detached from the array the library owns for this call). */
static void to_room(sio_socket *s, cJSON *args, int64_t ack, int except) {
    cJSON *room = cJSON_DetachItemFromArray(args, 0);
    if (cJSON_IsString(room)) {
        const char *list[] = {room->valuestring, NULL};
        sio_target t = {except ? NULL : list, except ? list : NULL, 0, 0};
        sio_broadcast(sio_socket_nsp(s), &t, "msg", args);
    }
    cJSON_Delete(room);
    app_ack_ok(s, ack);
}

void app_on_to(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    to_room(s, args, ack, 0);
}

void app_on_except(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    to_room(s, args, ack, 1);
}

void app_on_all(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_broadcast(sio_socket_nsp(s), NULL, "msg", args);
    app_ack_ok(s, ack);
}

void app_on_broadcast(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    sio_socket_broadcast(s, NULL, "msg", args);
    app_ack_ok(s, ack);
}

int app_register_bench(sio_namespace *n, void *ud) {
    int r = sio_on(n, "echo", app_on_echo, ud);
    if (!r) r = sio_on(n, "join", app_on_room, ud);
    if (!r) r = sio_on(n, "leave", app_on_room, ud);
    if (!r) r = sio_on(n, "to", app_on_to, ud);
    if (!r) r = sio_on(n, "all", app_on_all, ud);
    return r;
}
