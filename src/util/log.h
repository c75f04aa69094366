/* One line per event on stderr: "<iso time> <level> <message>". */
#ifndef SIO_UTIL_LOG_H
#define SIO_UTIL_LOG_H

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level;

/* Write to this file (appending) instead of stderr; SIO_OK or SIO_EIO. */
int log_open(const char *path);
/* Reopen the log file (after rotation: SIGHUP); no-op on stderr. */
int log_reopen(void);
/* Set the minimum level written. */
void log_set_level(log_level l);
/* Parse "debug", "info", "warn", "error", "off"; -1 when unknown. */
int log_parse_level(const char *s);
/* Whether messages of this level are written. */
int log_enabled(log_level l);
void log_write(log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) (log_enabled(LOG_DEBUG) ? log_write(LOG_DEBUG, __VA_ARGS__) : (void)0)
#define log_info(...)  (log_enabled(LOG_INFO) ? log_write(LOG_INFO, __VA_ARGS__) : (void)0)
#define log_warn(...)  (log_enabled(LOG_WARN) ? log_write(LOG_WARN, __VA_ARGS__) : (void)0)
#define log_error(...) (log_enabled(LOG_ERROR) ? log_write(LOG_ERROR, __VA_ARGS__) : (void)0)

#endif
