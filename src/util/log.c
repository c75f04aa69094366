#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static log_level min_level = LOG_INFO;
static FILE *log_file;
static char *log_path;

int log_open(const char *path) {
    FILE *f = fopen(path, "a");
    if (!f) return -6;
    setvbuf(f, NULL, _IOLBF, 0);
    if (log_file) fclose(log_file);
    log_file = f;
    if (path != log_path) {
        free(log_path);
        log_path = strdup(path);
    }
    return 0;
}

int log_reopen(void) {
    return log_path ? log_open(log_path) : 0;
}

void log_set_level(log_level l) {
    min_level = l;
}
int log_enabled(log_level l) {
    return l >= min_level;
}

int log_parse_level(const char *s) {
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void log_write(log_level l, const char *fmt, ...) {
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char line[1024];
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03dZ %s ", (int)(tv.tv_usec / 1000),
                  tags[l]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    n += m;
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, log_file ? log_file : stderr);
}
