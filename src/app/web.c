#include "app/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "http/static.h"
#include "sio/status.h"

/* The demo page loads only its own files (app.js, style.css, the client
 * bundle) and talks only to its own origin (polling and WebSocket: CSP 3
 * lets 'self' match ws:/wss: of the same host); it has no inline script or
 * style, and its icon is a data: URL. */
const char web_demo_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct web {
    web_options o;
    char client_prefix[256];
};

static void serve_static(web *w, http_req *r) {
    http_serve_file(r, w->o.static_dir, http_req_path(r), "no-cache", w->o.html_csp);
}

static void on_static(http_req *r, void *ud) {
    serve_static(ud, r);
}

/* The reference serves these names from socket.io-client's dist folder, with
 * "Cache-Control: public, max-age=0" and an ETag: the names carry no
 * version, so a browser must revalidate (a cheap 304) to see an upgrade. */
static void on_client(http_req *r, void *ud) {
    web *w = ud;
    static const char *const files[] = {
        "socket.io.js",         "socket.io.js.map",         "socket.io.min.js",
        "socket.io.min.js.map", "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
        "socket.io.esm.min.js", "socket.io.esm.min.js.map", NULL};
    const char *name = http_req_path(r) + strlen(w->o.eio_path);
    for (size_t i = 0; files[i]; i++) {
        if (strcmp(name, files[i]) == 0) {
            http_serve_file(r, w->o.client_dir, files[i], "public, max-age=0", NULL);
            return;
        }
    }
    http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
}

web *web_install(sio_http *http, const web_options *o, int *err) {
    web *w = calloc(1, sizeof *w);
    *err = SIO_ENOMEM;
    if (!w) return NULL;
    w->o = *o;
    int r = SIO_OK;
    if (w->o.static_dir) r = http_server_route(http, "/", on_static, w, 0);
    if (r == SIO_OK && w->o.client_dir && w->o.eio_path) {
        snprintf(w->client_prefix, sizeof w->client_prefix, "%ssocket.io.", w->o.eio_path);
        r = http_server_route(http, w->client_prefix, on_client, w, 0);
    }
    if (r != SIO_OK) {
        http_server_unroute(http, w);
        web_free(w);
        *err = r;
        return NULL;
    }
    return w;
}

void web_free(web *w) {
    free(w);
}
