/* Decoding with zlib itself, for the tests of what util/zcodec.c makes:
 * gzip or zlib data (windowBits 15+32 takes either) appended to out. */
#ifndef SIO_TEST_PLAIN_INFLATE_H
#define SIO_TEST_PLAIN_INFLATE_H

#include <string.h>
#include <zlib.h>

#include "util/buf.h"

static inline int plain_inflate(const uint8_t *in, size_t n, sbuf *out) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, 15 + 32) != Z_OK) return -1;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    int rc;
    do {
        sbuf_reserve(out, 65536);
        s.next_out = out->data + out->len;
        s.avail_out = 65536;
        rc = inflate(&s, Z_NO_FLUSH);
        out->len += 65536 - s.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&s);
    return rc == Z_STREAM_END ? 0 : -1;
}

#endif
