/* MessagePack codec between wire bytes and cJSON trees (see include/sio/json.h for
 * binary nodes), speaking the dialect of notepack.io 3.x, the codec that Node's
 * @socket.io/redis-adapter 8.x and @socket.io/redis-emitter 5.x put on Redis.
 *
 * Sans-I/O and bounded: the decoder reads one value from a byte range, never past its
 * end, with a cap on nesting and on the number of values, and recurses not at all (an
 * explicit stack of at most max_depth frames), so input from Redis cannot exhaust the
 * C stack and costs memory in proportion to its own size at most.
 *
 * Encoding follows notepack.io's choices for the JavaScript value a cJSON tree stands
 * for: null → nil; booleans; integral numbers with the shortest of positive/negative
 * fixint, uint8/16/32/64, int8/16/32/64 (-0 as 0x00, as notepack does); other numbers,
 * NaN and ±Infinity as float64 (never float32); strings as fixstr/str8/16/32; binary
 * nodes as bin8/16/32; arrays and objects as fixarray/array16/32 and fixmap/map16/32.
 * Object members come out in JavaScript's property order: keys that are array indexes
 * ("0", "1", ... below 2^32-1) first, ascending, then the others in tree order, which
 * is how Object.keys orders the object the tree stands for (and how sio_json_print
 * prints it). One deliberate difference: notepack writes an integral number of
 * magnitude 2^64 or more as uint64/int64 modulo 2^64 (1e20 arrives as
 * 7766279631452241920); this encoder writes it as float64, which every decoder reads
 * back unchanged.
 *
 * Decoding gives what a Node peer's notepack.io decode followed by JSON.stringify would
 * show: nil → null; bool; every int/uint width (64-bit values beyond 2^53 become the
 * nearest double); float32/float64; str → string; bin → binary node; ext 8/16/32 of
 * type 0 (notepack 2.x ArrayBuffer and typed arrays) → binary node; fixext1 of type 0
 * (notepack 2.x undefined) → null in an array or at the top, and the member left out in
 * a map, as JSON.stringify does; timestamps (ext type -1: timestamp 32/64/96, how
 * notepack 3.x writes a Date) and fixext8 of type 0 (notepack 2.x Date) → the string
 * Date.prototype.toJSON gives ("2000-06-13T00:00:00.000Z"), or null past the range of
 * a JavaScript Date.
 *
 * Strings are decoded as Node's Buffer.toString("utf8") does: each maximal ill-formed
 * subsequence becomes U+FFFD, so the tree never holds invalid UTF-8 (which would break
 * WebSocket text frames). A string or key holding a zero byte is rejected (SIO_EPARSE):
 * cJSON strings end at the first NUL. Map keys must be strings (notepack would turn
 * other keys into property names; here that is SIO_EPARSE). A map becomes the object
 * notepack builds by assigning each pair in turn: a repeated key keeps its first
 * position and takes its last value, and "__proto__" members (an assignment that sets
 * the prototype, or does nothing) are left out. Other ext types (notepack returns them
 * as [type, Buffer]), a timestamp 96 whose ext 8 header does not say 12 bytes (notepack
 * reads 12 bytes whatever it says), and the unused byte 0xc1 are SIO_EPARSE.
 *
 * max_depth also bounds the recursion of the code that walks the tree afterwards:
 * cJSON_Delete and sio_json_print recurse once per level. */
#ifndef SIO_SIO_MSGPACK_H
#define SIO_SIO_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/buf.h"

#define MSGPACK_DEFAULT_MAX_DEPTH 32
#define MSGPACK_DEFAULT_MAX_ITEMS 1000000

/* Bounds for one decoded value; a zero field takes its default. */
typedef struct msgpack_limits {
    /* Arrays and maps open at once: [[1]] needs 2, a scalar 0. Past it: SIO_ETOOBIG. */
    size_t max_depth;
    /* Values in the message, each container, element, map key and map value counting
     * one. Past it: SIO_ETOOBIG. (The byte count is bounded by the caller's `n`.) */
    size_t max_items;
} msgpack_limits;

/* Append the MessagePack encoding of `v` to `out`, as notepack.io encodes the
 * equivalent JavaScript value (see above). Returns SIO_OK; SIO_EINVAL for a NULL
 * argument, a node that is neither JSON nor binary (cJSON_Raw text, cJSON_Invalid), or an
 * object member without a key; SIO_ETOOBIG for a string, binary, array or object of
 * 2^32 or more bytes or items; SIO_ENOMEM. On error `out` keeps its previous length.
 * Uses no recursion: any depth of tree is encoded with a heap-allocated stack. */
int msgpack_encode(const cJSON *v, sbuf *out);

/* Decode the one MessagePack value at the start of p[0..n) into a new tree in *out
 * (the caller frees it with cJSON_Delete) and store in *consumed (when not NULL) how
 * many bytes it took: bytes after it are the caller's business. `lim` may be NULL for
 * the defaults. Returns SIO_OK; SIO_EPARSE for malformed or truncated input, including
 * a declared length longer than what is left; SIO_ETOOBIG when a limit is exceeded;
 * SIO_EINVAL for bad arguments; SIO_ENOMEM. On error *out is NULL and *consumed 0. */
int msgpack_decode(const uint8_t *p, size_t n, cJSON **out, size_t *consumed,
                   const msgpack_limits *lim);

#endif
