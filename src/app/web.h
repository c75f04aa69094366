/* Routes every app gets: the static site (the demo page) and the
 * socket.io-client browser bundle next to the Engine.IO path (like the
 * reference's serveClient). /healthz and /metrics are the runtime's
 * (sio/runtime.h). */
#ifndef SIO_APP_WEB_H
#define SIO_APP_WEB_H

#include "sio/eio.h"

typedef struct web_options {
    const char *static_dir;       /* NULL: no static site */
    const char *client_dir;       /* socket.io-client/dist; NULL: not served */
    const char *eio_path;         /* "/socket.io/" */
    const char *html_csp;         /* Content-Security-Policy of the static site's
                                     HTML pages; NULL: none */
    size_t compression_threshold; /* text files of at least this size are sent
                                     gzip/deflate-coded to clients that take it,
                                     compressed once; 0: never */
    const char *admin_ui_dir;     /* @socket.io/admin-ui's ui/dist, served at
                                     /admin/; NULL: not served */
} web_options;

/* The Content-Security-Policy fitting the demo page (js-client/). */
extern const char web_demo_csp[];

typedef struct web web;

/* Register the routes (the options are copied). NULL with *err set. */
web *web_install(sio_http *http, const web_options *o, int *err);
/* Remove the routes; before the listener is freed. */
void web_free(web *w);

#endif
