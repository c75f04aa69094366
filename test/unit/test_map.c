/* The string-keyed hash map: put/get/del/replace, growth, iteration while
 * deleting, tombstones, and the empty state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio/status.h"
#include "util/map.h"

#define KEYLEN 16
#define MANY   100000

static void *V(uintptr_t i) {
    return (void *)i;
}

static int map_sane(const smap *m) {
    /* Invariants from the header: cap is a power of two (or 0), len counts
     * live slots, used counts live and deleted ones, and some slot is empty. */
    if (m->cap & (m->cap - 1)) return 0;
    if (m->cap == 0) return m->len == 0 && m->slots == NULL;
    size_t live = 0, used = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) used++;
    size_t pos = 0;
    while (smap_next(m, &pos))
        live++;
    return live == m->len && used == m->used && used < m->cap;
}

static void test_basic(void) {
    smap m = SMAP_INIT;
    size_t pos = 0;
    CHECK(smap_len(&m) == 0);
    CHECK(smap_get(&m, "a", 1) == NULL);
    CHECK(smap_del(&m, "a", 1) == NULL);
    CHECK(smap_next(&m, &pos) == NULL);

    CHECK(smap_put(&m, "alpha", 5, V(1)) == SIO_OK);
    CHECK(smap_put(&m, "beta", 4, V(2)) == SIO_OK);
    CHECK(smap_put(&m, "gamma", 5, V(3)) == SIO_OK);
    CHECK(smap_len(&m) == 3);
    CHECK(smap_get(&m, "alpha", 5) == V(1));
    CHECK(smap_get(&m, "beta", 4) == V(2));
    CHECK(smap_get(&m, "gamma", 5) == V(3));
    CHECK(smap_get(&m, "delta", 5) == NULL);
    CHECK(map_sane(&m));

    /* Keys compare by length and bytes, not as C strings. */
    CHECK(smap_get(&m, "alphabet", 5) == V(1));
    CHECK(smap_get(&m, "alpha", 4) == NULL);
    CHECK(smap_get(&m, "alphaX", 6) == NULL);
    CHECK(smap_put(&m, "al\0pha", 6, V(4)) == SIO_OK);
    CHECK(smap_get(&m, "al\0pha", 6) == V(4));
    CHECK(smap_get(&m, "al", 2) == NULL);
    CHECK(smap_put(&m, "", 0, V(5)) == SIO_OK); /* the empty key */
    CHECK(smap_get(&m, "", 0) == V(5));
    CHECK(smap_get(&m, "x", 0) == V(5));
    CHECK(smap_len(&m) == 5);

    /* Replace: same length, new value. */
    CHECK(smap_put(&m, "beta", 4, V(20)) == SIO_OK);
    CHECK(smap_len(&m) == 5);
    CHECK(smap_get(&m, "beta", 4) == V(20));
    /* NULL values are allowed (get cannot tell them from absence). */
    CHECK(smap_put(&m, "gamma", 5, NULL) == SIO_OK);
    CHECK(smap_get(&m, "gamma", 5) == NULL && smap_len(&m) == 5);

    CHECK(smap_del(&m, "beta", 4) == V(20));
    CHECK(smap_del(&m, "beta", 4) == NULL);
    CHECK(smap_get(&m, "beta", 4) == NULL);
    CHECK(smap_len(&m) == 4);
    CHECK(smap_get(&m, "alpha", 5) == V(1));
    CHECK(map_sane(&m));
    smap_free(&m);
    CHECK(m.slots == NULL && m.cap == 0 && m.len == 0 && m.used == 0);
    smap_free(&m); /* twice is harmless */
}

static void test_replace_key_pointer(void) {
    /* Keys are not copied; a replace must make the map use the new key, so
     * that the old one may be freed (a session renamed in place). */
    smap m = SMAP_INIT;
    char *k1 = strdup("session-id-1234");
    char *k2 = strdup("session-id-1234");
    CHECK(smap_put(&m, k1, strlen(k1), V(1)) == SIO_OK);
    CHECK(smap_put(&m, "other", 5, V(9)) == SIO_OK);
    CHECK(smap_put(&m, k2, strlen(k2), V(2)) == SIO_OK);
    free(k1); /* ASan reports any later use of the old key */
    CHECK(smap_get(&m, "session-id-1234", 15) == V(2));
    size_t pos = 0;
    smap_slot *s;
    int found = 0;
    while ((s = smap_next(&m, &pos)))
        if (s->val == V(2)) found = s->key == k2 && s->klen == 15;
    CHECK(found);
    /* Growth rehashes without touching the keys. */
    static char keys[1000][KEYLEN];
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], KEYLEN, "k%d", i);
        CHECK(smap_put(&m, keys[i], strlen(keys[i]), V((uintptr_t)i + 100)) == SIO_OK);
    }
    CHECK(smap_get(&m, "session-id-1234", 15) == V(2));
    CHECK(smap_del(&m, "session-id-1234", 15) == V(2));
    free(k2);
    CHECK(smap_len(&m) == 1001);
    smap_free(&m);
}

static char (*many_keys)[KEYLEN];

static void test_many(void) {
    many_keys = malloc(sizeof(*many_keys) * MANY);
    smap m = SMAP_INIT;
    for (int i = 0; i < MANY; i++) {
        snprintf(many_keys[i], KEYLEN, "key:%d", i);
        CHECK(smap_put(&m, many_keys[i], strlen(many_keys[i]), V((uintptr_t)i + 1)) == SIO_OK);
    }
    CHECK(smap_len(&m) == MANY);
    CHECK(map_sane(&m));
    /* Load factor stays at or below 3/4. */
    CHECK(m.used * 4 <= m.cap * 3);

    int bad = 0;
    for (int i = 0; i < MANY; i++)
        if (smap_get(&m, many_keys[i], strlen(many_keys[i])) != V((uintptr_t)i + 1)) bad++;
    CHECK(bad == 0);
    char miss[KEYLEN];
    bad = 0;
    for (int i = MANY; i < 2 * MANY; i++) {
        snprintf(miss, sizeof miss, "key:%d", i);
        if (smap_get(&m, miss, strlen(miss)) != NULL) bad++;
    }
    CHECK(bad == 0);

    /* Delete the even ones. */
    bad = 0;
    for (int i = 0; i < MANY; i += 2)
        if (smap_del(&m, many_keys[i], strlen(many_keys[i])) != V((uintptr_t)i + 1)) bad++;
    CHECK(bad == 0);
    CHECK(smap_len(&m) == MANY / 2);
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        void *v = smap_get(&m, many_keys[i], strlen(many_keys[i]));
        if (v != (i % 2 ? V((uintptr_t)i + 1) : NULL)) bad++;
    }
    CHECK(bad == 0);
    CHECK(map_sane(&m));

    /* Iteration visits every live entry exactly once. */
    unsigned char *seen = calloc(MANY, 1);
    size_t pos = 0, visits = 0;
    smap_slot *s;
    while ((s = smap_next(&m, &pos))) {
        uintptr_t v = (uintptr_t)s->val - 1;
        if (v < MANY) seen[v]++;
        visits++;
    }
    CHECK(visits == MANY / 2);
    bad = 0;
    for (int i = 0; i < MANY; i++)
        if (seen[i] != (i % 2)) bad++;
    CHECK(bad == 0);

    /* Put the even ones back. */
    for (int i = 0; i < MANY; i += 2)
        CHECK(smap_put(&m, many_keys[i], strlen(many_keys[i]), V((uintptr_t)i + 1)) == SIO_OK);
    CHECK(smap_len(&m) == MANY);
    bad = 0;
    for (int i = 0; i < MANY; i++)
        if (smap_get(&m, many_keys[i], strlen(many_keys[i])) != V((uintptr_t)i + 1)) bad++;
    CHECK(bad == 0);
    CHECK(map_sane(&m));

    /* Iterate while deleting some (the multiples of 3) of the entries. */
    memset(seen, 0, MANY);
    pos = 0;
    visits = 0;
    size_t deleted = 0;
    while ((s = smap_next(&m, &pos))) {
        uintptr_t v = (uintptr_t)s->val - 1;
        if (v < MANY) seen[v]++;
        visits++;
        if (v % 3 == 0) {
            CHECK(smap_del(&m, s->key, s->klen) == V(v + 1));
            deleted++;
        }
    }
    CHECK(visits == MANY);
    bad = 0;
    for (int i = 0; i < MANY; i++)
        if (seen[i] != 1) bad++;
    CHECK(bad == 0);
    CHECK(smap_len(&m) == MANY - deleted);
    bad = 0;
    for (int i = 0; i < MANY; i++) {
        void *v = smap_get(&m, many_keys[i], strlen(many_keys[i]));
        if (v != (i % 3 ? V((uintptr_t)i + 1) : NULL)) bad++;
    }
    CHECK(bad == 0);

    /* Iterate while deleting everything: ends empty, memory released. */
    memset(seen, 0, MANY);
    pos = 0;
    visits = 0;
    while ((s = smap_next(&m, &pos))) {
        uintptr_t v = (uintptr_t)s->val - 1;
        if (v < MANY) seen[v]++;
        visits++;
        CHECK(smap_del(&m, s->key, s->klen) == V(v + 1));
    }
    CHECK(visits == MANY - deleted);
    CHECK(smap_len(&m) == 0);
    CHECK(m.slots == NULL && m.cap == 0 && m.used == 0);
    pos = 0;
    CHECK(smap_next(&m, &pos) == NULL);
    bad = 0;
    for (int i = 0; i < MANY; i++)
        if (smap_get(&m, many_keys[i], strlen(many_keys[i])) != NULL) bad++;
    CHECK(bad == 0);

    /* The emptied map is usable again. */
    CHECK(smap_put(&m, many_keys[7], strlen(many_keys[7]), V(7)) == SIO_OK);
    CHECK(smap_get(&m, many_keys[7], strlen(many_keys[7])) == V(7));
    CHECK(smap_len(&m) == 1);
    smap_free(&m);
    free(seen);
    free(many_keys);
}

static void test_tombstones(void) {
    smap m = SMAP_INIT;
    static char keys[64][KEYLEN];
    for (int i = 0; i < 64; i++)
        snprintf(keys[i], KEYLEN, "t%d", i);

    /* Deleting and re-adding the same key reuses its slot. */
    CHECK(smap_put(&m, "keep", 4, V(1)) == SIO_OK);
    for (int i = 0; i < 4; i++)
        CHECK(smap_put(&m, keys[i], strlen(keys[i]), V(2)) == SIO_OK);
    size_t used = m.used, cap = m.cap;
    CHECK(smap_del(&m, keys[2], strlen(keys[2])) == V(2));
    CHECK(m.used == used && m.len == 4);
    CHECK(smap_put(&m, keys[2], strlen(keys[2]), V(3)) == SIO_OK);
    CHECK(m.used == used && m.cap == cap && m.len == 5);
    CHECK(smap_get(&m, keys[2], strlen(keys[2])) == V(3));
    smap_free(&m);

    /* A lookup walks past a tombstone to the key behind it. */
    CHECK(smap_put(&m, "keep", 4, V(1)) == SIO_OK);
    for (int i = 0; i < 5; i++)
        CHECK(smap_put(&m, keys[i], strlen(keys[i]), V(10 + i)) == SIO_OK);
    for (int i = 0; i < 5; i += 2)
        CHECK(smap_del(&m, keys[i], strlen(keys[i])) == V(10 + i));
    for (int i = 1; i < 5; i += 2)
        CHECK(smap_get(&m, keys[i], strlen(keys[i])) == V(10 + i));
    CHECK(map_sane(&m));
    smap_free(&m);

    /* Churn: one permanent key and a long stream of short-lived ones. The
     * table must not grow without bound from tombstones, and every lookup
     * must terminate (there is always an empty slot). */
    static char churn[2][KEYLEN];
    CHECK(smap_put(&m, "keep", 4, V(1)) == SIO_OK);
    size_t max_cap = 0;
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        char *k = churn[i & 1];
        snprintf(k, KEYLEN, "c%d", i);
        if (smap_put(&m, k, strlen(k), V((uintptr_t)i + 2)) != SIO_OK) bad++;
        if (smap_get(&m, k, strlen(k)) != V((uintptr_t)i + 2)) bad++;
        if (smap_del(&m, k, strlen(k)) != V((uintptr_t)i + 2)) bad++;
        if (m.cap > max_cap) max_cap = m.cap;
        if (m.used >= m.cap) bad++;
    }
    CHECK(bad == 0);
    CHECK(max_cap <= 16);
    CHECK(smap_len(&m) == 1 && smap_get(&m, "keep", 4) == V(1));
    CHECK(map_sane(&m));

    /* Same with a bigger working set. */
    static char live[1000][KEYLEN];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 1000; i++) {
            snprintf(live[i], KEYLEN, "r%d-%d", round, i);
            if (smap_put(&m, live[i], strlen(live[i]), V((uintptr_t)i + 1))) bad++;
        }
        for (int i = 0; i < 1000; i++)
            if (smap_del(&m, live[i], strlen(live[i])) != V((uintptr_t)i + 1)) bad++;
        if (m.cap > max_cap) max_cap = m.cap;
    }
    CHECK(bad == 0);
    CHECK(max_cap <= 4096);
    CHECK(smap_len(&m) == 1);
    CHECK(smap_del(&m, "keep", 4) == V(1));
    CHECK(m.len == 0 && m.slots == NULL && m.cap == 0);
    smap_free(&m);
}

int main(void) {
    test_basic();
    test_replace_key_pointer();
    test_many();
    test_tombstones();
    return CHECK_DONE();
}
