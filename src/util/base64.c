#include "util/base64.h"

#include "sio/status.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64_encoded_len(size_t n, int flags) {
    if (flags & B64_URL) return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
    return (n + 2) / 3 * 4;
}

void b64_encode(const uint8_t *in, size_t n, char *out, int flags) {
    const char *a = flags & B64_URL ? URL : STD;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = a[v >> 18];
        *out++ = a[(v >> 12) & 63];
        *out++ = a[(v >> 6) & 63];
        *out++ = a[v & 63];
    }
    size_t rest = n - i;
    if (!rest) return;
    uint32_t v = (uint32_t)in[i] << 16 | (rest == 2 ? (uint32_t)in[i + 1] << 8 : 0);
    *out++ = a[v >> 18];
    *out++ = a[(v >> 12) & 63];
    if (rest == 2) *out++ = a[(v >> 6) & 63];
    if (flags & B64_URL) return;
    *out++ = '=';
    if (rest == 1) *out++ = '=';
}

static int value(uint8_t c, int strict) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || (c == '+' && !strict)) return 62;
    if (c == '_' || (c == '/' && !strict)) return 63;
    return -1;
}

int b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len, int flags) {
    int strict = flags & B64_STRICT;
    if (!strict)
        while (n > 0 && in[n - 1] == '=')
            n--;
    if (n % 4 == 1) return SIO_EPARSE;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = value((uint8_t)in[i], strict);
        if (v < 0) return SIO_EPARSE;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Unused trailing bits must be zero in a canonical encoding. */
    if (strict && (acc & ((1u << bits) - 1))) return SIO_EPARSE;
    *out_len = o;
    return SIO_OK;
}
