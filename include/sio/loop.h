/* The event loop: one epoll set and one timer heap per process. Everything the
 * server does happens on the thread that runs sio_loop_run; no locks anywhere
 * (see "Threads and callbacks" at the top of sio/sio.h). The sio_io and
 * sio_timer structs are the caller's, embedded in its objects: the loop
 * only points at them, so they must stay valid while watched or armed. */
#ifndef SIO_LOOP_H
#define SIO_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include "sio/export.h"

SIO_BEGIN_DECLS

typedef struct sio_loop sio_loop;

/* A watched file descriptor. Embed it in the owner and recover the owner from
 * the pointer given to the callback. */
typedef struct sio_io sio_io;
typedef void (*sio_io_cb)(sio_loop *loop, sio_io *io, uint32_t epoll_events);
struct sio_io {
    int fd;
    uint32_t events;
    sio_io_cb cb;
};

/* A one-shot timer. Embed it in the owner; zero-initialise before first use. */
typedef struct sio_timer sio_timer;
typedef void (*sio_timer_cb)(sio_loop *loop, sio_timer *t);
struct sio_timer {
    uint64_t deadline_ms;
    size_t heap_index; /* 0 when not armed */
    sio_timer_cb cb;
};

/* A function the loop calls once per iteration, after all ready events and
 * timers were handled and before it sleeps (used to flush coalesced output). */
typedef void (*sio_loop_hook)(sio_loop *loop, void *ud);

/* Create a loop; NULL when out of memory or epoll is unavailable. */
sio_loop *sio_loop_new(void);
/* Destroy a loop that is not running (not from a callback); what was
 * queued with sio_loop_free_later is run first. Watched fds are not closed.
 * NULL is ignored. */
void sio_loop_free(sio_loop *loop);
/* Run until sio_loop_stop; returns SIO_OK, or SIO_EIO when epoll_wait fails
 * (EINTR excepted). Not re-entrant: never from a callback. */
int sio_loop_run(sio_loop *loop);
/* Make sio_loop_run return after the current iteration (from a callback). */
void sio_loop_stop(sio_loop *loop);
/* Monotonic milliseconds, cached once per iteration. */
uint64_t sio_loop_now(const sio_loop *loop);
/* Refresh the cached time (after long work inside one iteration). */
uint64_t sio_loop_update_time(sio_loop *loop);

/* Start watching io->fd for `events` (EPOLLIN, EPOLLOUT, ...). SIO_OK, or
 * SIO_EIO when epoll_ctl refuses (errno says why: EEXIST when watched
 * already, EBADF, ENOMEM, EPERM for a regular file). */
int sio_loop_add(sio_loop *loop, sio_io *io, uint32_t events);
/* Change the watched events; no system call when they are unchanged.
 * SIO_OK or SIO_EIO (as above). */
int sio_loop_mod(sio_loop *loop, sio_io *io, uint32_t events);
/* Stop watching (before closing the fd). An event of the current batch may
 * still be pending for io: set io->fd to -1 (the loop then skips it) and free
 * io's owner with sio_loop_free_later, not at once. */
void sio_loop_del(sio_loop *loop, sio_io *io);

/* Arm (or re-arm) a timer to fire once after delay_ms (a timer due now runs
 * in the next iteration, so a callback re-arming itself with 0 cannot starve
 * I/O). The timer is disarmed before its callback runs, which may re-arm or
 * free it. SIO_OK, or SIO_ENOMEM (the timer heap could not grow; the timer
 * is not armed). */
int sio_timer_start(sio_loop *loop, sio_timer *t, uint64_t delay_ms, sio_timer_cb cb);
/* Disarm a timer; harmless when it is not armed. */
void sio_timer_stop(sio_loop *loop, sio_timer *t);
/* Whether the timer is armed. */
static inline int sio_timer_active(const sio_timer *t) {
    return t->heap_index != 0;
}

/* Call fn(p) at the end of this iteration, after every event of the current
 * batch was dispatched (and after the before-sleep hooks): owners of an
 * sio_io free themselves this way, because a later event of the same batch
 * may still point at them. SIO_OK, or SIO_ENOMEM: fn will not be called, the
 * caller decides (the library frees at once, or leaks when that is unsafe). */
int sio_loop_free_later(sio_loop *loop, void *p, void (*fn)(void *));

/* Register a before-sleep hook; hooks run in registration order. SIO_OK, or
 * SIO_ENOMEM when 16 are registered already (the library uses a few). */
int sio_loop_add_hook(sio_loop *loop, sio_loop_hook hook, void *ud);
/* Ask for the hooks to run again before the loop sleeps: for work that a
 * hook, or anything after it in this iteration, left pending. */
void sio_loop_wake(sio_loop *loop);
/* Remove a hook registered with the same function and user data (nothing
 * when there is none). A hook may remove itself; the hook after it then
 * waits for the next pass. */
void sio_loop_remove_hook(sio_loop *loop, sio_loop_hook hook, void *ud);

SIO_END_DECLS

#endif
