#include "ws/deflate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 7230 tchar. */
static int tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *ows(const char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A token at p: its length (0 when none). */
static size_t token(const char *p) {
    size_t n = 0;
    while (tchar(p[n]))
        n++;
    return n;
}

enum { P_SNCT, P_CNCT, P_SMWB, P_CMWB, N_PARAMS };
static const char *const param_names[N_PARAMS] = {
    "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
    "client_max_window_bits"};

/* A window size value: 8 to 15 without leading zeros, else -1. */
static int window_bits(const char *v) {
    if (v[0] == '8' || v[0] == '9') return v[1] ? -1 : v[0] - '0';
    if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && !v[2]) return 10 + v[1] - '0';
    return -1;
}

/* One parameter value after '=': a token or a quoted-string, unescaped into
 * val (cap bytes; longer values are marked too long with an empty val, which
 * no parameter accepts). Returns the position after it, NULL on bad syntax. */
static const char *param_value(const char *p, char *val, size_t cap) {
    size_t n = 0;
    int too_long = 0;
    if (*p == '"') {
        for (p++; *p != '"'; p++) {
            if (!*p) return NULL;
            if (*p == '\\' && !*++p) return NULL;
            if (n + 1 < cap)
                val[n++] = *p;
            else
                too_long = 1;
        }
        p++;
    } else {
        size_t t = token(p);
        if (!t) return NULL;
        if (t < cap) memcpy(val, p, n = t);
        too_long = t >= cap;
        p += t;
    }
    val[too_long ? 0 : n] = 0;
    return p;
}

int ws_deflate_negotiate(const char *offers, char *resp, size_t cap) {
    if (!offers || cap < WS_DEFLATE_RESPONSE_MAX) return 0;
    const char *p = offers;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (!*p) return 0;
        size_t nl = token(p);
        if (!nl) return 0;
        int ours = nl == 18 && strncasecmp(p, "permessage-deflate", 18) == 0;
        p = ows(p + nl);
        int ok = ours, seen[N_PARAMS] = {0}, smwb = 0;
        while (*p == ';') {
            p = ows(p + 1);
            size_t kl = token(p);
            if (!kl) return 0;
            const char *key = p;
            p = ows(p + kl);
            char val[8];
            int has_val = *p == '=';
            if (has_val) {
                p = param_value(ows(p + 1), val, sizeof val);
                if (!p) return 0;
                p = ows(p);
            }
            int k = 0;
            while (k < N_PARAMS &&
                   !(strlen(param_names[k]) == kl && strncasecmp(key, param_names[k], kl) == 0))
                k++;
            if (k == N_PARAMS || seen[k]++) {
                ok = 0; /* unknown or repeated: decline this offer */
                continue;
            }
            switch (k) {
            case P_SNCT:
            case P_CNCT:
                if (has_val) ok = 0;
                break;
            case P_SMWB:
                /* We compress with a 15-bit window; a client that can only
                 * take less is declined (it then talks uncompressed). */
                if (!has_val || window_bits(val) != 15) ok = 0;
                smwb = 1;
                break;
            case P_CMWB:
                /* The client may use any window: we inflate with 15 bits,
                 * which reads streams made with fewer. */
                if (has_val && window_bits(val) < 0) ok = 0;
                break;
            }
        }
        if (*p && *p != ',') return 0;
        if (ok) {
            snprintf(resp, cap,
                     "permessage-deflate; server_no_context_takeover; "
                     "client_no_context_takeover%s",
                     smwb ? "; server_max_window_bits=15" : "");
            return 1;
        }
    }
}
