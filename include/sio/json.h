/* Binary values inside cJSON trees, and a JSON printer that matches JSON.stringify.
 *
 * Socket.IO events may carry binary arguments (Buffer/ArrayBuffer in JavaScript).
 * cJSON has no binary type, so a binary value is a cJSON_Raw node with the extra
 * SIO_JSON_BINARY flag: `valuestring` owns a malloc'd copy of the bytes (so
 * cJSON_Delete frees it) and `valuedouble` holds the length.
 *
 * Caveat: only the functions below understand binary nodes. cJSON's own printers
 * treat them as raw text and cJSON_Duplicate copies `valuestring` with strdup,
 * which truncates at the first zero byte while keeping the old length: never
 * duplicate a tree that contains binary nodes with cJSON_Duplicate. */
#ifndef SIO_JSON_H
#define SIO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include "sio/export.h"

SIO_BEGIN_DECLS

/* cJSON uses the low byte for types and bits 8-9 for flags; bit 12 is free. */
#define SIO_JSON_BINARY (1 << 12)
/* C strings cannot hold U+0000, which JavaScript strings can. A string the
 * peer sent with U+0000 in it arrives with the noncharacter U+FDD0 in its
 * place and this flag on the node (NUL_VALUE for the value, NUL_KEY for the
 * member name); sio_json_print writes such a U+FDD0 back as \u0000, so the
 * value goes back out exactly as it came. */
#define SIO_JSON_NUL_VALUE (1 << 13)
#define SIO_JSON_NUL_KEY   (1 << 14)
/* Flag (as above) every string under v that holds the U+FDD0 stand-in; for
 * decoders that replaced U+0000 with it. */
void sio_json_mark_nul(cJSON *v);

struct sbuf;

/* Called by sio_json_print for each binary node, `index` counting from 0 in output
 * order; a non-zero return stops printing and becomes its result. sio_json_print
 * otherwise returns SIO_OK, SIO_ENOMEM, or SIO_EINVAL for a node it cannot print. */
typedef int (*sio_json_binary_cb)(void *ud, const cJSON *node, size_t index);

/* New binary node holding a copy of `len` bytes; NULL when out of memory. */
cJSON *sio_json_binary(const void *data, size_t len);
/* New binary node owning `malloced` (from malloc; freed by cJSON_Delete, or
 * here on failure); NULL when out of memory. */
cJSON *sio_json_binary_take(void *malloced, size_t len);
/* Turn an existing node into a binary node owning `malloced`, dropping its
 * old content. SIO_OK; SIO_EINVAL (node NULL, or malloced NULL with len > 0;
 * malloced is freed); SIO_ENOMEM (len 0: the placeholder byte). */
int sio_json_binary_set(cJSON *node, void *malloced, size_t len);
/* Non-zero when `item` is a binary node. */
int sio_json_is_binary(const cJSON *item);
/* Bytes of a binary node and their count in *len; NULL (and *len 0) for other
 * nodes. Owned by the node. */
const uint8_t *sio_json_binary_data(const cJSON *item, size_t *len);
/* Non-zero when `item` or anything below it is a binary node. */
int sio_json_has_binary(const cJSON *item);
/* A deep copy that keeps binary nodes and the U+0000 flags (cJSON_Duplicate
 * does not); NULL when out of memory. */
cJSON *sio_json_duplicate(const cJSON *item);
/* Whether an object key is a JavaScript array index ("0", or 1-9 then digits,
 * below 2^32 - 1): JavaScript lists those keys first, ascending. Stores the
 * index in *out. */
int sio_json_index_key(const char *k, uint32_t *out);
/* Number of binary nodes in `item` and below. */
size_t sio_json_count_binary(const cJSON *item);
/* Append `item` as JSON.stringify would print it, binary nodes as numbered
 * placeholders. SIO_OK; SIO_EINVAL (item or out NULL, a raw node without
 * text, a node of no JSON type); SIO_ENOMEM; or the non-zero value cb
 * returned. On error out may hold part of the text (truncate it back). */
int sio_json_print(const cJSON *item, struct sbuf *out, sio_json_binary_cb cb, void *ud);

SIO_END_DECLS

#endif
