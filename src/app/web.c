#include "app/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/http.h"
#include "sio/status.h"

/* The demo page loads only its own files (app.js, style.css, the client
 * bundle) and talks only to its own origin (polling and WebSocket: CSP 3
 * lets 'self' match ws:/wss: of the same host); it has no inline script or
 * style, and its icon is a data: URL. */
const char web_demo_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct web {
    sio_http_files *site;
    sio_http_files *client;
    sio_http_files *admin_ui;
};

web *web_install(sio_http *http, const web_options *o, int *err) {
    web *w = calloc(1, sizeof *w);
    *err = SIO_ENOMEM;
    if (!w) return NULL;
    *err = SIO_OK;
    if (o->static_dir) {
        sio_http_dir site = {o->static_dir, "no-cache", "/",
                             o->html_csp,   NULL,       o->compression_threshold};
        w->site = sio_http_serve_dir(http, "/", &site, err);
    }
    if (*err == SIO_OK && o->client_dir && o->eio_path) {
        /* The reference serves these names from socket.io-client's dist
         * folder, with "Cache-Control: public, max-age=0" and an ETag: the
         * names carry no version, so a browser must revalidate (a cheap 304)
         * to see an upgrade. The route is <path>socket.io. (<path> is
         * Engine.IO's). */
        static const char *const files[] = {
            "socket.io.js",         "socket.io.js.map",         "socket.io.min.js",
            "socket.io.min.js.map", "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
            "socket.io.esm.min.js", "socket.io.esm.min.js.map", NULL};
        /* At "<path>/socket.io.js" whether the path ends in a slash or not
         * (socket.io serves `${path without slash}/socket.io.js`). */
        size_t n = strlen(o->eio_path);
        while (n > 1 && o->eio_path[n - 1] == '/')
            n--;
        char base[256], prefix[sizeof base + 16];
        snprintf(base, sizeof base, "%.*s%s", (int)n, o->eio_path,
                 n == 1 && o->eio_path[0] == '/' ? "" : "/");
        snprintf(prefix, sizeof prefix, "%ssocket.io.", base);
        sio_http_dir client = {o->client_dir, "public, max-age=0",     base, NULL,
                               files,         o->compression_threshold};
        w->client = sio_http_serve_dir(http, prefix, &client, err);
    }
    if (*err == SIO_OK && o->admin_ui_dir) {
        /* The admin UI's built front-end: its index.html names its files
         * relatively (js/app.*.js), so it works under any prefix. Its names
         * carry a content hash, its index.html none: revalidate. It loads
         * fonts from public CDNs, so no CSP of ours. */
        sio_http_dir ui = {o->admin_ui_dir,         "no-cache", "/admin/", NULL, NULL,
                           o->compression_threshold};
        w->admin_ui = sio_http_serve_dir(http, "/admin/", &ui, err);
    }
    if (*err != SIO_OK) {
        web_free(w);
        return NULL;
    }
    return w;
}

void web_free(web *w) {
    if (!w) return;
    sio_http_files_free(w->site);
    sio_http_files_free(w->client);
    sio_http_files_free(w->admin_ui);
    free(w);
}
