#include "eio/session.h"

#include <string.h>

void eio_core_init(eio_core *c, eio_transport t) {
    c->state = EIO_ST_OPEN;
    c->transport = (uint8_t)t;
    c->upgrade = EIO_UP_NONE;
    c->hb = EIO_HB_WAIT_PING;
}

eio_action eio_core_probe_attached(eio_core *c) {
    if (c->state != EIO_ST_OPEN || c->transport != EIO_TR_POLLING || c->upgrade != EIO_UP_NONE)
        return EIO_ACT_CLOSE_PROBE;
    c->upgrade = EIO_UP_PROBING;
    return EIO_ACT_NONE;
}

void eio_core_probe_detached(eio_core *c) {
    if (c->transport == EIO_TR_POLLING) c->upgrade = EIO_UP_NONE;
}

static int is_probe(const eio_packet *p) {
    return p->len == 5 && memcmp(p->data, "probe", 5) == 0;
}

static eio_action on_probe_packet(eio_core *c, const eio_packet *p) {
    if (c->state != EIO_ST_OPEN) return EIO_ACT_CLOSE_PROBE;
    if (c->upgrade == EIO_UP_PROBING && p->type == EIO_PING && is_probe(p)) {
        c->upgrade = EIO_UP_PROBED;
        return EIO_ACT_PROBE_REPLY;
    }
    if (c->upgrade == EIO_UP_PROBED && p->type == EIO_UPGRADE) {
        c->transport = EIO_TR_WEBSOCKET;
        c->upgrade = EIO_UP_NONE;
        return EIO_ACT_UPGRADE;
    }
    /* Anything else on a half-upgraded socket: the reference closes the
     * probe and the session goes on over polling. */
    return EIO_ACT_CLOSE_PROBE;
}

eio_action eio_core_on_packet(eio_core *c, eio_source src, const eio_packet *p) {
    if (src == EIO_SRC_PROBE) return p ? on_probe_packet(c, p) : EIO_ACT_CLOSE_PROBE;
    if (c->state != EIO_ST_OPEN) return EIO_ACT_NONE;
    if (!p) return EIO_ACT_CLOSE_PARSE_ERROR;
    switch (p->type) {
    case EIO_MESSAGE:
        return EIO_ACT_DELIVER;
    case EIO_PONG:
        /* A pong that answers no ping is ignored, as the reference does:
         * only a pong can move the heartbeat forward. */
        if (c->hb != EIO_HB_WAIT_PONG) return EIO_ACT_NONE;
        c->hb = EIO_HB_WAIT_PING;
        return EIO_ACT_HEARTBEAT_OK;
    case EIO_CLOSE:
        return EIO_ACT_CLOSE_TRANSPORT_CLOSE;
    case EIO_PING:
        /* v4 heartbeats go server -> client only; the reference treats a
         * client ping as a broken peer ("invalid heartbeat direction"). */
        return EIO_ACT_CLOSE_TRANSPORT_ERROR;
    case EIO_OPEN:
    case EIO_UPGRADE:
    case EIO_NOOP:
        return EIO_ACT_NONE;
    }
    return EIO_ACT_CLOSE_PARSE_ERROR;
}

eio_action eio_core_on_timer(eio_core *c) {
    if (c->state != EIO_ST_OPEN) return EIO_ACT_NONE;
    if (c->hb == EIO_HB_WAIT_PING) {
        c->hb = EIO_HB_WAIT_PONG;
        return EIO_ACT_SEND_PING;
    }
    return EIO_ACT_CLOSE_PING_TIMEOUT;
}

const char *eio_action_reason(eio_action a) {
    switch (a) {
    case EIO_ACT_CLOSE_TRANSPORT_CLOSE:
        return "transport close";
    case EIO_ACT_CLOSE_PARSE_ERROR:
        return "parse error";
    case EIO_ACT_CLOSE_PING_TIMEOUT:
        return "ping timeout";
    case EIO_ACT_CLOSE_TRANSPORT_ERROR:
        return "transport error";
    default:
        return "";
    }
}
