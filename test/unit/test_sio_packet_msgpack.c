/* socket.io-msgpack-parser packet codec (--parser msgpack). Expected bytes and verdicts are
 * what the real socket.io-msgpack-parser 3.0.2 gives, as printed by
 * test/unit/sio_msgpack_vectors.mjs (run by hand) and pasted here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio/json.h"
#include "socketio/packet.h"
#include "socketio/packet_msgpack.h"
#include "sio/status.h"
#include "util/buf.h"

/* A byte-string literal as (pointer, length), zero bytes included. */
#define B(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- helpers (return 1 on success and explain a mismatch on stderr) ---- */

static void dump(const char *what, const uint8_t *p, size_t n) {
    fprintf(stderr, "  %s (%zu bytes):", what, n);
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

/* Encode the packet and compare with want[0..wlen). */
static int enc_is(sio_pkt_type type, const char *nsp, int64_t id, const cJSON *data,
                  const uint8_t *want, size_t wlen) {
    sbuf b = SBUF_INIT;
    int rc = sio_packet_encode_msgpack(type, nsp, id, data, &b);
    int ok = rc == SIO_OK && b.len == wlen && memcmp(b.data, want, wlen) == 0;
    if (!ok) {
        fprintf(stderr, "  encode rc=%d\n", rc);
        dump("got", b.data, b.len);
        dump("want", want, wlen);
    }
    sbuf_free(&b);
    return ok;
}

/* Encode a packet whose data cJSON parses from `json` (NULL: no data). */
static int json_enc_is(sio_pkt_type type, const char *nsp, int64_t id, const char *json,
                       const uint8_t *want, size_t wlen) {
    cJSON *data = json ? cJSON_Parse(json) : NULL;
    if (json && !data) fprintf(stderr, "  cannot parse %s\n", json);
    int ok = (!json || data) && enc_is(type, nsp, id, data, want, wlen);
    cJSON_Delete(data);
    return ok;
}

/* Appends each binary node's bytes in hex, comma-separated, to the sbuf in `ud`. */
static int collect_hex(void *ud, const cJSON *node, size_t index) {
    size_t len;
    const uint8_t *p = sio_json_binary_data(node, &len);
    sbuf *b = ud;
    if (index) sbuf_putc(b, ',');
    for (size_t i = 0; i < len; i++)
        sbuf_printf(b, "%02x", p[i]);
    return SIO_OK;
}

/* Decode p[0..n) and compare with the expected packet: `data` as sio_json_print shows it
 * (binary as placeholders, NULL: absent) and `bins` the binary contents in hex. */
static int dec_is(const uint8_t *p, size_t n, sio_pkt_type type, const char *nsp, int64_t id,
                  const char *data, const char *bins) {
    sio_packet *pkt = NULL;
    int rc = sio_packet_decode_msgpack(p, n, &pkt);
    if (rc != SIO_OK || !pkt) {
        fprintf(stderr, "  decode rc=%d\n", rc);
        return 0;
    }
    sbuf json = SBUF_INIT, hex = SBUF_INIT;
    if (pkt->data) sio_json_print(pkt->data, &json, collect_hex, &hex);
    sbuf_putc(&json, 0);
    sbuf_putc(&hex, 0);
    int ok = pkt->type == type && strcmp(pkt->nsp, nsp) == 0 && pkt->id == id &&
             (data ? pkt->data && strcmp((char *)json.data, data) == 0 : !pkt->data) &&
             strcmp((char *)hex.data, bins ? bins : "") == 0 && (!pkt->data || !pkt->data->string);
    if (!ok)
        fprintf(stderr, "  got type %d nsp '%s' id %lld data %s bins '%s'\n", pkt->type, pkt->nsp,
                (long long)pkt->id, pkt->data ? (char *)json.data : "(none)", (char *)hex.data);
    sbuf_free(&json);
    sbuf_free(&hex);
    sio_packet_free(pkt);
    return ok;
}

/* Decoding p[0..n) fails with `want`, and *out stays NULL. */
static int dec_err(const uint8_t *p, size_t n, int want) {
    sio_packet *pkt = (sio_packet *)&pkt; /* not NULL: the decoder must reset it */
    int rc = sio_packet_decode_msgpack(p, n, &pkt);
    if (rc == want && pkt == NULL) return 1;
    fprintf(stderr, "  decode rc=%d want %d\n", rc, want);
    if (rc == SIO_OK) sio_packet_free(pkt);
    return 0;
}

/* ---- encoding: byte-exact with the parser, keys in the server's order ---- */

static void test_encode(void) {
    /* ["hello", "w", 1.5, Buffer [1, 2], {a: 1, 1: 2}]: the index key "1" goes first, as
     * Object.keys orders it. */
    cJSON *data = cJSON_Parse("[\"hello\",\"w\",1.5,null,{\"a\":1,\"1\":2}]");
    CHECK(data != NULL);
    cJSON_ReplaceItemInArray(data, 3, sio_json_binary("\x01\x02", 2));
    CHECK(enc_is(SIO_PKT_EVENT, "/", -1, data,
                 B("\x83\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x95\xa5\x68\x65\x6c\x6c\x6f"
                   "\xa1\x77\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xc4\x02\x01\x02\x82\xa1\x31\x02"
                   "\xa1\x61\x01\xa3\x6e\x73\x70\xa1\x2f")));
    /* Binary event types are written as plain ones. */
    CHECK(enc_is(SIO_PKT_BINARY_EVENT, "/", -1, data,
                 B("\x83\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x95\xa5\x68\x65\x6c\x6c\x6f"
                   "\xa1\x77\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xc4\x02\x01\x02\x82\xa1\x31\x02"
                   "\xa1\x61\x01\xa3\x6e\x73\x70\xa1\x2f")));
    cJSON_Delete(data);

    CHECK(json_enc_is(SIO_PKT_EVENT, "/", 0, "[\"withack\",1]",
                      B("\x84\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x92\xa7\x77\x69\x74\x68"
                        "\x61\x63\x6b\x01\xa2\x69\x64\x00\xa3\x6e\x73\x70\xa1\x2f")));
    CHECK(json_enc_is(SIO_PKT_EVENT, "/chat", -1, "[\"m\",null,true,false,-1,300,\"\"]",
                      B("\x83\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x97\xa1\x6d\xc0\xc3\xc2"
                        "\xff\xcd\x01\x2c\xa0\xa3\x6e\x73\x70\xa5\x2f\x63\x68\x61\x74")));
    /* nsp NULL is "/". */
    CHECK(json_enc_is(SIO_PKT_EVENT, NULL, 0, "[\"withack\",1]",
                      B("\x84\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x92\xa7\x77\x69\x74\x68"
                        "\x61\x63\x6b\x01\xa2\x69\x64\x00\xa3\x6e\x73\x70\xa1\x2f")));

    /* Acks: {id, type, data, nsp}. */
    data = cJSON_Parse("[1,null]");
    cJSON_ReplaceItemInArray(data, 1, sio_json_binary("\x07", 1));
    CHECK(enc_is(SIO_PKT_ACK, "/", 7, data,
                 B("\x84\xa2\x69\x64\x07\xa4\x74\x79\x70\x65\x03\xa4\x64\x61\x74\x61\x92\x01\xc4"
                   "\x01\x07\xa3\x6e\x73\x70\xa1\x2f")));
    CHECK(enc_is(SIO_PKT_BINARY_ACK, "/", 7, data,
                 B("\x84\xa2\x69\x64\x07\xa4\x74\x79\x70\x65\x03\xa4\x64\x61\x74\x61\x92\x01\xc4"
                   "\x01\x07\xa3\x6e\x73\x70\xa1\x2f")));
    cJSON_Delete(data);
    CHECK(json_enc_is(SIO_PKT_ACK, "/", 0, "[]",
                      B("\x84\xa2\x69\x64\x00\xa4\x74\x79\x70\x65\x03\xa4\x64\x61\x74\x61\x90\xa3"
                        "\x6e\x73\x70\xa1\x2f")));
    CHECK(json_enc_is(SIO_PKT_ACK, "/", SIO_ACK_ID_MAX, "[]",
                      B("\x84\xa2\x69\x64\xcf\x00\x03\x8d\x7e\xa4\xc6\x7f\xff\xa4\x74\x79\x70\x65"
                        "\x03\xa4\x64\x61\x74\x61\x90\xa3\x6e\x73\x70\xa1\x2f")));

    /* CONNECT, CONNECT_ERROR, DISCONNECT. (The reference's CONNECT data also holds
     * `pid: undefined`, and its "Invalid namespace" error puts nsp before data: neither
     * survives notepack's decode, so neither is copied.) */
    CHECK(json_enc_is(SIO_PKT_CONNECT, "/", -1, "{\"sid\":\"SsTbK68cmNb2cCrBAAAA\"}",
                      B("\x83\xa4\x74\x79\x70\x65\x00\xa4\x64\x61\x74\x61\x81\xa3\x73\x69\x64\xb4"
                        "\x53\x73\x54\x62\x4b\x36\x38\x63\x6d\x4e\x62\x32\x63\x43\x72\x42\x41\x41"
                        "\x41\x41\xa3\x6e\x73\x70\xa1\x2f")));
    CHECK(json_enc_is(SIO_PKT_CONNECT_ERROR, "/refuse", -1,
                      "{\"message\":\"nope\",\"data\":{\"why\":1}}",
                      B("\x83\xa4\x74\x79\x70\x65\x04\xa4\x64\x61\x74\x61\x82\xa7\x6d\x65\x73\x73"
                        "\x61\x67\x65\xa4\x6e\x6f\x70\x65\xa4\x64\x61\x74\x61\x81\xa3\x77\x68\x79"
                        "\x01\xa3\x6e\x73\x70\xa7\x2f\x72\x65\x66\x75\x73\x65")));
    CHECK(
        json_enc_is(SIO_PKT_DISCONNECT, "/admin", -1, NULL,
                    B("\x82\xa4\x74\x79\x70\x65\x01\xa3\x6e\x73\x70\xa6\x2f\x61\x64\x6d\x69\x6e")));

    /* Longer strings and binary take their 8/16-bit forms: "x" * 40, Buffer 300 x 0xab. */
    data = cJSON_CreateArray();
    char xs[41];
    memset(xs, 'x', 40);
    xs[40] = 0;
    uint8_t ab[300];
    memset(ab, 0xab, sizeof ab);
    cJSON_AddItemToArray(data, cJSON_CreateString(xs));
    cJSON_AddItemToArray(data, sio_json_binary(ab, sizeof ab));
    sbuf b = SBUF_INIT;
    CHECK(sio_packet_encode_msgpack(SIO_PKT_EVENT, "/", -1, data, &b) == SIO_OK);
    CHECK(b.len == 364 && memcmp(b.data,
                                 "\x83\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x92"
                                 "\xd9\x28",
                                 15) == 0);
    CHECK(b.len == 364 && memcmp(b.data + 55, "\xc5\x01\x2c\xab", 4) == 0 &&
          memcmp(b.data + 357, "\xab\xa3\x6e\x73\x70\xa1\x2f", 7) == 0);
    sbuf_free(&b);
    cJSON_Delete(data);

    /* ["e", {b: Buffer "hi", l: [Buffer []]}]: binary at any depth, empty included. */
    data = cJSON_Parse("[\"e\",{\"b\":null,\"l\":[null]}]");
    cJSON *obj = cJSON_GetArrayItem(data, 1);
    cJSON_ReplaceItemInObject(obj, "b", sio_json_binary("hi", 2));
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(obj, "l"), 0, sio_json_binary("", 0));
    CHECK(enc_is(SIO_PKT_EVENT, "/", -1, data,
                 B("\x83\xa4\x74\x79\x70\x65\x02\xa4\x64\x61\x74\x61\x92\xa1\x65\x82\xa1\x62\xc4"
                   "\x02\x68\x69\xa1\x6c\x91\xc4\x00\xa3\x6e\x73\x70\xa1\x2f")));
    cJSON_Delete(data);
}

static void test_encode_errors(void) {
    sbuf b = SBUF_INIT;
    sbuf_putc(&b, 'x');
    cJSON *arr = cJSON_CreateArray();
    CHECK(sio_packet_encode_msgpack(SIO_PKT_EVENT, "/", SIO_ACK_ID_MAX + 1, arr, &b) == SIO_EINVAL);
    CHECK(sio_packet_encode_msgpack((sio_pkt_type)7, "/", -1, arr, &b) == SIO_EINVAL);
    CHECK(sio_packet_encode_msgpack(SIO_PKT_EVENT, "/", -1, arr, NULL) == SIO_EINVAL);
    /* A tree the codec cannot encode (raw text): the buffer keeps its old content. */
    cJSON_AddItemToArray(arr, cJSON_CreateRaw("1"));
    CHECK(sio_packet_encode_msgpack(SIO_PKT_EVENT, "/", 3, arr, &b) == SIO_EINVAL);
    CHECK(b.len == 1 && b.data[0] == 'x');
    /* Appends after what is there. */
    cJSON_Delete(arr);
    CHECK(sio_packet_encode_msgpack(SIO_PKT_DISCONNECT, "/", -1, NULL, &b) == SIO_OK);
    CHECK(b.len == 14 && memcmp(b.data, "x\x82\xa4type\x01\xa3nsp\xa1/", 14) == 0);
    sbuf_free(&b);
}

/* ---- decoding: what the parser's Decoder accepts, and what it throws on ---- */

static void test_decode(void) {
    /* socket.io-client 4.8: CONNECT {type, data: undefined, nsp}. */
    CHECK(dec_is(B("\x83\xa4type\x00\xa4"
                   "data\xd4\x00\x00\xa3nsp\xa1/"),
                 SIO_PKT_CONNECT, "/", -1, NULL, NULL));
    CHECK(dec_is(B("\x83\xa4type\x00\xa4"
                   "data\x81\xa5token\xa1t\xa3nsp\xa6/admin"),
                 SIO_PKT_CONNECT, "/admin", -1, "{\"token\":\"t\"}", NULL));
    /* EVENT {type, data, options, id, nsp}: options ignored. */
    CHECK(dec_is(B("\x85\xa4type\x02\xa4"
                   "data\x93\xa1"
                   "e\x01\xc4\x01\x05\xa7options\x81\xa8"
                   "compress\xc3\xa2id\x03\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", 3, "[\"e\",1,{\"_placeholder\":true,\"num\":0}]", "05"));
    /* A browser's ArrayBuffer: notepack 2 writes ext 8 type 0. */
    CHECK(dec_is(B("\x83\xa4type\x02\xa4"
                   "data\x92\xa1"
                   "e\xc7\x02\x00\x01\x02\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", -1, "[\"e\",{\"_placeholder\":true,\"num\":0}]", "0102"));
    /* ACK {type, id, data, nsp}. */
    CHECK(dec_is(B("\x84\xa4type\x03\xa2id\x00\xa4"
                   "data\x92\xa1r\xc4\x01\x09\xa3nsp\xa1/"),
                 SIO_PKT_ACK, "/", 0, "[\"r\",{\"_placeholder\":true,\"num\":0}]", "09"));
    CHECK(dec_is(B("\x82\xa4type\x01\xa3nsp\xa1/"), SIO_PKT_DISCONNECT, "/", -1, NULL, NULL));
    /* undefined: null in an array, a member left out in a map (JSON.stringify's view). */
    CHECK(dec_is(B("\x83\xa4type\x02\xa4"
                   "data\x93\xa1"
                   "e\xd4\x00\x00\x82\xa1u\xd4\x00\x00\xa1"
                   "d\x01\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", -1, "[\"e\",null,{\"d\":1}]", NULL));
    /* The parser checks no event name: [] and reserved names decode. */
    CHECK(dec_is(B("\x83\xa4type\x02\xa4"
                   "data\x90\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", -1, "[]", NULL));
    CHECK(dec_is(B("\x83\xa4type\x02\xa4"
                   "data\x91\xaa"
                   "disconnect\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", -1, "[\"disconnect\"]", NULL));
    /* Integral float64 type and id are integers to Number.isInteger. */
    CHECK(dec_is(B("\x83\xa4type\xcb\x40\x00\x00\x00\x00\x00\x00\x00\xa4"
                   "data\x91\xa1"
                   "e\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", -1, "[\"e\"]", NULL));
    CHECK(dec_is(B("\x84\xa4type\x02\xa4"
                   "data\x91\xa1"
                   "e\xa2id\xcb\x40\x08\x00\x00\x00\x00\x00\x00\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", 3, "[\"e\"]", NULL));
    CHECK(dec_is(B("\x83\xa4type\x04\xa4"
                   "data\xa1x\xa3nsp\xa1/"),
                 SIO_PKT_CONNECT_ERROR, "/", -1, "\"x\"", NULL));
    /* A repeated key takes its last value. */
    CHECK(dec_is(B("\x84\xa4type\x01\xa4type\x02\xa4"
                   "data\x91\xa1"
                   "e\xa3nsp\xa1/"),
                 SIO_PKT_EVENT, "/", -1, "[\"e\"]", NULL));
    /* Any string is a namespace to the parser (the server answers "Invalid namespace"). */
    CHECK(dec_is(B("\x82\xa4type\x00\xa3nsp\xa3"
                   "a,b"),
                 SIO_PKT_CONNECT, "a,b", -1, NULL, NULL));
    /* The largest id kept. */
    CHECK(dec_is(B("\x84\xa4type\x03\xa2id\xcf\x00\x03\x8d\x7e\xa4\xc6\x7f\xff\xa4"
                   "data\x90\xa3nsp\xa1/"),
                 SIO_PKT_ACK, "/", SIO_ACK_ID_MAX, "[]", NULL));
}

static void test_decode_errors(void) {
    /* Each of these, the parser throws on too ("invalid packet type", "invalid namespace",
     * "invalid payload", "invalid packet id", trailing bytes, "Could not parse"). */
    static const struct {
        const char *p;
        size_t n;
    } bad[] = {
#define BAD(s) {s, sizeof(s) - 1}
        BAD("\x83\xa4type\xcb\x40\x04\x00\x00\x00\x00\x00\x00\xa4" /* type 2.5 */
            "data\x91\xa1"
            "e\xa3nsp\xa1/"),
        BAD("\x83\xa4type\x05\xa4"
            "data\x91\xa1"
            "e\xa3nsp\xa1/"),
        BAD("\x83\xa4type\xff\xa4"
            "data\x91\xa1"
            "e\xa3nsp\xa1/"),
        BAD("\x83\xa4type\xa1\x32\xa4"
            "data\x91\xa1"
            "e\xa3nsp\xa1/"),
        BAD("\x82\xa4"
            "data\x91\xa1"
            "e\xa3nsp\xa1/"), /* no type */
        BAD("\x82\xa4type\x02\xa4"
            "data\x91\xa1"
            "e"), /* no nsp */
        BAD("\x83\xa4type\x02\xa4"
            "data\x91\xa1"
            "e\xa3nsp\x01"),
        BAD("\x83\xa4type\x02\xa4"
            "data\x81\xa1"
            "a\x01\xa3nsp\xa1/"), /* EVENT with an object */
        BAD("\x82\xa4type\x02\xa3nsp\xa1/"),
        BAD("\x83\xa4type\x03\xa2id\x01\xa3nsp\xa1/"), /* ACK without data */
        BAD("\x83\xa4type\x00\xa4"
            "data\x90\xa3nsp\xa1/"),
        BAD("\x83\xa4type\x00\xa4"
            "data\xc0\xa3nsp\xa1/"),
        BAD("\x83\xa4type\x00\xa4"
            "data\xc4\x01\x01\xa3nsp\xa1/"),
        BAD("\x83\xa4type\x01\xa4"
            "data\x80\xa3nsp\xa1/"),
        BAD("\x82\xa4type\x04\xa3nsp\xa1/"), /* CONNECT_ERROR without data */
        BAD("\x84\xa4type\x02\xa4"
            "data\x91\xa1"
            "e\xa2id\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xa3nsp\xa1/"),
        BAD("\x84\xa4type\x02\xa4"
            "data\x91\xa1"
            "e\xa2id\xa1\x31\xa3nsp\xa1/"),
        BAD("\x84\xa4type\x02\xa4"
            "data\x91\xa1"
            "e\xa2id\xc0\xa3nsp\xa1/"),
        BAD("\x83\xa4type\x02\xa4"
            "data\x91\xa1"
            "e\xa3nsp\xa1/\xc0"), /* trailing byte */
        BAD("\x83\xa4type\x02\xa4"
            "da"), /* truncated */
        BAD("\x93\x02\x91\xa1"
            "e\xa1/"), /* an array */
        BAD("\xc0"),
        BAD(""),
        /* Refused here although the parser lets them through: an id that is not a
         * non-negative integer of at most 15 digits, a namespace holding U+0000. */
        BAD("\x84\xa4type\x02\xa4"
            "data\x91\xa1"
            "e\xa2id\xff\xa3nsp\xa1/"),
        BAD("\x84\xa4type\x03\xa2id\xcf\x00\x03\x8d\x7e\xa4\xc6\x80\x00\xa4"
            "data\x90\xa3nsp\xa1/"),
        BAD("\x82\xa4type\x00\xa3nsp\xa3/a\x00"),
#undef BAD
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!dec_err((const uint8_t *)bad[i].p, bad[i].n, SIO_EPARSE))
            fprintf(stderr, "  bad input #%zu\n", i);
        CHECK(dec_err((const uint8_t *)bad[i].p, bad[i].n, SIO_EPARSE));
    }
    sio_packet *pkt;
    CHECK(sio_packet_decode_msgpack(NULL, 1, &pkt) == SIO_EINVAL);
    CHECK(sio_packet_decode_msgpack(B("\xc0"), NULL) == SIO_EINVAL);

    /* Nesting: as deep as the JSON decoder allows in data, one more is too deep. */
    size_t levels = CJSON_NESTING_LIMIT, len = 16 + levels + 8;
    uint8_t *p = malloc(len + 1);
    CHECK(p != NULL);
    if (!p) return;
    for (int extra = 0; extra <= 1; extra++) {
        size_t k = 0, depth = levels + (size_t)extra;
        memcpy(p + k,
               "\x83\xa4type\x02\xa4"
               "data",
               12);
        k += 12;
        for (size_t i = 0; i < depth; i++)
            p[k++] = 0x91;
        p[k++] = 0xc0;
        memcpy(p + k, "\xa3nsp\xa1/", 6);
        k += 6;
        int rc = sio_packet_decode_msgpack(p, k, &pkt);
        CHECK(rc == (extra ? SIO_ETOOBIG : SIO_OK));
        if (rc == SIO_OK) sio_packet_free(pkt);
    }
    free(p);
}

/* Whatever the encoder writes, the decoder reads back as the same packet. */
static void test_round_trip(void) {
    cJSON *data = cJSON_Parse("[\"ev\",{\"k\":[1,2.5,\"s\",null]},null]");
    cJSON_ReplaceItemInArray(data, 2, sio_json_binary("\x00\xff", 2));
    sbuf b = SBUF_INIT;
    CHECK(sio_packet_encode_msgpack(SIO_PKT_EVENT, "/room", 42, data, &b) == SIO_OK);
    CHECK(dec_is(b.data, b.len, SIO_PKT_EVENT, "/room", 42,
                 "[\"ev\",{\"k\":[1,2.5,\"s\",null]},{\"_placeholder\":true,\"num\":0}]", "00ff"));
    sbuf_clear(&b);
    CHECK(sio_packet_encode_msgpack(SIO_PKT_ACK, "/", 9, data, &b) == SIO_OK);
    CHECK(dec_is(b.data, b.len, SIO_PKT_ACK, "/", 9,
                 "[\"ev\",{\"k\":[1,2.5,\"s\",null]},{\"_placeholder\":true,\"num\":0}]", "00ff"));
    sbuf_free(&b);
    cJSON_Delete(data);
}

int main(void) {
    test_encode();
    test_encode_errors();
    test_decode();
    test_decode_errors();
    test_round_trip();
    return CHECK_DONE();
}
