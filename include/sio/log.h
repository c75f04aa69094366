/* The library's log: one line per event (a connection refused, a Redis link
 * down, a shutdown...). By default each goes to stderr as "<ISO time>
 * <LEVEL> <message>" (or to the runtime's log file, sio/runtime.h); a
 * program that has its own logging takes the lines with a handler.
 *
 *   static void to_syslog(sio_log_level l, const char *msg, void *ud) {
 *       syslog(l >= SIO_LOG_ERROR ? LOG_ERR : l == SIO_LOG_WARN ? LOG_WARNING : LOG_INFO,
 *              "%s", msg);
 *   }
 *   sio_log_set_handler(to_syslog, NULL);
 *
 * The log is the process's (like the runtime's signals): one handler, one
 * level, set from the loop's thread. */
#ifndef SIO_LOG_H
#define SIO_LOG_H

#include "sio/export.h"

SIO_BEGIN_DECLS

typedef enum sio_log_level {
    SIO_LOG_DEBUG,
    SIO_LOG_INFO,
    SIO_LOG_WARN,
    SIO_LOG_ERROR,
    SIO_LOG_OFF, /* as a level: nothing is written */
} sio_log_level;

/* Gets each line at or above the level, without time stamp or newline; the
 * message is valid during the call only. It runs inside library calls (from
 * the loop): it must not call back into the library, sio_log included. */
typedef void (*sio_log_handler)(sio_log_level level, const char *message, void *ud);

/* Send the lines to fn(…, ud); NULL restores the default (stderr, or the log file). */
void sio_log_set_handler(sio_log_handler fn, void *ud);
/* The lowest level written; default SIO_LOG_INFO. */
void sio_log_set_level(sio_log_level level);
/* "debug", "info", "warn", "error" or "off" as a level; -1 when unknown. */
int sio_log_parse_level(const char *name);
/* Whether lines of this level are written (to skip building costly ones). */
int sio_log_enabled(sio_log_level level);
/* Write a line (printf format) through the handler, as the library does:
 * for the application's own lines. Long lines are cut at 1000 bytes. */
void sio_log(sio_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

SIO_END_DECLS

#endif
