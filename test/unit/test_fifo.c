/* The FIFO with removal from anywhere: order, removal of the head, the
 * middle and the tail, holes skipped, slots renumbered when the array is
 * compacted, growth and shrinking, and the empty state. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "sio/status.h"
#include "util/fifo.h"

struct item {
    int id;
    uint32_t slot;
};

#define N 10000

/* Every queued item's slot points at itself, holes excepted, and len counts them. */
static int fifo_sane(const fifo *q) {
    uint32_t live = 0;
    for (uint32_t i = q->head; i < q->tail; i++) {
        struct item *it = q->e[i];
        if (!it) continue;
        if (it->slot != i + 1) return 0;
        live++;
    }
    return live == q->len && q->tail <= q->cap;
}

static void test_order_and_remove(void) {
    fifo q = FIFO_INIT(struct item, slot);
    struct item it[5];
    CHECK(fifo_oldest(&q) == NULL);
    for (int i = 0; i < 5; i++) {
        it[i] = (struct item){i, 0};
        CHECK(fifo_push(&q, &it[i]) == SIO_OK);
        CHECK(it[i].slot != 0);
    }
    CHECK(fifo_len(&q) == 5);
    CHECK(fifo_oldest(&q) == &it[0]);
    fifo_remove(&q, &it[0]); /* the head */
    CHECK(it[0].slot == 0);
    CHECK(fifo_oldest(&q) == &it[1]);
    fifo_remove(&q, &it[2]); /* the middle */
    fifo_remove(&q, &it[4]); /* the tail */
    fifo_remove(&q, &it[4]); /* not queued: nothing */
    CHECK(fifo_len(&q) == 2);
    CHECK(fifo_oldest(&q) == &it[1]);
    fifo_remove(&q, &it[1]);
    CHECK(fifo_oldest(&q) == &it[3]); /* the hole at 2 is skipped */
    fifo_remove(&q, &it[3]);
    CHECK(fifo_len(&q) == 0);
    CHECK(fifo_oldest(&q) == NULL);
    /* Usable again once empty. */
    CHECK(fifo_push(&q, &it[2]) == SIO_OK);
    CHECK(fifo_oldest(&q) == &it[2]);
    CHECK(fifo_sane(&q));
    fifo_free(&q);
    CHECK(it[2].slot == 0);
}

/* A long-lived head with many items coming and going behind it (the
 * half-open session that never completes, among clients that do): the
 * array is compacted rather than grown, and the order survives. */
static void test_compaction(void) {
    fifo q = FIFO_INIT(struct item, slot);
    struct item *it = calloc(N, sizeof *it);
    CHECK(it != NULL);
    if (!it) return;
    struct item old = {-1, 0};
    CHECK(fifo_push(&q, &old) == SIO_OK);
    for (int i = 0; i < N; i++) {
        it[i].id = i;
        CHECK(fifo_push(&q, &it[i]) == SIO_OK);
        if (i >= 3) fifo_remove(&q, &it[i - 3]); /* three in flight at a time */
    }
    CHECK(fifo_len(&q) == 4);
    CHECK(q.cap <= 64);
    CHECK(fifo_sane(&q));
    CHECK(fifo_oldest(&q) == &old);
    fifo_remove(&q, &old);
    CHECK(fifo_oldest(&q) == &it[N - 3]);
    fifo_free(&q);
    free(it);
}

/* A flood: many queued at once, then taken oldest first; the array grows,
 * shrinks back while it drains, and is released when empty. */
static void test_flood(void) {
    fifo q = FIFO_INIT(struct item, slot);
    struct item *it = calloc(N, sizeof *it);
    CHECK(it != NULL);
    if (!it) return;
    for (int i = 0; i < N; i++) {
        it[i].id = i;
        CHECK(fifo_push(&q, &it[i]) == SIO_OK);
    }
    CHECK(fifo_len(&q) == N);
    CHECK(q.cap >= N && q.cap <= 2 * N);
    CHECK(fifo_sane(&q));
    int in_order = 1;
    for (int i = 0; i < N - 10; i++) {
        struct item *o = fifo_oldest(&q);
        if (o != &it[i]) in_order = 0;
        fifo_remove(&q, o);
    }
    CHECK(in_order);
    /* 10 left: the pushes and removals that follow (clients that complete)
     * compact the array each time it fills, and shrink it by half. */
    struct item more = {N, 0};
    for (int i = 0; i < 4 * N; i++) {
        CHECK(fifo_push(&q, &more) == SIO_OK);
        fifo_remove(&q, &more);
    }
    CHECK(q.cap <= 64);
    CHECK(fifo_sane(&q));
    CHECK(fifo_oldest(&q) == &it[N - 10]);
    for (int i = N - 10; i < N; i++)
        fifo_remove(&q, &it[i]);
    CHECK(fifo_len(&q) == 0 && q.e == NULL && q.cap == 0);
    fifo_free(&q);
    free(it);
}

int main(void) {
    test_order_and_remove();
    test_compaction();
    test_flood();
    return CHECK_DONE();
}
