/* The event loop: timer heap, stop/restart, deferred frees, before-sleep
 * hooks and file descriptors. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "check.h"
#include "sio/loop.h"
#include "sio/status.h"

static uint64_t rng_state = 0x13198a2e03707344ull;

static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* A guard timer stops a test loop that would otherwise hang. */
static sio_timer guard;
static int guard_fired;

static void on_guard(sio_loop *l, sio_timer *t) {
    guard_fired = 1;
    sio_loop_stop(l);
}

static void on_stop(sio_loop *l, sio_timer *t) {
    sio_loop_stop(l);
}

static void arm_guard(sio_loop *l, uint64_t ms) {
    guard_fired = 0;
    CHECK(sio_timer_start(l, &guard, ms, on_guard) == SIO_OK);
}

/* ---- deadline order ---- */

typedef struct rec_timer {
    sio_timer t;
    int id;
    uint64_t armed_at;
    uint64_t delay;
    int fired;
} rec_timer;

static int order[64];
static int n_order;
static int stop_after;
static int late_fire; /* fired before its deadline */

static void on_rec(sio_loop *l, sio_timer *t) {
    rec_timer *r = container_of(t, rec_timer, t);
    if (sio_loop_now(l) < r->armed_at + r->delay) late_fire++;
    if (sio_timer_active(t)) late_fire++; /* disarmed before the callback */
    r->fired++;
    if (n_order < 64) order[n_order++] = r->id;
    if (n_order == stop_after) sio_loop_stop(l);
}

static void start_rec(sio_loop *l, rec_timer *r, int id, uint64_t delay) {
    r->id = id;
    r->delay = delay;
    r->armed_at = sio_loop_now(l);
    CHECK(sio_timer_start(l, &r->t, delay, on_rec) == SIO_OK);
    CHECK(sio_timer_active(&r->t));
}

static void test_order(void) {
    sio_loop *l = sio_loop_new();
    CHECK(l != NULL);
    rec_timer r[6];
    memset(r, 0, sizeof r);
    static const uint64_t delays[6] = {30, 10, 20, 0, 5, 25};
    uint64_t t0 = sio_loop_now(l); /* the time the deadlines count from */
    for (int i = 0; i < 6; i++)
        start_rec(l, &r[i], i, delays[i]);
    n_order = 0;
    stop_after = 6;
    late_fire = 0;
    arm_guard(l, 3000);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(!guard_fired);
    CHECK(n_order == 6);
    static const int want[6] = {3, 4, 1, 2, 5, 0};
    CHECK(memcmp(order, want, sizeof want) == 0);
    CHECK(late_fire == 0);
    CHECK(sio_loop_now(l) >= t0 + 30);
    for (int i = 0; i < 6; i++)
        CHECK(r[i].fired == 1 && !sio_timer_active(&r[i].t));
    sio_timer_stop(l, &guard);
    sio_loop_free(l);
}

/* ---- stop, restart, stop() of timers ---- */

static void test_stop_restart(void) {
    sio_loop *l = sio_loop_new();
    rec_timer a, b, c, d;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);

    /* A timer stops the loop; run returns; run again continues with the rest. */
    start_rec(l, &a, 1, 5);
    start_rec(l, &b, 2, 15);
    n_order = 0;
    stop_after = 1;
    late_fire = 0;
    arm_guard(l, 3000);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(n_order == 1 && order[0] == 1);
    CHECK(sio_timer_active(&b.t));
    stop_after = 2;
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(n_order == 2 && order[1] == 2);
    CHECK(!guard_fired);

    /* A stopped timer does not fire; stopping twice or unarmed is harmless. */
    start_rec(l, &a, 1, 5);
    start_rec(l, &b, 2, 10);
    start_rec(l, &c, 3, 15);
    start_rec(l, &d, 4, 1);
    sio_timer_stop(l, &b.t);
    sio_timer_stop(l, &b.t);
    CHECK(!sio_timer_active(&b.t));
    sio_timer_stop(l, &d.t); /* the earliest one */
    rec_timer never;
    memset(&never, 0, sizeof never);
    sio_timer_stop(l, &never.t);
    n_order = 0;
    stop_after = 2;
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(n_order == 2 && order[0] == 1 && order[1] == 3);
    CHECK(b.fired == 1 && d.fired == 0 && !sio_timer_active(&d.t));
    CHECK(late_fire == 0);
    CHECK(!guard_fired);
    sio_timer_stop(l, &guard);
    sio_loop_free(l);
}

/* ---- re-arming ---- */

static int self_count;

static void on_self(sio_loop *l, sio_timer *t) {
    if (++self_count < 5) {
        CHECK(sio_timer_start(l, t, 1, on_self) == SIO_OK);
    } else {
        sio_loop_stop(l);
    }
}

static void test_rearm(void) {
    sio_loop *l = sio_loop_new();
    rec_timer a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);

    /* Re-arm later: 10 -> 40, with another timer at 20. */
    start_rec(l, &a, 1, 10);
    start_rec(l, &b, 2, 20);
    start_rec(l, &a, 1, 40);
    n_order = 0;
    stop_after = 2;
    late_fire = 0;
    arm_guard(l, 3000);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(n_order == 2 && order[0] == 2 && order[1] == 1);
    CHECK(a.fired == 1 && b.fired == 1);

    /* Re-arm earlier: 100 -> 3, with another timer at 20. */
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    start_rec(l, &a, 1, 100);
    start_rec(l, &b, 2, 20);
    start_rec(l, &c, 3, 50);
    start_rec(l, &a, 1, 3);
    n_order = 0;
    stop_after = 3;
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(n_order == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3);
    CHECK(a.fired == 1 && b.fired == 1 && c.fired == 1);
    CHECK(late_fire == 0);

    /* A timer re-arming itself from its callback. */
    sio_timer self;
    memset(&self, 0, sizeof self);
    self_count = 0;
    CHECK(sio_timer_start(l, &self, 0, on_self) == SIO_OK);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(self_count == 5 && !sio_timer_active(&self));
    CHECK(!guard_fired);
    sio_timer_stop(l, &guard);
    sio_loop_free(l);
}

/* ---- many timers ---- */

#define MANY 10000

typedef struct many_timer {
    sio_timer t;
    uint64_t deadline;
    int fired;
    int stopped;
} many_timer;

static uint64_t last_deadline;
static int many_fired, many_misordered, many_early;
static int many_expected;

static void on_many(sio_loop *l, sio_timer *t) {
    many_timer *m = container_of(t, many_timer, t);
    if (m->deadline < last_deadline) many_misordered++;
    if (m->deadline > sio_loop_now(l)) many_early++;
    last_deadline = m->deadline;
    m->fired++;
    if (++many_fired == many_expected) sio_loop_stop(l);
}

static void test_many(void) {
    sio_loop *l = sio_loop_new();
    many_timer *ts = calloc(MANY, sizeof *ts);
    uint64_t now = sio_loop_update_time(l);
    for (int i = 0; i < MANY; i++) {
        uint64_t d = rnd() % 60;
        ts[i].deadline = now + d;
        CHECK(sio_timer_start(l, &ts[i].t, d, on_many) == SIO_OK);
    }
    /* Stop some, re-arm others with a new random delay. */
    int expected = MANY;
    for (int i = 0; i < MANY; i++) {
        if (i % 7 == 3) {
            sio_timer_stop(l, &ts[i].t);
            ts[i].stopped = 1;
            expected--;
        } else if (i % 11 == 5) {
            uint64_t d = rnd() % 60;
            ts[i].deadline = now + d;
            CHECK(sio_timer_start(l, &ts[i].t, d, on_many) == SIO_OK);
        }
    }
    many_expected = expected;
    many_fired = many_misordered = many_early = 0;
    last_deadline = 0;
    arm_guard(l, 5000);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(!guard_fired);
    CHECK(many_fired == expected);
    CHECK(many_misordered == 0);
    CHECK(many_early == 0);
    int wrong = 0;
    for (int i = 0; i < MANY; i++)
        if (ts[i].fired != !ts[i].stopped || sio_timer_active(&ts[i].t)) wrong++;
    CHECK(wrong == 0);

    /* Stop everything in random order, while all are armed. */
    for (int i = 0; i < MANY; i++)
        CHECK(sio_timer_start(l, &ts[i].t, 1000 + rnd() % 1000, on_many) == SIO_OK);
    for (int i = 0; i < MANY; i++) {
        int j = (int)(rnd() % MANY);
        sio_timer_stop(l, &ts[j].t);
    }
    for (int i = 0; i < MANY; i++)
        sio_timer_stop(l, &ts[i].t);
    wrong = 0;
    for (int i = 0; i < MANY; i++)
        if (sio_timer_active(&ts[i].t)) wrong++;
    CHECK(wrong == 0);
    sio_timer_stop(l, &guard);
    free(ts);
    sio_loop_free(l);
}

/* ---- free_later and hooks ---- */

static int deferred_ran;
static int deferred_seen_early;
static int hook_calls[2];
static int hook_order_ok = 1;
static int last_hook = -1;

static void deferred(void *p) {
    deferred_ran++;
    free(p);
}

static void deferred_chain(void *p) {
    /* Queued from a deferred function: runs in the same pass. */
    sio_loop *l = p;
    deferred_ran++;
    sio_loop_free_later(l, malloc(8), deferred);
}

static void hook0(sio_loop *l, void *ud) {
    if (last_hook == 0) hook_order_ok = 0;
    last_hook = 0;
    hook_calls[0]++;
    CHECK(ud == &hook_calls[0]);
}

static void hook1(sio_loop *l, void *ud) {
    if (last_hook != 0) hook_order_ok = 0;
    last_hook = 1;
    hook_calls[1]++;
}

typedef struct pipe_io {
    sio_io io;
    int wfd;
    int reads;
    uint32_t events;
} pipe_io;

static int batch_callbacks;

static void on_batch_readable(sio_loop *l, sio_io *io, uint32_t ev) {
    pipe_io *p = (pipe_io *)io;
    char buf[16];
    p->reads++;
    p->events = ev;
    CHECK(read(io->fd, buf, sizeof buf) > 0);
    /* The deferred function of another io of this batch has not run yet. */
    if (deferred_ran) deferred_seen_early++;
    CHECK(sio_loop_free_later(l, malloc(16), deferred) == SIO_OK);
    if (++batch_callbacks == 3) sio_loop_stop(l);
}

static void test_free_later_and_hooks(void) {
    sio_loop *l = sio_loop_new();
    pipe_io p[3];
    memset(p, 0, sizeof p);
    for (int i = 0; i < 3; i++) {
        int fds[2];
        CHECK(pipe(fds) == 0);
        p[i].io.fd = fds[0];
        p[i].io.cb = on_batch_readable;
        p[i].wfd = fds[1];
        CHECK(sio_loop_add(l, &p[i].io, EPOLLIN) == SIO_OK);
        CHECK(p[i].io.events == EPOLLIN);
        CHECK(write(p[i].wfd, "x", 1) == 1);
    }
    CHECK(sio_loop_add_hook(l, hook0, &hook_calls[0]) == SIO_OK);
    CHECK(sio_loop_add_hook(l, hook1, NULL) == SIO_OK);
    deferred_ran = deferred_seen_early = batch_callbacks = 0;
    arm_guard(l, 3000);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(!guard_fired);
    /* All three were ready at once: one batch, and the deferred frees ran after it. */
    CHECK(batch_callbacks == 3);
    CHECK(deferred_seen_early == 0);
    CHECK(deferred_ran == 3);
    CHECK(hook_calls[0] >= 1 && hook_calls[0] == hook_calls[1] && hook_order_ok);
    for (int i = 0; i < 3; i++)
        CHECK(p[i].reads == 1 && (p[i].events & EPOLLIN));

    /* A deferred function may queue another; both run. */
    deferred_ran = 0;
    CHECK(sio_loop_free_later(l, l, deferred_chain) == SIO_OK);
    sio_timer t;
    memset(&t, 0, sizeof t);
    sio_timer_start(l, &t, 1, on_stop);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(deferred_ran == 2);

    /* Hooks run once per iteration: a timer re-arming itself 5 times takes
     * at least 5 iterations. */
    int before = hook_calls[0];
    self_count = 0;
    sio_timer self;
    memset(&self, 0, sizeof self);
    CHECK(sio_timer_start(l, &self, 1, on_self) == SIO_OK);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(self_count == 5);
    CHECK(hook_calls[0] - before >= 5);
    CHECK(hook_calls[0] == hook_calls[1] && hook_order_ok);

    /* A removed hook is no longer called; the other still is. */
    sio_loop_remove_hook(l, hook0, &hook_calls[0]);
    sio_loop_remove_hook(l, hook0, NULL); /* not registered: harmless */
    int h0 = hook_calls[0], h1 = hook_calls[1];
    last_hook = 0;
    sio_timer_start(l, &t, 1, on_stop);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(hook_calls[0] == h0 && hook_calls[1] > h1);
    sio_loop_remove_hook(l, hook1, NULL);

    for (int i = 0; i < 3; i++) {
        sio_loop_del(l, &p[i].io);
        close(p[i].io.fd);
        close(p[i].wfd);
    }
    sio_timer_stop(l, &guard);
    sio_loop_free(l);
}

/* A hook can stop the loop. */
static int stop_hook_calls;

static void stopping_hook(sio_loop *l, void *ud) {
    if (++stop_hook_calls == 3) sio_loop_stop(l);
}

static void on_tick(sio_loop *l, sio_timer *t) {
    sio_timer_start(l, t, 1, on_tick);
}

static void test_hook_stops(void) {
    sio_loop *l = sio_loop_new();
    sio_timer tick;
    memset(&tick, 0, sizeof tick);
    sio_timer_start(l, &tick, 1, on_tick);
    CHECK(sio_loop_add_hook(l, stopping_hook, NULL) == SIO_OK);
    stop_hook_calls = 0;
    arm_guard(l, 3000);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(stop_hook_calls == 3 && !guard_fired);
    sio_loop_remove_hook(l, stopping_hook, NULL);
    /* The hook table is bounded; registering too many fails cleanly. */
    int added = 0, refused = 0;
    for (int i = 0; i < 100; i++) {
        if (sio_loop_add_hook(l, stopping_hook, (void *)(intptr_t)(i + 1)) == SIO_OK)
            added++;
        else
            refused++;
    }
    CHECK(added >= 1 && refused >= 1);
    for (int i = 0; i < 100; i++)
        sio_loop_remove_hook(l, stopping_hook, (void *)(intptr_t)(i + 1));
    CHECK(sio_loop_add_hook(l, stopping_hook, NULL) == SIO_OK);
    sio_loop_remove_hook(l, stopping_hook, NULL);
    sio_timer_stop(l, &tick);
    sio_timer_stop(l, &guard);
    sio_loop_free(l);
}

/* ---- sio_loop_wake ---- */

static int wake_calls, wake_always;

static void waking_hook(sio_loop *l, void *ud) {
    wake_calls++;
    if (wake_always || wake_calls == 1) sio_loop_wake(l);
    if (wake_calls >= (wake_always ? 50 : 2)) sio_loop_stop(l);
}

static void test_wake(void) {
    sio_loop *l = sio_loop_new();
    CHECK(sio_loop_add_hook(l, waking_hook, NULL) == SIO_OK);
    /* Nothing to wait for: without the wake the loop would sleep until the guard. */
    wake_calls = wake_always = 0;
    arm_guard(l, 3000);
    uint64_t t0 = sio_loop_update_time(l);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(!guard_fired && wake_calls == 2);
    CHECK(sio_loop_update_time(l) < t0 + 1000);
    /* A hook that always wakes: hooks keep running, the loop never sleeps. */
    wake_calls = 0;
    wake_always = 1;
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(!guard_fired);
    CHECK(wake_calls >= 50 && wake_calls < 60); /* the current round of hooks may finish */
    CHECK(sio_loop_update_time(l) < t0 + 1000);
    sio_loop_remove_hook(l, waking_hook, NULL);
    sio_timer_stop(l, &guard);
    sio_loop_free(l);
}

/* ---- file descriptors ---- */

static pipe_io fd_pipe;
static int fd_cb_calls;
static int fd_cb_bytes;

static void on_pipe_readable(sio_loop *l, sio_io *io, uint32_t ev) {
    pipe_io *p = (pipe_io *)io;
    char buf[64];
    ssize_t n = read(io->fd, buf, sizeof buf);
    fd_cb_calls++;
    p->events = ev;
    if (n > 0) fd_cb_bytes += (int)n;
    sio_loop_stop(l);
}

static void on_write_timer(sio_loop *l, sio_timer *t) {
    CHECK(write(fd_pipe.wfd, "hello", 5) == 5);
}

static void on_writable(sio_loop *l, sio_io *io, uint32_t ev) {
    pipe_io *p = (pipe_io *)io;
    p->events = ev;
    p->reads++;
    sio_loop_stop(l);
}

static void test_fd(void) {
    sio_loop *l = sio_loop_new();
    int fds[2];
    CHECK(pipe(fds) == 0);
    memset(&fd_pipe, 0, sizeof fd_pipe);
    fd_pipe.io.fd = fds[0];
    fd_pipe.io.cb = on_pipe_readable;
    fd_pipe.wfd = fds[1];
    CHECK(sio_loop_add(l, &fd_pipe.io, EPOLLIN) == SIO_OK);

    /* The loop sleeps until a timer writes into the pipe. */
    sio_timer w;
    memset(&w, 0, sizeof w);
    uint64_t t0 = sio_loop_update_time(l);
    sio_timer_start(l, &w, 10, on_write_timer);
    fd_cb_calls = fd_cb_bytes = 0;
    arm_guard(l, 3000);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(!guard_fired);
    CHECK(fd_cb_calls == 1 && fd_cb_bytes == 5);
    CHECK(fd_pipe.events & EPOLLIN);
    CHECK(sio_loop_now(l) >= t0 + 10);

    /* sio_loop_mod with the same events is a no-op; a closed peer is reported. */
    CHECK(sio_loop_mod(l, &fd_pipe.io, EPOLLIN) == SIO_OK);
    close(fd_pipe.wfd);
    fd_cb_calls = 0;
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(fd_cb_calls == 1 && (fd_pipe.events & EPOLLHUP));

    /* After sio_loop_del, readiness is no longer reported. */
    sio_loop_del(l, &fd_pipe.io);
    CHECK(fd_pipe.io.events == 0);
    fd_cb_calls = 0;
    sio_timer stopper;
    memset(&stopper, 0, sizeof stopper);
    sio_timer_start(l, &stopper, 20, on_stop);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(fd_cb_calls == 0);
    close(fd_pipe.io.fd);

    /* A write end watched for EPOLLOUT, switched with sio_loop_mod. */
    CHECK(pipe(fds) == 0);
    pipe_io wp;
    memset(&wp, 0, sizeof wp);
    wp.io.fd = fds[1];
    wp.io.cb = on_writable;
    CHECK(sio_loop_add(l, &wp.io, 0) == SIO_OK);
    CHECK(sio_loop_mod(l, &wp.io, EPOLLOUT) == SIO_OK);
    CHECK(wp.io.events == EPOLLOUT);
    CHECK(sio_loop_run(l) == SIO_OK);
    CHECK(wp.reads == 1 && (wp.events & EPOLLOUT));
    sio_loop_del(l, &wp.io);

    /* Adding a bad fd fails. */
    sio_io bad = {-1, 0, on_writable};
    CHECK(sio_loop_add(l, &bad, EPOLLIN) == SIO_EIO);
    close(fds[0]);
    close(fds[1]);
    sio_timer_stop(l, &guard);
    sio_loop_free(l);
}

/* ---- the clock ---- */

static void test_clock(void) {
    sio_loop *l = sio_loop_new();
    uint64_t a = sio_loop_now(l);
    uint64_t b = sio_loop_update_time(l);
    CHECK(b >= a && sio_loop_now(l) == b);
    usleep(20000);
    CHECK(sio_loop_now(l) == b); /* cached */
    uint64_t c = sio_loop_update_time(l);
    CHECK(c >= b + 19 && c < b + 5000);
    sio_loop_free(l);
    sio_loop_free(NULL);
}

int main(void) {
    test_order();
    test_stop_restart();
    test_rearm();
    test_many();
    test_free_later_and_hooks();
    test_hook_stops();
    test_wake();
    test_fd();
    test_clock();
    return CHECK_DONE();
}
