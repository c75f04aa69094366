/* A runtime that runs a server the way sio-server does, for a program that
 * embeds libsio: SIGINT/SIGTERM start a graceful shutdown (the app tells its
 * clients goodbye, then the loop runs until every session is closed or the
 * deadline passes; a second signal stops at once), SIGHUP reopens the log
 * file, GET /metrics (Prometheus text, for the client addresses in
 * metrics_allow only) and GET /healthz answer on the listener, a 100 ms probe
 * measures the event loop's lag, and freed memory is handed back to the
 * system after waves of disconnects.
 *
 *   sio_runtime_options ro;
 *   sio_runtime_options_init(&ro);
 *   ro.on_shutdown = bye;        // e.g. sio_server_shutdown(io)
 *   ro.sessions = open_sessions; // e.g. sio_server_connections(io)
 *   ro.ud = io;
 *   sio_runtime *rt = sio_runtime_new(loop, http, &ro, &err);
 *   int rc = sio_runtime_run(rt);  // returns after the shutdown
 *   sio_server_free(io);
 *   sio_runtime_free(rt);          // before sio_http_free
 *
 * One runtime per process: it owns SIGINT, SIGTERM and SIGHUP (blocked and
 * read from a signalfd on the loop) and ignores SIGPIPE. */
#ifndef SIO_RUNTIME_H
#define SIO_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "sio/eio.h"
#include "sio/export.h"
#include "sio/loop.h"

SIO_BEGIN_DECLS

typedef struct sio_runtime sio_runtime;

typedef struct sio_runtime_options {
    /* After SIGINT/SIGTERM, how long sessions may take to close before the
     * loop stops anyway; default 10000. */
    uint32_t shutdown_timeout_ms;
    /* Client addresses or CIDRs (comma-separated, IPv4/IPv6) allowed GET
     * /metrics, as the listener resolves them (trusted_proxies); others get
     * 403. NULL: "127.0.0.0/8,::1". */
    const char *metrics_allow;
    int serve_metrics; /* route GET /metrics; default 1 */
    int serve_healthz; /* route GET /healthz ({"status":"ok"}, public); default 1 */
    /* Append the library's log lines to this file instead of stderr; SIGHUP
     * reopens it (rotation). NULL: no file. */
    const char *log_file;
    /* The first SIGINT/SIGTERM (or sio_runtime_shutdown), after the listener
     * stopped accepting: tell every client goodbye (sio_server_shutdown...). */
    void (*on_shutdown)(void *ud);
    /* Sessions still open: the shutdown waits for 0 (NULL: none, the loop
     * stops at once after on_shutdown's writes). */
    size_t (*sessions)(void *ud);
    void *ud;
} sio_runtime_options;

/* Fill with the defaults above. */
void sio_runtime_options_init(sio_runtime_options *o);
/* Install the routes, the signal handling and the probes on loop and http.
 * NULL with *err set: SIO_EINVAL (metrics_allow does not parse), SIO_EIO (the
 * log file or the signalfd cannot be opened), SIO_ENOMEM. The options'
 * strings are copied. */
sio_runtime *sio_runtime_new(sio_loop *loop, sio_http *http, const sio_runtime_options *o,
                             int *err);
/* Run the loop until the shutdown is over (sessions at 0 or the deadline),
 * a second signal, or sio_loop_stop. Returns what sio_loop_run returns. */
int sio_runtime_run(sio_runtime *rt);
/* Start the graceful shutdown now, as SIGTERM does (once; later calls do
 * nothing). */
void sio_runtime_shutdown(sio_runtime *rt);
/* Whether the shutdown has started. */
int sio_runtime_stopping(const sio_runtime *rt);
/* Remove the routes and the signal handling (signals stay blocked). Call it
 * after the loop stopped and before sio_http_free. NULL is allowed. */
void sio_runtime_free(sio_runtime *rt);

SIO_END_DECLS

#endif
