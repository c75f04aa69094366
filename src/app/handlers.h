/* Event handlers several apps share (bench, clusterkit, testkit): the bench
 * protocol that the Node.js reference runs too (test/reference/bench-app.mjs). */
#ifndef SIO_APP_HANDLERS_H
#define SIO_APP_HANDLERS_H

#include "sio/sio.h"

/* Acknowledge with "ok" when the client asked for an ack. */
void app_ack_ok(sio_socket *s, int64_t ack);
/* echo: acknowledge with the same arguments. */
void app_on_echo(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud);
/* A client whose joins were refused more than this many times (room name
 * too long, too many rooms) is disconnected: a real client stops after the
 * first "error"; one that keeps going is probing memory. */
#define APP_MAX_REFUSED_JOINS 16
/* A client asked to join ROOM: ack ["ok"], or ["error", reason] when the
 * library refuses it ("room name too long", "too many rooms"); past
 * APP_MAX_REFUSED_JOINS refusals the whole connection is closed (s is gone
 * when this returns 1). */
int app_join(sio_socket *s, const char *room, int64_t ack);
/* join / leave (room): by the event's name; acks "ok" (join: as app_join). */
void app_on_room(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud);
/* to (room, ...payload): "msg" with the payload to the room (sender included
 * when a member, as io.to(room).emit); acks "ok". */
void app_on_to(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud);
/* all (...payload): "msg" to every socket; acks "ok". */
void app_on_all(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud);
/* except (room, ...payload): "msg" to every socket outside the room. */
void app_on_except(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud);
/* broadcast (...payload): "msg" to everyone but the sender. */
void app_on_broadcast(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud);
/* Register echo, join, leave, to and all on a namespace. */
int app_register_bench(sio_namespace *n, void *ud);

#endif
