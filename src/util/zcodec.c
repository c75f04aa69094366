#include "util/zcodec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "sio/status.h"

struct zcodec {
    int level;
    uint8_t ready[ZC_N_FORMATS];
    uint8_t inflate_ready;
    z_stream d[ZC_N_FORMATS];
    z_stream inf;
};

zcodec *zc_new(int level) {
    zcodec *z = calloc(1, sizeof *z);
    if (z) z->level = level < -1 || level > 9 ? -1 : level;
    return z;
}

void zc_free(zcodec *z) {
    if (!z) return;
    for (int f = 0; f < ZC_N_FORMATS; f++)
        if (z->ready[f]) deflateEnd(&z->d[f]);
    if (z->inflate_ready) inflateEnd(&z->inf);
    free(z);
}

static z_stream *deflater(zcodec *z, zc_format f) {
    if (z->ready[f]) return &z->d[f];
    /* windowBits: 15 + 16 writes the gzip wrapper, 15 the zlib one, -15 none. */
    static const int bits[ZC_N_FORMATS] = {15 + 16, 15, -15};
    memset(&z->d[f], 0, sizeof z->d[f]);
    if (deflateInit2(&z->d[f], z->level, Z_DEFLATED, bits[f], 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    z->ready[f] = 1;
    return &z->d[f];
}

int zc_compress(zcodec *z, zc_format f, const uint8_t *in, size_t n, sbuf *out) {
    struct iovec v = {(void *)in, n};
    return zc_compress_iov(z, f, &v, 1, out);
}

int zc_compress_iov(zcodec *z, zc_format f, const struct iovec *iov, size_t niov, sbuf *out) {
    if (f < 0 || f >= ZC_N_FORMATS) return SIO_EINVAL;
    z_stream *s = deflater(z, f);
    if (!s) return SIO_ENOMEM;
    size_t start = out->len;
    /* permessage-deflate ends a message with a sync flush and drops its
     * empty stored block (00 00 ff ff); the others finish the stream. */
    int flush = f == ZC_RAW ? Z_SYNC_FLUSH : Z_FINISH;
    int rc = Z_OK;
    size_t last = niov;
    while (last > 0 && iov[last - 1].iov_len == 0)
        last--;
    /* No input at all still ends the stream (a gzip member of nothing). */
    for (size_t i = 0; i < (last ? last : 1); i++) {
        const uint8_t *in = last ? iov[i].iov_base : NULL;
        size_t left = last ? iov[i].iov_len : 0;
        s->next_in = (Bytef *)in;
        for (;;) {
            uInt chunk = left > (1u << 30) ? 1u << 30 : (uInt)left;
            s->avail_in = chunk;
            int fl = left == chunk && i + 1 >= last ? flush : Z_NO_FLUSH;
            do {
                size_t want = deflateBound(s, chunk) + 16;
                if (sbuf_reserve(out, want)) {
                    rc = Z_MEM_ERROR;
                    goto done;
                }
                s->next_out = out->data + out->len;
                s->avail_out =
                    (uInt)(out->cap - out->len > UINT32_MAX ? UINT32_MAX : out->cap - out->len);
                uInt before = s->avail_out;
                rc = deflate(s, fl);
                out->len += before - s->avail_out;
                if (rc == Z_STREAM_ERROR) goto done;
            } while (s->avail_out == 0 || (fl == Z_FINISH && rc != Z_STREAM_END));
            left -= chunk;
            if (!left) break;
        }
    }
    rc = Z_OK;
done:
    deflateReset(s);
    if (rc != Z_OK) {
        out->len = start;
        return SIO_ENOMEM;
    }
    if (f == ZC_RAW && out->len - start >= 4 &&
        memcmp(out->data + out->len - 4, "\x00\x00\xff\xff", 4) == 0)
        out->len -= 4;
    return SIO_OK;
}

const char *zc_coding_name(int f) {
    return f == ZC_GZIP ? "gzip" : f == ZC_DEFLATE ? "deflate" : NULL;
}

/* Inflate n bytes into out; *ended when the stream's final block was seen. */
static int inflate_part(z_stream *s, const uint8_t *p, size_t n, size_t start, size_t max,
                        sbuf *out, int *ended) {
    if (n > UINT32_MAX) return SIO_ETOOBIG;
    s->next_in = (Bytef *)p;
    s->avail_in = (uInt)n;
    for (;;) {
        if (out->len - start > max) return SIO_ETOOBIG;
        if (sbuf_reserve(out, 16384)) return SIO_ENOMEM;
        size_t room = out->cap - out->len;
        s->next_out = out->data + out->len;
        s->avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        uInt before = s->avail_out;
        int rc = inflate(s, Z_SYNC_FLUSH);
        out->len += before - s->avail_out;
        if (rc == Z_STREAM_END) {
            *ended = 1;
            return out->len - start > max ? SIO_ETOOBIG : SIO_OK;
        }
        if (rc == Z_BUF_ERROR && s->avail_in == 0) return SIO_OK; /* wants more input */
        if (rc != Z_OK && rc != Z_BUF_ERROR) return rc == Z_MEM_ERROR ? SIO_ENOMEM : SIO_EPARSE;
        if (s->avail_in == 0 && s->avail_out != 0) return SIO_OK;
    }
}

int zc_inflate_raw(zcodec *z, const uint8_t *in, size_t n, size_t max, sbuf *out) {
    if (!z->inflate_ready) {
        memset(&z->inf, 0, sizeof z->inf);
        if (inflateInit2(&z->inf, -15) != Z_OK) return SIO_ENOMEM;
        z->inflate_ready = 1;
    }
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    size_t start = out->len;
    int ended = 0;
    /* The message, then the tail its sender cut (RFC 7692 7.2.2); after a
     * final block nothing more is deflate data. */
    int rc = inflate_part(&z->inf, in, n, start, max, out, &ended);
    if (rc == SIO_OK && !ended)
        rc = inflate_part(&z->inf, tail, sizeof tail, start, max, out, &ended);
    if (rc == SIO_OK && out->len - start > max) rc = SIO_ETOOBIG;
    inflateReset(&z->inf);
    if (rc != SIO_OK) out->len = start;
    return rc;
}

/* The q-value of a coding in an Accept-Encoding list: -1 when absent. */
static double q_of(const char *ae, const char *coding, double *star) {
    double found = -1;
    size_t cl = strlen(coding);
    for (const char *p = ae; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *name = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t nl = (size_t)(p - name);
        double q = 1;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((*p == 'q' || *p == 'Q') && p[1] == '=') q = strtod(p + 2, NULL);
            } else {
                p++;
            }
        }
        if (nl == 1 && *name == '*')
            *star = q;
        else if (nl == cl && strncasecmp(name, coding, cl) == 0)
            found = q;
    }
    return found;
}

int zc_pick_encoding(const char *ae) {
    if (!ae) return -1;
    double star = -1;
    double g = q_of(ae, "gzip", &star), d = q_of(ae, "deflate", &star);
    if (g < 0) g = star;
    if (d < 0) d = star;
    if (g <= 0 && d <= 0) return -1;
    return g >= d ? ZC_GZIP : ZC_DEFLATE;
}
