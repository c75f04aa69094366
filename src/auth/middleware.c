/* The JWT connect middleware and the claims table beside the sockets.
 *
 * The table is an open-addressing hash map (linear probing, deletion by
 * backward shift, so no tombstones) from the socket pointer to an entry that
 * also holds a copy of the socket id: a socket freed without
 * sio_socket_forget_claims leaves an entry whose id no longer matches what
 * lives at that address, so it is never handed to another socket and is
 * dropped as soon as a socket at that address touches the table. */
#include "sio/auth.h"
#include "sio/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/jwt.h"
#include "sio/status.h"
#include "util/log.h"

typedef struct claims_entry {
    const sio_socket *sock;
    cJSON *claims;
    char id[]; /* the socket id when the claims were attached */
} claims_entry;

static struct {
    claims_entry **slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
} table;

static size_t home(const sio_socket *s) {
    uint64_t x = (uint64_t)(uintptr_t)s;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (table.cap - 1);
}

/* The slot holding s, or SIZE_MAX. */
static size_t find(const sio_socket *s) {
    if (!table.cap) return SIZE_MAX;
    for (size_t i = home(s);; i = (i + 1) & (table.cap - 1)) {
        if (!table.slots[i]) return SIZE_MAX;
        if (table.slots[i]->sock == s) return i;
    }
}

static void remove_at(size_t i) {
    size_t mask = table.cap - 1;
    cJSON_Delete(table.slots[i]->claims);
    free(table.slots[i]);
    table.slots[i] = NULL;
    table.len--;
    /* Pull back later entries of the run that may no longer be reachable. */
    for (size_t j = (i + 1) & mask; table.slots[j]; j = (j + 1) & mask) {
        size_t k = home(table.slots[j]->sock);
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        table.slots[i] = table.slots[j];
        table.slots[j] = NULL;
        i = j;
    }
    if (table.len == 0) {
        free(table.slots);
        table.slots = NULL;
        table.cap = 0;
    }
}

static int grow(void) {
    size_t ncap = table.cap ? table.cap * 2 : 16;
    claims_entry **ns = calloc(ncap, sizeof *ns);
    if (!ns) return SIO_ENOMEM;
    claims_entry **old = table.slots;
    size_t ocap = table.cap;
    table.slots = ns;
    table.cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i]) continue;
        size_t j = home(old[i]->sock);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = old[i];
    }
    free(old);
    return SIO_OK;
}

/* The live entry of s, or SIZE_MAX (dropping a stale one found on the way). */
static size_t lookup(const sio_socket *s) {
    size_t i = find(s);
    if (i == SIZE_MAX) return i;
    if (strcmp(table.slots[i]->id, sio_socket_id(s)) != 0) {
        remove_at(i);
        return SIZE_MAX;
    }
    return i;
}

int sio_socket_set_claims(sio_socket *s, cJSON *claims) {
    /* Entries then go with their socket, even one refused by a later
     * middleware that never reaches a disconnect handler. */
    sio_socket_free_hook = sio_socket_forget_claims;
    if (!claims) {
        sio_socket_forget_claims(s);
        return SIO_OK;
    }
    size_t i = lookup(s);
    if (i != SIZE_MAX) {
        cJSON_Delete(table.slots[i]->claims);
        table.slots[i]->claims = claims;
        return SIO_OK;
    }
    const char *id = sio_socket_id(s);
    size_t idlen = strlen(id);
    claims_entry *e = malloc(sizeof *e + idlen + 1);
    if (!e || ((table.len + 1) * 2 > table.cap && grow())) {
        free(e);
        cJSON_Delete(claims);
        return SIO_ENOMEM;
    }
    e->sock = s;
    e->claims = claims;
    memcpy(e->id, id, idlen + 1);
    size_t j = home(s);
    while (table.slots[j])
        j = (j + 1) & (table.cap - 1);
    table.slots[j] = e;
    table.len++;
    return SIO_OK;
}

const cJSON *sio_socket_claims(const sio_socket *s) {
    size_t i = lookup(s);
    return i == SIZE_MAX ? NULL : table.slots[i]->claims;
}

const char *sio_jwt_subject(const sio_socket *s) {
    const cJSON *c = sio_socket_claims(s);
    const cJSON *sub = c ? cJSON_GetObjectItemCaseSensitive(c, "sub") : NULL;
    return cJSON_IsString(sub) ? sub->valuestring : NULL;
}

void sio_socket_forget_claims(sio_socket *s) {
    size_t i = find(s);
    if (i != SIZE_MAX) remove_at(i);
}

static int64_t now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int sio_jwt_middleware(sio_socket *s, const cJSON *auth, void *ud) {
    const sio_jwt_auth *cfg = ud;
    /* An auth payload that has a "token" member decides, even when it is
     * not a string; the query parameter is only the fallback. */
    const cJSON *t = cJSON_IsObject(auth) ? cJSON_GetObjectItemCaseSensitive(auth, "token") : NULL;
    const char *token =
        t ? (cJSON_IsString(t) ? t->valuestring : NULL) : sio_socket_query(s, "token");
    cJSON *claims = NULL;
    int rc;
    if (!cfg)
        rc = SIO_EINVAL;
    else if (!token)
        rc = SIO_JWT_EMALFORMED;
    else
        rc = sio_jwt_verify(token, strlen(token), cfg->secret, cfg->secret_len, now_s(),
                            cfg->skew_s, cfg->allow_no_exp ? SIO_JWT_ALLOW_NO_EXP : 0, &claims);
    if (rc == SIO_OK) {
        rc = sio_socket_set_claims(s, claims);
        if (rc == SIO_OK) return SIO_MW_NEXT;
        sio_refuse(s, "server error", NULL);
        return SIO_MW_REFUSE;
    }
    log_info("auth: socket %s from %s refused: %s", sio_socket_id(s), sio_socket_address(s),
             token ? sio_jwt_strerror(rc) : "no token");
    sio_socket_forget_claims(s); /* drop a stale entry at this address, if any */
    sio_refuse(s, "unauthorized", NULL);
    return SIO_MW_REFUSE;
}
