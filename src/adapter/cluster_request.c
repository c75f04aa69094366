#include "adapter/cluster_request.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "adapter/cluster_wire.h"
#include "sio/status.h"

static void request_timeout(sio_loop *loop, sio_timer *t) {
    cluster_request *q = (cluster_request *)((char *)t - offsetof(cluster_request, timer));
    if (q->ack_only)
        cluster_request_free(q);
    else
        cluster_request_complete(q, SIO_ETIMEDOUT);
}

cluster_request *cluster_request_new(cluster_request **list, sio_loop *loop, void *owner,
                                     sio_namespace *nsp, int type, size_t id_len,
                                     uint32_t timeout_ms, int ack_only) {
    cluster_request *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->list = list;
    q->loop = loop;
    q->owner = owner;
    q->nsp = nsp;
    sio_nsp_ref(nsp); /* an emptied dynamic namespace waits for its answers */
    q->type = type;
    q->ack_only = ack_only;
    q->expected = -1;
    cluster_random_id(q->id, id_len < sizeof q->id ? id_len : sizeof q->id - 1);
    q->next = *list;
    *list = q;
    sio_timer_start(loop, &q->timer, timeout_ms, request_timeout);
    return q;
}

void cluster_request_free(cluster_request *q) {
    for (cluster_request **pp = q->list; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
    sio_timer_stop(q->loop, &q->timer);
    cJSON_Delete(q->acc);
    q->acc = NULL;
    sbuf_free(&q->payload);
    if (q->group) sio_ack_group_unref(q->group);
    q->group = NULL;
    sio_namespace *nsp = q->nsp;
    /* PUBSUB NUMSUB still holds q (Redis stalled past the timeout): its
     * answer frees the husk. */
    if (q->numsub_pending)
        q->dead = 1;
    else
        free(q);
    sio_nsp_unref(nsp);
}

void cluster_request_complete(cluster_request *q, int status) {
    if (q->fetch_cb) q->fetch_cb(q->nsp, status, q->acc, q->ud);
    if (q->resp_cb) q->resp_cb(q->nsp, status, q->acc, q->ud);
    cluster_request_free(q);
}

void cluster_request_check(cluster_request *q) {
    if (q->expected >= 0 && q->received >= q->expected) cluster_request_complete(q, SIO_OK);
}

void cluster_request_free_owned(cluster_request **list, const void *owner) {
    for (cluster_request *q = *list, *n; q; q = n) {
        n = q->next;
        if (q->owner == owner) cluster_request_free(q);
    }
}

void cluster_request_add_sockets(cluster_request *q, cJSON *sockets) {
    cJSON *it;
    while (cJSON_IsArray(sockets) && (it = cJSON_DetachItemFromArray(sockets, 0)))
        cJSON_AddItemToArray(q->acc, it);
    cJSON_Delete(sockets);
    q->received++;
    cluster_request_check(q);
}

void cluster_request_add_answer(cluster_request *q, cJSON *answer) {
    cJSON_AddItemToArray(q->acc, answer ? answer : cJSON_CreateNull());
    q->received++;
    cluster_request_check(q);
}

cluster_request *cluster_request_find(cluster_request *list, const char *id) {
    for (cluster_request *q = list; q; q = q->next)
        if (strcmp(q->id, id) == 0) return q;
    return NULL;
}

int cluster_request_ask_numsub(cluster_request *q, redis_link *link, const char *chan,
                               redis_reply_cb cb) {
    const char *argv[3] = {"PUBSUB", "NUMSUB", chan};
    int rc = redis_link_command(link, cb, q, 3, argv, NULL);
    if (rc == SIO_OK) q->numsub_pending = 1;
    return rc;
}

int cluster_request_numsub(cluster_request *q, const void *reply) {
    q->numsub_pending = 0;
    if (q->dead) {
        free(q);
        return -1;
    }
    const redisReply *rep = reply;
    int n = 1;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
        const redisReply *c = rep->element[1];
        n = c->type == REDIS_REPLY_INTEGER ? (int)c->integer : atoi(c->str ? c->str : "1");
    }
    return n;
}
