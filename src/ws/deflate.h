/* permessage-deflate negotiation (RFC 7692), sans-I/O: a Sec-WebSocket-
 * Extensions offer in, the response to send back out.
 *
 * The server keeps no compression state per connection (util/zcodec.h: one
 * zlib context per loop, reset after every message), so whatever the client
 * offers, the answer asks for no context takeover in both directions:
 * server_no_context_takeover (each message we send stands alone) and
 * client_no_context_takeover (each message the client sends stands alone, so
 * it inflates with a fresh stream). RFC 7692 7.1.1.1/7.1.1.2 let a server add
 * both to its answer unasked; npm `ws` 8 and Chromium accept that. */
#ifndef SIO_WS_DEFLATE_H
#define SIO_WS_DEFLATE_H

#include <stddef.h>

/* Data messages shorter than this go uncompressed (npm `ws`' and
 * engine.io's default threshold: below it deflate gains little and costs
 * the same fixed work). */
#define WS_DEFLATE_THRESHOLD 1024

/* Longest response ws_deflate_negotiate writes, NUL included. */
#define WS_DEFLATE_RESPONSE_MAX 112

/* Pick the first acceptable permessage-deflate offer of a
 * Sec-WebSocket-Extensions value (several offers, comma-separated). An offer
 * is declined when a parameter is unknown, repeated or has an invalid value
 * (RFC 7692 section 5), or when it asks for server_max_window_bits below 15
 * (we compress with a 32 KiB window); a value that does not parse at all
 * ends the search. Returns 1 and writes the response into resp (at least
 * WS_DEFLATE_RESPONSE_MAX bytes), or 0: no extension. */
int ws_deflate_negotiate(const char *offers, char *resp, size_t cap);

#endif
