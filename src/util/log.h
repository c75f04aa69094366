/* The library's side of include/sio/log.h: log_debug(...) .. log_error(...)
 * format only when the level is enabled; the lines go to the handler, else
 * to the log file (log_open) or stderr as "<iso time> <level> <message>". */
#ifndef SIO_UTIL_LOG_H
#define SIO_UTIL_LOG_H

#include "sio/log.h"

typedef sio_log_level log_level;
#define LOG_DEBUG SIO_LOG_DEBUG
#define LOG_INFO  SIO_LOG_INFO
#define LOG_WARN  SIO_LOG_WARN
#define LOG_ERROR SIO_LOG_ERROR
#define LOG_OFF   SIO_LOG_OFF

/* Write to this file (appending) instead of stderr; SIO_OK or SIO_EIO. */
int log_open(const char *path);
/* Reopen the log file (after rotation: SIGHUP); no-op on stderr. */
int log_reopen(void);
#define log_set_level   sio_log_set_level
#define log_parse_level sio_log_parse_level
#define log_enabled     sio_log_enabled
#define log_write       sio_log

#define log_debug(...) (log_enabled(LOG_DEBUG) ? log_write(LOG_DEBUG, __VA_ARGS__) : (void)0)
#define log_info(...)  (log_enabled(LOG_INFO) ? log_write(LOG_INFO, __VA_ARGS__) : (void)0)
#define log_warn(...)  (log_enabled(LOG_WARN) ? log_write(LOG_WARN, __VA_ARGS__) : (void)0)
#define log_error(...) (log_enabled(LOG_ERROR) ? log_write(LOG_ERROR, __VA_ARGS__) : (void)0)

#endif
