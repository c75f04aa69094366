#include "ws/frame.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "sio/status.h"

size_t ws_frame_header_len(uint64_t len) {
    return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

size_t ws_frame_size(const uint8_t *p, size_t n) {
    if (n < 2) return 0;
    uint64_t len = p[1] & 0x7f;
    size_t head = 2;
    if (len == 126) {
        if (n < 4) return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        head = 4;
    } else if (len == 127) {
        if (n < 10) return 0;
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | p[i];
        head = 10;
    }
    if (len > SIZE_MAX - head) return 0;
    return head + (size_t)len;
}

/* Server frames are unmasked, so a frame is its header (RFC 6455 5.2: FIN,
 * opcode, a 7-bit length or 126/127 and a 16/64-bit one) and the payload:
 * written directly, with no encoder state to share between connections.
 * Reserves the whole frame and returns where the payload goes. */
static uint8_t *frame_begin(sbuf *out, int opcode, uint64_t len, uint8_t rsv, int *err) {
    *err = SIO_EINVAL;
    /* Control frames carry at most 125 bytes and are never fragmented. */
    if (opcode < 0 || opcode > 0xf || (opcode >= WS_OP_CLOSE && len > 125)) return NULL;
    *err = SIO_ENOMEM;
    size_t hl = ws_frame_header_len(len);
    if (len > SIZE_MAX - hl || sbuf_reserve(out, hl + (size_t)len)) return NULL;
    uint8_t *w = out->data + out->len;
    *w++ = (uint8_t)(0x80 | rsv | opcode);
    if (len < 126) {
        *w++ = (uint8_t)len;
    } else if (len < 65536) {
        *w++ = 126;
        *w++ = (uint8_t)(len >> 8);
        *w++ = (uint8_t)len;
    } else {
        *w++ = 127;
        for (int i = 7; i >= 0; i--)
            *w++ = (uint8_t)(len >> (8 * i));
    }
    out->len += hl + (size_t)len;
    *err = SIO_OK;
    return w;
}

int ws_frame_append(sbuf *out, int opcode, const uint8_t *data, size_t len) {
    int err;
    uint8_t *w = frame_begin(out, opcode, len, 0, &err);
    if (w && len) memcpy(w, data, len);
    return err;
}

int ws_frame_append_deflated(sbuf *out, int opcode, const uint8_t *data, size_t len) {
    int err;
    /* RSV1 marks a compressed message (RFC 7692 6); never on control frames. */
    uint8_t *w = opcode < WS_OP_CLOSE ? frame_begin(out, opcode, len, WS_RSV1, &err) : NULL;
    if (!w) return opcode < WS_OP_CLOSE ? err : SIO_EINVAL;
    if (len) memcpy(w, data, len);
    return SIO_OK;
}

int ws_frame_append_prefixed(sbuf *out, int opcode, uint8_t prefix, const uint8_t *data,
                             size_t len) {
    int err;
    uint8_t *w = len < SIZE_MAX ? frame_begin(out, opcode, (uint64_t)len + 1, 0, &err) : NULL;
    if (!w) return len < SIZE_MAX ? err : SIO_ENOMEM;
    *w++ = prefix;
    if (len) memcpy(w, data, len);
    return SIO_OK;
}

int ws_frame_append_close(sbuf *out, uint16_t code, const char *reason) {
    uint8_t payload[125];
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > sizeof payload - 2) {
        rl = sizeof payload - 2;
        /* Cut at a character boundary: a close reason must be valid UTF-8. */
        while (rl > 0 && ((uint8_t)reason[rl] & 0xc0) == 0x80)
            rl--;
    }
    if (!code) return ws_frame_append(out, WS_OP_CLOSE, (const uint8_t *)"", 0); /* no status */
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rl) memcpy(payload + 2, reason, rl);
    return ws_frame_append(out, WS_OP_CLOSE, payload, 2 + rl);
}

int ws_utf8_valid(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* Fast path over ASCII, eight bytes at a time. */
        while (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if (v & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i - 1 < need) return 0;
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = p[i + k];
            if ((cc & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (cc & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

int ws_accept_key(const char *key, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    size_t kl = strlen(key);
    if (kl == 0 || kl > 64) return SIO_EINVAL;
    char buf[64 + sizeof guid];
    memcpy(buf, key, kl);
    memcpy(buf + kl, guid, sizeof guid - 1);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (!EVP_Digest(buf, kl + sizeof guid - 1, digest, &dl, EVP_sha1(), NULL) || dl != 20)
        return SIO_EIO;
    EVP_EncodeBlock((unsigned char *)out, digest, (int)dl);
    return SIO_OK;
}
