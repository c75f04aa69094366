/* Growable byte buffer used for every encoder output and outgoing queue. */
#ifndef SIO_UTIL_BUF_H
#define SIO_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
} sbuf;

#define SBUF_INIT                                                                                  \
    { NULL, 0, 0 }

/* Make room for `extra` more bytes; 0 or SIO_ENOMEM. */
int sbuf_reserve(sbuf *b, size_t extra);
/* Append bytes; 0 or SIO_ENOMEM. */
int sbuf_append(sbuf *b, const void *p, size_t n);
/* Append a NUL-terminated string (without the NUL). */
int sbuf_puts(sbuf *b, const char *s);
/* Append one byte. */
int sbuf_putc(sbuf *b, uint8_t c);
/* Append printf-formatted text. */
int sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write v in decimal to buf (room for 20 chars, no NUL); returns the length. */
size_t fmt_u64(char *buf, uint64_t v);
/* Drop the first n bytes (consumed output). */
void sbuf_consume(sbuf *b, size_t n);
/* Forget the content, keep the memory. */
static inline void sbuf_clear(sbuf *b) {
    b->len = 0;
}
/* Release the memory. */
void sbuf_free(sbuf *b);

#endif
