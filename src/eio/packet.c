#include "eio/packet.h"

#include <string.h>

#include "sio/status.h"

int eio_decode_text(const uint8_t *p, size_t n, eio_packet *out) {
    if (n == 0 || p[0] < '0' || p[0] > '6') return SIO_EPARSE;
    out->type = (eio_ptype)(p[0] - '0');
    out->binary = 0;
    out->data = p + 1;
    out->len = n - 1;
    return SIO_OK;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t eio_base64_encoded_len(size_t n) {
    return (n + 2) / 3 * 4;
}

void eio_base64_encode(const uint8_t *in, size_t n, char *out) {
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = '=';
    }
}

static int b64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62; /* accept the URL-safe alphabet too */
    if (c == '/' || c == '_') return 63;
    return -1;
}

int eio_base64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len) {
    /* Padding is optional: Node's Buffer.from(s, "base64") accepts both. */
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1) return SIO_EPARSE;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((uint8_t)in[i]);
        if (v < 0) return SIO_EPARSE;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = o;
    return SIO_OK;
}

int eio_payload_next(const uint8_t *p, size_t n, size_t *pos, eio_packet *out, sbuf *scratch) {
    size_t start = *pos;
    if (start > n || (start == n && start != 0)) return 1;
    if (n == 0) return SIO_EPARSE;
    const uint8_t *sep = memchr(p + start, EIO_RECORD_SEPARATOR, n - start);
    size_t end = sep ? (size_t)(sep - p) : n;
    *pos = sep ? end + 1 : n + 1;
    if (sep && end + 1 == n) return SIO_EPARSE; /* trailing separator: empty packet */
    const uint8_t *q = p + start;
    size_t len = end - start;
    if (len > 0 && q[0] == 'b') {
        sbuf_clear(scratch);
        if (sbuf_reserve(scratch, (len - 1) / 4 * 3 + 3)) return SIO_ENOMEM;
        size_t dl;
        if (eio_base64_decode((const char *)q + 1, len - 1, scratch->data, &dl)) return SIO_EPARSE;
        scratch->len = dl;
        out->type = EIO_MESSAGE;
        out->binary = 1;
        out->data = scratch->data;
        out->len = dl;
        return SIO_OK;
    }
    return eio_decode_text(q, len, out);
}

size_t eio_payload_packet_len(size_t len, int binary) {
    return binary ? 1 + eio_base64_encoded_len(len) : 1 + len;
}

int eio_payload_append(sbuf *out, eio_ptype type, const uint8_t *data, size_t len, int binary) {
    size_t need = (out->len ? 1 : 0) + eio_payload_packet_len(len, binary);
    if (sbuf_reserve(out, need)) return SIO_ENOMEM;
    uint8_t *w = out->data + out->len;
    if (out->len) *w++ = EIO_RECORD_SEPARATOR;
    if (binary) {
        *w++ = 'b';
        eio_base64_encode(data, len, (char *)w);
    } else {
        *w++ = (uint8_t)('0' + type);
        if (len) memcpy(w, data, len);
    }
    out->len += need;
    return SIO_OK;
}
