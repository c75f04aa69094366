#include "sio/json.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/status.h"
#include "util/buf.h"

cJSON *sio_json_binary(const void *data, size_t len) {
    if ((!data && len) || len == SIZE_MAX) return NULL;
    /* One spare byte keeps valuestring NUL-terminated, so cJSON code that treats it
     * as a C string (cJSON_Print on a Raw node) stays inside the allocation. */
    uint8_t *copy = cJSON_malloc(len + 1);
    if (!copy) return NULL;
    if (len) memcpy(copy, data, len);
    copy[len] = 0;
    return sio_json_binary_take(copy, len);
}

cJSON *sio_json_binary_take(void *malloced, size_t len) {
    cJSON *node = cJSON_CreateNull();
    if (!node) {
        cJSON_free(malloced);
        return NULL;
    }
    if (sio_json_binary_set(node, malloced, len) != SIO_OK) {
        cJSON_Delete(node);
        return NULL;
    }
    return node;
}

int sio_json_binary_set(cJSON *node, void *malloced, size_t len) {
    if (!node || (!malloced && len)) {
        cJSON_free(malloced);
        return SIO_EINVAL;
    }
    /* An empty value still gets a pointer: a NULL data pointer would be
     * indistinguishable from "not a binary node" in sio_json_binary_data. */
    if (!malloced) {
        malloced = cJSON_malloc(1);
        if (!malloced) return SIO_ENOMEM;
        *(char *)malloced = 0;
    }
    if (!(node->type & cJSON_IsReference)) {
        cJSON_Delete(node->child);
        cJSON_free(node->valuestring);
    }
    node->child = NULL;
    node->valuestring = malloced;
    node->valuedouble = (double)len;
    node->valueint = len > INT_MAX ? INT_MAX : (int)len;
    /* The key may be a constant string; keep that flag so cJSON_Delete stays correct. */
    node->type = cJSON_Raw | SIO_JSON_BINARY | (node->type & cJSON_StringIsConst);
    return SIO_OK;
}

int sio_json_is_binary(const cJSON *item) {
    return item && (item->type & SIO_JSON_BINARY) && (item->type & 0xFF) == cJSON_Raw;
}

const uint8_t *sio_json_binary_data(const cJSON *item, size_t *len) {
    if (!sio_json_is_binary(item) || !item->valuestring) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = item->valuedouble > 0 ? (size_t)item->valuedouble : 0;
    return (const uint8_t *)item->valuestring;
}

int sio_json_has_binary(const cJSON *item) {
    if (!item) return 0;
    if (sio_json_is_binary(item)) return 1;
    for (const cJSON *c = item->child; c; c = c->next)
        if (sio_json_has_binary(c)) return 1;
    return 0;
}

size_t sio_json_count_binary(const cJSON *item) {
    if (!item) return 0;
    if (sio_json_is_binary(item)) return 1;
    size_t n = 0;
    for (const cJSON *c = item->child; c; c = c->next)
        n += sio_json_count_binary(c);
    return n;
}

/* ---- printer ---- */

/* Inline fast paths: the output almost always has room, and a call into buf.c per
 * punctuation byte dominated the encoder's profile. */
static inline int put1(sbuf *b, char c) {
    if (b->len < b->cap) {
        b->data[b->len++] = (uint8_t)c;
        return SIO_OK;
    }
    return sbuf_putc(b, (uint8_t)c);
}

static inline int putn(sbuf *b, const void *p, size_t n) {
    if (b->cap - b->len >= n) {
        if (n) memcpy(b->data + b->len, p, n);
        b->len += n;
        return SIO_OK;
    }
    return sbuf_append(b, p, n);
}

typedef struct printer {
    sbuf *out;
    sio_json_binary_cb cb;
    void *ud;
    size_t nbin;
} printer;

static int print_value(printer *p, const cJSON *item);

static int print_string(sbuf *out, const char *s, int nul_marked) {
    static const char hex[] = "0123456789abcdef";
    if (put1(out, '"')) return SIO_ENOMEM;
    if (!s) s = "";
    const unsigned char *run = (const unsigned char *)s, *q = run;
    for (; *q; q++) {
        unsigned char c = *q;
        if (nul_marked && c == 0xef && q[1] == 0xb7 && q[2] == 0x90) {
            /* U+FDD0 standing for the U+0000 the peer sent (see json.h). */
            if (putn(out, run, (size_t)(q - run)) || putn(out, "\\u0000", 6)) return SIO_ENOMEM;
            q += 2;
            run = q + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if (putn(out, run, (size_t)(q - run))) return SIO_ENOMEM;
        run = q + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if (putn(out, esc, n)) return SIO_ENOMEM;
    }
    if (putn(out, run, (size_t)(q - run))) return SIO_ENOMEM;
    return put1(out, '"') ? SIO_ENOMEM : SIO_OK;
}

/* ECMAScript Number::toString: the shortest digits that read back as the same double,
 * laid out as plain decimal for exponents in [-7, 21) and as d.ddde±x otherwise. */
static int print_number(sbuf *out, double d) {
    if (!isfinite(d)) return putn(out, "null", 4);
    char buf[64];
    size_t len = 0;
    if (d == 0) return put1(out, '0'); /* -0 too, as in JavaScript */
    if (d < 0) {
        buf[len++] = '-';
        d = -d;
    }
    /* Below 2^53 every integral double is printed exactly by JavaScript, and this
     * covers nearly all numbers seen on the wire without going through printf. */
    if (d < 9007199254740992.0 && d == floor(d)) {
        len += fmt_u64(buf + len, (uint64_t)d);
        return putn(out, buf, len);
    }

    char sci[40];
    /* For normal doubles the correctly rounded 15 digits, once trailing zeros go, are
     * already the shortest form when one of 15 digits or fewer exists. Subnormals carry
     * fewer significant bits, so their shortest form can be much shorter (5e-324) and is
     * searched from one digit up; they are rare enough for the cost not to matter. */
    for (int prec = d < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
        if (prec == 17 || strtod(sci, NULL) == d) break;
    }
    /* sci is "D.DDDDe±X"; any non-digit before 'e' is the locale's decimal point. */
    char digits[24];
    int k = 0;
    const char *s = sci;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && k < (int)sizeof digits) digits[k++] = *s;
    if (*s != 'e') return SIO_EINVAL;
    int n = atoi(s + 1) + 1; /* decimal exponent: value = 0.DIGITS * 10^n */
    while (k > 1 && digits[k - 1] == '0')
        k--;

    if (k <= n && n <= 21) {
        memcpy(buf + len, digits, (size_t)k);
        len += (size_t)k;
        memset(buf + len, '0', (size_t)(n - k));
        len += (size_t)(n - k);
    } else if (0 < n && n <= 21) {
        memcpy(buf + len, digits, (size_t)n);
        len += (size_t)n;
        buf[len++] = '.';
        memcpy(buf + len, digits + n, (size_t)(k - n));
        len += (size_t)(k - n);
    } else if (-6 < n && n <= 0) {
        buf[len++] = '0';
        buf[len++] = '.';
        memset(buf + len, '0', (size_t)-n);
        len += (size_t)-n;
        memcpy(buf + len, digits, (size_t)k);
        len += (size_t)k;
    } else {
        buf[len++] = digits[0];
        if (k > 1) {
            buf[len++] = '.';
            memcpy(buf + len, digits + 1, (size_t)(k - 1));
            len += (size_t)(k - 1);
        }
        int e = n - 1;
        buf[len++] = 'e';
        buf[len++] = e < 0 ? '-' : '+';
        len += fmt_u64(buf + len, (uint64_t)(e < 0 ? -e : e));
    }
    return putn(out, buf, len);
}

/* JavaScript objects enumerate "array index" keys (canonical decimal integers below
 * 2^32-1) first, in ascending order, whatever order they were inserted in. */
int sio_json_index_key(const char *k, uint32_t *out) {
    if (!k || !*k) return 0;
    if (k[0] == '0') {
        *out = 0;
        return k[1] == 0;
    }
    uint64_t v = 0;
    for (; *k; k++) {
        if (*k < '0' || *k > '9') return 0;
        v = v * 10 + (uint64_t)(*k - '0');
        if (v > 4294967294u) return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

typedef struct index_member {
    uint32_t key;
    size_t pos; /* tie-break for duplicate keys, so the sort is stable */
    const cJSON *node;
} index_member;

static int cmp_index_member(const void *a, const void *b) {
    const index_member *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int print_member(printer *p, const cJSON *c, int *first) {
    if (!*first && put1(p->out, ',')) return SIO_ENOMEM;
    *first = 0;
    int rc = print_string(p->out, c->string, c->type & SIO_JSON_NUL_KEY);
    if (rc) return rc;
    if (put1(p->out, ':')) return SIO_ENOMEM;
    return print_value(p, c);
}

static int print_object(printer *p, const cJSON *obj) {
    uint32_t key;
    size_t nidx = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        if (sio_json_index_key(c->string, &key)) nidx++;

    int rc = SIO_OK, first = 1;
    if (put1(p->out, '{')) return SIO_ENOMEM;
    if (nidx == 0) {
        for (const cJSON *c = obj->child; c && !rc; c = c->next)
            rc = print_member(p, c, &first);
    } else {
        /* Rare path (objects keyed by numbers), so an allocation here is acceptable. */
        index_member small[16];
        index_member *idx = nidx <= 16 ? small : malloc(nidx * sizeof *idx);
        if (!idx) return SIO_ENOMEM;
        size_t i = 0, pos = 0;
        for (const cJSON *c = obj->child; c; c = c->next, pos++)
            if (sio_json_index_key(c->string, &key)) idx[i++] = (index_member){key, pos, c};
        qsort(idx, nidx, sizeof *idx, cmp_index_member);
        for (i = 0; i < nidx && !rc; i++)
            rc = print_member(p, idx[i].node, &first);
        for (const cJSON *c = obj->child; c && !rc; c = c->next)
            if (!sio_json_index_key(c->string, &key)) rc = print_member(p, c, &first);
        if (idx != small) free(idx);
    }
    if (rc) return rc;
    return put1(p->out, '}') ? SIO_ENOMEM : SIO_OK;
}

static int print_value(printer *p, const cJSON *item) {
    int rc;
    switch (item->type & 0xFF) {
    case cJSON_False:
        return putn(p->out, "false", 5);
    case cJSON_True:
        return putn(p->out, "true", 4);
    case cJSON_NULL:
        return putn(p->out, "null", 4);
    case cJSON_Number:
        return print_number(p->out, item->valuedouble);
    case cJSON_String:
        return print_string(p->out, item->valuestring, item->type & SIO_JSON_NUL_VALUE);
    case cJSON_Raw:
        if (sio_json_is_binary(item)) {
            size_t num = p->nbin++;
            if (p->cb && (rc = p->cb(p->ud, item, num)) != 0) return rc;
            static const char head[] = "{\"_placeholder\":true,\"num\":";
            char buf[sizeof head + 21];
            memcpy(buf, head, sizeof head - 1);
            size_t n = sizeof head - 1 + fmt_u64(buf + sizeof head - 1, num);
            buf[n++] = '}';
            return putn(p->out, buf, n);
        }
        if (!item->valuestring) return SIO_EINVAL;
        return putn(p->out, item->valuestring, strlen(item->valuestring));
    case cJSON_Array:
        if (put1(p->out, '[')) return SIO_ENOMEM;
        for (const cJSON *c = item->child; c; c = c->next) {
            if (c != item->child && put1(p->out, ',')) return SIO_ENOMEM;
            if ((rc = print_value(p, c)) != 0) return rc;
        }
        return put1(p->out, ']') ? SIO_ENOMEM : SIO_OK;
    case cJSON_Object:
        return print_object(p, item);
    default:
        return SIO_EINVAL;
    }
}

int sio_json_print(const cJSON *item, sbuf *out, sio_json_binary_cb cb, void *ud) {
    if (!item || !out) return SIO_EINVAL;
    printer p = {out, cb, ud, 0};
    return print_value(&p, item);
}

static int has_nul_marker(const char *s) {
    return s && strstr(s, "\xef\xb7\x90") != NULL;
}

void sio_json_mark_nul(cJSON *v) {
    for (; v; v = v->next) {
        if (has_nul_marker(v->string)) v->type |= SIO_JSON_NUL_KEY;
        if ((v->type & 0xFF) == cJSON_String && has_nul_marker(v->valuestring))
            v->type |= SIO_JSON_NUL_VALUE;
        sio_json_mark_nul(v->child);
    }
}

cJSON *sio_json_duplicate(const cJSON *v) {
    if (!v) return NULL;
    cJSON *c;
    if (sio_json_is_binary(v)) {
        size_t len;
        const uint8_t *p = sio_json_binary_data(v, &len);
        c = sio_json_binary(p, len);
    } else if (v->type & (cJSON_Array | cJSON_Object)) {
        c = (v->type & cJSON_Array) ? cJSON_CreateArray() : cJSON_CreateObject();
        for (const cJSON *ch = v->child; c && ch; ch = ch->next) {
            cJSON *d = sio_json_duplicate(ch);
            if (!d) {
                cJSON_Delete(c);
                return NULL;
            }
            if (ch->string) {
                d->string = strdup(ch->string);
                if (!d->string) {
                    cJSON_Delete(d);
                    cJSON_Delete(c);
                    return NULL;
                }
                d->type |= ch->type & SIO_JSON_NUL_KEY;
            }
            cJSON_AddItemToArray(c, d);
        }
    } else {
        cJSON shallow = *v;
        shallow.next = shallow.prev = shallow.child = NULL;
        shallow.string = NULL;
        c = cJSON_Duplicate(&shallow, 0);
    }
    if (c)
        c->type =
            (c->type & ~(SIO_JSON_NUL_KEY | cJSON_StringIsConst)) | (v->type & SIO_JSON_NUL_VALUE);
    return c;
}
