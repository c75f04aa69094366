#include "util/slab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK ((size_t)64 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_MALLOC 1
#endif
#endif
#ifndef SLAB_MALLOC
#define SLAB_MALLOC 0
#endif

/* The head of every chunk; objects follow it. A chunk is CHUNK-aligned, so
 * an object finds its chunk (and pool) by masking its address. */
struct chunk {
    slab_pool *pool;
    struct chunk *prev, *next; /* in pool->partial while a slot is free */
    void *free;                /* freed slots, each holding the next */
    uint32_t used;             /* objects alive */
    uint32_t bump;             /* slots ever handed out: the rest are untouched */
};

/* Under AddressSanitizer: the pool, in front of each object (16 bytes keep
 * malloc's alignment). */
struct mhdr {
    slab_pool *pool;
    size_t pad;
};

struct slab_pool {
    size_t size;
    uint32_t per_chunk;
    uint8_t released;
    struct chunk *partial; /* chunks with a free slot, the last one freed into first */
    struct chunk *empty;   /* one emptied chunk kept against map/unmap churn */
    size_t live;
    size_t chunks;
};

#define HDR ((sizeof(struct chunk) + 15) & ~(size_t)15)

slab_pool *slab_new(size_t size) {
    if (size > (CHUNK - HDR) / 4) return NULL; /* for small objects only */
    slab_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->size = size < sizeof(void *) ? sizeof(void *) : (size + 7) & ~(size_t)7;
    p->per_chunk = (uint32_t)((CHUNK - HDR) / p->size);
    return p;
}

size_t slab_live(const slab_pool *p) {
    return p->live;
}
size_t slab_chunks(const slab_pool *p) {
    return p->chunks;
}

static void pool_destroy(slab_pool *p) {
    if (p->empty) munmap(p->empty, CHUNK);
    free(p);
}

void slab_release(slab_pool *p) {
    if (!p) return;
    p->released = 1;
    if (!p->live) pool_destroy(p);
}

static struct chunk *chunk_map(slab_pool *p) {
    /* Twice the size, then trimmed to one aligned CHUNK. */
    uint8_t *m = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)m + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1));
    if (a > m) munmap(m, (size_t)(a - m));
    if (a + CHUNK < m + 2 * CHUNK) munmap(a + CHUNK, (size_t)(m + 2 * CHUNK - (a + CHUNK)));
    struct chunk *c = (struct chunk *)a;
    c->pool = p;
    return c;
}

static void partial_add(slab_pool *p, struct chunk *c) {
    c->prev = NULL;
    c->next = p->partial;
    if (p->partial) p->partial->prev = c;
    p->partial = c;
}

static void partial_remove(slab_pool *p, struct chunk *c) {
    if (c->prev)
        c->prev->next = c->next;
    else
        p->partial = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static int chunk_full(const slab_pool *p, const struct chunk *c) {
    return !c->free && c->bump == p->per_chunk;
}

void *slab_calloc(slab_pool *p) {
    if (SLAB_MALLOC) {
        struct mhdr *h = calloc(1, sizeof *h + p->size);
        if (!h) return NULL;
        h->pool = p;
        p->live++;
        return h + 1;
    }
    struct chunk *c = p->partial;
    if (!c) {
        if (p->empty) {
            c = p->empty;
            p->empty = NULL;
            p->chunks++;
        } else if ((c = chunk_map(p))) {
            p->chunks++;
        } else {
            return NULL;
        }
        partial_add(p, c);
    }
    void *o;
    if (c->free) {
        o = c->free;
        memcpy(&c->free, o, sizeof(void *));
    } else {
        o = (uint8_t *)c + HDR + (size_t)c->bump * p->size;
        c->bump++;
    }
    c->used++;
    if (chunk_full(p, c)) partial_remove(p, c);
    p->live++;
    memset(o, 0, p->size);
    return o;
}

void slab_free(void *obj) {
    if (!obj) return;
    slab_pool *p;
    if (SLAB_MALLOC) {
        struct mhdr *h = (struct mhdr *)obj - 1;
        p = h->pool;
        free(h);
    } else {
        struct chunk *c = (struct chunk *)((uintptr_t)obj & ~(uintptr_t)(CHUNK - 1));
        p = c->pool;
        int was_full = chunk_full(p, c);
        memcpy(obj, &c->free, sizeof(void *));
        c->free = obj;
        c->used--;
        if (was_full) partial_add(p, c);
        if (!c->used) {
            /* Empty: its pages go back to the system, but one chunk is kept
             * so a pool at the edge of a chunk does not map and unmap. */
            partial_remove(p, c);
            c->free = NULL;
            c->bump = 0;
            if (!p->empty && !p->released) {
                madvise(c, CHUNK, MADV_DONTNEED);
                c->pool = p;
                p->empty = c;
            } else {
                munmap(c, CHUNK);
            }
            p->chunks--;
        }
    }
    p->live--;
    if (p->released && !p->live) pool_destroy(p);
}
