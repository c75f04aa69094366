#include "util/fifo.h"

#include <stdlib.h>

#include "sio/status.h"

#define MIN_CAP 16

static uint32_t *slot_of(const fifo *q, void *item) {
    return (uint32_t *)((char *)item + q->slot_off);
}

/* Move the items to the front, keeping their order, and renumber them. */
static void compact(fifo *q) {
    uint32_t n = 0;
    for (uint32_t i = q->head; i < q->tail; i++) {
        if (!q->e[i]) continue;
        q->e[n] = q->e[i];
        *slot_of(q, q->e[n]) = n + 1;
        n++;
    }
    q->head = 0;
    q->tail = n;
}

int fifo_push(fifo *q, void *item) {
    if (q->tail == q->cap) {
        compact(q);
        /* Grow only when at least half the array is items, and shrink when
         * under a quarter is (the peak of a flood is not kept): either way
         * half the array or more is free until the next compaction, so its
         * cost is amortised over as many pushes. */
        if (q->cap > MIN_CAP && q->tail < q->cap / 4) {
            void **e = realloc(q->e, (size_t)(q->cap / 2) * sizeof *e);
            if (e) {
                q->e = e;
                q->cap /= 2;
            }
        } else if (q->tail >= q->cap / 2) {
            uint32_t cap = q->cap ? q->cap * 2 : MIN_CAP;
            if (cap < q->cap) return SIO_ENOMEM;
            void **e = realloc(q->e, (size_t)cap * sizeof *e);
            if (!e) return SIO_ENOMEM;
            q->e = e;
            q->cap = cap;
        }
    }
    q->e[q->tail++] = item;
    *slot_of(q, item) = q->tail;
    q->len++;
    return SIO_OK;
}

void fifo_remove(fifo *q, void *item) {
    uint32_t *slot = slot_of(q, item);
    if (!*slot) return;
    q->e[*slot - 1] = NULL;
    *slot = 0;
    if (--q->len) return;
    /* Empty: after a flood, give the array back rather than keep its peak. */
    if (q->cap > MIN_CAP) {
        free(q->e);
        q->e = NULL;
        q->cap = 0;
    }
    q->head = q->tail = 0;
}

void *fifo_oldest(fifo *q) {
    while (q->head < q->tail && !q->e[q->head])
        q->head++;
    return q->head < q->tail ? q->e[q->head] : NULL;
}

void fifo_free(fifo *q) {
    for (uint32_t i = q->head; i < q->tail; i++)
        if (q->e[i]) *slot_of(q, q->e[i]) = 0;
    free(q->e);
    q->e = NULL;
    q->head = q->tail = q->cap = q->len = 0;
}
