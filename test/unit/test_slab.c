/* The slab pool (util/slab.h): zeroed objects, reuse of freed slots, chunks
 * mapped as they fill and unmapped when they empty (one kept), and a pool
 * released by its owner while objects are alive goes with the last one.
 * Under AddressSanitizer objects are malloc'd: the counts still hold, the
 * chunk figures are 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/slab.h"

#define N 5000

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static void test_alloc_free(void) {
    slab_pool *p = slab_new(100);
    CHECK(p != NULL);
    static unsigned char *o[N];
    for (int i = 0; i < N; i++) {
        o[i] = slab_calloc(p);
        CHECK(o[i] != NULL);
        CHECK(((uintptr_t)o[i] & 7) == 0);
        CHECK(all_zero(o[i], 100));
        memset(o[i], 0xab, 100);
    }
    CHECK(slab_live(p) == N);
    size_t chunks = slab_chunks(p);
    /* 5000 x 104 B in 64 KiB chunks: 8 of them (0 with malloc'd objects). */
    CHECK(chunks == 0 || chunks == 8);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < i + 3 && j < N; j++)
            CHECK(o[i] + 100 <= o[j] || o[j] + 100 <= o[i]);
    /* Freed slots come back zeroed. */
    slab_free(o[10]);
    unsigned char *again = slab_calloc(p);
    CHECK(all_zero(again, 100));
    o[10] = again;
    for (int i = 0; i < N; i += 2)
        slab_free(o[i]);
    CHECK(slab_live(p) == N / 2);
    for (int i = 1; i < N; i += 2)
        CHECK(o[i][0] == 0xab && o[i][99] == 0xab);
    for (int i = 1; i < N; i += 2)
        slab_free(o[i]);
    CHECK(slab_live(p) == 0);
    CHECK(slab_chunks(p) == 0);
    slab_free(NULL);
    slab_release(p);
}

static void test_release_with_live_objects(void) {
    slab_pool *p = slab_new(sizeof(void *));
    void *a = slab_calloc(p), *b = slab_calloc(p);
    CHECK(a && b && a != b);
    slab_release(p); /* the owner is gone; the objects still work */
    memset(a, 1, sizeof(void *));
    slab_free(a);
    slab_free(b); /* the pool goes here (LeakSanitizer checks it did) */
}

static void test_too_big(void) {
    CHECK(slab_new(64 * 1024) == NULL);
    slab_pool *p = slab_new(1);
    CHECK(p != NULL);
    void *x = slab_calloc(p);
    CHECK(x != NULL);
    slab_free(x);
    slab_release(p);
}

int main(void) {
    test_alloc_free();
    test_release_with_live_objects();
    test_too_big();
    return CHECK_DONE();
}
