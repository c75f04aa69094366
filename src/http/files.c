/* sio_http_serve_dir (include/sio/http.h): a route that hands each request to
 * http_serve_file (http/static.c, where the confinement is). */
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "http/static.h"
#include "http/zcache.h"
#include "sio/http.h"
#include "sio/status.h"

struct sio_http_files {
    http_server *http;
    char *root;
    char *cache_control;
    char *strip;
    char *html_csp;
    char **only;     /* NULL-terminated, or NULL */
    http_zcache *zc; /* compressed variants; NULL: none */
};

static void on_request(http_req *r, void *ud) {
    sio_http_files *f = ud;
    const char *path = http_req_path(r);
    size_t sl = strlen(f->strip);
    const char *rel = strncmp(path, f->strip, sl) == 0 ? path + sl : NULL;
    if (rel && f->only) {
        char **n = f->only;
        while (*n && strcmp(*n, rel) != 0)
            n++;
        if (!*n) rel = NULL;
    }
    if (!rel) {
        http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
        return;
    }
    http_serve_file(r, f->root, rel, f->cache_control, f->html_csp, f->zc);
}

/* A copy of s, or NULL for NULL; *ok cleared when out of memory. */
static char *dup_opt(const char *s, int *ok) {
    if (!s) return NULL;
    char *p = strdup(s);
    if (!p) *ok = 0;
    return p;
}

sio_http_files *sio_http_serve_dir(sio_http *http, const char *prefix, const sio_http_dir *d,
                                   int *err) {
    *err = SIO_EINVAL;
    if (!http || !prefix || !d || !d->root) return NULL;
    const char *strip = d->strip ? d->strip : prefix;
    if (strncmp(prefix, strip, strlen(strip)) != 0) return NULL;
    *err = SIO_ENOMEM;
    sio_http_files *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    int ok = 1;
    f->root = dup_opt(d->root, &ok);
    f->cache_control = dup_opt(d->cache_control, &ok);
    f->strip = dup_opt(strip, &ok);
    f->html_csp = dup_opt(d->html_csp, &ok);
    if (d->only) {
        size_t n = 0;
        while (d->only[n])
            n++;
        f->only = calloc(n + 1, sizeof *f->only);
        if (!f->only) ok = 0;
        for (size_t i = 0; f->only && i < n; i++)
            f->only[i] = dup_opt(d->only[i], &ok);
    }
    if (d->compression_threshold && !(f->zc = http_zcache_new(d->compression_threshold))) ok = 0;
    if (ok && (*err = http_server_route(http, prefix, on_request, f, 0)) == SIO_OK) {
        f->http = http;
        return f;
    }
    sio_http_files_free(f);
    return NULL;
}

void sio_http_files_free(sio_http_files *f) {
    if (!f) return;
    if (f->http) http_server_unroute(f->http, f);
    for (char **n = f->only; n && *n; n++)
        free(*n);
    free(f->only);
    free(f->root);
    free(f->cache_control);
    free(f->strip);
    free(f->html_csp);
    http_zcache_free(f->zc);
    free(f);
}
