/*
 * embed.c: the knowledge store's embedding transforms (see embed.h).
 *
 * Each kind is one function filling a raw vector from an event; a const table
 * names them. Hashing uses core/hash.h with the transform's seed, so a
 * coordinate depends only on the version string's contents: the same event
 * embeds to the same vector on any machine and after any restart. Cost is
 * O(features) or O(text length * n-gram range), never O(dim) per feature;
 * the mlp kind costs one forward pass of its frozen model to the last hidden
 * layer (O(features * hidden + hidden^2)).
 */
#include "embed.h"

#include "hash.h"
#include "model_params.h"
#include "serial.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_MAX_DIM 65536u
#define EMBED_MAX_NGRAM 8u
#define EMBED_STD_FLOOR 1e-6

struct embed {
    embed_params p;
    float *stats; /* features: dim means then dim std devs; NULL until frozen */
    model *model; /* mlp: the frozen model version, owned; NULL until handed over */
    featpipe *fp; /* mlp: the feature state that makes its input, owned */
    uint64_t model_id;
    uint64_t state_hash;
    char restored[192]; /* mlp without a model: the saved version, or "" */
    char version[192];
};

typedef dd_err (*raw_fn)(const embed *e, const dd_event *ev, float *raw, char **cause);

static dd_err raw_features(const embed *e, const dd_event *ev, float *raw, char **cause);
static dd_err raw_ngram(const embed *e, const dd_event *ev, float *raw, char **cause);
static dd_err raw_carried(const embed *e, const dd_event *ev, float *raw, char **cause);
static dd_err raw_mlp(const embed *e, const dd_event *ev, float *raw, char **cause);

static const struct kind_entry {
    const char *name;
    raw_fn raw;     /* NULL: not available in this build */
    bool has_stats; /* embed_finish() standardizes with frozen statistics */
} kinds[EMBED_KIND__COUNT] = {
    [EMBED_FEATURES] = {"features", raw_features, true},
    [EMBED_NGRAM] = {"ngram", raw_ngram, false},
    [EMBED_CARRIED] = {"carried", raw_carried, false},
    [EMBED_MLP] = {"mlp", raw_mlp, false},
};

embed_params embed_params_default(void)
{
    embed_params p;
    memset(&p, 0, sizeof p);
    p.kind = EMBED_NGRAM;
    p.dim = 64;
    snprintf(p.text_field, sizeof p.text_field, "text");
    p.ngram_min = 3;
    p.ngram_max = 4;
    p.seed = 0;
    return p;
}

const char *embed_kind_name(embed_kind k)
{
    return (unsigned)k < EMBED_KIND__COUNT ? kinds[k].name : "?";
}

dd_err embed_kind_parse(const char *name, embed_kind *out)
{
    for (unsigned i = 0; i < EMBED_KIND__COUNT; i++)
        if (name && !strcmp(name, kinds[i].name)) {
            *out = (embed_kind)i;
            return DD_OK;
        }
    return DD_EINVAL;
}

static void make_version(embed *e)
{
    const embed_params *p = &e->p;
    int n = snprintf(e->version, sizeof e->version, "%s/1 d=%u seed=%llu", kinds[p->kind].name,
                     p->dim, (unsigned long long)p->seed);
    size_t at = n > 0 && (size_t)n < sizeof e->version ? (size_t)n : 0;
    if (p->kind == EMBED_NGRAM)
        snprintf(e->version + at, sizeof e->version - at, " n=%u-%u field=%s", p->ngram_min,
                 p->ngram_max, p->text_field);
    else if (p->kind == EMBED_FEATURES && e->stats)
        snprintf(e->version + at, sizeof e->version - at, " stats=%016llx",
                 (unsigned long long)hash_bytes(e->stats, 2u * p->dim * sizeof(float), 0));
    else if (p->kind == EMBED_FEATURES)
        snprintf(e->version + at, sizeof e->version - at, " unfrozen");
    else if (p->kind == EMBED_MLP && e->model)
        snprintf(e->version + at, sizeof e->version - at, " model=%llu state=%016llx",
                 (unsigned long long)e->model_id, (unsigned long long)e->state_hash);
    else if (p->kind == EMBED_MLP && e->restored[0])
        snprintf(e->version, sizeof e->version, "%s", e->restored);
    else if (p->kind == EMBED_MLP)
        snprintf(e->version + at, sizeof e->version - at, " model=none");
}

embed *embed_new(const embed_params *p, char **cause)
{
    if ((unsigned)p->kind >= EMBED_KIND__COUNT) {
        dd_fail(cause, DD_EINVAL, "embed: unknown kind %d", (int)p->kind);
        return NULL;
    }
    if (!kinds[p->kind].raw) {
        dd_fail(cause, DD_ESTATE, "embed: kind '%s' is not available in this build",
                kinds[p->kind].name);
        return NULL;
    }
    if (p->dim == 0 || p->dim > EMBED_MAX_DIM) {
        dd_fail(cause, DD_EINVAL, "embed: dimension must be in 1..%u, got %u", EMBED_MAX_DIM,
                p->dim);
        return NULL;
    }
    if (p->kind == EMBED_NGRAM && (p->ngram_min == 0 || p->ngram_min > p->ngram_max ||
                                   p->ngram_max > EMBED_MAX_NGRAM || !p->text_field[0])) {
        dd_fail(cause, DD_EINVAL, "embed: n-gram range must be within 1..%u and a field named",
                EMBED_MAX_NGRAM);
        return NULL;
    }
    embed *e = calloc(1, sizeof *e);
    if (!e) {
        dd_fail(cause, DD_ENOMEM, "embed: out of memory");
        return NULL;
    }
    e->p = *p;
    e->p.text_field[sizeof e->p.text_field - 1] = '\0';
    make_version(e);
    return e;
}

void embed_free(embed *e)
{
    if (!e)
        return;
    free(e->stats);
    model_free(e->model);
    featpipe_free(e->fp);
    free(e);
}

uint32_t embed_dim(const embed *e)
{
    return e->p.dim;
}

embed_kind embed_get_kind(const embed *e)
{
    return e->p.kind;
}

const char *embed_version(const embed *e)
{
    return e->version;
}

bool embed_is_frozen(const embed *e)
{
    return !kinds[e->p.kind].has_stats || e->stats != NULL;
}

bool embed_can_embed(const embed *e)
{
    return e->p.kind != EMBED_MLP || e->model != NULL;
}

/* Add sign(h) * x at coordinate h mod dim: the signed hashing trick. */
static void hashed_add(float *raw, uint32_t dim, uint64_t h, double x)
{
    raw[h % dim] += (float)((h >> 63) ? -x : x);
}

static dd_err raw_features(const embed *e, const dd_event *ev, float *raw, char **cause)
{
    uint32_t used = 0;
    memset(raw, 0, e->p.dim * sizeof *raw);
    for (uint32_t i = 0; i < ev->nfeat; i++) {
        const dd_feature *f = &ev->feat[i];
        uint64_t hn = hash_bytes(f->name, strlen(f->name), e->p.seed);
        if (f->kind == DD_VAL_NUM) {
            if (!isfinite(f->num))
                return dd_fail(cause, DD_ENONFINITE, "embed: feature '%s' is not finite", f->name);
            hashed_add(raw, e->p.dim, hn, f->num);
            used++;
        } else if (f->kind == DD_VAL_STR) {
            uint64_t hv = hash_bytes(f->str, strlen(f->str), e->p.seed);
            hashed_add(raw, e->p.dim, hash_combine(hn, hv), 1.0);
            used++;
        }
    }
    if (!used)
        return dd_fail(cause, DD_ENOTFOUND, "embed: the event has no feature values");
    return DD_OK;
}

/* The text the n-gram transform reads: the event's text, or a string feature. */
static const char *text_of(const embed *e, const dd_event *ev)
{
    if (!strcmp(e->p.text_field, "text"))
        return ev->text;
    const dd_feature *f = event_find(ev, e->p.text_field);
    return f && f->kind == DD_VAL_STR ? f->str : NULL;
}

/* Lower-case ASCII, collapse white space to one blank, and pad with a blank at
 * both ends (so n-grams see word boundaries). Returns a new string. */
static char *normalize_text(const char *s, size_t *len)
{
    size_t n = strlen(s), o = 0;
    char *t = malloc(n + 3);
    if (!t)
        return NULL;
    t[o++] = ' ';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            if (t[o - 1] != ' ')
                t[o++] = ' ';
        } else {
            t[o++] = (char)(c < 128 ? tolower(c) : c);
        }
    }
    if (t[o - 1] != ' ')
        t[o++] = ' ';
    t[o] = '\0';
    *len = o;
    return t;
}

/* Character n-grams: n counts UTF-8 characters, not bytes. O(len * range). */
static dd_err raw_ngram(const embed *e, const dd_event *ev, float *raw, char **cause)
{
    const char *text = text_of(e, ev);
    if (!text || !text[0])
        return dd_fail(cause, DD_ENOTFOUND, "embed: the event has no text in '%s'",
                       e->p.text_field);
    size_t len;
    char *t = normalize_text(text, &len);
    if (!t)
        return dd_fail(cause, DD_ENOMEM, "embed: out of memory");
    memset(raw, 0, e->p.dim * sizeof *raw);
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)t[i] & 0xC0) == 0x80)
            continue; /* not the first byte of a character */
        size_t end = i;
        for (uint32_t n = 1; n <= e->p.ngram_max && end < len; n++) {
            end++;
            while (end < len && ((unsigned char)t[end] & 0xC0) == 0x80)
                end++;
            if (n >= e->p.ngram_min)
                hashed_add(raw, e->p.dim, hash_bytes(t + i, end - i, e->p.seed ^ n), 1.0);
        }
    }
    free(t);
    double s = 0;
    for (uint32_t j = 0; j < e->p.dim; j++)
        s += (double)raw[j] * raw[j];
    if (s == 0)
        return dd_fail(cause, DD_ENOTFOUND, "embed: text too short for %u-grams", e->p.ngram_min);
    double inv = 1.0 / sqrt(s);
    for (uint32_t j = 0; j < e->p.dim; j++)
        raw[j] = (float)(raw[j] * inv);
    return DD_OK;
}

static dd_err raw_carried(const embed *e, const dd_event *ev, float *raw, char **cause)
{
    if (!ev->emb || ev->nemb == 0)
        return dd_fail(cause, DD_ENOTFOUND, "embed: the event carries no emb vector");
    if (ev->nemb != e->p.dim)
        return dd_fail(cause, DD_EINVAL, "embed: emb has dimension %u, the store wants %u",
                       ev->nemb, e->p.dim);
    for (uint32_t j = 0; j < e->p.dim; j++) {
        float x = (float)ev->emb[j];
        if (!isfinite(x))
            return dd_fail(cause, DD_ENONFINITE, "embed: emb[%u] is not finite (as a float)", j);
        raw[j] = x;
    }
    return DD_OK;
}

/* The frozen model's last hidden layer on the event's input, made by the
 * frozen feature state read-only (featpipe_transform()), as the pipeline
 * made it when the version was frozen. */
static dd_err raw_mlp(const embed *e, const dd_event *ev, float *raw, char **cause)
{
    if (!e->model)
        return dd_fail(cause, DD_ESTATE, "embed: mlp: no model version handed over yet");
    dd_sparse x = {0};
    if (featpipe_transform(e->fp, ev, &x) != DD_OK) {
        sparse_free(&x);
        return dd_fail(cause, DD_ENOMEM, "embed: out of memory");
    }
    if (x.n == 0) {
        sparse_free(&x);
        return dd_fail(cause, DD_ENOTFOUND, "embed: the event has no feature values");
    }
    double h[MODEL_MAX_HIDDEN];
    model_embed(e->model, &x, h, MODEL_MAX_HIDDEN);
    sparse_free(&x);
    for (uint32_t j = 0; j < e->p.dim; j++) {
        if (!isfinite(h[j]))
            return dd_fail(cause, DD_ENONFINITE, "embed: hidden unit %u is not finite", j);
        raw[j] = (float)h[j];
    }
    return DD_OK;
}

dd_err embed_raw(const embed *e, const dd_event *ev, float *raw, char **cause)
{
    return kinds[e->p.kind].raw(e, ev, raw, cause);
}

dd_err embed_finish(const embed *e, const float *raw, float *out)
{
    uint32_t d = e->p.dim;
    if (!kinds[e->p.kind].has_stats) {
        if (out != raw)
            memcpy(out, raw, d * sizeof *out);
        return DD_OK;
    }
    if (!e->stats)
        return DD_ESTATE;
    for (uint32_t j = 0; j < d; j++)
        out[j] = (raw[j] - e->stats[j]) / e->stats[d + j];
    return DD_OK;
}

dd_err embed_freeze(embed *e, const float *raws, size_t n, char **cause)
{
    uint32_t d = e->p.dim;
    if (!kinds[e->p.kind].has_stats)
        return dd_fail(cause, DD_EINVAL, "embed: '%s' has no statistics to freeze",
                       kinds[e->p.kind].name);
    if (n < 2)
        return dd_fail(cause, DD_EINVAL, "embed: freezing needs at least 2 vectors, got %zu", n);
    float *st = malloc(2u * d * sizeof *st);
    if (!st)
        return dd_fail(cause, DD_ENOMEM, "embed: out of memory");
    for (uint32_t j = 0; j < d; j++) {
        double mean = 0, m2 = 0; /* Welford (1962), one pass per coordinate */
        for (size_t i = 0; i < n; i++) {
            double x = raws[i * d + j], delta = x - mean;
            mean += delta / (double)(i + 1);
            m2 += delta * (x - mean);
        }
        double sd = sqrt(m2 / (double)(n - 1));
        st[j] = (float)mean;
        st[d + j] = (float)(sd > EMBED_STD_FLOOR ? sd : 1.0);
    }
    dd_err err = embed_set_stats(e, st, cause);
    free(st);
    return err;
}

const float *embed_stats(const embed *e)
{
    return e->stats;
}

dd_err embed_set_stats(embed *e, const float *stats, char **cause)
{
    uint32_t d = e->p.dim;
    if (!kinds[e->p.kind].has_stats)
        return dd_fail(cause, DD_EINVAL, "embed: '%s' has no statistics", kinds[e->p.kind].name);
    for (uint32_t j = 0; j < 2 * d; j++)
        if (!isfinite(stats[j]) || (j >= d && stats[j] <= 0))
            return dd_fail(cause, DD_ENONFINITE, "embed: statistic %u is invalid", j);
    float *st = malloc(2u * d * sizeof *st);
    if (!st)
        return dd_fail(cause, DD_ENOMEM, "embed: out of memory");
    memcpy(st, stats, 2u * d * sizeof *st);
    free(e->stats);
    e->stats = st;
    make_version(e);
    return DD_OK;
}

dd_err embed_check_model(const embed *e, const model *m, char **cause)
{
    if (e->p.kind != EMBED_MLP)
        return dd_fail(cause, DD_EINVAL, "embed: a model is for the mlp embedding, not '%s'",
                       kinds[e->p.kind].name);
    if (!m || model_get_params(m)->kind != MODEL_MLP)
        return dd_fail(cause, DD_EINVAL,
                       "embed: [kstore] embedding = mlp needs [model] kind = mlp (the model is %s)",
                       m ? model_kind_name(model_get_params(m)->kind) : "missing");
    if (model_embedding_dim(m) != e->p.dim)
        return dd_fail(cause, DD_EINVAL,
                       "embed: the model's last hidden layer has %u units, the store's vectors %u",
                       model_embedding_dim(m), e->p.dim);
    return DD_OK;
}

/* A hash of the model's and the feature state's serialized forms. */
static dd_err state_hash(const model *m, const featpipe *fp, uint64_t *out)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    ser_writer w = {0};
    dd_err err = model_serialize(m, &blob, &len);
    if (!err)
        err = featpipe_serialize(fp, &w);
    if (!err)
        *out = hash_combine(hash_bytes(blob, len, 0), hash_bytes(w.buf, w.len, 0));
    free(blob);
    free(w.buf);
    return err;
}

dd_err embed_set_model(embed *e, model *m, featpipe *fp, uint64_t model_id, char **cause)
{
    uint64_t h = 0;
    dd_err err = embed_check_model(e, m, cause);
    if (!err && !fp)
        err = dd_fail(cause, DD_EINVAL, "embed: mlp: the model comes with its feature state");
    if (!err && state_hash(m, fp, &h) != DD_OK)
        err = dd_fail(cause, DD_ENOMEM, "embed: out of memory");
    if (err) {
        model_free(m);
        featpipe_free(fp);
        return err;
    }
    model_free(e->model);
    featpipe_free(e->fp);
    e->model = m;
    e->fp = fp;
    e->model_id = model_id;
    e->state_hash = h;
    e->restored[0] = '\0';
    make_version(e);
    return DD_OK;
}

dd_err embed_restore_version(embed *e, const char *version, char **cause)
{
    char prefix[96];
    snprintf(prefix, sizeof prefix, "mlp/1 d=%u seed=%llu model=", e->p.dim,
             (unsigned long long)e->p.seed);
    if (e->p.kind != EMBED_MLP || e->model)
        return dd_fail(cause, DD_EINVAL, "embed: only an mlp transform without a model restores");
    if (!version || strncmp(version, prefix, strlen(prefix)) != 0 ||
        strlen(version) >= sizeof e->restored)
        return dd_fail(cause, DD_EINVAL, "embed: '%s' is not an mlp version of this transform",
                       version ? version : "");
    snprintf(e->restored, sizeof e->restored, "%s", version);
    make_version(e);
    return DD_OK;
}
