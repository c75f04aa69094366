/* Files from a directory over HTTP: the demo page and the socket.io-client
 * browser bundle. Only regular files inside the directory are served: the
 * path is walked one component at a time from the directory with
 * O_NOFOLLOW, so no symbolic link below the directory is ever followed; no
 * component may start with '.' (dotfiles, "." and ".."), be empty or hold a
 * backslash; files are opened O_NONBLOCK and checked to be regular before
 * anything is read (a FIFO or a device never blocks the loop). Anything else
 * is 404, the same as a missing file. ETag/If-None-Match and
 * Last-Modified/If-Modified-Since answer unchanged files with 304. */
#ifndef SIO_HTTP_STATIC_H
#define SIO_HTTP_STATIC_H

#include "http/server.h"
#include "http/zcache.h"

/* Serve `rel` (a path relative to root, '/'-separated, no query; leading
 * slashes ignored, "" is index.html) from root; answers 404 for anything
 * missing, refused or outside root, 405 for methods other than GET and HEAD.
 * cache_control may be NULL ("no-cache"). html_csp: the
 * Content-Security-Policy sent with text/html files, or NULL for none.
 * zc: where compressed variants of text files of at least its threshold are
 * kept (http/zcache.h), sent to clients whose Accept-Encoding takes gzip or
 * deflate, each with its own ETag (the file's, "-gzip" / "-deflate" inside
 * the quotes) and all with "Vary: Accept-Encoding"; NULL: never compressed. */
void http_serve_file(http_req *r, const char *root, const char *rel, const char *cache_control,
                     const char *html_csp, http_zcache *zc);
/* Content type for a file name, by extension. */
const char *http_content_type(const char *name);
/* Whether rel is a path http_serve_file may open (the checks above, without
 * touching the file system): 1 or 0. */
int http_static_path_ok(const char *rel);

#endif
