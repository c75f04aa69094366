/* The Engine.IO session state machine, sans-I/O: it takes packets (and which
 * connection they came on) and timer expiries, and answers with the action
 * the I/O adapter must carry out. It owns no socket, buffer or timer. */
#ifndef SIO_EIO_SESSION_H
#define SIO_EIO_SESSION_H

#include <stdint.h>

#include "eio/packet.h"

typedef enum eio_state {
    EIO_ST_OPEN,
    EIO_ST_CLOSING, /* app closed a polling session; the next GET gets "1" */
    EIO_ST_CLOSED,
} eio_state;

typedef enum eio_transport { EIO_TR_POLLING, EIO_TR_WEBSOCKET } eio_transport;

typedef enum eio_upgrade {
    EIO_UP_NONE,
    EIO_UP_PROBING, /* a WebSocket is attached, "2probe" not yet seen */
    EIO_UP_PROBED,  /* "3probe" sent; waiting for "5" */
} eio_upgrade;

typedef enum eio_hb {
    EIO_HB_WAIT_PING, /* the timer sends the next ping */
    EIO_HB_WAIT_PONG, /* the timer is the ping timeout */
} eio_hb;

typedef struct eio_core {
    uint8_t state;
    uint8_t transport;
    uint8_t upgrade;
    uint8_t hb;
} eio_core;

/* Which connection a packet arrived on. */
typedef enum eio_source {
    EIO_SRC_TRANSPORT, /* the session's current transport */
    EIO_SRC_PROBE,     /* the WebSocket being upgraded to */
} eio_source;

typedef enum eio_action {
    EIO_ACT_NONE,
    EIO_ACT_DELIVER,               /* hand the message to the application */
    EIO_ACT_HEARTBEAT_OK,          /* pong: re-arm the timer for the next ping */
    EIO_ACT_SEND_PING,             /* queue "2", arm the timer with the ping timeout */
    EIO_ACT_PROBE_REPLY,           /* send "3probe" on the probe; answer a held GET with "6" */
    EIO_ACT_UPGRADE,               /* switch to the probe; answer a held GET with "6" */
    EIO_ACT_CLOSE_PROBE,           /* the probe misbehaved: close it, keep the session */
    EIO_ACT_CLOSE_TRANSPORT_CLOSE, /* reason "transport close" */
    EIO_ACT_CLOSE_PARSE_ERROR,     /* reason "parse error" */
    EIO_ACT_CLOSE_TRANSPORT_ERROR, /* reason "transport error" */
    EIO_ACT_CLOSE_PING_TIMEOUT,    /* reason "ping timeout" */
} eio_action;

/* A fresh session on the given transport. */
void eio_core_init(eio_core *c, eio_transport t);
/* A WebSocket asking to become this session's transport was accepted. */
eio_action eio_core_probe_attached(eio_core *c);
/* The probe went away before the upgrade completed. */
void eio_core_probe_detached(eio_core *c);
/* A decoded packet (or SIO_EPARSE from the decoder: pass pkt NULL). */
eio_action eio_core_on_packet(eio_core *c, eio_source src, const eio_packet *pkt);
/* The heartbeat timer fired. */
eio_action eio_core_on_timer(eio_core *c);
/* Reason string for a close action. */
const char *eio_action_reason(eio_action a);

#endif
