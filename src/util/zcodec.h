/* Compression for HTTP content codings (gzip, deflate) and WebSocket
 * permessage-deflate (RFC 7692), on zlib, sans-I/O: bytes in, bytes out.
 *
 * Memory is the point: a zlib deflate state is ~270 KiB, so nothing here is
 * per session. One zcodec lives with the event loop's owner and is borrowed
 * for one whole message at a time (reset after each), the way wslay parser
 * contexts are borrowed; that is also why WebSocket compression negotiates
 * no context takeover in both directions. */
#ifndef SIO_UTIL_ZCODEC_H
#define SIO_UTIL_ZCODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/buf.h"

typedef enum zc_format {
    ZC_GZIP,    /* Content-Encoding: gzip (RFC 1952) */
    ZC_DEFLATE, /* Content-Encoding: deflate, i.e. the zlib format (RFC 1950) */
    ZC_RAW,     /* permessage-deflate: raw deflate, the 00 00 ff ff tail cut */
    ZC_N_FORMATS
} zc_format;

typedef struct zcodec zcodec;

/* level: zlib's 0-9, or -1 for its default (6, as Node's zlib). NULL when out
 * of memory. Streams are created on first use. */
zcodec *zc_new(int level);
void zc_free(zcodec *z);

/* Append the compressed form of n bytes to out. SIO_OK or SIO_ENOMEM. */
int zc_compress(zcodec *z, zc_format f, const uint8_t *in, size_t n, sbuf *out);
/* The same for the bytes of iov[0..n) in order, as one message. */
int zc_compress_iov(zcodec *z, zc_format f, const struct iovec *iov, size_t n, sbuf *out);

/* Append the inflated form of a permessage-deflate message (raw deflate
 * without its 00 00 ff ff tail) to out, refusing to produce more than max
 * bytes (SIO_ETOOBIG: a small frame can inflate to gigabytes). SIO_OK,
 * SIO_EPARSE for bytes that are not deflate data, SIO_ENOMEM. */
int zc_inflate_raw(zcodec *z, const uint8_t *in, size_t n, size_t max, sbuf *out);

/* Which content coding of Accept-Encoding to answer with, as the reference
 * does (npm `accepts`: the client's q-values, gzip before deflate on a tie):
 * ZC_GZIP, ZC_DEFLATE, or -1 for none. */
int zc_pick_encoding(const char *accept_encoding);
/* Its Content-Encoding token: "gzip", "deflate", or NULL for any other value. */
const char *zc_coding_name(int format);

#endif
