/* eio/poll_z: a polling answer compressed in each coding decodes to the
 * queue's bytes joined by the separator; an answer made of the same shared
 * blocks (a broadcast to many held GETs) reuses the first one's compressed
 * bytes, anything else is compressed anew. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plain_inflate.h"
#include "eio/poll_z.h"
#include "sio/status.h"

static const uint8_t sep = 0x1e;

static void check_decodes(const sbuf_shared *b, const char *want) {
    sbuf d = SBUF_INIT;
    CHECK(plain_inflate(b->data, b->len, &d) == 0);
    CHECK_MEM(d.data, d.len, want);
    sbuf_free(&d);
}

int main(void) {
    zcodec *z = zc_new(-1);
    poll_z pz = POLL_Z_INIT;
    char text[2000];
    for (size_t i = 0; i < sizeof text - 1; i++)
        text[i] = "4socket.io "[i % 11];
    text[sizeof text - 1] = 0;
    sbuf_shared *b1 = sbuf_shared_new(text, strlen(text));
    sbuf_shared *b2 = sbuf_shared_new("4second", 7);

    /* Two receivers of the same broadcast: one compression. */
    segq q1 = SEGQ_INIT, q2 = SEGQ_INIT;
    CHECK(segq_push_shared(&q1, b1) == 0);
    CHECK(segq_push_shared(&q2, b1) == 0);
    sbuf_shared *a1, *a2, *a3, *a4;
    CHECK(poll_z_encode(&pz, z, ZC_GZIP, &q1, &sep, &a1) == SIO_OK);
    CHECK(poll_z_encode(&pz, z, ZC_GZIP, &q2, &sep, &a2) == SIO_OK);
    CHECK(a1 == a2 && a1->len < 200);
    check_decodes(a1, text);
    /* The other coding is its own entry. */
    CHECK(poll_z_encode(&pz, z, ZC_DEFLATE, &q2, &sep, &a3) == SIO_OK);
    CHECK(a3 != a1 && a3->data[0] != 0x1f);
    check_decodes(a3, text);

    /* Own bytes after the block: compressed for this queue, joined by 0x1e. */
    sbuf_puts(segq_tail(&q2), "4own");
    CHECK(poll_z_encode(&pz, z, ZC_GZIP, &q2, &sep, &a4) == SIO_OK);
    CHECK(a4 != a1);
    char want[2100];
    snprintf(want, sizeof want,
             "%s\x1e"
             "4own",
             text);
    check_decodes(a4, want);
    sbuf_shared_unref(a4);

    /* A different block sequence misses; the cached one still holds its block. */
    segq_clear(&q2);
    CHECK(segq_push_shared(&q2, b1) == 0);
    CHECK(segq_push_shared(&q2, b2) == 0);
    CHECK(poll_z_encode(&pz, z, ZC_GZIP, &q2, &sep, &a4) == SIO_OK);
    CHECK(a4 != a1);
    snprintf(want, sizeof want,
             "%s\x1e"
             "4second",
             text);
    check_decodes(a4, want);
    CHECK(b1->refs >= 3); /* the caller's, q1's, q2's (and the cache's while keyed) */

    /* Not a coding of HTTP's: refused, the caller answers uncompressed. */
    sbuf_shared *none = NULL;
    CHECK(poll_z_encode(&pz, z, ZC_RAW, &q1, &sep, &none) == SIO_EINVAL && !none);
    CHECK(poll_z_encode(&pz, NULL, ZC_GZIP, &q1, &sep, &none) == SIO_EINVAL && !none);

    sbuf_shared_unref(a1);
    sbuf_shared_unref(a2);
    sbuf_shared_unref(a3);
    sbuf_shared_unref(a4);
    segq_free(&q1);
    segq_free(&q2);
    poll_z_free(&pz);
    CHECK(b1->refs == 1 && b2->refs == 1); /* the cache let go */
    sbuf_shared_unref(b1);
    sbuf_shared_unref(b2);
    zc_free(z);
    return CHECK_DONE();
}
