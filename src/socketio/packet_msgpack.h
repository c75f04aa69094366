/* Sans-I/O codec for Socket.IO packets in the format of npm socket.io-msgpack-parser 3.x
 * (`--parser msgpack`): each packet is ONE binary Engine.IO message holding one MessagePack
 * map, as notepack.io 2.2 writes the packet object:
 *
 *   {type: 0..4, data?: ..., id?: integer, nsp: string}
 *
 * Binary values are MessagePack bin (ext type 0 from browsers' ArrayBuffers) inside `data`;
 * there are no attachments and no BINARY_EVENT / BINARY_ACK types. The values themselves go
 * through socketio/msgpack.h, which speaks notepack's dialect. */
#ifndef SIO_PACKET_MSGPACK_H
#define SIO_PACKET_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "socketio/packet.h"
#include "util/buf.h"

/* Decode one binary message into a new packet in *out (caller frees with sio_packet_free),
 * accepting what the parser's Decoder accepts: the whole message is one map (trailing
 * bytes are an error, as notepack's decode throws on them); `type` an integral number 0..4;
 * `nsp` a string; `data` absent or an object for CONNECT, absent for DISCONNECT, a string
 * or an object for CONNECT_ERROR, an array for EVENT and ACK; `id` absent or an integral
 * number. Other keys (socket.io-client sends `options`) are ignored; a repeated key takes
 * its last value. Stricter than the parser on purpose: an id outside 0..SIO_ACK_ID_MAX
 * and a namespace holding U+0000 are refused (the text format cannot carry them either).
 * Nesting is bounded as the JSON decoder bounds it (CJSON_NESTING_LIMIT levels of data).
 * Returns SIO_OK, SIO_EPARSE, SIO_ETOOBIG, SIO_ENOMEM or SIO_EINVAL (bad arguments). */
int sio_packet_decode_msgpack(const uint8_t *p, size_t n, sio_packet **out);

/* Append the MessagePack form of a packet to `out`, with the keys in the order Node's
 * socket.io 4.8 server writes them: ACK {id, type, data, nsp}, the others {type, data, id,
 * nsp}, absent members left out (data NULL, id -1). (The reference puts nsp before data in
 * its "Invalid namespace" CONNECT_ERROR; no decoder can tell, so that one is not copied.)
 * BINARY_EVENT / BINARY_ACK are written as EVENT / ACK: binary nodes in `data` become bin
 * values in place. SIO_EINVAL for a type above BINARY_ACK, an id above SIO_ACK_ID_MAX, or
 * a tree socketio/msgpack.h cannot encode; `out` is left as it was on error. */
int sio_packet_encode_msgpack(sio_pkt_type type, const char *nsp, int64_t id, const cJSON *data,
                              sbuf *out);

#endif
