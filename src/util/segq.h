/* Output queues that share broadcast bytes. A broadcast is encoded once into
 * an immutable, reference-counted block (sbuf_shared); every receiver's queue
 * holds a reference to it instead of a copy, so a room of slow readers costs
 * the broadcast once, not once per reader. A queue (segq) is a short list of
 * parts: shared blocks, and the queue's own bytes (packets for that receiver
 * alone), which are appended in place to the open tail buffer. */
#ifndef SIO_UTIL_SEGQ_H
#define SIO_UTIL_SEGQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/buf.h"

typedef struct sbuf_shared {
    uint32_t refs;
    size_t len;
    uint8_t data[];
} sbuf_shared;

/* A block holding a copy of p (one reference, the caller's); NULL when out of memory. */
sbuf_shared *sbuf_shared_new(const void *p, size_t n);
static inline sbuf_shared *sbuf_shared_ref(sbuf_shared *s) {
    s->refs++;
    return s;
}
/* Drop a reference (NULL is ignored); the last one frees the block. */
void sbuf_shared_unref(sbuf_shared *s);

typedef struct segq_seg {
    sbuf_shared *shared; /* a reference, or NULL: `own` holds malloc'd bytes */
    uint8_t *own;
    size_t len;
} segq_seg;

typedef struct segq {
    segq_seg *seg; /* parts before the tail, oldest first, from seg[head] */
    uint32_t head, n, cap;
    size_t off;     /* bytes of seg[head] already consumed */
    size_t seg_len; /* bytes in seg[head..n), off included */
    sbuf tail;      /* own bytes after the segments: encoders append here */
} segq;

/* Blocks smaller than this are cheaper copied into each queue than shared:
 * a reference costs a segment (24 bytes) and a gathered write. */
#define SEGQ_SHARE_MIN 512

#define SEGQ_INIT                                                                                  \
    { NULL, 0, 0, 0, 0, 0, SBUF_INIT }

/* Bytes queued (what is left to send; no separators). */
static inline size_t segq_len(const segq *q) {
    return q->seg_len - q->off + q->tail.len;
}
/* Non-empty parts queued (segments, and the tail when it holds bytes). */
static inline size_t segq_parts(const segq *q) {
    return (q->n - q->head) + (q->tail.len ? 1 : 0);
}
/* The tail, for appending own bytes in place (stable for the queue's life). */
static inline sbuf *segq_tail(segq *q) {
    return &q->tail;
}
/* Queue a reference to s (taken here) after everything queued so far; empty
 * blocks are skipped. 0 or SIO_ENOMEM (then nothing changed). */
int segq_push_shared(segq *q, sbuf_shared *s);
/* Part i (0 <= i < segq_parts) from the current position: its bytes and length. */
const uint8_t *segq_part(const segq *q, size_t i, size_t *len);
/* Fill at most max entries of iov with the queued bytes in order; when sep is
 * not NULL, a one-byte entry pointing at *sep goes between two parts (the
 * long-polling record separator). Returns the entries used. */
size_t segq_iov(const segq *q, struct iovec *iov, size_t max, const uint8_t *sep);
/* Drop the first n bytes (n <= segq_len); parts fully consumed are released. */
void segq_consume(segq *q, size_t n);
/* The bytes at offset off from the current position, up to the end of the
 * part holding it (*avail of them); NULL past the end. */
const uint8_t *segq_at(const segq *q, size_t off, size_t *avail);
/* Keep the first `keep` bytes (keep <= segq_len) and drop the rest. */
void segq_truncate(segq *q, size_t keep);
/* Drop everything queued; the tail keeps its memory. */
void segq_clear(segq *q);
/* Drop everything and release all memory. */
void segq_free(segq *q);

#endif
