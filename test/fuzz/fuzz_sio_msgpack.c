/* libFuzzer target for the socket.io-msgpack-parser packet codec (src/socketio/packet_msgpack.c).
 *
 * The input is one binary Engine.IO message from a client. When it decodes, the packet
 * must be one the parser's checks allow; it is encoded, the encoding decoded again, and
 * both packets must be the same (type, namespace, id, data printed as JSON with the same
 * binary contents); encoding the second must give the same bytes as the first. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio/json.h"
#include "socketio/packet.h"
#include "socketio/packet_msgpack.h"
#include "sio/status.h"
#include "util/buf.h"

/* Fuzzer-only: a broken invariant must stop the run loudly. */
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

/* Appends each binary node's length and bytes to the sbuf in `ud`. */
static int collect(void *ud, const cJSON *node, size_t index) {
    size_t len;
    const uint8_t *p = sio_json_binary_data(node, &len);
    sbuf *b = ud;
    (void)index;
    REQUIRE(sbuf_append(b, &len, sizeof len) == SIO_OK);
    if (len) REQUIRE(sbuf_append(b, p, len) == SIO_OK);
    return SIO_OK;
}

/* The packet's data as JSON followed by its binary contents (empty without data). */
static void show(const sio_packet *p, sbuf *out) {
    if (!p->data) return;
    sbuf bins = SBUF_INIT;
    REQUIRE(sio_json_print(p->data, out, collect, &bins) == SIO_OK);
    REQUIRE(sbuf_putc(out, 0) == SIO_OK);
    if (bins.len) REQUIRE(sbuf_append(out, bins.data, bins.len) == SIO_OK);
    sbuf_free(&bins);
}

static void check_packet(const sio_packet *p) {
    REQUIRE(p->type <= SIO_PKT_CONNECT_ERROR);
    REQUIRE(p->nsp);
    REQUIRE(p->id >= -1 && p->id <= SIO_ACK_ID_MAX);
    REQUIRE(!p->data || !p->data->string);
    switch (p->type) {
    case SIO_PKT_CONNECT:
        REQUIRE(!p->data || cJSON_IsObject(p->data));
        break;
    case SIO_PKT_DISCONNECT:
        REQUIRE(!p->data);
        break;
    case SIO_PKT_CONNECT_ERROR:
        REQUIRE(cJSON_IsString(p->data) || cJSON_IsObject(p->data));
        break;
    default:
        REQUIRE(cJSON_IsArray(p->data));
    }

    sbuf e1 = SBUF_INIT, e2 = SBUF_INIT, s1 = SBUF_INIT, s2 = SBUF_INIT;
    REQUIRE(sio_packet_encode_msgpack(p->type, p->nsp, p->id, p->data, &e1) == SIO_OK);
    /* Decode from a copy of exactly its size, so ASan sees any over-read. */
    uint8_t *copy = malloc(e1.len);
    REQUIRE(copy);
    memcpy(copy, e1.data, e1.len);
    sio_packet *q = NULL;
    REQUIRE(sio_packet_decode_msgpack(copy, e1.len, &q) == SIO_OK && q);
    free(copy);
    REQUIRE(q->type == p->type && strcmp(q->nsp, p->nsp) == 0 && q->id == p->id);
    REQUIRE((q->data != NULL) == (p->data != NULL));
    show(p, &s1);
    show(q, &s2);
    REQUIRE(s1.len == s2.len && (s1.len == 0 || memcmp(s1.data, s2.data, s1.len) == 0));
    REQUIRE(sio_packet_encode_msgpack(q->type, q->nsp, q->id, q->data, &e2) == SIO_OK);
    REQUIRE(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
    sio_packet_free(q);
    sbuf_free(&e1);
    sbuf_free(&e2);
    sbuf_free(&s1);
    sbuf_free(&s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    REQUIRE(copy);
    if (size) memcpy(copy, data, size);
    sio_packet *p = NULL;
    int rc = sio_packet_decode_msgpack(copy, size, &p);
    free(copy);
    REQUIRE(rc == SIO_OK || rc == SIO_EPARSE || rc == SIO_ETOOBIG);
    REQUIRE((rc == SIO_OK) == (p != NULL));
    if (p) {
        check_packet(p);
        sio_packet_free(p);
    }
    return 0;
}
