/* A request a cluster adapter sent to the other nodes and whose answers it
 * is gathering (fetchSockets, serverSideEmit with acks, a broadcast with
 * acks), shared by the Redis adapters (redis.c, redis_streams.c): the list
 * it is in, its timeout, what it has gathered, and the PUBSUB NUMSUB reply
 * that says how many nodes will answer. What goes on the wire is the
 * adapter's. */
#ifndef SIO_ADAPTER_CLUSTER_REQUEST_H
#define SIO_ADAPTER_CLUSTER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "adapter/redis_link.h"
#include "sio/adapter.h"
#include "util/buf.h"

typedef struct cluster_request cluster_request;
struct cluster_request {
    cluster_request *next;
    cluster_request **list; /* the head of the list it is in */
    sio_loop *loop;
    sio_namespace *nsp; /* held (sio_nsp_ref) while the request lives */
    void *owner;        /* the adapter that sent it */
    char id[24];
    int type;     /* the adapter's request type */
    int ack_only; /* a broadcast with acks: its group times out by itself */
    int expected; /* answers expected; -1 until PUBSUB NUMSUB answers */
    int received;
    cJSON *acc; /* gathered sockets or responses */
    sio_fetch_cb fetch_cb;
    sio_responses_cb resp_cb;
    void *ud;
    sio_ack_group *group;
    sbuf payload; /* published once NUMSUB is known */
    int numsub_pending;
    int dead; /* freed from the list, waiting for NUMSUB's answer */
    sio_timer timer;
};

/* A new request at the head of *list with an id of id_len hex digits; on
 * timeout it completes with SIO_ETIMEDOUT (ack_only: it is just freed).
 * NULL when out of memory. */
cluster_request *cluster_request_new(cluster_request **list, sio_loop *loop, void *owner,
                                     sio_namespace *nsp, int type, size_t id_len,
                                     uint32_t timeout_ms, int ack_only);
/* Out of the list and freed (or left for the pending NUMSUB reply to free). */
void cluster_request_free(cluster_request *q);
/* Run its callback with what was gathered (taken by the callback's contract:
 * freed after), then free it. */
void cluster_request_complete(cluster_request *q, int status);
/* Complete when every expected answer came. */
void cluster_request_check(cluster_request *q);
/* Free every request of *list that owner sent (the adapter is going). */
void cluster_request_free_owned(cluster_request **list, const void *owner);
/* A node's answer to a fetchSockets (sockets: a JSON array, taken; NULL or
 * not an array counts as an empty one) or to a serverSideEmit with acks
 * (answer taken; NULL stands for null): gathered, counted, and the request
 * completes when it was the last one expected. */
void cluster_request_add_sockets(cluster_request *q, cJSON *sockets);
void cluster_request_add_answer(cluster_request *q, cJSON *answer);
cluster_request *cluster_request_find(cluster_request *list, const char *id);
/* Ask Redis (PUBSUB NUMSUB chan on link) how many nodes will answer; cb
 * gets the reply and reads it with cluster_request_numsub. SIO_OK, or the
 * link's error (cb never runs). */
int cluster_request_ask_numsub(cluster_request *q, redis_link *link, const char *chan,
                               redis_reply_cb cb);
/* For the NUMSUB reply callback: the count of subscribers it gives (1 when
 * the reply is missing or odd), or -1 when q was freed meanwhile (q is then
 * gone: touch nothing). */
int cluster_request_numsub(cluster_request *q, const void *reply);

#endif
