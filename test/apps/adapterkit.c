/* --app adapterkit: a third-party adapter on the public interface alone
 * (include/sio/adapter.h), for test/integration/sio_adapter.test.mjs. Its
 * factory has server-wide state (open/close) and makes, per namespace, an
 * adapter that wraps the memory adapter and counts what the core asks of it.
 * Namespaces "/" and "/other"; the bench events (echo, join, leave, to, all)
 * and:
 *   stats        ack with {opened, created, joins, leaves, leave_all,
 *                broadcasts, each, nsp} (the namespace's own counts, and the
 *                factory's opened/created)
 *   fetch        ack with the ids sio_fetch_sockets (through the adapter's
 *                each) finds in the namespace
 * At sio_server_free the factory's close prints
 *   "adapterkit: closed after N namespaces" on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/handlers.h"
#include "sio/adapter.h"
#include "sio/sio.h"

typedef struct counting counting;

/* The app, and the factory's state (its ud): what open and create saw. */
struct kit {
    sio_server *srv;
    int opened;
    int created;
    counting *adapters[2]; /* "/" and "/other" */
};

struct counting {
    sio_adapter base;
    sio_adapter *mem;
    struct kit *st;
    unsigned long joins, leaves, leave_all, broadcasts, each;
};

#define MEM(a) (((counting *)(a))->mem)

static int c_join(sio_adapter *a, sio_socket *s, const char *room) {
    ((counting *)a)->joins++;
    return MEM(a)->ops->join(MEM(a), s, room);
}
static void c_leave(sio_adapter *a, sio_socket *s, const char *room) {
    ((counting *)a)->leaves++;
    MEM(a)->ops->leave(MEM(a), s, room);
}
static void c_leave_all(sio_adapter *a, sio_socket *s) {
    ((counting *)a)->leave_all++;
    MEM(a)->ops->leave_all(MEM(a), s);
}
static int c_has(sio_adapter *a, const sio_socket *s, const char *room) {
    return MEM(a)->ops->has(MEM(a), s, room);
}
static void c_rooms_of(sio_adapter *a, const sio_socket *s, void (*fn)(const char *, void *),
                       void *ud) {
    MEM(a)->ops->rooms_of(MEM(a), s, fn, ud);
}
static void c_each(sio_adapter *a, const sio_target *t, void (*fn)(sio_socket *, void *),
                   void *ud) {
    ((counting *)a)->each++;
    MEM(a)->ops->each(MEM(a), t, fn, ud);
}
static int c_broadcast(sio_adapter *a, const sio_adapter_packet *p, const sio_target *t) {
    ((counting *)a)->broadcasts++;
    return MEM(a)->ops->broadcast(MEM(a), p, t);
}
static size_t c_room_count(sio_adapter *a) {
    return MEM(a)->ops->room_count(MEM(a));
}
static void c_free(sio_adapter *a) {
    MEM(a)->ops->free(MEM(a));
    free(a);
}

static const sio_adapter_ops c_ops = {c_join, c_leave, c_leave_all, c_has, c_rooms_of, c_each,
                                      c_broadcast, c_room_count, c_free,
                                      /* a single node: no cluster hooks */
                                      NULL, NULL, NULL, NULL, NULL,
                                      /* no recovery */
                                      NULL, NULL, NULL, NULL};

static int k_open(sio_server *srv, void *ud, void **state) {
    struct kit *k = ud;
    k->opened++;
    *state = k;
    return SIO_OK;
}

static sio_adapter *k_create(sio_namespace *nsp, void *state) {
    counting *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->base.ops = &c_ops;
    c->base.nsp = nsp;
    c->st = state;
    c->mem = sio_memory_adapter_new(nsp);
    if (!c->mem) {
        free(c);
        return NULL;
    }
    if (c->st->created < 2) c->st->adapters[c->st->created] = c;
    c->st->created++;
    return &c->base;
}

static void k_close(void *state) {
    struct kit *k = state;
    printf("adapterkit: closed after %d namespaces\n", k->created);
    fflush(stdout);
}

static counting *adapter_of(struct kit *k, sio_namespace *nsp) {
    for (size_t i = 0; i < 2; i++)
        if (k->adapters[i] && k->adapters[i]->base.nsp == nsp) return k->adapters[i];
    return NULL;
}

static void on_stats(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    counting *c = adapter_of(ud, sio_socket_nsp(s));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "opened", c->st->opened);
    cJSON_AddNumberToObject(o, "created", c->st->created);
    cJSON_AddNumberToObject(o, "joins", (double)c->joins);
    cJSON_AddNumberToObject(o, "leaves", (double)c->leaves);
    cJSON_AddNumberToObject(o, "leave_all", (double)c->leave_all);
    cJSON_AddNumberToObject(o, "broadcasts", (double)c->broadcasts);
    cJSON_AddNumberToObject(o, "each", (double)c->each);
    cJSON_AddStringToObject(o, "nsp", sio_nsp_name(c->base.nsp));
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, o);
    if (ack >= 0) sio_ack(s, ack, a);
    cJSON_Delete(a);
}

struct fetch_ack {
    char id[64];
    int64_t ack;
};

static void fetched(sio_namespace *nsp, int status, cJSON *sockets, void *ud) {
    struct fetch_ack *f = ud;
    sio_socket *s = sio_nsp_find_socket(nsp, f->id);
    cJSON *ids = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, sockets) {
        cJSON_AddItemToArray(
            ids, cJSON_CreateString(cJSON_GetStringValue(cJSON_GetObjectItem(it, "id"))));
    }
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, ids);
    if (s) sio_ack(s, f->ack, a);
    cJSON_Delete(a);
    free(f);
}

static void on_fetch(sio_socket *s, const char *ev, cJSON *args, int64_t ack, void *ud) {
    struct fetch_ack *f = calloc(1, sizeof *f);
    if (!f || ack < 0) {
        free(f);
        return;
    }
    snprintf(f->id, sizeof f->id, "%s", sio_socket_id(s));
    f->ack = ack;
    if (sio_fetch_sockets(sio_socket_nsp(s), NULL, fetched, f) != SIO_OK) free(f);
}

static int setup(struct kit *k, const char *name) {
    sio_namespace *n = sio_of(k->srv, name);
    if (!n) return SIO_ENOMEM;
    int r = app_register_bench(n, k);
    if (!r) r = sio_on(n, "stats", on_stats, k);
    if (!r) r = sio_on(n, "fetch", on_fetch, k);
    return r;
}

static void stop(void *app);

static void *start(const app_env *env, int *err) {
    struct kit *k = calloc(1, sizeof *k);
    if (!k) {
        *err = SIO_ENOMEM;
        return NULL;
    }
    sio_options o = *env->sio;
    sio_adapter_factory f = {k_open, k_create, k_close, k}; /* copied */
    o.adapter = &f;
    k->srv = sio_server_new(env->loop, env->http, env->eio, &o, err);
    if (!k->srv) {
        free(k);
        return NULL;
    }
    int r = setup(k, "/"); /* made by sio_server_new */
    if (!r) r = setup(k, "/other");
    if (r || !k->adapters[0] || !k->adapters[1]) {
        *err = r ? r : SIO_ENOMEM;
        stop(k);
        return NULL;
    }
    return k;
}

static void shutdown_app(void *app) {
    sio_server_shutdown(((struct kit *)app)->srv);
}

static size_t sessions(void *app) {
    return sio_server_connections(((struct kit *)app)->srv);
}

static void stop(void *app) {
    struct kit *k = app;
    sio_server_free(k->srv);
    free(k);
}

const app_def app_adapterkit = {"adapterkit",
                                "integration-test app: a custom adapter (test/apps/adapterkit.c)",
                                start,
                                shutdown_app,
                                sessions,
                                stop,
                                0};
