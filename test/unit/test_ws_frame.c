/* WebSocket frame encoding (server side), UTF-8 validation and the
 * Sec-WebSocket-Accept computation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio/status.h"
#include "util/buf.h"
#include "ws/frame.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Check that buf[off..] is one FIN frame with `opcode`, the header bytes
 * `hdr` (after the first byte) and the payload `data`. */
static int frame_is(const sbuf *b, size_t off, int opcode, const uint8_t *hdr, size_t hlen,
                    const uint8_t *data, size_t len) {
    size_t total = 1 + hlen + len;
    if (b->len - off != total) {
        fprintf(stderr, "  frame length %zu, want %zu\n", b->len - off, total);
        return 0;
    }
    const uint8_t *p = b->data + off;
    if (p[0] != (0x80 | opcode)) {
        fprintf(stderr, "  first byte %02x, want %02x\n", p[0], 0x80 | opcode);
        return 0;
    }
    if (memcmp(p + 1, hdr, hlen) != 0) {
        fprintf(stderr, "  header bytes differ\n");
        return 0;
    }
    if (len && memcmp(p + 1 + hlen, data, len) != 0) {
        fprintf(stderr, "  payload differs\n");
        return 0;
    }
    return 1;
}

static void test_header_len(void) {
    CHECK(ws_frame_header_len(0) == 2);
    CHECK(ws_frame_header_len(125) == 2);
    CHECK(ws_frame_header_len(126) == 4);
    CHECK(ws_frame_header_len(65535) == 4);
    CHECK(ws_frame_header_len(65536) == 10);
    CHECK(ws_frame_header_len(UINT64_C(1) << 40) == 10);
}

static void test_frames(void) {
    size_t big = 70000;
    uint8_t *data = malloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)rnd();

    struct {
        size_t len;
        uint8_t hdr[9];
        size_t hlen;
    } cases[] = {
        {0, {0x00}, 1},
        {1, {0x01}, 1},
        {125, {0x7d}, 1},
        {126, {0x7e, 0x00, 0x7e}, 3},
        {127, {0x7e, 0x00, 0x7f}, 3},
        {256, {0x7e, 0x01, 0x00}, 3},
        {65535, {0x7e, 0xff, 0xff}, 3},
        {65536, {0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, 9},
        {70000, {0x7f, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70}, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int op = WS_OP_TEXT; op <= WS_OP_BINARY; op++) {
            sbuf b = SBUF_INIT;
            CHECK(ws_frame_append(&b, op, data, cases[i].len) == SIO_OK);
            int ok = frame_is(&b, 0, op, cases[i].hdr, cases[i].hlen, data, cases[i].len);
            if (!ok) fprintf(stderr, "  (length %zu, opcode %d)\n", cases[i].len, op);
            CHECK(ok);
            CHECK(b.len == ws_frame_header_len(cases[i].len) + cases[i].len);
            /* Appending keeps what the buffer already holds. */
            size_t first = b.len;
            CHECK(ws_frame_append(&b, op, data, cases[i].len) == SIO_OK);
            CHECK(b.len == 2 * first);
            CHECK(memcmp(b.data, b.data + first, first) == 0);
            sbuf_free(&b);
        }
    }

    /* Empty frames with a NULL pointer. */
    sbuf b = SBUF_INIT;
    CHECK(ws_frame_append(&b, WS_OP_TEXT, NULL, 0) == SIO_OK);
    CHECK(b.len == 2 && b.data[0] == 0x81 && b.data[1] == 0);
    sbuf_free(&b);

    /* Control frames: ping/pong up to 125 bytes. */
    CHECK(ws_frame_append(&b, WS_OP_PING, data, 125) == SIO_OK);
    CHECK(b.len == 127 && b.data[0] == 0x89 && b.data[1] == 125);
    CHECK(memcmp(b.data + 2, data, 125) == 0);
    sbuf_clear(&b);
    CHECK(ws_frame_append(&b, WS_OP_PONG, (const uint8_t *)"abc", 3) == SIO_OK);
    CHECK_MEM(b.data, b.len,
              "\x8a\x03"
              "abc");
    sbuf_clear(&b);
    /* A control frame cannot carry more than 125 bytes. */
    CHECK(ws_frame_append(&b, WS_OP_PING, data, 126) == SIO_EINVAL);
    CHECK(b.len == 0);
    /* The encoder is not left in a broken state by the refusal. */
    CHECK(ws_frame_append(&b, WS_OP_TEXT, (const uint8_t *)"ok", 2) == SIO_OK);
    CHECK_MEM(b.data, b.len, "\x81\x02ok");
    sbuf_free(&b);
    free(data);
}

static void test_prefixed(void) {
    size_t lens[] = {0, 1, 2, 123, 124, 125, 126, 127, 1000, 65533, 65534, 65535, 65536, 70000};
    size_t maxlen = 70001;
    uint8_t *cat = malloc(maxlen);
    for (size_t i = 0; i < maxlen; i++)
        cat[i] = (uint8_t)rnd();
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        for (int op = WS_OP_TEXT; op <= WS_OP_BINARY; op++) {
            sbuf a = SBUF_INIT, b = SBUF_INIT;
            cat[0] = '4';
            CHECK(ws_frame_append(&a, op, cat, len + 1) == SIO_OK);
            CHECK(ws_frame_append_prefixed(&b, op, '4', cat + 1, len) == SIO_OK);
            int same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
            if (!same) fprintf(stderr, "  prefixed frame of %zu bytes differs\n", len);
            CHECK(same);
            CHECK(b.len == ws_frame_header_len(len + 1) + len + 1);
            sbuf_free(&a);
            sbuf_free(&b);
        }
    }

    /* Prefixed and plain frames interleaved in one buffer. */
    sbuf mixed = SBUF_INIT, want = SBUF_INIT;
    for (int k = 0; k < 50; k++) {
        size_t len = rnd() % 300;
        if (k % 3 == 0) {
            CHECK(ws_frame_append_prefixed(&mixed, WS_OP_TEXT, '2', cat + 1, len) == SIO_OK);
            cat[0] = '2';
            CHECK(ws_frame_append(&want, WS_OP_TEXT, cat, len + 1) == SIO_OK);
        } else {
            CHECK(ws_frame_append(&mixed, WS_OP_BINARY, cat + 1, len) == SIO_OK);
            CHECK(ws_frame_append(&want, WS_OP_BINARY, cat + 1, len) == SIO_OK);
        }
    }
    CHECK(mixed.len == want.len && memcmp(mixed.data, want.data, want.len) == 0);
    sbuf_free(&mixed);
    sbuf_free(&want);

    /* A prefixed ping: "2" + "probe". */
    sbuf p = SBUF_INIT;
    CHECK(ws_frame_append_prefixed(&p, WS_OP_TEXT, '3', (const uint8_t *)"probe", 5) == SIO_OK);
    CHECK_MEM(p.data, p.len,
              "\x81\x06"
              "3probe");
    sbuf_free(&p);
    free(cat);
}

static void test_close(void) {
    sbuf b = SBUF_INIT;
    CHECK(ws_frame_append_close(&b, 1000, NULL) == SIO_OK);
    CHECK_MEM(b.data, b.len, "\x88\x02\x03\xe8");
    sbuf_clear(&b);
    CHECK(ws_frame_append_close(&b, 1000, "") == SIO_OK);
    CHECK_MEM(b.data, b.len, "\x88\x02\x03\xe8");
    sbuf_clear(&b);
    CHECK(ws_frame_append_close(&b, 1001, "going away") == SIO_OK);
    CHECK_MEM(b.data, b.len, "\x88\x0c\x03\xe9going away");
    sbuf_clear(&b);
    CHECK(ws_frame_append_close(&b, 4999, "x") == SIO_OK);
    CHECK_MEM(b.data, b.len, "\x88\x03\x13\x87x");
    sbuf_clear(&b);

    /* A long reason is cut so the payload fits a control frame (125 bytes). */
    char reason[300];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = 0;
    CHECK(ws_frame_append_close(&b, 1011, reason) == SIO_OK);
    CHECK(b.len == 127 && b.data[0] == 0x88 && b.data[1] == 125);
    CHECK(b.data[2] == 0x03 && b.data[3] == 0xf3);
    CHECK(memcmp(b.data + 4, reason, 123) == 0);
    sbuf_clear(&b);
    memset(reason, 'r', 123);
    reason[123] = 0;
    CHECK(ws_frame_append_close(&b, 1011, reason) == SIO_OK);
    CHECK(b.len == 127 && b.data[1] == 125);
    sbuf_clear(&b);

    /* The reason is UTF-8 and must stay UTF-8 when it is cut (RFC 6455 5.5.1):
     * 122 ASCII bytes then "\xc3\xa9" (124 bytes) must not end in a lone 0xc3. */
    memset(reason, 'a', 122);
    memcpy(reason + 122, "\xc3\xa9", 3);
    CHECK(ws_frame_append_close(&b, 1000, reason) == SIO_OK);
    CHECK(b.len >= 4 && b.data[0] == 0x88 && b.data[1] <= 125 && b.len == 2u + b.data[1]);
    int valid = b.len >= 4 && ws_utf8_valid(b.data + 4, b.len - 4);
    if (!valid)
        fprintf(stderr, "  close reason cut inside a UTF-8 sequence (last byte %02x)\n",
                b.data[b.len - 1]);
    CHECK(valid);
    sbuf_clear(&b);
    /* A 4-byte character straddling the limit. */
    memset(reason, 'a', 121);
    memcpy(reason + 121, "\xf0\x9f\x98\x80", 5);
    CHECK(ws_frame_append_close(&b, 1000, reason) == SIO_OK);
    valid = b.len >= 4 && ws_utf8_valid(b.data + 4, b.len - 4);
    if (!valid) fprintf(stderr, "  close reason cut inside a 4-byte UTF-8 sequence\n");
    CHECK(valid);
    sbuf_free(&b);
}

static void test_accept_key(void) {
    char out[29];
    memset(out, 'x', sizeof out);
    CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out) == SIO_OK);
    CHECK(out[28] == 0);
    CHECK(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    /* Another known pair (from the MDN WebSocket server guide). */
    CHECK(ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", out) == SIO_OK);
    CHECK(strcmp(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=") == 0);
    CHECK(ws_accept_key("", out) == SIO_EINVAL);
    char longkey[80];
    memset(longkey, 'A', 64);
    longkey[64] = 0;
    CHECK(ws_accept_key(longkey, out) == SIO_OK && strlen(out) == 28);
    memset(longkey, 'A', 65);
    longkey[65] = 0;
    CHECK(ws_accept_key(longkey, out) == SIO_EINVAL);
}

/* ---- UTF-8 ---- */

static size_t utf8_encode(uint32_t cp, uint8_t *o) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static int valid_str(const char *s) {
    /* An exact-size heap copy, so ASan sees any read past the end. */
    size_t n = strlen(s);
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    int v = ws_utf8_valid(p, n);
    free(p);
    return v;
}

static void test_utf8(void) {
    static const char *good[] = {
        "",
        "hello, world",
        "\x7f",
        "\xc2\x80",          /* U+0080 */
        "\xc3\xa9t\xc3\xa9", /* été */
        "\xdf\xbf",          /* U+07FF */
        "\xe0\xa0\x80",      /* U+0800 */
        "\xe2\x82\xac",      /* € */
        "\xed\x9f\xbf",      /* U+D7FF */
        "\xee\x80\x80",      /* U+E000 */
        "\xef\xbb\xbf",      /* BOM */
        "\xef\xbf\xbf",      /* U+FFFF */
        "\xf0\x90\x80\x80",  /* U+10000 */
        "\xf0\x9f\x98\x80",  /* 😀 */
        "\xf4\x8f\xbf\xbf",  /* U+10FFFF */
        "abcdefg\xc3\xa9hijklmnop",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", /* κόσμε */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int v = valid_str(good[i]);
        if (!v) fprintf(stderr, "  good UTF-8 case %zu rejected\n", i);
        CHECK(v);
    }
    /* A NUL byte is valid UTF-8. */
    CHECK(ws_utf8_valid((const uint8_t *)"a\0b", 3));

    static const char *bad[] = {
        "\x80",                     /* stray continuation */
        "\xbf",                     /* stray continuation */
        "a\x80",                    /* stray continuation after ASCII */
        "\xc3\xa9\xa9",             /* one continuation too many */
        "\xc0\x80",                 /* overlong NUL */
        "\xc0\xaf",                 /* overlong '/' */
        "\xc1\xbf",                 /* overlong U+007F */
        "\xe0\x80\x80",             /* overlong NUL, 3 bytes */
        "\xe0\x80\xaf",             /* overlong '/', 3 bytes */
        "\xe0\x9f\xbf",             /* overlong U+07FF */
        "\xf0\x80\x80\x80",         /* overlong NUL, 4 bytes */
        "\xf0\x80\x80\xaf",         /* overlong '/', 4 bytes */
        "\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
        "\xed\xa0\x80",             /* U+D800 */
        "\xed\xad\xbf",             /* U+DB7F */
        "\xed\xb0\x80",             /* U+DC00 */
        "\xed\xbf\xbf",             /* U+DFFF */
        "\xed\xa0\x80\xed\xb0\x80", /* surrogate pair encoded as CESU-8 */
        "\xf4\x90\x80\x80",         /* U+110000 */
        "\xf4\xbf\xbf\xbf",         /* U+13FFFF */
        "\xf5\x80\x80\x80",         /* lead byte F5 */
        "\xf7\xbf\xbf\xbf",         /* U+1FFFFF */
        "\xf8\x88\x80\x80\x80",     /* 5-byte form */
        "\xfc\x84\x80\x80\x80\x80", /* 6-byte form */
        "\xc0",
        "\xc1",
        "\xf5",
        "\xf8",
        "\xfe",
        "\xff",
        "\xc3", /* truncated at the end */
        "\xe2\x82",
        "\xe2",
        "\xf0\x9f\x98",
        "\xf0\x9f",
        "\xf0",
        "abc\xe2\x82",
        "\xc3(", /* continuation byte missing */
        "\xe2(\xa1",
        "\xe2\x82(",
        "\xf0(\x8c\xbc",
        "\xf0\x90(\xbc",
        "\xf0\x90\x8c(",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\200edited", /* κόσμε + U+D800 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int v = valid_str(bad[i]);
        if (v) fprintf(stderr, "  bad UTF-8 case %zu accepted\n", i);
        CHECK(!v);
    }

    /* Every lone byte: exactly 0x00..0x7f are valid on their own. */
    int lone_ok = 1;
    for (int b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        if (ws_utf8_valid(&c, 1) != (b < 0x80)) lone_ok = 0;
    }
    CHECK(lone_ok);

    /* Every code point: scalar values are valid, surrogates are not; each
     * encoding cut short is invalid. */
    int cp_ok = 1;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        uint8_t e[4];
        size_t n = utf8_encode(cp, e);
        int want = !(cp >= 0xd800 && cp <= 0xdfff);
        if (ws_utf8_valid(e, n) != want) {
            if (cp_ok) fprintf(stderr, "  code point U+%04X misjudged\n", (unsigned)cp);
            cp_ok = 0;
        }
        for (size_t k = 1; k < n; k++)
            if (ws_utf8_valid(e, k)) cp_ok = 0;
    }
    CHECK(cp_ok);

    /* Long strings: a multi-byte character, or a bad byte, at every offset
     * around the 8-byte ASCII fast path. */
    uint8_t buf[200];
    int offs_ok = 1;
    for (size_t off = 0; off < 40; off++) {
        static const char *seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
        for (size_t s = 0; s < 3; s++) {
            size_t sl = strlen(seqs[s]);
            memset(buf, 'a', sizeof buf);
            memcpy(buf + off, seqs[s], sl);
            if (!ws_utf8_valid(buf, sizeof buf)) offs_ok = 0;
            /* Ending right inside the sequence. */
            if (ws_utf8_valid(buf, off + sl - 1)) offs_ok = 0;
            if (!ws_utf8_valid(buf, off + sl)) offs_ok = 0;
        }
        memset(buf, 'a', sizeof buf);
        buf[off] = 0x80;
        if (ws_utf8_valid(buf, sizeof buf)) offs_ok = 0;
        if (!ws_utf8_valid(buf, off)) offs_ok = 0;
        buf[off] = 0xed;
        buf[off + 1] = 0xa0;
        buf[off + 2] = 0x80;
        if (ws_utf8_valid(buf, sizeof buf)) offs_ok = 0;
        memset(buf, 'a', sizeof buf);
        buf[sizeof buf - 1 - off % 8] = 0xff;
        if (ws_utf8_valid(buf, sizeof buf)) offs_ok = 0;
    }
    CHECK(offs_ok);

    /* A long valid text of random code points, and the same with one byte broken. */
    size_t cap = 400000, n = 0;
    uint8_t *text = malloc(cap);
    while (n + 4 <= cap) {
        uint32_t cp;
        switch (rnd() % 4) {
        case 0:
            cp = rnd() % 0x80;
            break;
        case 1:
            cp = 0x80 + rnd() % (0x800 - 0x80);
            break;
        case 2:
            cp = 0x800 + rnd() % (0x10000 - 0x800);
            break;
        default:
            cp = 0x10000 + rnd() % (0x110000 - 0x10000);
            break;
        }
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 'x';
        n += utf8_encode(cp, text + n);
    }
    CHECK(ws_utf8_valid(text, n));
    int broken_ok = 1;
    for (int k = 0; k < 200; k++) {
        size_t at = rnd() % n;
        uint8_t saved = text[at];
        text[at] = 0xff;
        if (ws_utf8_valid(text, n)) broken_ok = 0;
        text[at] = saved;
    }
    CHECK(broken_ok);
    memset(text, 'z', cap);
    CHECK(ws_utf8_valid(text, cap));
    text[cap - 1] = 0xc3;
    CHECK(!ws_utf8_valid(text, cap));
    free(text);
}

int main(void) {
    test_header_len();
    test_frames();
    test_prefixed();
    test_close();
    test_accept_key();
    test_utf8();
    return CHECK_DONE();
}
