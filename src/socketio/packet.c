#include "socketio/packet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sio/status.h"

#define INLINE_SLOTS 16

void sio_packet_free(sio_packet *pkt) {
    if (!pkt) return;
    free(pkt->nsp);
    cJSON_Delete(pkt->data);
    free(pkt);
}

/* ---- decoder ---- */

static cJSON **decoder_slots(sio_decoder *d) {
    return d->expected <= INLINE_SLOTS ? d->slots_inline : d->slots_heap;
}

void sio_decoder_init(sio_decoder *d, size_t max_attachments) {
    memset(d, 0, sizeof *d);
    d->max_attachments = max_attachments;
}

void sio_decoder_reset(sio_decoder *d) {
    sio_packet_free(d->pending);
    free(d->slots_heap);
    sio_decoder_init(d, d->max_attachments);
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* JSON.parse's whitespace; cJSON would also skip every other control character. */
static int is_json_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *const reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

static int event_name_valid(const cJSON *first) {
    if (cJSON_IsNumber(first)) return isfinite(first->valuedouble);
    if (!cJSON_IsString(first) || !first->valuestring) return 0;
    for (size_t i = 0; i < sizeof reserved_events / sizeof *reserved_events; i++)
        if (strcmp(first->valuestring, reserved_events[i]) == 0) return 0;
    return 1;
}

/* Like the reference parser, a payload is checked only when there is one: a
 * bare "2" or an ACK without id decodes, and the layer above ignores it. */
static int payload_valid(sio_pkt_type type, const cJSON *data, int64_t id) {
    (void)id;
    switch (type) {
    case SIO_PKT_CONNECT:
        return !data || cJSON_IsObject(data);
    case SIO_PKT_DISCONNECT:
        return !data;
    case SIO_PKT_CONNECT_ERROR:
        return !data || cJSON_IsString(data) || cJSON_IsObject(data);
    case SIO_PKT_EVENT:
        return !data || (cJSON_IsArray(data) && event_name_valid(data->child));
    case SIO_PKT_ACK:
        return !data || cJSON_IsArray(data);
    /* Attachments need a payload holding their placeholders. */
    case SIO_PKT_BINARY_EVENT:
        return cJSON_IsArray(data) && event_name_valid(data->child);
    case SIO_PKT_BINARY_ACK:
        return cJSON_IsArray(data);
    }
    return 0;
}

/* JSON.parse keeps the last of duplicated keys, so look the same one up. */
static const cJSON *last_member(const cJSON *obj, const char *key) {
    const cJSON *found = NULL;
    for (const cJSON *c = obj->child; c; c = c->next)
        if (c->string && strcmp(c->string, key) == 0) found = c;
    return found;
}

/* Record every placeholder under `item` in its slot. Placeholders are checked here, when
 * the text arrives, so a bad packet fails before its attachments are buffered. A second
 * reference to one attachment is rejected: no encoder produces it and honouring it would
 * let a peer multiply the memory an attachment costs. */
static int collect_placeholders(sio_decoder *d, cJSON *item) {
    cJSON **slots = decoder_slots(d);
    for (cJSON *c = item->child; c; c = c->next) {
        if (cJSON_IsObject(c) && cJSON_IsTrue(last_member(c, "_placeholder"))) {
            const cJSON *num = last_member(c, "num");
            if (!cJSON_IsNumber(num)) return SIO_EPARSE;
            double v = num->valuedouble;
            if (!(v >= 0 && v < (double)d->expected && v == floor(v))) return SIO_EPARSE;
            size_t k = (size_t)v;
            if (slots[k]) return SIO_EPARSE;
            slots[k] = c;
        } else if (c->child) {
            int rc = collect_placeholders(d, c);
            if (rc) return rc;
        }
    }
    return SIO_OK;
}

/* Find \u0000 escapes (outside of other escapes); returns how many. */
static size_t count_nul_escapes(const char *s, size_t n, int *has_fdd0) {
    size_t count = 0;
    *has_fdd0 = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xb7 &&
            (unsigned char)s[i + 2] == 0x90)
            *has_fdd0 = 1;
        if (s[i] != '\\' || i + 1 >= n) continue;
        if (s[i + 1] == 'u' && i + 5 < n) {
            if (memcmp(s + i + 2, "0000", 4) == 0) count++;
            if (strncasecmp(s + i + 2, "fdd0", 4) == 0) *has_fdd0 = 1;
            i += 5;
        } else {
            i++;
        }
    }
    return count;
}

static int parse_json_plain(const char *s, size_t n, cJSON **out);

/* JSON text with \u0000 in strings: parse a copy where each one reads \uFDD0
 * and flag the strings that hold it (see SIO_JSON_NUL_VALUE). Text that
 * already holds U+FDD0 could not be told apart and is refused. */
int sio_json_parse_text(const char *s, size_t n, cJSON **out) {
    int has_fdd0;
    if (!memchr(s, '\\', n) || !count_nul_escapes(s, n, &has_fdd0))
        return parse_json_plain(s, n, out);
    if (has_fdd0) return SIO_EPARSE;
    char *copy = malloc(n);
    if (!copy) return SIO_ENOMEM;
    memcpy(copy, s, n);
    for (size_t i = 0; i + 5 < n; i++) {
        if (copy[i] != '\\') continue;
        if (copy[i + 1] == 'u' && memcmp(copy + i + 2, "0000", 4) == 0)
            memcpy(copy + i + 2, "FDD0", 4);
        i += copy[i + 1] == 'u' ? 5 : 1;
    }
    int rc = parse_json_plain(copy, n, out);
    free(copy);
    if (rc == SIO_OK) sio_json_mark_nul(*out);
    return rc;
}

static int parse_json_plain(const char *s, size_t n, cJSON **out) {
    while (n && is_json_ws(*s))
        s++, n--;
    /* cJSON would also skip a UTF-8 BOM and control characters here; JSON.parse does not. */
    if (n == 0 || !*s || !strchr("{[\"-0123456789tfn", *s)) return SIO_EPARSE;
    const char *end = NULL;
    /* require_null_terminated would demand a NUL inside the length, which a message
     * slice does not have; check the end by hand instead. cJSON does not tell an
     * allocation failure from bad input, so both are reported as SIO_EPARSE. */
    cJSON *v = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!v) return SIO_EPARSE;
    const char *lim = s + n;
    while (end < lim && is_json_ws(*end))
        end++;
    if (end != lim) {
        cJSON_Delete(v);
        return SIO_EPARSE;
    }
    *out = v;
    return SIO_OK;
}

static char *dup_range(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

int sio_decoder_feed_text(sio_decoder *d, const char *s, size_t n, sio_packet **out) {
    if (!out) return SIO_EINVAL;
    *out = NULL;
    if (d->pending) return SIO_EPARSE;
    if (!s || n == 0) return SIO_EPARSE;
    /* A NUL would silently cut the namespace or a JSON string short. */
    if (memchr(s, 0, n)) return SIO_EPARSE;

    size_t i = 0;
    if (!is_digit(s[0]) || s[0] > '6') return SIO_EPARSE;
    sio_pkt_type type = (sio_pkt_type)(s[i++] - '0');
    int binary = type == SIO_PKT_BINARY_EVENT || type == SIO_PKT_BINARY_ACK;

    size_t attachments = 0;
    if (binary) {
        size_t start = i;
        int huge = 0;
        for (; i < n && is_digit(s[i]); i++) {
            if (attachments > (SIZE_MAX - 9) / 10)
                huge = 1;
            else
                attachments = attachments * 10 + (size_t)(s[i] - '0');
        }
        if (i == start || i >= n || s[i] != '-') return SIO_EPARSE;
        i++;
        if (attachments == 0) return SIO_EPARSE;
        if (huge || attachments > d->max_attachments) return SIO_ETOOBIG;
    }

    const char *nsp = "/";
    size_t nsp_len = 1;
    if (i < n && s[i] == '/') {
        const char *comma = memchr(s + i, ',', n - i);
        size_t end = comma ? (size_t)(comma - s) : n;
        nsp = s + i;
        nsp_len = end - i;
        i = comma ? end + 1 : n;
    }

    int64_t id = -1;
    if (i < n && is_digit(s[i])) {
        size_t start = i;
        while (i < n && is_digit(s[i]) && i - start < 16)
            i++;
        if (i - start > 15) return SIO_EPARSE;
        id = 0;
        for (size_t k = start; k < i; k++)
            id = id * 10 + (s[k] - '0');
    }

    cJSON *data = NULL;
    if (i < n) {
        int rc = sio_json_parse_text(s + i, n - i, &data);
        if (rc) return rc;
    }
    if (!payload_valid(type, data, id)) {
        cJSON_Delete(data);
        return SIO_EPARSE;
    }

    sio_packet *pkt = calloc(1, sizeof *pkt);
    char *nsp_copy = dup_range(nsp, nsp_len);
    if (!pkt || !nsp_copy) {
        free(pkt);
        free(nsp_copy);
        cJSON_Delete(data);
        return SIO_ENOMEM;
    }
    pkt->type = binary ? (type == SIO_PKT_BINARY_EVENT ? SIO_PKT_EVENT : SIO_PKT_ACK) : type;
    pkt->nsp = nsp_copy;
    pkt->id = id;
    pkt->data = data;
    if (!binary) {
        *out = pkt;
        return SIO_OK;
    }

    d->expected = attachments;
    d->received = 0;
    if (attachments > INLINE_SLOTS) {
        d->slots_heap = calloc(attachments, sizeof *d->slots_heap);
        if (!d->slots_heap) {
            d->expected = 0;
            sio_packet_free(pkt);
            return SIO_ENOMEM;
        }
    } else {
        memset(d->slots_inline, 0, sizeof d->slots_inline);
    }
    d->pending = pkt;
    int rc = collect_placeholders(d, data);
    if (rc) sio_decoder_reset(d);
    return rc;
}

int sio_decoder_feed_binary(sio_decoder *d, const uint8_t *p, size_t n, sio_packet **out) {
    if (!out) return SIO_EINVAL;
    *out = NULL;
    if (!d->pending) return SIO_EPARSE;
    if ((!p && n) || n == SIZE_MAX) return SIO_EINVAL;
    cJSON **slot = &decoder_slots(d)[d->received];
    /* An attachment no placeholder refers to is dropped, as the reference parser does. */
    if (*slot) {
        uint8_t *copy = cJSON_malloc(n + 1);
        if (!copy) return SIO_ENOMEM;
        if (n) memcpy(copy, p, n);
        copy[n] = 0;
        int rc = sio_json_binary_set(*slot, copy, n);
        if (rc) return rc;
        *slot = NULL;
    }
    if (++d->received < d->expected) return SIO_OK;
    *out = d->pending;
    d->pending = NULL;
    sio_decoder_reset(d);
    return SIO_OK;
}

/* ---- encoder ---- */

void sio_attachment_list_init(sio_attachment_list *l) {
    memset(l, 0, sizeof *l);
}

void sio_attachment_list_free(sio_attachment_list *l) {
    free(l->heap);
    sio_attachment_list_init(l);
}

const sio_attachment *sio_attachment_list_items(const sio_attachment_list *l) {
    return l->heap ? l->heap : l->inline_items;
}

static int attachment_list_add(void *ud, const cJSON *node, size_t index) {
    sio_attachment_list *l = ud;
    if (!l->heap && l->count == sizeof l->inline_items / sizeof *l->inline_items) {
        size_t cap = l->count * 2;
        sio_attachment *h = malloc(cap * sizeof *h);
        if (!h) return SIO_ENOMEM;
        memcpy(h, l->inline_items, l->count * sizeof *h);
        l->heap = h;
        l->cap = cap;
    } else if (l->heap && l->count == l->cap) {
        if (l->cap > SIZE_MAX / 2 / sizeof *l->heap) return SIO_ENOMEM;
        sio_attachment *h = realloc(l->heap, l->cap * 2 * sizeof *h);
        if (!h) return SIO_ENOMEM;
        l->heap = h;
        l->cap *= 2;
    }
    sio_attachment *items = l->heap ? l->heap : l->inline_items;
    items[l->count].data = sio_json_binary_data(node, &items[l->count].len);
    l->count++;
    return SIO_OK;
}

int sio_packet_encode(sio_pkt_type type, const char *nsp, int64_t id, const cJSON *data, sbuf *text,
                      sio_attachment_list *bins) {
    if (!text || (unsigned)type > SIO_PKT_BINARY_ACK) return SIO_EINVAL;
    if (!nsp) nsp = "/";
    /* The decoder only recognises a namespace by its leading '/', and a comma would end
     * it early: either would make the packet decode differently. */
    if (nsp[0] != '/' || strchr(nsp, ',')) return SIO_EINVAL;
    if (id > SIO_ACK_ID_MAX) return SIO_EINVAL;
    if (bins) bins->count = 0;

    size_t nbin = data ? sio_json_count_binary(data) : 0;
    if (type == SIO_PKT_EVENT || type == SIO_PKT_BINARY_EVENT)
        type = nbin ? SIO_PKT_BINARY_EVENT : SIO_PKT_EVENT;
    else if (type == SIO_PKT_ACK || type == SIO_PKT_BINARY_ACK)
        type = nbin ? SIO_PKT_BINARY_ACK : SIO_PKT_ACK;
    else if (nbin)
        return SIO_EINVAL;
    if (nbin && !bins) return SIO_EINVAL;

    size_t mark = text->len;
    char head[48];
    size_t hl = 0;
    head[hl++] = (char)('0' + type);
    if (nbin) {
        hl += fmt_u64(head + hl, nbin);
        head[hl++] = '-';
    }
    int rc = sbuf_append(text, head, hl);
    if (!rc && strcmp(nsp, "/") != 0) {
        rc = sbuf_puts(text, nsp);
        if (!rc) rc = sbuf_putc(text, ',');
    }
    if (!rc && id >= 0) rc = sbuf_append(text, head, fmt_u64(head, (uint64_t)id));
    if (!rc && data) rc = sio_json_print(data, text, nbin ? attachment_list_add : NULL, bins);
    if (rc) {
        text->len = mark;
        if (bins) bins->count = 0;
    }
    return rc;
}
