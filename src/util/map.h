/* String-keyed hash map (open addressing, linear probing). Keys are not
 * copied: each key must stay valid, unchanged, while its entry is in the map,
 * which suits values that carry their own name (a session id, a room name). */
#ifndef SIO_UTIL_MAP_H
#define SIO_UTIL_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct smap_slot {
    const char *key; /* NULL: empty; SMAP_TOMB: deleted */
    uint32_t klen;
    uint32_t hash;
    void *val;
} smap_slot;

typedef struct smap {
    smap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
    size_t used; /* live + deleted slots */
} smap;

#define SMAP_INIT                                                                                  \
    { NULL, 0, 0, 0 }

/* The value stored under key, or NULL. */
void *smap_get(const smap *m, const char *key, size_t klen);
/* Insert or replace; SIO_OK or SIO_ENOMEM. */
int smap_put(smap *m, const char *key, size_t klen, void *val);
/* Remove and return the value, or NULL when absent. */
void *smap_del(smap *m, const char *key, size_t klen);
/* Iterate: start with *pos = 0; returns the next slot or NULL at the end.
 * Deleting the returned entry during iteration is allowed. */
smap_slot *smap_next(const smap *m, size_t *pos);
void smap_free(smap *m);
static inline size_t smap_len(const smap *m) {
    return m->len;
}

#endif
