/* A group of Engine.IO messages encoded once for every transport: the bytes
 * of WebSocket frames and of a long-polling payload. A broadcast builds one
 * batch and queues the same bytes on each receiver: by reference to one
 * shared copy per wire format, or copied into the queue: a batch below
 * SEGQ_SHARE_MIN is copied to its first receiver (a message to one socket
 * stays one contiguous write) and shared from the second on, so a burst of
 * small broadcasts costs a 24-byte reference per receiver and message, not
 * a copy (10k receivers x 20 messages of 64 B: ~19 MB of copies before). */
#ifndef SIO_EIO_BATCH_H
#define SIO_EIO_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "sio/eio.h"
#include "util/buf.h"
#include "util/segq.h"

typedef struct eio_batch {
    sbuf ws;                              /* whole frames */
    sbuf poll;                            /* packets joined by 0x1e, no leading separator */
    size_t n;                             /* messages */
    size_t bytes;                         /* their payload bytes, for the metrics */
    sbuf_shared *ws_shared, *poll_shared; /* ws/poll as sent by reference, once made */
    /* The frames for receivers that negotiated permessage-deflate, compressed
     * once at the first of them (every one negotiates the same parameters). */
    sbuf wsz;
    sbuf_shared *wsz_shared;
    int8_t wsz_state; /* 0: not made yet, 1: in wsz, -1: the same bytes as ws */
    uint32_t sent;    /* receivers queued so far */
} eio_batch;

#define EIO_BATCH_INIT                                                                             \
    { SBUF_INIT, SBUF_INIT, 0, 0, NULL, NULL, SBUF_INIT, NULL, 0, 0 }

/* Append one message (text, or binary). */
int eio_batch_add(eio_batch *b, const uint8_t *data, size_t len, int binary);
/* Forget the content, keep the memory. */
void eio_batch_clear(eio_batch *b);
void eio_batch_free(eio_batch *b);
/* Queue the batch on a session in its transport's form (no more
 * eio_batch_add until eio_batch_clear: the shared copies are made once). */
int eio_send_batch(eio_session *s, eio_batch *b);

#endif
