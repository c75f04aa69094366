#include "adapter/inner.h"

#include "sio/status.h"

static sio_adapter *mem_of(const sio_adapter *b) {
    return ((const inner_adapter *)b)->mem;
}

int inner_open(inner_adapter *a, const sio_adapter_ops *ops, sio_namespace *nsp) {
    a->base.ops = ops;
    a->base.nsp = nsp;
    a->mem = sio_memory_adapter_new(nsp);
    return a->mem ? SIO_OK : SIO_ENOMEM;
}

void inner_close(inner_adapter *a) {
    if (a->mem) a->mem->ops->free(a->mem);
    a->mem = NULL;
}

int inner_join(sio_adapter *b, sio_socket *s, const char *room) {
    sio_adapter *m = mem_of(b);
    return m->ops->join(m, s, room);
}

void inner_leave(sio_adapter *b, sio_socket *s, const char *room) {
    sio_adapter *m = mem_of(b);
    m->ops->leave(m, s, room);
}

void inner_leave_all(sio_adapter *b, sio_socket *s) {
    sio_adapter *m = mem_of(b);
    m->ops->leave_all(m, s);
}

int inner_has(sio_adapter *b, const sio_socket *s, const char *room) {
    sio_adapter *m = mem_of(b);
    return m->ops->has(m, s, room);
}

void inner_rooms_of(sio_adapter *b, const sio_socket *s, void (*fn)(const char *, void *),
                    void *ud) {
    sio_adapter *m = mem_of(b);
    m->ops->rooms_of(m, s, fn, ud);
}

void inner_each(sio_adapter *b, const sio_target *t, void (*fn)(sio_socket *, void *), void *ud) {
    sio_adapter *m = mem_of(b);
    m->ops->each(m, t, fn, ud);
}

int inner_broadcast(sio_adapter *b, const sio_adapter_packet *pkt, const sio_target *t) {
    sio_adapter *m = mem_of(b);
    return m->ops->broadcast(m, pkt, t);
}

size_t inner_room_count(sio_adapter *b) {
    sio_adapter *m = mem_of(b);
    return m->ops->room_count(m);
}

int inner_persist_session(sio_adapter *b, const sio_session *s) {
    sio_adapter *m = mem_of(b);
    return m->ops->persist_session(m, s);
}

int inner_restore_session(sio_adapter *b, const char *pid, const char *offset, sio_restore_cb cb,
                          void *ud) {
    sio_adapter *m = mem_of(b);
    return m->ops->restore_session(m, pid, offset, cb, ud);
}

void inner_recovery_stats(sio_adapter *b, sio_recovery_stats *out) {
    sio_adapter *m = mem_of(b);
    m->ops->recovery_stats(m, out);
}
