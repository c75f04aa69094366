#include "http/static.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
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

/* Deepest path served; deeper requests are refused, not walked. */
#define MAX_DEPTH 32

int http_static_path_ok(const char *rel) {
    while (*rel == '/')
        rel++;
    if (!*rel) return 1; /* index.html */
    if (strlen(rel) >= PATH_MAX) return 0;
    int depth = 0;
    for (const char *p = rel;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        /* Empty ("a//b", "dir/"), hidden, "." and ".." alike. */
        if (n == 0 || p[0] == '.' || memchr(p, '\\', n) || ++depth > MAX_DEPTH) return 0;
        if (!e) return 1;
        p = e + 1;
    }
}

/* The regular file at rel under root, opened read-only, or -1.
 *
 * Race-free confinement: every component is opened relative to the
 * descriptor of the directory before it, with O_NOFOLLOW, so a symbolic link
 * anywhere below root (even one swapped in while we walk) fails with ELOOP
 * instead of leading out; nothing outside root is ever opened. (The other
 * way, realpath(root) against the path of the opened descriptor, would open
 * the link's target first, a FIFO or a device outside root included, and
 * needs /proc.) Symbolic links inside root are refused even when they point
 * inside it; links in root's own path are the operator's and are followed.
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
 * with the whole event loop; the fstatat() before the open keeps devices and
 * FIFOs from being opened at all in the common case, the fstat() after it
 * decides. */
static int open_under(const char *root, const char *rel, struct stat *st) {
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    if (dfd < 0) return -1;
    char name[NAME_MAX + 1];
    const char *p = rel;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > NAME_MAX) break;
        memcpy(name, p, n);
        name[n] = 0;
        if (!e) {
            int fd = -1;
            if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st->st_mode))
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
            if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
                close(fd);
                fd = -1;
            }
            close(dfd);
            return fd;
        }
        int next = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        close(dfd);
        if (next < 0) return -1;
        dfd = next;
        p = e + 1;
    }
    close(dfd);
    return -1;
}

/* If-None-Match: "*" or a comma-separated list of (possibly weak) tags; the
 * weak comparison of RFC 9110 13.1.2 applies to GET and HEAD. */
static int etag_listed(const char *list, const char *etag) {
    size_t el = strlen(etag);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        const char *q = p;
        if (t - q >= 2 && q[0] == 'W' && q[1] == '/') q += 2;
        if ((t - q == 1 && *q == '*') || ((size_t)(t - q) == el && memcmp(q, etag, el) == 0))
            return 1;
        p = e;
    }
    return 0;
}

/* Text compresses; images and archives are compressed already. */
static int compressible(const char *ctype) {
    return strncmp(ctype, "text/", 5) == 0 || strncmp(ctype, "application/javascript", 22) == 0 ||
           strncmp(ctype, "application/json", 16) == 0 || strcmp(ctype, "image/svg+xml") == 0;
}

static void unref_body(void *p) {
    sbuf_shared_unref(p);
}

void http_serve_file(http_req *r, const char *root, const char *rel, const char *cache_control,
                     const char *html_csp, http_zcache *zc) {
    http_method m = http_req_method(r);
    if (m != HTTP_GET && m != HTTP_HEAD) {
        static const char *const h[] = {"Allow", "GET, HEAD", NULL};
        http_respond(r, 405, "text/plain", "Method Not Allowed", 18, h);
        return;
    }
    while (*rel == '/')
        rel++;
    if (!*rel) rel = "index.html";
    struct stat st;
    int fd = root && http_static_path_ok(rel) ? open_under(root, rel, &st) : -1;
    if (fd < 0) {
        http_respond(r, 404, "text/plain", "Not Found", 9, NULL);
        return;
    }
    const char *ctype = http_content_type(rel);
    int html = strncmp(ctype, "text/html", 9) == 0;
    /* A compressed variant is another representation: its own ETag (RFC
     * 9110 8.8.3), and every answer for the file says that it varies. */
    int varies = zc && http_zcache_threshold(zc) &&
                 (uint64_t)st.st_size >= http_zcache_threshold(zc) && compressible(ctype);
    int coding = varies ? http_req_coding(r) : -1;
    sbuf_shared *coded = NULL;
    if (coding >= 0) {
        char key[PATH_MAX * 2];
        snprintf(key, sizeof key, "%s/%s", root, rel);
        coded = http_zcache_get(zc, http_server_zcodec(http_req_server(r)), key, &st, fd, coding);
    }
    char etag[80], modified[40];
    snprintf(etag, sizeof etag, "\"%llx-%llx%s%s\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime, coded ? "-" : "",
             coded ? zc_coding_name(coding) : "");
    struct tm tm;
    time_t mtime = st.st_mtime;
    if (!gmtime_r(&mtime, &tm) ||
        !strftime(modified, sizeof modified, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        modified[0] = 0;
    /* Why each header: see "Static files" in README.md. */
    const char *h[20];
    size_t n = 0;
    h[n++] = "ETag";
    h[n++] = etag;
    if (modified[0]) {
        h[n++] = "Last-Modified";
        h[n++] = modified;
    }
    h[n++] = "Cache-Control";
    h[n++] = cache_control ? cache_control : "no-cache";
    h[n++] = "Referrer-Policy";
    h[n++] = "no-referrer";
    if (varies) {
        h[n++] = "Vary";
        h[n++] = "Accept-Encoding";
    }
    if (html) {
        h[n++] = "X-Frame-Options";
        h[n++] = "DENY";
        if (html_csp) {
            h[n++] = "Content-Security-Policy";
            h[n++] = html_csp;
        }
    }
    h[n] = NULL;
    /* If-None-Match decides when present (RFC 9110 13.2.2); else an exact
     * If-Modified-Since echo of our Last-Modified (what browsers send). */
    const char *inm = http_req_header(r, "If-None-Match");
    const char *ims = http_req_header(r, "If-Modified-Since");
    if (inm ? etag_listed(inm, etag) : (ims && modified[0] && strcmp(ims, modified) == 0)) {
        close(fd);
        sbuf_shared_unref(coded);
        http_respond(r, 304, NULL, "", 0, h);
        return;
    }
    if (coded) {
        close(fd);
        h[n++] = "Content-Encoding";
        h[n++] = zc_coding_name(coding);
        h[n] = NULL;
        struct iovec v = {coded->data, coded->len};
        http_respond_iov(r, 200, ctype, &v, 1, unref_body, coded, h);
        return;
    }
    http_respond_fd(r, 200, ctype, fd, (uint64_t)st.st_size, h);
}
