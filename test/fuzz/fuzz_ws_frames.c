/* libFuzzer target for the server-side WebSocket connection (src/ws/conn.c).
 *
 * The fuzzer plays the client of one ws_conn over a socketpair, driven by a
 * real sio_loop. Input layout:
 *   byte 0      flags (see F_* below)
 *   then chunks [n][n + 1 bytes]: each chunk is written to the client end and
 *               the loop runs until the server has read it, so the fuzzer
 *               chooses where the byte stream is split. With F_PRE the first
 *               chunk is handed to ws_conn_new as bytes read before the upgrade.
 * The handler checks what the connection promises (text is valid UTF-8,
 * messages fit max_message, on_close runs once with a sensible code) and the
 * client side checks every frame the server writes. No sleeps: a guard timer
 * turns a stuck loop into a crash. Inputs also abort connections from the
 * handler and close the client side mid-stream, which once exposed a
 * use-after-free of a destroyed connection still on the flush list. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sio/loop.h"
#include "sio/status.h"
#include "util/buf.h"
#include "ws/conn.h"
#include "ws/frame.h"

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

enum {
    F_PRE = 1,       /* the first chunk arrives as pre-upgrade bytes */
    F_SMALL = 2,     /* max_message 64 instead of 1 MiB */
    F_ECHO = 4,      /* the handler echoes messages and answers pongs with a ping */
    F_EOF = 8,       /* the client shuts its side down at the end */
    F_ACTIONS = 16,  /* a message starting with 'X' makes the handler close */
    F_TIMEOUT = 32,  /* the owner arms a 0 ms timer on each message */
    F_ABORT = 64,    /* a message starting with 'A' makes the handler abort (known bug) */
    F_EOF_NOW = 128, /* the EOF follows the last chunk without a pause (known bug) */
};

typedef struct fstate {
    int flags;
    uint32_t max;
    int closes;
    int gone; /* the connection will not call back any more */
    int sfd;
    int cfd;
    sbuf rx; /* bytes from the server not yet parsed */
} fstate;

static fstate st;
static sio_loop *loop;
static int stop_when_drained;

static int valid_close_code(int code) {
    return (code >= 1000 && code <= 1003) || (code >= 1006 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static void on_owner_timer(sio_loop *l, sio_timer *t) {}

static void f_message(ws_conn *c, int binary, const uint8_t *d, size_t n) {
    REQUIRE(!st.gone);
    REQUIRE(n <= st.max);
    if (!binary) REQUIRE(ws_utf8_valid(d, n));
    if (st.flags & F_ECHO)
        REQUIRE(ws_conn_send(c, binary ? WS_OP_BINARY : WS_OP_TEXT, d, n) == SIO_OK);
    if (st.flags & F_TIMEOUT) ws_conn_set_timeout(c, 0, on_owner_timer);
    if ((st.flags & F_ACTIONS) && n && d[0] == 'X') {
        ws_conn_close(c, 4000, "closed by the handler");
        st.gone = 1;
        return;
    }
    if ((st.flags & F_ABORT) && n && d[0] == 'A') {
        ws_conn_abort(c);
        st.gone = 1;
    }
}

static void f_close(ws_conn *c, int code) {
    REQUIRE(!st.gone);
    REQUIRE(++st.closes == 1);
    REQUIRE(valid_close_code(code));
    st.gone = 1;
}

static void f_pong(ws_conn *c) {
    REQUIRE(!st.gone);
    if (st.flags & F_ECHO) REQUIRE(ws_conn_send(c, WS_OP_PING, (const uint8_t *)"p", 1) == SIO_OK);
}

static const ws_handler handler = {f_message, f_close, f_pong, NULL};

/* Read what the server wrote and check each complete frame. */
static void client_read(void) {
    for (;;) {
        REQUIRE(sbuf_reserve(&st.rx, 65536) == SIO_OK);
        ssize_t n = recv(st.cfd, st.rx.data + st.rx.len, 65536, MSG_DONTWAIT);
        if (n <= 0) break;
        st.rx.len += (size_t)n;
    }
    size_t off = 0;
    for (;;) {
        const uint8_t *p = st.rx.data + off;
        size_t avail = st.rx.len - off;
        if (avail < 2) break;
        uint64_t len = p[1] & 127;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)p[2] << 8 | p[3];
            h = 4;
            REQUIRE(len >= 126);
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            h = 10;
            REQUIRE(len >= 65536);
        }
        if (avail - h < len) break;
        int op = p[0] & 15;
        REQUIRE(p[0] & 0x80);        /* FIN: the server never fragments */
        REQUIRE((p[0] & 0x70) == 0); /* no reserved bits */
        REQUIRE(!(p[1] & 0x80));     /* server frames are not masked */
        REQUIRE(op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CLOSE || op == WS_OP_PING ||
                op == WS_OP_PONG);
        if (op >= 8) REQUIRE(len <= 125);
        if (op == WS_OP_CLOSE) {
            REQUIRE(len != 1);
            if (len >= 2)
                REQUIRE(valid_close_code(p[h] << 8 | p[h + 1]) && (p[h] << 8 | p[h + 1]) != 1006);
        }
        off += h + (size_t)len;
    }
    sbuf_consume(&st.rx, off);
}

static int server_pending(void) {
    if (st.gone) return 0;
    int avail = 0;
    if (ioctl(st.sfd, FIONREAD, &avail) != 0) return 0;
    return avail;
}

static void hook(sio_loop *l, void *ud) {
    client_read();
    if (stop_when_drained ? server_pending() == 0 : st.gone) sio_loop_stop(l);
}

static void on_guard(sio_loop *l, sio_timer *t) {
    /* The server stopped making progress on a few hundred bytes: a hang. */
    __builtin_trap();
}

static void on_stop(sio_loop *l, sio_timer *t) {
    sio_loop_stop(l);
}

static void run(int until_drained) {
    sio_timer guard;
    memset(&guard, 0, sizeof guard);
    sio_loop_update_time(loop);
    sio_timer_start(loop, &guard, 10000, on_guard);
    stop_when_drained = until_drained;
    sio_loop_run(loop);
    sio_timer_stop(loop, &guard);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    memset(&st, 0, sizeof st);
    st.flags = data[0];
    st.max = (st.flags & F_SMALL) ? 64 : 1u << 20;
    data++;
    size--;

    loop = sio_loop_new();
    REQUIRE(loop);
    ws_ctx *ctx = ws_ctx_new(loop);
    REQUIRE(ctx);
    REQUIRE(sio_loop_add_hook(loop, hook, NULL) == SIO_OK);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    st.cfd = sv[0];
    st.sfd = sv[1];

    const uint8_t *pre = NULL;
    size_t pre_len = 0;
    if ((st.flags & F_PRE) && size) {
        pre_len = (size_t)data[0] + 1;
        if (pre_len > size - 1) pre_len = size - 1;
        pre = data + 1;
        data += 1 + pre_len;
        size -= 1 + pre_len;
    }
    ws_conn *c = ws_conn_new(ctx, st.sfd, pre, pre_len, st.max, &handler, NULL);
    REQUIRE(c);
    REQUIRE(ws_ctx_count(ctx) == 1);
    run(1); /* parses the pre-upgrade bytes */

    while (size && !st.gone) {
        size_t n = (size_t)data[0] + 1;
        if (n > size - 1) n = size - 1;
        const uint8_t *chunk = data + 1;
        data += 1 + n;
        size -= 1 + n;
        size_t off = 0;
        while (off < n && !st.gone) {
            ssize_t w = send(st.cfd, chunk + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                break;
            if ((st.flags & F_EOF_NOW) && !size && off == n) break;
            run(1);
        }
    }

    if ((st.flags & (F_EOF | F_EOF_NOW)) && !st.gone) {
        shutdown(st.cfd, SHUT_WR);
        run(0); /* on_close(1006) */
        REQUIRE(st.gone);
    }

    /* Teardown: the client goes away, the context closes what is left, and
     * one more iteration runs the deferred frees. */
    close(st.cfd);
    ws_ctx_free(ctx);
    sio_timer t;
    memset(&t, 0, sizeof t);
    sio_timer_start(loop, &t, 0, on_stop);
    stop_when_drained = 0;
    st.gone = 1;
    sio_loop_run(loop);
    sio_loop_remove_hook(loop, hook, NULL);
    sio_loop_free(loop);
    loop = NULL;
    sbuf_free(&st.rx);
    return 0;
}
