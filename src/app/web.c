#include "app/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "http/static.h"
#include "sio/status.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/metrics.h"

#define DEFAULT_METRICS_ALLOW "127.0.0.0/8,::1"

/* The demo page loads only its own files (app.js, style.css, the client
 * bundle) and talks only to its own origin (polling and WebSocket: CSP 3
 * lets 'self' match ws:/wss: of the same host); it has no inline script or
 * style, and its icon is a data: URL. */
const char web_demo_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct web {
    web_options o;
    cidr_list metrics_allow;
    char client_prefix[256];
    http_zcache *zc; /* compressed files, both routes'; NULL: none */
};

static void serve_static(web *w, http_req *r) {
    http_serve_file(r, w->o.static_dir, http_req_path(r), "no-cache", w->o.html_csp, w->zc);
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
    const char *name = http_req_path(r) + strlen(w->client_prefix) - strlen("socket.io.");
    for (size_t i = 0; files[i]; i++) {
        if (strcmp(name, files[i]) == 0) {
            http_serve_file(r, w->o.client_dir, files[i], "public, max-age=0", NULL, w->zc);
            return;
        }
    }
    http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
}

static void on_metrics(http_req *r, void *ud) {
    web *w = ud;
    if (strcmp(http_req_path(r), "/metrics") != 0) {
        serve_static(w, r);
        return;
    }
    /* The client as --trust-proxy resolves it: behind a trusted proxy the
     * proxy's own loopback address does not count. */
    if (!cidr_list_match(&w->metrics_allow, http_req_remote_addr(r))) {
        static const char *const h[] = {"Cache-Control", "no-store", NULL};
        http_respond(r, 403, "text/plain", "Forbidden", 9, h);
        return;
    }
    sbuf out = SBUF_INIT;
    metrics_render(&out);
    static const char *const h[] = {"Cache-Control", "no-store", NULL};
    http_respond_take(r, 200, "text/plain; version=0.0.4", out.data, out.len, h);
}

static void on_healthz(http_req *r, void *ud) {
    if (strcmp(http_req_path(r), "/healthz") != 0) {
        serve_static(ud, r);
        return;
    }
    static const char body[] = "{\"status\":\"ok\"}";
    static const char *const h[] = {"Cache-Control", "no-store", NULL};
    http_respond(r, 200, "application/json", body, sizeof body - 1, h);
}

web *web_install(sio_http *http, const web_options *o, int *err) {
    web *w = calloc(1, sizeof *w);
    *err = SIO_ENOMEM;
    if (!w) return NULL;
    w->o = *o;
    *err = cidr_list_parse(&w->metrics_allow,
                           o->metrics_allow ? o->metrics_allow : DEFAULT_METRICS_ALLOW);
    if (*err) {
        free(w);
        return NULL;
    }
    if (o->compression_threshold && !(w->zc = http_zcache_new(o->compression_threshold))) {
        web_free(w);
        *err = SIO_ENOMEM;
        return NULL;
    }
    int r = http_server_route(http, "/metrics", on_metrics, w, 0);
    if (r == SIO_OK) r = http_server_route(http, "/healthz", on_healthz, w, 0);
    if (r == SIO_OK && w->o.static_dir) r = http_server_route(http, "/", on_static, w, 0);
    if (r == SIO_OK && w->o.client_dir && w->o.eio_path) {
        /* At "<path>/socket.io.js" whether the path ends in a slash or not
         * (socket.io serves `${path without slash}/socket.io.js`). */
        size_t n = strlen(w->o.eio_path);
        while (n > 1 && w->o.eio_path[n - 1] == '/')
            n--;
        snprintf(w->client_prefix, sizeof w->client_prefix, "%.*s%ssocket.io.", (int)n,
                 w->o.eio_path, n == 1 && w->o.eio_path[0] == '/' ? "" : "/");
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
    if (!w) return;
    cidr_list_free(&w->metrics_allow);
    http_zcache_free(w->zc);
    free(w);
}
