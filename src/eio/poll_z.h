/* Content coding of long-polling answers, as the reference's httpCompression:
 * an answer of at least the threshold is sent gzip- or deflate-coded when the
 * GET's Accept-Encoding asks for one (engine.io compresses every packet by
 * default, socket.io too, so its per-packet flag changes nothing a client sees).
 *
 * An answer is compressed for each receiver: queues differ. The one waste
 * avoided is the broadcast one: when a room of held GETs is answered with
 * the same shared blocks (util/segq.h) and nothing else, the first answer's
 * compressed bytes are kept, per coding, and every other receiver gets a
 * reference to them. The keys are references too, so a block cannot be freed
 * and its address reused while it names a cached answer. */
#ifndef SIO_EIO_POLL_Z_H
#define SIO_EIO_POLL_Z_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/segq.h"
#include "util/zcodec.h"

/* Answers of more blocks than this are not cached (they are rarely alike). */
#define POLL_Z_KEY 8

typedef struct poll_z {
    sbuf out; /* the answer being compressed */
    struct poll_z_last {
        sbuf_shared *key[POLL_Z_KEY]; /* references */
        uint32_t n;
        sbuf_shared *body; /* a reference: the compressed answer */
    } last[2];             /* ZC_GZIP, ZC_DEFLATE */
} poll_z;

#define POLL_Z_INIT                                                                                \
    {                                                                                              \
        SBUF_INIT, {                                                                               \
            {{NULL}, 0, NULL}, {                                                                   \
                {NULL}, 0, NULL                                                                    \
            }                                                                                      \
        }                                                                                          \
    }

/* The answer q would make (its parts joined by *sep) in coding (ZC_GZIP or
 * ZC_DEFLATE), compressed with z: SIO_OK with *body a reference for the
 * caller, else SIO_ENOMEM / SIO_EINVAL (then answer uncompressed). q is not
 * changed. */
int poll_z_encode(poll_z *pz, zcodec *z, int coding, const segq *q, const uint8_t *sep,
                  sbuf_shared **body);
/* Drop the cache and the buffer. */
void poll_z_free(poll_z *pz);

#endif
