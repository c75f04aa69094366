/* libFuzzer target for the Socket.IO packet codec.
 *
 * The input is a sequence of messages separated by 0xFF (never valid in UTF-8 text).
 * The first byte of a message says what it is: 'B' a binary attachment, 'R' a decoder
 * reset, anything else a text message. Every complete packet is re-encoded, the encoding
 * decoded by a fresh decoder, and that packet encoded again: both encodings must match. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio/json.h"
#include "socketio/packet.h"
#include "sio/status.h"
#include "util/buf.h"

#define SEP             0xFF
#define MAX_ATTACHMENTS 10

/* Fuzzer-only: a broken invariant must stop the run loudly. */
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

static int same_bins(const sio_attachment_list *a, const sio_attachment_list *b) {
    if (a->count != b->count) return 0;
    const sio_attachment *x = sio_attachment_list_items(a), *y = sio_attachment_list_items(b);
    for (size_t i = 0; i < a->count; i++)
        if (x[i].len != y[i].len || (x[i].len && memcmp(x[i].data, y[i].data, x[i].len) != 0))
            return 0;
    return 1;
}

/* Feed one message through a copy of exactly its size, so ASan sees any over-read. */
static int feed(sio_decoder *d, int binary, const uint8_t *p, size_t n, sio_packet **out) {
    uint8_t *copy = malloc(n ? n : 1);
    REQUIRE(copy);
    if (n) memcpy(copy, p, n);
    int rc = binary ? sio_decoder_feed_binary(d, copy, n, out)
                    : sio_decoder_feed_text(d, (const char *)copy, n, out);
    free(copy);
    return rc;
}

static void check_packet(const sio_packet *p) {
    REQUIRE(p->type <= SIO_PKT_CONNECT_ERROR);
    REQUIRE(p->nsp && p->nsp[0] == '/' && !strchr(p->nsp, ','));
    REQUIRE(p->id >= -1 && p->id <= SIO_ACK_ID_MAX);

    sbuf t1 = SBUF_INIT, t2 = SBUF_INIT;
    sio_attachment_list b1 = SIO_ATTACHMENT_LIST_INIT, b2 = SIO_ATTACHMENT_LIST_INIT;
    REQUIRE(sio_packet_encode(p->type, p->nsp, p->id, p->data, &t1, &b1) == SIO_OK);
    REQUIRE(b1.count == sio_json_count_binary(p->data));

    sio_decoder d;
    sio_decoder_init(&d, SIZE_MAX);
    sio_packet *q = NULL;
    REQUIRE(feed(&d, 0, t1.data, t1.len, &q) == SIO_OK);
    REQUIRE((q != NULL) == (b1.count == 0));
    const sio_attachment *it = sio_attachment_list_items(&b1);
    for (size_t i = 0; i < b1.count; i++) {
        REQUIRE(feed(&d, 1, it[i].data, it[i].len, &q) == SIO_OK);
        REQUIRE((q != NULL) == (i + 1 == b1.count));
    }
    REQUIRE(q->type == p->type && strcmp(q->nsp, p->nsp) == 0 && q->id == p->id);
    REQUIRE((q->data != NULL) == (p->data != NULL));

    REQUIRE(sio_packet_encode(q->type, q->nsp, q->id, q->data, &t2, &b2) == SIO_OK);
    REQUIRE(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0);
    REQUIRE(same_bins(&b1, &b2));

    sio_packet_free(q);
    sio_decoder_reset(&d);
    sbuf_free(&t1);
    sbuf_free(&t2);
    sio_attachment_list_free(&b1);
    sio_attachment_list_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sio_decoder d;
    sio_decoder_init(&d, MAX_ATTACHMENTS);
    size_t pos = 0;
    while (pos < size) {
        const uint8_t *end = memchr(data + pos, SEP, size - pos);
        size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
        const uint8_t *msg = data + pos;
        pos += len + 1;
        if (len == 0) continue;

        sio_packet *p = NULL;
        int rc;
        if (msg[0] == 'R') {
            sio_decoder_reset(&d);
            continue;
        }
        rc = feed(&d, msg[0] == 'B', msg + 1, len - 1, &p);
        REQUIRE(rc == SIO_OK || rc == SIO_EPARSE || rc == SIO_ETOOBIG || rc == SIO_ENOMEM);
        REQUIRE(rc == SIO_OK || p == NULL);
        if (p) {
            check_packet(p);
            sio_packet_free(p);
        }
    }
    sio_decoder_reset(&d);
    return 0;
}
