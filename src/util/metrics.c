#include "util/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "sio/status.h"

struct source {
    void *owner;
    const metrics_field *fields;
    size_t n;
    metrics_collector fn;
};

struct metrics_registry {
    struct source *src;
    size_t n, cap;
};

/* One family being rendered: its samples in first-seen order, summed by
 * label set. */
struct sample {
    const char *labels;
    metrics_kind kind;
    double value;
};
struct family {
    const char *name;
    const char *help;
    metrics_type type;
    struct sample *s;
    size_t n, cap;
};
struct metrics_out {
    struct family *f;
    size_t n, cap;
    int oom;
};

metrics_registry *metrics_registry_new(void) {
    return calloc(1, sizeof(metrics_registry));
}

void metrics_registry_free(metrics_registry *r) {
    if (!r) return;
    free(r->src);
    free(r);
}

int metrics_add(metrics_registry *r, void *owner, const metrics_field *fields, size_t n,
                metrics_collector fn) {
    if (!r) return SIO_ENOMEM;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        struct source *p = realloc(r->src, cap * sizeof *p);
        if (!p) return SIO_ENOMEM;
        r->src = p;
        r->cap = cap;
    }
    r->src[r->n++] = (struct source){owner, fields, n, fn};
    return SIO_OK;
}

void metrics_remove(metrics_registry *r, const void *owner) {
    if (!r) return;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->src[i].owner != owner) r->src[k++] = r->src[i];
    r->n = k;
}

static int same_labels(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

void metrics_put(metrics_out *o, const char *name, const char *help, metrics_type type,
                 const char *labels, metrics_kind kind, double value) {
    struct family *f = NULL;
    for (size_t i = 0; i < o->n && !f; i++)
        if (strcmp(o->f[i].name, name) == 0) f = &o->f[i];
    if (!f) {
        if (o->n == o->cap) {
            size_t cap = o->cap ? 2 * o->cap : 32;
            struct family *p = realloc(o->f, cap * sizeof *p);
            if (!p) {
                o->oom = 1;
                return;
            }
            o->f = p;
            o->cap = cap;
        }
        f = &o->f[o->n++];
        *f = (struct family){name, help, type, NULL, 0, 0};
    }
    for (size_t i = 0; i < f->n; i++) {
        if (same_labels(f->s[i].labels, labels)) {
            f->s[i].value += value;
            return;
        }
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 4;
        struct sample *p = realloc(f->s, cap * sizeof *p);
        if (!p) {
            o->oom = 1;
            return;
        }
        f->s = p;
        f->cap = cap;
    }
    f->s[f->n++] = (struct sample){labels, kind, value};
}

static double field_value(const void *owner, const metrics_field *m) {
    const char *p = (const char *)owner + m->offset;
    switch (m->kind) {
    case METRIC_U64:
        return (double)*(const uint64_t *)p;
    case METRIC_I64:
        return (double)*(const int64_t *)p;
    default:
        return *(const double *)p;
    }
}

int metrics_render(metrics_registry *r, sbuf *o) {
    metrics_out out = {NULL, 0, 0, 0};
    for (size_t i = 0; r && i < r->n; i++) {
        const struct source *src = &r->src[i];
        for (size_t k = 0; k < src->n; k++) {
            const metrics_field *m = &src->fields[k];
            metrics_put(&out, m->name, m->help, m->type, m->labels, m->kind,
                        field_value(src->owner, m));
        }
        if (src->fn) src->fn(&out, src->owner);
    }
    for (size_t i = 0; i < out.n; i++) {
        const struct family *f = &out.f[i];
        sbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                    f->type == METRIC_COUNTER ? "counter" : "gauge");
        for (size_t k = 0; k < f->n; k++) {
            const struct sample *s = &f->s[k];
            sbuf_printf(o, "%s%s%s%s ", f->name, s->labels ? "{" : "", s->labels ? s->labels : "",
                        s->labels ? "}" : "");
            /* Counts print as integers (exact to 2^53), measurements with
             * microseconds. */
            if (s->kind == METRIC_F64)
                sbuf_printf(o, "%.6f\n", s->value);
            else
                sbuf_printf(o, "%.0f\n", s->value);
        }
        free(f->s);
    }
    free(out.f);
    return out.oom ? SIO_ENOMEM : SIO_OK;
}

double metrics_sum(metrics_registry *r, const char *name) {
    double sum = 0;
    for (size_t i = 0; r && i < r->n; i++)
        for (size_t k = 0; k < r->src[i].n; k++)
            if (strcmp(r->src[i].fields[k].name, name) == 0)
                sum += field_value(r->src[i].owner, &r->src[i].fields[k]);
    return sum;
}
