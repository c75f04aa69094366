/* WebSocket frame encoding for the server side (unmasked frames; parsing is
 * wslay's, in ws/conn.c). Encoding is pure: bytes go into a caller-owned buffer so that a
 * broadcast frame is built once and its bytes reused for every receiver. */
#ifndef SIO_WS_FRAME_H
#define SIO_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

/* RSV1 in a frame's first byte: the message is compressed (permessage-deflate). */
#define WS_RSV1 0x40

/* Append one complete frame (FIN set). SIO_OK or SIO_ENOMEM/SIO_EINVAL. */
int ws_frame_append(sbuf *out, int opcode, const uint8_t *data, size_t len);
/* The same with RSV1 set: data is a permessage-deflate message (ws/deflate.h);
 * data opcodes only (SIO_EINVAL for control frames). */
int ws_frame_append_deflated(sbuf *out, int opcode, const uint8_t *data, size_t len);
/* Append a frame whose payload is a one-byte prefix followed by `data`: the
 * Engine.IO text form ("4" + message) without first copying the message. */
int ws_frame_append_prefixed(sbuf *out, int opcode, uint8_t prefix, const uint8_t *data,
                             size_t len);
/* Append a close frame with a status code and an optional UTF-8 reason;
 * code 0: a close frame without a status (the peer sees 1005). */
int ws_frame_append_close(sbuf *out, uint16_t code, const char *reason);
/* Size of the frame header for a payload of len bytes (server side). */
size_t ws_frame_header_len(uint64_t len);
/* Size of the whole unmasked frame that starts at p (a server frame in an
 * output queue), or 0 when its header is not within the n bytes given. */
size_t ws_frame_size(const uint8_t *p, size_t n);

/* Whether data is valid UTF-8 (RFC 3629: no overlongs, no surrogates). */
int ws_utf8_valid(const uint8_t *p, size_t n);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key; out gets 28 chars + NUL. */
int ws_accept_key(const char *key, char out[29]);

#endif
