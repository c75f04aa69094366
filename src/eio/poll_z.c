#include "eio/poll_z.h"

#include <stdlib.h>

#include "sio/status.h"

/* Whether q is nothing but whole shared blocks, few enough to be a key. */
static uint32_t shared_only(const segq *q) {
    uint32_t n = q->n - q->head;
    if (q->tail.len || q->off || n == 0 || n > POLL_Z_KEY) return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!q->seg[q->head + i].shared) return 0;
    return n;
}

static void forget(struct poll_z_last *l) {
    for (uint32_t i = 0; i < l->n; i++)
        sbuf_shared_unref(l->key[i]);
    sbuf_shared_unref(l->body);
    *l = (struct poll_z_last){{NULL}, 0, NULL};
}

int poll_z_encode(poll_z *pz, zcodec *z, int coding, const segq *q, const uint8_t *sep,
                  sbuf_shared **body) {
    if (!z || (coding != ZC_GZIP && coding != ZC_DEFLATE)) return SIO_EINVAL;
    struct poll_z_last *l = &pz->last[coding == ZC_GZIP ? 0 : 1];
    uint32_t keyed = shared_only(q);
    if (keyed && keyed == l->n) {
        uint32_t i = 0;
        while (i < keyed && l->key[i] == q->seg[q->head + i].shared)
            i++;
        if (i == keyed) {
            *body = sbuf_shared_ref(l->body);
            return SIO_OK;
        }
    }
    struct iovec small[2 * POLL_Z_KEY + 1], *iov = small;
    size_t n = segq_parts(q) * 2 - 1;
    if (n > sizeof small / sizeof *small && !(iov = malloc(n * sizeof *iov))) return SIO_ENOMEM;
    n = segq_iov(q, iov, n, sep);
    sbuf_clear(&pz->out);
    int rc = zc_compress_iov(z, (zc_format)coding, iov, n, &pz->out);
    if (iov != small) free(iov);
    sbuf_shared *b = rc == SIO_OK ? sbuf_shared_new(pz->out.data, pz->out.len) : NULL;
    /* One big answer must not pin its buffer for the server's life. */
    if (pz->out.cap > 256 * 1024) sbuf_free(&pz->out);
    if (!b) return rc == SIO_OK ? SIO_ENOMEM : rc;
    if (keyed) {
        forget(l);
        for (uint32_t i = 0; i < keyed; i++)
            l->key[i] = sbuf_shared_ref(q->seg[q->head + i].shared);
        l->n = keyed;
        l->body = sbuf_shared_ref(b);
    }
    *body = b;
    return SIO_OK;
}

void poll_z_free(poll_z *pz) {
    forget(&pz->last[0]);
    forget(&pz->last[1]);
    sbuf_free(&pz->out);
}
