#include "admin/auth.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/map.h"

#define SESSIONS       256  /* remembered session ids (the oldest is dropped) */
#define SESSION_LEN    16   /* hex characters, as the reference's randomBytes(8) */
#define THROTTLED_MAX  4096 /* addresses remembered for their failures */
#define DELAY_FIRST_MS 1000 /* after the first failure; doubled per failure */
#define DELAY_MAX_MS   30000
#define FORGET_MS      600000 /* an address quiet this long after its wait is forgotten */

struct throttle {
    char addr[64];
    uint32_t failures;
    uint64_t until_ms; /* attempts wait until then */
};

/* A password attempt waiting for its address's delay. */
struct attempt {
    sio_timer timer; /* first: the timer callback finds the attempt */
    admin_auth *a;
    sio_socket *s;
    struct attempt *prev, *next;
};

struct admin_auth {
    sio_loop *loop;
    char *username;
    char hash[61];
    struct crypt_data *cd; /* ~32 KiB: one, reused (one loop thread) */
    char sessions[SESSIONS][SESSION_LEN + 1];
    size_t next_session;
    smap throttled; /* address -> struct throttle */
    struct attempt *attempts;
};

int admin_auth_valid_hash(const char *h) {
    static const char b64[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (!h || strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) ||
        h[3] != '$' || h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$')
        return 0;
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31) return 0;
    for (size_t i = 7; i < 60; i++)
        if (!strchr(b64, h[i])) return 0;
    return 1;
}

admin_auth *admin_auth_new(sio_loop *loop, const char *username, const char *hash) {
    admin_auth *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->loop = loop;
    a->username = strdup(username);
    a->cd = calloc(1, sizeof *a->cd);
    if (!a->username || !a->cd) {
        admin_auth_free(a);
        return NULL;
    }
    snprintf(a->hash, sizeof a->hash, "%s", hash);
    return a;
}

static void attempt_unlink(struct attempt *t) {
    if (t->prev)
        t->prev->next = t->next;
    else
        t->a->attempts = t->next;
    if (t->next) t->next->prev = t->prev;
}

void admin_auth_free(admin_auth *a) {
    if (!a) return;
    while (a->attempts) {
        struct attempt *t = a->attempts;
        attempt_unlink(t);
        sio_timer_stop(a->loop, &t->timer);
        sio_socket *s = t->s;
        free(t);
        sio_refuse(s, "invalid credentials", NULL);
        sio_middleware_done(s, SIO_MW_REFUSE);
    }
    size_t pos = 0;
    smap_slot *slot;
    while ((slot = smap_next(&a->throttled, &pos)))
        free(slot->val);
    smap_free(&a->throttled);
    free(a->username);
    if (a->cd) explicit_bzero(a->cd, sizeof *a->cd);
    free(a->cd);
    explicit_bzero(a, sizeof *a);
    free(a);
}

/* Equal strings of the hash's length, in time independent of where they differ. */
static int same_hash(const char *x, const char *y) {
    if (!x || strlen(x) != 60) return 0;
    unsigned char d = 0;
    for (size_t i = 0; i < 60; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

static int password_ok(admin_auth *a, const cJSON *auth) {
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(auth, "username");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(auth, "password");
    if (!cJSON_IsString(u) || !cJSON_IsString(p) || strcmp(u->valuestring, a->username) != 0)
        return 0;
    memset(a->cd, 0, sizeof *a->cd);
    const char *out = crypt_r(p->valuestring, a->hash, a->cd);
    int ok = same_hash(out, a->hash);
    explicit_bzero(a->cd, sizeof *a->cd); /* the key schedule of the password */
    return ok;
}

static int session_known(const admin_auth *a, const char *id) {
    if (strlen(id) != SESSION_LEN) return 0;
    for (size_t i = 0; i < SESSIONS; i++)
        if (a->sessions[i][0] && strcmp(a->sessions[i], id) == 0) return 1;
    return 0;
}

/* A fresh session id, remembered; NULL when the kernel gave no randomness. */
static const char *session_new(admin_auth *a) {
    unsigned char raw[SESSION_LEN / 2];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return NULL;
    char *slot = a->sessions[a->next_session];
    a->next_session = (a->next_session + 1) % SESSIONS;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(slot + 2 * i, 3, "%02x", raw[i]);
    return slot;
}

static struct throttle *throttle_of(admin_auth *a, const char *addr, int create) {
    struct throttle *t = smap_get(&a->throttled, addr, strlen(addr));
    if (t || !create || strlen(addr) >= sizeof t->addr) return t;
    if (smap_len(&a->throttled) >= THROTTLED_MAX) {
        uint64_t now = sio_loop_now(a->loop);
        size_t pos = 0;
        smap_slot *slot;
        while ((slot = smap_next(&a->throttled, &pos))) {
            struct throttle *old = slot->val;
            if (old->until_ms + FORGET_MS < now) {
                smap_del(&a->throttled, old->addr, strlen(old->addr));
                free(old);
            }
        }
        if (smap_len(&a->throttled) >= THROTTLED_MAX) return NULL; /* not tracked */
    }
    t = calloc(1, sizeof *t);
    if (!t) return NULL;
    snprintf(t->addr, sizeof t->addr, "%s", addr);
    if (smap_put(&a->throttled, t->addr, strlen(t->addr), t)) {
        free(t);
        return NULL;
    }
    return t;
}

/* Check the password now; on success the session id goes into the socket's
 * data (the admin namespace's sockets are the admin's) for the "session"
 * event once connected. */
static int verify(admin_auth *a, sio_socket *s) {
    const char *addr = sio_socket_address(s);
    if (password_ok(a, sio_socket_auth(s))) {
        struct throttle *t = throttle_of(a, addr, 0);
        if (t) {
            smap_del(&a->throttled, t->addr, strlen(t->addr));
            free(t);
        }
        const char *id = session_new(a);
        char *copy = id ? strdup(id) : NULL;
        if (copy) {
            sio_socket_set_data(s, copy);
            return SIO_MW_NEXT;
        }
        sio_refuse(s, "server error", NULL);
        return SIO_MW_REFUSE;
    }
    struct throttle *t = throttle_of(a, addr, 1);
    if (t) {
        uint64_t delay = DELAY_FIRST_MS;
        for (uint32_t i = 0; i < t->failures && delay < DELAY_MAX_MS; i++)
            delay *= 2;
        if (delay > DELAY_MAX_MS) delay = DELAY_MAX_MS;
        t->failures++;
        t->until_ms = sio_loop_now(a->loop) + delay;
    }
    sio_refuse(s, "invalid credentials", NULL);
    return SIO_MW_REFUSE;
}

static void attempt_due(sio_loop *loop, sio_timer *timer) {
    struct attempt *t = (struct attempt *)timer;
    admin_auth *a = t->a;
    sio_socket *s = t->s;
    attempt_unlink(t);
    free(t);
    /* A client that left meanwhile costs no bcrypt; the verdict is ignored. */
    int v = sio_socket_session(s) ? verify(a, s) : SIO_MW_REFUSE;
    sio_middleware_done(s, v);
}

int admin_auth_middleware(sio_socket *s, const cJSON *auth, void *ud) {
    admin_auth *a = ud;
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(auth, "sessionId");
    if (cJSON_IsString(sid) && session_known(a, sid->valuestring)) return SIO_MW_NEXT;
    struct throttle *t = throttle_of(a, sio_socket_address(s), 0);
    uint64_t now = sio_loop_now(a->loop);
    if (!t || t->until_ms <= now) return verify(a, s);
    /* This address failed lately: the attempt waits, the loop does not. */
    struct attempt *w = calloc(1, sizeof *w);
    if (!w) {
        sio_refuse(s, "invalid credentials", NULL);
        return SIO_MW_REFUSE;
    }
    w->a = a;
    w->s = s;
    w->next = a->attempts;
    if (w->next) w->next->prev = w;
    a->attempts = w;
    sio_timer_start(a->loop, &w->timer, t->until_ms - now, attempt_due);
    return SIO_MW_PENDING;
}

char *admin_auth_take_session(sio_socket *s) {
    char *id = sio_socket_data(s);
    sio_socket_set_data(s, NULL);
    return id;
}
