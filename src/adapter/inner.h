/* The part of a cluster adapter that is a memory adapter: the Redis adapters
 * (redis.c, redis_streams.c) keep this node's rooms in an inner
 * sio_memory_adapter_new() and add only the traffic with the other nodes.
 * An adapter embeds inner_adapter first and puts the inner_* functions in
 * its sio_adapter_ops where it has nothing to add (or calls them from its
 * own op, around what it adds). */
#ifndef SIO_ADAPTER_INNER_H
#define SIO_ADAPTER_INNER_H

#include <stddef.h>

#include "sio/adapter.h"

typedef struct inner_adapter {
    sio_adapter base; /* first: the adapter the core sees */
    sio_adapter *mem; /* this node's membership, sessions and packet log */
} inner_adapter;

/* Set up the head (ops, nsp) and make the inner memory adapter: SIO_OK or
 * SIO_ENOMEM. inner_close frees the inner adapter (NULL is fine). */
int inner_open(inner_adapter *a, const sio_adapter_ops *ops, sio_namespace *nsp);
void inner_close(inner_adapter *a);

/* The ops, forwarded to the inner memory adapter as they are. */
int inner_join(sio_adapter *b, sio_socket *s, const char *room);
void inner_leave(sio_adapter *b, sio_socket *s, const char *room);
void inner_leave_all(sio_adapter *b, sio_socket *s);
int inner_has(sio_adapter *b, const sio_socket *s, const char *room);
void inner_rooms_of(sio_adapter *b, const sio_socket *s, void (*fn)(const char *room, void *ud),
                    void *ud);
void inner_each(sio_adapter *b, const sio_target *t, void (*fn)(sio_socket *s, void *ud), void *ud);
/* This node's half of a broadcast (its local receivers). */
int inner_broadcast(sio_adapter *b, const sio_adapter_packet *pkt, const sio_target *t);
size_t inner_room_count(sio_adapter *b);
/* Node-local recovery: the inner adapter's sessions and log. */
int inner_persist_session(sio_adapter *b, const sio_session *s);
int inner_restore_session(sio_adapter *b, const char *pid, const char *offset, sio_restore_cb cb,
                          void *ud);
void inner_recovery_stats(sio_adapter *b, sio_recovery_stats *out);

#endif
