/* The public /ws API (include/sio/websocket.h) over real TCP on 127.0.0.1:
 * a sio_http listener on a free port, a sio_ws_server with a small
 * max_buffered, and clients played by the test in the same loop. Covers the
 * backpressure contract: sio_ws_writable and on_drain for producers that
 * wait, the 1013 close of a peer that stopped reading (its backlog cut at a
 * frame boundary, on_close from the loop and not inside the send), and a
 * close queued from on_drain reaching the peer. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "sio/loop.h"
#include "sio/status.h"
#include "sio/websocket.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "ws/frame.h"

#define MAX_BUFFERED (64u * 1024)
#define MSG_SIZE     1000

static sio_loop *loop;
static sio_http *http;
static sio_ws_server *srv;

/* ---- the server side: a producer of numbered messages ---- */

typedef struct app {
    sio_ws_peer *peer; /* NULL once on_close ran */
    int opened, closed, close_code;
    int drains, pauses;
    int total, sent;   /* messages to send, sent so far */
    int close_on_done; /* on_drain after the last message: sio_ws_close 4002 */
    int wait_drain;    /* producer paused, waiting for on_drain */
} app;

static app the_app;

static void message(char *buf, int seq) {
    memset(buf, 'x', MSG_SIZE);
    int n = snprintf(buf, MSG_SIZE, "%d:", seq);
    buf[n] = 'x';
}

/* Send while sio_ws_writable says so; otherwise wait for on_drain. */
static void pump(app *a) {
    char buf[MSG_SIZE];
    while (a->peer && a->sent < a->total) {
        if (!sio_ws_writable(a->peer)) {
            a->pauses++;
            a->wait_drain = 1;
            return;
        }
        message(buf, a->sent);
        CHECK(sio_ws_send(a->peer, buf, MSG_SIZE, 0) == SIO_OK);
        a->sent++;
    }
    /* The last round: on_drain closes once it is all out. */
    if (a->close_on_done && a->peer && a->sent == a->total) CHECK(!sio_ws_writable(a->peer));
}

static void on_open(sio_ws_peer *p, void *ud) {
    app *a = ud;
    a->peer = p;
    a->opened++;
}

static void on_close(sio_ws_peer *p, int code, void *ud) {
    app *a = ud;
    if (p == a->peer) a->peer = NULL;
    a->closed++;
    a->close_code = code;
}

static void on_drain(sio_ws_peer *p, void *ud) {
    app *a = ud;
    CHECK(p == a->peer);
    a->drains++;
    if (a->close_on_done && a->sent == a->total) {
        /* Allowed inside on_drain; the close frame must still go out. */
        sio_ws_close(p, 4002, "done");
        return;
    }
    if (a->wait_drain) {
        a->wait_drain = 0;
        pump(a);
    }
}

static const sio_ws_callbacks callbacks = {
    .on_open = on_open, .on_close = on_close, .on_drain = on_drain};

/* ---- the client side ---- */

typedef struct client {
    sio_io io;
    int reading; /* read what arrives (else leave it in the kernel) */
    int eof;
    sbuf in;
} client;

static void client_io(sio_loop *l, sio_io *io, uint32_t ev) {
    client *c = (client *)io;
    if (!c->reading) return;
    while (!c->eof) {
        if (sbuf_reserve(&c->in, 65536)) break;
        ssize_t n = recv(c->io.fd, c->in.data + c->in.len, 65536, MSG_DONTWAIT);
        if (n > 0) {
            c->in.len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) c->eof = 1;
        break;
    }
    sio_loop_mod(loop, &c->io, c->eof ? 0 : EPOLLIN);
}

static void client_read(client *c, int on) {
    c->reading = on;
    sio_loop_mod(loop, &c->io, on && !c->eof ? EPOLLIN : 0);
    if (on) client_io(loop, &c->io, EPOLLIN);
}

/* A server frame at p: opcode, payload, whole size (ws_frame_size, the
 * server's own reading of its queue); 0 when incomplete. */
static size_t frame_at(const uint8_t *p, size_t n, int *opcode, const uint8_t **data, size_t *len) {
    size_t f = ws_frame_size(p, n);
    if (!f || f > n) return 0;
    size_t h = (p[1] & 127) == 126 ? 4 : (p[1] & 127) == 127 ? 10 : 2;
    *opcode = p[0] & 15;
    *data = p + h;
    *len = f - h;
    return f;
}

typedef struct stream {
    int messages;   /* text frames "<seq>:xxx" in order from 0 */
    int bad;        /* frames out of order or damaged */
    int close_code; /* -1: no close frame */
    size_t rest;    /* bytes after the last whole frame */
} stream;

static stream parse(const client *c) {
    stream s = {0, 0, -1, 0};
    size_t off = 0;
    if (!c->in.len) return s;
    /* Skip the 101 response. */
    const char *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
    if (!end) return s;
    off = (size_t)((const uint8_t *)end - c->in.data) + 4;
    char want[MSG_SIZE];
    for (;;) {
        int op;
        const uint8_t *d;
        size_t len, f = frame_at(c->in.data + off, c->in.len - off, &op, &d, &len);
        if (!f) break;
        off += f;
        if (op == 0x8) {
            s.close_code = len >= 2 ? d[0] << 8 | d[1] : 1005;
        } else if (op == 0x1) {
            message(want, s.messages);
            if (len != MSG_SIZE || memcmp(d, want, MSG_SIZE) != 0) s.bad++;
            s.messages++;
        } else if (op != 0x9) {
            s.bad++;
        }
    }
    s.rest = c->in.len - off;
    return s;
}

static void client_open(client *c, int rcvbuf) {
    memset(c, 0, sizeof *c);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    /* A small receive buffer: the server's queue fills soon after. */
    if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)sio_http_port(http))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    static const char req[] =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    CHECK(send(fd, req, sizeof req - 1, 0) == (ssize_t)(sizeof req - 1));
    c->io.fd = fd;
    c->io.cb = client_io;
    c->reading = 1;
    CHECK(sio_loop_add(loop, &c->io, EPOLLIN) == SIO_OK);
}

static void client_close(client *c) {
    sio_loop_del(loop, &c->io);
    close(c->io.fd);
    sbuf_free(&c->in);
}

/* ---- running the loop ---- */

typedef int (*cond_fn)(void *);
static cond_fn until_fn;
static void *until_arg;

static void until_hook(sio_loop *l, void *ud) {
    if (until_fn && until_fn(until_arg)) sio_loop_stop(l);
}

static void on_timeout(sio_loop *l, sio_timer *t) {
    sio_loop_stop(l);
}

/* Run the loop until cond(arg) holds or ms elapse; 1 when it held. */
static int run_until(cond_fn cond, void *arg, uint64_t ms) {
    until_fn = cond;
    until_arg = arg;
    sio_timer t;
    memset(&t, 0, sizeof t);
    sio_loop_update_time(loop);
    sio_timer_start(loop, &t, ms, on_timeout);
    if (!cond(arg)) sio_loop_run(loop);
    sio_timer_stop(loop, &t);
    until_fn = NULL;
    return cond(arg);
}

static int c_opened(void *a) {
    return the_app.opened > 0;
}
static int c_closed(void *a) {
    return the_app.closed > 0;
}
static int c_eof(void *a) {
    return ((client *)a)->eof;
}
static int c_sent_all(void *a) {
    return the_app.sent == the_app.total && !the_app.wait_drain;
}

static void app_reset(int total) {
    memset(&the_app, 0, sizeof the_app);
    the_app.total = total;
}

/* ---- tests ---- */

static int c_got_all(void *a) {
    return parse(a).messages >= the_app.total || ((client *)a)->eof;
}

/* A producer that follows sio_ws_writable / on_drain delivers everything to
 * a reading peer and is never cut off. */
static void test_drain(void) {
    app_reset(2000); /* 2 MB through a 64 KiB bound */
    double shed_before = metrics_sum(sio_loop_metrics(loop), "sio_backpressure_disconnects_total");
    client c;
    client_open(&c, 0);
    CHECK(run_until(c_opened, NULL, 5000));
    pump(&the_app);
    CHECK(the_app.pauses == 1); /* 32 KiB queued in one go: not writable */
    CHECK(sio_ws_buffered(the_app.peer) >= MAX_BUFFERED / 2);
    CHECK(run_until(c_sent_all, NULL, 10000));
    CHECK(the_app.drains == the_app.pauses);
    CHECK(the_app.pauses > 1);
    CHECK(the_app.closed == 0);
    CHECK(run_until(c_got_all, &c, 10000));
    stream s = parse(&c);
    CHECK(s.messages == 2000 && s.bad == 0);
    client_close(&c);
    CHECK(run_until(c_closed, NULL, 5000));
    CHECK(the_app.close_code == 1006);
    CHECK(metrics_sum(sio_loop_metrics(loop), "sio_backpressure_disconnects_total") == shed_before);
}

/* Same, reading the stream: every message in order; then a close queued
 * from on_drain reaches the peer (the half-close waits for it). */
static void test_drain_then_close(void) {
    /* Each round starts from an empty queue and sends 33 frames of 1004
     * bytes (the first past half the bound): the last of 15 rounds ends not
     * writable, so the close comes from on_drain. */
    app_reset(33 * 15);
    the_app.close_on_done = 1;
    client c;
    client_open(&c, 0);
    CHECK(run_until(c_opened, NULL, 5000));
    pump(&the_app);
    CHECK(run_until(c_eof, &c, 10000));
    CHECK(the_app.pauses == 14 && the_app.drains == 15);
    stream s = parse(&c);
    CHECK(s.messages == 33 * 15);
    CHECK(s.bad == 0);
    CHECK(s.close_code == 4002);
    CHECK(the_app.closed == 1 && the_app.close_code == 4002);
    client_close(&c);
}

/* Messages in small batches, one batch per loop turn, until the peer is cut
 * off: the kernel buffers fill first, then the server's queue. */
static sio_timer flood_timer;
static int flood_result;

static void flood_tick(sio_loop *l, sio_timer *t) {
    char buf[MSG_SIZE];
    for (int i = 0; i < 8 && the_app.peer; i++) {
        message(buf, the_app.sent);
        int r = sio_ws_send(the_app.peer, buf, MSG_SIZE, 0);
        if (r != SIO_OK) {
            flood_result = r;
            /* Not reported yet: the peer is still valid here. */
            CHECK(the_app.closed == 0);
            CHECK(sio_ws_peer_data(the_app.peer) == &the_app);
            CHECK(!sio_ws_writable(the_app.peer));
            CHECK(sio_ws_send(the_app.peer, "x", 1, 0) == SIO_ECLOSED);
            return;
        }
        the_app.sent++;
    }
    if (the_app.peer) sio_timer_start(l, t, 1, flood_tick);
}

static int c_flood_over(void *a) {
    return flood_result != 0 && the_app.closed;
}

/* Open a client that stops reading after the handshake and flood it until
 * the server cuts it off. */
static void flood_stalled(client *c) {
    client_open(c, 4096);
    CHECK(run_until(c_opened, NULL, 5000));
    client_read(c, 0);
    sio_ws_peer_set_data(the_app.peer, &the_app);
    flood_result = 0;
    memset(&flood_timer, 0, sizeof flood_timer);
    sio_timer_start(loop, &flood_timer, 1, flood_tick);
    CHECK(run_until(c_flood_over, NULL, 20000));
    sio_timer_stop(loop, &flood_timer);
}

/* A peer that stops reading is closed with 1013 once its queue would pass
 * max_buffered; when it reads again (within the 2 s linger) it finds a clean
 * prefix of the stream, then the close frame, then the end. */
static void test_shed(void) {
    app_reset(1000000);
    double shed_before = metrics_sum(sio_loop_metrics(loop), "sio_backpressure_disconnects_total");
    client c;
    flood_stalled(&c);
    CHECK(flood_result == SIO_ECLOSED);
    CHECK(the_app.close_code == 1013);
    CHECK(the_app.peer == NULL);
    CHECK(sio_ws_server_count(srv) == 0);
    CHECK(metrics_sum(sio_loop_metrics(loop), "sio_backpressure_disconnects_total") ==
          shed_before + 1);
    /* More than the bound was sent, less than what was sent arrives. */
    CHECK((size_t)the_app.sent * MSG_SIZE > MAX_BUFFERED);
    client_read(&c, 1);
    CHECK(run_until(c_eof, &c, 5000));
    stream s = parse(&c);
    CHECK(s.bad == 0);
    CHECK(s.rest == 0);
    CHECK(s.close_code == 1013);
    CHECK(s.messages > 0 && s.messages < the_app.sent);
    fprintf(stderr, "shed: %d sent, %d received before the close frame\n", the_app.sent,
            s.messages);
    client_close(&c);
}

/* A peer that never reads again: its socket is closed by the server after
 * the linger time anyway (the client then reads what the kernel held and
 * the end of the stream). */
static int fd_count(void) {
    int n = 0;
    char path[64];
    for (int fd = 0; fd < 1024; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (access(path, F_OK) == 0) n++;
    }
    return n;
}

static int fds_want;
static int c_fds(void *a) {
    return fd_count() <= fds_want;
}

static void test_shed_never_reads(void) {
    app_reset(1000000);
    client c;
    flood_stalled(&c);
    /* The server's end of the connection is still open (the close frame may
     * yet go out), and closed by the linger timer although nothing is read. */
    int fds = fd_count();
    uint64_t t0 = sio_loop_update_time(loop);
    fds_want = fds - 1;
    CHECK(run_until(c_fds, NULL, 3500));
    uint64_t waited = sio_loop_update_time(loop) - t0;
    CHECK(waited >= 1500 && waited <= 3500);
    fprintf(stderr, "never reads: server socket closed %llu ms after the 1013\n",
            (unsigned long long)waited);
    /* The client's stream ends after what the kernel held: whole frames,
     * the last maybe cut (what was queued in the server then is gone). */
    client_read(&c, 1);
    CHECK(run_until(c_eof, &c, 5000));
    stream s = parse(&c);
    CHECK(s.bad == 0);
    CHECK(s.messages > 0);
    CHECK(s.close_code == -1 || s.close_code == 1013);
    client_close(&c);
}

int main(void) {
    loop = sio_loop_new();
    CHECK(loop != NULL);
    sio_http_options ho;
    sio_http_options_init(&ho);
    ho.host = "127.0.0.1";
    ho.port = 0;
    int err = 0;
    http = sio_http_new(loop, &ho, &err);
    CHECK(http != NULL);
    sio_ws_options wo;
    sio_ws_options_init(&wo);
    CHECK(wo.max_buffered == 1u << 20);
    wo.max_buffered = MAX_BUFFERED;
    srv = sio_ws_server_new(loop, http, &wo, &callbacks, &the_app, &err);
    CHECK(srv != NULL);
    CHECK(sio_loop_add_hook(loop, until_hook, NULL) == SIO_OK);

    test_drain();
    test_drain_then_close();
    test_shed();
    test_shed_never_reads();

    sio_ws_server_free(srv);
    sio_http_free(http);
    sio_loop_free(loop);
    return CHECK_DONE();
}
