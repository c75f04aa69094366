#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/status.h"

int sbuf_reserve(sbuf *b, size_t extra) {
    if (b->cap - b->len >= extra) return SIO_OK;
    size_t need = b->len + extra;
    if (need < b->len) return SIO_ENOMEM;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return SIO_ENOMEM;
    b->data = p;
    b->cap = cap;
    return SIO_OK;
}

int sbuf_append(sbuf *b, const void *p, size_t n) {
    if (n == 0) return SIO_OK;
    if (sbuf_reserve(b, n)) return SIO_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return SIO_OK;
}

int sbuf_puts(sbuf *b, const char *s) {
    return sbuf_append(b, s, strlen(s));
}

int sbuf_putc(sbuf *b, uint8_t c) {
    if (sbuf_reserve(b, 1)) return SIO_ENOMEM;
    b->data[b->len++] = c;
    return SIO_OK;
}

int sbuf_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return SIO_EINVAL;
    if ((size_t)n < sizeof small) return sbuf_append(b, small, (size_t)n);
    if (sbuf_reserve(b, (size_t)n + 1)) return SIO_ENOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SIO_OK;
}

void sbuf_consume(sbuf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void sbuf_free(sbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t fmt_u64(char *buf, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}
