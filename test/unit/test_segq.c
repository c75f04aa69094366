/* Shared buffers and segment queues (util/segq.h): order of own and shared
 * parts, separators, partial consumption, reference counts. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio/status.h"
#include "util/segq.h"

/* Everything queued, joined (with sep between parts when given). */
static sbuf joined(const segq *q, const uint8_t *sep) {
    struct iovec iov[64];
    size_t n = segq_iov(q, iov, 64, sep);
    sbuf out = SBUF_INIT;
    for (size_t i = 0; i < n; i++)
        sbuf_append(&out, iov[i].iov_base, iov[i].iov_len);
    return out;
}

#define CHECK_QUEUE(q, sep, want)                                                                  \
    do {                                                                                           \
        sbuf j_ = joined((q), (sep));                                                              \
        CHECK_MEM(j_.data, j_.len, (want));                                                        \
        sbuf_free(&j_);                                                                            \
    } while (0)

static void test_shared_refs(void) {
    sbuf_shared *s = sbuf_shared_new("abc", 3);
    CHECK(s && s->refs == 1 && s->len == 3 && memcmp(s->data, "abc", 3) == 0);
    CHECK(sbuf_shared_ref(s) == s && s->refs == 2);
    sbuf_shared_unref(s);
    CHECK(s->refs == 1);
    sbuf_shared_unref(s); /* freed: LeakSanitizer would report otherwise */
    sbuf_shared_unref(NULL);
    sbuf_shared *e = sbuf_shared_new(NULL, 0);
    CHECK(e && e->len == 0);
    sbuf_shared_unref(e);
}

static void test_order_and_separators(void) {
    static const uint8_t sep = 0x1e;
    segq q = SEGQ_INIT;
    CHECK(segq_len(&q) == 0 && segq_parts(&q) == 0);
    struct iovec none[2];
    CHECK(segq_iov(&q, none, 2, &sep) == 0);
    sbuf_shared *a = sbuf_shared_new("AAAA", 4), *b = sbuf_shared_new("BB", 2);
    sbuf_puts(segq_tail(&q), "o1");
    CHECK(segq_push_shared(&q, a) == SIO_OK); /* seals "o1" before it */
    CHECK(a->refs == 2);
    CHECK(segq_push_shared(&q, b) == SIO_OK);
    sbuf_puts(segq_tail(&q), "o2");
    CHECK(segq_push_shared(&q, a) == SIO_OK); /* the same block twice */
    CHECK(a->refs == 3);
    CHECK(segq_len(&q) == 2 + 4 + 2 + 2 + 4);
    CHECK(segq_parts(&q) == 5);
    CHECK_QUEUE(&q, NULL, "o1AAAABBo2AAAA");
    CHECK_QUEUE(&q, &sep,
                "o1\x1e"
                "AAAA\x1e"
                "BB\x1eo2\x1e"
                "AAAA");
    size_t len;
    const uint8_t *p = segq_part(&q, 3, &len);
    CHECK_MEM(p, len, "o2");
    /* Own bytes after the last block stay in the tail, last. */
    sbuf_puts(segq_tail(&q), "o3");
    CHECK_QUEUE(&q, NULL, "o1AAAABBo2AAAAo3");
    CHECK(segq_parts(&q) == 6);
    /* An empty block adds nothing. */
    sbuf_shared *e = sbuf_shared_new(NULL, 0);
    CHECK(segq_push_shared(&q, e) == SIO_OK && e->refs == 1 && segq_parts(&q) == 6);
    sbuf_shared_unref(e);
    segq_clear(&q);
    CHECK(segq_len(&q) == 0 && segq_parts(&q) == 0);
    CHECK(a->refs == 1 && b->refs == 1); /* the queue's references are gone */
    sbuf_puts(segq_tail(&q), "x");
    CHECK_QUEUE(&q, &sep, "x");
    segq_free(&q);
    sbuf_shared_unref(a);
    sbuf_shared_unref(b);
}

static void test_consume(void) {
    segq q = SEGQ_INIT;
    sbuf_shared *a = sbuf_shared_new("0123456789", 10);
    sbuf_puts(segq_tail(&q), "ab");
    segq_push_shared(&q, a);
    sbuf_puts(segq_tail(&q), "cd");
    sbuf_shared_unref(a); /* only the queue holds it now */
    segq_consume(&q, 1);
    CHECK_QUEUE(&q, NULL, "b0123456789cd");
    segq_consume(&q, 4); /* into the block */
    CHECK_QUEUE(&q, NULL, "3456789cd");
    CHECK(segq_len(&q) == 9);
    size_t len;
    const uint8_t *p = segq_part(&q, 0, &len);
    CHECK_MEM(p, len, "3456789");
    segq_consume(&q, 7); /* exactly the block's end: released */
    CHECK(segq_parts(&q) == 1 && q.n == 0);
    CHECK_QUEUE(&q, NULL, "cd");
    segq_consume(&q, 1);
    CHECK_QUEUE(&q, NULL, "d");
    segq_consume(&q, 1);
    CHECK(segq_len(&q) == 0);
    segq_free(&q);
}

static void test_many_and_iov_limit(void) {
    segq q = SEGQ_INIT;
    sbuf_shared *a = sbuf_shared_new("x", 1);
    sbuf want = SBUF_INIT;
    for (int i = 0; i < 1000; i++) {
        /* Alternate own bytes and blocks; consume as a writer would. */
        sbuf_putc(segq_tail(&q), (uint8_t)('a' + i % 26));
        sbuf_putc(&want, (uint8_t)('a' + i % 26));
        CHECK(segq_push_shared(&q, a) == SIO_OK);
        sbuf_putc(&want, 'x');
        if (i % 3 == 2) {
            segq_consume(&q, 3);
            sbuf_consume(&want, 3);
        }
    }
    CHECK(segq_len(&q) == want.len);
    uint32_t refs = 1;
    for (uint32_t i = q.head; i < q.n; i++)
        refs += q.seg[i].shared == a;
    CHECK(a->refs == refs && refs > 300);
    struct iovec iov[8];
    CHECK(segq_iov(&q, iov, 8, NULL) == 8);
    static const uint8_t sep = ',';
    CHECK(segq_iov(&q, iov, 7, &sep) == 7); /* separators count against max */
    CHECK(iov[1].iov_len == 1 && iov[1].iov_base == (void *)&sep);
    size_t got = 0;
    while (segq_len(&q)) {
        size_t n = segq_iov(&q, iov, 8, NULL), take = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(memcmp(iov[i].iov_base, want.data + got + take, iov[i].iov_len) == 0);
            take += iov[i].iov_len;
        }
        take = take > 5 ? take - 5 : take; /* a short write */
        segq_consume(&q, take);
        got += take;
    }
    CHECK(got == want.len);
    CHECK(a->refs == 1);
    segq_free(&q);
    sbuf_free(&want);
    sbuf_shared_unref(a);
}

int main(void) {
    test_shared_refs();
    test_order_and_separators();
    test_consume();
    test_many_and_iov_limit();
    return CHECK_DONE();
}
