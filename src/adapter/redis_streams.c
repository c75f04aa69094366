/* Redis Streams adapter, wire-compatible with Node's
 * @socket.io/redis-streams-adapter 0.3.x (a socket.io-adapter ClusterAdapter):
 *   stream <name>[-<hash(nsp) % count>]   XADD MAXLEN ~ <maxLen> * uid U nsp N
 *        type T [data D]   (D: JSON, or base64 MessagePack when it holds binary)
 *        for BROADCAST, SOCKETS_JOIN, SOCKETS_LEAVE, DISCONNECT_SOCKETS
 *   <prefix>#<nsp>#        PUBLISH MessagePack {type, data, uid, nsp}: the
 *        ephemeral requests (broadcast with acks, serverSideEmit, fetchSockets)
 *   <prefix>#<nsp>#<uid>#  their answers, to the node that asked
 * The server count is PUBSUB NUMSUB of the public channel (0.3.x has no
 * heartbeats). Each namespace's adapter keeps its local rooms in an inner
 * memory adapter; this file adds the traffic with the other nodes. Built on
 * the public adapter interface (sio/adapter.h) and the links of redis_link.h:
 * one for commands, one for subscriptions, one blocked in XREAD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "adapter/cluster_request.h"
#include "adapter/cluster_wire.h"
#include "adapter/redis_link.h"
#include "adapter/redis_streams_internal.h"
#include "sio/adapter.h"
#include "sio/redis_streams.h"
#include "socketio/msgpack.h"
#include "socketio/packet.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/metrics.h"

#define READ_COUNT    "100"
#define READ_BLOCK_MS "5000"
#define READ_RETRY_MS 1000

static const sio_adapter_ops streams_ops;

/* ---------- encoding ---------- */

/* JavaScript's hashCode of the reference (h = h * 31 + code unit, int32):
 * the namespace's stream when there are several. Computed over UTF-16 code
 * units, as charCodeAt gives them. */
static int32_t js_hash(const char *s) {
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int n;
        if (*p < 0x80)
            cp = *p, n = 1;
        else if ((*p & 0xe0) == 0xc0 && p[1])
            cp = ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu), n = 2;
        else if ((*p & 0xf0) == 0xe0 && p[1] && p[2])
            cp = ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu), n = 3;
        else if ((*p & 0xf8) == 0xf0 && p[1] && p[2] && p[3])
            cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) |
                 (p[3] & 0x3fu),
            n = 4;
        else
            cp = 0xfffd, n = 1;
        if (cp >= 0x10000) {
            h = h * 31 + (0xd800 + ((cp - 0x10000) >> 10));
            h = h * 31 + (0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else {
            h = h * 31 + cp;
        }
        p += n;
    }
    return (int32_t)h;
}

/* An entry's data field: base64 MessagePack when it holds binary (the
 * reference does so for the types that may carry it; ours that reach the
 * stream are broadcasts), else JSON. Into out (cleared first). */
static int entry_data(const cJSON *data, sbuf *out) {
    sbuf_clear(out);
    if (!sio_json_has_binary(data)) return sio_json_print(data, out, NULL, NULL);
    sbuf mp = SBUF_INIT;
    int rc = msgpack_encode(data, &mp);
    if (rc == SIO_OK) {
        size_t n = b64_encoded_len(mp.len, 0);
        rc = sbuf_reserve(out, n + 1);
        if (rc == SIO_OK) {
            b64_encode(mp.data, mp.len, (char *)out->data, 0);
            out->len = n;
        }
    }
    sbuf_free(&mp);
    return rc;
}

cJSON *streams_entry_decode(const char *d, size_t n) {
    cJSON *v = NULL;
    if (n && d[0] == '{') return sio_json_parse_text(d, n, &v) == SIO_OK ? v : NULL;
    uint8_t *raw = malloc(n / 4 * 3 + 3);
    size_t len = 0;
    if (raw && b64_decode(d, n, raw, &len, 0) == 0 && cluster_decode_one(raw, len, &v) != SIO_OK)
        v = NULL;
    free(raw);
    return v;
}

/* {packet: {type: 2, data}, opts: {rooms, except, flags}} of a broadcast
 * (the reference's packet has no nsp: socket.io sets it after publishing). */
static cJSON *broadcast_body(const sio_adapter_packet *pkt, const sio_target *t, cJSON *name) {
    cJSON *body = cJSON_CreateObject();
    cJSON *packet = cJSON_AddObjectToObject(body, "packet");
    cJSON *opts = cluster_opts_json(t);
    if (!body || !packet || !opts) {
        cJSON_Delete(body);
        cJSON_Delete(opts);
        return NULL;
    }
    cJSON_AddNumberToObject(packet, "type", 2);
    cJSON_AddItemToObject(packet, "data", cluster_packet_data(pkt, name));
    cJSON *flags = cJSON_AddObjectToObject(opts, "flags");
    if (flags && t && t->is_volatile) cJSON_AddTrueToObject(flags, "volatile");
    cJSON_AddItemToObject(body, "opts", opts);
    return body;
}

static void ignore_reply(redis_link *l, const void *reply, void *ud) {}

/* XADD one message to the namespace's stream; cb gets the reply (the entry
 * id), or NULL: ignored. */
static int xadd(streams_adapter *a, int type, const cJSON *data, redis_reply_cb cb, void *ud) {
    struct sio_streams *st = a->st;
    sbuf *d = &st->scratch;
    if (data && entry_data(data, d) != SIO_OK) return SIO_ENOMEM;
    char maxlen[16], ty[8];
    snprintf(maxlen, sizeof maxlen, "%u", st->max_len);
    snprintf(ty, sizeof ty, "%d", type);
    const char *argv[14] = {"XADD",   a->key,
                            "MAXLEN", "~",
                            maxlen,   "*",
                            "uid",    st->uid,
                            "nsp",    sio_nsp_name(a->in.base.nsp),
                            "type",   ty,
                            "data",   data ? (const char *)d->data : ""};
    size_t lens[14];
    for (int i = 0; i < 13; i++)
        lens[i] = strlen(argv[i]);
    lens[13] = data ? d->len : 0;
    return redis_link_command(st->pub, cb ? cb : ignore_reply, ud, data ? 14 : 12, argv, lens);
}

/* PUBLISH msgpack {type, data, uid, nsp} on a channel; data read only. */
static int publish_msg(streams_adapter *a, const char *chan, int type, const cJSON *data) {
    struct sio_streams *st = a->st;
    cJSON *m = cJSON_CreateObject();
    if (!m) return SIO_ENOMEM;
    cJSON_AddNumberToObject(m, "type", type);
    /* A reference: m's deletion leaves the caller's tree alone. */
    if (data) cJSON_AddItemToObject(m, "data", cJSON_CreateObjectReference(data->child));
    cJSON_AddStringToObject(m, "uid", st->uid);
    cJSON_AddStringToObject(m, "nsp", sio_nsp_name(a->in.base.nsp));
    sbuf_clear(&st->scratch);
    int rc = msgpack_encode(m, &st->scratch);
    cJSON_Delete(m);
    if (rc == SIO_OK)
        rc = redis_link_publish(st->pub, chan, strlen(chan), st->scratch.data, st->scratch.len);
    return rc;
}

/* An answer to the node `to` (its private channel); takes data. */
static void publish_response(streams_adapter *a, const char *to, int type, cJSON *data) {
    char *chan = to ? cluster_concat3(a->pubchan, to, "#") : NULL;
    if (chan && data) publish_msg(a, chan, type, data);
    free(chan);
    cJSON_Delete(data);
}

/* ---------- requests this node sent ---------- */

/* NUMSUB of the public channel: every node serving the namespace, this one
 * included (the reference's serverCount()). */
static void on_numsub(redis_link *l, const void *reply, void *ud) {
    cluster_request *q = ud;
    int servers = cluster_request_numsub(q, reply);
    if (servers < 0) return;
    streams_adapter *a = q->owner;
    if (q->type == MSG_BROADCAST) {
        sio_ack_group_servers(q->group, servers < 1 ? 1 : servers);
        return;
    }
    q->expected = servers - 1;
    if (q->expected <= 0) {
        cluster_request_complete(q, SIO_OK);
        return;
    }
    redis_link_publish(a->st->pub, a->pubchan, strlen(a->pubchan), q->payload.data, q->payload.len);
}

static cluster_request *request_new(streams_adapter *a, int type, uint32_t timeout_ms) {
    struct sio_streams *st = a->st;
    return cluster_request_new(&st->requests, st->loop, a, a->in.base.nsp, type, UID_LEN,
                               timeout_ms ? timeout_ms : st->timeout_ms, type == MSG_BROADCAST);
}

static int ask_numsub(cluster_request *q) {
    streams_adapter *a = q->owner;
    return cluster_request_ask_numsub(q, a->st->pub, a->pubchan, on_numsub);
}

/* Encode the request (body taken, requestId added) for publishing once the
 * server count is known; without Redis it completes with this node's part. */
static int request_send(cluster_request *q, cJSON *body) {
    streams_adapter *a = q->owner;
    int rc = body ? SIO_OK : SIO_ENOMEM;
    cJSON *m = body ? cJSON_CreateObject() : NULL;
    if (m) {
        cJSON_AddStringToObject(body, "requestId", q->id);
        cJSON_AddNumberToObject(m, "type", q->type);
        cJSON_AddItemToObject(m, "data", body);
        body = NULL;
        cJSON_AddStringToObject(m, "uid", a->st->uid);
        cJSON_AddStringToObject(m, "nsp", sio_nsp_name(a->in.base.nsp));
        rc = msgpack_encode(m, &q->payload);
    }
    cJSON_Delete(body);
    cJSON_Delete(m);
    if (rc != SIO_OK || ask_numsub(q) != SIO_OK) cluster_request_complete(q, SIO_OK);
    return SIO_OK;
}

/* ---------- adapter ops ---------- */

static int sa_join(sio_adapter *b, sio_socket *s, const char *room) {
    int rc = inner_join(b, s, room);
    if (rc == SIO_OK) streams_live_touch((streams_adapter *)b, s);
    return rc;
}
static void sa_leave(sio_adapter *b, sio_socket *s, const char *room) {
    inner_leave(b, s, room);
    streams_live_touch((streams_adapter *)b, s);
}
static void sa_leave_all(sio_adapter *b, sio_socket *s) {
    streams_live_leave((streams_adapter *)b, s);
    inner_leave_all(b, s);
}

/* A broadcast waiting for its XADD's entry id (with recovery: its offset)
 * before its local delivery; the ones after it wait too, so this node's
 * clients get its broadcasts in order, as the reference's await does. */
struct pending {
    struct pending *next;
    streams_adapter *a; /* NULL once the adapter went (the reply is still due) */
    cJSON *data;        /* [event, ...args], ours */
    char **rooms, **except;
    int is_volatile;
    int numbered; /* wants_offset: the entry id goes in as its offset */
    int ready;
    char id[ENTRY_ID_MAX];
};

static char **dup_list(const char *const *v) {
    size_t n = 0;
    while (v && v[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        if (!(out[i] = strdup(v[i]))) {
            while (i)
                free(out[--i]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static void free_list(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void pending_free(struct pending *p) {
    cJSON_Delete(p->data);
    free_list(p->rooms);
    free_list(p->except);
    free(p);
}

static struct pending *pending_new(const sio_adapter_packet *pkt, const sio_target *t) {
    struct pending *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    cJSON name;
    cJSON *ref = cluster_packet_data(pkt, &name);
    p->data = ref ? sio_json_duplicate(ref) : NULL;
    cJSON_Delete(ref);
    p->rooms = t && t->rooms ? dup_list(t->rooms) : NULL;
    p->except = t && t->except ? dup_list(t->except) : NULL;
    p->is_volatile = t && t->is_volatile;
    p->numbered = pkt->wants_offset;
    if (!p->data || (t && t->rooms && !p->rooms) || (t && t->except && !p->except)) {
        pending_free(p);
        return NULL;
    }
    return p;
}

/* Local delivery of a packet given as data, with its offset (or none),
 * through the core so the observer (the admin UI) sees it, also when it
 * comes after XADD's answer. */
static int deliver_local(streams_adapter *a, const cJSON *data, const sio_target *t,
                         const char *offset) {
    sio_adapter_packet pk = {NULL, sio_nsp_name(a->in.base.nsp), data, NULL, NULL, 0};
    sio_target lt = {t ? t->rooms : NULL, t ? t->except : NULL, t ? t->is_volatile : 0, 1};
    return sio_adapter_deliver_local(a->in.mem, &pk, offset, &lt);
}

static void flush_pending(streams_adapter *a) {
    if (a->flushing) return; /* the outer loop goes on */
    a->flushing = 1;
    while (a->pending && a->pending->ready) {
        struct pending *p = a->pending;
        a->pending = p->next;
        if (!a->pending) a->pending_tail = NULL;
        sio_target t = {(const char *const *)p->rooms, (const char *const *)p->except,
                        p->is_volatile, 1};
        deliver_local(a, p->data, &t, p->numbered && p->id[0] ? p->id : NULL);
        pending_free(p);
    }
    a->flushing = 0;
}

static void on_xadd(redis_link *l, const void *reply, void *ud) {
    struct pending *p = ud;
    const redisReply *r = reply;
    if (!p->a) {
        pending_free(p);
        return;
    }
    /* An error or a lost link: delivered without offset, as the reference
     * does when XADD fails. */
    if (r && r->type == REDIS_REPLY_STRING && r->len < ENTRY_ID_MAX)
        snprintf(p->id, sizeof p->id, "%s", r->str);
    p->ready = 1;
    flush_pending(p->a);
}

static int sa_broadcast(sio_adapter *b, const sio_adapter_packet *pkt, const sio_target *t) {
    streams_adapter *a = (streams_adapter *)b;
    int remote = !(t && t->local) && redis_link_is_up(a->st->pub);
    cJSON name;
    cJSON *body = remote ? broadcast_body(pkt, t, &name) : NULL;
    if (!pkt->wants_offset && !a->pending) {
        if (body) xadd(a, MSG_BROADCAST, body, NULL, NULL);
        cJSON_Delete(body);
        return inner_broadcast(b, pkt, t);
    }
    struct pending *p = pending_new(pkt, t);
    if (!p) {
        /* Out of memory: at least this node's clients, without offset. */
        if (body) xadd(a, MSG_BROADCAST, body, NULL, NULL);
        cJSON_Delete(body);
        const cJSON *d = pkt->data;
        return d ? deliver_local(a, d, t, NULL) : SIO_ENOMEM;
    }
    p->a = a;
    if (a->pending_tail)
        a->pending_tail->next = p;
    else
        a->pending = p;
    a->pending_tail = p;
    if (!body || xadd(a, MSG_BROADCAST, body, on_xadd, p) != SIO_OK) {
        p->ready = 1;
        flush_pending(a);
    }
    cJSON_Delete(body);
    return SIO_OK;
}

/* {opts: {rooms, except, flags: {}}} for the operations on other nodes. */
static cJSON *op_body(const sio_target *t) {
    cJSON *body = cJSON_CreateObject();
    cJSON *opts = cluster_opts_json(t);
    if (!body || !opts) {
        cJSON_Delete(body);
        cJSON_Delete(opts);
        return NULL;
    }
    cJSON_AddObjectToObject(opts, "flags");
    cJSON_AddItemToObject(body, "opts", opts);
    return body;
}

static int sa_remote_rooms(sio_adapter *b, const sio_target *t, const char *const *rooms,
                           int leave) {
    streams_adapter *a = (streams_adapter *)b;
    cJSON *body = op_body(t);
    if (!body) return SIO_ENOMEM;
    cJSON_AddItemToObject(body, "rooms", cluster_rooms_json(rooms));
    int r = xadd(a, leave ? MSG_SOCKETS_LEAVE : MSG_SOCKETS_JOIN, body, NULL, NULL);
    cJSON_Delete(body);
    return r;
}

static int sa_remote_disconnect(sio_adapter *b, const sio_target *t, int close) {
    streams_adapter *a = (streams_adapter *)b;
    cJSON *body = op_body(t);
    if (!body) return SIO_ENOMEM;
    cJSON_AddBoolToObject(body, "close", close);
    int r = xadd(a, MSG_DISCONNECT_SOCKETS, body, NULL, NULL);
    cJSON_Delete(body);
    return r;
}

static int sa_remote_fetch(sio_adapter *b, const sio_target *t, cJSON *local, sio_fetch_cb cb,
                           void *ud) {
    streams_adapter *a = (streams_adapter *)b;
    cluster_request *q = request_new(a, MSG_FETCH_SOCKETS, 0);
    if (!q) {
        cb(a->in.base.nsp, SIO_OK, local, ud);
        cJSON_Delete(local);
        return SIO_OK;
    }
    q->acc = local;
    q->fetch_cb = cb;
    q->ud = ud;
    return request_send(q, op_body(t));
}

static int sa_remote_server_emit(sio_adapter *b, const cJSON *data, sio_responses_cb cb, void *ud) {
    streams_adapter *a = (streams_adapter *)b;
    cJSON *body = cJSON_CreateObject();
    if (!body) return SIO_ENOMEM;
    cJSON_AddItemToObject(body, "packet", cJSON_CreateArrayReference(data->child));
    if (!cb) {
        int r = publish_msg(a, a->pubchan, MSG_SERVER_SIDE_EMIT, body);
        cJSON_Delete(body);
        return r;
    }
    cluster_request *q = request_new(a, MSG_SERVER_SIDE_EMIT, 0);
    if (!q) {
        cJSON_Delete(body);
        return SIO_ENOMEM;
    }
    q->acc = cJSON_CreateArray();
    q->resp_cb = cb;
    q->ud = ud;
    return request_send(q, body);
}

static int sa_remote_broadcast_ack(sio_adapter *b, const sio_adapter_packet *pkt,
                                   const sio_target *t, uint32_t timeout_ms, sio_ack_group *g) {
    streams_adapter *a = (streams_adapter *)b;
    cluster_request *q = request_new(a, MSG_BROADCAST, timeout_ms);
    if (!q) {
        sio_ack_group_servers(g, 1);
        return SIO_ENOMEM;
    }
    q->group = g;
    sio_ack_group_ref(g);
    cJSON name;
    cJSON *body = broadcast_body(pkt, t, &name);
    cJSON *flags = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(body, "opts"), "flags");
    if (flags) cJSON_AddNumberToObject(flags, "timeout", timeout_ms);
    if (body) {
        cJSON_AddStringToObject(body, "requestId", q->id);
        publish_msg(a, a->pubchan, MSG_BROADCAST, body);
    }
    cJSON_Delete(body);
    if (ask_numsub(q) != SIO_OK) sio_ack_group_servers(g, 1);
    return SIO_OK;
}

static void sa_free(sio_adapter *b) {
    streams_adapter *a = (streams_adapter *)b;
    struct sio_streams *st = a->st;
    for (streams_adapter **pp = &st->adapters; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    cluster_request_free_owned(&st->requests, a);
    /* Broadcasts waiting for XADD: their replies free them. */
    for (struct pending *p = a->pending, *n; p; p = n) {
        n = p->next;
        if (p->ready)
            pending_free(p);
        else
            p->a = NULL;
    }
    streams_sessions_free(a);
    inner_close(&a->in);
    free(a->key);
    free(a->pubchan);
    free(a->privchan);
    free(a);
}

static const sio_adapter_ops streams_ops = {
    .join = sa_join,
    .leave = sa_leave,
    .leave_all = sa_leave_all,
    .has = inner_has,
    .rooms_of = inner_rooms_of,
    .each = inner_each,
    .broadcast = sa_broadcast,
    .room_count = inner_room_count,
    .free = sa_free,
    .remote_rooms = sa_remote_rooms,
    .remote_disconnect = sa_remote_disconnect,
    .remote_fetch = sa_remote_fetch,
    .remote_server_emit = sa_remote_server_emit,
    .remote_broadcast_ack = sa_remote_broadcast_ack,
    .persist_session = streams_persist_session,
    .restore_session = streams_restore_session,
    .connected = streams_connected,
};

/* ---------- messages from the other nodes ---------- */

/* What a message names the node that sent it by, and what it holds. */
struct msg {
    streams_adapter *a;
    int type;
    const char *from;   /* its uid */
    cJSON *data;        /* ours: handlers may detach from it */
    const char *offset; /* the stream entry id, NULL over pub/sub */
};

struct fwd {
    streams_adapter *a;
    char to[UID_LEN * 2 + 1];
    char request_id[64];
};

static void forward_answer(sio_namespace *nsp, cJSON *arg, void *ud) {
    struct fwd *f = ud;
    cJSON *d = cJSON_CreateObject();
    if (d) {
        cJSON_AddStringToObject(d, "requestId", f->request_id);
        cJSON_AddItemToObject(d, "packet", arg ? arg : cJSON_CreateNull());
        arg = NULL;
    }
    cJSON_Delete(arg);
    publish_response(f->a, f->to, MSG_BROADCAST_ACK, d);
}

static void on_broadcast(struct msg *m) {
    const cJSON *packet = cJSON_GetObjectItemCaseSensitive(m->data, "packet");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(packet, "data");
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(m->data, "opts");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(m->data, "requestId");
    if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) == 0) return;
    cluster_target tb;
    cluster_target_from(&tb, opts);
    sio_namespace *nsp = m->a->in.base.nsp;
    if (!cJSON_IsString(rid)) {
        /* The reference's addOffsetIfNecessary: an EVENT without ack id,
         * not volatile, gets the entry id as its offset. */
        const cJSON *ptype = cJSON_GetObjectItemCaseSensitive(packet, "type");
        int numbered = m->a->st->window_ms && m->offset && !tb.t.is_volatile &&
                       !cJSON_GetObjectItemCaseSensitive(packet, "id") &&
                       !(cJSON_IsNumber(ptype) && ptype->valueint != 2);
        sio_local_broadcast_offset(nsp, data, &tb.t, numbered ? m->offset : NULL);
        return;
    }
    uint32_t timeout = cluster_ack_timeout(opts, m->a->st->timeout_ms);
    struct fwd *f = calloc(1, sizeof *f);
    if (!f) return;
    f->a = m->a;
    snprintf(f->to, sizeof f->to, "%s", m->from);
    snprintf(f->request_id, sizeof f->request_id, "%s", rid->valuestring);
    /* The namespace (and so f->a) stays while answers may come; f may be
     * freed by the time this returns (no socket was asked). */
    size_t count = sio_local_broadcast_ack(nsp, data, &tb.t, timeout, forward_answer, f, free);
    cJSON *d = cJSON_CreateObject();
    if (d) {
        cJSON_AddStringToObject(d, "requestId", rid->valuestring);
        cJSON_AddNumberToObject(d, "clientCount", (double)count);
    }
    publish_response(m->a, m->from, MSG_BROADCAST_CLIENT_COUNT, d);
}

static void on_rooms(struct msg *m) {
    cluster_target tb, rb;
    cluster_target_from(&tb, cJSON_GetObjectItemCaseSensitive(m->data, "opts"));
    memset(&rb, 0, sizeof rb);
    if (cluster_fill_rooms(&rb, cJSON_GetObjectItemCaseSensitive(m->data, "rooms"), rb.rooms) > 0)
        sio_local_rooms(m->a->in.base.nsp, &tb.t, rb.rooms, m->type == MSG_SOCKETS_LEAVE);
}

static void on_disconnect(struct msg *m) {
    cluster_target tb;
    cluster_target_from(&tb, cJSON_GetObjectItemCaseSensitive(m->data, "opts"));
    int close = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m->data, "close"));
    sio_local_disconnect(m->a->in.base.nsp, &tb.t, close);
}

static cJSON *answer_for(const cJSON *req) {
    cJSON *d = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "requestId");
    if (d && cJSON_IsString(id)) cJSON_AddStringToObject(d, "requestId", id->valuestring);
    return d;
}

static void on_fetch(struct msg *m) {
    cluster_target tb;
    cluster_target_from(&tb, cJSON_GetObjectItemCaseSensitive(m->data, "opts"));
    cJSON *d = answer_for(m->data);
    if (d) cJSON_AddItemToObject(d, "sockets", sio_local_fetch(m->a->in.base.nsp, &tb.t));
    publish_response(m->a, m->from, MSG_FETCH_SOCKETS_RESPONSE, d);
}

static void ss_reply(const cJSON *arg, void *ud) {
    struct msg *m = ud;
    cJSON *d = answer_for(m->data);
    if (d) cJSON_AddItemToObject(d, "packet", arg ? sio_json_duplicate(arg) : cJSON_CreateNull());
    publish_response(m->a, m->from, MSG_SERVER_SIDE_EMIT_RESPONSE, d);
}

static void on_server_emit(struct msg *m) {
    cJSON *packet = cJSON_GetObjectItemCaseSensitive(m->data, "packet");
    if (!cJSON_IsArray(packet) || !cJSON_IsString(cJSON_GetArrayItem(packet, 0))) return;
    int ack = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m->data, "requestId"));
    sio_local_server_event(m->a->in.base.nsp, packet, ack ? ss_reply : NULL, m);
}

static void on_response(struct msg *m) {
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(m->data, "requestId");
    cluster_request *q =
        cJSON_IsString(rid) ? cluster_request_find(m->a->st->requests, rid->valuestring) : NULL;
    if (!q || q->owner != m->a) return;
    switch (m->type) {
    case MSG_BROADCAST_CLIENT_COUNT: {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m->data, "clientCount");
        if (q->group) sio_ack_group_count(q->group, cJSON_IsNumber(c) ? (size_t)c->valuedouble : 0);
        break;
    }
    case MSG_BROADCAST_ACK:
        if (q->group)
            sio_ack_group_answer(q->group,
                                 cJSON_DetachItemFromObjectCaseSensitive(m->data, "packet"));
        break;
    case MSG_FETCH_SOCKETS_RESPONSE:
        if (q->type != MSG_FETCH_SOCKETS) break;
        cluster_request_add_sockets(q, cJSON_DetachItemFromObjectCaseSensitive(m->data, "sockets"));
        break;
    case MSG_SERVER_SIDE_EMIT_RESPONSE:
        if (q->type != MSG_SERVER_SIDE_EMIT) break;
        cluster_request_add_answer(q, cJSON_DetachItemFromObjectCaseSensitive(m->data, "packet"));
        break;
    default:
        break;
    }
}

static void dispatch(struct msg *m) {
    if (!cJSON_IsObject(m->data)) return;
    switch (m->type) {
    case MSG_BROADCAST:
        on_broadcast(m);
        break;
    case MSG_SOCKETS_JOIN:
    case MSG_SOCKETS_LEAVE:
        on_rooms(m);
        break;
    case MSG_DISCONNECT_SOCKETS:
        on_disconnect(m);
        break;
    case MSG_FETCH_SOCKETS:
        on_fetch(m);
        break;
    case MSG_SERVER_SIDE_EMIT:
        on_server_emit(m);
        break;
    case MSG_FETCH_SOCKETS_RESPONSE:
    case MSG_SERVER_SIDE_EMIT_RESPONSE:
    case MSG_BROADCAST_CLIENT_COUNT:
    case MSG_BROADCAST_ACK:
        on_response(m);
        break;
    default: /* heartbeats and ADAPTER_CLOSE: 0.3.x counts servers with NUMSUB */
        break;
    }
}

static streams_adapter *adapter_of(struct sio_streams *st, const char *nsp, size_t n) {
    for (streams_adapter *a = st->adapters; a; a = a->next) {
        const char *name = sio_nsp_name(a->in.base.nsp);
        if (strlen(name) == n && memcmp(name, nsp, n) == 0) return a;
    }
    return NULL;
}

/* A published message: msgpack {uid, nsp, type, data}. */
static void on_message(redis_link *l, const char *pattern, const char *channel, size_t chlen,
                       const uint8_t *d, size_t n, void *ud) {
    struct sio_streams *st = ud;
    streams_adapter *a = st->adapters;
    for (; a; a = a->next) {
        if ((strlen(a->pubchan) == chlen && memcmp(a->pubchan, channel, chlen) == 0) ||
            (strlen(a->privchan) == chlen && memcmp(a->privchan, channel, chlen) == 0))
            break;
    }
    cJSON *msg = NULL;
    if (!a || cluster_decode_one(d, n, &msg) != SIO_OK) return;
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(msg, "uid");
    const cJSON *nsp = cJSON_GetObjectItemCaseSensitive(msg, "nsp");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (cJSON_IsString(uid) && strcmp(uid->valuestring, st->uid) != 0 && cJSON_IsString(nsp) &&
        strcmp(nsp->valuestring, sio_nsp_name(a->in.base.nsp)) == 0 && cJSON_IsNumber(type)) {
        struct msg m = {a, type->valueint, uid->valuestring,
                        cJSON_GetObjectItemCaseSensitive(msg, "data"), NULL};
        dispatch(&m);
    }
    cJSON_Delete(msg);
}

/* ---------- reading the streams ---------- */

static void start_read(struct sio_streams *st);

const redisReply *streams_entry_field(const redisReply *kv, const char *name) {
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0 &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1];
    return NULL;
}

/* One stream entry [id, [field, value, ...]] from another node. */
static void on_entry(struct sio_streams *st, const redisReply *e) {
    const redisReply *id = e->element[0], *kv = e->element[1];
    const redisReply *uid = streams_entry_field(kv, "uid"), *nsp = streams_entry_field(kv, "nsp");
    const redisReply *type = streams_entry_field(kv, "type"),
                     *data = streams_entry_field(kv, "data");
    if (!nsp || !type) return; /* the reference skips entries without nsp */
    streams_adapter *a = adapter_of(st, nsp->str, nsp->len);
    if (!a || (uid && strcmp(uid->str, st->uid) == 0)) return;
    struct msg m = {a, atoi(type->str), uid ? uid->str : "", NULL, id->str};
    if (data) {
        m.data = streams_entry_decode(data->str, data->len);
        if (!m.data) {
            log_debug("redis-streams: malformed entry %s", id->str);
            return;
        }
    }
    dispatch(&m);
    cJSON_Delete(m.data);
}

static int valid_entry(const redisReply *e) {
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
           e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < ENTRY_ID_MAX &&
           e->element[1]->type == REDIS_REPLY_ARRAY;
}

static void read_retry(sio_loop *loop, sio_timer *t) {
    struct sio_streams *st =
        (struct sio_streams *)((char *)t - offsetof(struct sio_streams, read_retry));
    start_read(st);
}

/* XREAD's answer: nil after BLOCK ms without entries, else
 * [[key, [entry...]]...]. Read again at once. */
static void on_read(redis_link *l, const void *reply, void *ud) {
    struct sio_streams *st = ud;
    const redisReply *r = reply;
    st->reading = 0;
    if (!r) return; /* the link went down: on_up reads again */
    if (r->type == REDIS_REPLY_ERROR) {
        log_warn("redis-streams: XREAD: %s", r->str);
        sio_timer_start(st->loop, &st->read_retry, READ_RETRY_MS, read_retry);
        return;
    }
    /* Take the offsets first: a handler may make this node read again. */
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *s = r->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        for (uint32_t k = 0; k < st->stream_count; k++) {
            if (strcmp(st->keys[k], s->element[0]->str) != 0) continue;
            const redisReply *es = s->element[1];
            if (es->elements && valid_entry(es->element[es->elements - 1]))
                snprintf(st->last[k], ENTRY_ID_MAX, "%s",
                         es->element[es->elements - 1]->element[0]->str);
        }
    }
    start_read(st);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *s = r->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        for (size_t j = 0; j < s->element[1]->elements; j++)
            if (valid_entry(s->element[1]->element[j])) on_entry(st, s->element[1]->element[j]);
    }
}

static void start_read(struct sio_streams *st) {
    if (st->reading || !redis_link_is_up(st->rd)) return;
    size_t argc = 6 + 2 * (size_t)st->stream_count;
    const char **argv = malloc(argc * sizeof *argv);
    if (!argv) {
        sio_timer_start(st->loop, &st->read_retry, READ_RETRY_MS, read_retry);
        return;
    }
    argv[0] = "XREAD", argv[1] = "BLOCK", argv[2] = READ_BLOCK_MS, argv[3] = "COUNT";
    argv[4] = READ_COUNT, argv[5] = "STREAMS";
    for (uint32_t k = 0; k < st->stream_count; k++) {
        argv[6 + k] = st->keys[k];
        argv[6 + st->stream_count + k] = st->last[k];
    }
    if (redis_link_command(st->rd, on_read, st, (int)argc, argv, NULL) == SIO_OK) st->reading = 1;
    free(argv);
}

static void on_up(redis_link *l, void *ud) {
    struct sio_streams *st = ud;
    if (l == st->rd) start_read(st);
}
static void on_down(redis_link *l, const char *why, void *ud) {}

/* ---------- setup ---------- */

static sio_adapter *streams_adapter_new(sio_namespace *nsp, void *state) {
    struct sio_streams *st = state;
    const char *name = sio_nsp_name(nsp);
    streams_adapter *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    int inner = inner_open(&a->in, &streams_ops, nsp);
    a->st = st;
    if (st->stream_count > 1) {
        /* JavaScript's %: the sign of the dividend. A negative index names a
         * stream ("<name>--3") that no node reads, as in the reference. */
        char idx[24];
        snprintf(idx, sizeof idx, "-%d", (int)(js_hash(name) % (int64_t)st->stream_count));
        a->key = cluster_concat3(st->stream, idx, "");
    } else {
        a->key = strdup(st->stream);
    }
    char *p = cluster_concat3(st->prefix, "#", name);
    a->pubchan = p ? cluster_concat3(p, "#", "") : NULL;
    a->privchan = a->pubchan ? cluster_concat3(a->pubchan, st->uid, "#") : NULL;
    free(p);
    if (!a->key || inner != SIO_OK || !a->pubchan || !a->privchan) {
        inner_close(&a->in);
        free(a->key);
        free(a->pubchan);
        free(a->privchan);
        free(a);
        return NULL;
    }
    redis_link_subscribe(st->sub, a->pubchan);
    redis_link_subscribe(st->sub, a->privchan);
    a->next = st->adapters;
    st->adapters = a;
    return &a->in.base;
}

/* The links' state for /metrics. */
static void streams_collect(metrics_out *o, void *ud) {
    struct sio_streams *st = ud;
    redis_link_metrics(o, st->pub);
    redis_link_metrics(o, st->sub);
    redis_link_metrics(o, st->rd);
}

static void streams_state_free(struct sio_streams *st) {
    redis_link_free(st->pub);
    redis_link_free(st->sub);
    redis_link_free(st->rd);
    sio_timer_stop(st->loop, &st->read_retry);
    for (uint32_t k = 0; st->keys && k < st->stream_count; k++)
        free(st->keys[k]);
    free(st->keys);
    free(st->last);
    sbuf_free(&st->scratch);
    free(st->stream);
    free(st->prefix);
    free(st->session_prefix);
    free(st);
}

static void streams_close(void *state) {
    struct sio_streams *st = state;
    metrics_remove(sio_loop_metrics(st->loop), st);
    while (st->requests)
        cluster_request_free(st->requests);
    streams_sessions_close(st);
    streams_state_free(st);
}

static const char *or_default(const char *v, const char *d) {
    return v && *v ? v : d;
}

static int streams_open(sio_server *srv, void *ud, void **state) {
    const sio_redis_streams_options *o = ud;
    redis_url url;
    if (!o || !o->url || redis_url_parse(o->url, &url)) {
        log_error("redis-streams: invalid URL '%s' (want redis://host:port[/db])",
                  o && o->url ? o->url : "");
        return SIO_EINVAL;
    }
    struct sio_streams *st = calloc(1, sizeof *st);
    if (!st) return SIO_ENOMEM;
    st->loop = sio_server_loop(srv);
    st->srv = srv;
    st->stream = strdup(or_default(o->stream_name, "socket.io"));
    st->prefix = strdup(or_default(o->channel_prefix, "socket.io"));
    st->session_prefix = strdup(or_default(o->session_prefix, "sio:session:"));
    st->stream_count = o->stream_count ? o->stream_count : 1;
    st->max_len = o->max_len ? o->max_len : 10000;
    st->live_sessions = o->live_sessions;
    st->window_ms = sio_server_options(srv)->recovery_window_ms;
    uint32_t timeout = sio_server_options(srv)->requests_timeout_ms;
    st->timeout_ms = timeout ? timeout : 5000;
    cluster_random_id(st->uid, UID_LEN);
    st->keys = calloc(st->stream_count, sizeof *st->keys);
    st->last = calloc(st->stream_count, sizeof *st->last);
    int ok = st->stream && st->prefix && st->session_prefix && st->keys && st->last;
    for (uint32_t k = 0; ok && k < st->stream_count; k++) {
        char idx[16];
        snprintf(idx, sizeof idx, "-%u", k);
        st->keys[k] =
            st->stream_count == 1 ? strdup(st->stream) : cluster_concat3(st->stream, idx, "");
        ok = st->keys[k] != NULL;
        snprintf(st->last[k], ENTRY_ID_MAX, "$");
    }
    static const redis_link_cbs pub_cbs = {on_up, on_down, NULL};
    static const redis_link_cbs sub_cbs = {on_up, on_down, on_message};
    if (ok) {
        st->pub = redis_link_new(st->loop, &url, "pub", &pub_cbs, st);
        st->sub = redis_link_new(st->loop, &url, "sub", &sub_cbs, st);
        st->rd = redis_link_new(st->loop, &url, "xread", &pub_cbs, st);
    }
    if (!ok || !st->pub || !st->sub || !st->rd ||
        metrics_add(sio_loop_metrics(st->loop), st, NULL, 0, streams_collect)) {
        streams_state_free(st);
        return SIO_ENOMEM;
    }
    log_info("redis-streams adapter: %s:%d db %d, stream '%s' x%u, maxLen %u, node %s", url.host,
             url.port, url.db, st->stream, st->stream_count, st->max_len, st->uid);
    streams_sessions_open(st);
    *state = st;
    return SIO_OK;
}

int sio_redis_streams_adapter(sio_adapter_factory *f, const sio_redis_streams_options *o) {
    redis_url url;
    if (!f || !o || !o->url || redis_url_parse(o->url, &url)) return SIO_EINVAL;
    f->open = streams_open;
    f->create = streams_adapter_new;
    f->close = streams_close;
    f->ud = (void *)o;
    return SIO_OK;
}
