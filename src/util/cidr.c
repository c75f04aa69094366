#include "util/cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "sio/status.h"

/* n bytes of text as a 16-byte address; 0, or -1 when not an address.
 * *v4 tells which family it was written in. */
static int parse_addr(const char *s, size_t n, uint8_t out[16], int *v4) {
    char buf[64];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *v4 = 1;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out) == 1) {
        *v4 = 0;
        return 0;
    }
    return -1;
}

static void clear_host_bits(uint8_t a[16], unsigned bits) {
    for (unsigned i = 0; i < 16; i++) {
        unsigned lo = i * 8;
        if (bits >= lo + 8) continue;
        a[i] &= bits > lo ? (uint8_t)(0xff << (8 - (bits - lo))) : 0;
    }
}

/* One entry "ADDR" or "ADDR/BITS" of n bytes (already trimmed). */
static int parse_rule(const char *s, size_t n, cidr_rule *r) {
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    int v4;
    if (parse_addr(s, alen, r->net, &v4)) return -1;
    unsigned max = v4 ? 32 : 128, bits = max;
    if (slash) {
        const char *p = slash + 1, *end = s + n;
        if (p == end || end - p > 3) return -1;
        bits = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9') return -1;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > max) return -1;
    }
    if (v4) bits += 96;
    clear_host_bits(r->net, bits);
    r->bits = (uint8_t)bits;
    return 0;
}

int cidr_list_parse(cidr_list *out, const char *spec) {
    out->rules = NULL;
    out->n = 0;
    if (!spec) return SIO_EINVAL;
    size_t cap = 1;
    for (const char *p = spec; *p; p++)
        cap += *p == ',';
    cidr_rule *rules = calloc(cap, sizeof *rules);
    if (!rules) return SIO_ENOMEM;
    size_t n = 0;
    const char *p = spec;
    for (;;) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        /* An empty entry is a typo ("a,,b", a trailing comma): refuse it
         * rather than guess. */
        if (a == b || parse_rule(a, (size_t)(b - a), &rules[n])) {
            free(rules);
            return SIO_EINVAL;
        }
        n++;
        if (!*e) break;
        p = e + 1;
    }
    out->rules = rules;
    out->n = n;
    return SIO_OK;
}

int cidr_list_match(const cidr_list *l, const char *addr) {
    uint8_t a[16];
    int v4;
    if (!l || !addr || parse_addr(addr, strlen(addr), a, &v4)) return 0;
    for (size_t i = 0; i < l->n; i++) {
        uint8_t m[16];
        memcpy(m, a, 16);
        clear_host_bits(m, l->rules[i].bits);
        if (memcmp(m, l->rules[i].net, 16) == 0) return 1;
    }
    return 0;
}

void cidr_list_free(cidr_list *l) {
    free(l->rules);
    l->rules = NULL;
    l->n = 0;
}
