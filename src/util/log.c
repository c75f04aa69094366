#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "sio/status.h"

/* The process's log (sio/log.h says why it is not per server). */
static log_level min_level = LOG_INFO;
static FILE *log_file;
static char *log_path;
static sio_log_handler handler;
static void *handler_ud;

int log_open(const char *path) {
    FILE *f = fopen(path, "a");
    if (!f) return SIO_EIO;
    setvbuf(f, NULL, _IOLBF, 0);
    if (log_file) fclose(log_file);
    log_file = f;
    if (path != log_path) {
        free(log_path);
        log_path = strdup(path);
    }
    return SIO_OK;
}

int log_reopen(void) {
    return log_path ? log_open(log_path) : SIO_OK;
}

void sio_log_set_handler(sio_log_handler fn, void *ud) {
    handler = fn;
    handler_ud = ud;
}

void sio_log_set_level(sio_log_level l) {
    min_level = l;
}

int sio_log_enabled(sio_log_level l) {
    return l >= min_level && l < LOG_OFF;
}

int sio_log_parse_level(const char *s) {
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* The default: a time-stamped line on the log file or stderr. */
static void write_line(log_level l, const char *msg, size_t len) {
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char head[64];
    int n = (int)strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(head + n, sizeof head - (size_t)n, ".%03dZ %s ", (int)(tv.tv_usec / 1000), tags[l]);
    /* One write of the whole line: lines from several processes sharing the
     * file do not interleave. */
    char line[1100];
    int m = snprintf(line, sizeof line, "%s%.*s\n", head, (int)len, msg);
    if (m > (int)sizeof line - 1) m = (int)sizeof line - 1;
    if (m > 0) fwrite(line, 1, (size_t)m, log_file ? log_file : stderr);
}

void sio_log(sio_log_level l, const char *fmt, ...) {
    if (!sio_log_enabled(l)) return;
    char msg[1000];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    if (m > (int)sizeof msg - 1) m = (int)sizeof msg - 1;
    if (handler)
        handler(l, msg, handler_ud);
    else
        write_line(l, msg, (size_t)m);
}
