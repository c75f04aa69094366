/* Sans-I/O codec for Socket.IO v5 packets (the default socket.io-parser format):
 *
 *   <type>[<attachments>-][<nsp>,][<ack id>][<JSON payload>]
 *
 * followed, for BINARY_EVENT / BINARY_ACK, by one Engine.IO binary message per
 * attachment. Binary values live in the cJSON tree as sio/json.h binary nodes. */
#ifndef SIO_PACKET_H
#define SIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sio/json.h"
#include "util/buf.h"

typedef enum {
    SIO_PKT_CONNECT = 0,
    SIO_PKT_DISCONNECT,
    SIO_PKT_EVENT,
    SIO_PKT_ACK,
    SIO_PKT_CONNECT_ERROR,
    SIO_PKT_BINARY_EVENT,
    SIO_PKT_BINARY_ACK,
} sio_pkt_type;

/* Ack ids are limited to 15 decimal digits so they stay exact in a JavaScript number. */
#define SIO_ACK_ID_MAX 999999999999999LL

typedef struct sio_packet {
    /* The decoder reports BINARY_EVENT / BINARY_ACK as EVENT / ACK, like the reference
     * parser: once attachments are in place the distinction is only a wire detail. */
    sio_pkt_type type;
    char *nsp;   /* owned, "/" when absent */
    int64_t id;  /* -1 when absent */
    cJSON *data; /* owned, NULL when absent; binary placeholders already replaced */
} sio_packet;

/* Free a packet from the decoder (NULL is fine). */
void sio_packet_free(sio_packet *pkt);

/* JSON text as JSON.parse reads it (the whole of s[0..n), whitespace around), with
 * U+0000 in strings kept as sio/json.h's flagged U+FDD0 stand-in: SIO_OK or
 * SIO_EPARSE. For the packet decoder, and adapters reading JSON from other nodes. */
int sio_json_parse_text(const char *s, size_t n, cJSON **out);

/* Decoder state for one Engine.IO connection; a binary packet spans several messages. */
typedef struct sio_decoder {
    size_t max_attachments;
    sio_packet *pending; /* binary packet whose attachments are still arriving */
    size_t expected;     /* attachments announced by `pending` */
    size_t received;     /* attachments consumed so far */
    /* Placeholder node for each attachment (NULL when unreferenced): the inline array
     * when `expected` <= 16, else `slots_heap`, so the struct stays movable. */
    cJSON **slots_heap;
    cJSON *slots_inline[16];
} sio_decoder;

/* Prepare a decoder accepting at most `max_attachments` attachments per packet. */
void sio_decoder_init(sio_decoder *d, size_t max_attachments);
/* Feed one text message: SIO_OK with *out a packet (caller frees) or NULL while attachments
 * are awaited; SIO_EPARSE, SIO_ETOOBIG or SIO_ENOMEM. After an error, reset or drop the
 * connection. */
int sio_decoder_feed_text(sio_decoder *d, const char *s, size_t n, sio_packet **out);
/* Feed one binary message (the next attachment); results as for sio_decoder_feed_text. */
int sio_decoder_feed_binary(sio_decoder *d, const uint8_t *p, size_t n, sio_packet **out);
/* Drop any partially received packet; the decoder stays usable. */
void sio_decoder_reset(sio_decoder *d);

typedef struct sio_attachment {
    const uint8_t *data; /* points into the encoded cJSON tree */
    size_t len;
} sio_attachment;

/* Binary attachments of an encoded packet, in wire order. Valid while the tree lives. */
typedef struct sio_attachment_list {
    size_t count;
    size_t cap;           /* capacity of `heap`; 0 while the inline array suffices */
    sio_attachment *heap; /* used instead of `inline_items` once more than 16 are needed */
    sio_attachment inline_items[16];
} sio_attachment_list;

#define SIO_ATTACHMENT_LIST_INIT                                                                   \
    { .count = 0 }

/* Prepare an empty list. */
void sio_attachment_list_init(sio_attachment_list *l);
/* Release overflow storage; the list is empty and reusable afterwards. */
void sio_attachment_list_free(sio_attachment_list *l);
/* The `count` attachments, contiguous. */
const sio_attachment *sio_attachment_list_items(const sio_attachment_list *l);

/* Append the text form of a packet to `text` and list its attachments in `bins` (emptied
 * first; may be NULL when `data` has no binary). EVENT / ACK become BINARY_EVENT /
 * BINARY_ACK when `data` holds binary nodes. SIO_EINVAL for a namespace that does not
 * start with '/' or contains ',', an id above SIO_ACK_ID_MAX, or binary data in a packet
 * type that cannot carry it; `text` is left as it was on error. */
int sio_packet_encode(sio_pkt_type type, const char *nsp, int64_t id, const cJSON *data, sbuf *text,
                      sio_attachment_list *bins);

#endif
