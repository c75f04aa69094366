/* Files from a directory over HTTP: the demo page and the socket.io-client
 * browser bundle. Paths are confined to the directory; ETag/If-None-Match
 * answer unchanged files with 304. */
#ifndef SIO_HTTP_STATIC_H
#define SIO_HTTP_STATIC_H

#include "http/server.h"

/* Serve `rel` (a path relative to root, '/'-separated, no query) from root;
 * answers 404 for anything missing or outside root, 405 for methods other
 * than GET and HEAD. cache_control may be NULL. */
void http_serve_file(http_req *r, const char *root, const char *rel, const char *cache_control);
/* Content type for a file name, by extension. */
const char *http_content_type(const char *name);

#endif
