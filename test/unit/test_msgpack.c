/* MessagePack codec. Expected bytes are what notepack.io 3.0.1 (the codec of
 * @socket.io/redis-adapter 8.x and @socket.io/redis-emitter 5.x) gives for the same
 * JavaScript values, and expected decodings what JSON.stringify shows of its decode,
 * as printed by test/unit/msgpack_vectors.mjs (run by hand, not in CI) and pasted here. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/msgpack.h"
#include "check.h"
#include "sio/json.h"
#include "sio/status.h"
#include "util/buf.h"

/* A byte-string literal as (pointer, length), zero bytes included. */
#define B(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- helpers (return 1 on success and explain a mismatch on stderr) ---- */

static void dump(const char *what, const uint8_t *p, size_t n) {
    fprintf(stderr, "  %s (%zu bytes):", what, n);
    for (size_t i = 0; i < n && i < 48; i++)
        fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, n > 48 ? " ...\n" : "\n");
}

/* got[0..gotlen) equals want[0..wantlen); both dumped when not. */
static int bytes_equal(const uint8_t *got, size_t gotlen, const uint8_t *want, size_t wantlen) {
    if (gotlen == wantlen && (wantlen == 0 || memcmp(got, want, wantlen) == 0)) return 1;
    dump("got", got, gotlen);
    dump("want", want, wantlen);
    return 0;
}

/* Encode `v` (then free it) and compare with want[0..wlen). */
static int enc_is(cJSON *v, const uint8_t *want, size_t wlen) {
    sbuf b = SBUF_INIT;
    int rc = v ? msgpack_encode(v, &b) : SIO_ENOMEM;
    int ok = rc == SIO_OK && bytes_equal(b.data, b.len, want, wlen);
    if (rc != SIO_OK) fprintf(stderr, "  encode rc=%d\n", rc);
    sbuf_free(&b);
    cJSON_Delete(v);
    return ok;
}

/* Encode the number `d` and compare. */
static int num_enc_is(double d, const uint8_t *want, size_t wlen) {
    return enc_is(cJSON_CreateNumber(d), want, wlen);
}

/* Encode the tree cJSON parses from `json` and compare. */
static int json_enc_is(const char *json, const uint8_t *want, size_t wlen) {
    cJSON *v = cJSON_Parse(json);
    if (!v) fprintf(stderr, "  cannot parse %s\n", json);
    return enc_is(v, want, wlen);
}

/* sio_json_print(v) is `want`. */
static int print_is(const cJSON *v, const char *want) {
    sbuf b = SBUF_INIT;
    int rc = sio_json_print(v, &b, NULL, NULL);
    int ok = rc == SIO_OK && b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;
    if (!ok) fprintf(stderr, "  json: rc=%d got '%.*s' want '%s'\n", rc, (int)b.len, b.data, want);
    sbuf_free(&b);
    return ok;
}

/* Decode all of p[0..n) and compare the JSON print of the result with `json`. */
static int dec_is(const uint8_t *p, size_t n, const char *json) {
    cJSON *v = NULL;
    size_t used = 0;
    int rc = msgpack_decode(p, n, &v, &used, NULL);
    int ok = rc == SIO_OK && used == n && v && print_is(v, json);
    if (rc != SIO_OK || used != n) fprintf(stderr, "  decode rc=%d used=%zu of %zu\n", rc, used, n);
    cJSON_Delete(v);
    return ok;
}

/* Decoding p[0..n) fails with `want`, leaving *out NULL and *consumed 0. */
static int dec_err_lim(const uint8_t *p, size_t n, int want, const msgpack_limits *lim) {
    cJSON *v = (cJSON *)&v;
    size_t used = 12345;
    int rc = msgpack_decode(p, n, &v, &used, lim);
    int ok = rc == want && v == NULL && used == 0;
    if (!ok)
        fprintf(stderr, "  decode rc=%d (want %d) out=%p used=%zu\n", rc, want, (void *)v, used);
    if (rc == SIO_OK) cJSON_Delete(v);
    return ok;
}

/* dec_err_lim with the default limits. */
static int dec_err(const uint8_t *p, size_t n, int want) {
    return dec_err_lim(p, n, want, NULL);
}

/* Decode p[0..n), encode the result, and get the same bytes back. */
static int roundtrip(const uint8_t *p, size_t n) {
    cJSON *v = NULL;
    size_t used = 0;
    int rc = msgpack_decode(p, n, &v, &used, NULL);
    if (rc != SIO_OK || used != n) {
        fprintf(stderr, "  decode rc=%d used=%zu of %zu\n", rc, used, n);
        cJSON_Delete(v);
        return 0;
    }
    sbuf b = SBUF_INIT;
    rc = msgpack_encode(v, &b);
    int ok = rc == SIO_OK && bytes_equal(b.data, b.len, p, n);
    sbuf_free(&b);
    cJSON_Delete(v);
    return ok;
}

/* Decode p[0..n) and check that it is one binary node holding want[0..wlen). */
static int dec_bin_is(const uint8_t *p, size_t n, const uint8_t *want, size_t wlen) {
    cJSON *v = NULL;
    size_t used = 0, len = 0;
    int rc = msgpack_decode(p, n, &v, &used, NULL);
    const uint8_t *data = sio_json_binary_data(v, &len);
    int ok = rc == SIO_OK && used == n && data && bytes_equal(data, len, want, wlen);
    if (rc != SIO_OK) fprintf(stderr, "  decode rc=%d\n", rc);
    cJSON_Delete(v);
    return ok;
}

/* Each proper prefix of msg[0..n), from its own exactly-sized copy (so ASan sees any
 * over-read), fails with SIO_EPARSE. */
static int truncations_fail(const uint8_t *msg, size_t n) {
    int ok = 1;
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        if (!copy) abort();
        memcpy(copy, msg, cut);
        ok &= dec_err(copy, cut, SIO_EPARSE);
        free(copy);
    }
    return ok;
}

/* header[0..hlen) followed by `n` copies of `fill`, in a malloc'd buffer. */
static uint8_t *filled(const uint8_t *header, size_t hlen, uint8_t fill, size_t n, size_t *total) {
    uint8_t *p = malloc(hlen + n);
    if (!p) abort();
    memcpy(p, header, hlen);
    memset(p + hlen, fill, n);
    *total = hlen + n;
    return p;
}

/* ---- encoding: scalars ---- */

static void test_encode_scalars(void) {
    CHECK(enc_is(cJSON_CreateNull(), B("\xc0")));
    CHECK(enc_is(cJSON_CreateFalse(), B("\xc2")));
    CHECK(enc_is(cJSON_CreateTrue(), B("\xc3")));

    /* integers: the boundaries of every form notepack picks */
    CHECK(num_enc_is(0, B("\x00")));
    CHECK(num_enc_is(127, B("\x7f")));
    CHECK(num_enc_is(128, B("\xcc\x80")));
    CHECK(num_enc_is(255, B("\xcc\xff")));
    CHECK(num_enc_is(256, B("\xcd\x01\x00")));
    CHECK(num_enc_is(65535, B("\xcd\xff\xff")));
    CHECK(num_enc_is(65536, B("\xce\x00\x01\x00\x00")));
    CHECK(num_enc_is(4294967295.0, B("\xce\xff\xff\xff\xff")));
    CHECK(num_enc_is(4294967296.0, B("\xcf\x00\x00\x00\x01\x00\x00\x00\x00")));
    CHECK(num_enc_is(9007199254740991.0, B("\xcf\x00\x1f\xff\xff\xff\xff\xff\xff")));
    CHECK(num_enc_is(9007199254740992.0, B("\xcf\x00\x20\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(9007199254740994.0, B("\xcf\x00\x20\x00\x00\x00\x00\x00\x02")));
    CHECK(num_enc_is(4611686018427387904.0, B("\xcf\x40\x00\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(9223372036854775808.0, B("\xcf\x80\x00\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(9223372036854779904.0, B("\xcf\x80\x00\x00\x00\x00\x00\x10\x00")));
    CHECK(num_enc_is(18446744073709549568.0, B("\xcf\xff\xff\xff\xff\xff\xff\xf8\x00")));
    CHECK(num_enc_is(123456789012.0, B("\xcf\x00\x00\x00\x1c\xbe\x99\x1a\x14")));
    CHECK(num_enc_is(-1, B("\xff")));
    CHECK(num_enc_is(-32, B("\xe0")));
    CHECK(num_enc_is(-33, B("\xd0\xdf")));
    CHECK(num_enc_is(-128, B("\xd0\x80")));
    CHECK(num_enc_is(-129, B("\xd1\xff\x7f")));
    CHECK(num_enc_is(-32768, B("\xd1\x80\x00")));
    CHECK(num_enc_is(-32769, B("\xd2\xff\xff\x7f\xff")));
    CHECK(num_enc_is(-2147483648.0, B("\xd2\x80\x00\x00\x00")));
    CHECK(num_enc_is(-2147483649.0, B("\xd3\xff\xff\xff\xff\x7f\xff\xff\xff")));
    CHECK(num_enc_is(-9007199254740991.0, B("\xd3\xff\xe0\x00\x00\x00\x00\x00\x01")));
    CHECK(num_enc_is(-9007199254740994.0, B("\xd3\xff\xdf\xff\xff\xff\xff\xff\xfe")));
    CHECK(num_enc_is(-4611686018427387904.0, B("\xd3\xc0\x00\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(-9223372036854775808.0, B("\xd3\x80\x00\x00\x00\x00\x00\x00\x00")));

    /* -0 is integral and `-0 >= 0` in JavaScript: notepack writes positive fixint 0 */
    CHECK(num_enc_is(-0.0, B("\x00")));

    /* everything else is float64, never float32 */
    CHECK(num_enc_is(1.5, B("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(-1.5, B("\xcb\xbf\xf8\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(0.1, B("\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a")));
    CHECK(num_enc_is(65535.5, B("\xcb\x40\xef\xff\xf0\x00\x00\x00\x00")));
    CHECK(num_enc_is(1e-7, B("\xcb\x3e\x7a\xd7\xf2\x9a\xbc\xaf\x48")));
    CHECK(num_enc_is(5e-324, B("\xcb\x00\x00\x00\x00\x00\x00\x00\x01")));
    CHECK(num_enc_is(NAN, B("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(-NAN, B("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(INFINITY, B("\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(-INFINITY, B("\xcb\xff\xf0\x00\x00\x00\x00\x00\x00")));

    /* Deliberate difference: notepack wraps integers of 2^64 and more modulo 2^64 (2^64
     * becomes 0, 1e20 becomes 7766279631452241920); the value is kept as float64 here. */
    CHECK(num_enc_is(18446744073709551616.0, B("\xcb\x43\xf0\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(-18446744073709551616.0, B("\xcb\xc3\xf0\x00\x00\x00\x00\x00\x00")));
    CHECK(num_enc_is(1e20, B("\xcb\x44\x15\xaf\x1d\x78\xb5\x8c\x40")));
    /* just inside int64: */
    CHECK(num_enc_is(-9223372036854777856.0, B("\xcb\xc3\xe0\x00\x00\x00\x00\x00\x01")));
}

/* ---- encoding and decoding: strings and binary ---- */

static void test_strings(void) {
    CHECK(enc_is(cJSON_CreateString(""), B("\xa0")));
    CHECK(enc_is(cJSON_CreateString("a"), B("\xa1\x61")));
    /* the header counts UTF-8 bytes, not characters */
    CHECK(enc_is(cJSON_CreateString("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
                 B("\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")));
    CHECK(dec_is(B("\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
                 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));

    static const struct {
        size_t len;
        const char *head;
        size_t hlen;
    } cases[] = {
        {0, "\xa0", 1},
        {31, "\xbf", 1},
        {32, "\xd9\x20", 2},
        {255, "\xd9\xff", 2},
        {256, "\xda\x01\x00", 3},
        {65535, "\xda\xff\xff", 3},
        {65536, "\xdb\x00\x01\x00\x00", 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].len, total;
        char *s = malloc(n + 1);
        if (!s) abort();
        memset(s, 'x', n);
        s[n] = 0;
        uint8_t *want = filled((const uint8_t *)cases[i].head, cases[i].hlen, 'x', n, &total);
        CHECK(enc_is(cJSON_CreateString(s), want, total));

        cJSON *v = NULL;
        size_t used = 0;
        CHECK(msgpack_decode(want, total, &v, &used, NULL) == SIO_OK && used == total);
        CHECK(cJSON_IsString(v) && strlen(v->valuestring) == n && strcmp(v->valuestring, s) == 0);
        cJSON_Delete(v);
        CHECK(roundtrip(want, total));
        free(want);
        free(s);
    }
    /* non-shortest headers decode too */
    CHECK(dec_is(B("\xd9\x01\x61"), "\"a\""));
    CHECK(dec_is(B("\xda\x00\x01\x61"), "\"a\""));
    CHECK(dec_is(B("\xdb\x00\x00\x00\x01\x61"), "\"a\""));
}

/* bin 8/16/32 at their boundaries, zero bytes inside, notepack 2.x ArrayBuffers. */
static void test_binary(void) {
    static const struct {
        size_t len;
        const char *head;
        size_t hlen;
    } cases[] = {
        {0, "\xc4\x00", 2},
        {255, "\xc4\xff", 2},
        {256, "\xc5\x01\x00", 3},
        {65535, "\xc5\xff\xff", 3},
        {65536, "\xc6\x00\x01\x00\x00", 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].len, total;
        uint8_t *data = malloc(n + 1);
        if (!data) abort();
        memset(data, 0xab, n);
        uint8_t *want = filled((const uint8_t *)cases[i].head, cases[i].hlen, 0xab, n, &total);
        CHECK(enc_is(sio_json_binary(data, n), want, total));
        CHECK(dec_bin_is(want, total, data, n));
        CHECK(roundtrip(want, total));
        free(want);
        free(data);
    }
    /* zero bytes inside binary are data, not terminators */
    CHECK(enc_is(sio_json_binary("\x00\x01\x00", 3), B("\xc4\x03\x00\x01\x00")));
    CHECK(dec_bin_is(B("\xc4\x03\x00\x01\x00"), B("\x00\x01\x00")));

    /* notepack 2.x wrote ArrayBuffer and typed arrays as ext 8/16/32 of type 0; 3.x
     * writes bin but still reads these: they are binary */
    CHECK(dec_bin_is(B("\xc7\x03\x00\x01\x02\x03"), B("\x01\x02\x03")));
    CHECK(dec_bin_is(B("\xc8\x00\x03\x00\x01\x02\x03"), B("\x01\x02\x03")));
    CHECK(dec_bin_is(B("\xc9\x00\x00\x00\x03\x00\x01\x02\x03"), B("\x01\x02\x03")));
    CHECK(dec_bin_is(B("\xc7\x00\x00"), B("")));
    /* re-encoded as notepack 3.x encodes an ArrayBuffer: bin */
    cJSON *v = NULL;
    CHECK(msgpack_decode(B("\xc7\x03\x00\x01\x02\x03"), &v, NULL, NULL) == SIO_OK);
    CHECK(enc_is(v, B("\xc4\x03\x01\x02\x03")));
}

/* ---- decoding: numbers ---- */

static void test_decode_numbers(void) {
    CHECK(dec_is(B("\x00"), "0"));
    CHECK(dec_is(B("\x7f"), "127"));
    CHECK(dec_is(B("\xff"), "-1"));
    CHECK(dec_is(B("\xe0"), "-32"));
    CHECK(dec_is(B("\xcc\x80"), "128"));
    CHECK(dec_is(B("\xcc\x01"), "1")); /* not the shortest form: still fine */
    CHECK(dec_is(B("\xcd\xff\xff"), "65535"));
    CHECK(dec_is(B("\xce\xff\xff\xff\xff"), "4294967295"));
    CHECK(dec_is(B("\xcf\x00\x1f\xff\xff\xff\xff\xff\xff"), "9007199254740991"));
    /* uint64/int64 beyond 2^53: the nearest double, as notepack's hi * 2^32 + lo */
    CHECK(dec_is(B("\xcf\x00\x20\x00\x00\x00\x00\x00\x01"), "9007199254740992"));
    CHECK(dec_is(B("\xcf\x00\x20\x00\x00\x00\x00\x00\x03"), "9007199254740996"));
    CHECK(dec_is(B("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"), "18446744073709552000"));
    CHECK(dec_is(B("\xd0\xdf"), "-33"));
    CHECK(dec_is(B("\xd0\x7f"), "127"));
    CHECK(dec_is(B("\xd1\xff\x7f"), "-129"));
    CHECK(dec_is(B("\xd1\x80\x00"), "-32768"));
    CHECK(dec_is(B("\xd2\xff\xff\x7f\xff"), "-32769"));
    CHECK(dec_is(B("\xd2\x80\x00\x00\x00"), "-2147483648"));
    CHECK(dec_is(B("\xd2\x7f\xff\xff\xff"), "2147483647"));
    CHECK(dec_is(B("\xd3\xff\xff\xff\xff\x7f\xff\xff\xff"), "-2147483649"));
    CHECK(dec_is(B("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"), "-9223372036854776000"));
    CHECK(dec_is(B("\xd3\xff\xdf\xff\xff\xff\xff\xff\xff"), "-9007199254740992"));
    CHECK(dec_is(B("\xd3\x7f\xff\xff\xff\xff\xff\xff\xff"), "9223372036854776000"));
    CHECK(dec_is(B("\xd3\x00\x00\x00\x00\x00\x00\x00\x05"), "5"));
    CHECK(dec_is(B("\xca\x3f\xc0\x00\x00"), "1.5"));
    CHECK(dec_is(B("\xca\x3d\xcc\xcc\xcd"), "0.10000000149011612"));
    CHECK(dec_is(B("\xca\x7f\x80\x00\x00"), "null")); /* Infinity, as JSON.stringify */
    CHECK(dec_is(B("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"), "1.5"));
    CHECK(dec_is(B("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"), "null"));

    cJSON *v = NULL;
    CHECK(msgpack_decode(B("\xcb\x80\x00\x00\x00\x00\x00\x00\x00"), &v, NULL, NULL) == SIO_OK);
    CHECK(cJSON_IsNumber(v) && v->valuedouble == 0 && signbit(v->valuedouble));
    cJSON_Delete(v);
    CHECK(msgpack_decode(B("\xca\xff\x80\x00\x00"), &v, NULL, NULL) == SIO_OK);
    CHECK(cJSON_IsNumber(v) && isinf(v->valuedouble) && v->valuedouble < 0);
    cJSON_Delete(v);
    CHECK(msgpack_decode(B("\xd0\x9c"), &v, NULL, NULL) == SIO_OK);
    CHECK(cJSON_IsNumber(v) && v->valuedouble == -100 && v->valueint == -100);
    cJSON_Delete(v);

    CHECK(dec_is(B("\xc0"), "null"));
    CHECK(dec_is(B("\xc2"), "false"));
    CHECK(dec_is(B("\xc3"), "true"));
}

/* ---- containers ---- */

static void test_containers(void) {
    CHECK(json_enc_is("[]", B("\x90")));
    CHECK(json_enc_is("[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14]",
                      B("\x9f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e")));
    CHECK(json_enc_is("[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]",
                      B("\xdc\x00\x10\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"
                        "\x0f")));
    CHECK(json_enc_is("{}", B("\x80")));
    CHECK(json_enc_is(
        "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,"
        "\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14}",
        B("\x8f\xa2\x6b\x30\x00\xa2\x6b\x31\x01\xa2\x6b\x32\x02\xa2\x6b\x33\x03\xa2\x6b\x34\x04\xa2"
          "\x6b\x35\x05\xa2\x6b\x36\x06\xa2\x6b\x37\x07\xa2\x6b\x38\x08\xa2\x6b\x39\x09\xa3\x6b\x31"
          "\x30\x0a\xa3\x6b\x31\x31\x0b\xa3\x6b\x31\x32\x0c\xa3\x6b\x31\x33\x0d\xa3\x6b\x31\x34"
          "\x0e")));
    CHECK(json_enc_is(
        "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,"
        "\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15}",
        B("\xde\x00\x10\xa2\x6b\x30\x00\xa2\x6b\x31\x01\xa2\x6b\x32\x02\xa2\x6b\x33\x03\xa2\x6b\x34"
          "\x04\xa2\x6b\x35\x05\xa2\x6b\x36\x06\xa2\x6b\x37\x07\xa2\x6b\x38\x08\xa2\x6b\x39\x09\xa3"
          "\x6b\x31\x30\x0a\xa3\x6b\x31\x31\x0b\xa3\x6b\x31\x32\x0c\xa3\x6b\x31\x33\x0d\xa3\x6b\x31"
          "\x34\x0e\xa3\x6b\x31\x35\x0f")));
    CHECK(json_enc_is("{\"a\":[1,{\"b\":[]}],\"c\":{}}",
                      B("\x82\xa1\x61\x92\x01\x81\xa1\x62\x90\xa1\x63\x80")));
    CHECK(dec_is(B("\x82\xa1\x61\x92\x01\x81\xa1\x62\x90\xa1\x63\x80"),
                 "{\"a\":[1,{\"b\":[]}],\"c\":{}}"));
    CHECK(dec_is(B("\x9f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"),
                 "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14]"));
    CHECK(roundtrip(B("\xdc\x00\x10\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"
                      "\x0f")));
    /* non-shortest container headers */
    CHECK(dec_is(B("\xdc\x00\x01\xc3"), "[true]"));
    CHECK(dec_is(B("\xdd\x00\x00\x00\x01\xc3"), "[true]"));
    CHECK(dec_is(B("\xde\x00\x01\xa1\x61\xc3"), "{\"a\":true}"));
    CHECK(dec_is(B("\xdf\x00\x00\x00\x00"), "{}"));
    CHECK(dec_is(B("\x91\x91\x91\x90"), "[[[[]]]]"));
    CHECK(dec_is(B("\x92\x91\x01\x91\x02"), "[[1],[2]]"));

    /* JavaScript lists array-index keys first, ascending, whatever the insertion order */
    CHECK(json_enc_is("{\"b\":1,\"2\":2,\"1\":3,\"x\":4}",
                      B("\x84\xa1\x31\x03\xa1\x32\x02\xa1\x62\x01\xa1\x78\x04")));
    CHECK(json_enc_is("{\"01\":1,\"4294967295\":2,\"4294967294\":3,\"-1\":4,\"0\":5}",
                      B("\x85\xa1"
                        "0\x05\xaa"
                        "4294967294\x03\xa2"
                        "01\x01\xaa"
                        "4294967295\x02\xa2-1\x04")));

    /* a tree may repeat a key (JavaScript objects cannot): kept, in order, as sio_json_print
     * prints them; a client parsing either keeps the last */
    CHECK(json_enc_is("{\"1\":1,\"b\":0,\"1\":2}", B("\x83\xa1\x31\x01\xa1\x31\x02\xa1\x62\x00")));
    CHECK(json_enc_is("{\"a\":1,\"a\":2}", B("\x82\xa1\x61\x01\xa1\x61\x02")));
    /* references are encoded as what they point to */
    cJSON *ref = cJSON_CreateArray(), *target = cJSON_CreateArray();
    cJSON_AddItemToArray(target, cJSON_CreateNumber(7));
    cJSON_AddItemReferenceToArray(ref, target);
    cJSON_AddItemToArray(ref, cJSON_CreateStringReference("s"));
    CHECK(enc_is(ref, B("\x92\x91\x07\xa1\x73")));
    cJSON_Delete(target);

    /* array 32 and map 32 at the 65536 boundary, and array 16 / map 16 just below */
    for (size_t n = 65535; n <= 65536; n++) {
        cJSON *arr = cJSON_CreateArray(), *obj = cJSON_CreateObject();
        sbuf want_a = SBUF_INIT, want_o = SBUF_INIT;
        char key[16];
        if (n == 65535) {
            sbuf_append(&want_a, "\xdc\xff\xff", 3);
            sbuf_append(&want_o, "\xde\xff\xff", 3);
        } else {
            sbuf_append(&want_a, "\xdd\x00\x01\x00\x00", 5);
            sbuf_append(&want_o, "\xdf\x00\x01\x00\x00", 5);
        }
        for (size_t i = 0; i < n; i++) {
            cJSON_AddItemToArray(arr, cJSON_CreateNull());
            sbuf_putc(&want_a, 0xc0);
            int k = snprintf(key, sizeof key, "k%zu", i);
            cJSON_AddItemToObject(obj, key, cJSON_CreateBool(i & 1));
            sbuf_putc(&want_o, (uint8_t)(0xa0 | k));
            sbuf_append(&want_o, key, (size_t)k);
            sbuf_putc(&want_o, (i & 1) ? 0xc3 : 0xc2);
        }
        CHECK(enc_is(arr, want_a.data, want_a.len));
        CHECK(enc_is(obj, want_o.data, want_o.len));
        CHECK(roundtrip(want_a.data, want_a.len));
        CHECK(roundtrip(want_o.data, want_o.len));
        sbuf_free(&want_a);
        sbuf_free(&want_o);
    }
}

/* ---- notepack's extension types ---- */

static void test_undefined(void) {
    /* notepack 2.x wrote undefined as fixext1 type 0 (3.x writes nil); JSON.stringify
     * shows it as null in arrays and at the top, and leaves object members out */
    CHECK(dec_is(B("\xd4\x00\x00"), "null"));
    CHECK(dec_is(B("\xd4\x00\x07"), "null")); /* notepack skips the data byte unread */
    CHECK(dec_is(B("\x92\xd4\x00\x00\xc0"), "[null,null]"));
    CHECK(dec_is(B("\x82\xa1\x61\xd4\x00\x00\xa1\x62\x01"), "{\"b\":1}"));
    CHECK(dec_is(B("\x81\xa1\x61\xd4\x00\x00"), "{}"));
    CHECK(
        dec_is(B("\x82\xa1\x61\x91\x81\xa1\x62\xd4\x00\x00\xa1\x63\x02"), "{\"a\":[{}],\"c\":2}"));
    /* what notepack 3.x writes for {a: undefined, b: 1, c: [undefined, null]} */
    CHECK(dec_is(B("\x82\xa1\x62\x01\xa1\x63\x92\xc0\xc0"), "{\"b\":1,\"c\":[null,null]}"));
}

/* Dates (ext type -1 timestamps, notepack 2.x fixext8) become toJSON strings. */
static void test_dates(void) {
    /* notepack 3.x writes a Date as a timestamp (ext type -1); Node peers hand it to
     * JSON.stringify, which prints toISOString() */
    CHECK(dec_is(B("\xd6\xff\x00\x00\x00\x00"), "\"1970-01-01T00:00:00.000Z\""));
    CHECK(dec_is(B("\xd6\xff\x39\x45\x79\x80"), "\"2000-06-13T00:00:00.000Z\""));
    CHECK(dec_is(B("\xd6\xff\xff\xff\xff\xff"), "\"2106-02-07T06:28:15.000Z\""));
    CHECK(dec_is(B("\xd7\xff\x00\x3d\x09\x00\x00\x00\x00\x00"), "\"1970-01-01T00:00:00.001Z\""));
    CHECK(dec_is(B("\xd7\xff\x00\x00\x00\x01\x00\x00\x00\x00"), "\"2106-02-07T06:28:16.000Z\""));
    CHECK(dec_is(B("\xd7\xff\xff\xff\xff\xfc\x00\x00\x00\x03"), "\"1970-01-01T00:00:04.073Z\""));
    /* nanoseconds of 10^9 or more are not rejected by notepack, just added */
    CHECK(dec_is(B("\xd7\xff\xee\x6b\x28\x00\x00\x00\x00\x0f"), "\"1970-01-01T00:00:16.000Z\""));
    CHECK(dec_is(B("\xc7\x0c\xff\x3b\x8b\x87\xc0\xff\xff\xff\xff\xff\xff\xff\xff"),
                 "\"1969-12-31T23:59:59.999Z\""));
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00"),
                 "\"2514-05-30T01:53:04.000Z\""));
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
                 "\"1970-01-01T00:00:00.000Z\""));
    /* -1 s + 999999999 ns is -0.000001 ms: truncated toward zero */
    CHECK(dec_is(B("\xc7\x0c\xff\x3b\x9a\xc9\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
                 "\"1970-01-01T00:00:00.000Z\""));
    /* the ends of a Date's range, years past 9999 and before 0 */
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x07\xdb\xa8\x21\x80\x00"),
                 "\"+275760-09-13T00:00:00.000Z\""));
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\xff\xff\xf8\x24\x57\xde\x80\x00"),
                 "\"-271821-04-20T00:00:00.000Z\""));
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\xff\xff\xff\xf1\x86\x8b\x84\x00"),
                 "\"0000-01-01T00:00:00.000Z\""));
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\xff\xff\xff\xf1\x86\x8b\x83\xff"),
                 "\"-000001-12-31T23:59:59.000Z\""));
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x3a\xff\xf4\x41\x80"),
                 "\"+010000-01-01T00:00:00.000Z\""));
    CHECK(dec_is(B("\xd6\xff\x38\xbb\x0c\x00"), "\"2000-02-29T00:00:00.000Z\""));
    /* one second past the range: an Invalid Date, which JSON.stringify prints as null */
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x07\xdb\xa8\x21\x80\x01"), "null"));
    CHECK(dec_is(B("\xc7\x0c\xff\x00\x00\x00\x00\x80\x00\x00\x00\x00\x00\x00\x00"), "null"));
    /* notepack 2.x Date: fixext8 type 0 holding int64 milliseconds */
    CHECK(dec_is(B("\xd7\x00\x00\x00\x00\x00\x00\x00\x00\x01"), "\"1970-01-01T00:00:00.001Z\""));
    CHECK(dec_is(B("\xd7\x00\xff\xff\xff\xff\xff\xff\xff\xfe"), "\"1969-12-31T23:59:59.998Z\""));
    CHECK(dec_is(B("\xd7\x00\x00\x00\x00\xdf\xb7\x62\x9c\x00"), "\"2000-06-13T00:00:00.000Z\""));
    CHECK(dec_is(B("\x81\xa2\x61\x74\xd6\xff\x39\x45\x79\x80"),
                 "{\"at\":\"2000-06-13T00:00:00.000Z\"}"));
}

/* ---- strings with ill-formed UTF-8: U+FFFD per maximal subpart, as Node ---- */

static void test_utf8(void) {
#define R "\xef\xbf\xbd"
    CHECK(dec_is(B("\xa1\xff"), "\"" R "\""));
    CHECK(dec_is(B("\xa2\xc0\x80"), "\"" R R "\""));
    CHECK(dec_is(B("\xa1\xc3"), "\"" R "\""));
    CHECK(dec_is(B("\xa3\xe0\x80\x80"), "\"" R R R "\""));
    CHECK(dec_is(B("\xa3\xed\xa0\x80"), "\"" R R R "\"")); /* a surrogate */
    CHECK(dec_is(B("\xa3\xf0\x9f\x98"), "\"" R "\""));
    CHECK(dec_is(B("\xa4\xf4\x90\x80\x80"), "\"" R R R R "\""));
    CHECK(dec_is(B("\xa3\x61\xe2\x82"), "\"a" R "\""));
    CHECK(dec_is(B("\xa3\xe2\x82\x41"), "\"" R "A\""));
    CHECK(dec_is(B("\xa4\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\""));
    CHECK(dec_is(B("\xa4\xef\xbb\xbf\x61"), "\"\xef\xbb\xbf"
                                            "a\"")); /* a BOM stays */
    CHECK(dec_is(B("\xa2\x80\xbf"), "\"" R R "\""));
    CHECK(dec_is(B("\xa5\xf8\x80\x80\x80\x80"), "\"" R R R R R "\""));
    CHECK(dec_is(B("\xa2\xe0\xa0"), "\"" R "\""));
    CHECK(dec_is(B("\xa3\xc2\xc2\xa9"), "\"" R "\xc2\xa9\""));
    CHECK(dec_is(B("\x81\xa1\xff\x01"), "{\"" R "\":1}")); /* keys too */
#undef R
}

/* ---- Socket.IO messages on Redis ---- */

static const uint8_t BROADCAST[] =
    "\x93\xa6\x61\x42\x63\x31\x32\x33\x83\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x93\xa5\x65"
    "\x76\x65\x6e\x74\x81\xa1\x61\x01\xc4\x02\x01\x02\xa3\x6e\x73\x70\xa1\x2f\x83\xa5\x72\x6f\x6f"
    "\x6d\x73\x91\xa1\x72\xa6\x65\x78\x63\x65\x70\x74\x90\xa5\x66\x6c\x61\x67\x73\x80";

/* What @socket.io/redis-emitter 5.x publishes (its opts keys come in another order). */
static const uint8_t EMITTER[] =
    "\x93\xa7\x65\x6d\x69\x74\x74\x65\x72\x83\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x92\xa2"
    "\x65\x76\xc4\x01\x09\xa3\x6e\x73\x70\xa5\x2f\x63\x68\x61\x74\x83\xa5\x72\x6f\x6f\x6d\x73\x92"
    "\xa1\x61\xa1\x62\xa5\x66\x6c\x61\x67\x73\x82\xa8\x76\x6f\x6c\x61\x74\x69\x6c\x65\xc3\xa1\x78"
    "\x91\x01\xa6\x65\x78\x63\x65\x70\x74\x91\xa1\x63";

/* The adapter's and the emitter's broadcast messages: encode, decode, truncations. */
static void test_socketio(void) {
    /* [uid, {type: 2, data: ["event", {a: 1}, <Buffer 01 02>], nsp: "/"},
     *  {rooms: ["r"], except: [], flags: {}}] built as the adapter will build it */
    cJSON *msg = cJSON_CreateArray(), *packet = cJSON_CreateObject(), *opts = cJSON_CreateObject();
    cJSON *data = cJSON_CreateArray(), *arg = cJSON_CreateObject(), *rooms = cJSON_CreateArray();
    cJSON_AddItemToArray(msg, cJSON_CreateString("aBc123"));
    cJSON_AddNumberToObject(packet, "type", 2);
    cJSON_AddItemToArray(data, cJSON_CreateString("event"));
    cJSON_AddNumberToObject(arg, "a", 1);
    cJSON_AddItemToArray(data, arg);
    cJSON_AddItemToArray(data, sio_json_binary("\x01\x02", 2));
    cJSON_AddItemToObject(packet, "data", data);
    cJSON_AddStringToObject(packet, "nsp", "/");
    cJSON_AddItemToArray(msg, packet);
    cJSON_AddItemToArray(rooms, cJSON_CreateString("r"));
    cJSON_AddItemToObject(opts, "rooms", rooms);
    cJSON_AddItemToObject(opts, "except", cJSON_CreateArray());
    cJSON_AddItemToObject(opts, "flags", cJSON_CreateObject());
    cJSON_AddItemToArray(msg, opts);
    CHECK(enc_is(msg, BROADCAST, sizeof BROADCAST - 1));

    CHECK(dec_is(BROADCAST, sizeof BROADCAST - 1,
                 "[\"aBc123\",{\"type\":2,\"data\":[\"event\",{\"a\":1},"
                 "{\"_placeholder\":true,\"num\":0}],\"nsp\":\"/\"},"
                 "{\"rooms\":[\"r\"],\"except\":[],\"flags\":{}}]"));
    cJSON *v = NULL;
    size_t used = 0, len = 0;
    CHECK(msgpack_decode(BROADCAST, sizeof BROADCAST - 1, &v, &used, NULL) == SIO_OK);
    cJSON *bin = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 1), "data"), 2);
    const uint8_t *p = sio_json_binary_data(bin, &len);
    CHECK(p && len == 2 && p[0] == 1 && p[1] == 2);
    cJSON_Delete(v);
    CHECK(roundtrip(BROADCAST, sizeof BROADCAST - 1));

    CHECK(dec_is(EMITTER, sizeof EMITTER - 1,
                 "[\"emitter\",{\"type\":2,\"data\":[\"ev\",{\"_placeholder\":true,\"num\":0}],"
                 "\"nsp\":\"/chat\"},{\"rooms\":[\"a\",\"b\"],\"flags\":{\"volatile\":true,"
                 "\"x\":[1]},\"except\":[\"c\"]}]"));
    CHECK(roundtrip(EMITTER, sizeof EMITTER - 1));

    /* Truncated at every offset: always SIO_EPARSE, never a read past the end (each
     * prefix is decoded from its own exactly-sized copy, so ASan sees any over-read). */
    CHECK(truncations_fail(BROADCAST, sizeof BROADCAST - 1));
    CHECK(truncations_fail(EMITTER, sizeof EMITTER - 1));
}

/* Every type in one message: truncated at each offset it is SIO_EPARSE. `all` holds
 * the shortest forms (so it round-trips), `others` the rest. */
static void test_all_types_truncated(void) {
    static const uint8_t all[] =
        "\xdc\x00\x14\xc0\xc2\xc3\x05\xe0\xcc\x80\xcd\x01\x00\xce\x00\x01\x00\x00"
        "\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xd0\xdf\xd1\xff\x7f\xd2\xff\xff\x7f\xff"
        "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"
        "\xa3\x61\x62\x63\xd9\x20xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xc4\x02\x01\x02"
        "\x81\xa1\x6b\x91\x90\x80\xc4\x01\x07";
    CHECK(roundtrip(all, sizeof all - 1));
    CHECK(truncations_fail(all, sizeof all - 1));

    static const uint8_t others[] =
        "\xdc\x00\x12\xca\x3f\xc0\x00\x00\xd4\x00\x00\xc7\x01\x00\x07\xd6\xff\x00\x00\x00\x00"
        "\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc5\x00\x01\x07"
        "\xda\x00\x01\x61\xdb\x00\x00\x00\x01\x61\xc6\x00\x00\x00\x01\x07\xdd\x00\x00\x00\x01\xc0"
        "\xde\x00\x01\xa1\x61\xc0\xdf\x00\x00\x00\x00\xc8\x00\x01\x00\x07"
        "\xc9\x00\x00\x00\x01\x00\x07\xd7\x00\x00\x00\x00\x00\x00\x00\x00\x01"
        "\xd7\xff\x00\x3d\x09\x00\x00\x00\x00\x00\x81\xa1\x61\xd4\x00\x00"
        "\xcf\x00\x20\x00\x00\x00\x00\x00\x01";
#define PH(n) "{\"_placeholder\":true,\"num\":" #n "}"
    CHECK(dec_is(
        others, sizeof others - 1,
        "[1.5,null," PH(0) ",\"1970-01-01T00:00:00.000Z\",\"1970-01-01T00:00:00.000Z\"," PH(
            1) ",\"a\",\"a\"," PH(2) ",[null],{\"a\":null},{}," PH(3) "," PH(4) ","
                                                                                "\"1970-01-01T00:"
                                                                                "00:00.001Z\","
                                                                                "\"1970-01-01T00:"
                                                                                "00:00.001Z\",{},"
                                                                                "9007199254740992"
                                                                                "]"));
#undef PH
    CHECK(truncations_fail(others, sizeof others - 1));
}

/* ---- errors and limits ---- */

static void test_errors(void) {
    cJSON *v = NULL;
    size_t used = 0;

    /* arguments */
    CHECK(msgpack_decode(B("\xc0"), NULL, &used, NULL) == SIO_EINVAL);
    CHECK(msgpack_decode(NULL, 1, &v, &used, NULL) == SIO_EINVAL && v == NULL);
    CHECK(dec_err(NULL, 0, SIO_EPARSE));
    CHECK(dec_err(B(""), SIO_EPARSE));

    /* trailing bytes are the caller's: *consumed says where the value ended */
    CHECK(msgpack_decode(B("\xc0\xc3\x00"), &v, &used, NULL) == SIO_OK && used == 1);
    CHECK(cJSON_IsNull(v));
    cJSON_Delete(v);
    CHECK(msgpack_decode(B("\x91\x01\x02"), &v, NULL, NULL) == SIO_OK && cJSON_IsArray(v));
    cJSON_Delete(v);

    /* the byte MessagePack never uses */
    CHECK(dec_err(B("\xc1"), SIO_EPARSE));
    CHECK(dec_err(B("\x91\xc1"), SIO_EPARSE));

    /* map keys must be strings */
    CHECK(dec_err(B("\x81\x01\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x81\xc0\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x81\x90\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x81\x80\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x81\xc4\x01\x61\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x81\xc3\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x81\xd4\x00\x00\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x82\xa1\x61\x01\x02\x03"), SIO_EPARSE));
    /* repeated keys: the first position and the last value, as in the object notepack
     * builds; "__proto__" is no own property there (the assignment sets the prototype) */
    CHECK(dec_is(B("\x82\xa1\x61\xc0\xa1\x61\x02"), "{\"a\":2}"));
    CHECK(dec_is(B("\x83\xa1\x61\x01\xa1\x62\x02\xa1\x61\x03"), "{\"a\":3,\"b\":2}"));
    CHECK(dec_is(B("\x84\xa1\x61\x01\xa1\x62\x02\xa1\x61\x03\xa1\x61\x04"), "{\"a\":4,\"b\":2}"));
    CHECK(dec_is(B("\x83\xa1\x61\x01\xa1\x61\x01\xa1\x61\x01"), "{\"a\":1}"));
    CHECK(dec_is(B("\x82\xa1\x61\x01\xa1\x61\xd4\x00\x00"), "{}"));
    CHECK(dec_is(B("\x82\xa1\x61\xd4\x00\x00\xa1\x61\x01"), "{\"a\":1}"));
    CHECK(dec_is(B("\x82\xa9__proto__\x81\xa1\x78\x01\xa1\x62\x01"), "{\"b\":1}"));
    CHECK(dec_is(B("\x81\xa9__proto__\x01"), "{}"));
    CHECK(dec_is(B("\x82\xa1\x61\x91\xc4\x01\x01\xa1\x61\x92\xc4\x01\x02\x03"),
                 "{\"a\":[{\"_placeholder\":true,\"num\":0},3]}"));

    /* U+0000 (which C strings cannot hold) arrives as the flagged U+FDD0
     * stand-in of json.h and prints back as \u0000 */
    CHECK(dec_is(B("\xa3\x61\x00\x62"), "\"a\\u0000b\""));
    CHECK(dec_is(B("\xa1\x00"), "\"\\u0000\""));
    CHECK(dec_is(B("\x81\xa2\x61\x00\x01"), "{\"a\\u0000\":1}"));
    CHECK(dec_is(B("\x92\xa1\x61\xd9\x02\x00\x00"), "[\"a\",\"\\u0000\\u0000\"]"));
    /* ... and goes back out with real NULs, byte for byte */
    {
        static const uint8_t in[] = {0x82, 0xa2, 0x6b, 0x00, 0xa3, 0x61, 0x00,
                                     0x62, 0xa1, 0x78, 0xa2, 0x00, 0x00};
        cJSON *v = NULL;
        size_t used = 0;
        CHECK(msgpack_decode(in, sizeof in, &v, &used, NULL) == SIO_OK && used == sizeof in);
        sbuf out = SBUF_INIT;
        CHECK(v && msgpack_encode(v, &out) == SIO_OK && out.len == sizeof in &&
              memcmp(out.data, in, sizeof in) == 0);
        sbuf_free(&out);
        cJSON_Delete(v);
    }
    /* the stand-in must not be ambiguous: U+0000 next to a real U+FDD0 */
    CHECK(dec_err(B("\x92\xa1\x00\xa3\xef\xb7\x90"), SIO_EPARSE));

    /* ext types notepack does not turn into values (it returns [type, Buffer]) */
    CHECK(dec_err(B("\xd4\x01\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\xd4\xff\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\xd5\x00\x01\x02"), SIO_EPARSE));
    CHECK(dec_err(B("\xd6\x00\x01\x02\x03\x04"), SIO_EPARSE));
    CHECK(dec_err(B("\xd7\x05\x00\x00\x00\x00\x00\x00\x00\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\xd8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
                  SIO_EPARSE));
    CHECK(dec_err(B("\xd8\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
                  SIO_EPARSE));
    CHECK(dec_err(B("\xc7\x01\x05\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\xc7\x01\x01\x31"), SIO_EPARSE)); /* notepack 2.x BigInt */
    CHECK(dec_err(B("\xc8\x00\x01\x7f\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\xc9\x00\x00\x00\x01\x80\x00"), SIO_EPARSE));
    /* a timestamp 96 must say 12 bytes, and only ext 8 carries one */
    CHECK(dec_err(B("\xc7\x0b\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), SIO_EPARSE));
    CHECK(
        dec_err(B("\xc8\x00\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\xd5\xff\x00\x00"), SIO_EPARSE));

    /* huge declared lengths with little data: rejected before any allocation */
    CHECK(dec_err(B("\xdd\xff\xff\xff\xff\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\xdf\xff\xff\xff\xff\xa1\x61\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\xdc\xff\xff\xc0\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\xde\x00\x02\xa1\x61\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\xdb\xff\xff\xff\xff\x61"), SIO_EPARSE));
    CHECK(dec_err(B("\xc6\xff\xff\xff\xff\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\xc9\xff\xff\xff\xff\x00\x00"), SIO_EPARSE));
    CHECK(dec_err(B("\x9f\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x8f\xa1\x61\xc0"), SIO_EPARSE));
    CHECK(dec_err(B("\x91\xdb\xff\xff\xff\xff"), SIO_EPARSE));
    CHECK(dec_err(B("\x81\xdb\xff\xff\xff\xff\x01"), SIO_EPARSE));

    /* encoder errors leave the output as it was */
    sbuf b = SBUF_INIT;
    sbuf_append(&b, "keep", 4);
    cJSON *raw = cJSON_CreateRaw("{\"a\":1}");
    CHECK(msgpack_encode(raw, &b) == SIO_EINVAL && b.len == 4);
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(arr, raw);
    CHECK(msgpack_encode(arr, &b) == SIO_EINVAL && b.len == 4);
    cJSON_Delete(arr);
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToObject(obj, "a", cJSON_CreateNumber(1));
    cJSON_AddItemToArray(obj, cJSON_CreateNumber(2)); /* a member without a key */
    CHECK(msgpack_encode(obj, &b) == SIO_EINVAL && b.len == 4);
    cJSON_Delete(obj);
    cJSON *invalid = cJSON_CreateNull();
    invalid->type = cJSON_Invalid;
    CHECK(msgpack_encode(invalid, &b) == SIO_EINVAL && b.len == 4);
    cJSON_Delete(invalid);
    cJSON *nostr = cJSON_CreateString("x");
    cJSON_free(nostr->valuestring);
    nostr->valuestring = NULL;
    CHECK(msgpack_encode(nostr, &b) == SIO_EINVAL && b.len == 4);
    cJSON_Delete(nostr);
    CHECK(msgpack_encode(NULL, &b) == SIO_EINVAL && b.len == 4);
    cJSON *null = cJSON_CreateNull();
    CHECK(msgpack_encode(null, NULL) == SIO_EINVAL);
    cJSON_Delete(null);
    CHECK(b.len == 4 && memcmp(b.data, "keep", 4) == 0);
    sbuf_free(&b);
}

/* n nested single-element arrays around a nil, in a malloc'd buffer. */
static uint8_t *nested(size_t n, uint8_t open, size_t *len) {
    uint8_t *p = malloc(n + 1);
    if (!p) abort();
    memset(p, open, n);
    p[n] = 0xc0;
    *len = n + 1;
    return p;
}

/* Free a chain of single-element containers without cJSON_Delete's recursion. */
static void delete_chain(cJSON *v) {
    while (v) {
        cJSON *child = v->child;
        v->child = NULL;
        cJSON_Delete(v);
        v = child;
    }
}

/* max_depth and max_items, and input that would recurse a million levels deep. */
static void test_limits(void) {
    size_t len;
    uint8_t *p;

    /* depth: 32 nested containers by default, 33 is too many */
    p = nested(32, 0x91, &len);
    CHECK(dec_is(p, len, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[null]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"));
    free(p);
    p = nested(33, 0x91, &len);
    CHECK(dec_err(p, len, SIO_ETOOBIG));
    free(p);
    p = nested(32, 0x91, &len); /* an empty container counts as a level too */
    p[31] = 0x90;
    CHECK(dec_is(p, 32, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"));
    p[31] = 0x91;
    p[32] = 0x90;
    CHECK(dec_err(p, len, SIO_ETOOBIG));
    free(p);
    static const uint8_t map_chain[] = "\x81\xa1\x61\x81\xa1\x61\x81\xa1\x61\x80";
    msgpack_limits three = {3, 0}, four = {4, 0};
    CHECK(dec_err_lim(map_chain, sizeof map_chain - 1, SIO_ETOOBIG, &three));
    cJSON *v = NULL;
    CHECK(msgpack_decode(map_chain, sizeof map_chain - 1, &v, NULL, &four) == SIO_OK);
    cJSON_Delete(v);

    /* a depth bomb: a million opening bytes cost no stack and stop at the limit */
    p = nested(1000000, 0x91, &len);
    CHECK(dec_err(p, len, SIO_ETOOBIG));
    memset(p, 0x81, 1000000); /* maps whose keys are missing */
    CHECK(dec_err(p, len, SIO_EPARSE));
    free(p);

    /* a raised limit decodes deep input without recursion, and encodes it back */
    msgpack_limits deep = {200000, 0};
    p = nested(200000, 0x91, &len);
    v = NULL;
    size_t used = 0;
    CHECK(msgpack_decode(p, len, &v, &used, &deep) == SIO_OK && used == len);
    sbuf b = SBUF_INIT;
    CHECK(msgpack_encode(v, &b) == SIO_OK && b.len == len && memcmp(b.data, p, len) == 0);
    sbuf_free(&b);
    delete_chain(v);
    free(p);

    /* items: every value counts, containers and map keys included */
    static const uint8_t ten[] = "\x99\xc0\xc0\xc0\xc0\xc0\xc0\xc0\xc0\xc0"; /* 10 values */
    msgpack_limits nine = {0, 9}, ten_items = {0, 10};
    CHECK(dec_err_lim(ten, sizeof ten - 1, SIO_ETOOBIG, &nine));
    CHECK(msgpack_decode(ten, sizeof ten - 1, &v, NULL, &ten_items) == SIO_OK);
    cJSON_Delete(v);
    static const uint8_t pairs[] = "\x82\xa1\x61\x91\xc0\xa1\x62\xc0"; /* 6 values */
    msgpack_limits five = {0, 5}, six = {0, 6};
    CHECK(dec_err_lim(pairs, sizeof pairs - 1, SIO_ETOOBIG, &five));
    CHECK(msgpack_decode(pairs, sizeof pairs - 1, &v, NULL, &six) == SIO_OK);
    cJSON_Delete(v);
    /* a declared count past the limit is refused at the header when the data is there */
    p = filled((const uint8_t *)"\xdd\x00\x0f\x42\x41", 5, 0xc0, 1000001, &len);
    CHECK(dec_err(p, len, SIO_ETOOBIG));
    free(p);
    /* the default allows a million values */
    p = filled((const uint8_t *)"\xdd\x00\x0f\x42\x3f", 5, 0xc0, 999999, &len);
    CHECK(msgpack_decode(p, len, &v, &used, NULL) == SIO_OK && used == len);
    CHECK(cJSON_GetArraySize(v) == 999999);
    cJSON_Delete(v);
    free(p);
}

/* Encoding deep trees takes no recursion either. */
static void test_encode_deep(void) {
    cJSON *root = cJSON_CreateObject(), *cur = root;
    size_t depth = 100000;
    for (size_t i = 1; i < depth; i++) {
        cJSON *next = (i & 1) ? cJSON_CreateArray() : cJSON_CreateObject();
        if (cJSON_IsArray(cur))
            cJSON_AddItemToArray(cur, next);
        else
            cJSON_AddItemToObject(cur, "k", next);
        cur = next;
    }
    sbuf b = SBUF_INIT;
    CHECK(msgpack_encode(root, &b) == SIO_OK);
    /* odd levels are maps (0x81 0xa1 'k'), even ones arrays (0x91); the last is empty */
    size_t want = (depth / 2) * 3 + (depth / 2) * 1;
    CHECK(b.len == want);
    CHECK(b.len > 4 && b.data[0] == 0x81 && b.data[1] == 0xa1 && b.data[2] == 'k' &&
          b.data[3] == 0x91);
    CHECK(b.len > 0 && b.data[b.len - 1] == 0x90);
    sbuf_free(&b);
    delete_chain(root);
}

/* Runs every group; exits non-zero when a check failed. */
int main(void) {
    test_encode_scalars();
    test_strings();
    test_binary();
    test_decode_numbers();
    test_containers();
    test_undefined();
    test_dates();
    test_utf8();
    test_socketio();
    test_all_types_truncated();
    test_errors();
    test_limits();
    test_encode_deep();
    return CHECK_DONE();
}
