/* The sans-I/O Engine.IO session state machine: heartbeat, messages, close,
 * parse errors and the polling -> WebSocket upgrade. */
#include <string.h>

#include "check.h"
#include "eio/packet.h"
#include "eio/session.h"
#include "sio/status.h"

/* Feed a text-form packet ("4hello", "2probe"); NULL feeds a parse error. */
static eio_action feed(eio_core *c, eio_source src, const char *text) {
    if (!text) return eio_core_on_packet(c, src, NULL);
    eio_packet p;
    if (eio_decode_text((const uint8_t *)text, strlen(text), &p) != SIO_OK)
        return eio_core_on_packet(c, src, NULL);
    return eio_core_on_packet(c, src, &p);
}

static eio_action feed_binary(eio_core *c, eio_source src, const uint8_t *data, size_t len) {
    eio_packet p = {EIO_MESSAGE, 1, data, len};
    return eio_core_on_packet(c, src, &p);
}

static void test_init(void) {
    eio_core c;
    memset(&c, 0xff, sizeof c);
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(c.state == EIO_ST_OPEN && c.transport == EIO_TR_POLLING);
    CHECK(c.upgrade == EIO_UP_NONE && c.hb == EIO_HB_WAIT_PING);
    memset(&c, 0xff, sizeof c);
    eio_core_init(&c, EIO_TR_WEBSOCKET);
    CHECK(c.state == EIO_ST_OPEN && c.transport == EIO_TR_WEBSOCKET);
    CHECK(c.upgrade == EIO_UP_NONE && c.hb == EIO_HB_WAIT_PING);
}

static void test_heartbeat(void) {
    for (int t = EIO_TR_POLLING; t <= EIO_TR_WEBSOCKET; t++) {
        eio_core c;
        eio_core_init(&c, (eio_transport)t);
        /* Several full rounds: ping, pong, ping, pong... */
        for (int round = 0; round < 5; round++) {
            CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
            CHECK(c.hb == EIO_HB_WAIT_PONG);
            CHECK(feed(&c, EIO_SRC_TRANSPORT, "3") == EIO_ACT_HEARTBEAT_OK);
            CHECK(c.hb == EIO_HB_WAIT_PING);
            /* A second pong answers nothing. */
            CHECK(feed(&c, EIO_SRC_TRANSPORT, "3") == EIO_ACT_NONE);
            CHECK(c.hb == EIO_HB_WAIT_PING);
        }
        /* A pong with data also counts. */
        CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
        CHECK(feed(&c, EIO_SRC_TRANSPORT, "3xyz") == EIO_ACT_HEARTBEAT_OK);
        /* No pong before the timeout: the session times out. */
        CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
        CHECK(eio_core_on_timer(&c) == EIO_ACT_CLOSE_PING_TIMEOUT);
        CHECK(strcmp(eio_action_reason(EIO_ACT_CLOSE_PING_TIMEOUT), "ping timeout") == 0);
    }

    /* A pong without a ping is ignored and does not shorten the next wait. */
    eio_core c;
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "3") == EIO_ACT_NONE);
    CHECK(c.hb == EIO_HB_WAIT_PING && c.state == EIO_ST_OPEN);
    CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
    /* Other packets do not count as a pong. */
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "4hello") == EIO_ACT_DELIVER);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "6") == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "0") == EIO_ACT_NONE);
    CHECK(c.hb == EIO_HB_WAIT_PONG);
    CHECK(eio_core_on_timer(&c) == EIO_ACT_CLOSE_PING_TIMEOUT);
}

static void test_messages(void) {
    eio_core c;
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "4hello") == EIO_ACT_DELIVER);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "4") == EIO_ACT_DELIVER);
    CHECK(feed_binary(&c, EIO_SRC_TRANSPORT, (const uint8_t *)"\x01\x02", 2) == EIO_ACT_DELIVER);
    CHECK(feed_binary(&c, EIO_SRC_TRANSPORT, NULL, 0) == EIO_ACT_DELIVER);
    /* Packets the client may send that need no action. */
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "6") == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "0") == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "5") == EIO_ACT_NONE);
    CHECK(c.state == EIO_ST_OPEN && c.transport == EIO_TR_POLLING && c.upgrade == EIO_UP_NONE);

    eio_core_init(&c, EIO_TR_WEBSOCKET);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "4hi") == EIO_ACT_DELIVER);
    CHECK(c.transport == EIO_TR_WEBSOCKET && c.upgrade == EIO_UP_NONE);
}

static void test_client_ping(void) {
    /* Heartbeats go server -> client only: a ping from the client on the
     * transport is a broken peer ("transport error"), whatever it carries. */
    static const char *pings[] = {"2", "2probe", "2x"};
    for (int t = EIO_TR_POLLING; t <= EIO_TR_WEBSOCKET; t++) {
        for (size_t i = 0; i < sizeof pings / sizeof pings[0]; i++) {
            eio_core c;
            eio_core_init(&c, (eio_transport)t);
            CHECK(feed(&c, EIO_SRC_TRANSPORT, pings[i]) == EIO_ACT_CLOSE_TRANSPORT_ERROR);
            eio_core_init(&c, (eio_transport)t);
            CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING); /* also while a pong is due */
            CHECK(feed(&c, EIO_SRC_TRANSPORT, pings[i]) == EIO_ACT_CLOSE_TRANSPORT_ERROR);
        }
    }
    /* During an upgrade, "2probe" on the polling transport is not the probe. */
    eio_core c;
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "2probe") == EIO_ACT_CLOSE_TRANSPORT_ERROR);
    /* The header promises the reason "transport error" for this action. */
    const char *why = eio_action_reason(EIO_ACT_CLOSE_TRANSPORT_ERROR);
    if (strcmp(why, "transport error") != 0)
        fprintf(stderr, "  eio_action_reason(EIO_ACT_CLOSE_TRANSPORT_ERROR) = \"%s\"\n", why);
    CHECK(strcmp(why, "transport error") == 0);
}

static void test_close_and_errors(void) {
    eio_core c;
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "1") == EIO_ACT_CLOSE_TRANSPORT_CLOSE);
    CHECK(strcmp(eio_action_reason(EIO_ACT_CLOSE_TRANSPORT_CLOSE), "transport close") == 0);

    eio_core_init(&c, EIO_TR_WEBSOCKET);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "1") == EIO_ACT_CLOSE_TRANSPORT_CLOSE);

    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, NULL) == EIO_ACT_CLOSE_PARSE_ERROR);
    CHECK(strcmp(eio_action_reason(EIO_ACT_CLOSE_PARSE_ERROR), "parse error") == 0);
    eio_core_init(&c, EIO_TR_WEBSOCKET);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "9") == EIO_ACT_CLOSE_PARSE_ERROR);

    /* An out-of-range type in a hand-made packet is a parse error too. */
    eio_core_init(&c, EIO_TR_POLLING);
    eio_packet bogus = {(eio_ptype)7, 0, (const uint8_t *)"", 0};
    CHECK(eio_core_on_packet(&c, EIO_SRC_TRANSPORT, &bogus) == EIO_ACT_CLOSE_PARSE_ERROR);

    /* Non-close actions have no reason. */
    CHECK(strcmp(eio_action_reason(EIO_ACT_NONE), "") == 0);
    CHECK(strcmp(eio_action_reason(EIO_ACT_DELIVER), "") == 0);
    CHECK(strcmp(eio_action_reason(EIO_ACT_UPGRADE), "") == 0);
    CHECK(strcmp(eio_action_reason(EIO_ACT_CLOSE_PROBE), "") == 0);
}

static void test_after_close(void) {
    for (int st = EIO_ST_CLOSING; st <= EIO_ST_CLOSED; st++) {
        eio_core c;
        eio_core_init(&c, EIO_TR_POLLING);
        CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
        c.state = (uint8_t)st; /* the adapter closed the session */
        CHECK(feed(&c, EIO_SRC_TRANSPORT, "4late") == EIO_ACT_NONE);
        CHECK(feed(&c, EIO_SRC_TRANSPORT, "3") == EIO_ACT_NONE);
        CHECK(feed(&c, EIO_SRC_TRANSPORT, "1") == EIO_ACT_NONE);
        CHECK(feed(&c, EIO_SRC_TRANSPORT, "2") == EIO_ACT_NONE);
        CHECK(feed(&c, EIO_SRC_TRANSPORT, NULL) == EIO_ACT_NONE);
        CHECK(eio_core_on_timer(&c) == EIO_ACT_NONE);
        CHECK(eio_core_on_timer(&c) == EIO_ACT_NONE);
        /* No upgrade of a closed session. */
        CHECK(eio_core_probe_attached(&c) == EIO_ACT_CLOSE_PROBE);
        CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_CLOSE_PROBE);
        CHECK(c.state == st && c.transport == EIO_TR_POLLING);
    }

    /* Closed while a probe was in progress: the probe is refused. */
    eio_core c;
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_PROBE_REPLY);
    c.state = EIO_ST_CLOSED;
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_CLOSE_PROBE);
    CHECK(c.transport == EIO_TR_POLLING);
}

static void test_upgrade(void) {
    eio_core c;
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(c.upgrade == EIO_UP_PROBING);
    /* The polling transport keeps working during the probe. */
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "4during") == EIO_ACT_DELIVER);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_PROBE_REPLY);
    CHECK(c.upgrade == EIO_UP_PROBED && c.transport == EIO_TR_POLLING);
    CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "3") == EIO_ACT_HEARTBEAT_OK);
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_UPGRADE);
    CHECK(c.transport == EIO_TR_WEBSOCKET && c.upgrade == EIO_UP_NONE);
    CHECK(c.state == EIO_ST_OPEN && c.hb == EIO_HB_WAIT_PING);
    /* Now the WebSocket is the transport. */
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "4after") == EIO_ACT_DELIVER);
    CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "3") == EIO_ACT_HEARTBEAT_OK);
    /* A second probe on an upgraded session is refused. */
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_CLOSE_PROBE);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_CLOSE_PROBE);
    /* A late probe_detached does not undo the upgrade. */
    eio_core_probe_detached(&c);
    CHECK(c.transport == EIO_TR_WEBSOCKET && c.upgrade == EIO_UP_NONE);

    /* The heartbeat state survives the upgrade. */
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_on_timer(&c) == EIO_ACT_SEND_PING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_PROBE_REPLY);
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_UPGRADE);
    CHECK(eio_core_on_timer(&c) == EIO_ACT_CLOSE_PING_TIMEOUT);

    /* "5" before "2probe" is wrong. */
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_CLOSE_PROBE);
    CHECK(c.transport == EIO_TR_POLLING);
}

static void test_bad_probe(void) {
    /* Anything but "2probe" then "5" closes the probe and keeps the session. */
    static const char *first_bad[] = {"2", "2prob", "2probee", "3probe", "4probe", "1",
                                      "6", "0",     "5",       "2PROBE", NULL};
    for (size_t i = 0; i < sizeof first_bad / sizeof first_bad[0]; i++) {
        eio_core c;
        eio_core_init(&c, EIO_TR_POLLING);
        CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
        eio_action a = feed(&c, EIO_SRC_PROBE, first_bad[i]);
        if (a != EIO_ACT_CLOSE_PROBE)
            fprintf(stderr, "  probe packet '%s' gave %d\n", first_bad[i] ? first_bad[i] : "(null)",
                    a);
        CHECK(a == EIO_ACT_CLOSE_PROBE);
        CHECK(c.state == EIO_ST_OPEN && c.transport == EIO_TR_POLLING);
        /* The adapter closes the probe; the session goes on. */
        eio_core_probe_detached(&c);
        CHECK(c.upgrade == EIO_UP_NONE);
        CHECK(feed(&c, EIO_SRC_TRANSPORT, "4still") == EIO_ACT_DELIVER);
    }
    static const char *second_bad[] = {"2probe", "4x", "6", "3probe", "1", "2", NULL};
    for (size_t i = 0; i < sizeof second_bad / sizeof second_bad[0]; i++) {
        eio_core c;
        eio_core_init(&c, EIO_TR_POLLING);
        CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
        CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_PROBE_REPLY);
        CHECK(feed(&c, EIO_SRC_PROBE, second_bad[i]) == EIO_ACT_CLOSE_PROBE);
        CHECK(c.state == EIO_ST_OPEN && c.transport == EIO_TR_POLLING);
    }
    /* A binary message on the probe. */
    eio_core c;
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed_binary(&c, EIO_SRC_PROBE, (const uint8_t *)"probe", 5) == EIO_ACT_CLOSE_PROBE);

    /* A packet from a probe that was never attached. */
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_CLOSE_PROBE);
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_CLOSE_PROBE);
    CHECK(c.transport == EIO_TR_POLLING && c.upgrade == EIO_UP_NONE);
}

static void test_probe_attach_rules(void) {
    eio_core c;
    /* A second probe while one is in progress is refused; the first goes on. */
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_CLOSE_PROBE);
    CHECK(c.upgrade == EIO_UP_PROBING);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_PROBE_REPLY);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_CLOSE_PROBE);
    CHECK(c.upgrade == EIO_UP_PROBED);
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_UPGRADE);

    /* A probe on a WebSocket session is refused. */
    eio_core_init(&c, EIO_TR_WEBSOCKET);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_CLOSE_PROBE);
    CHECK(c.upgrade == EIO_UP_NONE && c.transport == EIO_TR_WEBSOCKET);

    /* probe_detached resets, in either probe state, and a new probe may come. */
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    eio_core_probe_detached(&c);
    CHECK(c.upgrade == EIO_UP_NONE && c.transport == EIO_TR_POLLING);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_CLOSE_PROBE); /* nothing attached */
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_PROBE_REPLY);
    eio_core_probe_detached(&c);
    CHECK(c.upgrade == EIO_UP_NONE && c.transport == EIO_TR_POLLING);
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_CLOSE_PROBE);
    CHECK(c.transport == EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_PROBE, "2probe") == EIO_ACT_PROBE_REPLY);
    CHECK(feed(&c, EIO_SRC_PROBE, "5") == EIO_ACT_UPGRADE);
    CHECK(c.transport == EIO_TR_WEBSOCKET);

    /* probe_detached without a probe is harmless. */
    eio_core_init(&c, EIO_TR_POLLING);
    eio_core_probe_detached(&c);
    CHECK(c.upgrade == EIO_UP_NONE && c.state == EIO_ST_OPEN);

    /* A client close on the polling transport during the probe. */
    eio_core_init(&c, EIO_TR_POLLING);
    CHECK(eio_core_probe_attached(&c) == EIO_ACT_NONE);
    CHECK(feed(&c, EIO_SRC_TRANSPORT, "1") == EIO_ACT_CLOSE_TRANSPORT_CLOSE);
}

int main(void) {
    test_init();
    test_heartbeat();
    test_messages();
    test_client_ping();
    test_close_and_errors();
    test_after_close();
    test_upgrade();
    test_bad_probe();
    test_probe_attach_rules();
    return CHECK_DONE();
}
