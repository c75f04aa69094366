#include "adapter/cluster_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/msgpack.h"
#include "util/id.h"

char *cluster_concat3(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s%s", a, b, c);
    return p;
}

void cluster_random_id(char *out, size_t n) {
    static const char hex[] = "0123456789abcdef";
    char id[SIO_RANDOM_ID_LEN + 1];
    int bad = sio_random_id(id);
    if (n > SIO_RANDOM_ID_LEN) n = SIO_RANDOM_ID_LEN;
    /* The id's alphabet is wider than hex: fold each character onto a digit. */
    for (size_t i = 0; i < n; i++)
        out[i] = hex[(bad ? (unsigned)rand() : (unsigned char)id[i]) & 15];
    out[n] = 0;
}

int cluster_decode_one(const uint8_t *d, size_t n, cJSON **out) {
    static const msgpack_limits lim = {64, 1000000};
    size_t used = 0;
    int r = msgpack_decode(d, n, out, &used, &lim);
    if (r == SIO_OK && used != n) {
        cJSON_Delete(*out);
        *out = NULL;
        return SIO_EPARSE;
    }
    return r;
}

cJSON *cluster_rooms_json(const char *const *rooms) {
    cJSON *arr = cJSON_CreateArray();
    for (const char *const *r = rooms; arr && r && *r; r++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(*r));
    return arr;
}

cJSON *cluster_opts_json(const sio_target *t) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddItemToObject(o, "rooms", cluster_rooms_json(t ? t->rooms : NULL));
    cJSON_AddItemToObject(o, "except", cluster_rooms_json(t ? t->except : NULL));
    return o;
}

cJSON *cluster_packet_data(const sio_adapter_packet *pkt, cJSON *name) {
    if (pkt->data) return cJSON_CreateArrayReference(pkt->data->child);
    memset(name, 0, sizeof *name);
    name->type = cJSON_String;
    name->valuestring = (char *)pkt->event;
    name->next = pkt->args ? pkt->args->child : NULL;
    return cJSON_CreateArrayReference(name);
}

uint32_t cluster_ack_timeout(const cJSON *opts, uint32_t dflt) {
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(opts, "flags");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(flags, "timeout");
    /* Within an hour: anything else is not a timeout a node meant. */
    return cJSON_IsNumber(to) && to->valuedouble > 0 && to->valuedouble < 3.6e6
               ? (uint32_t)to->valuedouble
               : dflt;
}

int cluster_fill_rooms(cluster_target *tb, const cJSON *arr, const char **out) {
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (n == CLUSTER_MAX_TARGET_ROOMS) return -1;
        if (cJSON_IsString(it)) {
            out[n++] = it->valuestring;
        } else if (cJSON_IsNumber(it) && tb->n_numbers < 2 * CLUSTER_MAX_TARGET_ROOMS) {
            char *b = tb->numbers[tb->n_numbers++];
            snprintf(b, 32, "%.17g", it->valuedouble);
            out[n++] = b;
        }
    }
    out[n] = NULL;
    return (int)n;
}

void cluster_target_from(cluster_target *tb, const cJSON *opts) {
    memset(tb, 0, sizeof *tb);
    const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(opts, "rooms");
    const cJSON *except = cJSON_GetObjectItemCaseSensitive(opts, "except");
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(opts, "flags");
    int nr = cluster_fill_rooms(tb, rooms, tb->rooms);
    cluster_fill_rooms(tb, except, tb->except);
    tb->t.rooms = nr > 0 ? tb->rooms : NULL;
    tb->t.except = tb->except[0] ? tb->except : NULL;
    tb->t.is_volatile = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(flags, "volatile"));
    tb->t.local = 1;
}
