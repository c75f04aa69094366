/* Files from a directory on the HTTP listener (the one Engine.IO shares),
 * served the careful way: only regular files inside the directory (the path
 * is walked one component at a time with O_NOFOLLOW, so no symbolic link is
 * followed; no component may start with '.', be empty or hold a backslash;
 * FIFOs and devices are refused without blocking), GET and HEAD only (405
 * otherwise), ETag / Last-Modified revalidation (304), X-Content-Type-Options
 * nosniff; anything else is 404, the same as a missing file. Text files can
 * be sent gzip/deflate-coded to clients that take it, compressed once and
 * kept (at most 8 MiB of variants per route, least recently used dropped).
 *
 *   sio_http_dir site = {"/srv/www", NULL, "/", NULL, NULL, 1024};
 *   sio_http_files *f = sio_http_serve_dir(http, "/", &site, &err);
 *   ...
 *   sio_http_files_free(f);   // before sio_http_free */
#ifndef SIO_HTTP_H
#define SIO_HTTP_H

#include <stddef.h>

#include "sio/eio.h"
#include "sio/export.h"

SIO_BEGIN_DECLS

typedef struct sio_http_dir {
    const char *root;          /* the directory */
    const char *cache_control; /* Cache-Control of the answers; NULL: "no-cache" */
    /* The part of the request path removed before looking in root; NULL:
     * the route's prefix ("/": "/a/b.js" is root/a/b.js; "" is index.html). */
    const char *strip;
    const char *html_csp; /* Content-Security-Policy of text/html answers; NULL: none */
    /* NULL-terminated names (after strip) that may be served, nothing else
     * (404); NULL: any file under root. */
    const char *const *only;
    /* Text files of at least this many bytes go gzip/deflate-coded to
     * clients whose Accept-Encoding takes it (own ETag, Vary:
     * Accept-Encoding); 0: never. */
    size_t compression_threshold;
} sio_http_dir;

typedef struct sio_http_files sio_http_files;

/* Serve d->root at every request path that starts with prefix (the longest
 * matching route of the listener wins, so "/" serves what no other route
 * takes). d and its strings are copied. NULL with *err set (SIO_EINVAL: no
 * root, or strip is not a prefix of prefix; SIO_ENOMEM). */
sio_http_files *sio_http_serve_dir(sio_http *http, const char *prefix, const sio_http_dir *d,
                                   int *err);
/* Remove the route and free; before sio_http_free. NULL is allowed. */
void sio_http_files_free(sio_http_files *f);

SIO_END_DECLS

#endif
