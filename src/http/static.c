#include "http/static.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char *http_content_type(const char *name) {
    static const struct {
        const char *ext;
        const char *type;
    } t[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "application/javascript; charset=utf-8"},
        {".mjs", "application/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".map", "application/json; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof t / sizeof t[0]; i++)
        if (strcasecmp(dot, t[i].ext) == 0) return t[i].type;
    return "application/octet-stream";
}

static int safe_relative(const char *rel) {
    /* No "..", no empty or hidden segments' tricks, no NUL (MHD gives C
     * strings), no backslashes: what remains stays under root. */
    if (strstr(rel, "..") || strchr(rel, '\\')) return 0;
    return 1;
}

void http_serve_file(http_req *r, const char *root, const char *rel, const char *cache_control) {
    http_method m = http_req_method(r);
    if (m != HTTP_GET && m != HTTP_HEAD) {
        static const char *const h[] = {"Allow", "GET, HEAD", NULL};
        http_respond(r, 405, "text/plain", "Method Not Allowed", 18, h);
        return;
    }
    while (*rel == '/')
        rel++;
    char path[PATH_MAX];
    if (!*rel) rel = "index.html";
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    struct stat st;
    int fd = -1;
    if (safe_relative(rel) && n > 0 && (size_t)n < sizeof path) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
        return;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime);
    const char *inm = http_req_header(r, "If-None-Match");
    const char *h[] = {"ETag", etag, "Cache-Control", cache_control ? cache_control : "no-cache",
                       NULL};
    if (inm && strcmp(inm, etag) == 0) {
        close(fd);
        http_respond(r, 304, NULL, "", 0, h);
        return;
    }
    http_respond_fd(r, 200, http_content_type(rel), fd, (uint64_t)st.st_size, h);
}
