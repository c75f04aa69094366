/* Engine.IO v4 packet codec (sans-I/O): single packets, the long-polling
 * payload format (packets joined by 0x1e, binary as 'b' + base64) and the
 * WebSocket message form (text frame = type digit + data, binary frame = raw
 * message). No allocation except into caller-owned buffers. */
#ifndef SIO_EIO_PACKET_H
#define SIO_EIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef enum eio_ptype {
    EIO_OPEN = 0,
    EIO_CLOSE = 1,
    EIO_PING = 2,
    EIO_PONG = 3,
    EIO_MESSAGE = 4,
    EIO_UPGRADE = 5,
    EIO_NOOP = 6,
} eio_ptype;

#define EIO_RECORD_SEPARATOR 0x1e

/* A decoded packet; data points into the input or into a scratch buffer. */
typedef struct eio_packet {
    eio_ptype type;
    int binary;
    const uint8_t *data;
    size_t len;
} eio_packet;

/* Decode one text-form packet ("4hello", "2", "3probe"). SIO_EPARSE when the
 * type is unknown or the input is empty. */
int eio_decode_text(const uint8_t *p, size_t n, eio_packet *out);

/* Iterate over a long-polling payload. *pos starts at 0; returns SIO_OK with
 * *out set, 1 when the payload is exhausted, or SIO_EPARSE. Binary packets are
 * base64-decoded into `scratch` (cleared first), which *out then points into. */
int eio_payload_next(const uint8_t *p, size_t n, size_t *pos, eio_packet *out, sbuf *scratch);

/* Append one packet in long-polling form, with a separator when `out` already
 * holds packets. Binary data is written as 'b' + base64 (only for MESSAGE). */
int eio_payload_append(sbuf *out, eio_ptype type, const uint8_t *data, size_t len, int binary);

/* Length of the long-polling encoding of one packet, without separator. */
size_t eio_payload_packet_len(size_t len, int binary);

#endif
