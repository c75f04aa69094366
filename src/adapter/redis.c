/* Redis adapter, wire-compatible with Node's @socket.io/redis-adapter 8.x
 * (classic pub/sub) and @socket.io/redis-emitter 5.x:
 *   broadcasts  <key>#<nsp>#[<room>#]   MessagePack [uid, packet, opts]
 *   requests    <key>-request#<nsp>#    JSON (MessagePack for BROADCAST)
 *   responses   <key>-response#<nsp>#[<uid>#]
 * Each namespace's adapter keeps its local rooms in an inner memory adapter
 * and adds the traffic with the other nodes. Built on the public adapter
 * interface only (sio/adapter.h): this node's half of a request from another
 * node is one of the sio_local_* functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "adapter/cluster_request.h"
#include "adapter/cluster_wire.h"
#include "adapter/inner.h"
#include "adapter/redis_link.h"
#include "sio/adapter.h"
#include "sio/redis.h"
#include "socketio/msgpack.h"
#include "util/log.h"
#include "util/metrics.h"

enum {
    REQ_SOCKETS = 0,
    REQ_ALL_ROOMS = 1,
    REQ_REMOTE_JOIN = 2,
    REQ_REMOTE_LEAVE = 3,
    REQ_REMOTE_DISCONNECT = 4,
    REQ_REMOTE_FETCH = 5,
    REQ_SERVER_SIDE_EMIT = 6,
    REQ_BROADCAST = 7,
    REQ_BROADCAST_CLIENT_COUNT = 8,
    REQ_BROADCAST_ACK = 9,
};

typedef struct redis_adapter redis_adapter;

/* What a server's Redis adapters share (the factory's state). */
struct sio_redis {
    sio_loop *loop;
    redis_link *pub;
    redis_link *sub;
    char uid[7];
    char *key;
    uint32_t timeout_ms;
    redis_adapter *adapters; /* one per namespace */
    cluster_request *requests;
    sbuf scratch;
};

struct redis_adapter {
    inner_adapter in; /* first: the head and this node's rooms */
    struct sio_redis *r;
    redis_adapter *next;
    char *bchan; /* <key>#<nsp># */
    char *reqchan;
    char *respchan;
    char *specchan;
};

static const sio_adapter_ops redis_ops;

/* ---------- helpers ---------- */

static int publish_str(redis_adapter *a, const char *chan, const char *msg, size_t len) {
    return redis_link_publish(a->r->pub, chan, strlen(chan), (const uint8_t *)msg, len);
}

/* JSON for requests and responses; our printer, since the values can hold
 * binary nodes (printed as placeholders rather than as raw bytes). */
static int publish_json(redis_adapter *a, const char *chan, const cJSON *v) {
    sbuf out = SBUF_INIT;
    int r = sio_json_print(v, &out, NULL, NULL);
    if (r == SIO_OK) r = publish_str(a, chan, (const char *)out.data, out.len);
    sbuf_free(&out);
    return r;
}

/* JSON requests carry binary the way JSON.stringify shows a Node Buffer:
 * {"type":"Buffer","data":[bytes]}. Works in place on our own copy. */
static void bufferize(cJSON *v) {
    for (; v; v = v->next) {
        if (sio_json_is_binary(v)) {
            size_t len;
            const uint8_t *p = sio_json_binary_data(v, &len);
            cJSON *bytes = cJSON_CreateArray();
            for (size_t i = 0; bytes && i < len; i++)
                cJSON_AddItemToArray(bytes, cJSON_CreateNumber(p[i]));
            free(v->valuestring);
            v->valuestring = NULL;
            v->type = cJSON_Object | (v->type & cJSON_StringIsConst);
            v->child = NULL;
            cJSON_AddStringToObject(v, "type", "Buffer");
            if (bytes) cJSON_AddItemToObject(v, "data", bytes);
            continue;
        }
        bufferize(v->child);
    }
}

/* ---------- requests this node sent ---------- */

static void on_numsub(redis_link *l, const void *reply, void *ud) {
    cluster_request *q = ud;
    int numsub = cluster_request_numsub(q, reply);
    if (numsub < 0) return;
    redis_adapter *a = q->owner;
    if (q->type == REQ_BROADCAST) {
        /* Every subscribed node (this one too) reports a client count. */
        sio_ack_group_servers(q->group, numsub < 1 ? 1 : numsub);
        return;
    }
    /* fetch counts this node as one answer already; server-side emit
     * expects answers from the others only. */
    q->expected = q->type == REQ_REMOTE_FETCH ? numsub : numsub - 1;
    if (q->type == REQ_REMOTE_FETCH) q->received++;
    if (q->expected <= (q->type == REQ_REMOTE_FETCH ? 1 : 0)) {
        cluster_request_complete(q, SIO_OK);
        return;
    }
    publish_str(a, a->reqchan, (const char *)q->payload.data, q->payload.len);
    cluster_request_check(q);
}

/* Register a request and ask Redis how many nodes will answer. */
static cluster_request *request_start(redis_adapter *a, int type, cJSON *body) {
    struct sio_redis *r = a->r;
    cluster_request *q =
        cluster_request_new(&r->requests, r->loop, a, a->in.base.nsp, type, 6, r->timeout_ms, 0);
    if (!q) return NULL;
    cJSON_AddStringToObject(body, "uid", r->uid);
    cJSON_AddStringToObject(body, "requestId", q->id);
    cJSON_AddNumberToObject(body, "type", type);
    return q;
}

static int ask_numsub(cluster_request *q) {
    redis_adapter *a = q->owner;
    return cluster_request_ask_numsub(q, a->r->pub, a->reqchan, on_numsub);
}

/* ---------- adapter ops ---------- */

/* [uid, {type, data, nsp}, {rooms, except, flags}] as MessagePack. The
 * event name is linked in front of the caller's arguments with a node of our
 * own, so their tree is read, never changed. */
static int encode_broadcast(redis_adapter *a, const sio_adapter_packet *pkt, const sio_target *t,
                            sbuf *out) {
    cJSON name;
    cJSON *msg = cJSON_CreateArray();
    cJSON *packet = cJSON_CreateObject();
    cJSON *opts = cluster_opts_json(t);
    int rc = SIO_ENOMEM;
    if (!msg || !packet || !opts) goto done;
    cJSON_AddItemToArray(msg, cJSON_CreateString(a->r->uid));
    cJSON_AddNumberToObject(packet, "type", 2);
    cJSON_AddItemToObject(packet, "data", cluster_packet_data(pkt, &name));
    cJSON_AddStringToObject(packet, "nsp", sio_nsp_name(a->in.base.nsp));
    cJSON_AddItemToArray(msg, packet);
    packet = NULL;
    cJSON *flags = cJSON_AddObjectToObject(opts, "flags");
    if (flags && t && t->is_volatile) cJSON_AddTrueToObject(flags, "volatile");
    cJSON_AddItemToArray(msg, opts);
    opts = NULL;
    rc = msgpack_encode(msg, out);
done:
    cJSON_Delete(msg);
    cJSON_Delete(packet);
    cJSON_Delete(opts);
    return rc;
}

/* A packet to one socket of this node (sio_emit with recovery goes through
 * broadcast, to the socket's own room): no other node has it. */
static int to_local_socket(redis_adapter *a, const sio_adapter_packet *pkt, const sio_target *t) {
    return pkt->wants_offset && t && t->rooms && t->rooms[0] && !t->rooms[1] &&
           sio_nsp_find_socket(a->in.base.nsp, t->rooms[0]);
}

static int ra_broadcast(sio_adapter *b, const sio_adapter_packet *pkt, const sio_target *t) {
    redis_adapter *a = (redis_adapter *)b;
    if (!(t && t->local) && !to_local_socket(a, pkt, t) && redis_link_is_up(a->r->pub)) {
        sbuf *m = &a->r->scratch;
        sbuf_clear(m);
        if (encode_broadcast(a, pkt, t, m) == SIO_OK) {
            int one_room = t && t->rooms && t->rooms[0] && !t->rooms[1];
            char *chan = one_room ? cluster_concat3(a->bchan, t->rooms[0], "#") : NULL;
            const char *c = chan ? chan : a->bchan;
            redis_link_publish(a->r->pub, c, strlen(c), m->data, m->len);
            free(chan);
        }
    }
    return inner_broadcast(b, pkt, t);
}

static int ra_remote_rooms(sio_adapter *b, const sio_target *t, const char *const *rooms,
                           int leave) {
    redis_adapter *a = (redis_adapter *)b;
    cJSON *req = cJSON_CreateObject();
    if (!req) return SIO_ENOMEM;
    cJSON_AddStringToObject(req, "uid", a->r->uid);
    cJSON_AddNumberToObject(req, "type", leave ? REQ_REMOTE_LEAVE : REQ_REMOTE_JOIN);
    cJSON_AddItemToObject(req, "opts", cluster_opts_json(t));
    cJSON_AddItemToObject(req, "rooms", cluster_rooms_json(rooms));
    int r = publish_json(a, a->reqchan, req);
    cJSON_Delete(req);
    return r;
}

static int ra_remote_disconnect(sio_adapter *b, const sio_target *t, int close) {
    redis_adapter *a = (redis_adapter *)b;
    cJSON *req = cJSON_CreateObject();
    if (!req) return SIO_ENOMEM;
    cJSON_AddStringToObject(req, "uid", a->r->uid);
    cJSON_AddNumberToObject(req, "type", REQ_REMOTE_DISCONNECT);
    cJSON_AddItemToObject(req, "opts", cluster_opts_json(t));
    cJSON_AddBoolToObject(req, "close", close);
    int r = publish_json(a, a->reqchan, req);
    cJSON_Delete(req);
    return r;
}

static int start_with_payload(cluster_request *q, cJSON *body) {
    sbuf out = SBUF_INIT;
    int rc = sio_json_print(body, &out, NULL, NULL);
    cJSON_Delete(body);
    if (rc != SIO_OK) {
        /* As when Redis is away: the callback runs once, with what this
         * node knows, and never after an error return. */
        sbuf_free(&out);
        cluster_request_complete(q, SIO_OK);
        return SIO_OK;
    }
    q->payload = out;
    if (ask_numsub(q) != SIO_OK) {
        /* Redis is away: answer with what this node knows. */
        cluster_request_complete(q, SIO_OK);
    }
    return SIO_OK;
}

static int ra_remote_fetch(sio_adapter *b, const sio_target *t, cJSON *local, sio_fetch_cb cb,
                           void *ud) {
    redis_adapter *a = (redis_adapter *)b;
    cJSON *body = cJSON_CreateObject();
    cluster_request *q = body ? request_start(a, REQ_REMOTE_FETCH, body) : NULL;
    if (!q) {
        cJSON_Delete(body);
        cb(a->in.base.nsp, SIO_OK, local, ud);
        cJSON_Delete(local);
        return SIO_OK;
    }
    q->acc = local;
    q->fetch_cb = cb;
    q->ud = ud;
    cJSON_AddItemToObject(body, "opts", cluster_opts_json(t));
    return start_with_payload(q, body);
}

static int ra_remote_server_emit(sio_adapter *b, const cJSON *data, sio_responses_cb cb, void *ud) {
    redis_adapter *a = (redis_adapter *)b;
    if (!cb) {
        cJSON *req = cJSON_CreateObject();
        if (!req) return SIO_ENOMEM;
        cJSON_AddStringToObject(req, "uid", a->r->uid);
        cJSON_AddNumberToObject(req, "type", REQ_SERVER_SIDE_EMIT);
        cJSON *copy = sio_json_duplicate(data);
        bufferize(copy);
        cJSON_AddItemToObject(req, "data", copy);
        int r = publish_json(a, a->reqchan, req);
        cJSON_Delete(req);
        return r;
    }
    cJSON *body = cJSON_CreateObject();
    cluster_request *q = body ? request_start(a, REQ_SERVER_SIDE_EMIT, body) : NULL;
    if (!q) {
        cJSON_Delete(body);
        return SIO_ENOMEM;
    }
    q->acc = cJSON_CreateArray();
    q->resp_cb = cb;
    q->ud = ud;
    cJSON *copy = sio_json_duplicate(data);
    bufferize(copy);
    cJSON_AddItemToObject(body, "data", copy);
    return start_with_payload(q, body);
}

static int ra_remote_broadcast_ack(sio_adapter *b, const sio_adapter_packet *pkt,
                                   const sio_target *t, uint32_t timeout_ms, sio_ack_group *g) {
    redis_adapter *a = (redis_adapter *)b;
    /* Answers may come until the group's own timeout; forget after it. */
    cluster_request *q =
        cluster_request_new(&a->r->requests, a->r->loop, a, a->in.base.nsp, REQ_BROADCAST, 6,
                            timeout_ms ? timeout_ms : a->r->timeout_ms, 1);
    if (!q) {
        sio_ack_group_servers(g, 1);
        return SIO_ENOMEM;
    }
    q->group = g;
    sio_ack_group_ref(g);
    cJSON *req = cJSON_CreateObject();
    cJSON *packet = cJSON_CreateObject();
    cJSON *opts = cluster_opts_json(t);
    if (req && packet && opts) {
        cJSON_AddStringToObject(req, "uid", a->r->uid);
        cJSON_AddStringToObject(req, "requestId", q->id);
        cJSON_AddNumberToObject(req, "type", REQ_BROADCAST);
        cJSON_AddNumberToObject(packet, "type", 2);
        cJSON_AddItemToObject(packet, "data", cJSON_CreateArrayReference(pkt->data->child));
        cJSON_AddStringToObject(packet, "nsp", sio_nsp_name(a->in.base.nsp));
        cJSON_AddItemToObject(req, "packet", packet);
        packet = NULL;
        cJSON *flags = cJSON_AddObjectToObject(opts, "flags");
        if (flags) cJSON_AddNumberToObject(flags, "timeout", timeout_ms);
        cJSON_AddItemToObject(req, "opts", opts);
        opts = NULL;
        sbuf m = SBUF_INIT;
        if (msgpack_encode(req, &m) == SIO_OK)
            redis_link_publish(a->r->pub, a->reqchan, strlen(a->reqchan), m.data, m.len);
        sbuf_free(&m);
    }
    cJSON_Delete(req);
    cJSON_Delete(packet);
    cJSON_Delete(opts);
    if (ask_numsub(q) != SIO_OK) sio_ack_group_servers(g, 1);
    return SIO_OK;
}

static void ra_free(sio_adapter *b) {
    redis_adapter *a = (redis_adapter *)b;
    struct sio_redis *r = a->r;
    for (redis_adapter **pp = &r->adapters; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    cluster_request_free_owned(&r->requests, a);
    inner_close(&a->in);
    free(a->bchan);
    free(a->reqchan);
    free(a->respchan);
    free(a->specchan);
    free(a);
}

/* Recovery is node-local with this adapter (behind a sticky balancer the
 * client comes back to the same node): the inner memory adapter keeps the
 * sessions and the log, in which packets from other nodes are numbered
 * too (sio_local_broadcast). A client that lands on another node finds no
 * session there and gets a fresh one. */
/* Recovery is node-local with this adapter (behind a sticky balancer the
 * client comes back to the same node): the inner memory adapter keeps the
 * sessions and the log, in which packets from other nodes are numbered
 * too (sio_local_broadcast). A client that lands on another node finds no
 * session there and gets a fresh one. */
static const sio_adapter_ops redis_ops = {
    .join = inner_join,
    .leave = inner_leave,
    .leave_all = inner_leave_all,
    .has = inner_has,
    .rooms_of = inner_rooms_of,
    .each = inner_each,
    .broadcast = ra_broadcast,
    .room_count = inner_room_count,
    .free = ra_free,
    .remote_rooms = ra_remote_rooms,
    .remote_disconnect = ra_remote_disconnect,
    .remote_fetch = ra_remote_fetch,
    .remote_server_emit = ra_remote_server_emit,
    .remote_broadcast_ack = ra_remote_broadcast_ack,
    .persist_session = inner_persist_session,
    .restore_session = inner_restore_session,
    .recovery_stats = inner_recovery_stats,
};

/* ---------- messages from the other nodes ---------- */

static void on_broadcast(redis_adapter *a, const char *channel, size_t chlen, const uint8_t *d,
                         size_t n) {
    sio_namespace *nsp = a->in.base.nsp;
    cJSON *msg = NULL;
    if (cluster_decode_one(d, n, &msg) != SIO_OK) {
        log_debug("redis: malformed broadcast on %.*s", (int)chlen, channel);
        return;
    }
    const cJSON *uid = cJSON_GetArrayItem(msg, 0);
    const cJSON *packet = cJSON_GetArrayItem(msg, 1);
    const cJSON *opts = cJSON_GetArrayItem(msg, 2);
    const cJSON *pnsp = cJSON_GetObjectItemCaseSensitive(packet, "nsp");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(packet, "data");
    const char *pn = cJSON_IsString(pnsp) ? pnsp->valuestring : "/";
    if (cJSON_IsArray(msg) && !(cJSON_IsString(uid) && strcmp(uid->valuestring, a->r->uid) == 0) &&
        strcmp(pn, sio_nsp_name(nsp)) == 0 && cJSON_IsArray(data) && cJSON_GetArraySize(data) > 0) {
        cluster_target tb;
        cluster_target_from(&tb, opts);
        sio_local_broadcast(nsp, data, &tb.t);
    }
    cJSON_Delete(msg);
}

static void publish_response(redis_adapter *a, cJSON *resp) {
    publish_json(a, a->respchan, resp);
    cJSON_Delete(resp);
}

static cJSON *response_for(const cJSON *req) {
    cJSON *resp = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "requestId");
    if (resp && cJSON_IsString(id)) cJSON_AddStringToObject(resp, "requestId", id->valuestring);
    return resp;
}

struct ss_ack {
    redis_adapter *a;
    const char *request_id;
};

static void ss_ack_send(const cJSON *arg, void *ud) {
    struct ss_ack *k = ud;
    cJSON *resp = cJSON_CreateObject();
    if (!resp) return;
    cJSON_AddNumberToObject(resp, "type", REQ_SERVER_SIDE_EMIT);
    cJSON_AddStringToObject(resp, "requestId", k->request_id);
    cJSON *copy = arg ? sio_json_duplicate(arg) : cJSON_CreateNull();
    bufferize(copy);
    cJSON_AddItemToObject(resp, "data", copy);
    publish_response(k->a, resp);
}

struct fwd {
    redis_adapter *a;
    char request_id[64];
};

static void forward_answer(sio_namespace *nsp, cJSON *arg, void *ud) {
    struct fwd *f = ud;
    cJSON *resp = cJSON_CreateObject();
    if (resp) {
        cJSON_AddNumberToObject(resp, "type", REQ_BROADCAST_ACK);
        cJSON_AddStringToObject(resp, "requestId", f->request_id);
        cJSON_AddItemToObject(resp, "packet", arg ? arg : cJSON_CreateNull());
        arg = NULL;
        sbuf m = SBUF_INIT;
        if (msgpack_encode(resp, &m) == SIO_OK)
            redis_link_publish(f->a->r->pub, f->a->respchan, strlen(f->a->respchan), m.data, m.len);
        sbuf_free(&m);
        cJSON_Delete(resp);
    }
    cJSON_Delete(arg);
}

static void handle_remote_broadcast(redis_adapter *a, const cJSON *req) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "requestId");
    const cJSON *packet = cJSON_GetObjectItemCaseSensitive(req, "packet");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(packet, "data");
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(req, "opts");
    if (!cJSON_IsString(id) || !cJSON_IsArray(data) ||
        cluster_request_find(a->r->requests, id->valuestring))
        return;
    uint32_t timeout = cluster_ack_timeout(opts, a->r->timeout_ms);
    struct fwd *f = calloc(1, sizeof *f);
    if (!f) return;
    snprintf(f->request_id, sizeof f->request_id, "%s", id->valuestring);
    f->a = a;
    cluster_target tb;
    cluster_target_from(&tb, opts);
    /* The namespace (and so f->a) stays while answers may come; each goes
     * back to the asking node. f may be freed by the time this returns (no
     * socket was asked). */
    size_t count =
        sio_local_broadcast_ack(a->in.base.nsp, data, &tb.t, timeout, forward_answer, f, free);
    cJSON *resp = cJSON_CreateObject();
    if (resp) {
        cJSON_AddNumberToObject(resp, "type", REQ_BROADCAST_CLIENT_COUNT);
        cJSON_AddStringToObject(resp, "requestId", id->valuestring);
        cJSON_AddNumberToObject(resp, "clientCount", (double)count);
        publish_response(a, resp);
    }
}

/* A request from another node, decoded, with what every handler needs. */
struct req_ctx {
    redis_adapter *a;
    sio_namespace *nsp;
    const cJSON *req;
    const cJSON *opts;
    const cJSON *rid;
    int own;  /* sent by this node */
    int mine; /* a request this node is waiting answers for */
    cluster_target tb;
};

static sio_socket *req_socket(const struct req_ctx *q) {
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(q->req, "sid");
    return cJSON_IsString(sid) ? sio_nsp_find_socket(q->nsp, sid->valuestring) : NULL;
}

static void req_sockets(struct req_ctx *q) {
    if (q->mine) return;
    const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(q->req, "rooms");
    cluster_target rb;
    memset(&rb, 0, sizeof rb);
    rb.t.rooms = cluster_fill_rooms(&rb, rooms, rb.rooms) > 0 ? rb.rooms : NULL;
    cJSON *all = sio_local_fetch(q->nsp, &rb.t);
    cJSON *ids = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, all) {
        cJSON_AddItemToArray(
            ids, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring));
    }
    cJSON_Delete(all);
    cJSON *resp = response_for(q->req);
    cJSON_AddItemToObject(resp, "sockets", ids);
    publish_response(q->a, resp);
}

static void req_all_rooms(struct req_ctx *q) {
    if (q->mine) return;
    cJSON *resp = response_for(q->req);
    cJSON *rooms = cJSON_AddArrayToObject(resp, "rooms");
    cJSON *all = sio_local_fetch(q->nsp, NULL);
    const cJSON *it;
    cJSON_ArrayForEach(it, all) {
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(it, "rooms")) {
            int seen = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, rooms) seen |= strcmp(x->valuestring, r->valuestring) == 0;
            if (!seen) cJSON_AddItemToArray(rooms, cJSON_CreateString(r->valuestring));
        }
    }
    cJSON_Delete(all);
    publish_response(q->a, resp);
}

static void remote_rooms(struct req_ctx *q, int leave) {
    if (q->own) return;
    if (q->opts) {
        cluster_target rb;
        memset(&rb, 0, sizeof rb);
        cluster_fill_rooms(&rb, cJSON_GetObjectItemCaseSensitive(q->req, "rooms"), rb.rooms);
        sio_local_rooms(q->nsp, &q->tb.t, rb.rooms, leave);
        return;
    }
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(q->req, "room");
    sio_socket *s = req_socket(q);
    if (!s || !cJSON_IsString(room)) return;
    if (leave)
        sio_leave(s, room->valuestring);
    else
        sio_join(s, room->valuestring);
    publish_response(q->a, response_for(q->req));
}

static void req_remote_join(struct req_ctx *q) {
    remote_rooms(q, 0);
}
static void req_remote_leave(struct req_ctx *q) {
    remote_rooms(q, 1);
}

static void req_remote_disconnect(struct req_ctx *q) {
    if (q->own) return;
    int close = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q->req, "close"));
    if (q->opts) {
        sio_local_disconnect(q->nsp, &q->tb.t, close);
        return;
    }
    sio_socket *s = req_socket(q);
    if (!s) return;
    sio_disconnect(s, close);
    publish_response(q->a, response_for(q->req));
}

static void req_remote_fetch(struct req_ctx *q) {
    if (q->mine) return;
    cJSON *resp = response_for(q->req);
    cJSON_AddItemToObject(resp, "sockets", sio_local_fetch(q->nsp, &q->tb.t));
    publish_response(q->a, resp);
}

static void req_server_side_emit(struct req_ctx *q) {
    if (q->own) return;
    cJSON *data = cJSON_GetObjectItemCaseSensitive(q->req, "data");
    if (!cJSON_IsArray(data)) return;
    struct ss_ack k = {q->a, cJSON_IsString(q->rid) ? q->rid->valuestring : NULL};
    sio_local_server_event(q->nsp, (cJSON *)data, k.request_id ? ss_ack_send : NULL, &k);
}

static void req_broadcast(struct req_ctx *q) {
    if (!q->own) handle_remote_broadcast(q->a, q->req);
}

/* Indexed by @socket.io/redis-adapter's RequestType; the types a node only
 * answers to (BROADCAST_CLIENT_COUNT, BROADCAST_ACK) come as responses. */
static void (*const request_handlers[])(struct req_ctx *) = {
    [REQ_SOCKETS] = req_sockets,
    [REQ_ALL_ROOMS] = req_all_rooms,
    [REQ_REMOTE_JOIN] = req_remote_join,
    [REQ_REMOTE_LEAVE] = req_remote_leave,
    [REQ_REMOTE_DISCONNECT] = req_remote_disconnect,
    [REQ_REMOTE_FETCH] = req_remote_fetch,
    [REQ_SERVER_SIDE_EMIT] = req_server_side_emit,
    [REQ_BROADCAST] = req_broadcast,
};

static void on_request(redis_adapter *a, const uint8_t *d, size_t n) {
    cJSON *req = NULL;
    if (n && d[0] == '{')
        req = cJSON_ParseWithLength((const char *)d, n);
    else if (cluster_decode_one(d, n, &req) != SIO_OK)
        req = NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(req, "type");
    int t = cJSON_IsObject(req) && cJSON_IsNumber(type) ? type->valueint : -1;
    size_t n_handlers = sizeof request_handlers / sizeof request_handlers[0];
    if (t >= 0 && (size_t)t < n_handlers && request_handlers[t]) {
        const cJSON *uid = cJSON_GetObjectItemCaseSensitive(req, "uid");
        struct req_ctx q;
        memset(&q, 0, sizeof q);
        q.a = a;
        q.nsp = a->in.base.nsp;
        q.req = req;
        q.opts = cJSON_GetObjectItemCaseSensitive(req, "opts");
        q.rid = cJSON_GetObjectItemCaseSensitive(req, "requestId");
        q.own = cJSON_IsString(uid) && strcmp(uid->valuestring, a->r->uid) == 0;
        q.mine = cJSON_IsString(q.rid) && cluster_request_find(a->r->requests, q.rid->valuestring);
        cluster_target_from(&q.tb, q.opts);
        request_handlers[t](&q);
    }
    cJSON_Delete(req);
}

static void on_response(redis_adapter *a, const uint8_t *d, size_t n) {
    cJSON *resp = NULL;
    if (n && d[0] == '{')
        resp = cJSON_ParseWithLength((const char *)d, n);
    else if (cluster_decode_one(d, n, &resp) != SIO_OK)
        resp = NULL;
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(resp, "requestId");
    cluster_request *q =
        cJSON_IsString(rid) ? cluster_request_find(a->r->requests, rid->valuestring) : NULL;
    if (!q || q->owner != a) {
        cJSON_Delete(resp);
        return;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(resp, "type");
    int t = cJSON_IsNumber(type) ? type->valueint : -1;
    switch (q->type) {
    case REQ_BROADCAST:
        if (t == REQ_BROADCAST_CLIENT_COUNT) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(resp, "clientCount");
            sio_ack_group_count(q->group, cJSON_IsNumber(c) ? (size_t)c->valuedouble : 0);
        } else if (t == REQ_BROADCAST_ACK) {
            sio_ack_group_answer(q->group, cJSON_DetachItemFromObjectCaseSensitive(resp, "packet"));
        }
        break;
    case REQ_REMOTE_FETCH:
        cluster_request_add_sockets(q, cJSON_DetachItemFromObjectCaseSensitive(resp, "sockets"));
        break;
    case REQ_SERVER_SIDE_EMIT:
        cluster_request_add_answer(q, cJSON_DetachItemFromObjectCaseSensitive(resp, "data"));
        break;
    default:
        break;
    }
    cJSON_Delete(resp);
}

static void on_message(redis_link *l, const char *pattern, const char *channel, size_t chlen,
                       const uint8_t *d, size_t n, void *ud) {
    struct sio_redis *r = ud;
    for (redis_adapter *a = r->adapters; a; a = a->next) {
        size_t bl = strlen(a->bchan);
        if (pattern) {
            if (chlen >= bl && memcmp(channel, a->bchan, bl) == 0) {
                on_broadcast(a, channel, chlen, d, n);
                return;
            }
            continue;
        }
        size_t ql = strlen(a->reqchan), pl = strlen(a->respchan);
        if (chlen == ql && memcmp(channel, a->reqchan, ql) == 0) {
            on_request(a, d, n);
            return;
        }
        if (chlen >= pl && memcmp(channel, a->respchan, pl) == 0 &&
            (chlen == pl ||
             (chlen == strlen(a->specchan) && memcmp(channel, a->specchan, chlen) == 0))) {
            on_response(a, d, n);
            return;
        }
    }
}

static void on_up(redis_link *l, void *ud) {}
static void on_down(redis_link *l, const char *why, void *ud) {}

/* ---------- setup ---------- */

static sio_adapter *redis_adapter_new(sio_namespace *nsp, void *state) {
    struct sio_redis *r = state;
    const char *name = sio_nsp_name(nsp);
    redis_adapter *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    int inner = inner_open(&a->in, &redis_ops, nsp);
    a->r = r;
    char *reqp = cluster_concat3(r->key, "-request#", "");
    char *respp = cluster_concat3(r->key, "-response#", "");
    char *bp = cluster_concat3(r->key, "#", "");
    if (inner == SIO_OK && reqp && respp && bp) {
        a->bchan = cluster_concat3(bp, name, "#");
        a->reqchan = cluster_concat3(reqp, name, "#");
        a->respchan = cluster_concat3(respp, name, "#");
        char *u = cluster_concat3(r->uid, "#", "");
        a->specchan = a->respchan && u ? cluster_concat3(a->respchan, u, "") : NULL;
        free(u);
    }
    free(reqp);
    free(respp);
    free(bp);
    char *pattern = a->bchan ? cluster_concat3(a->bchan, "*", "") : NULL;
    if (inner != SIO_OK || !a->bchan || !a->reqchan || !a->respchan || !a->specchan || !pattern) {
        free(pattern);
        inner_close(&a->in);
        free(a->bchan);
        free(a->reqchan);
        free(a->respchan);
        free(a->specchan);
        free(a);
        return NULL;
    }
    redis_link_psubscribe(r->sub, pattern);
    redis_link_subscribe(r->sub, a->reqchan);
    redis_link_subscribe(r->sub, a->respchan);
    redis_link_subscribe(r->sub, a->specchan);
    free(pattern);
    a->next = r->adapters;
    r->adapters = a;
    return &a->in.base;
}

/* The links' state for /metrics. */
static void redis_collect(metrics_out *o, void *ud) {
    struct sio_redis *r = ud;
    redis_link_metrics(o, r->pub);
    redis_link_metrics(o, r->sub);
}

static void redis_close(void *state) {
    struct sio_redis *r = state;
    metrics_remove(sio_loop_metrics(r->loop), r);
    while (r->requests)
        cluster_request_free(r->requests);
    redis_link_free(r->pub);
    redis_link_free(r->sub);
    sbuf_free(&r->scratch);
    free(r->key);
    free(r);
}

static int redis_open(sio_server *srv, void *ud, void **state) {
    const sio_redis_options *o = ud;
    redis_url url;
    if (!o || !o->url || redis_url_parse(o->url, &url)) {
        log_error("redis: invalid URL '%s' (want redis://host:port[/db])",
                  o && o->url ? o->url : "");
        return SIO_EINVAL;
    }
    struct sio_redis *r = calloc(1, sizeof *r);
    if (!r) return SIO_ENOMEM;
    r->loop = sio_server_loop(srv);
    r->key = strdup(o->key && *o->key ? o->key : "socket.io");
    uint32_t timeout = sio_server_options(srv)->requests_timeout_ms;
    r->timeout_ms = timeout ? timeout : 5000;
    cluster_random_id(r->uid, 6);
    static const redis_link_cbs pub_cbs = {on_up, on_down, NULL};
    static const redis_link_cbs sub_cbs = {on_up, on_down, on_message};
    r->pub = redis_link_new(r->loop, &url, "pub", &pub_cbs, r);
    r->sub = redis_link_new(r->loop, &url, "sub", &sub_cbs, r);
    if (!r->key || !r->pub || !r->sub ||
        metrics_add(sio_loop_metrics(r->loop), r, NULL, 0, redis_collect)) {
        redis_link_free(r->pub);
        redis_link_free(r->sub);
        free(r->key);
        free(r);
        return SIO_ENOMEM;
    }
    log_info("redis adapter: %s:%d db %d, key '%s', node %s", url.host, url.port, url.db, r->key,
             r->uid);
    *state = r;
    return SIO_OK;
}

int sio_redis_adapter(sio_adapter_factory *f, const sio_redis_options *o) {
    redis_url url;
    if (!f || !o || !o->url || redis_url_parse(o->url, &url)) return SIO_EINVAL;
    f->open = redis_open;
    f->create = redis_adapter_new;
    f->close = redis_close;
    f->ud = (void *)o;
    return SIO_OK;
}
