/* libFuzzer target for the Engine.IO long-polling payload decoder.
 *
 * The input is an HTTP request body: eio_payload_next walks it until it ends
 * or fails, and eio_decode_text reads it as one WebSocket text message. Every
 * packet of a fully valid payload is re-encoded with eio_payload_append; the
 * re-encoded payload must decode to the same packets. The input is also sent
 * through base64 and back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/packet.h"
#include "util/base64.h"
#include "sio/status.h"
#include "util/buf.h"

/* Fuzzer-only: a broken invariant must stop the run loudly. */
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

#define MAX_PACKETS 4096

typedef struct seen {
    eio_ptype type;
    int binary;
    size_t off; /* into `copies` */
    size_t len;
} seen;

static seen packets[MAX_PACKETS];

/* Walk a payload; record up to MAX_PACKETS packets (their data copied into
 * `copies`). Returns the final status: 1 (exhausted) or an error. */
static int walk(const uint8_t *p, size_t n, size_t *count, sbuf *copies) {
    sbuf scratch = SBUF_INIT;
    size_t pos = 0, k = 0;
    int rc;
    for (;;) {
        eio_packet pk;
        size_t before = pos;
        rc = eio_payload_next(p, n, &pos, &pk, &scratch);
        if (rc != SIO_OK) break;
        REQUIRE(pos > before); /* progress */
        REQUIRE(pk.type <= EIO_NOOP);
        REQUIRE(!pk.binary || pk.type == EIO_MESSAGE);
        if (pk.len) {
            if (pk.binary)
                REQUIRE(pk.data >= scratch.data && pk.data + pk.len <= scratch.data + scratch.len);
            else
                REQUIRE(pk.data > p && pk.data + pk.len <= p + n);
        }
        if (!pk.binary) REQUIRE(pk.len == 0 || !memchr(pk.data, EIO_RECORD_SEPARATOR, pk.len));
        if (copies && k < MAX_PACKETS) {
            packets[k] = (seen){pk.type, pk.binary, copies->len, pk.len};
            REQUIRE(sbuf_append(copies, pk.data, pk.len) == SIO_OK);
        }
        k++;
        REQUIRE(k <= n + 1);
    }
    REQUIRE(rc == 1 || rc == SIO_EPARSE);
    if (rc == 1) {
        /* Exhausted stays exhausted. */
        eio_packet pk;
        REQUIRE(eio_payload_next(p, n, &pos, &pk, &scratch) == 1);
    }
    sbuf_free(&scratch);
    *count = k;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size copy, so ASan sees any read past the end. */
    uint8_t *in = malloc(size ? size : 1);
    REQUIRE(in);
    if (size) memcpy(in, data, size);

    eio_packet one;
    int rc = eio_decode_text(in, size, &one);
    if (rc == SIO_OK) {
        REQUIRE(size > 0 && one.type <= EIO_NOOP && one.data == in + 1 && one.len == size - 1);
    } else {
        REQUIRE(rc == SIO_EPARSE);
    }

    sbuf copies = SBUF_INIT;
    size_t count = 0;
    rc = walk(in, size, &count, &copies);
    if (rc == 1 && count <= MAX_PACKETS) {
        /* Re-encode and decode again: same packets. */
        sbuf again = SBUF_INIT;
        for (size_t i = 0; i < count; i++) {
            const seen *s = &packets[i];
            const uint8_t *d = s->len ? copies.data + s->off : NULL;
            REQUIRE(eio_payload_append(&again, s->type, d, s->len, s->binary) == SIO_OK);
        }
        sbuf copies2 = SBUF_INIT;
        size_t count2 = 0;
        /* Copy the first pass out: walk() overwrites `packets`. */
        seen *first = malloc(count * sizeof *first + 1);
        REQUIRE(first);
        if (count) memcpy(first, packets, count * sizeof *first);
        REQUIRE(walk(again.data, again.len, &count2, &copies2) == 1);
        REQUIRE(count2 == count);
        for (size_t i = 0; i < count; i++) {
            REQUIRE(packets[i].type == first[i].type && packets[i].binary == first[i].binary);
            REQUIRE(packets[i].len == first[i].len);
            if (first[i].len)
                REQUIRE(memcmp(copies2.data + packets[i].off, copies.data + first[i].off,
                               first[i].len) == 0);
        }
        free(first);
        sbuf_free(&copies2);
        sbuf_free(&again);
    }
    sbuf_free(&copies);

    /* base64 both ways. */
    size_t el = b64_encoded_len(size, 0);
    char *enc = malloc(el + 1);
    uint8_t *dec = malloc(el / 4 * 3 + 3);
    REQUIRE(enc && dec);
    b64_encode(in, size, enc, 0);
    size_t dl = 0;
    REQUIRE(b64_decode(enc, el, dec, &dl, 0) == SIO_OK);
    REQUIRE(dl == size && (size == 0 || memcmp(dec, in, size) == 0));
    free(enc);
    free(dec);
    /* Decoding arbitrary text must not write past (n + 3) / 4 * 3 bytes. */
    uint8_t *out = malloc(size / 4 * 3 + 3);
    REQUIRE(out);
    rc = b64_decode((const char *)in, size, out, &dl, 0);
    REQUIRE(rc == SIO_OK || rc == SIO_EPARSE);
    if (rc == SIO_OK) REQUIRE(dl <= size / 4 * 3 + 2);
    free(out);
    free(in);
    return 0;
}
