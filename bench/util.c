/* sio-bench helpers: buffers, clocks, histograms, /proc readers. */
#define _GNU_SOURCE
#include "bench.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void oom(void) {
    fputs("sio-bench: out of memory\n", stderr);
    exit(3);
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom();
    return p;
}

void bb_reserve(bbuf *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) oom();
    b->p = p;
    b->cap = cap;
}

void bb_append(bbuf *b, const void *p, size_t n) {
    if (!n) return;
    bb_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void bb_puts(bbuf *b, const char *s) {
    bb_append(b, s, strlen(s));
}

void bb_printf(bbuf *b, const char *fmt, ...) {
    bb_reserve(b, 128);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= b->cap - b->len) {
        bb_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void bb_consume(bbuf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void bb_free(bbuf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t proc_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t xrand(uint64_t *st) {
    uint64_t x = *st;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *st = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ---- histogram ---------------------------------------------------------- */

static unsigned hist_index(uint64_t v) {
    if (v < 64) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 6 */
    unsigned sub = (unsigned)(v >> (e - 5)) & (HIST_SUB - 1);
    return 64u + (e - 6u) * HIST_SUB + sub;
}

static uint64_t hist_value(unsigned i) {
    if (i < 64) return i;
    unsigned e = (i - 64u) / HIST_SUB + 6u, sub = (i - 64u) % HIST_SUB;
    uint64_t lo = ((uint64_t)(HIST_SUB + sub)) << (e - 5);
    uint64_t width = (uint64_t)1 << (e - 5);
    return lo + width / 2;
}

void hist_add(hist *h, uint64_t v) {
    h->n++;
    h->sum += v;
    if (v > h->max) h->max = v;
    h->b[hist_index(v)]++;
}

void hist_merge(hist *into, const hist *from) {
    into->n += from->n;
    into->sum += from->sum;
    if (from->max > into->max) into->max = from->max;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
}

uint64_t hist_pct(const hist *h, double pct) {
    if (!h->n) return 0;
    uint64_t rank = (uint64_t)(pct / 100.0 * (double)h->n + 0.5);
    if (rank < 1) rank = 1;
    if (rank > h->n) rank = h->n;
    uint64_t acc = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        acc += h->b[i];
        if (acc >= rank) {
            uint64_t v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ---- /proc ------------------------------------------------------------------ */

static long proc_status_kib(int pid, const char *key) {
    if (pid <= 0) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0) {
            kib = strtol(line + kl, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

long proc_rss_kib(int pid) {
    return proc_status_kib(pid, "VmRSS:");
}

long proc_hwm_kib(int pid) {
    return proc_status_kib(pid, "VmHWM:");
}

long long proc_cpu_ticks(int pid) {
    if (pid <= 0) return -1;
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: fields restart after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    p++;
    /* Field 3 (state) is the first token after ')'; utime is field 14, stime 15. */
    long long ut = -1, st = -1;
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        if (!*p) return -1;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (field == 14) ut = v;
        if (field == 15) st = v;
        while (*p && *p != ' ')
            p++;
    }
    return ut < 0 || st < 0 ? -1 : ut + st;
}

long long proc_sched_ns(int pid) {
    if (pid <= 0) return -1;
    char path[96], buf[128];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    long long total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.20s/schedstat", pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) total += strtoll(buf, NULL, 10);
        fclose(f);
    }
    closedir(d);
    return total;
}

long proc_fd_count(int pid) {
    if (pid <= 0) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

bool proc_alive(int pid) {
    return pid > 0 && kill(pid, 0) == 0;
}

void b64_encode(const uint8_t *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0, o = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
}
