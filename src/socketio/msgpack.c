/* MessagePack codec in notepack.io's dialect; see msgpack.h for the mapping of types.
 * Neither direction recurses: both walk the tree with an explicit stack on the heap. */
#include "socketio/msgpack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/json.h"
#include "sio/status.h"

#define U32_MAX_LEN 0xFFFFFFFFu

/* ---------------------------------------------------------------------------------- */
/* encoder                                                                            */
/* ---------------------------------------------------------------------------------- */

/* Append a tag byte followed by the low `k` bytes of `v`, most significant first. */
static int put_tagged(sbuf *out, uint8_t tag, uint64_t v, int k) {
    uint8_t b[9];
    b[0] = tag;
    for (int i = k; i >= 1; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
    return sbuf_append(out, b, (size_t)k + 1);
}

/* Append a length header: the fix form `fixtag | len` when len < fixlimit (fixlimit 0:
 * none), else the 8-bit form when tag8 is non-zero and len < 256, else 16 or 32 bits. */
static int put_len(sbuf *out, size_t len, uint8_t fixtag, size_t fixlimit, uint8_t tag8,
                   uint8_t tag16) {
    if (len < fixlimit) return sbuf_putc(out, (uint8_t)(fixtag | len));
    if (tag8 && len < 0x100) return put_tagged(out, tag8, len, 1);
    if (len < 0x10000) return put_tagged(out, tag16, len, 2);
    if (len <= U32_MAX_LEN) return put_tagged(out, (uint8_t)(tag16 + 1), len, 4);
    return SIO_ETOOBIG;
}

/* Append a number as notepack.io does: integral values as the shortest int/uint form
 * (-0 takes the `value >= 0` branch, so it is 0x00), everything else as float64. */
static int put_number(sbuf *out, double d) {
    if (isfinite(d) && floor(d) == d) {
        if (d >= 0 && d < 18446744073709551616.0) {
            uint64_t u = (uint64_t)d;
            if (u < 0x80) return sbuf_putc(out, (uint8_t)u);
            if (u < 0x100) return put_tagged(out, 0xcc, u, 1);
            if (u < 0x10000) return put_tagged(out, 0xcd, u, 2);
            if (u < 0x100000000) return put_tagged(out, 0xce, u, 4);
            return put_tagged(out, 0xcf, u, 8);
        }
        if (d < 0 && d >= -9223372036854775808.0) {
            int64_t i = (int64_t)d;
            if (i >= -0x20) return sbuf_putc(out, (uint8_t)(uint64_t)i);
            if (i >= -0x80) return put_tagged(out, 0xd0, (uint64_t)i, 1);
            if (i >= -0x8000) return put_tagged(out, 0xd1, (uint64_t)i, 2);
            if (i >= -0x80000000LL) return put_tagged(out, 0xd2, (uint64_t)i, 4);
            return put_tagged(out, 0xd3, (uint64_t)i, 8);
        }
        /* |d| >= 2^64: notepack would wrap it modulo 2^64; keep the value instead. */
    }
    uint64_t bits = 0x7ff8000000000000u; /* JavaScript's one NaN */
    if (!isnan(d)) memcpy(&bits, &d, sizeof bits);
    return put_tagged(out, 0xcb, bits, 8);
}

/* Append a string of `len` bytes as fixstr/str8/str16/str32. A string flagged
 * as holding U+0000 (json.h: U+FDD0 stands for it) goes out with real NULs. */
static int put_str(sbuf *out, const char *s, size_t len, int nul_marked) {
    if (!nul_marked) {
        int rc = put_len(out, len, 0xa0, 0x20, 0xd9, 0xda);
        return rc ? rc : sbuf_append(out, s, len);
    }
    size_t real = 0;
    for (size_t i = 0; i < len; i++, real++)
        if ((uint8_t)s[i] == 0xef && i + 2 < len && (uint8_t)s[i + 1] == 0xb7 &&
            (uint8_t)s[i + 2] == 0x90)
            i += 2;
    int rc = put_len(out, real, 0xa0, 0x20, 0xd9, 0xda);
    for (size_t i = 0; rc == SIO_OK && i < len; i++) {
        if ((uint8_t)s[i] == 0xef && i + 2 < len && (uint8_t)s[i + 1] == 0xb7 &&
            (uint8_t)s[i + 2] == 0x90) {
            rc = sbuf_putc(out, 0);
            i += 2;
        } else {
            rc = sbuf_putc(out, (uint8_t)s[i]);
        }
    }
    return rc;
}

typedef struct keyed {
    uint32_t key;
    size_t pos; /* tree position, so equal keys keep their order */
    const cJSON *node;
} keyed;

/* qsort order for index-keyed members: by key, then by tree position. */
static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* One open array or object of the encoder. Members come from `order` when the object
 * needs reordering (it has index keys), else by following `next` through the tree. */
typedef struct enc_frame {
    const cJSON *next;
    const cJSON **order;
    size_t pos, count;
    int is_obj;
} enc_frame;

typedef struct enc_stack {
    enc_frame *f;
    size_t depth, cap;
} enc_stack;

/* Members of `obj` in JavaScript property order in a new array of `count` pointers,
 * or NULL when tree order is already that order (*rc SIO_OK) or memory ran out. */
static const cJSON **object_order(const cJSON *obj, size_t count, int *rc) {
    uint32_t key;
    size_t nidx = 0;
    *rc = SIO_OK;
    for (const cJSON *c = obj->child; c; c = c->next)
        if (sio_json_index_key(c->string, &key)) nidx++;
    if (nidx == 0) return NULL;
    const cJSON **order = malloc(count * sizeof *order);
    keyed *idx = malloc(nidx * sizeof *idx);
    if (!order || !idx) {
        free(order);
        free(idx);
        *rc = SIO_ENOMEM;
        return NULL;
    }
    size_t i = 0, pos = 0, j = nidx;
    for (const cJSON *c = obj->child; c; c = c->next, pos++) {
        if (sio_json_index_key(c->string, &key))
            idx[i++] = (keyed){key, pos, c};
        else
            order[j++] = c;
    }
    qsort(idx, nidx, sizeof *idx, cmp_keyed);
    for (i = 0; i < nidx; i++)
        order[i] = idx[i].node;
    free(idx);
    return order;
}

/* Encode one node: a scalar completely, a container's header, pushing a frame for its
 * members when it has any. */
static int encode_node(const cJSON *v, sbuf *out, enc_stack *st) {
    size_t len;
    const uint8_t *bin;
    int rc;
    switch (v->type & 0xFF) {
    case cJSON_NULL:
        return sbuf_putc(out, 0xc0);
    case cJSON_False:
        return sbuf_putc(out, 0xc2);
    case cJSON_True:
        return sbuf_putc(out, 0xc3);
    case cJSON_Number:
        return put_number(out, v->valuedouble);
    case cJSON_String:
        if (!v->valuestring) return SIO_EINVAL;
        return put_str(out, v->valuestring, strlen(v->valuestring), v->type & SIO_JSON_NUL_VALUE);
    case cJSON_Raw:
        if (!(bin = sio_json_binary_data(v, &len))) return SIO_EINVAL;
        if ((rc = put_len(out, len, 0, 0, 0xc4, 0xc5)) != SIO_OK) return rc;
        return sbuf_append(out, bin, len);
    case cJSON_Array:
    case cJSON_Object:
        break;
    default:
        return SIO_EINVAL;
    }

    int is_obj = (v->type & 0xFF) == cJSON_Object;
    size_t count = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (is_obj && !c->string) return SIO_EINVAL;
        count++;
    }
    rc = put_len(out, count, is_obj ? 0x80 : 0x90, 0x10, 0, is_obj ? 0xde : 0xdc);
    if (rc != SIO_OK || count == 0) return rc;

    if (st->depth == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        enc_frame *f = realloc(st->f, cap * sizeof *f);
        if (!f) return SIO_ENOMEM;
        st->f = f;
        st->cap = cap;
    }
    enc_frame *f = &st->f[st->depth];
    *f = (enc_frame){v->child, NULL, 0, count, is_obj};
    if (is_obj && (f->order = object_order(v, count, &rc)) == NULL && rc != SIO_OK) return rc;
    st->depth++;
    return SIO_OK;
}

/* See msgpack.h. The walk: encode a node, then move to the next member of the innermost
 * open container (writing its key first in an object), closing finished containers. */
int msgpack_encode(const cJSON *v, sbuf *out) {
    if (!v || !out) return SIO_EINVAL;
    size_t start = out->len;
    enc_stack st = {NULL, 0, 0};
    int rc;
    for (;;) {
        if ((rc = encode_node(v, out, &st)) != SIO_OK) break;
        /* Move to the next member of the innermost open container, closing finished ones. */
        v = NULL;
        while (st.depth && !v) {
            enc_frame *f = &st.f[st.depth - 1];
            if (f->order) {
                if (f->pos < f->count) v = f->order[f->pos++];
            } else if ((v = f->next) != NULL) {
                f->next = v->next;
            }
            if (!v) {
                free(f->order);
                st.depth--;
            }
        }
        if (!v) break;
        if (st.f[st.depth - 1].is_obj &&
            (rc = put_str(out, v->string, strlen(v->string), v->type & SIO_JSON_NUL_KEY)) != 0)
            break;
    }
    for (size_t i = 0; i < st.depth; i++)
        free(st.f[i].order);
    free(st.f);
    if (rc != SIO_OK) out->len = start;
    return rc;
}

/* ---------------------------------------------------------------------------------- */
/* decoder                                                                            */
/* ---------------------------------------------------------------------------------- */

typedef struct dec {
    const uint8_t *p;
    size_t n, pos;
    size_t items, max_items, max_depth;
    int nul_seen;  /* a string held U+0000: replaced by the U+FDD0 stand-in */
    int fdd0_seen; /* a string held U+FDD0 itself: the stand-in would be ambiguous */
} dec;

/* What read_value found: a finished value, notepack's `undefined`, or a container
 * header whose elements follow. */
enum { K_VALUE, K_UNDEFINED, K_ARRAY, K_MAP };

/* Point *at to the next `k` input bytes and step over them; SIO_EPARSE past the end. */
static int take(dec *d, size_t k, const uint8_t **at) {
    if (d->n - d->pos < k) return SIO_EPARSE;
    *at = d->p + d->pos;
    d->pos += k;
    return SIO_OK;
}

/* The big-endian unsigned integer in s[0..k). */
static uint64_t be(const uint8_t *s, int k) {
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = v << 8 | s[i];
    return v;
}

/* Read a `k`-byte big-endian unsigned integer from the input into *v. */
static int take_uint(dec *d, int k, uint64_t *v) {
    const uint8_t *s;
    int rc = take(d, (size_t)k, &s);
    if (rc == SIO_OK) *v = be(s, k);
    return rc;
}

/* Count one more value against max_items. */
static int count_item(dec *d) {
    return ++d->items > d->max_items ? SIO_ETOOBIG : SIO_OK;
}

/* Length of the UTF-8 unit at s[0..n): *len bytes, and 1 when they are a well-formed
 * character, 0 when they are a maximal ill-formed subpart (WHATWG UTF-8 decoding, which
 * Node's Buffer.toString follows: each such subpart becomes one U+FFFD). */
static int utf8_unit(const uint8_t *s, size_t n, size_t *len) {
    uint8_t b = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (b < 0x80) {
        *len = 1;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        *len = 1;
        return 0;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *len = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    *len = need + 1;
    return 1;
}

/* Read `len` string bytes into a new NUL-terminated cJSON_malloc'd string in *out,
 * ill-formed UTF-8 replaced by U+FFFD, U+0000 by the U+FDD0 stand-in of json.h. */
static int take_text(dec *d, size_t len, char **out) {
    const uint8_t *s;
    int rc = take(d, len, &s);
    if (rc != SIO_OK) return rc;
    if (len > (SIZE_MAX - 1) / 3) return SIO_ENOMEM; /* the worst case below: 3 bytes per byte */
    size_t outlen = 0, u, bad = 0;
    for (size_t i = 0; i < len; i += u) {
        if (s[i] == 0) {
            /* U+0000 becomes the U+FDD0 stand-in (json.h), flagged after the walk. */
            d->nul_seen = 1;
            outlen += 3;
            bad++;
            u = 1;
        } else if (utf8_unit(s + i, len - i, &u)) {
            if (u == 3 && s[i] == 0xef && s[i + 1] == 0xb7 && s[i + 2] == 0x90) d->fdd0_seen = 1;
            outlen += u;
        } else {
            outlen += 3; /* U+FFFD */
            bad++;
        }
    }
    char *t = cJSON_malloc(outlen + 1);
    if (!t) return SIO_ENOMEM;
    if (!bad) {
        if (len) memcpy(t, s, len);
    } else {
        size_t o = 0;
        for (size_t i = 0; i < len; i += u) {
            if (s[i] == 0) {
                memcpy(t + o, "\xEF\xB7\x90", 3);
                o += 3;
                u = 1;
            } else if (utf8_unit(s + i, len - i, &u)) {
                memcpy(t + o, s + i, u);
                o += u;
            } else {
                memcpy(t + o, "\xEF\xBF\xBD", 3);
                o += 3;
            }
        }
    }
    t[outlen] = 0;
    *out = t;
    return SIO_OK;
}

/* Read a string value of `len` bytes into a new string node. */
static int take_string(dec *d, size_t len, cJSON **v) {
    char *s;
    int rc = take_text(d, len, &s);
    if (rc != SIO_OK) return rc;
    cJSON *node = cJSON_CreateNull();
    if (!node) {
        cJSON_free(s);
        return SIO_ENOMEM;
    }
    node->type = cJSON_String;
    node->valuestring = s;
    *v = node;
    return SIO_OK;
}

/* Read `len` bytes into a new binary node. */
static int take_binary(dec *d, size_t len, cJSON **v) {
    const uint8_t *s;
    int rc = take(d, len, &s);
    if (rc != SIO_OK) return rc;
    return (*v = sio_json_binary(s, len)) ? SIO_OK : SIO_ENOMEM;
}

/* Read a map key, which must be a string, into a new cJSON_malloc'd string. */
static int take_key(dec *d, char **key) {
    const uint8_t *h;
    uint64_t len;
    int rc = count_item(d);
    if (rc == SIO_OK) rc = take(d, 1, &h);
    if (rc != SIO_OK) return rc;
    if (h[0] >= 0xa0 && h[0] <= 0xbf)
        len = h[0] & 0x1f;
    else if (h[0] >= 0xd9 && h[0] <= 0xdb)
        rc = take_uint(d, 1 << (h[0] - 0xd9), &len);
    else
        return SIO_EPARSE;
    return rc ? rc : take_text(d, (size_t)len, key);
}

/* A node for the JavaScript Date of time value `ms`, as JSON.stringify shows it: the
 * toISOString text, or null when the value is past a Date's range (an Invalid Date). */
static cJSON *date_node(double ms) {
    if (!(fabs(ms) <= 8.64e15)) return cJSON_CreateNull();
    int64_t t = (int64_t)ms; /* TimeClip truncates toward zero */
    int64_t days = t / 86400000, rem = t % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    /* Proleptic Gregorian date of a day count from 1970-01-01, computed in 400-year eras
     * of 146097 days that start on March 1st (so the leap day ends a year). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);

    char text[48];
    int k;
    if (year >= 0 && year <= 9999)
        k = snprintf(text, sizeof text, "%04d", (int)year);
    else
        k = snprintf(text, sizeof text, "%c%06d", year < 0 ? '-' : '+', (int)llabs(year));
    snprintf(text + k, sizeof text - (size_t)k, "-%02d-%02dT%02d:%02d:%02d.%03dZ", month, day,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
    return cJSON_CreateString(text);
}

/* Read the body of an ext value: `tag` is its format byte, `type` its type, `len` its
 * data length. Only the types notepack.io turns into values are accepted. */
static int take_ext(dec *d, uint8_t tag, int8_t type, size_t len, cJSON **v, int *kind) {
    const uint8_t *s;
    int rc;
    /* notepack 2.x ArrayBuffer and typed arrays */
    if (type == 0 && tag >= 0xc7 && tag <= 0xc9) return take_binary(d, len, v);
    if (type == 0 && tag == 0xd4) { /* notepack 2.x undefined, whatever its data byte */
        *kind = K_UNDEFINED;
        return take(d, 1, &s);
    }
    double ms;
    if (type == 0 && tag == 0xd7) { /* notepack 2.x Date: int64 milliseconds */
        if ((rc = take(d, 8, &s)) != SIO_OK) return rc;
        ms = (double)(int32_t)(uint32_t)be(s, 4) * 4294967296.0 + (double)be(s + 4, 4);
    } else if (type == -1 && tag == 0xd6) { /* timestamp 32: uint32 seconds */
        if ((rc = take(d, 4, &s)) != SIO_OK) return rc;
        ms = (double)be(s, 4) * 1e3;
    } else if (type == -1 && tag == 0xd7) { /* timestamp 64: 30-bit ns, 34-bit seconds */
        if ((rc = take(d, 8, &s)) != SIO_OK) return rc;
        uint64_t hi = be(s, 4);
        ms = ((double)(hi & 3) * 4294967296.0 + (double)be(s + 4, 4)) * 1e3 +
             (double)(hi >> 2) / 1e6;
    } else if (type == -1 && tag == 0xc7 && len == 12) { /* timestamp 96: ns, int64 s */
        if ((rc = take(d, 12, &s)) != SIO_OK) return rc;
        double sec = (double)(int32_t)(uint32_t)be(s + 4, 4) * 4294967296.0 + (double)be(s + 8, 4);
        ms = sec * 1e3 + (double)be(s, 4) / 1e6;
    } else {
        return SIO_EPARSE;
    }
    return (*v = date_node(ms)) ? SIO_OK : SIO_ENOMEM;
}

/* Read one value. A scalar comes back finished in *v (K_VALUE) or as K_UNDEFINED; for
 * an array or a map only the header is read (K_ARRAY, K_MAP) and *count is the number
 * of elements or of key/value pairs that follow. */
static int read_value(dec *d, cJSON **v, int *kind, uint32_t *count) {
    const uint8_t *h, *s;
    uint64_t u;
    int rc;
    *v = NULL;
    *kind = K_VALUE;
    if ((rc = count_item(d)) != SIO_OK || (rc = take(d, 1, &h)) != SIO_OK) return rc;
    uint8_t t = h[0];

    if (t < 0x80 || t >= 0xe0) {
        *v = cJSON_CreateNumber(t < 0x80 ? (double)t : (double)((int)t - 0x100)); /* fixint */
    } else if (t <= 0x9f) {
        *kind = t <= 0x8f ? K_MAP : K_ARRAY;
        *count = t & 0x0f;
        return SIO_OK;
    } else if (t <= 0xbf) {
        return take_string(d, t & 0x1f, v);
    } else {
        switch (t) {
        case 0xc0:
            *v = cJSON_CreateNull();
            break;
        case 0xc2:
        case 0xc3:
            *v = cJSON_CreateBool(t == 0xc3);
            break;
        case 0xc4: /* bin 8/16/32 */
        case 0xc5:
        case 0xc6:
            if ((rc = take_uint(d, 1 << (t - 0xc4), &u)) != SIO_OK) return rc;
            return take_binary(d, (size_t)u, v);
        case 0xc7: /* ext 8/16/32 */
        case 0xc8:
        case 0xc9:
            if ((rc = take_uint(d, 1 << (t - 0xc7), &u)) != SIO_OK || (rc = take(d, 1, &s)) != 0)
                return rc;
            return take_ext(d, t, (int8_t)s[0], (size_t)u, v, kind);
        case 0xca: { /* float 32 */
            float f;
            uint32_t bits;
            if ((rc = take_uint(d, 4, &u)) != SIO_OK) return rc;
            bits = (uint32_t)u;
            memcpy(&f, &bits, sizeof f);
            *v = cJSON_CreateNumber((double)f);
            break;
        }
        case 0xcb: { /* float 64 */
            double f;
            if ((rc = take_uint(d, 8, &u)) != SIO_OK) return rc;
            memcpy(&f, &u, sizeof f);
            *v = cJSON_CreateNumber(f);
            break;
        }
        case 0xcc: /* uint 8/16/32/64: beyond 2^53 the nearest double */
        case 0xcd:
        case 0xce:
        case 0xcf:
            if ((rc = take_uint(d, 1 << (t - 0xcc), &u)) != SIO_OK) return rc;
            *v = cJSON_CreateNumber((double)u);
            break;
        case 0xd0: /* int 8/16/32/64 */
        case 0xd1:
        case 0xd2:
        case 0xd3: {
            int k = 1 << (t - 0xd0);
            if ((rc = take_uint(d, k, &u)) != SIO_OK) return rc;
            if (k < 8 && (u >> (8 * k - 1))) u |= ~0ull << (8 * k); /* sign-extend */
            *v = cJSON_CreateNumber((double)(int64_t)u);
            break;
        }
        case 0xd4: /* fixext 1/2/4/8/16 */
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            if ((rc = take(d, 1, &s)) != SIO_OK) return rc;
            return take_ext(d, t, (int8_t)s[0], (size_t)1 << (t - 0xd4), v, kind);
        case 0xd9: /* str 8/16/32 */
        case 0xda:
        case 0xdb:
            if ((rc = take_uint(d, 1 << (t - 0xd9), &u)) != SIO_OK) return rc;
            return take_string(d, (size_t)u, v);
        case 0xdc: /* array 16/32 */
        case 0xdd:
        case 0xde: /* map 16/32 */
        case 0xdf:
            if ((rc = take_uint(d, (t & 1) ? 4 : 2, &u)) != SIO_OK) return rc;
            *kind = t <= 0xdd ? K_ARRAY : K_MAP;
            *count = (uint32_t)u;
            return SIO_OK;
        default: /* 0xc1, never used */
            return SIO_EPARSE;
        }
    }
    return *v ? SIO_OK : SIO_ENOMEM;
}

/* Marks the placeholder of an undefined map member until its map is settled: bit 13 is
 * free in cJSON's type field (json.h uses bit 12). */
#define UNDEFINED_MEMBER (1 << 13)

typedef struct member {
    const char *key;
    size_t pos;
    cJSON *node;
} member;

/* qsort order for members: by key, then by position. */
static int cmp_member(const void *a, const void *b) {
    const member *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Non-zero for a member that is no own property of the object notepack builds: an
 * undefined value (JSON.stringify leaves it out), or the key "__proto__" (assigning to it
 * sets the prototype, or does nothing). */
static int vanishes(const cJSON *c) {
    return (c->type & UNDEFINED_MEMBER) || strcmp(c->string, "__proto__") == 0;
}

/* Make a finished map the object notepack.io builds with `value[key] = ...` for each
 * pair: a repeated key keeps its first position and takes its last value, and members
 * that are no own property go. Sorting (not hashing) finds the repeats, so crafted keys
 * cannot make this quadratic. */
static int settle_object(cJSON *obj) {
    size_t count = 0;
    int drop = 0;
    for (const cJSON *c = obj->child; c; c = c->next) {
        count++;
        drop |= vanishes(c);
    }
    if (count >= 2) {
        member small[16];
        member *m = count <= 16 ? small : malloc(count * sizeof *m);
        if (!m) return SIO_ENOMEM;
        size_t i = 0;
        for (cJSON *c = obj->child; c; c = c->next, i++)
            m[i] = (member){c->string, i, c};
        qsort(m, count, sizeof *m, cmp_member);
        for (i = 0; i < count;) {
            size_t j = i + 1;
            while (j < count && strcmp(m[j].key, m[i].key) == 0)
                j++;
            if (j - i > 1) {
                for (size_t k = i + 1; k + 1 < j; k++)
                    cJSON_Delete(cJSON_DetachItemViaPointer(obj, m[k].node));
                cJSON *last = cJSON_DetachItemViaPointer(obj, m[j - 1].node);
                cJSON_ReplaceItemViaPointer(obj, m[i].node, last); /* frees m[i].node */
            }
            i = j;
        }
        if (m != small) free(m);
    }
    if (drop) {
        for (cJSON *c = obj->child, *next; c; c = next) {
            next = c->next;
            if (vanishes(c)) cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
        }
    }
    return SIO_OK;
}

/* One open array or map of the decoder: its node, how many elements (or pairs) are
 * still to come, and for a map the key read for the value that comes next. */
typedef struct dec_frame {
    cJSON *node;
    uint32_t left;
    int is_map;
    char *key;
} dec_frame;

/* See msgpack.h. The walk: read a key when the innermost open container is a map, then
 * a value; attach it; open a frame for a non-empty container; close (and settle, for a
 * map) every container whose elements are all read; stop when none is open. */
int msgpack_decode(const uint8_t *p, size_t n, cJSON **out, size_t *consumed,
                   const msgpack_limits *lim) {
    if (out) *out = NULL;
    if (consumed) *consumed = 0;
    if (!out || (!p && n)) return SIO_EINVAL;
    dec d = {p, n, 0, 0, MSGPACK_DEFAULT_MAX_ITEMS, MSGPACK_DEFAULT_MAX_DEPTH, 0, 0};
    if (lim && lim->max_items) d.max_items = lim->max_items;
    if (lim && lim->max_depth) d.max_depth = lim->max_depth;

    dec_frame *st = NULL;
    size_t depth = 0, cap = 0;
    cJSON *root = NULL;
    int rc;
    for (;;) {
        dec_frame *top = depth ? &st[depth - 1] : NULL;
        if (top && top->is_map && (rc = take_key(&d, &top->key)) != SIO_OK) goto fail;

        cJSON *v;
        int kind;
        uint32_t count = 0;
        if ((rc = read_value(&d, &v, &kind, &count)) != SIO_OK) goto fail;
        if (kind == K_ARRAY || kind == K_MAP) {
            /* Every element takes a byte at least, every pair two: a count the rest of
             * the input cannot hold is truncated input, found before any work. */
            uint64_t need = kind == K_MAP ? 2 * (uint64_t)count : count;
            if (depth >= d.max_depth) {
                rc = SIO_ETOOBIG;
                goto fail;
            }
            if (need > d.n - d.pos) {
                rc = SIO_EPARSE;
                goto fail;
            }
            if (need > d.max_items - d.items) {
                rc = SIO_ETOOBIG;
                goto fail;
            }
            if (!(v = kind == K_MAP ? cJSON_CreateObject() : cJSON_CreateArray())) {
                rc = SIO_ENOMEM;
                goto fail;
            }
        } else if (kind == K_UNDEFINED) {
            /* JSON.stringify shows undefined as null in an array and at the top level, and
             * leaves a map member out (settle_object does, once repeats are resolved) */
            if (!(v = cJSON_CreateNull())) {
                rc = SIO_ENOMEM;
                goto fail;
            }
            if (top && top->is_map) v->type |= UNDEFINED_MEMBER;
        }

        /* Attach the value (a container before its elements, so the tree owns it). */
        if (!top) {
            root = v;
        } else {
            if (top->is_map) {
                v->string = top->key;
                top->key = NULL;
            }
            cJSON_AddItemToArray(top->node, v);
            top->left--;
        }

        if ((kind == K_ARRAY || kind == K_MAP) && count > 0) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                if (ncap > d.max_depth) ncap = d.max_depth;
                dec_frame *nst = realloc(st, ncap * sizeof *nst);
                if (!nst) {
                    rc = SIO_ENOMEM;
                    goto fail;
                }
                st = nst;
                cap = ncap;
            }
            st[depth++] = (dec_frame){v, count, kind == K_MAP, NULL};
        }
        while (depth && st[depth - 1].left == 0) {
            depth--;
            if (st[depth].is_map && (rc = settle_object(st[depth].node)) != SIO_OK) goto fail;
        }
        if (depth == 0) break;
    }
    free(st);
    if (d.nul_seen) {
        if (d.fdd0_seen) {
            cJSON_Delete(root);
            return SIO_EPARSE;
        }
        sio_json_mark_nul(root);
    }
    *out = root;
    if (consumed) *consumed = d.pos;
    return SIO_OK;

fail:
    for (size_t i = 0; i < depth; i++)
        cJSON_free(st[i].key);
    free(st);
    cJSON_Delete(root);
    return rc;
}
