/* util/zcodec: gzip / deflate / permessage-deflate round trips against zlib
 * itself, the inflate bound, garbage, and Accept-Encoding negotiation. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plain_inflate.h"
#include "sio/status.h"
#include "util/zcodec.h"

static uint8_t *sample(size_t n, unsigned seed) {
    uint8_t *p = malloc(n ? n : 1);
    /* Text-like: compressible, but not trivially. */
    static const char words[][8] = {"socket", "io", "event", "room", "ack",
                                    "binary", " ",  "\"",    "{"};
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 9];
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = (uint8_t)w[k];
    }
    return p;
}

static void test_http_codings(zcodec *z) {
    static const size_t sizes[] = {0, 1, 100, 1024, 5000, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *in = sample(sizes[i], (unsigned)i);
        for (int f = ZC_GZIP; f <= ZC_DEFLATE; f++) {
            sbuf c = SBUF_INIT, d = SBUF_INIT;
            CHECK(zc_compress(z, (zc_format)f, in, sizes[i], &c) == SIO_OK);
            if (f == ZC_GZIP) CHECK(c.len >= 18 && c.data[0] == 0x1f && c.data[1] == 0x8b);
            if (f == ZC_DEFLATE) CHECK(c.len >= 6 && (c.data[0] & 0x0f) == 8);
            CHECK(plain_inflate(c.data, c.len, &d) == 0);
            CHECK(d.len == sizes[i] && (!d.len || memcmp(d.data, in, d.len) == 0));
            if (sizes[i] >= 5000) CHECK(c.len < sizes[i] / 2);
            sbuf_free(&c);
            sbuf_free(&d);
        }
        free(in);
    }
}

static void test_permessage_deflate(zcodec *z) {
    static const size_t sizes[] = {0, 1, 125, 1024, 20000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *in = sample(sizes[i], 7 + (unsigned)i);
        sbuf c = SBUF_INIT, d = SBUF_INIT;
        CHECK(zc_compress(z, ZC_RAW, in, sizes[i], &c) == SIO_OK);
        /* The tail is cut: a message never ends in 00 00 ff ff. */
        CHECK(c.len < 4 || memcmp(c.data + c.len - 4, "\x00\x00\xff\xff", 4) != 0);
        CHECK(zc_inflate_raw(z, c.data, c.len, sizes[i], &d) == SIO_OK);
        CHECK(d.len == sizes[i] && (!d.len || memcmp(d.data, in, d.len) == 0));
        /* Appends: what out held stays in front. */
        sbuf e = SBUF_INIT;
        sbuf_append(&e, "xy", 2);
        CHECK(zc_inflate_raw(z, c.data, c.len, sizes[i], &e) == SIO_OK);
        CHECK(e.len == sizes[i] + 2 && memcmp(e.data, "xy", 2) == 0);
        /* No context is kept: the same input compresses to the same bytes. */
        sbuf c2 = SBUF_INIT;
        CHECK(zc_compress(z, ZC_RAW, in, sizes[i], &c2) == SIO_OK);
        CHECK(c2.len == c.len && memcmp(c2.data, c.data, c.len) == 0);
        sbuf_free(&c);
        sbuf_free(&c2);
        sbuf_free(&d);
        sbuf_free(&e);
        free(in);
    }
    /* "Hello" from RFC 7692 7.2.3.1, compressed by a peer. */
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    sbuf d = SBUF_INIT;
    CHECK(zc_inflate_raw(z, hello, sizeof hello, 100, &d) == SIO_OK);
    CHECK_MEM(d.data, d.len, "Hello");
    sbuf_free(&d);
    /* Uncompressed (stored) block form, 7.2.3.3. */
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    CHECK(zc_inflate_raw(z, stored, sizeof stored, 100, &d) == SIO_OK);
    CHECK_MEM(d.data, d.len, "Hello");
    sbuf_free(&d);
}

static void test_bounds(zcodec *z) {
    /* 16 MiB of zeros deflate to a few KiB: the bound stops the inflate. */
    size_t n = 16u << 20;
    uint8_t *zeros = calloc(1, n);
    sbuf c = SBUF_INIT, d = SBUF_INIT;
    CHECK(zc_compress(z, ZC_RAW, zeros, n, &c) == SIO_OK);
    CHECK(c.len < 64 * 1024);
    CHECK(zc_inflate_raw(z, c.data, c.len, 1000000, &d) == SIO_ETOOBIG);
    CHECK(d.len == 0);
    CHECK(d.cap < 2u << 20); /* it stopped near the bound, not at 16 MiB */
    /* The stream is reset after a refusal: the next message inflates. */
    sbuf c2 = SBUF_INIT;
    CHECK(zc_compress(z, ZC_RAW, (const uint8_t *)"again", 5, &c2) == SIO_OK);
    CHECK(zc_inflate_raw(z, c2.data, c2.len, 100, &d) == SIO_OK);
    CHECK_MEM(d.data, d.len, "again");
    sbuf_free(&c);
    sbuf_free(&c2);
    sbuf_free(&d);
    free(zeros);
    /* Garbage is a parse error, and leaves out as it was. */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x12, 0x34};
    sbuf e = SBUF_INIT;
    sbuf_append(&e, "keep", 4);
    CHECK(zc_inflate_raw(z, junk, sizeof junk, 100, &e) == SIO_EPARSE);
    CHECK_MEM(e.data, e.len, "keep");
    sbuf_free(&e);
}

/* A gathered message compresses to what its bytes in one piece decode to,
 * empty pieces anywhere included; the names go in Content-Encoding. */
static void test_iov(zcodec *z) {
    uint8_t *in = sample(9000, 7);
    static const uint8_t sep = 0x1e;
    struct iovec v[] = {
        {in, 3000}, {(void *)&sep, 1}, {in + 3000, 0}, {in + 3000, 6000}, {(void *)&sep, 0}};
    for (int f = ZC_GZIP; f <= ZC_DEFLATE; f++) {
        sbuf c = SBUF_INIT, d = SBUF_INIT;
        CHECK(zc_compress_iov(z, (zc_format)f, v, 5, &c) == SIO_OK);
        CHECK(plain_inflate(c.data, c.len, &d) == 0);
        CHECK(d.len == 9001 && memcmp(d.data, in, 3000) == 0 && d.data[3000] == 0x1e &&
              memcmp(d.data + 3001, in + 3000, 6000) == 0);
        sbuf_clear(&c);
        sbuf_clear(&d);
        CHECK(zc_compress_iov(z, (zc_format)f, v + 2, 1, &c) == SIO_OK); /* nothing */
        CHECK(plain_inflate(c.data, c.len, &d) == 0 && d.len == 0);
        sbuf_free(&c);
        sbuf_free(&d);
    }
    CHECK(strcmp(zc_coding_name(ZC_GZIP), "gzip") == 0);
    CHECK(strcmp(zc_coding_name(ZC_DEFLATE), "deflate") == 0);
    CHECK(zc_coding_name(ZC_RAW) == NULL && zc_coding_name(-1) == NULL);
    free(in);
}

static void test_pick(void) {
    CHECK(zc_pick_encoding(NULL) == -1);
    CHECK(zc_pick_encoding("") == -1);
    CHECK(zc_pick_encoding("identity") == -1);
    CHECK(zc_pick_encoding("br") == -1);
    CHECK(zc_pick_encoding("gzip, deflate, br") == ZC_GZIP);
    CHECK(zc_pick_encoding("deflate, gzip") == ZC_GZIP); /* a tie: gzip first */
    CHECK(zc_pick_encoding("deflate") == ZC_DEFLATE);
    CHECK(zc_pick_encoding("GZIP") == ZC_GZIP);
    CHECK(zc_pick_encoding("gzip;q=0.5, deflate") == ZC_DEFLATE);
    CHECK(zc_pick_encoding("gzip; q=0, deflate;q=0") == -1);
    CHECK(zc_pick_encoding("gzip;q=0") == -1);
    CHECK(zc_pick_encoding("*") == ZC_GZIP);
    CHECK(zc_pick_encoding("*;q=0") == -1);
    CHECK(zc_pick_encoding("deflate;q=0.8, *;q=0.9") == ZC_GZIP);
    CHECK(zc_pick_encoding("gzip;q=0, *") == ZC_DEFLATE);
}

int main(void) {
    zcodec *z = zc_new(-1);
    CHECK(z != NULL);
    test_http_codings(z);
    test_permessage_deflate(z);
    test_bounds(z);
    test_iov(z);
    test_pick();
    zc_free(z);
    zc_free(NULL);
    return CHECK_DONE();
}
