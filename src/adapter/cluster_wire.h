/* What the Redis adapters (classic pub/sub, redis.c; streams, redis_streams.c)
 * share when they speak to the other nodes of a cluster: the opts object of
 * socket.io-adapter ({rooms, except, flags}) in both directions, the one
 * MessagePack value of a message, names built from parts, and node / request
 * ids. Sans-I/O. */
#ifndef SIO_ADAPTER_CLUSTER_WIRE_H
#define SIO_ADAPTER_CLUSTER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sio/adapter.h"
#include "sio/sio.h"

#define CLUSTER_MAX_TARGET_ROOMS 64

/* a + b + c in a new string (malloc), NULL when out of memory. */
char *cluster_concat3(const char *a, const char *b, const char *c);
/* A random id of n hex digits (n <= 20) into out[n + 1]. */
void cluster_random_id(char *out, size_t n);
/* The one MessagePack value of a message from another node, nothing after it
 * (Node's adapters drop such messages too), nesting up to 64 levels. */
int cluster_decode_one(const uint8_t *d, size_t n, cJSON **out);
/* A JSON array of the room names (empty for NULL). */
cJSON *cluster_rooms_json(const char *const *rooms);
/* {rooms, except} of a target (t may be NULL: everyone); the caller adds flags. */
cJSON *cluster_opts_json(const sio_target *t);

/* The [event, ...args] array of a packet as references (cJSON_Delete frees
 * only the array): the caller's tree is read, never changed. `name` is
 * storage for the event node, used when the packet keeps event and args
 * apart. */
cJSON *cluster_packet_data(const sio_adapter_packet *pkt, cJSON *name);
/* The ack timeout of a broadcast with acks from another node
 * (opts.flags.timeout, ms), else dflt. */
uint32_t cluster_ack_timeout(const cJSON *opts, uint32_t dflt);

/* A target read from another node's opts. Room names point into `opts`,
 * which must outlive the target. Numbers are rooms too in JavaScript. */
typedef struct cluster_target {
    sio_target t;
    const char *rooms[CLUSTER_MAX_TARGET_ROOMS + 1];
    const char *except[CLUSTER_MAX_TARGET_ROOMS + 1];
    char numbers[2 * CLUSTER_MAX_TARGET_ROOMS][32];
    int n_numbers;
} cluster_target;

/* The names of a JSON array of rooms into out (NULL-terminated): how many, or
 * -1 when there are more than CLUSTER_MAX_TARGET_ROOMS. */
int cluster_fill_rooms(cluster_target *tb, const cJSON *arr, const char **out);
/* The local target of opts {rooms, except, flags: {volatile}} (t.local set). */
void cluster_target_from(cluster_target *tb, const cJSON *opts);

#endif
