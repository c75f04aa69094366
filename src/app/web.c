#include "app/web.h"

#include <stdio.h>
#include <string.h>

#include "http/server.h"
#include "http/static.h"
#include "sio/status.h"
#include "util/buf.h"
#include "util/metrics.h"

static web_options opts;

static void on_static(http_req *r, void *ud) {
    http_serve_file(r, opts.static_dir, http_req_path(r), "no-cache");
}

/* The reference serves these names from socket.io-client's dist folder. */
static void on_client(http_req *r, void *ud) {
    static const char *const files[] = {
        "socket.io.js",         "socket.io.js.map",         "socket.io.min.js",
        "socket.io.min.js.map", "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
        "socket.io.esm.min.js", "socket.io.esm.min.js.map", NULL};
    const char *name = http_req_path(r) + strlen(opts.eio_path);
    for (size_t i = 0; files[i]; i++) {
        if (strcmp(name, files[i]) == 0) {
            http_serve_file(r, opts.client_dir, files[i], "public, max-age=0");
            return;
        }
    }
    http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
}

static void on_metrics(http_req *r, void *ud) {
    if (strcmp(http_req_path(r), "/metrics") != 0) {
        http_serve_file(r, opts.static_dir ? opts.static_dir : "/nonexistent", http_req_path(r),
                        "no-cache");
        return;
    }
    sbuf out = SBUF_INIT;
    metrics_render(&out);
    http_respond_take(r, 200, "text/plain; version=0.0.4", out.data, out.len, NULL);
}

static void on_healthz(http_req *r, void *ud) {
    if (strcmp(http_req_path(r), "/healthz") != 0) {
        http_serve_file(r, opts.static_dir ? opts.static_dir : "/nonexistent", http_req_path(r),
                        "no-cache");
        return;
    }
    static const char body[] = "{\"status\":\"ok\"}";
    static const char *const h[] = {"Cache-Control", "no-store", NULL};
    http_respond(r, 200, "application/json", body, sizeof body - 1, h);
}

int web_install(sio_http *http, const web_options *o) {
    opts = *o;
    int r = http_server_route(http, "/metrics", on_metrics, NULL, 0);
    if (r == SIO_OK) r = http_server_route(http, "/healthz", on_healthz, NULL, 0);
    if (opts.static_dir) r = http_server_route(http, "/", on_static, NULL, 0);
    if (r == SIO_OK && opts.client_dir && opts.eio_path) {
        static char prefix[256];
        snprintf(prefix, sizeof prefix, "%ssocket.io.", opts.eio_path);
        r = http_server_route(http, prefix, on_client, NULL, 0);
    }
    return r;
}
