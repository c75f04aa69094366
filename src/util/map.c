#include "util/map.h"

#include <stdlib.h>
#include <string.h>

#include "sio/status.h"

static const char tomb_mark;
#define TOMB (&tomb_mark)

static uint32_t hash_bytes(const char *p, size_t n) {
    /* FNV-1a: keys are short (session ids, room names) and not attacker-chosen
     * in bulk beyond what the connection limits allow. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static smap_slot *find(const smap *m, const char *key, size_t klen, uint32_t h) {
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        smap_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->key != TOMB && s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
}

void *smap_get(const smap *m, const char *key, size_t klen) {
    smap_slot *s = find(m, key, klen, hash_bytes(key, klen));
    return s ? s->val : NULL;
}

static int grow(smap *m, size_t cap) {
    smap_slot *old = m->slots;
    size_t oldcap = m->cap;
    smap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return SIO_ENOMEM;
    m->slots = slots;
    m->cap = cap;
    m->used = m->len;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key || old[i].key == TOMB) continue;
        size_t j = old[i].hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = old[i];
    }
    free(old);
    return SIO_OK;
}

int smap_put(smap *m, const char *key, size_t klen, void *val) {
    uint32_t h = hash_bytes(key, klen);
    smap_slot *s = find(m, key, klen, h);
    if (s) {
        s->key = key;
        s->val = val;
        return SIO_OK;
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap : 8;
        while ((m->len + 1) * 2 > cap)
            cap *= 2;
        if (grow(m, cap)) return SIO_ENOMEM;
    }
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != TOMB)
        i = (i + 1) & mask;
    if (!m->slots[i].key) m->used++;
    m->slots[i] = (smap_slot){key, (uint32_t)klen, h, val};
    m->len++;
    return SIO_OK;
}

void *smap_del(smap *m, const char *key, size_t klen) {
    smap_slot *s = find(m, key, klen, hash_bytes(key, klen));
    if (!s) return NULL;
    void *v = s->val;
    s->key = TOMB;
    s->val = NULL;
    m->len--;
    if (m->len == 0) {
        /* Drop tombstones and memory once empty: rooms come and go. */
        free(m->slots);
        m->slots = NULL;
        m->cap = m->used = 0;
    }
    return v;
}

smap_slot *smap_next(const smap *m, size_t *pos) {
    while (*pos < m->cap) {
        smap_slot *s = &m->slots[(*pos)++];
        if (s->key && s->key != TOMB) return s;
    }
    return NULL;
}

void smap_free(smap *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = m->used = 0;
}
