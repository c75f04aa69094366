/* libFuzzer target for the MessagePack codec (src/socketio/msgpack.c).
 *
 * The input is one message as it would arrive from Redis. When it decodes, the tree is
 * encoded, the encoding decoded again, and both trees must print the same JSON with the
 * same binary contents; encoding the second tree must give the same bytes again. The
 * printed JSON must be valid UTF-8. The input is decoded once more under limits derived
 * from its first byte: the outcome must be the same value, or SIO_ETOOBIG. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/msgpack.h"
#include "sio/json.h"
#include "sio/status.h"
#include "util/buf.h"

/* Fuzzer-only: a broken invariant must stop the run loudly. */
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

/* sio_json_print callback: append each binary node's length and bytes to `ud`. */
static int collect_binary(void *ud, const cJSON *node, size_t index) {
    sbuf *b = ud;
    size_t len;
    const uint8_t *p = sio_json_binary_data(node, &len);
    REQUIRE(p != NULL);
    REQUIRE(sbuf_append(b, &len, sizeof len) == SIO_OK);
    REQUIRE(sbuf_append(b, p, len) == SIO_OK);
    return 0;
}

/* The JSON text of `v` followed by its binary contents, in `out`. */
static void fingerprint(const cJSON *v, sbuf *out) {
    sbuf bins = SBUF_INIT;
    REQUIRE(sio_json_print(v, out, collect_binary, &bins) == SIO_OK);
    REQUIRE(sbuf_putc(out, 0) == SIO_OK);
    REQUIRE(sbuf_append(out, bins.data, bins.len) == SIO_OK);
    sbuf_free(&bins);
}

/* Non-zero when p[0..n) is well-formed UTF-8 (no surrogates, nothing past U+10FFFF). */
static int valid_utf8(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t need;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            need = 1;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            need = 2;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            need = 3;
            cp = b & 0x07;
        } else {
            return 0;
        }
        if (n - i <= need) return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += need + 1;
    }
    return 1;
}

/* One input: decode, decode under tighter limits, round-trip (see the top comment). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *v1 = NULL;
    size_t used = 0;
    int rc = msgpack_decode(data, size, &v1, &used, NULL);
    REQUIRE(rc == SIO_OK || rc == SIO_EPARSE || rc == SIO_ETOOBIG || rc == SIO_ENOMEM);
    REQUIRE((rc == SIO_OK) == (v1 != NULL));
    REQUIRE(rc == SIO_OK ? used >= 1 && used <= size : used == 0);

    /* Tighter limits: the same result, or a limit error. */
    if (size) {
        msgpack_limits lim = {1 + data[0] % 8, 1 + (size_t)data[0] * 2};
        cJSON *t = NULL;
        size_t tused = 0;
        int trc = msgpack_decode(data, size, &t, &tused, &lim);
        if (trc == SIO_OK) {
            REQUIRE(rc == SIO_OK && tused == used);
            sbuf a = SBUF_INIT, b = SBUF_INIT;
            fingerprint(v1, &a);
            fingerprint(t, &b);
            REQUIRE(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
            sbuf_free(&a);
            sbuf_free(&b);
            cJSON_Delete(t);
        } else {
            REQUIRE(trc == SIO_ETOOBIG || trc == rc);
        }
    }
    if (rc != SIO_OK) return 0;

    sbuf e1 = SBUF_INIT, e2 = SBUF_INIT, f1 = SBUF_INIT, f2 = SBUF_INIT;
    REQUIRE(msgpack_encode(v1, &e1) == SIO_OK);

    /* Decode the encoding from an exactly-sized copy, so ASan sees any over-read. */
    uint8_t *copy = malloc(e1.len);
    REQUIRE(copy != NULL);
    memcpy(copy, e1.data, e1.len);
    cJSON *v2 = NULL;
    size_t used2 = 0;
    msgpack_limits roomy = {MSGPACK_DEFAULT_MAX_DEPTH, SIZE_MAX};
    REQUIRE(msgpack_decode(copy, e1.len, &v2, &used2, &roomy) == SIO_OK);
    REQUIRE(used2 == e1.len);
    free(copy);

    fingerprint(v1, &f1);
    fingerprint(v2, &f2);
    REQUIRE(f1.len == f2.len && memcmp(f1.data, f2.data, f1.len) == 0);
    REQUIRE(valid_utf8(f1.data, strlen((const char *)f1.data)));

    REQUIRE(msgpack_encode(v2, &e2) == SIO_OK);
    REQUIRE(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);

    cJSON_Delete(v1);
    cJSON_Delete(v2);
    sbuf_free(&e1);
    sbuf_free(&e2);
    sbuf_free(&f1);
    sbuf_free(&f2);
    return 0;
}
