/* Engine.IO v4 packet codec: single text packets, the long-polling payload
 * (packets joined by 0x1e, binary as 'b' + base64) and base64. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eio/packet.h"
#include "util/base64.h"
#include "sio/status.h"
#include "util/buf.h"

#define RS "\x1e"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* ---- eio_decode_text ---- */

static int decodes(const char *in, eio_ptype type, const char *data) {
    eio_packet p;
    size_t n = strlen(in);
    memset(&p, 0xa5, sizeof p);
    int rc = eio_decode_text((const uint8_t *)in, n, &p);
    int ok = rc == SIO_OK && p.type == type && p.binary == 0 && p.len == strlen(data) &&
             p.data == (const uint8_t *)in + 1 && memcmp(p.data, data, p.len) == 0;
    if (!ok) fprintf(stderr, "  decode '%s': rc=%d type=%d len=%zu\n", in, rc, p.type, p.len);
    return ok;
}

static void test_decode_text(void) {
    CHECK(decodes("0{\"sid\":\"abc\"}", EIO_OPEN, "{\"sid\":\"abc\"}"));
    CHECK(decodes("0", EIO_OPEN, ""));
    CHECK(decodes("1", EIO_CLOSE, ""));
    CHECK(decodes("2", EIO_PING, ""));
    CHECK(decodes("2probe", EIO_PING, "probe"));
    CHECK(decodes("3", EIO_PONG, ""));
    CHECK(decodes("3probe", EIO_PONG, "probe"));
    CHECK(decodes("4", EIO_MESSAGE, ""));
    CHECK(decodes("4hello", EIO_MESSAGE, "hello"));
    CHECK(decodes("4\xe2\x82\xac 5", EIO_MESSAGE, "\xe2\x82\xac 5"));
    CHECK(decodes("44", EIO_MESSAGE, "4"));
    CHECK(decodes("5", EIO_UPGRADE, ""));
    CHECK(decodes("6", EIO_NOOP, ""));

    /* Bytes after the type are data, whatever they are (NUL included). */
    static const uint8_t bin[] = {'4', 0, 0xff, 0x1e, 'x'};
    eio_packet p;
    CHECK(eio_decode_text(bin, sizeof bin, &p) == SIO_OK);
    CHECK(p.type == EIO_MESSAGE && p.len == 4 && p.data == bin + 1);

    /* Only the first byte is looked at: the rest may be anything. */
    static const char *bad[] = {"7", "8", "9", "/", ":", "a", "b", "bAQID", " 4", "-1", "x4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = eio_decode_text((const uint8_t *)bad[i], strlen(bad[i]), &p);
        if (rc != SIO_EPARSE) fprintf(stderr, "  '%s' decoded (rc=%d)\n", bad[i], rc);
        CHECK(rc == SIO_EPARSE);
    }
    uint8_t c = 0;
    CHECK(eio_decode_text(&c, 1, &p) == SIO_EPARSE);
    c = 0xff;
    CHECK(eio_decode_text(&c, 1, &p) == SIO_EPARSE);
    c = '0' + 7;
    CHECK(eio_decode_text(&c, 1, &p) == SIO_EPARSE);
    CHECK(eio_decode_text((const uint8_t *)"", 0, &p) == SIO_EPARSE);
    CHECK(eio_decode_text((const uint8_t *)"4x", 0, &p) == SIO_EPARSE);

    /* Every byte value: exactly '0'..'6' are types. */
    int accepted = 0;
    for (int b = 0; b < 256; b++) {
        uint8_t in[2] = {(uint8_t)b, 'z'};
        if (eio_decode_text(in, 2, &p) == SIO_OK) {
            accepted++;
            CHECK(b >= '0' && b <= '6' && (int)p.type == b - '0');
        }
    }
    CHECK(accepted == 7);
}

/* ---- eio_payload_next ---- */

/* A decoded packet as text: "<type>:<data>" for text, "b:<hex>" for binary. */
typedef struct expect {
    eio_ptype type;
    int binary;
    const char *data; /* for binary: the raw bytes (may hold NULs: use dlen) */
    size_t dlen;
} expect;

#define T(type, s)                                                                                 \
    { type, 0, s, sizeof(s) - 1 }
#define B(s)                                                                                       \
    { EIO_MESSAGE, 1, s, sizeof(s) - 1 }
#define END_OK       0
#define END_PARSE    SIO_EPARSE
#define PAYLOAD(lit) (const uint8_t *)(lit), sizeof(lit) - 1

/* Iterate over the payload; the packets must match `want` and iteration must
 * end with `end` (0: exhausted, i.e. eio_payload_next returned 1). */
static int payload_is(const uint8_t *p, size_t n, const expect *want, size_t nwant, int end) {
    sbuf scratch = SBUF_INIT;
    /* An exact-size copy, so that ASan sees any read past the end. */
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    size_t pos = 0, got = 0;
    int ok = 1, rc;
    for (;;) {
        eio_packet pk;
        memset(&pk, 0, sizeof pk);
        rc = eio_payload_next(copy, n, &pos, &pk, &scratch);
        if (rc != SIO_OK) break;
        if (got >= nwant) {
            fprintf(stderr, "  extra packet %zu (type %d)\n", got, pk.type);
            ok = 0;
            break;
        }
        const expect *w = &want[got];
        if (pk.type != w->type || pk.binary != w->binary || pk.len != w->dlen ||
            (pk.len && memcmp(pk.data, w->data, pk.len) != 0)) {
            fprintf(stderr, "  packet %zu: type %d binary %d len %zu (want %d %d %zu)\n", got,
                    pk.type, pk.binary, pk.len, w->type, w->binary, w->dlen);
            ok = 0;
        }
        if (!pk.binary && pk.len && (pk.data < copy || pk.data + pk.len > copy + n)) {
            fprintf(stderr, "  packet %zu: text data outside the input\n", got);
            ok = 0;
        }
        if (pk.binary && pk.len && pk.data != scratch.data) {
            fprintf(stderr, "  packet %zu: binary data not in the scratch buffer\n", got);
            ok = 0;
        }
        got++;
        if (got > n + 2) {
            fprintf(stderr, "  iteration does not end\n");
            ok = 0;
            break;
        }
    }
    int want_rc = end == END_OK ? 1 : end;
    if (rc != want_rc) {
        fprintf(stderr, "  iteration ended with %d, want %d\n", rc, want_rc);
        ok = 0;
    }
    if (end == END_OK && got != nwant) {
        fprintf(stderr, "  %zu packets, want %zu\n", got, nwant);
        ok = 0;
    }
    if (end == END_OK) {
        /* Exhausted stays exhausted. */
        eio_packet pk;
        if (eio_payload_next(copy, n, &pos, &pk, &scratch) != 1) {
            fprintf(stderr, "  exhausted payload yields more\n");
            ok = 0;
        }
    }
    if (!ok) fprintf(stderr, "  (payload '%.*s')\n", (int)n, (const char *)p);
    free(copy);
    sbuf_free(&scratch);
    return ok;
}

static void test_payload_next(void) {
    {
        expect w[] = {T(EIO_MESSAGE, "hello")};
        CHECK(payload_is(PAYLOAD("4hello"), w, 1, END_OK));
    }
    {
        expect w[] = {T(EIO_PING, "")};
        CHECK(payload_is(PAYLOAD("2"), w, 1, END_OK));
    }
    {
        expect w[] = {T(EIO_MESSAGE, "")};
        CHECK(payload_is(PAYLOAD("4"), w, 1, END_OK));
    }
    {
        expect w[] = {T(EIO_MESSAGE, "hello"), T(EIO_PING, ""), T(EIO_PONG, "probe"),
                      T(EIO_NOOP, ""), T(EIO_CLOSE, "")};
        CHECK(payload_is(PAYLOAD("4hello" RS "2" RS "3probe" RS "6" RS "1"), w, 5, END_OK));
    }
    {
        expect w[] = {T(EIO_OPEN, "{}"), T(EIO_UPGRADE, ""), T(EIO_MESSAGE, "\xe2\x82\xac")};
        CHECK(payload_is(PAYLOAD("0{}" RS "5" RS "4\xe2\x82\xac"), w, 3, END_OK));
    }
    /* Binary packets, padded and unpadded. */
    {
        expect w[] = {B("\x01\x02\x03")};
        CHECK(payload_is(PAYLOAD("bAQID"), w, 1, END_OK));
    }
    {
        expect w[] = {B("\x01\x02")};
        CHECK(payload_is(PAYLOAD("bAQI="), w, 1, END_OK));
        CHECK(payload_is(PAYLOAD("bAQI"), w, 1, END_OK));
    }
    {
        expect w[] = {B("\x01")};
        CHECK(payload_is(PAYLOAD("bAQ=="), w, 1, END_OK));
        CHECK(payload_is(PAYLOAD("bAQ"), w, 1, END_OK));
    }
    {
        expect w[] = {B("\x00\xff\x10\x80")};
        CHECK(payload_is(PAYLOAD("bAP8QgA=="), w, 1, END_OK));
        CHECK(payload_is(PAYLOAD("bAP8QgA"), w, 1, END_OK));
    }
    {
        expect w[] = {B("")};
        CHECK(payload_is(PAYLOAD("b"), w, 1, END_OK));
    }
    {
        /* Text and binary mixed; the scratch buffer is reused. */
        expect w[] = {T(EIO_MESSAGE, "a"), B("\x01\x02\x03"), B("hi"), T(EIO_MESSAGE, "b"),
                      B("\xff")};
        CHECK(payload_is(PAYLOAD("4a" RS "bAQID" RS "baGk=" RS "4b" RS "b/w=="), w, 5, END_OK));
    }
    /* A text packet may start with 'b' after the type digit. */
    {
        expect w[] = {T(EIO_MESSAGE, "bAQID")};
        CHECK(payload_is(PAYLOAD("4bAQID"), w, 1, END_OK));
    }

    /* Errors. */
    CHECK(payload_is((const uint8_t *)"", 0, NULL, 0, END_PARSE)); /* empty body */
    {
        expect w[] = {T(EIO_MESSAGE, "a")};
        /* An empty packet between separators. */
        CHECK(payload_is(PAYLOAD("4a" RS RS "4b"), w, 1, END_PARSE));
        /* An unknown type after a good packet. */
        CHECK(payload_is(PAYLOAD("4a" RS "9x"), w, 1, END_PARSE));
        CHECK(payload_is(PAYLOAD("4a" RS "bA"), w, 1, END_PARSE));
    }
    CHECK(payload_is(PAYLOAD(RS "4a"), NULL, 0, END_PARSE)); /* leading separator */
    CHECK(payload_is(PAYLOAD(RS), NULL, 0, END_PARSE));
    CHECK(payload_is(PAYLOAD(RS RS), NULL, 0, END_PARSE));
    CHECK(payload_is(PAYLOAD("x"), NULL, 0, END_PARSE));
    CHECK(payload_is(PAYLOAD("7"), NULL, 0, END_PARSE));

    /* A trailing separator ends the payload with a parse error; whether the
     * packet before it is delivered first is not specified. */
    {
        const uint8_t in[] = "4a" RS;
        sbuf scratch = SBUF_INIT;
        size_t pos = 0;
        eio_packet pk;
        int rc, n = 0;
        while ((rc = eio_payload_next(in, 3, &pos, &pk, &scratch)) == SIO_OK && n < 5)
            n++;
        CHECK(rc == SIO_EPARSE);
        CHECK(n <= 1);
        sbuf_free(&scratch);
    }

    /* Invalid base64 in a binary packet. */
    static const char *bad_b64[] = {"b!!!!", "bA",     "bAQID=x",   "bAB=C", "bAQ=D",
                                    "b A==", "bAQ\n=", "bAQID\x80", "b\xff", "bAAAAA"};
    for (size_t i = 0; i < sizeof bad_b64 / sizeof bad_b64[0]; i++) {
        int ok = payload_is((const uint8_t *)bad_b64[i], strlen(bad_b64[i]), NULL, 0, END_PARSE);
        if (!ok) fprintf(stderr, "  (bad base64 case %zu)\n", i);
        CHECK(ok);
    }

    /* pos past the end, or exactly at the end of a non-empty payload: exhausted. */
    {
        sbuf scratch = SBUF_INIT;
        eio_packet pk;
        size_t pos = 2;
        CHECK(eio_payload_next((const uint8_t *)"4a", 2, &pos, &pk, &scratch) == 1);
        pos = 10;
        CHECK(eio_payload_next((const uint8_t *)"4a", 2, &pos, &pk, &scratch) == 1);
        sbuf_free(&scratch);
    }
}

/* ---- eio_payload_append ---- */

static void test_payload_append(void) {
    sbuf out = SBUF_INIT;
    CHECK(eio_payload_append(&out, EIO_MESSAGE, (const uint8_t *)"hello", 5, 0) == SIO_OK);
    CHECK_MEM(out.data, out.len, "4hello");
    CHECK(eio_payload_append(&out, EIO_PING, NULL, 0, 0) == SIO_OK);
    CHECK_MEM(out.data, out.len, "4hello" RS "2");
    CHECK(eio_payload_append(&out, EIO_MESSAGE, (const uint8_t *)"\x01\x02\x03", 3, 1) == SIO_OK);
    CHECK_MEM(out.data, out.len, "4hello" RS "2" RS "bAQID");
    CHECK(eio_payload_append(&out, EIO_MESSAGE, (const uint8_t *)"\x01\x02", 2, 1) == SIO_OK);
    CHECK(eio_payload_append(&out, EIO_MESSAGE, (const uint8_t *)"\x01", 1, 1) == SIO_OK);
    CHECK(eio_payload_append(&out, EIO_MESSAGE, NULL, 0, 1) == SIO_OK);
    CHECK(eio_payload_append(&out, EIO_NOOP, NULL, 0, 0) == SIO_OK);
    CHECK(eio_payload_append(&out, EIO_CLOSE, NULL, 0, 0) == SIO_OK);
    CHECK(eio_payload_append(&out, EIO_OPEN, (const uint8_t *)"{\"a\":1}", 7, 0) == SIO_OK);
    CHECK(eio_payload_append(&out, EIO_UPGRADE, NULL, 0, 0) == SIO_OK);
    CHECK(eio_payload_append(&out, EIO_PONG, (const uint8_t *)"probe", 5, 0) == SIO_OK);
    CHECK_MEM(out.data, out.len,
              "4hello" RS "2" RS "bAQID" RS "bAQI=" RS "bAQ==" RS "b" RS "6" RS "1" RS
              "0{\"a\":1}" RS "5" RS "3probe");
    sbuf_free(&out);

    /* A first packet gets no separator, even a binary or empty one. */
    CHECK(eio_payload_append(&out, EIO_MESSAGE, (const uint8_t *)"\xff", 1, 1) == SIO_OK);
    CHECK_MEM(out.data, out.len, "b/w==");
    sbuf_free(&out);
    CHECK(eio_payload_append(&out, EIO_MESSAGE, NULL, 0, 0) == SIO_OK);
    CHECK_MEM(out.data, out.len, "4");
    sbuf_free(&out);

    /* eio_payload_packet_len is the length of what append writes. */
    for (size_t len = 0; len < 40; len++) {
        uint8_t data[40];
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)rnd();
        for (int binary = 0; binary < 2; binary++) {
            sbuf b = SBUF_INIT;
            CHECK(eio_payload_append(&b, EIO_MESSAGE, data, len, binary) == SIO_OK);
            CHECK(b.len == eio_payload_packet_len(len, binary));
            size_t before = b.len;
            CHECK(eio_payload_append(&b, EIO_MESSAGE, data, len, binary) == SIO_OK);
            CHECK(b.len == 2 * before + 1 && b.data[before] == 0x1e);
            sbuf_free(&b);
        }
    }

    /* Round trip: many random packets appended, then read back. */
    enum { N = 500 };
    static uint8_t datas[N][80];
    static size_t lens[N];
    static int bins[N], types[N];
    sbuf payload = SBUF_INIT;
    for (int i = 0; i < N; i++) {
        bins[i] = rnd() % 3 == 0;
        types[i] = bins[i] ? EIO_MESSAGE : (int)(rnd() % 7);
        lens[i] = rnd() % 80;
        for (size_t k = 0; k < lens[i]; k++) {
            uint8_t v = (uint8_t)rnd();
            if (!bins[i] && v == 0x1e) v = 'x'; /* text cannot hold the separator */
            datas[i][k] = v;
        }
        CHECK(eio_payload_append(&payload, (eio_ptype)types[i], datas[i], lens[i], bins[i]) ==
              SIO_OK);
    }
    sbuf scratch = SBUF_INIT;
    size_t pos = 0;
    int i = 0, mismatches = 0, rc;
    eio_packet pk;
    while ((rc = eio_payload_next(payload.data, payload.len, &pos, &pk, &scratch)) == SIO_OK) {
        if (i >= N || (int)pk.type != types[i] || pk.binary != bins[i] || pk.len != lens[i] ||
            (pk.len && memcmp(pk.data, datas[i], pk.len) != 0))
            mismatches++;
        i++;
    }
    CHECK(rc == 1);
    CHECK(i == N);
    CHECK(mismatches == 0);
    sbuf_free(&scratch);
    sbuf_free(&payload);
}

/* ---- base64 ---- */

static int b64_is(const char *in, const char *want) {
    size_t n = strlen(in);
    char out[64];
    memset(out, 0, sizeof out);
    b64_encode((const uint8_t *)in, n, out, 0);
    size_t el = b64_encoded_len(n, 0);
    int ok = el == strlen(want) && memcmp(out, want, el) == 0 && out[el] == 0;
    if (!ok) fprintf(stderr, "  base64('%s') = '%s', want '%s'\n", in, out, want);
    uint8_t back[64];
    size_t bl = 999;
    if (b64_decode(want, strlen(want), back, &bl, 0) != SIO_OK || bl != n ||
        memcmp(back, in, n) != 0) {
        fprintf(stderr, "  decode('%s') failed\n", want);
        ok = 0;
    }
    return ok;
}

static void test_base64(void) {
    /* RFC 4648 section 10 test vectors. */
    CHECK(b64_is("", ""));
    CHECK(b64_is("f", "Zg=="));
    CHECK(b64_is("fo", "Zm8="));
    CHECK(b64_is("foo", "Zm9v"));
    CHECK(b64_is("foob", "Zm9vYg=="));
    CHECK(b64_is("fooba", "Zm9vYmE="));
    CHECK(b64_is("foobar", "Zm9vYmFy"));
    CHECK(b64_is("\xfb\xff\xbf", "+/+/"));

    for (size_t n = 0; n <= 64; n++)
        CHECK(b64_encoded_len(n, 0) == (n + 2) / 3 * 4);

    /* Round trips of random bytes for every length 0..64, many times over. */
    int bad = 0;
    for (int round = 0; round < 200; round++) {
        for (size_t n = 0; n <= 64; n++) {
            uint8_t in[64], back[64 + 3];
            char enc[100];
            for (size_t i = 0; i < n; i++)
                in[i] = (uint8_t)rnd();
            size_t el = b64_encoded_len(n, 0);
            memset(enc, '#', sizeof enc);
            b64_encode(in, n, enc, 0);
            if (enc[el] != '#') bad++; /* wrote past the advertised length */
            for (size_t i = 0; i < el; i++) {
                char c = enc[i];
                int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
                if (!alpha) bad++;
            }
            size_t bl = 999;
            if (b64_decode(enc, el, back, &bl, 0) != SIO_OK || bl != n ||
                (n && memcmp(back, in, n) != 0))
                bad++;
            /* Without the padding too. */
            size_t unpadded = el;
            while (unpadded && enc[unpadded - 1] == '=')
                unpadded--;
            bl = 999;
            if (b64_decode(enc, unpadded, back, &bl, 0) != SIO_OK || bl != n ||
                (n && memcmp(back, in, n) != 0))
                bad++;
        }
    }
    CHECK(bad == 0);

    /* Every byte value. */
    uint8_t all[256], back[256 + 3];
    char enc[400];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    b64_encode(all, 256, enc, 0);
    size_t bl = 0;
    CHECK(b64_decode(enc, b64_encoded_len(256, 0), back, &bl, 0) == SIO_OK);
    CHECK(bl == 256 && memcmp(back, all, 256) == 0);

    /* The URL-safe alphabet is accepted as well. */
    uint8_t a[8], b[8];
    size_t al = 0, blen = 0;
    CHECK(b64_decode("-_-_", 4, a, &al, 0) == SIO_OK);
    CHECK(b64_decode("+/+/", 4, b, &blen, 0) == SIO_OK);
    CHECK(al == 3 && blen == 3 && memcmp(a, b, 3) == 0);

    /* Invalid input. */
    static const char *bad_in[] = {"A",     "AAAAA",   "A===",   "AA=A", "!AAA",
                                   "AA AA", "AAA\x80", "AAAA\n", "AA.A"};
    for (size_t i = 0; i < sizeof bad_in / sizeof bad_in[0]; i++) {
        uint8_t o[16];
        size_t ol;
        int rc = b64_decode(bad_in[i], strlen(bad_in[i]), o, &ol, 0);
        if (rc != SIO_EPARSE) fprintf(stderr, "  base64 '%s' accepted\n", bad_in[i]);
        CHECK(rc == SIO_EPARSE);
    }

    /* The header promises that `out` needs (n + 3) / 4 * 3 bytes, which
     * covers unpadded input ("QQ" writes one byte). Decode into a canary
     * buffer and check nothing is written past that bound. */
    static const char *unpadded[] = {"QQ", "QUI", "QUJDRA", "QUJDREU", "AQIDBAUG/w"};
    int all_within = 1;
    for (size_t i = 0; i < sizeof unpadded / sizeof unpadded[0]; i++) {
        size_t n = strlen(unpadded[i]);
        uint8_t o[32];
        memset(o, 0xcc, sizeof o);
        size_t ol = 0;
        CHECK(b64_decode(unpadded[i], n, o, &ol, 0) == SIO_OK);
        size_t bound = (n + 3) / 4 * 3;
        int within = ol <= bound;
        for (size_t k = bound; k < sizeof o; k++)
            if (o[k] != 0xcc) within = 0;
        if (!within)
            fprintf(stderr, "  base64 decode of '%s' (n=%zu) wrote %zu bytes; header says %zu\n",
                    unpadded[i], n, ol, bound);
        if (!within) all_within = 0;
    }
    CHECK(all_within);
}

int main(void) {
    test_decode_text();
    test_payload_next();
    test_payload_append();
    test_base64();
    return CHECK_DONE();
}
