/*
 * featpipe.c: the feature pipeline (see featpipe.h for the design).
 */
#include "featpipe.h"

#include "hash.h"
#include "serial.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEATPIPE_MAGIC 0x50464444u /* "DDFP" */
#define FEATPIPE_VERSION 1u
#define FEATPIPE_MAX_NAME 65536u

struct featpipe {
    featpipe_params p;
    uint32_t nslots;  /* numeric slots in use */
    uint32_t tmask;   /* table size - 1 */
    uint32_t *table;  /* open addressing: 0 empty, else slot + 1 */
    uint64_t *hashes; /* per slot */
    char **names;     /* per slot, owned */
    welford *stats;   /* per slot */
    uint64_t overflow;
    size_t name_bytes;
};

void featpipe_params_default(featpipe_params *p)
{
    p->hash_bits = 18;
    p->max_numeric = 256;
    p->standardize = true;
    p->clip = 5.0;
    p->missing_indicators = true;
}

dd_err featpipe_params_check(const featpipe_params *p, char **cause)
{
    if (p->hash_bits != FEATPIPE_HASH_BITS_AUTO && (p->hash_bits < 4 || p->hash_bits > 24))
        return dd_fail(cause, DD_EINVAL, "features.hash_bits must be 0 (auto) or in 4..24, got %u",
                       p->hash_bits);
    if (p->max_numeric < 1 || p->max_numeric > 65536)
        return dd_fail(cause, DD_EINVAL, "features.max_numeric must be in 1..65536, got %u",
                       p->max_numeric);
    if (!(p->clip > 0) || !isfinite(p->clip))
        return dd_fail(cause, DD_EINVAL, "features.clip must be > 0");
    return DD_OK;
}

static uint32_t table_size(uint32_t max_numeric)
{
    uint32_t t = 16;
    while (t < 2 * max_numeric)
        t *= 2;
    return t;
}

featpipe *featpipe_new(const featpipe_params *p, char **cause)
{
    if (featpipe_params_check(p, cause))
        return NULL;
    featpipe *f = calloc(1, sizeof *f);
    if (!f)
        goto fail;
    f->p = *p;
    if (f->p.hash_bits == FEATPIPE_HASH_BITS_AUTO)
        f->p.hash_bits = 18;
    uint32_t t = table_size(p->max_numeric);
    f->tmask = t - 1;
    f->table = calloc(t, sizeof *f->table);
    f->hashes = calloc(p->max_numeric, sizeof *f->hashes);
    f->names = calloc(p->max_numeric, sizeof *f->names);
    f->stats = calloc(p->max_numeric, sizeof *f->stats);
    if (!f->table || !f->hashes || !f->names || !f->stats)
        goto fail;
    return f;
fail:
    featpipe_free(f);
    dd_fail(cause, DD_ENOMEM, "out of memory");
    return NULL;
}

void featpipe_free(featpipe *f)
{
    if (!f)
        return;
    if (f->names)
        for (uint32_t i = 0; i < f->nslots; i++)
            free(f->names[i]);
    free(f->table);
    free(f->hashes);
    free(f->names);
    free(f->stats);
    free(f);
}

featpipe *featpipe_clone(const featpipe *f)
{
    featpipe *c = featpipe_new(&f->p, NULL);
    if (!c)
        return NULL;
    memcpy(c->table, f->table, ((size_t)f->tmask + 1) * sizeof *c->table);
    memcpy(c->hashes, f->hashes, f->p.max_numeric * sizeof *c->hashes);
    memcpy(c->stats, f->stats, f->p.max_numeric * sizeof *c->stats);
    for (uint32_t i = 0; i < f->nslots; i++) {
        c->names[i] = strdup(f->names[i]);
        if (!c->names[i]) {
            featpipe_free(c);
            return NULL;
        }
        c->nslots = i + 1;
    }
    c->overflow = f->overflow;
    c->name_bytes = f->name_bytes;
    return c;
}

uint32_t featpipe_dim(const featpipe *f)
{
    return 2 * f->p.max_numeric + (1u << f->p.hash_bits);
}

/* The slot of (hash, name), or -1; *pos is where it would be inserted. */
static int32_t lookup(const featpipe *f, uint64_t h, const char *name, uint32_t *pos)
{
    uint32_t i = (uint32_t)h & f->tmask;
    while (f->table[i]) {
        uint32_t s = f->table[i] - 1;
        if (f->hashes[s] == h && !strcmp(f->names[s], name))
            return (int32_t)s;
        i = (i + 1) & f->tmask;
    }
    *pos = i;
    return -1;
}

static int32_t lookup_or_add(featpipe *f, const dd_feature *feat)
{
    uint32_t pos;
    int32_t s = lookup(f, feat->name_hash, feat->name, &pos);
    if (s >= 0 || f->nslots == f->p.max_numeric)
        return s;
    size_t n = strlen(feat->name);
    char *name = malloc(n + 1);
    if (!name)
        return -1;
    memcpy(name, feat->name, n + 1);
    s = (int32_t)f->nslots++;
    f->names[s] = name;
    f->hashes[s] = feat->name_hash;
    f->table[pos] = (uint32_t)s + 1;
    f->name_bytes += n + 1;
    return s;
}

int32_t featpipe_slot(const featpipe *f, const dd_feature *feat)
{
    uint32_t pos;
    return lookup(f, feat->name_hash, feat->name, &pos);
}

static double standardized(const featpipe *f, int32_t s, double x)
{
    if (!f->p.standardize)
        return x;
    const welford *w = &f->stats[s];
    double var = welford_var(w);
    double v = var > 0 ? (x - w->mean) / sqrt(var) : 0.0;
    if (v > f->p.clip)
        v = f->p.clip;
    else if (v < -f->p.clip)
        v = -f->p.clip;
    return v;
}

static uint32_t bucket(const featpipe *f, uint64_t h)
{
    return 2 * f->p.max_numeric + (uint32_t)(h & ((1u << f->p.hash_bits) - 1));
}

/* One pass over the event; learn: update statistics and add slots. */
static dd_err transform(featpipe *f, const featpipe *ro, const dd_event *ev, dd_sparse *out,
                        bool learn)
{
    sparse_clear(out);
    if (sparse_reserve(out, ev->nfeat ? ev->nfeat : 1))
        return DD_ENOMEM;
    const featpipe *fr = learn ? f : ro;
    for (uint32_t i = 0; i < ev->nfeat; i++) {
        const dd_feature *ft = &ev->feat[i];
        if (ft->kind == DD_VAL_STR) {
            uint64_t h = hash_combine(ft->name_hash, hash_str(ft->str));
            sparse_push(out, bucket(fr, h), (h >> 63) ? -1.0 : 1.0);
            continue;
        }
        int32_t s = learn ? lookup_or_add(f, ft) : featpipe_slot(ro, ft);
        if (ft->kind == DD_VAL_MISSING) {
            if (s >= 0 && fr->p.missing_indicators)
                sparse_push(out, fr->p.max_numeric + (uint32_t)s, 1.0);
            continue;
        }
        if (s < 0) {
            if (learn)
                f->overflow++;
            double x = ft->num;
            sparse_push(out, bucket(fr, ft->name_hash), x < 0 ? -log1p(-x) : log1p(x));
            continue;
        }
        if (learn)
            welford_add(&f->stats[s], ft->num);
        sparse_push(out, (uint32_t)s, standardized(fr, s, ft->num));
    }
    return DD_OK;
}

dd_err featpipe_learn_transform(featpipe *f, const dd_event *ev, dd_sparse *out)
{
    return transform(f, f, ev, out, true);
}

dd_err featpipe_transform(const featpipe *f, const dd_event *ev, dd_sparse *out)
{
    return transform(NULL, f, ev, out, false);
}

uint32_t featpipe_numeric_count(const featpipe *f)
{
    return f->nslots;
}

const char *featpipe_slot_name(const featpipe *f, uint32_t i)
{
    return i < f->nslots ? f->names[i] : NULL;
}

const welford *featpipe_slot_stats(const featpipe *f, uint32_t i)
{
    return i < f->nslots ? &f->stats[i] : NULL;
}

uint64_t featpipe_overflow(const featpipe *f)
{
    return f->overflow;
}

size_t featpipe_memory(const featpipe *f)
{
    size_t m = f->p.max_numeric;
    return sizeof *f + ((size_t)f->tmask + 1) * sizeof *f->table +
           m * (sizeof *f->hashes + sizeof *f->names + sizeof *f->stats) + f->name_bytes;
}

dd_err featpipe_serialize(const featpipe *f, ser_writer *w)
{
    ser_put_u32(w, FEATPIPE_MAGIC);
    ser_put_u32(w, FEATPIPE_VERSION);
    ser_put_u32(w, f->p.hash_bits);
    ser_put_u32(w, f->p.max_numeric);
    ser_put_u32(w, f->p.standardize);
    ser_put_f64(w, f->p.clip);
    ser_put_u32(w, f->p.missing_indicators);
    ser_put_u64(w, f->overflow);
    ser_put_u32(w, f->nslots);
    for (uint32_t i = 0; i < f->nslots; i++) {
        ser_put_str(w, f->names[i]);
        ser_put_u64(w, f->stats[i].n);
        ser_put_f64(w, f->stats[i].mean);
        ser_put_f64(w, f->stats[i].m2);
    }
    return w->failed ? DD_ENOMEM : DD_OK;
}

dd_err featpipe_deserialize(ser_reader *r, featpipe **out, char **cause)
{
    *out = NULL;
    if (ser_get_u32(r) != FEATPIPE_MAGIC)
        return dd_fail(cause, DD_ECORRUPT, "not a feature pipeline snapshot");
    uint32_t version = ser_get_u32(r);
    if (version != FEATPIPE_VERSION)
        return dd_fail(cause, DD_EVERSION, "feature snapshot version %u, expected %u", version,
                       FEATPIPE_VERSION);
    featpipe_params p;
    p.hash_bits = ser_get_u32(r);
    p.max_numeric = ser_get_u32(r);
    p.standardize = ser_get_u32(r) != 0;
    p.clip = ser_get_f64(r);
    p.missing_indicators = ser_get_u32(r) != 0;
    uint64_t overflow = ser_get_u64(r);
    uint32_t n = ser_get_u32(r);
    if (r->failed || p.hash_bits == FEATPIPE_HASH_BITS_AUTO || featpipe_params_check(&p, NULL) ||
        n > p.max_numeric)
        return dd_fail(cause, DD_ECORRUPT, "feature snapshot header is invalid");
    featpipe *f = featpipe_new(&p, cause);
    if (!f)
        return DD_ENOMEM;
    f->overflow = overflow;
    for (uint32_t i = 0; i < n; i++) {
        char *name = ser_get_str(r, FEATPIPE_MAX_NAME);
        dd_feature ft = {.name = name, .name_hash = name ? hash_str(name) : 0};
        welford st = {ser_get_u64(r), ser_get_f64(r), ser_get_f64(r)};
        uint32_t pos;
        if (r->failed || !name || lookup(f, ft.name_hash, name, &pos) >= 0 || !isfinite(st.mean) ||
            !isfinite(st.m2) || st.m2 < 0) {
            free(name);
            featpipe_free(f);
            return dd_fail(cause, DD_ECORRUPT, "feature snapshot slot %u is invalid", i);
        }
        int32_t s = lookup_or_add(f, &ft);
        free(name);
        if (s < 0) {
            featpipe_free(f);
            return dd_fail(cause, DD_ENOMEM, "out of memory");
        }
        f->stats[s] = st;
    }
    *out = f;
    return DD_OK;
}
