/* Fixed-size objects that live long (sessions, connections) kept in chunks of
 * their own. From malloc, each would sit between the short-lived allocations
 * of the handshakes in flight beside it and, once those are freed, leave
 * holes the process keeps: measured here at ~0.25 KiB per idle session with
 * 256 handshakes in flight (and ~0 with one). A pool hands out slots of one
 * size from 64 KiB chunks (bump first, so pages are touched as they fill),
 * keeps no per-object header, and unmaps a chunk when its last object goes.
 *
 * Under AddressSanitizer every object is its own malloc (with a small header
 * naming the pool), so use-after-free and leaks are still caught there: the
 * chunks are exercised by the other builds (test_slab runs in both). */
#ifndef SIO_UTIL_SLAB_H
#define SIO_UTIL_SLAB_H

#include <stddef.h>

typedef struct slab_pool slab_pool;

/* A pool of `size`-byte objects (8-byte aligned); NULL when out of memory. */
slab_pool *slab_new(size_t size);
/* A zeroed object, or NULL when out of memory. */
void *slab_calloc(slab_pool *p);
/* Give an object back (NULL is ignored). The pool is found from the object:
 * it may be freed after its owner released the pool. */
void slab_free(void *obj);
/* The owner is done with the pool: it goes when its last object does. */
void slab_release(slab_pool *p);
/* Objects alive, and chunks mapped (0 under AddressSanitizer). */
size_t slab_live(const slab_pool *p);
size_t slab_chunks(const slab_pool *p);

#endif
