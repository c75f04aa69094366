#include "util/segq.h"

#include <stdlib.h>
#include <string.h>

#include "sio/status.h"

sbuf_shared *sbuf_shared_new(const void *p, size_t n) {
    if (n > SIZE_MAX - sizeof(sbuf_shared)) return NULL;
    sbuf_shared *s = malloc(sizeof *s + n);
    if (!s) return NULL;
    s->refs = 1;
    s->len = n;
    if (n) memcpy(s->data, p, n);
    return s;
}

void sbuf_shared_unref(sbuf_shared *s) {
    if (s && --s->refs == 0) free(s);
}

static void seg_release(segq_seg *g) {
    if (g->shared)
        sbuf_shared_unref(g->shared);
    else
        free(g->own);
}

/* Room for `extra` more segments at the end, reusing consumed slots first. */
static int seg_reserve(segq *q, uint32_t extra) {
    if (q->cap - q->n >= extra) return SIO_OK;
    if (q->head) {
        memmove(q->seg, q->seg + q->head, (q->n - q->head) * sizeof *q->seg);
        q->n -= q->head;
        q->head = 0;
        if (q->cap - q->n >= extra) return SIO_OK;
    }
    uint32_t cap = q->cap ? q->cap : 4;
    while (cap - q->n < extra) {
        if (cap > UINT32_MAX / 2) return SIO_ENOMEM;
        cap *= 2;
    }
    segq_seg *p = realloc(q->seg, cap * sizeof *p);
    if (!p) return SIO_ENOMEM;
    q->seg = p;
    q->cap = cap;
    return SIO_OK;
}

int segq_push_shared(segq *q, sbuf_shared *s) {
    if (!s->len) return SIO_OK;
    int sealing = q->tail.len != 0;
    if (seg_reserve(q, sealing ? 2 : 1)) return SIO_ENOMEM;
    if (sealing) {
        /* The tail's bytes come before the block: they become a segment of
         * their own and the next own bytes start a fresh tail. */
        q->seg[q->n++] = (segq_seg){NULL, q->tail.data, q->tail.len};
        q->seg_len += q->tail.len;
        q->tail = (sbuf)SBUF_INIT;
    }
    q->seg[q->n++] = (segq_seg){sbuf_shared_ref(s), NULL, s->len};
    q->seg_len += s->len;
    return SIO_OK;
}

static const uint8_t *seg_data(const segq_seg *g) {
    return g->shared ? g->shared->data : g->own;
}

const uint8_t *segq_part(const segq *q, size_t i, size_t *len) {
    size_t nseg = q->n - q->head;
    if (i >= nseg) {
        *len = q->tail.len;
        return q->tail.data;
    }
    const segq_seg *g = &q->seg[q->head + i];
    size_t skip = i == 0 ? q->off : 0;
    *len = g->len - skip;
    return seg_data(g) + skip;
}

size_t segq_iov(const segq *q, struct iovec *iov, size_t max, const uint8_t *sep) {
    size_t parts = segq_parts(q), k = 0;
    for (size_t i = 0; i < parts && k < max; i++) {
        if (i && sep) {
            iov[k++] = (struct iovec){(void *)sep, 1};
            if (k == max) break;
        }
        size_t len;
        const uint8_t *p = segq_part(q, i, &len);
        iov[k++] = (struct iovec){(void *)p, len};
    }
    return k;
}

void segq_consume(segq *q, size_t n) {
    while (n && q->head < q->n) {
        segq_seg *g = &q->seg[q->head];
        size_t left = g->len - q->off;
        if (n < left) {
            q->off += n;
            return;
        }
        n -= left;
        q->seg_len -= g->len;
        q->off = 0;
        seg_release(g);
        q->head++;
    }
    if (q->head == q->n) q->head = q->n = 0;
    if (n) sbuf_consume(&q->tail, n);
}

void segq_clear(segq *q) {
    for (uint32_t i = q->head; i < q->n; i++)
        seg_release(&q->seg[i]);
    q->head = q->n = 0;
    q->off = q->seg_len = 0;
    sbuf_clear(&q->tail);
}

void segq_free(segq *q) {
    segq_clear(q);
    free(q->seg);
    q->seg = NULL;
    q->cap = 0;
    sbuf_free(&q->tail);
}

const uint8_t *segq_at(const segq *q, size_t off, size_t *avail) {
    size_t parts = segq_parts(q);
    for (size_t i = 0; i < parts; i++) {
        size_t len;
        const uint8_t *p = segq_part(q, i, &len);
        if (off < len) {
            *avail = len - off;
            return p + off;
        }
        off -= len;
    }
    *avail = 0;
    return NULL;
}

void segq_truncate(segq *q, size_t keep) {
    uint32_t i = q->head;
    size_t skip = q->off;
    for (; i < q->n && keep; i++, skip = 0) {
        segq_seg *g = &q->seg[i];
        size_t len = g->len - skip;
        if (keep < len) {
            /* A segment's length is its own: a shared block is cut by
             * shortening this reference to it. */
            q->seg_len -= len - keep;
            g->len = skip + keep;
            keep = 0;
            i++;
            break;
        }
        keep -= len;
    }
    for (uint32_t k = i; k < q->n; k++) {
        q->seg_len -= q->seg[k].len; /* off counts in seg_len: all of it goes */
        seg_release(&q->seg[k]);
    }
    q->n = i;
    if (q->head >= q->n) q->head = q->n = 0, q->off = q->seg_len = 0;
    if (keep < q->tail.len) q->tail.len = keep;
}
