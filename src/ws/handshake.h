/* The server side of the RFC 6455 opening handshake on a libmicrohttpd
 * request, shared by Engine.IO's WebSocket transport and the plain /ws
 * endpoint. */
#ifndef SIO_WS_HANDSHAKE_H
#define SIO_WS_HANDSHAKE_H

#include "http/server.h"

/* Whether r is a well-formed WebSocket upgrade (GET, Upgrade: websocket,
 * Connection: upgrade, version 13, a 16-byte base64 key); on success accept
 * holds the Sec-WebSocket-Accept value (28 chars + NUL). */
int ws_handshake_check(http_req *r, char accept[29]);

/* Whether the request offers permessage-deflate that we accept (every
 * Sec-WebSocket-Extensions line is looked at, first acceptable offer wins);
 * if so resp (WS_DEFLATE_RESPONSE_MAX bytes, ws/deflate.h) holds the
 * Sec-WebSocket-Extensions value for the 101. */
int ws_handshake_deflate(http_req *r, char *resp);

#endif
