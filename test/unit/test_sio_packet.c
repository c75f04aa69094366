/* Socket.IO v5 packet codec and JSON printer. Wire examples come from the protocol
 * document and its test suite. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio/json.h"
#include "socketio/packet.h"
#include "sio/status.h"
#include "util/buf.h"

#define PH(n) "{\"_placeholder\":true,\"num\":" #n "}"

/* ---- helpers (return 1 on success and explain a mismatch on stderr) ---- */

static int json_is(const cJSON *item, const char *want) {
    sbuf b = SBUF_INIT;
    int rc = sio_json_print(item, &b, NULL, NULL);
    int ok = rc == SIO_OK && b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;
    if (!ok) fprintf(stderr, "  json: rc=%d got '%.*s' want '%s'\n", rc, (int)b.len, b.data, want);
    sbuf_free(&b);
    return ok;
}

static int number_is(double v, const char *want) {
    cJSON *n = cJSON_CreateNumber(v);
    int ok = json_is(n, want);
    cJSON_Delete(n);
    return ok;
}

/* Print the parsed form of `in` and compare with `want`. */
static int reprint_is(const char *in, const char *want) {
    cJSON *v = cJSON_Parse(in);
    if (!v) {
        fprintf(stderr, "  cannot parse '%s'\n", in);
        return 0;
    }
    int ok = json_is(v, want);
    cJSON_Delete(v);
    return ok;
}

static int bin_is(const cJSON *node, const void *bytes, size_t n) {
    size_t len;
    const uint8_t *p = sio_json_binary_data(node, &len);
    int ok = p && len == n && (n == 0 || memcmp(p, bytes, n) == 0);
    if (!ok) fprintf(stderr, "  binary mismatch (len %zu, want %zu)\n", p ? len : 0, n);
    return ok;
}

static int feed_str(sio_decoder *d, const char *s, sio_packet **out) {
    return sio_decoder_feed_text(d, s, strlen(s), out);
}

/* Decode one text packet with a fresh decoder and check every field. */
static int decodes_to(const char *in, sio_pkt_type type, const char *nsp, int64_t id,
                      const char *json) {
    sio_decoder d;
    sio_decoder_init(&d, 10);
    sio_packet *p = NULL;
    int rc = feed_str(&d, in, &p);
    int ok = rc == SIO_OK && p != NULL;
    if (!ok) fprintf(stderr, "  decode '%s': rc=%d packet=%p\n", in, rc, (void *)p);
    if (ok && (p->type != type || strcmp(p->nsp, nsp) != 0 || p->id != id)) {
        fprintf(stderr, "  decode '%s': type %d nsp '%s' id %lld\n", in, p->type, p->nsp,
                (long long)p->id);
        ok = 0;
    }
    if (ok && !json && p->data) {
        fprintf(stderr, "  decode '%s': unexpected data\n", in);
        ok = 0;
    }
    if (ok && json) ok = p->data && json_is(p->data, json);
    sio_packet_free(p);
    sio_decoder_reset(&d);
    return ok;
}

static int decode_fails(const char *in, int want) {
    sio_decoder d;
    sio_decoder_init(&d, 10);
    sio_packet *p = NULL;
    int rc = feed_str(&d, in, &p);
    int ok = rc == want && p == NULL;
    if (!ok) fprintf(stderr, "  decode '%s': rc=%d want %d\n", in, rc, want);
    sio_packet_free(p);
    sio_decoder_reset(&d);
    return ok;
}

/* Encode, then compare the text with `want`. */
static int encodes_to(sio_pkt_type type, const char *nsp, int64_t id, const char *json,
                      const char *want) {
    cJSON *data = json ? cJSON_Parse(json) : NULL;
    sbuf t = SBUF_INIT;
    sio_attachment_list bins = SIO_ATTACHMENT_LIST_INIT;
    int rc = sio_packet_encode(type, nsp, id, data, &t, &bins);
    int ok = rc == SIO_OK && bins.count == 0 && t.len == strlen(want) &&
             memcmp(t.data, want, t.len) == 0;
    if (!ok)
        fprintf(stderr, "  encode: rc=%d got '%.*s' want '%s'\n", rc, (int)t.len, t.data, want);
    sbuf_free(&t);
    sio_attachment_list_free(&bins);
    cJSON_Delete(data);
    return ok;
}

/* Encode `data`, decode the result (text then each attachment), and check that the decoded
 * packet prints the same and carries the same bytes. */
static int round_trip(sio_pkt_type type, const char *nsp, int64_t id, const cJSON *data,
                      const char *want_text, size_t want_bins) {
    sbuf t = SBUF_INIT, again = SBUF_INIT;
    sio_attachment_list bins = SIO_ATTACHMENT_LIST_INIT, bins2 = SIO_ATTACHMENT_LIST_INIT;
    sio_decoder d;
    sio_decoder_init(&d, 64);
    sio_packet *p = NULL;
    int ok = 0;
    int rc = sio_packet_encode(type, nsp, id, data, &t, &bins);
    if (rc != SIO_OK || bins.count != want_bins) {
        fprintf(stderr, "  round trip encode rc=%d bins=%zu\n", rc, bins.count);
        goto out;
    }
    if (want_text && (t.len != strlen(want_text) || memcmp(t.data, want_text, t.len) != 0)) {
        fprintf(stderr, "  round trip text '%.*s' want '%s'\n", (int)t.len, t.data, want_text);
        goto out;
    }
    rc = sio_decoder_feed_text(&d, (const char *)t.data, t.len, &p);
    if (rc != SIO_OK || (p != NULL) != (bins.count == 0)) goto fail;
    const sio_attachment *it = sio_attachment_list_items(&bins);
    for (size_t i = 0; i < bins.count; i++) {
        rc = sio_decoder_feed_binary(&d, it[i].data, it[i].len, &p);
        if (rc != SIO_OK || (p != NULL) != (i + 1 == bins.count)) goto fail;
    }
    sio_pkt_type base = type == SIO_PKT_BINARY_EVENT ? SIO_PKT_EVENT
                        : type == SIO_PKT_BINARY_ACK ? SIO_PKT_ACK
                                                     : type;
    if (p->type != base || strcmp(p->nsp, nsp ? nsp : "/") != 0 || p->id != (id < 0 ? -1 : id))
        goto fail;
    rc = sio_packet_encode(p->type, p->nsp, p->id, p->data, &again, &bins2);
    if (rc != SIO_OK || again.len != t.len || memcmp(again.data, t.data, t.len) != 0 ||
        bins2.count != bins.count)
        goto fail;
    const sio_attachment *it2 = sio_attachment_list_items(&bins2);
    for (size_t i = 0; i < bins.count; i++)
        if (it2[i].len != it[i].len || (it[i].len && memcmp(it2[i].data, it[i].data, it[i].len)))
            goto fail;
    ok = 1;
    goto out;
fail:
    fprintf(stderr, "  round trip of '%.*s' failed (rc=%d)\n", (int)t.len, t.data, rc);
out:
    sio_packet_free(p);
    sio_decoder_reset(&d);
    sbuf_free(&t);
    sbuf_free(&again);
    sio_attachment_list_free(&bins);
    sio_attachment_list_free(&bins2);
    return ok;
}

/* ---- JSON ---- */

static void test_json_binary_nodes(void) {
    static const uint8_t bytes[] = {1, 0, 2, 255};
    cJSON *b = sio_json_binary(bytes, sizeof bytes);
    CHECK(b && sio_json_is_binary(b));
    CHECK(bin_is(b, bytes, sizeof bytes));
    CHECK(cJSON_IsRaw(b));
    CHECK(sio_json_has_binary(b));
    CHECK(sio_json_count_binary(b) == 1);

    uint8_t *m = malloc(3);
    memcpy(m, "abc", 3);
    cJSON *t = sio_json_binary_take(m, 3);
    CHECK(bin_is(t, "abc", 3));

    cJSON *e = sio_json_binary(NULL, 0);
    CHECK(e && bin_is(e, "", 0));
    cJSON *e2 = sio_json_binary_take(NULL, 0);
    CHECK(e2 && bin_is(e2, "", 0));
    CHECK(sio_json_binary(NULL, 3) == NULL);
    CHECK(sio_json_binary_take(NULL, 3) == NULL);

    cJSON *s = cJSON_CreateString("x");
    size_t len = 99;
    CHECK(!sio_json_is_binary(s));
    CHECK(sio_json_binary_data(s, &len) == NULL && len == 0);
    CHECK(!sio_json_is_binary(NULL));
    cJSON *raw = cJSON_CreateRaw("1");
    CHECK(!sio_json_is_binary(raw));

    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, s);
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, obj);
    CHECK(!sio_json_has_binary(arr));
    cJSON_AddItemToObject(obj, "b", b);
    cJSON_AddItemToObject(obj, "t", t);
    CHECK(sio_json_has_binary(arr));
    CHECK(sio_json_count_binary(arr) == 2);
    CHECK(!sio_json_has_binary(NULL) && sio_json_count_binary(NULL) == 0);

    /* Turning a keyed object into a binary keeps its key and drops its children. */
    cJSON *o = cJSON_Parse("{\"k\":{\"deep\":[1,2,3]},\"z\":1}");
    uint8_t *m2 = malloc(2);
    memcpy(m2, "hi", 2);
    CHECK(sio_json_binary_set(cJSON_GetObjectItem(o, "k"), m2, 2) == SIO_OK);
    CHECK(bin_is(cJSON_GetObjectItem(o, "k"), "hi", 2));
    CHECK(json_is(o, "{\"k\":" PH(0) ",\"z\":1}"));
    CHECK(sio_json_binary_set(NULL, NULL, 0) == SIO_EINVAL);
    CHECK(sio_json_binary_set(o, NULL, 1) == SIO_EINVAL);

    cJSON_Delete(o);
    cJSON_Delete(raw);
    cJSON_Delete(e);
    cJSON_Delete(e2);
    cJSON_Delete(arr);
}

static void test_json_strings(void) {
    cJSON *s = cJSON_CreateString("q\" b\\ \b\f\n\r\t \x01\x1f\x7f/");
    CHECK(json_is(s, "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f\x7f/\""));
    cJSON_Delete(s);
    s = cJSON_CreateString("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK(json_is(s, "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""));
    cJSON_Delete(s);
    s = cJSON_CreateString("");
    CHECK(json_is(s, "\"\""));
    cJSON_Delete(s);
    /* \u escapes decode to UTF-8 and print raw; control characters come back escaped. */
    CHECK(reprint_is("[\"\\u00e9\\u20ac\\ud83d\\ude00\\u000b\\/\"]",
                     "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u000b/\"]"));
    CHECK(reprint_is("{\"a\\nb\":\"\\u001F\"}", "{\"a\\nb\":\"\\u001f\"}"));
}

static void test_json_numbers(void) {
    CHECK(number_is(1, "1"));
    CHECK(number_is(-0.0, "0"));
    CHECK(number_is(0, "0"));
    CHECK(number_is(-1, "-1"));
    CHECK(number_is(1.5, "1.5"));
    CHECK(number_is(-1.5, "-1.5"));
    CHECK(number_is(0.1, "0.1"));
    CHECK(number_is(0.1 + 0.2, "0.30000000000000004"));
    CHECK(number_is(4.35, "4.35"));
    CHECK(number_is(123.456, "123.456"));
    CHECK(number_is(1e21, "1e+21"));
    CHECK(number_is(1e20, "100000000000000000000"));
    CHECK(number_is(123456789012345680000.0, "123456789012345680000"));
    CHECK(number_is(9007199254740991.0, "9007199254740991"));
    CHECK(number_is(9007199254740992.0, "9007199254740992"));
    CHECK(number_is(-9007199254740993.0, "-9007199254740992"));
    CHECK(number_is(2147483648.0, "2147483648"));
    CHECK(number_is(1e-7, "1e-7"));
    CHECK(number_is(1.5e-7, "1.5e-7"));
    CHECK(number_is(1e-6, "0.000001"));
    CHECK(number_is(0.000001234, "0.000001234"));
    CHECK(number_is(1.5e300, "1.5e+300"));
    CHECK(number_is(-2.5e-300, "-2.5e-300"));
    CHECK(number_is(5e-324, "5e-324"));
    CHECK(number_is(1e-310, "1e-310"));
    CHECK(number_is(2.225073858507201e-308, "2.225073858507201e-308"));
    CHECK(number_is(2.2250738585072014e-308, "2.2250738585072014e-308"));
    CHECK(number_is(1.7976931348623157e308, "1.7976931348623157e+308"));
    CHECK(number_is(NAN, "null"));
    CHECK(number_is(INFINITY, "null"));
    CHECK(number_is(-INFINITY, "null"));
    CHECK(reprint_is("[1e400,-1e400,1E2,2.50,0.5e1]", "[null,null,100,2.5,5]"));
}

static void test_json_structure(void) {
    CHECK(reprint_is(" { \"b\" : 1 , \"a\" : { \"d\" : [ true , false , null ] , \"c\" : {} } ,"
                     " \"e\" : [ ] } ",
                     "{\"b\":1,\"a\":{\"d\":[true,false,null],\"c\":{}},\"e\":[]}"));
    /* JavaScript enumerates array-index keys first, ascending. */
    CHECK(reprint_is("{\"b\":1,\"10\":2,\"2\":3,\"01\":4,\"4294967295\":5,\"4294967294\":6,"
                     "\"-1\":7,\"0\":8}",
                     "{\"0\":8,\"2\":3,\"10\":2,\"4294967294\":6,\"b\":1,\"01\":4,"
                     "\"4294967295\":5,\"-1\":7}"));
    CHECK(reprint_is("{\"x\":{\"20\":1,\"19\":2,\"18\":3,\"17\":4,\"16\":5,\"15\":6,\"14\":7,"
                     "\"13\":8,\"12\":9,\"11\":10,\"10\":11,\"9\":12,\"8\":13,\"7\":14,\"6\":15,"
                     "\"5\":16,\"4\":17,\"3\":18}}",
                     "{\"x\":{\"3\":18,\"4\":17,\"5\":16,\"6\":15,\"7\":14,\"8\":13,\"9\":12,"
                     "\"10\":11,\"11\":10,\"12\":9,\"13\":8,\"14\":7,\"15\":6,\"16\":5,\"17\":4,"
                     "\"18\":3,\"19\":2,\"20\":1}}"));
    CHECK(reprint_is("\"top\"", "\"top\""));
    CHECK(reprint_is("true", "true"));

    cJSON *raw = cJSON_CreateArray();
    cJSON_AddItemToArray(raw, cJSON_CreateRaw("{\"pre\": 1}"));
    CHECK(json_is(raw, "[{\"pre\": 1}]"));
    cJSON_Delete(raw);

    cJSON *bad = cJSON_CreateNull();
    bad->type = cJSON_Invalid;
    sbuf b = SBUF_INIT;
    CHECK(sio_json_print(bad, &b, NULL, NULL) == SIO_EINVAL);
    CHECK(sio_json_print(NULL, &b, NULL, NULL) == SIO_EINVAL);
    cJSON_Delete(bad);
    sbuf_free(&b);
}

typedef struct seen {
    const cJSON *nodes[8];
    size_t idx[8];
    size_t n;
    int fail_at;
} seen;

static int record_binary(void *ud, const cJSON *node, size_t index) {
    seen *s = ud;
    if ((int)s->n == s->fail_at) return SIO_ETOOBIG;
    s->nodes[s->n] = node;
    s->idx[s->n++] = index;
    return SIO_OK;
}

static void test_json_placeholders(void) {
    cJSON *root = cJSON_CreateArray();
    cJSON *b0 = sio_json_binary("A", 1), *b1 = sio_json_binary("B", 1),
          *b2 = sio_json_binary("", 0);
    cJSON_AddItemToArray(root, cJSON_CreateString("ev"));
    cJSON_AddItemToArray(root, b0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "z", b1);
    cJSON_AddItemToObject(o, "1", b2); /* printed first: array-index key */
    cJSON_AddItemToArray(root, o);

    sbuf out = SBUF_INIT;
    seen s = {.fail_at = -1};
    CHECK(sio_json_print(root, &out, record_binary, &s) == SIO_OK);
    CHECK_MEM(out.data, out.len, "[\"ev\"," PH(0) ",{\"1\":" PH(1) ",\"z\":" PH(2) "}]");
    CHECK(s.n == 3 && s.nodes[0] == b0 && s.nodes[1] == b2 && s.nodes[2] == b1);
    CHECK(s.idx[0] == 0 && s.idx[1] == 1 && s.idx[2] == 2);

    sbuf_clear(&out);
    CHECK(sio_json_print(root, &out, NULL, NULL) == SIO_OK);
    CHECK_MEM(out.data, out.len, "[\"ev\"," PH(0) ",{\"1\":" PH(1) ",\"z\":" PH(2) "}]");

    sbuf_clear(&out);
    seen f = {.fail_at = 1};
    CHECK(sio_json_print(root, &out, record_binary, &f) == SIO_ETOOBIG);
    sbuf_free(&out);
    cJSON_Delete(root);
}

/* ---- decoding ---- */

static void test_decode_plain(void) {
    CHECK(decodes_to("0", SIO_PKT_CONNECT, "/", -1, NULL));
    CHECK(decodes_to("0/admin,", SIO_PKT_CONNECT, "/admin", -1, NULL));
    CHECK(decodes_to("0/random", SIO_PKT_CONNECT, "/random", -1, NULL));
    CHECK(decodes_to("0{\"token\":\"123\"}", SIO_PKT_CONNECT, "/", -1, "{\"token\":\"123\"}"));
    CHECK(decodes_to("0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", SIO_PKT_CONNECT, "/admin", -1,
                     "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}"));
    CHECK(decodes_to("0/,{}", SIO_PKT_CONNECT, "/", -1, "{}"));
    CHECK(decodes_to("1", SIO_PKT_DISCONNECT, "/", -1, NULL));
    CHECK(decodes_to("1/admin,", SIO_PKT_DISCONNECT, "/admin", -1, NULL));
    CHECK(decodes_to("1/custom", SIO_PKT_DISCONNECT, "/custom", -1, NULL));
    CHECK(decodes_to("2[\"foo\"]", SIO_PKT_EVENT, "/", -1, "[\"foo\"]"));
    CHECK(decodes_to("2/admin,[\"bar\"]", SIO_PKT_EVENT, "/admin", -1, "[\"bar\"]"));
    CHECK(decodes_to("212[\"foo\"]", SIO_PKT_EVENT, "/", 12, "[\"foo\"]"));
    CHECK(decodes_to("2/admin,1[\"tellme\"]", SIO_PKT_EVENT, "/admin", 1, "[\"tellme\"]"));
    CHECK(decodes_to("2[\"message\",1,\"2\",{\"3\":[true]}]", SIO_PKT_EVENT, "/", -1,
                     "[\"message\",1,\"2\",{\"3\":[true]}]"));
    CHECK(decodes_to("2[42,\"x\"]", SIO_PKT_EVENT, "/", -1, "[42,\"x\"]"));
    CHECK(decodes_to("2[\"connected\"]", SIO_PKT_EVENT, "/", -1, "[\"connected\"]"));
    CHECK(decodes_to("2 [\"a\"] \r\n", SIO_PKT_EVENT, "/", -1, "[\"a\"]"));
    CHECK(decodes_to("2007[\"a\"]", SIO_PKT_EVENT, "/", 7, "[\"a\"]"));
    CHECK(decodes_to("2/a/b.c-d_é,5[\"x\"]", SIO_PKT_EVENT, "/a/b.c-d_é", 5, "[\"x\"]"));
    CHECK(decodes_to("2123456789012345[\"a\"]", SIO_PKT_EVENT, "/", 123456789012345LL, "[\"a\"]"));
    CHECK(decodes_to("3/admin,13[\"bar\"]", SIO_PKT_ACK, "/admin", 13, "[\"bar\"]"));
    CHECK(decodes_to("3456[1,\"2\",{\"3\":[false]}]", SIO_PKT_ACK, "/", 456,
                     "[1,\"2\",{\"3\":[false]}]"));
    CHECK(decodes_to("312[]", SIO_PKT_ACK, "/", 12, "[]"));
    CHECK(decodes_to("30[\"connect\"]", SIO_PKT_ACK, "/", 0, "[\"connect\"]"));
    CHECK(decodes_to("4{\"message\":\"Not authorized\"}", SIO_PKT_CONNECT_ERROR, "/", -1,
                     "{\"message\":\"Not authorized\"}"));
    CHECK(decodes_to("4/random,{\"message\":\"Invalid namespace\"}", SIO_PKT_CONNECT_ERROR,
                     "/random", -1, "{\"message\":\"Invalid namespace\"}"));
    CHECK(decodes_to("4\"nope\"", SIO_PKT_CONNECT_ERROR, "/", -1, "\"nope\""));
    /* Only binary packet types have placeholders replaced. */
    CHECK(decodes_to("2[\"a\"," PH(0) "]", SIO_PKT_EVENT, "/", -1, "[\"a\"," PH(0) "]"));
}

static void test_decode_errors(void) {
    /* unknown type */
    CHECK(decode_fails("", SIO_EPARSE));
    CHECK(decode_fails("7[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("9", SIO_EPARSE));
    CHECK(decode_fails("a", SIO_EPARSE));
    CHECK(decode_fails("-1", SIO_EPARSE));
    CHECK(decode_fails("4abc", SIO_EPARSE));
    /* bad attachment count */
    CHECK(decode_fails("5[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("5-[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("50-[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("51[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("51", SIO_EPARSE));
    CHECK(decode_fails("5a-[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("5 1-[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("6x-1[]", SIO_EPARSE));
    /* too many attachments (limit 10 in these helpers) */
    CHECK(decode_fails("511-[\"a\"]", SIO_ETOOBIG));
    CHECK(decode_fails("699999999999999999999999999-1[]", SIO_ETOOBIG));
    /* invalid JSON and trailing garbage */
    CHECK(decode_fails("2[\"a\"", SIO_EPARSE));
    CHECK(decode_fails("2[\"a\",]", SIO_EPARSE));
    CHECK(decode_fails("2{", SIO_EPARSE));
    CHECK(decode_fails("2[\"a\"]x", SIO_EPARSE));
    CHECK(decode_fails("2[\"a\"]]", SIO_EPARSE));
    CHECK(decode_fails("2[\"a\"][\"b\"]", SIO_EPARSE));
    CHECK(decode_fails("2abc[\"message-with-ack\"]", SIO_EPARSE));
    CHECK(decode_fails("2 ", SIO_EPARSE));
    CHECK(decode_fails("2\xef\xbb\xbf[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("2\x01[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("0/admin,{\"a\":1", SIO_EPARSE));
    /* wrong payload shape per type */
    CHECK(decode_fails("0[]", SIO_EPARSE));
    CHECK(decode_fails("0\"x\"", SIO_EPARSE));
    CHECK(decode_fails("0null", SIO_EPARSE));
    CHECK(decode_fails("1{}", SIO_EPARSE));
    CHECK(decode_fails("1[]", SIO_EPARSE));
    CHECK(decode_fails("1/admin,null", SIO_EPARSE));
    /* A payload is checked only when present, as the reference parser does. */
    CHECK(decodes_to("2", SIO_PKT_EVENT, "/", -1, NULL));
    CHECK(decode_fails("2{}", SIO_EPARSE));
    CHECK(decode_fails("2[]", SIO_EPARSE));
    CHECK(decode_fails("2\"a\"", SIO_EPARSE));
    CHECK(decode_fails("2[{}]", SIO_EPARSE));
    CHECK(decode_fails("2[null]", SIO_EPARSE));
    CHECK(decode_fails("2[true,\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("2[[\"a\"]]", SIO_EPARSE));
    CHECK(decode_fails("2[1e400]", SIO_EPARSE));
    /* without a comma the rest is the namespace, and there is no payload */
    CHECK(decodes_to("2/admin", SIO_PKT_EVENT, "/admin", -1, NULL));
    CHECK(decodes_to("2/admin[\"a\"]", SIO_PKT_EVENT, "/admin[\"a\"]", -1, NULL));
    CHECK(decodes_to("3", SIO_PKT_ACK, "/", -1, NULL));
    CHECK(decodes_to("31", SIO_PKT_ACK, "/", 1, NULL));
    CHECK(decode_fails("31{}", SIO_EPARSE));
    CHECK(decode_fails("31\"a\"", SIO_EPARSE));
    CHECK(decodes_to("4", SIO_PKT_CONNECT_ERROR, "/", -1, NULL));
    CHECK(decode_fails("4[]", SIO_EPARSE));
    CHECK(decodes_to("412", SIO_PKT_CONNECT_ERROR, "/", 12, NULL));
    /* binary packets need the payload that holds their placeholders */
    CHECK(decode_fails("51-", SIO_EPARSE));
    CHECK(decode_fails("61-", SIO_EPARSE));
    CHECK(decode_fails("61-3", SIO_EPARSE));
    CHECK(decode_fails("4null", SIO_EPARSE));
    CHECK(decode_fails("51-{}", SIO_EPARSE));
    CHECK(decode_fails("51-[" PH(0) "]", SIO_EPARSE));
    /* reserved event names */
    static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                           "disconnecting", "newListener",   "removeListener"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        char buf[96];
        snprintf(buf, sizeof buf, "2[\"%s\",1]", reserved[i]);
        CHECK(decode_fails(buf, SIO_EPARSE));
        snprintf(buf, sizeof buf, "2/nsp,3[\"%s\"]", reserved[i]);
        CHECK(decode_fails(buf, SIO_EPARSE));
        snprintf(buf, sizeof buf, "51-[\"%s\"," PH(0) "]", reserved[i]);
        CHECK(decode_fails(buf, SIO_EPARSE));
    }
    /* an ack without id decodes (the reference ignores it above the parser) */
    CHECK(decodes_to("3[\"a\"]", SIO_PKT_ACK, "/", -1, "[\"a\"]"));
    CHECK(decodes_to("3/admin,[]", SIO_PKT_ACK, "/admin", -1, "[]"));
    /* too many digits in the id */
    CHECK(decode_fails("21234567890123456[\"a\"]", SIO_EPARSE));
    CHECK(decode_fails("399999999999999999999999[]", SIO_EPARSE));
    /* bad placeholders */
    CHECK(decode_fails("51-[\"a\",{\"_placeholder\":true,\"num\":1}]", SIO_EPARSE));
    CHECK(decode_fails("51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", SIO_EPARSE));
    CHECK(decode_fails("52-[\"a\",{\"_placeholder\":true,\"num\":0.5}]", SIO_EPARSE));
    CHECK(decode_fails("51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]", SIO_EPARSE));
    CHECK(decode_fails("51-[\"a\",{\"_placeholder\":true}]", SIO_EPARSE));
    CHECK(decode_fails("51-[\"a\",{\"_placeholder\":true,\"num\":1e300}]", SIO_EPARSE));
    CHECK(decode_fails("52-[\"a\"," PH(0) "," PH(0) "]", SIO_EPARSE));
    CHECK(decode_fails("61-3[{\"x\":[" PH(2) "]}]", SIO_EPARSE));
    /* NUL bytes never reach cJSON or the namespace */
    sio_decoder d;
    sio_decoder_init(&d, 10);
    sio_packet *p = (sio_packet *)&d;
    CHECK(sio_decoder_feed_text(&d, "2[\"a\0b\"]", 8, &p) == SIO_EPARSE && p == NULL);
    CHECK(sio_decoder_feed_text(&d, "2/a\0,[\"a\"]", 10, &p) == SIO_EPARSE);
    CHECK(sio_decoder_feed_text(&d, NULL, 0, &p) == SIO_EPARSE);
    CHECK(sio_decoder_feed_text(&d, "2[\"a\"]", 6, NULL) == SIO_EINVAL);
    sio_decoder_reset(&d);
}

static void test_decode_binary(void) {
    sio_decoder d;
    sio_decoder_init(&d, 10);
    sio_packet *p = NULL;
    static const uint8_t b1234[] = {1, 2, 3, 4};

    CHECK(feed_str(&d, "51-[\"baz\"," PH(0) "]", &p) == SIO_OK && p == NULL);
    CHECK(sio_decoder_feed_binary(&d, b1234, 4, &p) == SIO_OK && p != NULL);
    if (p) {
        CHECK(p->type == SIO_PKT_EVENT && strcmp(p->nsp, "/") == 0 && p->id == -1);
        CHECK(cJSON_GetArraySize(p->data) == 2);
        CHECK(bin_is(cJSON_GetArrayItem(p->data, 1), b1234, 4));
        CHECK(json_is(p->data, "[\"baz\"," PH(0) "]"));
    }
    sio_packet_free(p);
    p = NULL;

    /* multiple attachments, namespace, ack id, one per message */
    CHECK(feed_str(&d, "52-/admin,789[\"baz\"," PH(0) "," PH(1) "]", &p) == SIO_OK && !p);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"\x01\x02", 2, &p) == SIO_OK && !p);
    /* text while attachments are awaited is an error and keeps the partial packet */
    CHECK(feed_str(&d, "2[\"a\"]", &p) == SIO_EPARSE && !p);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"\x03\x04", 2, &p) == SIO_OK && p);
    if (p) {
        CHECK(p->type == SIO_PKT_EVENT && strcmp(p->nsp, "/admin") == 0 && p->id == 789);
        CHECK(bin_is(cJSON_GetArrayItem(p->data, 1), "\x01\x02", 2));
        CHECK(bin_is(cJSON_GetArrayItem(p->data, 2), "\x03\x04", 2));
    }
    sio_packet_free(p);
    p = NULL;

    /* binary ack, placeholder nested in an object, zero-length attachment */
    CHECK(feed_str(&d, "61-15[\"bar\",{\"x\":{\"y\":[" PH(0) "]}}]", &p) == SIO_OK && !p);
    CHECK(sio_decoder_feed_binary(&d, NULL, 0, &p) == SIO_OK && p);
    if (p) {
        CHECK(p->type == SIO_PKT_ACK && p->id == 15);
        cJSON *y =
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(p->data, 1), "x"), "y");
        CHECK(bin_is(cJSON_GetArrayItem(y, 0), "", 0));
        CHECK(json_is(p->data, "[\"bar\",{\"x\":{\"y\":[" PH(0) "]}}]"));
    }
    sio_packet_free(p);
    p = NULL;

    /* placeholders in reverse order: attachment N goes where num N is */
    CHECK(feed_str(&d, "52-[\"r\"," PH(1) "," PH(0) "]", &p) == SIO_OK);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"first", 5, &p) == SIO_OK && !p);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"second", 6, &p) == SIO_OK && p);
    if (p) {
        CHECK(bin_is(cJSON_GetArrayItem(p->data, 1), "second", 6));
        CHECK(bin_is(cJSON_GetArrayItem(p->data, 2), "first", 5));
    }
    sio_packet_free(p);
    p = NULL;

    /* an attachment nobody refers to is dropped; extra keys do not stop a placeholder;
     * a false _placeholder is just an object */
    CHECK(feed_str(&d,
                   "53-[\"u\",{\"num\":2,\"_placeholder\":true,\"extra\":1},"
                   "{\"_placeholder\":false,\"num\":0}]",
                   &p) == SIO_OK);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"a", 1, &p) == SIO_OK && !p);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"b", 1, &p) == SIO_OK && !p);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"c", 1, &p) == SIO_OK && p);
    if (p) {
        CHECK(bin_is(cJSON_GetArrayItem(p->data, 1), "c", 1));
        CHECK(json_is(p->data, "[\"u\"," PH(0) ",{\"_placeholder\":false,\"num\":0}]"));
        CHECK(sio_json_count_binary(p->data) == 1);
    }
    sio_packet_free(p);
    p = NULL;

    /* binary while nothing is awaited */
    CHECK(sio_decoder_feed_binary(&d, b1234, 4, &p) == SIO_EPARSE && !p);
    CHECK(sio_decoder_feed_binary(&d, b1234, 4, NULL) == SIO_EINVAL);

    /* reset drops a partial packet and the decoder works again */
    CHECK(feed_str(&d, "52-[\"x\"," PH(0) "," PH(1) "]", &p) == SIO_OK && !p);
    CHECK(sio_decoder_feed_binary(&d, b1234, 4, &p) == SIO_OK && !p);
    sio_decoder_reset(&d);
    CHECK(sio_decoder_feed_binary(&d, b1234, 4, &p) == SIO_EPARSE);
    CHECK(feed_str(&d, "2[\"after\"]", &p) == SIO_OK && p);
    sio_packet_free(p);
    p = NULL;

    /* a failed binary header leaves nothing pending */
    CHECK(feed_str(&d, "52-[\"x\"," PH(0) "," PH(0) "]", &p) == SIO_EPARSE);
    CHECK(sio_decoder_feed_binary(&d, b1234, 4, &p) == SIO_EPARSE);

    /* the limit applies exactly */
    sio_decoder_init(&d, 2);
    CHECK(feed_str(&d, "52-[\"x\"]", &p) == SIO_OK && !p);
    sio_decoder_reset(&d);
    CHECK(feed_str(&d, "53-[\"x\"]", &p) == SIO_ETOOBIG);
    sio_decoder_init(&d, 0);
    CHECK(feed_str(&d, "51-[\"x\"]", &p) == SIO_ETOOBIG);
    sio_decoder_reset(&d);
}

/* ---- encoding ---- */

static void test_encode_plain(void) {
    CHECK(encodes_to(SIO_PKT_CONNECT, "/", -1, NULL, "0"));
    CHECK(encodes_to(SIO_PKT_CONNECT, NULL, -1, NULL, "0"));
    CHECK(encodes_to(SIO_PKT_CONNECT, "/admin", -1, "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}",
                     "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}"));
    CHECK(encodes_to(SIO_PKT_DISCONNECT, "/", -1, NULL, "1"));
    CHECK(encodes_to(SIO_PKT_DISCONNECT, "/admin", -1, NULL, "1/admin,"));
    CHECK(encodes_to(SIO_PKT_EVENT, "/", -1, "[\"foo\"]", "2[\"foo\"]"));
    CHECK(encodes_to(SIO_PKT_EVENT, "/admin", -1, "[\"bar\"]", "2/admin,[\"bar\"]"));
    CHECK(encodes_to(SIO_PKT_EVENT, "/", 12, "[\"foo\"]", "212[\"foo\"]"));
    CHECK(encodes_to(SIO_PKT_EVENT, "/", 0, "[\"foo\"]", "20[\"foo\"]"));
    CHECK(encodes_to(SIO_PKT_ACK, "/admin", 13, "[\"bar\"]", "3/admin,13[\"bar\"]"));
    CHECK(encodes_to(SIO_PKT_ACK, "/", 999999999999999LL, "[]", "3999999999999999[]"));
    CHECK(encodes_to(SIO_PKT_CONNECT_ERROR, "/", -1, "{\"message\":\"Not authorized\"}",
                     "4{\"message\":\"Not authorized\"}"));
    CHECK(encodes_to(SIO_PKT_CONNECT_ERROR, "/random", -1, "{\"message\":\"Invalid namespace\"}",
                     "4/random,{\"message\":\"Invalid namespace\"}"));
    /* binary types without binary data are demoted, so the output stays decodable */
    CHECK(encodes_to(SIO_PKT_BINARY_EVENT, "/", -1, "[\"a\"]", "2[\"a\"]"));
    CHECK(encodes_to(SIO_PKT_BINARY_ACK, "/", 4, "[]", "34[]"));

    /* output is appended, e.g. after the Engine.IO message prefix */
    sbuf t = SBUF_INIT;
    sbuf_putc(&t, '4');
    cJSON *data = cJSON_Parse("[\"hey\",\"Jude\"]");
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/", -1, data, &t, NULL) == SIO_OK);
    CHECK_MEM(t.data, t.len, "42[\"hey\",\"Jude\"]");

    /* invalid arguments leave the buffer as it was */
    sbuf_clear(&t);
    sbuf_putc(&t, '4');
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "admin", -1, data, &t, NULL) == SIO_EINVAL);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/a,b", -1, data, &t, NULL) == SIO_EINVAL);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "", -1, data, &t, NULL) == SIO_EINVAL);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/", 1000000000000000LL, data, &t, NULL) == SIO_EINVAL);
    CHECK(sio_packet_encode((sio_pkt_type)7, "/", -1, data, &t, NULL) == SIO_EINVAL);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/", -1, data, NULL, NULL) == SIO_EINVAL);
    CHECK_MEM(t.data, t.len, "4");

    /* a callback failure (here: a raw node with no text) also restores the buffer */
    cJSON *broken = cJSON_CreateArray();
    cJSON_AddItemToArray(broken, cJSON_CreateString("e"));
    cJSON *r = cJSON_CreateNull();
    r->type = cJSON_Raw;
    cJSON_AddItemToArray(broken, r);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/x", 3, broken, &t, NULL) == SIO_EINVAL);
    CHECK_MEM(t.data, t.len, "4");
    cJSON_Delete(broken);
    cJSON_Delete(data);
    sbuf_free(&t);
}

static void test_encode_binary(void) {
    static const uint8_t b1234[] = {1, 2, 3, 4};
    sbuf t = SBUF_INIT;
    sio_attachment_list bins;
    sio_attachment_list_init(&bins);

    cJSON *data = cJSON_CreateArray();
    cJSON_AddItemToArray(data, cJSON_CreateString("baz"));
    cJSON *bin = sio_json_binary(b1234, 4);
    cJSON_AddItemToArray(data, bin);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/", -1, data, &t, &bins) == SIO_OK);
    CHECK_MEM(t.data, t.len, "51-[\"baz\"," PH(0) "]");
    CHECK(bins.count == 1);
    const sio_attachment *it = sio_attachment_list_items(&bins);
    /* attachments point into the tree rather than copying */
    CHECK(it[0].len == 4 && it[0].data == sio_json_binary_data(bin, NULL));

    sbuf_clear(&t);
    CHECK(sio_packet_encode(SIO_PKT_ACK, "/admin", 15, data, &t, &bins) == SIO_OK);
    CHECK_MEM(t.data, t.len, "61-/admin,15[\"baz\"," PH(0) "]");
    CHECK(bins.count == 1);

    /* explicit binary types are kept */
    sbuf_clear(&t);
    CHECK(sio_packet_encode(SIO_PKT_BINARY_ACK, "/", 1, data, &t, &bins) == SIO_OK);
    CHECK_MEM(t.data, t.len, "61-1[\"baz\"," PH(0) "]");

    /* binary data needs an attachment list and a type that can carry it */
    sbuf_clear(&t);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/", -1, data, &t, NULL) == SIO_EINVAL);
    CHECK(sio_packet_encode(SIO_PKT_CONNECT_ERROR, "/", -1, data, &t, &bins) == SIO_EINVAL);
    CHECK(sio_packet_encode(SIO_PKT_CONNECT, "/", -1, data, &t, &bins) == SIO_EINVAL);
    CHECK(t.len == 0 && bins.count == 0);

    /* two attachments in document order */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "b", sio_json_binary("xy", 2));
    cJSON_AddItemToArray(data, o);
    sbuf_clear(&t);
    CHECK(sio_packet_encode(SIO_PKT_EVENT, "/admin", -1, data, &t, &bins) == SIO_OK);
    CHECK_MEM(t.data, t.len, "52-/admin,[\"baz\"," PH(0) ",{\"b\":" PH(1) "}]");
    it = sio_attachment_list_items(&bins);
    CHECK(bins.count == 2 && it[1].len == 2 && memcmp(it[1].data, "xy", 2) == 0);

    sio_attachment_list_free(&bins);
    cJSON_Delete(data);
    sbuf_free(&t);
}

/* ---- round trips ---- */

static void test_round_trips(void) {
    cJSON *v = cJSON_Parse("{\"token\":\"123\",\"n\":[1,2.5,-3e-9]}");
    CHECK(round_trip(SIO_PKT_CONNECT, "/admin", -1, v,
                     "0/admin,{\"token\":\"123\",\"n\":[1,2.5,-3e-9]}", 0));
    CHECK(round_trip(SIO_PKT_CONNECT, "/", -1, NULL, "0", 0));
    CHECK(round_trip(SIO_PKT_DISCONNECT, "/chat", -1, NULL, "1/chat,", 0));
    CHECK(round_trip(SIO_PKT_CONNECT_ERROR, "/", -1, v, NULL, 0));
    cJSON_Delete(v);

    v = cJSON_Parse("[\"m\",\"\\u0001\\\"\\\\\",{\"1\":null,\"a\":[true,false]},0.1]");
    CHECK(round_trip(SIO_PKT_EVENT, "/", 7, v, NULL, 0));
    CHECK(round_trip(SIO_PKT_ACK, "/n", 0, v, NULL, 0));
    cJSON_Delete(v);

    /* binary event and binary ack: the server sending, then the same bytes decoded */
    v = cJSON_CreateArray();
    cJSON_AddItemToArray(v, cJSON_CreateString("upload"));
    cJSON_AddItemToArray(v, sio_json_binary("\x00\xff\x10", 3));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "thumb", sio_json_binary("", 0));
    cJSON_AddItemToObject(o, "name", cJSON_CreateString("a.png"));
    cJSON_AddItemToArray(v, o);
    CHECK(round_trip(SIO_PKT_EVENT, "/files", 42, v,
                     "52-/files,42[\"upload\"," PH(0) ",{\"thumb\":" PH(1) ",\"name\":\"a.png\"}]",
                     2));
    CHECK(round_trip(SIO_PKT_ACK, "/", 9, v, NULL, 2));
    cJSON_Delete(v);

    /* more attachments than the inline arrays hold */
    v = cJSON_CreateArray();
    cJSON_AddItemToArray(v, cJSON_CreateString("many"));
    for (int i = 0; i < 40; i++) {
        uint8_t b[3] = {(uint8_t)i, (uint8_t)(i * 7), 0};
        cJSON_AddItemToArray(v, sio_json_binary(b, (size_t)(i % 3)));
    }
    CHECK(round_trip(SIO_PKT_EVENT, "/", -1, v, NULL, 40));
    CHECK(round_trip(SIO_PKT_ACK, "/", 1, v, NULL, 40));
    cJSON_Delete(v);

    /* a client-side binary packet decoded, then re-encoded by us */
    sio_decoder d;
    sio_decoder_init(&d, 10);
    sio_packet *p = NULL;
    CHECK(feed_str(&d, "52-789[\"message-with-ack\"," PH(0) "," PH(1) "]", &p) == SIO_OK);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"\1\2\3", 3, &p) == SIO_OK && !p);
    CHECK(sio_decoder_feed_binary(&d, (const uint8_t *)"\4\5\6", 3, &p) == SIO_OK && p);
    if (p) {
        cJSON *args = cJSON_CreateArray();
        /* reply with the attachments only, as an ack: the test suite's expectation */
        cJSON_AddItemToArray(args, cJSON_DetachItemFromArray(p->data, 1));
        cJSON_AddItemToArray(args, cJSON_DetachItemFromArray(p->data, 1));
        sbuf t = SBUF_INIT;
        sio_attachment_list bins = SIO_ATTACHMENT_LIST_INIT;
        CHECK(sio_packet_encode(SIO_PKT_ACK, p->nsp, p->id, args, &t, &bins) == SIO_OK);
        CHECK_MEM(t.data, t.len, "62-789[" PH(0) "," PH(1) "]");
        const sio_attachment *it = sio_attachment_list_items(&bins);
        CHECK(bins.count == 2 && it[0].len == 3 && memcmp(it[0].data, "\1\2\3", 3) == 0 &&
              it[1].len == 3 && memcmp(it[1].data, "\4\5\6", 3) == 0);
        sbuf_free(&t);
        sio_attachment_list_free(&bins);
        cJSON_Delete(args);
    }
    sio_packet_free(p);
    sio_decoder_reset(&d);
}

/* U+0000 inside strings (values and member names) survives decode + encode. */
static void test_nul_in_strings(void) {
    static const char *const in[] = {
        "2[\"echo\",\"before\\u0000after\",{\"k\\u0000\":\"\\u0000\"}]",
        "2[\"a\",\"\\u0000\\u0000x\\u00001\"]",
        "21[\"e\",\"no nul, \\u0001 escaped\"]",
    };
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        sio_decoder d;
        sio_decoder_init(&d, 4);
        sio_packet *p = NULL;
        CHECK(feed_str(&d, in[i], &p) == SIO_OK && p);
        if (p) {
            sbuf out = SBUF_INIT;
            CHECK(sio_packet_encode(p->type, p->nsp, p->id, p->data, &out, NULL) == SIO_OK);
            CHECK_MEM(out.data, out.len, in[i]);
            sbuf_free(&out);
        }
        sio_packet_free(p);
        sio_decoder_reset(&d);
    }
    /* The stand-in must not be ambiguous: U+FDD0 next to \u0000 is refused. */
    CHECK(decode_fails("2[\"a\",\"\\u0000\\ufdd0\"]", SIO_EPARSE));
    CHECK(decode_fails("2[\"a\",\"\\u0000\xef\xb7\x90\"]", SIO_EPARSE));
    /* Without U+0000 a literal U+FDD0 is an ordinary character. */
    CHECK(decodes_to("2[\"a\",\"\xef\xb7\x90\"]", SIO_PKT_EVENT, "/", -1,
                     "[\"a\",\"\xef\xb7\x90\"]"));
}

int main(void) {
    test_nul_in_strings();
    test_json_binary_nodes();
    test_json_strings();
    test_json_numbers();
    test_json_structure();
    test_json_placeholders();
    test_decode_plain();
    test_decode_errors();
    test_decode_binary();
    test_encode_plain();
    test_encode_binary();
    test_round_trips();
    return CHECK_DONE();
}
