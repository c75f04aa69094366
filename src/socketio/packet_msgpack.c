/* socket.io-msgpack-parser packets; see packet_msgpack.h. The values go through the
 * MessagePack codec of socketio/msgpack.h: this file only checks and builds the packet map. */
#include "socketio/packet_msgpack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sio/json.h"
#include "socketio/msgpack.h"
#include "sio/status.h"

/* ---- decoder ---- */

/* Number.isInteger(v) and 0 <= v <= max, for the node `v` (NULL: no). */
static int integral_in(const cJSON *v, double max) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    return isfinite(d) && floor(d) == d && d >= 0 && d <= max;
}

/* The parser's isDataValid: which payloads each type may carry. A binary node is a
 * Buffer there, neither an object nor an array. */
static int data_valid(sio_pkt_type type, const cJSON *data) {
    switch (type) {
    case SIO_PKT_CONNECT:
        return !data || cJSON_IsObject(data);
    case SIO_PKT_DISCONNECT:
        return !data;
    case SIO_PKT_CONNECT_ERROR:
        return data && (cJSON_IsString(data) || cJSON_IsObject(data));
    default:
        return cJSON_IsArray(data);
    }
}

int sio_packet_decode_msgpack(const uint8_t *p, size_t n, sio_packet **out) {
    if (!out || (!p && n)) return SIO_EINVAL;
    *out = NULL;
    /* One level for the packet map, then as deep as the JSON decoder lets data go. */
    static const msgpack_limits lim = {CJSON_NESTING_LIMIT + 1, 0};
    cJSON *root = NULL;
    size_t used = 0;
    int rc = msgpack_decode(p, n, &root, &used, &lim);
    if (rc != SIO_OK) return rc;
    rc = SIO_EPARSE;
    if (used != n || !cJSON_IsObject(root)) goto done;

    /* The decoder resolved repeated keys (the last value stays) and dropped members that
     * were undefined, so each key is found at most once and "absent" means undefined. */
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *nsp = cJSON_GetObjectItemCaseSensitive(root, "nsp");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!integral_in(type, SIO_PKT_CONNECT_ERROR)) goto done;
    sio_pkt_type t = (sio_pkt_type)type->valuedouble;
    if (!cJSON_IsString(nsp) || (nsp->type & SIO_JSON_NUL_VALUE)) goto done;
    if (!data_valid(t, data)) goto done;
    if (id && !integral_in(id, (double)SIO_ACK_ID_MAX)) goto done;

    rc = SIO_ENOMEM;
    sio_packet *pkt = calloc(1, sizeof *pkt);
    if (!pkt || !(pkt->nsp = strdup(nsp->valuestring))) {
        free(pkt);
        goto done;
    }
    pkt->type = t;
    pkt->id = id ? (int64_t)id->valuedouble : -1;
    if (data) {
        pkt->data = cJSON_DetachItemViaPointer(root, data);
        cJSON_free(pkt->data->string); /* the "data" key: the payload stands alone now */
        pkt->data->string = NULL;
    }
    *out = pkt;
    rc = SIO_OK;
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- encoder ---- */

/* Append a key: every key here is shorter than 32 bytes, a fixstr. */
static int put_key(sbuf *out, const char *k) {
    size_t len = strlen(k);
    int rc = sbuf_putc(out, (uint8_t)(0xa0 | len));
    return rc ? rc : sbuf_append(out, k, len);
}

/* Append "id": <id> through the codec, which writes integers as notepack does. */
static int put_id(sbuf *out, int64_t id) {
    cJSON num;
    memset(&num, 0, sizeof num);
    num.type = cJSON_Number;
    num.valuedouble = (double)id;
    int rc = put_key(out, "id");
    return rc ? rc : msgpack_encode(&num, out);
}

int sio_packet_encode_msgpack(sio_pkt_type type, const char *nsp, int64_t id, const cJSON *data,
                              sbuf *out) {
    if (!out || (unsigned)type > SIO_PKT_BINARY_ACK || id > SIO_ACK_ID_MAX) return SIO_EINVAL;
    if (type == SIO_PKT_BINARY_EVENT) type = SIO_PKT_EVENT;
    if (type == SIO_PKT_BINARY_ACK) type = SIO_PKT_ACK;
    if (!nsp) nsp = "/";
    int has_id = id >= 0;
    size_t members = 2 + (data != NULL) + has_id;
    size_t mark = out->len;

    cJSON name;
    memset(&name, 0, sizeof name);
    name.type = cJSON_String;
    name.valuestring = (char *)nsp;

    int rc = sbuf_putc(out, (uint8_t)(0x80 | members)); /* fixmap: at most 4 members */
    /* Socket#ack builds {id, type, data}; every other packet starts with its type. */
    if (!rc && has_id && type == SIO_PKT_ACK) rc = put_id(out, id);
    if (!rc) rc = put_key(out, "type");
    if (!rc) rc = sbuf_putc(out, (uint8_t)type); /* positive fixint */
    if (!rc && data) rc = put_key(out, "data");
    if (!rc && data) rc = msgpack_encode(data, out);
    if (!rc && has_id && type != SIO_PKT_ACK) rc = put_id(out, id);
    if (!rc) rc = put_key(out, "nsp");
    if (!rc) rc = msgpack_encode(&name, out);
    if (rc) out->len = mark;
    return rc;
}
