/* Socket.IO v5 protocol on Engine.IO sessions: one sio_client per Engine.IO
 * session multiplexes sockets, one per namespace. Packets are decoded with the
 * sans-I/O codec (socketio/packet.c); rooms and broadcasts go through the
 * namespace's adapter. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sio/auth.h"
#include "socketio/internal.h"
#include "socketio/packet_msgpack.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"

static void socket_close(sio_socket *s, const char *reason, int tell_client);
static void client_fail(sio_client *c, const char *reason);

void sio_options_init(sio_options *o) {
    memset(o, 0, sizeof *o);
    o->connect_timeout_ms = 45000;
    o->max_attachments = 64;
    o->requests_timeout_ms = 5000;
    o->max_rooms_per_socket = 256;
    o->max_room_name = 256;
    o->recovery_log_bytes = 8u << 20;
}

/* ---------- encoding ---------- */

/* Whether srv->enc goes out as a binary Engine.IO message: the msgpack
 * parser's whole packet is one. */
static int enc_binary(const sio_server *srv) {
    return srv->o.parser == SIO_PARSER_MSGPACK;
}

/* Encode into srv->enc (text; with the msgpack parser, the whole packet) and
 * srv->bins (one binary message per attachment). The event name is prepended
 * to the caller's arguments with a stack node linked in front of them, so
 * their tree is never modified. */
static int encode(sio_server *srv, sio_pkt_type type, const char *nsp, int64_t id,
                  const char *event, const cJSON *args) {
    cJSON name, arr, empty;
    const cJSON *data = args;
    if (type == SIO_PKT_EVENT && event) {
        memset(&name, 0, sizeof name);
        memset(&arr, 0, sizeof arr);
        name.type = cJSON_String;
        name.valuestring = (char *)event;
        name.next = args ? args->child : NULL;
        arr.type = cJSON_Array;
        arr.child = &name;
        data = &arr;
    } else if ((type == SIO_PKT_ACK) && !args) {
        memset(&empty, 0, sizeof empty);
        empty.type = cJSON_Array;
        data = &empty;
    }
    sbuf_clear(&srv->enc);
    if (srv->o.parser == SIO_PARSER_MSGPACK) {
        srv->bins.count = 0;
        return sio_packet_encode_msgpack(type, nsp, id, data, &srv->enc);
    }
    return sio_packet_encode(type, nsp, id, data, &srv->enc, &srv->bins);
}

/* An EVENT of data ([event, ...args]) or of event + args, with offset (when
 * not NULL) as its last argument: a stack node is linked after the last
 * argument for the encoding and unlinked after it, so the caller's tree is as
 * it was when this returns. */
static int encode_offset(sio_server *srv, const char *nsp, const char *event, const cJSON *args,
                         const cJSON *data, const char *offset) {
    if (!offset)
        return data ? encode(srv, SIO_PKT_EVENT, nsp, -1, NULL, data)
                    : encode(srv, SIO_PKT_EVENT, nsp, -1, event, args);
    cJSON name, arr, off;
    memset(&name, 0, sizeof name);
    memset(&arr, 0, sizeof arr);
    memset(&off, 0, sizeof off);
    off.type = cJSON_String;
    off.valuestring = (char *)offset;
    cJSON *first;
    if (data) {
        first = data->child;
    } else {
        name.type = cJSON_String;
        name.valuestring = (char *)event;
        name.next = args ? args->child : NULL;
        first = &name;
    }
    cJSON *last = NULL;
    for (cJSON *c = first; c; c = c->next)
        last = c;
    if (last) last->next = &off;
    arr.type = cJSON_Array;
    arr.child = first ? first : &off;
    int r = encode(srv, SIO_PKT_EVENT, nsp, -1, NULL, &arr);
    if (last) last->next = NULL;
    return r;
}

/* The last encoded packet as a batch, for broadcasts. */
static int encoded_batch(sio_server *srv) {
    eio_batch_clear(&srv->batch);
    int r = eio_batch_add(&srv->batch, srv->enc.data, srv->enc.len, enc_binary(srv));
    const sio_attachment *a = sio_attachment_list_items(&srv->bins);
    for (size_t i = 0; r == SIO_OK && i < srv->bins.count; i++)
        r = eio_batch_add(&srv->batch, a[i].data, a[i].len, 1);
    return r;
}

/* The last encoded packet to one session, straight into its queue: a single
 * receiver needs no second encoding for the other transport. */
static int send_encoded(sio_server *srv, eio_session *es) {
    int r = eio_send(es, srv->enc.data, srv->enc.len, enc_binary(srv));
    const sio_attachment *a = sio_attachment_list_items(&srv->bins);
    for (size_t i = 0; r == SIO_OK && i < srv->bins.count; i++)
        r = eio_send(es, a[i].data, a[i].len, 1);
    return r;
}

/* event_sent for one receiver of an observed broadcast, with the packet's
 * offset (recovery) as the last argument, as the reference's listeners see
 * its data: linked for the call onto the end of the (read-only) arguments,
 * as encode_offset does. */
static __attribute__((noinline)) void observe_sent(sio_server *srv, sio_socket *s) {
    if (!srv->bc_offset[0]) {
        OBSERVE(srv, event_sent, s, srv->bc_event, srv->bc_args);
        return;
    }
    cJSON arr, off;
    memset(&arr, 0, sizeof arr);
    memset(&off, 0, sizeof off);
    off.type = cJSON_String;
    off.valuestring = srv->bc_offset;
    cJSON *first = srv->bc_args ? srv->bc_args->child : NULL;
    cJSON *last = NULL;
    for (cJSON *c = first; c; c = c->next)
        last = c;
    if (last) last->next = &off;
    off.prev = last ? last : &off;
    arr.type = cJSON_Array;
    arr.child = first ? first : &off;
    OBSERVE(srv, event_sent, s, srv->bc_event, &arr);
    if (last) last->next = NULL;
}

static int deliver_encoded(sio_socket *s, int is_volatile) {
    if (s->state != SOCK_CONNECTED || !s->client || !s->client->es) return SIO_ECLOSED;
    if (is_volatile && !eio_session_ready(s->client->es)) {
        s->nsp->srv->volatile_dropped++;
        return SIO_OK;
    }
    return send_encoded(s->nsp->srv, s->client->es);
}

int sio_socket_deliver(sio_socket *s, eio_batch *b, int is_volatile) {
    if (s->state == SOCK_GONE || !s->client || !s->client->es) return SIO_ECLOSED;
    if (is_volatile && !eio_session_ready(s->client->es)) {
        s->nsp->srv->volatile_dropped++;
        return SIO_OK;
    }
    sio_server *srv = s->nsp->srv;
    if (__builtin_expect(srv->obs != NULL, 0) && srv->bc_event) observe_sent(srv, s);
    return eio_send_batch(s->client->es, b);
}

static sio_encoded *encode_for_adapter(sio_server *srv, const char *nsp,
                                       const sio_adapter_packet *pkt, const char *offset) {
    if (encode_offset(srv, nsp, pkt->event, pkt->args, pkt->data, offset) || encoded_batch(srv))
        return NULL;
    return &srv->batch;
}

sio_encoded *sio_adapter_encode(sio_namespace *n, const sio_adapter_packet *pkt,
                                const char *offset) {
    sio_server *srv = n->srv;
    sio_encoded *e = encode_for_adapter(srv, n->name, pkt, offset);
    /* Inside an observed broadcast's op: the offset its receivers get. */
    if (e && __builtin_expect(srv->obs != NULL, 0) && srv->bc_event)
        snprintf(srv->bc_offset, sizeof srv->bc_offset, "%s", offset ? offset : "");
    return e;
}

static int adapter_broadcast(sio_namespace *n, const sio_adapter_packet *out, const sio_target *t);

/* Recovery needs the option and an adapter that can keep sessions. */
static int recovery_on(const sio_namespace *n) {
    const sio_adapter_ops *ops = n->adapter->ops;
    return n->srv->o.recovery_window_ms && ops->persist_session && ops->restore_session;
}

/* Node's RECOVERABLE_DISCONNECT_REASONS: the connection broke, the client
 * did not leave ("backpressure" is ours: a client that fell that far behind
 * would only be sent the overflow again). */
static int recoverable(const char *reason) {
    static const char *const r[] = {"transport error", "transport close",      "forced close",
                                    "ping timeout",    "server shutting down", NULL};
    for (size_t i = 0; r[i]; i++)
        if (strcmp(reason, r[i]) == 0) return 1;
    return 0;
}

/* Packets to one client that is not yet (or no longer) a connected socket. */
static void send_raw(sio_client *c, sio_pkt_type type, const char *nsp, const cJSON *data) {
    if (encode(c->srv, type, nsp, -1, NULL, data) == SIO_OK && c->es) send_encoded(c->srv, c->es);
}

/* ---------- namespaces ---------- */

static sio_namespace *nsp_new(sio_server *srv, const char *name) {
    sio_namespace *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->srv = srv;
    n->name = strdup(name);
    n->adapter = n->name ? srv->adapters.create(n, srv->adapter_state) : NULL;
    if (!n->adapter || smap_put(&srv->nsps, n->name, strlen(n->name), n)) {
        if (n->adapter) n->adapter->ops->free(n->adapter);
        free(n->name);
        free(n);
        return NULL;
    }
    if (srv->created_cb) srv->created_cb(n, srv->created_ud);
    return n;
}

static void nsp_free(sio_namespace *n) {
    n->removed = 1; /* the adapter's teardown unrefs; nothing to remove any more */
    n->adapter->ops->free(n->adapter);
    smap_free(&n->sockets);
    for (size_t i = 0; i < n->n_handlers; i++)
        free(n->handlers[i].event);
    free(n->handlers);
    free(n->mws);
    free(n->name);
    free(n);
}

sio_namespace *sio_of(sio_server *srv, const char *name) {
    if (!name || name[0] != '/' || strchr(name, ',')) return NULL;
    sio_namespace *n = smap_get(&srv->nsps, name, strlen(name));
    return n ? n : nsp_new(srv, name);
}

static sio_namespace *nsp_for_connect(sio_server *srv, const char *name) {
    sio_namespace *n = smap_get(&srv->nsps, name, strlen(name));
    if (n) return n;
    for (size_t i = 0; i < srv->n_dyns; i++) {
        struct dyn *d = &srv->dyns[i];
        int ok = d->pattern ? fnmatch(d->pattern, name, 0) == 0 : d->match(name, d->ud);
        if (ok) {
            n = nsp_new(srv, name);
            if (n) n->dynamic = 1;
            return n;
        }
    }
    return NULL;
}

/* Emptied dynamic namespaces are freed from the loop after the batch in
 * which they emptied: callers up the stack (a broadcast walking the
 * adapter, an app handler) may still hold the pointer. The reap is a token
 * of its own so that a server freed meanwhile only has to disown it. */
struct nsp_reap {
    sio_server *srv;
};

static void free_removed(sio_server *srv, int tell_app) {
    while (srv->removed) {
        sio_namespace *n = srv->removed;
        srv->removed = n->next_removed;
        if (tell_app && srv->removed_cb) srv->removed_cb(n, srv->removed_ud);
        nsp_free(n);
    }
}

static void reap_run(void *p) {
    struct nsp_reap *r = p;
    if (r->srv) {
        r->srv->reap = NULL;
        free_removed(r->srv, 1);
    }
    free(r);
}

void sio_nsp_ref(sio_namespace *n) {
    n->refs++;
}

void sio_nsp_unref(sio_namespace *n) {
    sio_server *srv = n->srv;
    if (--n->refs || !n->dynamic || n->removed || !srv->o.cleanup_empty_namespaces ||
        srv->shutting_down)
        return;
    if (!srv->reap) {
        struct nsp_reap *r = malloc(sizeof *r);
        if (!r) return; /* kept: a later connect and leave retries */
        r->srv = srv;
        if (sio_loop_free_later(srv->loop, r, reap_run)) {
            free(r);
            return;
        }
        srv->reap = r;
    }
    /* Out of the map now, as the reference deletes it from _nsps: the next
     * connect to this name creates a new namespace. */
    smap_del(&srv->nsps, n->name, strlen(n->name));
    n->removed = 1;
    n->next_removed = srv->removed;
    srv->removed = n;
}

static int add_dyn(sio_server *srv, sio_nsp_match_cb m, void *ud, const char *pattern) {
    struct dyn *d = realloc(srv->dyns, (srv->n_dyns + 1) * sizeof *d);
    if (!d) return SIO_ENOMEM;
    srv->dyns = d;
    char *p = pattern ? strdup(pattern) : NULL;
    if (pattern && !p) return SIO_ENOMEM;
    srv->dyns[srv->n_dyns++] = (struct dyn){m, ud, p};
    return SIO_OK;
}

int sio_add_dynamic(sio_server *srv, sio_nsp_match_cb m, void *ud) {
    return m ? add_dyn(srv, m, ud, NULL) : SIO_EINVAL;
}
int sio_add_dynamic_pattern(sio_server *srv, const char *pattern) {
    return pattern ? add_dyn(srv, NULL, NULL, pattern) : SIO_EINVAL;
}
void sio_on_namespace(sio_server *srv, sio_nsp_created_cb cb, void *ud) {
    srv->created_cb = cb;
    srv->created_ud = ud;
}
void sio_on_namespace_removed(sio_server *srv, sio_nsp_created_cb cb, void *ud) {
    srv->removed_cb = cb;
    srv->removed_ud = ud;
}
const sio_options *sio_server_options(const sio_server *srv) {
    return &srv->o;
}
const char *sio_nsp_name(const sio_namespace *n) {
    return n->name;
}
size_t sio_nsp_size(const sio_namespace *n) {
    return smap_len(&n->sockets);
}
sio_server *sio_nsp_server(const sio_namespace *n) {
    return n->srv;
}
sio_socket *sio_nsp_find_socket(const sio_namespace *n, const char *id) {
    size_t len = strnlen(id, SIO_ID_LEN + 1);
    return len == SIO_ID_LEN ? smap_get(&n->sockets, id, len) : NULL;
}
sio_socket *sio_nsp_next_socket(const sio_namespace *n, size_t *pos) {
    smap_slot *slot = smap_next(&n->sockets, pos);
    return slot ? slot->val : NULL;
}

int sio_use(sio_namespace *n, sio_middleware mw, void *ud) {
    if (!mw) return SIO_EINVAL;
    if (n->n_mws >= 200) return SIO_ETOOBIG;
    struct mw *v = realloc(n->mws, (n->n_mws + 1) * sizeof *v);
    if (!v) return SIO_ENOMEM;
    n->mws = v;
    n->mws[n->n_mws++] = (struct mw){mw, ud};
    return SIO_OK;
}

void sio_on_connection(sio_namespace *n, sio_connection_cb cb, void *ud) {
    n->conn_cb = cb;
    n->conn_ud = ud;
}
void sio_on_disconnect(sio_namespace *n, sio_disconnect_cb cb, void *ud) {
    n->disc_cb = cb;
    n->disc_ud = ud;
}
void sio_on_any(sio_namespace *n, sio_event_cb cb, void *ud) {
    n->any_cb = cb;
    n->any_ud = ud;
}

int sio_on(sio_namespace *n, const char *event, sio_event_cb cb, void *ud) {
    if (!event) return SIO_EINVAL;
    for (size_t i = 0; i < n->n_handlers; i++) {
        if (strcmp(n->handlers[i].event, event) == 0) {
            n->handlers[i].cb = cb;
            n->handlers[i].ud = ud;
            return SIO_OK;
        }
    }
    struct handler *h = realloc(n->handlers, (n->n_handlers + 1) * sizeof *h);
    if (!h) return SIO_ENOMEM;
    n->handlers = h;
    char *e = strdup(event);
    if (!e) return SIO_ENOMEM;
    n->handlers[n->n_handlers++] = (struct handler){e, cb, ud};
    return SIO_OK;
}

/* ---------- sockets ---------- */

const char *sio_socket_id(const sio_socket *s) {
    return s->id;
}
sio_namespace *sio_socket_nsp(const sio_socket *s) {
    return s->nsp;
}
eio_session *sio_socket_session(const sio_socket *s) {
    return s->client ? s->client->es : NULL;
}
const char *sio_socket_header(const sio_socket *s, const char *name) {
    return s->client && s->client->es ? eio_session_header(s->client->es, name) : NULL;
}
const char *sio_socket_query(const sio_socket *s, const char *key) {
    return s->client && s->client->es ? eio_session_query(s->client->es, key) : NULL;
}
const char *sio_socket_address(const sio_socket *s) {
    return s->client && s->client->es ? eio_session_remote_addr(s->client->es) : "";
}
const cJSON *sio_socket_auth(const sio_socket *s) {
    return s->auth;
}
void sio_socket_set_data(sio_socket *s, void *p) {
    s->data = p;
}
void *sio_socket_data(const sio_socket *s) {
    return s->data;
}
void sio_socket_set_json_data(sio_socket *s, cJSON *data) {
    cJSON_Delete(s->json_data);
    s->json_data = data;
}
cJSON *sio_socket_json_data(const sio_socket *s) {
    return s->json_data;
}
int sio_socket_recovered(const sio_socket *s) {
    return s->recovered;
}
const char *sio_socket_pid(const sio_socket *s) {
    return s->pid[0] ? s->pid : NULL;
}
int sio_socket_connected(const sio_socket *s) {
    return s->state == SOCK_CONNECTED;
}
sio_socket_slot *sio_socket_adapter_slot(const sio_socket *s) {
    /* The adapter's state, not the socket's: writable through a const socket. */
    return (sio_socket_slot *)&s->slot;
}

int sio_socket_set_claims(sio_socket *s, cJSON *claims) {
    cJSON_Delete(s->claims);
    s->claims = claims;
    return SIO_OK;
}
const cJSON *sio_socket_claims(const sio_socket *s) {
    return s->claims;
}
void sio_socket_forget_claims(sio_socket *s) {
    sio_socket_set_claims(s, NULL);
}

static void free_rooms(char **rooms) {
    for (char **r = rooms; r && *r; r++)
        free(*r);
    free(rooms);
}

static void socket_free(void *p) {
    sio_socket *s = p;
    cJSON_Delete(s->json_data);
    free_rooms(s->restore_rooms);
    cJSON_Delete(s->claims);
    cJSON_Delete(s->auth);
    cJSON_Delete(s->refuse_data);
    free(s->refuse_msg);
    slab_free(s);
}

/* The library is done with the socket: free it after this batch, and let go
 * of its namespace. */
static void socket_release(sio_socket *s) {
    sio_namespace *n = s->nsp;
    if (sio_loop_free_later(n->srv->loop, s, socket_free)) socket_free(s);
    sio_nsp_unref(n);
}

static void unlink_from_client(sio_socket *s) {
    sio_client *c = s->client;
    if (!c) return;
    for (sio_socket **pp = &c->sockets; *pp; pp = &(*pp)->next_in_client) {
        if (*pp == s) {
            *pp = s->next_in_client;
            break;
        }
    }
    s->next_in_client = NULL;
}

static void fail_acks(sio_socket *s) {
    sio_loop *loop = s->nsp->srv->loop;
    while (s->acks) {
        struct pending_ack *a = s->acks;
        s->acks = a->next;
        sio_timer_stop(loop, &a->timer);
        if (a->cb) a->cb(s, SIO_ECLOSED, NULL, a->ud);
        free(a);
    }
}

struct room_list {
    const char **v;
    size_t n, cap;
    int failed;
};

static void collect_room(const char *room, void *ud) {
    struct room_list *l = ud;
    if (l->n + 1 >= l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = room;
    l->v[l->n] = NULL;
}

/* The session a socket leaves behind, for the adapter to keep (it copies). */
static void persist(sio_socket *s) {
    sio_adapter *a = s->nsp->adapter;
    struct room_list l = {0};
    a->ops->rooms_of(a, s, collect_room, &l);
    if (!l.failed && l.v) {
        sio_session sess = {s->id, s->pid, l.v, s->json_data};
        if (a->ops->persist_session(a, &sess))
            log_debug("sio: session of %s not kept (out of memory)", s->id);
    }
    free(l.v);
}

/* The observer's `left` for each room of a socket that leaves (state still
 * SOCK_CONNECTED, so the rooms answer). */
static void observe_left(const char *room, void *ud) {
    sio_socket *s = ud;
    OBSERVE(s->nsp->srv, left, s, room);
}
static void observe_leave_all(sio_socket *s) {
    if (s->nsp->srv->obs->left) sio_socket_rooms(s, observe_left, s);
}

static void socket_close(sio_socket *s, const char *reason, int tell_client) {
    if (s->state == SOCK_GONE) return;
    sio_namespace *n = s->nsp;
    int was_connected = s->state == SOCK_CONNECTED;
    if (tell_client && s->client && s->client->es)
        send_raw(s->client, SIO_PKT_DISCONNECT, n->name, NULL);
    s->state = SOCK_GONE;
    if (was_connected) {
        if (n->srv->obs) observe_leave_all(s);
        if (s->pid[0] && recoverable(reason) && recovery_on(n)) persist(s);
        smap_del(&n->sockets, s->id, SIO_ID_LEN);
        n->adapter->ops->leave_all(n->adapter, s);
    }
    unlink_from_client(s);
    fail_acks(s);
    if (was_connected) OBSERVE(n->srv, disconnected, s, reason);
    if (was_connected && n->disc_cb) n->disc_cb(s, reason, n->disc_ud);
    s->client = NULL;
    if (s->mw_pending || s->restoring) return; /* freed by sio_middleware_done / the restore */
    socket_release(s);
}

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void connect_ok(sio_socket *s) {
    sio_namespace *n = s->nsp;
    if (smap_put(&n->sockets, s->id, SIO_ID_LEN, s)) {
        sio_refuse(s, "server error", NULL);
        return;
    }
    s->state = SOCK_CONNECTED;
    s->connected_at_ms = wall_ms();
    eio_session_established(s->client->es); /* no longer a half-open session */
    /* A recovered session's rooms, before the CONNECT reply as Node joins
     * them in the socket's constructor. */
    for (char **r = s->restore_rooms; r && *r; r++)
        sio_join(s, *r);
    free_rooms(s->restore_rooms);
    s->restore_rooms = NULL;
    if (n->adapter->ops->connected) n->adapter->ops->connected(n->adapter, s);
    cJSON sid, pid, obj;
    memset(&sid, 0, sizeof sid);
    memset(&pid, 0, sizeof pid);
    memset(&obj, 0, sizeof obj);
    sid.type = cJSON_String;
    sid.string = "sid";
    sid.valuestring = s->id;
    if (s->pid[0]) {
        pid.type = cJSON_String;
        pid.string = "pid";
        pid.valuestring = s->pid;
        sid.next = &pid;
        pid.prev = &sid;
    }
    obj.type = cJSON_Object;
    obj.child = &sid;
    send_raw(s->client, SIO_PKT_CONNECT, n->name, &obj);
    OBSERVE(n->srv, connected, s);
    if (s->state == SOCK_CONNECTED && n->conn_cb) n->conn_cb(s, n->conn_ud);
}

/* A middleware (--recovery-run-middlewares) refused a recovered connect:
 * the session goes back to the adapter, as Node's in-memory adapter keeps
 * it (restoring does not consume it there), so the client's next attempt
 * is recovered again. Its rooms are still the session's (joined only in
 * connect_ok). */
static void persist_refused(sio_socket *s) {
    size_t n = 1;
    for (char **r = s->restore_rooms; r && *r; r++)
        n++;
    const char **rooms = calloc(n + 1, sizeof *rooms);
    if (!rooms) return;
    rooms[0] = s->id;
    for (size_t i = 1; i < n; i++)
        rooms[i] = s->restore_rooms[i - 1];
    sio_session sess = {s->id, s->pid, rooms, s->json_data};
    sio_adapter *a = s->nsp->adapter;
    if (a->ops->persist_session(a, &sess))
        log_debug("sio: session of %s not kept (out of memory)", s->id);
    free(rooms);
}

static void connect_refused(sio_socket *s) {
    if (s->recovered && s->pid[0] && recovery_on(s->nsp)) persist_refused(s);
    cJSON *err = cJSON_CreateObject();
    if (err) {
        cJSON_AddStringToObject(err, "message", s->refuse_msg ? s->refuse_msg : "refused");
        if (s->refuse_data) {
            cJSON_AddItemToObject(err, "data", s->refuse_data);
            s->refuse_data = NULL;
        }
        send_raw(s->client, SIO_PKT_CONNECT_ERROR, s->nsp->name, err);
        cJSON_Delete(err);
    }
    socket_close(s, "refused", 0);
}

static void run_middlewares(sio_socket *s) {
    sio_namespace *n = s->nsp;
    while (s->state == SOCK_CONNECTING && s->mw_index < n->n_mws) {
        struct mw *m = &n->mws[s->mw_index++];
        int v = m->fn(s, s->auth, m->ud);
        if (s->state != SOCK_CONNECTING) return; /* the connection went away meanwhile */
        if (v == SIO_MW_PENDING) {
            s->mw_pending = 1;
            return;
        }
        if (v != SIO_MW_NEXT) {
            connect_refused(s);
            return;
        }
    }
    if (s->state == SOCK_CONNECTING) connect_ok(s);
}

void sio_refuse(sio_socket *s, const char *message, const cJSON *data) {
    free(s->refuse_msg);
    s->refuse_msg = strdup(message ? message : "refused");
    cJSON_Delete(s->refuse_data);
    s->refuse_data = data ? cJSON_Duplicate(data, 1) : NULL;
    s->refused = 1;
}

void sio_middleware_done(sio_socket *s, int verdict) {
    if (!s->mw_pending) return;
    s->mw_pending = 0;
    if (s->state == SOCK_GONE) {
        /* The client left while the middleware worked; like the reference,
         * a late verdict is ignored. */
        socket_release(s);
        return;
    }
    if (s->state != SOCK_CONNECTING) return;
    if (verdict != SIO_MW_NEXT)
        connect_refused(s);
    else
        run_middlewares(s);
}

/* Take what the restored session brings: its id (unless a socket has it
 * now), pid, rooms and data; 0 when it cannot be used. */
static int adopt_session(sio_socket *s, const sio_session *sess) {
    if (!sess || !sess->sid || !sess->pid || strlen(sess->sid) != SIO_ID_LEN ||
        strlen(sess->pid) > SIO_ID_LEN || sio_nsp_find_socket(s->nsp, sess->sid))
        return 0;
    size_t n = 0;
    for (const char *const *r = sess->rooms; r && *r; r++)
        n++;
    char **rooms = calloc(n + 1, sizeof *rooms);
    cJSON *data = sess->data ? sio_json_duplicate(sess->data) : NULL;
    if (!rooms || (sess->data && !data)) {
        free(rooms);
        cJSON_Delete(data);
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sess->rooms[i], sess->sid) == 0) continue; /* its own room: implied */
        if (!(rooms[k] = strdup(sess->rooms[i]))) {
            free_rooms(rooms);
            cJSON_Delete(data);
            return 0;
        }
        k++;
    }
    memcpy(s->id, sess->sid, SIO_ID_LEN + 1);
    snprintf(s->pid, sizeof s->pid, "%s", sess->pid);
    sio_socket_set_json_data(s, data);
    s->restore_rooms = rooms;
    s->recovered = 1;
    return 1;
}

/* restore_session's answer. Node sends the missed packets from the socket's
 * constructor, before the middlewares and the CONNECT reply: the client
 * buffers them and emits them once connected, so they come first. */
static void restored(sio_namespace *n, const sio_session *sess, cJSON *missed, void *ud) {
    sio_socket *s = ud;
    sio_server *srv = n->srv;
    s->restoring = 0;
    if (s->state != SOCK_CONNECTING || !s->client || !s->client->es) {
        cJSON_Delete(missed);
        if (s->state == SOCK_GONE && !s->mw_pending) socket_release(s);
        return;
    }
    if (adopt_session(s, sess)) {
        srv->recovered_total++;
        for (const cJSON *m = missed ? missed->child : NULL; m; m = m->next)
            if (cJSON_IsArray(m) && encode(srv, SIO_PKT_EVENT, n->name, -1, NULL, m) == SIO_OK)
                send_encoded(srv, s->client->es);
    } else {
        srv->fresh_total++;
    }
    cJSON_Delete(missed);
    if (s->recovered && !srv->o.recovery_run_middlewares)
        connect_ok(s);
    else
        run_middlewares(s);
}

static void on_connect(sio_client *c, sio_packet *p) {
    sio_server *srv = c->srv;
    sio_namespace *n = nsp_for_connect(srv, p->nsp);
    if (!n) {
        cJSON msg, obj;
        memset(&msg, 0, sizeof msg);
        memset(&obj, 0, sizeof obj);
        msg.type = cJSON_String;
        msg.string = "message";
        msg.valuestring = "Invalid namespace";
        obj.type = cJSON_Object;
        obj.child = &msg;
        send_raw(c, SIO_PKT_CONNECT_ERROR, p->nsp, &obj);
        return;
    }
    sio_socket *s = slab_calloc(c->srv->socket_pool);
    if (!s || sio_random_id(s->id)) {
        slab_free(s);
        client_fail(c, "transport error");
        return;
    }
    s->nsp = n;
    sio_nsp_ref(n);
    s->client = c;
    s->state = SOCK_CONNECTING;
    s->auth = p->data;
    p->data = NULL;
    s->next_in_client = c->sockets;
    c->sockets = s;
    if (recovery_on(n)) {
        if (sio_random_id(s->pid)) s->pid[0] = 0;
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(s->auth, "pid");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(s->auth, "offset");
        if (s->pid[0] && cJSON_IsString(pid) && cJSON_IsString(off)) {
            s->restoring = 1;
            if (n->adapter->ops->restore_session(n->adapter, pid->valuestring, off->valuestring,
                                                 restored, s) == SIO_OK)
                return;
            s->restoring = 0;
            n->srv->fresh_total++;
        }
    }
    run_middlewares(s);
}

static sio_socket *find_socket(sio_client *c, const char *nsp) {
    for (sio_socket *s = c->sockets; s; s = s->next_in_client)
        if (strcmp(s->nsp->name, nsp) == 0) return s;
    return NULL;
}

static void on_event(sio_socket *s, sio_packet *p) {
    sio_namespace *n = s->nsp;
    if (!p->data) return; /* a bare "2": the reference dispatches nothing */
    cJSON *name = cJSON_DetachItemFromArray(p->data, 0);
    char numbuf[32];
    const char *event = NULL;
    if (cJSON_IsString(name)) {
        event = name->valuestring;
    } else if (cJSON_IsNumber(name)) {
        snprintf(numbuf, sizeof numbuf, "%.17g", name->valuedouble);
        event = numbuf;
    }
    sio_event_cb cb = n->any_cb;
    void *ud = n->any_ud;
    for (size_t i = 0; event && i < n->n_handlers; i++) {
        if (strcmp(n->handlers[i].event, event) == 0) {
            cb = n->handlers[i].cb;
            ud = n->handlers[i].ud;
            break;
        }
    }
    if (event) OBSERVE(n->srv, event_received, s, event, p->data);
    if (event && cb && s->state == SOCK_CONNECTED) cb(s, event, p->data, p->id, ud);
    cJSON_Delete(name);
}

static void on_ack(sio_socket *s, sio_packet *p) {
    for (struct pending_ack **pp = &s->acks; *pp; pp = &(*pp)->next) {
        struct pending_ack *a = *pp;
        if (a->id != p->id) continue;
        *pp = a->next;
        sio_timer_stop(s->nsp->srv->loop, &a->timer);
        if (!p->data) p->data = cJSON_CreateArray();
        a->cb(s, SIO_OK, p->data, a->ud);
        free(a);
        return;
    }
}

static void on_packet(sio_client *c, sio_packet *p) {
    sio_socket *s = find_socket(c, p->nsp);
    if (p->type == SIO_PKT_CONNECT) {
        if (s) {
            /* The reference closes a connection that connects twice. */
            client_fail(c, "parse error");
            return;
        }
        on_connect(c, p);
        return;
    }
    if (!s || s->state != SOCK_CONNECTED) {
        if (p->type == SIO_PKT_DISCONNECT) return;
        client_fail(c, "parse error");
        return;
    }
    switch (p->type) {
    case SIO_PKT_DISCONNECT:
        socket_close(s, "client namespace disconnect", 0);
        break;
    case SIO_PKT_EVENT:
    case SIO_PKT_BINARY_EVENT:
        on_event(s, p);
        break;
    case SIO_PKT_ACK:
    case SIO_PKT_BINARY_ACK:
        on_ack(s, p);
        break;
    default:
        break;
    }
}

/* ---------- Engine.IO callbacks ---------- */

static void connect_timeout(sio_loop *loop, sio_timer *t) {
    sio_client *c = (sio_client *)((char *)t - offsetof(sio_client, connect_timer));
    if (!c->sockets && c->es) {
        log_debug("sio: no namespace within the connect timeout, closing %s",
                  eio_session_id(c->es));
        eio_close(c->es);
    }
}

static void on_open(eio_session *es, void *ud) {
    sio_server *srv = ud;
    sio_client *c = slab_calloc(srv->client_pool);
    if (!c) {
        eio_close(es);
        return;
    }
    c->es = es;
    c->srv = srv;
    srv->n_clients++;
    eio_session_set_data(es, c);
    sio_timer_start(srv->loop, &c->connect_timer, srv->o.connect_timeout_ms, connect_timeout);
}

static void client_fail(sio_client *c, const char *reason) {
    if (c->closing) return;
    c->closing = 1;
    while (c->sockets)
        socket_close(c->sockets, reason, 0);
    if (c->es) eio_close(c->es);
}

/* A client speaking the other parser's format. The reference closes the
 * connection as for any parse error, without a word, and the client only sees
 * a closed transport and reconnects forever: say why, once (client_fail marks
 * the client closing, so its later messages are dropped before they get here). */
static void parser_mismatch(sio_client *c, const char *sent) {
    log_warn("sio: %s sent %s but the server uses --parser %s (client parser mismatch?)",
             eio_session_id(c->es), sent,
             c->srv->o.parser == SIO_PARSER_MSGPACK ? "msgpack" : "default");
    client_fail(c, "parse error");
}

static void on_message(eio_session *es, const uint8_t *data, size_t len, int binary, void *ud) {
    sio_server *srv = ud;
    sio_client *c = eio_session_data(es);
    if (!c || c->closing) return;
    sio_packet *p = NULL;
    int rc;
    if (srv->o.parser == SIO_PARSER_MSGPACK) {
        if (!binary) {
            parser_mismatch(c, "a text packet");
            return;
        }
        rc = sio_packet_decode_msgpack(data, len, &p);
    } else if (binary) {
        if (!c->pending) {
            /* socket.io-msgpack-parser's packets are MessagePack maps. */
            if (len && ((data[0] & 0xf0) == 0x80 || data[0] == 0xde || data[0] == 0xdf))
                parser_mismatch(c, "a MessagePack packet");
            else
                client_fail(c, "parse error");
            return;
        }
        rc = sio_decoder_feed_binary(c->pending, data, len, &p);
        if (rc == SIO_OK && p) {
            sio_decoder_reset(c->pending);
            free(c->pending);
            c->pending = NULL;
        }
    } else if (c->pending) {
        rc = SIO_EPARSE;
    } else {
        rc = sio_decoder_feed_text(&srv->dec, (const char *)data, len, &p);
        if (rc == SIO_OK && !p) {
            /* Attachments follow in later messages: give this client its own
             * decoder state, keep the shared one free for everyone else. */
            c->pending = malloc(sizeof *c->pending);
            if (!c->pending) {
                sio_decoder_reset(&srv->dec);
                rc = SIO_ENOMEM;
            } else {
                *c->pending = srv->dec;
                sio_decoder_init(&srv->dec, srv->o.max_attachments);
            }
        }
    }
    if (rc != SIO_OK) {
        log_debug("sio: %s from %s", sio_strerror(rc), eio_session_id(es));
        client_fail(c, "parse error");
        return;
    }
    if (p) {
        on_packet(c, p);
        sio_packet_free(p);
    }
}

static void client_free(void *p) {
    slab_free(p);
}

static void on_drain(eio_session *es, void *ud) {
    sio_client *c = eio_session_data(es);
    for (sio_socket *s = c ? c->sockets : NULL, *next; s; s = next) {
        next = s->next_in_client;
        if (s->state == SOCK_CONNECTED && s->nsp->drain_cb) s->nsp->drain_cb(s, s->nsp->drain_ud);
    }
}

void sio_on_drain(sio_namespace *n, sio_connection_cb cb, void *ud) {
    n->drain_cb = cb;
    n->drain_ud = ud;
}

int sio_socket_writable(const sio_socket *s) {
    return s->state == SOCK_CONNECTED && s->client && s->client->es &&
           eio_session_writable(s->client->es);
}

size_t sio_socket_buffered(const sio_socket *s) {
    return s->client && s->client->es ? eio_session_buffered(s->client->es) : 0;
}

static void on_upgrade(eio_session *es, void *ud) {
    sio_server *srv = ud;
    sio_client *c = eio_session_data(es);
    if (!srv->obs || !c) return;
    for (sio_socket *s = c->sockets, *next; s; s = next) {
        next = s->next_in_client; /* memory kept to the end of the iteration */
        if (s->state == SOCK_CONNECTED) OBSERVE(srv, upgraded, s);
    }
}

static void on_close(eio_session *es, const char *reason, void *ud) {
    sio_server *srv = ud;
    sio_client *c = eio_session_data(es);
    if (!c) return;
    if (srv->shutting_down) reason = "server shutting down";
    OBSERVE(srv, connection_closed, es, reason);
    c->closing = 1;
    while (c->sockets)
        socket_close(c->sockets, reason, 0);
    sio_timer_stop(srv->loop, &c->connect_timer);
    if (c->pending) {
        sio_decoder_reset(c->pending);
        free(c->pending);
        c->pending = NULL;
    }
    c->es = NULL;
    srv->n_clients--;
    eio_session_set_data(es, NULL);
    if (sio_loop_free_later(srv->loop, c, client_free)) client_free(c);
}

/* ---------- server ---------- */

/* The namespaces, sockets and rooms of /metrics, counted at scrape time. */
static void collect(metrics_out *o, void *ud) {
    sio_server *srv = ud;
    size_t sockets = 0, rooms = 0, pos = 0;
    smap_slot *slot;
    while ((slot = smap_next(&srv->nsps, &pos))) {
        sio_namespace *n = slot->val;
        sockets += smap_len(&n->sockets);
        rooms += n->adapter->ops->room_count(n->adapter);
    }
    metrics_put(o, "sio_namespaces", "Socket.IO namespaces.", METRIC_GAUGE, NULL, METRIC_U64,
                (double)smap_len(&srv->nsps));
    metrics_put(o, "sio_sockets", "Connected Socket.IO sockets (all namespaces).", METRIC_GAUGE,
                NULL, METRIC_U64, (double)sockets);
    metrics_put(o, "sio_rooms", "Rooms with members on this node (sockets' own rooms not counted).",
                METRIC_GAUGE, NULL, METRIC_U64, (double)rooms);
    if (!srv->o.recovery_window_ms) return;
    sio_recovery_stats st = {0};
    pos = 0;
    while ((slot = smap_next(&srv->nsps, &pos))) {
        sio_adapter *a = ((sio_namespace *)slot->val)->adapter;
        sio_recovery_stats one = {0};
        if (a->ops->recovery_stats) a->ops->recovery_stats(a, &one);
        st.sessions += one.sessions;
        st.log_packets += one.log_packets;
        st.log_bytes += one.log_bytes;
    }
    metrics_put(o, "sio_recovery_sessions", "Disconnected sessions kept for recovery.",
                METRIC_GAUGE, NULL, METRIC_U64, (double)st.sessions);
    metrics_put(o, "sio_recovery_log_packets", "Packets in the recovery logs.", METRIC_GAUGE, NULL,
                METRIC_U64, (double)st.log_packets);
    metrics_put(o, "sio_recovery_log_bytes", "Memory held by the recovery logs.", METRIC_GAUGE,
                NULL, METRIC_U64, (double)st.log_bytes);
}

/* The application's hook, if any, seen from the Engine.IO layer. */
static int allow_request(eio_server *es, eio_request *req, const char **message, void *ud) {
    sio_server *srv = ud;
    return srv->o.allow_request ? srv->o.allow_request(req, message, srv->o.allow_request_ud) : 1;
}

static const metrics_field sio_fields[] = {
    {"sio_volatile_dropped_total", "Volatile packets dropped (transport not ready).",
     METRIC_COUNTER, NULL, METRIC_U64, offsetof(sio_server, volatile_dropped)},
    {"sio_recovery_restores_total", "Connects asking for recovery, by result.", METRIC_COUNTER,
     "result=\"recovered\"", METRIC_U64, offsetof(sio_server, recovered_total)},
    {"sio_recovery_restores_total", "Connects asking for recovery, by result.", METRIC_COUNTER,
     "result=\"fresh\"", METRIC_U64, offsetof(sio_server, fresh_total)},
};

sio_server *sio_server_new(sio_loop *loop, sio_http *http, const eio_options *eo,
                           const sio_options *o, int *err) {
    sio_server *srv = calloc(1, sizeof *srv);
    *err = SIO_ENOMEM;
    if (!srv) return NULL;
    srv->socket_pool = slab_new(sizeof(sio_socket));
    srv->client_pool = slab_new(sizeof(sio_client));
    if (!srv->socket_pool || !srv->client_pool) {
        slab_release(srv->socket_pool);
        slab_release(srv->client_pool);
        free(srv);
        return NULL;
    }
    srv->loop = loop;
    if (o)
        srv->o = *o;
    else
        sio_options_init(&srv->o);
    sio_decoder_init(&srv->dec, srv->o.max_attachments);
    sio_attachment_list_init(&srv->bins);
    snprintf(srv->path, sizeof srv->path, "%s", eo->path ? eo->path : "/socket.io/");
    srv->adapters = srv->o.adapter ? *srv->o.adapter : *sio_memory_adapter();
    srv->o.adapter = NULL; /* the copy above is what counts */
    srv->adapter_state = srv->adapters.ud;
    if (!srv->adapters.create) {
        *err = SIO_EINVAL;
        goto fail;
    }
    if (srv->adapters.open &&
        (*err = srv->adapters.open(srv, srv->adapters.ud, &srv->adapter_state)))
        goto fail;
    srv->adapter_open = 1;
    static const eio_callbacks cbs = {allow_request, on_open,  on_message,
                                      on_close,      on_drain, on_upgrade};
    *err = SIO_ENOMEM; /* open set SIO_OK */
    if (!sio_of(srv, "/")) goto fail;
    srv->eio = eio_server_new(loop, http, eo, &cbs, srv, err);
    if (!srv->eio) goto fail;
    if ((*err = metrics_add(sio_loop_metrics(loop), srv, sio_fields,
                            sizeof sio_fields / sizeof sio_fields[0], collect)))
        goto fail;
    *err = SIO_OK;
    return srv;
fail:
    sio_server_free(srv);
    return NULL;
}

void sio_server_shutdown(sio_server *srv) {
    srv->shutting_down = 1;
    if (srv->eio) eio_server_close_all(srv->eio);
}

void sio_server_free(sio_server *srv) {
    if (!srv) return;
    srv->shutting_down = 1;
    metrics_remove(sio_loop_metrics(srv->loop), srv);
    eio_server_free(srv->eio);
    if (srv->reap) srv->reap->srv = NULL;
    free_removed(srv, 0);
    size_t pos = 0;
    smap_slot *slot;
    while ((slot = smap_next(&srv->nsps, &pos)))
        nsp_free(slot->val);
    smap_free(&srv->nsps);
    if (srv->adapter_open && srv->adapters.close) srv->adapters.close(srv->adapter_state);
    for (size_t i = 0; i < srv->n_dyns; i++)
        free(srv->dyns[i].pattern);
    free(srv->dyns);
    sio_decoder_reset(&srv->dec);
    sbuf_free(&srv->enc);
    sio_attachment_list_free(&srv->bins);
    eio_batch_free(&srv->batch);
    slab_release(srv->socket_pool);
    slab_release(srv->client_pool);
    free(srv);
}

void sio_server_observe(sio_server *srv, const sio_observer *o) {
    if (o) srv->obs_copy = *o;
    srv->obs = o ? &srv->obs_copy : NULL;
}

const sio_observer *sio_server_observer(const sio_server *srv) {
    return srv->obs;
}

int sio_nsp_clustered(const sio_namespace *n) {
    return n->adapter->ops->remote_fetch != NULL;
}

sio_namespace *sio_server_next_namespace(const sio_server *srv, size_t *pos) {
    smap_slot *slot = smap_next(&srv->nsps, pos);
    return slot ? slot->val : NULL;
}

size_t sio_server_connections(const sio_server *srv) {
    return srv->n_clients;
}
eio_server *sio_server_eio(sio_server *srv) {
    return srv->eio;
}
sio_loop *sio_server_loop(const sio_server *srv) {
    return srv->loop;
}

/* ---------- emitting ---------- */

int sio_emit(sio_socket *s, const char *event, const cJSON *args) {
    if (!event) return SIO_EINVAL;
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    sio_server *srv = s->nsp->srv;
    if (recovery_on(s->nsp)) {
        /* Through the adapter, to the socket's own room, as Node does so that
         * the packet is numbered and logged for a later restore; the
         * observer sees it as a broadcast's delivery (with its offset, once
         * it is delivered), as Node's adapter notifies the outgoing
         * listeners then. */
        const char *room[] = {s->id, NULL};
        sio_target t = {room, NULL, 0, 0};
        sio_adapter_packet out = {NULL, s->nsp->name, NULL, event, args, 1};
        int r = adapter_broadcast(s->nsp, &out, &t);
        return r ? r : s->state == SOCK_CONNECTED ? SIO_OK : SIO_ECLOSED;
    }
    OBSERVE(srv, event_sent, s, event, args); /* before encode: it may broadcast */
    int r = encode(srv, SIO_PKT_EVENT, s->nsp->name, -1, event, args);
    return r ? r : deliver_encoded(s, 0);
}

int sio_emit_volatile(sio_socket *s, const char *event, const cJSON *args) {
    if (!event) return SIO_EINVAL;
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    if (!eio_session_ready(s->client->es)) {
        s->nsp->srv->volatile_dropped++;
        return SIO_OK;
    }
    return sio_emit(s, event, args);
}

static void ack_timeout(sio_loop *loop, sio_timer *t) {
    struct pending_ack *a = (struct pending_ack *)((char *)t - offsetof(struct pending_ack, timer));
    sio_socket *s = a->s;
    for (struct pending_ack **pp = &s->acks; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    a->cb(s, SIO_ETIMEDOUT, NULL, a->ud);
    free(a);
}

static int64_t next_ack_id(sio_namespace *n) {
    int64_t id = n->next_ack++;
    if (n->next_ack > SIO_ACK_ID_MAX) n->next_ack = 0;
    return id;
}

int sio_emit_with_ack(sio_socket *s, const char *event, const cJSON *args, uint32_t timeout_ms,
                      sio_ack_cb cb, void *ud) {
    if (!cb || !event) return SIO_EINVAL;
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    sio_server *srv = s->nsp->srv;
    struct pending_ack *a = calloc(1, sizeof *a);
    if (!a) return SIO_ENOMEM;
    a->s = s;
    a->id = next_ack_id(s->nsp);
    a->cb = cb;
    a->ud = ud;
    OBSERVE(srv, event_sent, s, event, args);
    int r = encode(srv, SIO_PKT_EVENT, s->nsp->name, a->id, event, args);
    if (r == SIO_OK) r = deliver_encoded(s, 0);
    if (r != SIO_OK) {
        free(a);
        return r;
    }
    a->next = s->acks;
    s->acks = a;
    if (timeout_ms) sio_timer_start(srv->loop, &a->timer, timeout_ms, ack_timeout);
    return SIO_OK;
}

int sio_ack(sio_socket *s, int64_t ack_id, const cJSON *args) {
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    if (ack_id < 0) return SIO_EINVAL;
    sio_server *srv = s->nsp->srv;
    int r = encode(srv, SIO_PKT_ACK, s->nsp->name, ack_id, NULL, args);
    return r ? r : deliver_encoded(s, 0);
}

/* A broadcast whose deliveries the observer sees as event_sent (as the
 * reference's adapter calls each receiver's onAnyOutgoing listeners), with
 * offset (NULL: none yet; the adapter's sio_adapter_encode may set it).
 * Nested broadcasts (a delivery's backpressure disconnect) restore the outer
 * one. */
static int observed_broadcast(sio_namespace *n, sio_adapter *a, const sio_adapter_packet *out,
                              const sio_target *t, const char *event, const cJSON *args,
                              const char *offset) {
    sio_server *srv = n->srv;
    const char *ev0 = srv->bc_event;
    const cJSON *args0 = srv->bc_args;
    char off0[sizeof srv->bc_offset];
    memcpy(off0, srv->bc_offset, sizeof off0);
    srv->bc_event = event;
    srv->bc_args = args;
    snprintf(srv->bc_offset, sizeof srv->bc_offset, "%s", offset ? offset : "");
    int r = a->ops->broadcast(a, out, t);
    srv->bc_event = ev0;
    srv->bc_args = args0;
    memcpy(srv->bc_offset, off0, sizeof off0);
    return r;
}

/* Adapter a's broadcast (the namespace's, or one an adapter delivers
 * through); with an observer, through observed_broadcast so each receiver's
 * delivery is seen (the event and its arguments taken from the packet's
 * [event, ...args] when it has no split). */
static int broadcast_via(sio_namespace *n, sio_adapter *a, const sio_adapter_packet *out,
                         const sio_target *t, const char *offset) {
    if (__builtin_expect(n->srv->obs == NULL, 1)) return a->ops->broadcast(a, out, t);
    if (out->event) return observed_broadcast(n, a, out, t, out->event, out->args, offset);
    const cJSON *first = out->data ? out->data->child : NULL;
    if (!cJSON_IsString(first)) return a->ops->broadcast(a, out, t);
    /* A read-only array node over the same items. */
    cJSON rest;
    memset(&rest, 0, sizeof rest);
    rest.type = cJSON_Array;
    rest.child = first->next;
    return observed_broadcast(n, a, out, t, first->valuestring, &rest, offset);
}

static int adapter_broadcast(sio_namespace *n, const sio_adapter_packet *out, const sio_target *t) {
    return broadcast_via(n, n->adapter, out, t, NULL);
}

/* Deliveries an adapter makes outside the core's broadcast call (the
 * streams adapter's, once Redis gave the offset) come here to be seen. */
int sio_adapter_deliver_local(sio_adapter *via, const sio_adapter_packet *pkt, const char *offset,
                              const sio_target *t) {
    if (!via || !pkt) return SIO_EINVAL;
    sio_adapter_packet out = *pkt;
    /* Not sio_adapter_encode: an observed broadcast around this call keeps
     * its own offset (observed_broadcast restores it). */
    if (!out.encoded &&
        !(out.encoded = encode_for_adapter(via->nsp->srv, via->nsp->name, pkt, offset)))
        return SIO_ENOMEM;
    return broadcast_via(via->nsp, via, &out, t, offset);
}

int sio_broadcast(sio_namespace *n, const sio_target *t, const char *event, const cJSON *args) {
    if (!event) return SIO_EINVAL;
    sio_server *srv = n->srv;
    if (recovery_on(n) && !(t && t->is_volatile)) {
        sio_adapter_packet out = {NULL, n->name, NULL, event, args, 1};
        return adapter_broadcast(n, &out, t);
    }
    int r = encode(srv, SIO_PKT_EVENT, n->name, -1, event, args);
    if (r == SIO_OK) r = encoded_batch(srv);
    if (r) return r;
    /* Other nodes re-encode from the logical packet; build it only here. */
    sio_adapter_packet out = {&srv->batch, n->name, NULL, event, args, 0};
    return adapter_broadcast(n, &out, t);
}

int sio_socket_broadcast(sio_socket *s, const sio_target *t, const char *event, const cJSON *args) {
    const char *except[64];
    size_t k = 0;
    if (t && t->except)
        for (const char *const *e = t->except; *e; e++) {
            if (k == 62) return SIO_ETOOBIG; /* rather than reach some it should skip */
            except[k++] = *e;
        }
    except[k++] = s->id;
    except[k] = NULL;
    sio_target tt = {t ? t->rooms : NULL, except, t ? t->is_volatile : 0, t ? t->local : 0};
    return sio_broadcast(s->nsp, &tt, event, args);
}

void sio_each_socket(sio_namespace *n, const sio_target *t, void (*fn)(sio_socket *, void *),
                     void *ud) {
    n->adapter->ops->each(n->adapter, t, fn, ud);
}

/* ---------- rooms and disconnect ---------- */

int sio_join(sio_socket *s, const char *room) {
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    if (!room) return SIO_EINVAL;
    sio_adapter *a = s->nsp->adapter;
    const sio_options *o = &s->nsp->srv->o;
    /* The own id room is answered from the socket map, never stored: free. */
    if (strcmp(room, s->id) == 0) return SIO_OK;
    int r = SIO_OK;
    if (o->max_room_name && strnlen(room, o->max_room_name + 1) > o->max_room_name)
        r = SIO_ETOOBIG;
    else if (o->max_rooms_per_socket && s->slot.n_rooms >= o->max_rooms_per_socket &&
             !a->ops->has(a, s, room))
        r = SIO_ELIMIT;
    if (r == SIO_OK && __builtin_expect(s->nsp->srv->obs != NULL, 0)) {
        int had = a->ops->has(a, s, room);
        r = a->ops->join(a, s, room);
        if (r == SIO_OK && !had) OBSERVE(s->nsp->srv, joined, s, room);
        return r;
    }
    if (r == SIO_OK) return a->ops->join(a, s, room);
    if (s->refused_joins < UINT32_MAX) s->refused_joins++;
    log_debug("sio: join refused for %s in %s: %s", s->id, s->nsp->name, sio_strerror(r));
    return r;
}

size_t sio_socket_refused_joins(const sio_socket *s) {
    return s->refused_joins;
}

int sio_leave(sio_socket *s, const char *room) {
    if (s->state != SOCK_CONNECTED) return SIO_ECLOSED;
    if (!room) return SIO_EINVAL;
    sio_adapter *a = s->nsp->adapter;
    if (__builtin_expect(s->nsp->srv->obs != NULL, 0) && a->ops->has(a, s, room)) {
        a->ops->leave(a, s, room);
        OBSERVE(s->nsp->srv, left, s, room);
        return SIO_OK;
    }
    a->ops->leave(a, s, room);
    return SIO_OK;
}

int sio_in_room(const sio_socket *s, const char *room) {
    return s->state == SOCK_CONNECTED && s->nsp->adapter->ops->has(s->nsp->adapter, s, room);
}

void sio_socket_rooms(const sio_socket *s, void (*fn)(const char *, void *), void *ud) {
    if (s->state == SOCK_CONNECTED) s->nsp->adapter->ops->rooms_of(s->nsp->adapter, s, fn, ud);
}

void sio_disconnect(sio_socket *s, int close_connection) {
    if (s->state == SOCK_GONE) return;
    sio_client *c = s->client;
    if (close_connection && c) {
        if (c->closing) return;
        c->closing = 1;
        while (c->sockets)
            socket_close(c->sockets, "server namespace disconnect", 1);
        if (c->es) eio_close(c->es);
        return;
    }
    socket_close(s, "server namespace disconnect", 1);
}

/* ---------- cluster-wide operations (local halves + adapter hooks) ---------- */

struct rooms_op {
    const char *const *rooms;
    int leave;
};

static void rooms_fn(sio_socket *s, void *ud) {
    struct rooms_op *op = ud;
    for (const char *const *r = op->rooms; r && *r; r++) {
        if (op->leave)
            sio_leave(s, *r);
        else
            sio_join(s, *r);
    }
}

void sio_local_rooms(sio_namespace *n, const sio_target *t, const char *const *rooms, int leave) {
    struct rooms_op op = {rooms, leave};
    sio_each_socket(n, t, rooms_fn, &op);
}

static int rooms_everywhere(sio_namespace *n, const sio_target *t, const char *const *rooms,
                            int leave) {
    sio_local_rooms(n, t, rooms, leave);
    if (t && t->local) return SIO_OK;
    return n->adapter->ops->remote_rooms
               ? n->adapter->ops->remote_rooms(n->adapter, t, rooms, leave)
               : SIO_OK;
}

int sio_sockets_join(sio_namespace *n, const sio_target *t, const char *const *rooms) {
    return rooms_everywhere(n, t, rooms, 0);
}

int sio_sockets_leave(sio_namespace *n, const sio_target *t, const char *const *rooms) {
    return rooms_everywhere(n, t, rooms, 1);
}

static void disconnect_fn(sio_socket *s, void *ud) {
    sio_disconnect(s, *(int *)ud);
}

void sio_local_disconnect(sio_namespace *n, const sio_target *t, int close) {
    sio_each_socket(n, t, disconnect_fn, &close);
}

int sio_disconnect_sockets(sio_namespace *n, const sio_target *t, int close) {
    sio_local_disconnect(n, t, close);
    if (t && t->local) return SIO_OK;
    return n->adapter->ops->remote_disconnect
               ? n->adapter->ops->remote_disconnect(n->adapter, t, close)
               : SIO_OK;
}

static void add_kv(const char *k, const char *v, void *ud) {
    cJSON_AddStringToObject(ud, k, v);
}
static void add_room(const char *room, void *ud) {
    cJSON_AddItemToArray(ud, cJSON_CreateString(room));
}

/* The socket as the reference's fetchSockets describes it. */
static cJSON *describe(sio_socket *s) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON *hs = cJSON_AddObjectToObject(o, "handshake");
    eio_session *es = s->client ? s->client->es : NULL;
    if (hs && es) {
        cJSON *h = cJSON_AddObjectToObject(hs, "headers");
        if (h) eio_session_each_header(es, add_kv, h);
        char when[96];
        time_t secs = (time_t)(s->connected_at_ms / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(when, sizeof when, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)",
                 &tm);
        cJSON_AddStringToObject(hs, "time", when);
        cJSON_AddStringToObject(hs, "address", eio_session_remote_addr(es));
        const char *origin = eio_session_header(es, "origin");
        cJSON_AddBoolToObject(hs, "xdomain", origin != NULL);
        cJSON_AddBoolToObject(hs, "secure", 0);
        cJSON_AddNumberToObject(hs, "issued", (double)s->connected_at_ms);
        cJSON_AddStringToObject(hs, "url", s->nsp->srv->path);
        cJSON *q = cJSON_AddObjectToObject(hs, "query");
        if (q) eio_session_each_query(es, add_kv, q);
        cJSON_AddItemToObject(hs, "auth",
                              s->auth ? cJSON_Duplicate(s->auth, 1) : cJSON_CreateObject());
    }
    cJSON *rooms = cJSON_AddArrayToObject(o, "rooms");
    if (rooms) sio_socket_rooms(s, add_room, rooms);
    cJSON *data = s->json_data ? sio_json_duplicate(s->json_data) : cJSON_CreateObject();
    if (data) {
        cJSON_AddItemToObject(o, "data", data);
        if (cJSON_IsObject(data)) OBSERVE(s->nsp->srv, describe, s, data);
    }
    return o;
}

static void fetch_fn(sio_socket *s, void *ud) {
    cJSON *d = describe(s);
    if (d) cJSON_AddItemToArray(ud, d);
}

cJSON *sio_local_fetch(sio_namespace *n, const sio_target *t) {
    cJSON *arr = cJSON_CreateArray();
    if (arr) sio_each_socket(n, t, fetch_fn, arr);
    return arr;
}

int sio_fetch_sockets(sio_namespace *n, const sio_target *t, sio_fetch_cb cb, void *ud) {
    if (!cb) return SIO_EINVAL;
    cJSON *local = sio_local_fetch(n, t);
    if (!local) return SIO_ENOMEM;
    if ((!t || !t->local) && n->adapter->ops->remote_fetch)
        return n->adapter->ops->remote_fetch(n->adapter, t, local, cb, ud);
    cb(n, SIO_OK, local, ud);
    cJSON_Delete(local);
    return SIO_OK;
}

void sio_on_server_event(sio_namespace *n, sio_server_event_cb cb, void *ud) {
    n->server_event_cb = cb;
    n->server_event_ud = ud;
}

/* The answer channel of one server-side event, on the stack of
 * sio_local_server_event: the handler may reply once, before it returns. */
struct sio_server_ack {
    void (*reply)(const cJSON *arg, void *ud);
    void *ud;
    int used;
};

void sio_local_server_event(sio_namespace *n, cJSON *data, void (*reply)(const cJSON *, void *),
                            void *ud) {
    if (!cJSON_IsArray(data) || !n->server_event_cb) return;
    cJSON *name = cJSON_DetachItemFromArray(data, 0);
    sio_server_ack ack = {reply, ud, 0};
    if (cJSON_IsString(name))
        n->server_event_cb(n, name->valuestring, data, reply ? &ack : NULL, n->server_event_ud);
    cJSON_Delete(name);
}

int sio_server_ack_reply(sio_server_ack *ack, const cJSON *arg) {
    if (!ack) return SIO_EINVAL;
    if (ack->used) return SIO_ESTATE;
    ack->used = 1;
    ack->reply(arg, ack->ud);
    return SIO_OK;
}

/* [event, ...args] without touching the caller's tree: new nodes, deep copies. */
static cJSON *event_array(const char *event, const cJSON *args) {
    cJSON *data = cJSON_CreateArray();
    if (!data) return NULL;
    cJSON_AddItemToArray(data, cJSON_CreateString(event));
    for (const cJSON *a = args ? args->child : NULL; a; a = a->next) {
        cJSON *c = sio_json_duplicate(a);
        if (c) cJSON_AddItemToArray(data, c);
    }
    return data;
}

int sio_server_side_emit(sio_namespace *n, const char *event, const cJSON *args,
                         sio_responses_cb cb, void *ud) {
    if (!event) return SIO_EINVAL;
    if (!n->adapter->ops->remote_server_emit) {
        /* No other node: an emit with ack completes with no answers. */
        if (cb) {
            cJSON *none = cJSON_CreateArray();
            cb(n, SIO_OK, none, ud);
            cJSON_Delete(none);
        }
        return SIO_OK;
    }
    cJSON *data = event_array(event, args);
    if (!data) return SIO_ENOMEM;
    int r = n->adapter->ops->remote_server_emit(n->adapter, data, cb, ud);
    cJSON_Delete(data);
    return r;
}

/* ---------- broadcast with acks ---------- */

static void group_free_if_unused(sio_ack_group *g) {
    if (!g->done || g->refs > 0) return;
    sio_namespace *n = g->nsp;
    cJSON_Delete(g->responses);
    if (g->fwd_release) g->fwd_release(g->fwd_ud);
    free(g);
    sio_nsp_unref(n);
}

static void group_finish(sio_ack_group *g, int status) {
    if (g->done) return;
    g->done = 1;
    sio_timer_stop(g->nsp->srv->loop, &g->timer);
    g->refs++; /* the callback may start another operation; keep g alive */
    g->cb(g->nsp, status, g->responses, g->ud);
    g->refs--;
    group_free_if_unused(g);
}

static void group_check(sio_ack_group *g) {
    if (!g->done && g->expected_servers >= 0 && g->actual_servers >= g->expected_servers &&
        (size_t)cJSON_GetArraySize(g->responses) >= g->expected_clients)
        group_finish(g, SIO_OK);
}

void sio_ack_group_count(sio_ack_group *g, size_t clients) {
    g->expected_clients += clients;
    g->actual_servers++;
    group_check(g);
}

void sio_ack_group_answer(sio_ack_group *g, cJSON *arg) {
    if (g->forward) {
        g->forward(g->nsp, arg, g->fwd_ud);
        return;
    }
    if (g->done) {
        cJSON_Delete(arg);
        return;
    }
    cJSON_AddItemToArray(g->responses, arg ? arg : cJSON_CreateNull());
    group_check(g);
}

void sio_ack_group_servers(sio_ack_group *g, int servers) {
    g->expected_servers = servers;
    group_check(g);
}

void sio_ack_group_ref(sio_ack_group *g) {
    g->refs++;
}

void sio_ack_group_unref(sio_ack_group *g) {
    g->refs--;
    group_free_if_unused(g);
}

static void group_timeout(sio_loop *loop, sio_timer *t) {
    sio_ack_group *g = (sio_ack_group *)((char *)t - offsetof(sio_ack_group, timer));
    group_finish(g, SIO_ETIMEDOUT);
}

static void group_client_ack(sio_socket *s, int status, cJSON *args, void *ud) {
    sio_ack_group *g = ud;
    if (status == SIO_OK) sio_ack_group_answer(g, cJSON_DetachItemFromArray(args, 0));
    sio_ack_group_unref(g);
}

struct bcast_ack {
    sio_ack_group *g;
    int64_t id;
    uint32_t timeout_ms;
    size_t count;
};

static void bcast_ack_fn(sio_socket *s, void *ud) {
    struct bcast_ack *b = ud;
    sio_server *srv = s->nsp->srv;
    struct pending_ack *a = calloc(1, sizeof *a);
    if (!a || sio_socket_deliver(s, &srv->batch, 0) != SIO_OK) {
        free(a);
        return;
    }
    a->s = s;
    a->id = b->id;
    a->cb = group_client_ack;
    a->ud = b->g;
    a->next = s->acks;
    s->acks = a;
    if (b->timeout_ms) sio_timer_start(srv->loop, &a->timer, b->timeout_ms, ack_timeout);
    b->g->refs++;
    b->count++;
}

/* Broadcast data with acks to the local sockets t selects, into g. */
static size_t local_broadcast_ack(sio_namespace *n, const cJSON *data, const sio_target *t,
                                  uint32_t timeout_ms, sio_ack_group *g) {
    sio_server *srv = n->srv;
    struct bcast_ack b = {g, next_ack_id(n), timeout_ms, 0};
    if (encode(srv, SIO_PKT_EVENT, n->name, b.id, NULL, data) || encoded_batch(srv)) return 0;
    n->adapter->ops->each(n->adapter, t, bcast_ack_fn, &b);
    return b.count;
}

size_t sio_local_broadcast_ack(sio_namespace *n, const cJSON *data, const sio_target *t,
                               uint32_t timeout_ms,
                               void (*forward)(sio_namespace *, cJSON *, void *), void *ud,
                               void (*release)(void *)) {
    sio_ack_group *g = forward ? calloc(1, sizeof *g) : NULL;
    if (!g) {
        if (release) release(ud);
        return 0;
    }
    g->nsp = n;
    sio_nsp_ref(n); /* ud may point at n's adapter: both stay until the group goes */
    g->done = 1;    /* never completes here: each answer is handed on */
    g->forward = forward;
    g->fwd_ud = ud;
    g->fwd_release = release;
    g->refs = 1;
    size_t count = local_broadcast_ack(n, data, t, timeout_ms, g);
    /* The forwarding state lives as long as local acks may still come. */
    sio_ack_group_unref(g);
    return count;
}

int sio_broadcast_with_ack(sio_namespace *n, const sio_target *t, const char *event,
                           const cJSON *args, uint32_t timeout_ms, sio_responses_cb cb, void *ud) {
    if (!cb || !event) return SIO_EINVAL;
    sio_ack_group *g = calloc(1, sizeof *g);
    cJSON *data = event_array(event, args);
    if (!g || !data || !(g->responses = cJSON_CreateArray())) {
        free(g);
        cJSON_Delete(data);
        return SIO_ENOMEM;
    }
    g->nsp = n;
    sio_nsp_ref(n);
    g->cb = cb;
    g->ud = ud;
    g->expected_servers = -1;
    g->refs = 1; /* ours, until the setup below is over */
    if (timeout_ms) sio_timer_start(n->srv->loop, &g->timer, timeout_ms, group_timeout);
    size_t local = local_broadcast_ack(n, data, t, timeout_ms, g);
    sio_adapter_packet out = {NULL, n->name, data, NULL, NULL, 0};
    int remote = (!t || !t->local) && n->adapter->ops->remote_broadcast_ack;
    sio_ack_group_count(g, local);
    if (remote)
        n->adapter->ops->remote_broadcast_ack(n->adapter, &out, t, timeout_ms, g);
    else
        sio_ack_group_servers(g, 1);
    cJSON_Delete(data);
    sio_ack_group_unref(g);
    return SIO_OK;
}

int sio_local_broadcast(sio_namespace *n, const cJSON *data, const sio_target *t) {
    if (recovery_on(n) && !(t && t->is_volatile)) {
        /* Numbered and logged here (the classic adapter's inner memory
         * adapter), so a client of this node can recover it. */
        sio_target lt = {t ? t->rooms : NULL, t ? t->except : NULL, 0, 1};
        sio_adapter_packet out = {NULL, n->name, data, NULL, NULL, 1};
        return adapter_broadcast(n, &out, &lt);
    }
    return sio_local_broadcast_offset(n, data, t, NULL);
}

int sio_local_broadcast_offset(sio_namespace *n, const cJSON *data, const sio_target *t,
                               const char *offset) {
    sio_server *srv = n->srv;
    int r = encode_offset(srv, n->name, NULL, NULL, data, offset);
    if (r == SIO_OK) r = encoded_batch(srv);
    if (r) return r;
    /* Local delivery only: the memory half of whatever adapter this is. */
    sio_target lt = {t ? t->rooms : NULL, t ? t->except : NULL, t ? t->is_volatile : 0, 1};
    sio_adapter_packet out = {&srv->batch, n->name, data, NULL, NULL, 0};
    return broadcast_via(n, n->adapter, &out, &lt, offset);
}
