#include "http/zcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sio/status.h"
#include "util/buf.h"

struct entry {
    struct entry *prev, *next; /* most recently used first */
    sbuf_shared *body;         /* a reference; NULL: send the file as it is */
    off_t size;
    struct timespec mtime;
    ino_t ino;
    dev_t dev;
    int coding;
    char path[];
};

struct http_zcache {
    struct entry *head, *tail;
    size_t n, bytes;
    size_t threshold;
};

http_zcache *http_zcache_new(size_t threshold) {
    http_zcache *c = calloc(1, sizeof *c);
    if (c) c->threshold = threshold;
    return c;
}

size_t http_zcache_threshold(const http_zcache *c) {
    return c->threshold;
}

static void unlink_entry(http_zcache *c, struct entry *e) {
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(http_zcache *c, struct entry *e) {
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
}

static void drop(http_zcache *c, struct entry *e) {
    unlink_entry(c, e);
    if (e->body) c->bytes -= e->body->len;
    c->n--;
    sbuf_shared_unref(e->body);
    free(e);
}

void http_zcache_free(http_zcache *c) {
    if (!c) return;
    while (c->head)
        drop(c, c->head);
    free(c);
}

static int same_file(const struct entry *e, const struct stat *st) {
    return e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
           e->mtime.tv_nsec == st->st_mtim.tv_nsec && e->ino == st->st_ino && e->dev == st->st_dev;
}

/* The whole file, or NULL (it changed size under us, or a read failed). */
static uint8_t *slurp(int fd, size_t size) {
    uint8_t *p = malloc(size ? size : 1);
    size_t got = 0;
    while (p && got < size) {
        ssize_t r = pread(fd, p + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(p);
            return NULL;
        }
        got += (size_t)r;
    }
    return p;
}

/* The variant itself, or NULL when the file is better sent as it is; *keep:
 * whether that answer holds until the file changes (not after a failed read
 * or an allocation). */
static sbuf_shared *make(zcodec *z, const struct stat *st, int fd, int coding, int *keep) {
    *keep = 1;
    if (st->st_size < 0 || (uint64_t)st->st_size > ZCACHE_MAX_FILE) return NULL;
    *keep = 0;
    size_t size = (size_t)st->st_size;
    uint8_t *raw = z ? slurp(fd, size) : NULL;
    if (!raw) return NULL;
    sbuf out = SBUF_INIT;
    sbuf_shared *b = NULL;
    if (zc_compress(z, (zc_format)coding, raw, size, &out) == SIO_OK) {
        if (out.len < size) b = sbuf_shared_new(out.data, out.len);
        *keep = out.len >= size || b != NULL;
    }
    sbuf_free(&out);
    free(raw);
    return b;
}

sbuf_shared *http_zcache_get(http_zcache *c, zcodec *z, const char *path, const struct stat *st,
                             int fd, int coding) {
    if (!c) return NULL;
    for (struct entry *e = c->head; e; e = e->next) {
        if (e->coding != coding || strcmp(e->path, path) != 0) continue;
        if (same_file(e, st)) {
            unlink_entry(c, e);
            push_front(c, e);
            return e->body ? sbuf_shared_ref(e->body) : NULL;
        }
        drop(c, e); /* the file changed: its old variant is stale */
        break;
    }
    size_t pl = strlen(path);
    struct entry *e = calloc(1, sizeof *e + pl + 1);
    if (!e) return NULL;
    memcpy(e->path, path, pl + 1);
    e->size = st->st_size;
    e->mtime = st->st_mtim;
    e->ino = st->st_ino;
    e->dev = st->st_dev;
    e->coding = coding;
    int keep;
    e->body = make(z, st, fd, coding, &keep);
    if (!keep) {
        free(e);
        return NULL;
    }
    size_t len = e->body ? e->body->len : 0; /* <= ZCACHE_MAX_FILE < ZCACHE_MAX_BYTES */
    while (c->head && (c->n >= ZCACHE_MAX_ENTRIES || c->bytes + len > ZCACHE_MAX_BYTES))
        drop(c, c->tail);
    push_front(c, e);
    c->n++;
    c->bytes += len;
    return e->body ? sbuf_shared_ref(e->body) : NULL;
}
