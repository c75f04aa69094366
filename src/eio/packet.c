#include "eio/packet.h"

#include <string.h>

#include "sio/status.h"
#include "util/base64.h"

int eio_decode_text(const uint8_t *p, size_t n, eio_packet *out) {
    if (n == 0 || p[0] < '0' || p[0] > '6') return SIO_EPARSE;
    out->type = (eio_ptype)(p[0] - '0');
    out->binary = 0;
    out->data = p + 1;
    out->len = n - 1;
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
        if (b64_decode((const char *)q + 1, len - 1, scratch->data, &dl, 0)) return SIO_EPARSE;
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
    return binary ? 1 + b64_encoded_len(len, 0) : 1 + len;
}

int eio_payload_append(sbuf *out, eio_ptype type, const uint8_t *data, size_t len, int binary) {
    size_t need = (out->len ? 1 : 0) + eio_payload_packet_len(len, binary);
    if (sbuf_reserve(out, need)) return SIO_ENOMEM;
    uint8_t *w = out->data + out->len;
    if (out->len) *w++ = EIO_RECORD_SEPARATOR;
    if (binary) {
        *w++ = 'b';
        b64_encode(data, len, (char *)w, 0);
    } else {
        *w++ = (uint8_t)('0' + type);
        if (len) memcpy(w, data, len);
    }
    out->len += need;
    return SIO_OK;
}
