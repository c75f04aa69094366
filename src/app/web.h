/* Routes every app gets: the static site (the demo page), the socket.io-client
 * browser bundle next to the Engine.IO path (like the reference's
 * serveClient), /healthz and /metrics. */
#ifndef SIO_APP_WEB_H
#define SIO_APP_WEB_H

#include "sio/eio.h"

typedef struct web_options {
    const char *static_dir; /* NULL: no static site */
    const char *client_dir; /* socket.io-client/dist; NULL: not served */
    const char *eio_path;   /* "/socket.io/" */
} web_options;

/* Register the routes; the strings must outlive the listener. */
int web_install(sio_http *http, const web_options *o);

#endif
