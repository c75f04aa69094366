/* epoll + binary min-heap of timers + before-sleep hooks, modelled on Redis's ae.c.
 * A heap rather than a scan: 100k sessions each re-arm a heartbeat timer, and
 * O(log n) per re-arm stays in the noise where a scan per tick would not. */
#include "sio/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "sio/status.h"
#include "util/metrics.h"

#define MAX_EVENTS 256
#define MAX_HOOKS  16

struct hook {
    sio_loop_hook fn;
    void *ud;
};

struct deferred {
    void *p;
    void (*fn)(void *);
};

struct sio_loop {
    struct deferred *later;
    size_t n_later;
    size_t cap_later;
    int epfd;
    int stop;
    int woken;
    uint64_t now_ms;
    sio_timer **heap; /* 1-based */
    size_t heap_len;
    size_t heap_cap;
    struct hook hooks[MAX_HOOKS];
    size_t n_hooks;
    struct epoll_event events[MAX_EVENTS];
    metrics_registry *metrics; /* what /metrics shows of this loop's components */
};

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

sio_loop *sio_loop_new(void) {
    sio_loop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->now_ms = mono_ms();
    return l;
}

static void run_later(sio_loop *l);

void sio_loop_free(sio_loop *l) {
    if (!l) return;
    /* Objects torn down after the loop stopped are still waiting here. */
    run_later(l);
    close(l->epfd);
    metrics_registry_free(l->metrics);
    free(l->heap);
    free(l->later);
    free(l);
}

metrics_registry *sio_loop_metrics(sio_loop *l) {
    if (!l->metrics) l->metrics = metrics_registry_new();
    return l->metrics;
}

void sio_loop_stop(sio_loop *l) {
    l->stop = 1;
}
uint64_t sio_loop_now(const sio_loop *l) {
    return l->now_ms;
}
uint64_t sio_loop_update_time(sio_loop *l) {
    return l->now_ms = mono_ms();
}

int sio_loop_add(sio_loop *l, sio_io *io, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0) return SIO_EIO;
    io->events = events;
    return SIO_OK;
}

int sio_loop_mod(sio_loop *l, sio_io *io, uint32_t events) {
    if (io->events == events) return SIO_OK;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0) return SIO_EIO;
    io->events = events;
    return SIO_OK;
}

void sio_loop_del(sio_loop *l, sio_io *io) {
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->events = 0;
}

/* --- timer heap --- */

static void heap_set(sio_loop *l, size_t i, sio_timer *t) {
    l->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(sio_loop *l, size_t i) {
    sio_timer *t = l->heap[i];
    while (i > 1) {
        size_t p = i / 2;
        if (l->heap[p]->deadline_ms <= t->deadline_ms) break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void heap_down(sio_loop *l, size_t i) {
    sio_timer *t = l->heap[i];
    for (;;) {
        size_t c = i * 2;
        if (c > l->heap_len) break;
        if (c + 1 <= l->heap_len && l->heap[c + 1]->deadline_ms < l->heap[c]->deadline_ms) c++;
        if (t->deadline_ms <= l->heap[c]->deadline_ms) break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static void heap_shrink(sio_loop *l) {
    /* Sessions come and go in waves: give back a heap four times too big. */
    if (l->heap_cap <= 1024 || l->heap_len * 4 >= l->heap_cap) return;
    size_t cap = l->heap_cap / 2;
    sio_timer **h = realloc(l->heap, cap * sizeof *h);
    if (h) {
        l->heap = h;
        l->heap_cap = cap;
    }
}

void sio_timer_stop(sio_loop *l, sio_timer *t) {
    size_t i = t->heap_index;
    if (!i) return;
    t->heap_index = 0;
    if (l->heap_len * 4 < l->heap_cap) heap_shrink(l);
    sio_timer *last = l->heap[l->heap_len--];
    if (i > l->heap_len) return;
    heap_set(l, i, last);
    heap_up(l, i);
    heap_down(l, last->heap_index);
}

int sio_timer_start(sio_loop *l, sio_timer *t, uint64_t delay_ms, sio_timer_cb cb) {
    t->cb = cb;
    t->deadline_ms = l->now_ms + delay_ms;
    if (t->heap_index) {
        size_t i = t->heap_index;
        heap_up(l, i);
        heap_down(l, t->heap_index);
        return SIO_OK;
    }
    if (l->heap_len + 1 >= l->heap_cap) {
        size_t cap = l->heap_cap ? l->heap_cap * 2 : 256;
        sio_timer **h = realloc(l->heap, cap * sizeof *h);
        if (!h) return SIO_ENOMEM;
        l->heap = h;
        l->heap_cap = cap;
    }
    heap_set(l, ++l->heap_len, t);
    heap_up(l, l->heap_len);
    return SIO_OK;
}

static void run_timers(sio_loop *l) {
    /* Timers armed by callbacks for "now" run in the next iteration, so a
     * callback that re-arms itself with delay 0 cannot starve I/O. */
    uint64_t now = l->now_ms;
    size_t budget = l->heap_len;
    while (l->heap_len && budget--) {
        sio_timer *t = l->heap[1];
        if (t->deadline_ms > now) break;
        sio_timer_stop(l, t);
        t->cb(l, t);
    }
}

int sio_loop_add_hook(sio_loop *l, sio_loop_hook fn, void *ud) {
    if (l->n_hooks == MAX_HOOKS) return SIO_ENOMEM;
    l->hooks[l->n_hooks++] = (struct hook){fn, ud};
    return SIO_OK;
}

void sio_loop_remove_hook(sio_loop *l, sio_loop_hook fn, void *ud) {
    for (size_t i = 0; i < l->n_hooks; i++) {
        if (l->hooks[i].fn == fn && l->hooks[i].ud == ud) {
            memmove(&l->hooks[i], &l->hooks[i + 1], (l->n_hooks - i - 1) * sizeof l->hooks[0]);
            l->n_hooks--;
            return;
        }
    }
}

int sio_loop_free_later(sio_loop *l, void *p, void (*fn)(void *)) {
    if (l->n_later == l->cap_later) {
        size_t cap = l->cap_later ? l->cap_later * 2 : 64;
        struct deferred *d = realloc(l->later, cap * sizeof *d);
        if (!d) {
            /* Leaking beats a use-after-free; this needs memory exhaustion. */
            return SIO_ENOMEM;
        }
        l->later = d;
        l->cap_later = cap;
    }
    l->later[l->n_later++] = (struct deferred){p, fn};
    return SIO_OK;
}

static void run_later(sio_loop *l) {
    /* fn may queue more; those run in this same pass. */
    for (size_t i = 0; i < l->n_later; i++)
        l->later[i].fn(l->later[i].p);
    l->n_later = 0;
    if (l->cap_later > 4096) {
        /* A mass disconnect grew it; do not keep that peak forever. */
        free(l->later);
        l->later = NULL;
        l->cap_later = 0;
    }
}

void sio_loop_wake(sio_loop *l) {
    l->woken = 1;
}

static void run_hooks(sio_loop *l) {
    /* A hook may leave work for one that already ran (a flush that resumes a
     * long-poll): go round again, a bounded number of times. */
    for (int round = 0; round < 4; round++) {
        l->woken = 0;
        for (size_t i = 0; i < l->n_hooks; i++)
            l->hooks[i].fn(l, l->hooks[i].ud);
        run_later(l);
        if (!l->woken) break;
    }
}

int sio_loop_run(sio_loop *l) {
    l->stop = 0;
    while (!l->stop) {
        run_hooks(l);
        if (l->stop) break;
        int timeout = -1;
        if (l->woken) {
            timeout = 0;
        } else if (l->heap_len) {
            uint64_t now = sio_loop_update_time(l);
            uint64_t d = l->heap[1]->deadline_ms;
            timeout = d <= now ? 0 : (d - now > 60000 ? 60000 : (int)(d - now));
        }
        int n = epoll_wait(l->epfd, l->events, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            return SIO_EIO;
        }
        sio_loop_update_time(l);
        for (int i = 0; i < n; i++) {
            sio_io *io = l->events[i].data.ptr;
            /* A callback earlier in this batch may have closed this io: owners
             * mark a dead io with fd -1 and free it only from a hook. */
            if (io->fd >= 0) io->cb(l, io, l->events[i].events);
        }
        run_timers(l);
        /* Deferred frees wait for the hooks of the next round: a hook's list
         * (the WebSocket flush list) may still name an object closed here. */
    }
    run_later(l);
    return SIO_OK;
}
