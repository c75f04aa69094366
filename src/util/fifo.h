/* A FIFO of pointers from which any item can also leave in O(1). Each item
 * keeps its own slot number (a uint32_t at a fixed offset inside the item):
 * 4 bytes per item where an intrusive list would take two pointers. An item
 * that leaves early leaves a hole; the head skips holes, and a full array is
 * compacted (renumbering the items) before it grows or shrinks, so the
 * array follows the number of items (at most four times it after a
 * compaction) and a push is amortised O(1). */
#ifndef SIO_UTIL_FIFO_H
#define SIO_UTIL_FIFO_H

#include <stddef.h>
#include <stdint.h>

typedef struct fifo {
    void **e;
    uint32_t head, tail; /* items and holes are in e[head..tail) */
    uint32_t cap, len;   /* len: items, holes not counted */
    size_t slot_off;     /* offsetof(item type, its uint32_t slot field) */
} fifo;

/* The slot field holds the index + 1, or 0 when the item is not queued. */
#define FIFO_INIT(type, field)                                                                     \
    { NULL, 0, 0, 0, 0, offsetof(type, field) }

/* Append an item that is not queued; SIO_OK or SIO_ENOMEM (then not queued). */
int fifo_push(fifo *q, void *item);
/* Take the item out wherever it is; nothing when it is not queued. */
void fifo_remove(fifo *q, void *item);
/* The item queued longest ago (it stays queued), or NULL. */
void *fifo_oldest(fifo *q);
void fifo_free(fifo *q);
static inline uint32_t fifo_len(const fifo *q) {
    return q->len;
}

#endif
