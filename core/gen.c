/*
 * gen.c: the drifting-stream generators of gen.h.
 *
 * One rng (xoshiro256**, core/rng.h) draws everything an event needs, in a
 * fixed order: the concept (only inside a gradual drift's transition), the
 * attributes, the label noise, then the concept's own drift (hyperplane). The
 * hyperplane's initial weights come from a second rng seeded from (seed,
 * variant), so a variant names the same hyperplane in every stream of a seed.
 * Cost per event: O(ndrifts + attributes).
 *
 * References (see doc/GENERATORS.md):
 *  - W. N. Street, Y. Kim. A streaming ensemble algorithm (SEA) for large-scale
 *    classification. KDD 2001.
 *  - G. Hulten, L. Spencer, P. Domingos. Mining time-changing data streams.
 *    KDD 2001 (the rotating hyperplane, as coded in MOA and River).
 *  - R. Agrawal, T. Imielinski, A. Swami. Database mining: a performance
 *    perspective. IEEE TKDE 5(6), 1993 (functions as in MOA's AgrawalGenerator).
 *  - J. C. Schlimmer, R. H. Granger. Incremental learning from noisy data.
 *    Machine Learning 1(3), 1986 (STAGGER).
 *  - River's ConceptDriftStream for the sigmoid joining of two concepts.
 */
#include "gen.h"

#include "rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[GEN_KIND__COUNT] = {
    [GEN_SEA] = "sea",
    [GEN_HYPERPLANE] = "hyperplane",
    [GEN_AGRAWAL] = "agrawal",
    [GEN_STAGGER] = "stagger",
};

/* Street & Kim 2001, section 4.1: the four thresholds of the SEA concepts. */
static const double sea_theta[4] = {8.0, 9.0, 7.0, 9.5};

static const char *const elevel_names[5] = {"level0", "level1", "level2", "level3", "level4"};
static const char *const car_names[20] = {
    "car1",  "car2",  "car3",  "car4",  "car5",  "car6",  "car7",  "car8",  "car9",  "car10",
    "car11", "car12", "car13", "car14", "car15", "car16", "car17", "car18", "car19", "car20",
};
static const char *const zip_names[9] = {"zip0", "zip1", "zip2", "zip3", "zip4",
                                         "zip5", "zip6", "zip7", "zip8"};
static const char *const size_names[3] = {"small", "medium", "large"};
static const char *const color_names[3] = {"red", "blue", "green"};
static const char *const shape_names[3] = {"circle", "square", "triangle"};

/* Decimal places each kind prints (and rounds to before labelling). */
#define UNIT_DECIMALS 6  /* SEA in [0, 10], hyperplane in [0, 1] */
#define MONEY_DECIMALS 2 /* Agrawal amounts, in cents */

/* One concept of the chain; only the hyperplane keeps state. */
struct concept {
    uint32_t variant;
    double *w;   /* hyperplane weights, d values */
    double *dir; /* hyperplane change direction per weight: +1, -1 or 0 */
};

struct gen {
    gen_params p;
    rng_t rng;
    uint64_t t;
    uint32_t nconcepts;
    struct concept *c;
    uint32_t nx;
    gen_value *x;
    char (*names)[12]; /* hyperplane feature names "f1".."f1000" */
};

void gen_params_default(gen_params *p, gen_kind kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->seed = 1;
    p->noise = kind == GEN_HYPERPLANE ? 0.05 : 0.0; /* River's defaults */
    p->features = 10;
    p->drift_features = 2;
    p->mag_change = 0.0;
    p->sigma = 0.1;
    p->perturbation = 0.0;
    p->ts_start = 1700000000.0;
    p->rate = 100.0;
}

dd_err gen_kind_parse(const char *name, gen_kind *out)
{
    for (int k = 0; k < GEN_KIND__COUNT; k++)
        if (!strcmp(name, kind_names[k])) {
            *out = (gen_kind)k;
            return DD_OK;
        }
    return DD_ENOTFOUND;
}

const char *gen_kind_name(gen_kind kind)
{
    return (unsigned)kind < GEN_KIND__COUNT ? kind_names[kind] : "?";
}

uint32_t gen_variant_count(gen_kind kind)
{
    switch (kind) {
    case GEN_SEA:
        return 4;
    case GEN_AGRAWAL:
        return 10;
    case GEN_STAGGER:
        return 3;
    default:
        return 0;
    }
}

static bool in_unit(double v)
{
    return v >= 0.0 && v <= 1.0; /* false for NaN */
}

static dd_err check_drifts(const gen_params *p, char **cause)
{
    if (p->ndrifts > GEN_MAX_DRIFTS)
        return dd_fail(cause, DD_EINVAL, "at most %u drifts, got %u", GEN_MAX_DRIFTS, p->ndrifts);
    for (uint32_t k = 1; k < p->ndrifts; k++)
        if (p->drift[k].pos <= p->drift[k - 1].pos)
            return dd_fail(cause, DD_EINVAL, "drift positions must increase: %llu comes after %llu",
                           (unsigned long long)p->drift[k].pos,
                           (unsigned long long)p->drift[k - 1].pos);
    if (p->nvariants && p->nvariants != p->ndrifts + 1)
        return dd_fail(cause, DD_EINVAL,
                       "%u drift(s) make %u concepts, but %u variant(s) were given", p->ndrifts,
                       p->ndrifts + 1, p->nvariants);
    uint32_t nv = gen_variant_count(p->kind);
    uint32_t top = nv ? nv - 1 : 0x7fffffffu;
    for (uint32_t k = 0; k < p->nvariants; k++)
        if (p->variant[k] > top)
            return dd_fail(cause, DD_EINVAL, "%s variant %u out of range: allowed 0..%u",
                           gen_kind_name(p->kind), p->variant[k], top);
    return DD_OK;
}

static dd_err check_params(const gen_params *p, char **cause)
{
    if ((unsigned)p->kind >= GEN_KIND__COUNT)
        return dd_fail(cause, DD_EINVAL, "unknown generator kind %d", (int)p->kind);
    if (!in_unit(p->noise))
        return dd_fail(cause, DD_EINVAL, "noise must be in [0, 1], got %g", p->noise);
    if (p->features < 1 || p->features > GEN_MAX_FEATURES)
        return dd_fail(cause, DD_EINVAL, "features must be in [1, %u], got %u", GEN_MAX_FEATURES,
                       p->features);
    if (p->drift_features > p->features)
        return dd_fail(cause, DD_EINVAL, "drift features (%u) exceed features (%u)",
                       p->drift_features, p->features);
    if (!in_unit(p->mag_change))
        return dd_fail(cause, DD_EINVAL, "mag-change must be in [0, 1], got %g", p->mag_change);
    if (!in_unit(p->sigma))
        return dd_fail(cause, DD_EINVAL, "sigma must be in [0, 1], got %g", p->sigma);
    if (!in_unit(p->perturbation))
        return dd_fail(cause, DD_EINVAL, "perturbation must be in [0, 1], got %g", p->perturbation);
    if (!(fabs(p->ts_start) <= 1e12))
        return dd_fail(cause, DD_EINVAL, "start time must be within +-1e12 s, got %g", p->ts_start);
    if (!(p->rate >= 1e-3 && p->rate <= 1e9))
        return dd_fail(cause, DD_EINVAL, "rate must be in [0.001, 1e9] events/s, got %g", p->rate);
    return check_drifts(p, cause);
}

static uint32_t concept_variant(const gen_params *p, uint32_t k)
{
    if (p->nvariants)
        return p->variant[k];
    uint32_t nv = gen_variant_count(p->kind);
    return nv ? k % nv : k;
}

/* The hyperplane of a variant: weights uniform in [0, 1) (as MOA and River
 * draw them), the first drift_features moving in the + direction. */
static dd_err hyperplane_init(gen *g, struct concept *c)
{
    uint32_t d = g->p.features;
    c->w = calloc(d, sizeof *c->w);
    c->dir = calloc(d, sizeof *c->dir);
    if (!c->w || !c->dir)
        return DD_ENOMEM;
    rng_t r;
    rng_seed(&r, g->p.seed ^ (0x632be59bd9b4e019ULL * ((uint64_t)c->variant + 1)));
    for (uint32_t i = 0; i < d; i++) {
        c->w[i] = rng_uniform(&r);
        c->dir[i] = i < g->p.drift_features ? 1.0 : 0.0;
    }
    return DD_OK;
}

static void set_names(gen *g)
{
    static const char *const sea[3] = {"f1", "f2", "f3"};
    static const char *const agr[9] = {"salary",  "commission", "age",    "elevel", "car",
                                       "zipcode", "hvalue",     "hyears", "loan"};
    static const char *const stg[3] = {"size", "color", "shape"};
    for (uint32_t i = 0; i < g->nx; i++) {
        switch (g->p.kind) {
        case GEN_SEA:
            /* nx is at most the kind's attribute count:
             * NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
            g->x[i].name = sea[i];
            break;
        case GEN_AGRAWAL:
            g->x[i].name = agr[i];
            break;
        case GEN_STAGGER:
            /* nx is at most the kind's attribute count:
             * NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
            g->x[i].name = stg[i];
            break;
        default:
            snprintf(g->names[i], sizeof g->names[i], "f%u", i + 1);
            g->x[i].name = g->names[i];
            break;
        }
    }
}

static uint32_t kind_width(const gen_params *p)
{
    switch (p->kind) {
    case GEN_SEA:
    case GEN_STAGGER:
        return 3;
    case GEN_AGRAWAL:
        return 9;
    default:
        return p->features;
    }
}

gen *gen_new(const gen_params *p, char **cause)
{
    dd_err err = check_params(p, cause);
    if (err)
        return NULL;
    gen *g = calloc(1, sizeof *g);
    if (!g)
        goto nomem;
    g->p = *p;
    rng_seed(&g->rng, p->seed);
    g->nconcepts = p->ndrifts + 1;
    g->nx = kind_width(p);
    g->c = calloc(g->nconcepts, sizeof *g->c);
    g->x = calloc(g->nx, sizeof *g->x);
    if (!g->c || !g->x)
        goto nomem;
    if (p->kind == GEN_HYPERPLANE) {
        g->names = calloc(g->nx, sizeof *g->names);
        if (!g->names)
            goto nomem;
    }
    for (uint32_t k = 0; k < g->nconcepts; k++) {
        g->c[k].variant = concept_variant(p, k);
        if (p->kind == GEN_HYPERPLANE && hyperplane_init(g, &g->c[k]))
            goto nomem;
    }
    set_names(g);
    return g;
nomem:
    gen_free(g);
    dd_fail(cause, DD_ENOMEM, "out of memory for the generator");
    return NULL;
}

void gen_free(gen *g)
{
    if (!g)
        return;
    for (uint32_t k = 0; g->c && k < g->nconcepts; k++) {
        free(g->c[k].w);
        free(g->c[k].dir);
    }
    free(g->c);
    free(g->x);
    free(g->names);
    free(g);
}

/* ---- definitions ---- */

double gen_drift_probability(const gen_drift *d, uint64_t t)
{
    if (d->width == 0)
        return t >= d->pos ? 1.0 : 0.0;
    double v = -4.0 * ((double)t - (double)d->pos) / (double)d->width;
    return 1.0 / (1.0 + exp(v));
}

double gen_sea_threshold(uint32_t variant)
{
    return sea_theta[variant % 4];
}

int gen_sea_label(uint32_t variant, double f1, double f2)
{
    return f1 + f2 <= gen_sea_threshold(variant) ? 0 : 1;
}

static bool within(double v, double lo, double hi)
{
    return lo <= v && v <= hi;
}

/* Agrawal et al. 1993, p. 924, functions 1..6 (group A tests); 0 = group A. */
static int agrawal_bands(uint32_t f, const gen_agrawal_rec *r)
{
    int young = r->age < 40, middle = !young && r->age < 60;
    double s = r->salary, l = r->loan, e = r->elevel;
    switch (f) {
    case 0:
        return (r->age < 40 || r->age >= 60) ? 0 : 1;
    case 1:
        return (young    ? within(s, 50000, 100000)
                : middle ? within(s, 75000, 125000)
                         : within(s, 25000, 75000))
                   ? 0
                   : 1;
    case 2:
        return (young ? e <= 1 : middle ? (e >= 1 && e <= 3) : e >= 2) ? 0 : 1;
    case 3:
        if (young)
            return (e <= 1 ? within(s, 25000, 75000) : within(s, 50000, 100000)) ? 0 : 1;
        if (middle)
            return ((e >= 1 && e <= 3) ? within(s, 50000, 100000) : within(s, 75000, 125000)) ? 0
                                                                                              : 1;
        return (e >= 2 ? within(s, 50000, 100000) : within(s, 25000, 75000)) ? 0 : 1;
    case 4:
        if (young)
            return (within(s, 50000, 100000) ? within(l, 100000, 300000)
                                             : within(l, 200000, 400000))
                       ? 0
                       : 1;
        if (middle)
            return (within(s, 75000, 125000) ? within(l, 200000, 400000)
                                             : within(l, 300000, 500000))
                       ? 0
                       : 1;
        return (within(s, 25000, 75000) ? within(l, 300000, 500000) : within(l, 100000, 300000))
                   ? 0
                   : 1;
    default: { /* 5 */
        double total = r->salary + r->commission;
        return (young    ? within(total, 50000, 100000)
                : middle ? within(total, 75000, 125000)
                         : within(total, 25000, 75000))
                   ? 0
                   : 1;
    }
    }
}

/* Functions 7..10: disposable income > 0 is group A (the paper; MOA writes
 * 0.67 as 2/3). */
static int agrawal_disposable(uint32_t f, const gen_agrawal_rec *r)
{
    double pay = 2.0 * (r->salary + r->commission) / 3.0;
    double d;
    switch (f) {
    case 6:
        d = pay - r->loan / 5.0 - 20000.0;
        break;
    case 7:
        d = pay - 5000.0 * r->elevel - 20000.0;
        break;
    case 8:
        d = pay - 5000.0 * r->elevel - r->loan / 5.0 - 10000.0;
        break;
    default: { /* 9 */
        double equity = r->hyears >= 20 ? r->hvalue * (r->hyears - 20.0) / 10.0 : 0.0;
        d = pay - 5000.0 * r->elevel + equity / 5.0 - 10000.0;
        break;
    }
    }
    return d > 0.0 ? 0 : 1;
}

int gen_agrawal_label(uint32_t function, const gen_agrawal_rec *r)
{
    return function <= 5 ? agrawal_bands(function, r) : agrawal_disposable(function % 10, r);
}

int gen_stagger_label(uint32_t concept, int size, int color, int shape)
{
    switch (concept) {
    case 0:
        return size == 0 && color == 0;
    case 1:
        return color == 2 || shape == 0;
    default:
        return size == 1 || size == 2;
    }
}

const double *gen_hyperplane_weights(const gen *g, uint32_t concept)
{
    if (g->p.kind != GEN_HYPERPLANE || concept >= g->nconcepts)
        return NULL;
    return g->c[concept].w;
}

/* ---- generation ---- */

static double quantize(double v, int decimals)
{
    double scale = decimals == UNIT_DECIMALS ? 1e6 : 1e2;
    return round(v * scale) / scale;
}

/* Which concept event t comes from: the latest drift decides first. */
static uint32_t pick_concept(gen *g, uint64_t t)
{
    for (uint32_t k = g->p.ndrifts; k >= 1; k--) {
        double p = gen_drift_probability(&g->p.drift[k - 1], t);
        if (p >= 1.0 || (p > 0.0 && rng_uniform(&g->rng) < p))
            return k;
    }
    return 0;
}

static int gen_sea(gen *g, uint32_t variant)
{
    for (int i = 0; i < 3; i++) {
        g->x[i].str = NULL;
        g->x[i].num = quantize(10.0 * rng_uniform(&g->rng), UNIT_DECIMALS);
    }
    return gen_sea_label(variant, g->x[0].num, g->x[1].num);
}

/* Hulten et al. 2001 as MOA codes it: class 1 iff sum w_i x_i >= sum w_i / 2. */
static int hyperplane_label(const struct concept *c, const gen_value *x, uint32_t d)
{
    double sum = 0.0, wsum = 0.0;
    for (uint32_t i = 0; i < d; i++) {
        sum += c->w[i] * x[i].num;
        wsum += c->w[i];
    }
    return sum >= 0.5 * wsum ? 1 : 0;
}

/* After each event of its concept: w_i += dir_i * mag_change, and dir_i
 * reverses with probability sigma (MOA's addDrift, River's _generate_drift). */
static void hyperplane_drift(gen *g, struct concept *c)
{
    if (g->p.mag_change <= 0.0)
        return;
    for (uint32_t i = 0; i < g->p.drift_features; i++) {
        c->w[i] += c->dir[i] * g->p.mag_change;
        if (rng_uniform(&g->rng) < g->p.sigma)
            c->dir[i] = -c->dir[i];
    }
}

static int gen_hyperplane(gen *g, uint32_t d)
{
    for (uint32_t i = 0; i < d; i++) {
        g->x[i].str = NULL;
        g->x[i].num = quantize(rng_uniform(&g->rng), UNIT_DECIMALS);
    }
    return 0; /* labelled by the caller, which owns the concept */
}

static int uniform_int(gen *g, int lo, int hi)
{
    return lo + (int)rng_below(&g->rng, (uint64_t)hi - (uint64_t)lo + 1);
}

/* Attributes in MOA's draw order; amounts rounded to cents. */
static void agrawal_draw(gen *g, gen_agrawal_rec *r)
{
    r->salary = quantize(20000.0 + 130000.0 * rng_uniform(&g->rng), MONEY_DECIMALS);
    r->commission = r->salary >= 75000.0
                        ? 0.0
                        : quantize(10000.0 + 65000.0 * rng_uniform(&g->rng), MONEY_DECIMALS);
    r->age = uniform_int(g, 20, 80);
    r->elevel = uniform_int(g, 0, 4);
    r->car = uniform_int(g, 1, 20);
    r->zipcode = uniform_int(g, 0, 8);
    r->hvalue =
        quantize((9.0 - r->zipcode) * 100000.0 * (0.5 + rng_uniform(&g->rng)), MONEY_DECIMALS);
    r->hyears = uniform_int(g, 1, 30);
    r->loan = quantize(500000.0 * rng_uniform(&g->rng), MONEY_DECIMALS);
}

static double perturb(gen *g, double v, double range, double lo, double hi)
{
    v += range * (2.0 * (rng_uniform(&g->rng) - 0.5)) * g->p.perturbation;
    return v < lo ? lo : v > hi ? hi : v;
}

/* MOA's perturbation (as the public C code does it): each numeric value moves
 * by up to +-perturbation of its range, clamped to its domain. Unlike MOA,
 * which clamps hvalue to [0, 135000], hvalue is clamped to its own domain
 * (0.5..1.5) x (9 - zipcode) x 100k. */
static void agrawal_perturb(gen *g, gen_agrawal_rec *r)
{
    if (g->p.perturbation <= 0.0)
        return;
    r->salary = quantize(perturb(g, r->salary, 130000, 20000, 150000), MONEY_DECIMALS);
    if (r->commission > 0.0)
        r->commission = quantize(perturb(g, r->commission, 65000, 10000, 75000), MONEY_DECIMALS);
    r->age = (int)lround(perturb(g, r->age, 60, 20, 80));
    double base = (9.0 - r->zipcode) * 100000.0;
    r->hvalue = quantize(perturb(g, r->hvalue, base, 0.5 * base, 1.5 * base), MONEY_DECIMALS);
    r->hyears = (int)lround(perturb(g, r->hyears, 29, 1, 30));
    r->loan = quantize(perturb(g, r->loan, 500000, 0, 500000), MONEY_DECIMALS);
}

static void set_num(gen_value *v, double num)
{
    v->str = NULL;
    v->num = num;
}

static int gen_agrawal(gen *g, uint32_t function)
{
    gen_agrawal_rec r;
    agrawal_draw(g, &r);
    int y = gen_agrawal_label(function, &r);
    agrawal_perturb(g, &r);
    set_num(&g->x[0], r.salary);
    set_num(&g->x[1], r.commission);
    set_num(&g->x[2], r.age);
    g->x[3].str = elevel_names[r.elevel];
    g->x[4].str = car_names[r.car - 1];
    g->x[5].str = zip_names[r.zipcode];
    set_num(&g->x[6], r.hvalue);
    set_num(&g->x[7], r.hyears);
    set_num(&g->x[8], r.loan);
    return y;
}

static int gen_stagger(gen *g, uint32_t concept)
{
    int size = uniform_int(g, 0, 2), color = uniform_int(g, 0, 2), shape = uniform_int(g, 0, 2);
    g->x[0].str = size_names[size];
    g->x[1].str = color_names[color];
    g->x[2].str = shape_names[shape];
    return gen_stagger_label(concept, size, color, shape);
}

void gen_next(gen *g, gen_event *ev)
{
    uint64_t t = g->t++;
    uint32_t k = pick_concept(g, t);
    struct concept *c = &g->c[k];
    int y;
    switch (g->p.kind) {
    case GEN_SEA:
        y = gen_sea(g, c->variant);
        break;
    case GEN_AGRAWAL:
        y = gen_agrawal(g, c->variant);
        break;
    case GEN_STAGGER:
        y = gen_stagger(g, c->variant);
        break;
    default:
        gen_hyperplane(g, g->nx);
        y = hyperplane_label(c, g->x, g->nx);
        break;
    }
    ev->y_clean = y;
    if (g->p.noise > 0.0 && rng_uniform(&g->rng) < g->p.noise)
        y = !y;
    if (g->p.kind == GEN_HYPERPLANE)
        hyperplane_drift(g, c);
    ev->index = t;
    ev->ts = g->p.ts_start + (double)t / g->p.rate;
    ev->concept = k;
    ev->variant = c->variant;
    ev->y = y;
    ev->nx = g->nx;
    ev->x = g->x;
}

/* ---- JSON Lines ---- */

/* A bounded appender with snprintf's contract: len counts every byte asked for. */
struct out {
    char *buf;
    size_t size, len;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = o->len < o->size ? o->buf + o->len : NULL;
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* A number with at most 6 decimals, trailing zeros dropped: 2.5, 17, 0.000123. */
static void out_num(struct out *o, double v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.6f", v);
    if (n <= 0 || (size_t)n >= sizeof tmp) {
        out_printf(o, "%.17g", v);
        return;
    }
    if (memchr(tmp, '.', (size_t)n)) {
        while (n > 0 && tmp[n - 1] == '0')
            n--;
        if (n > 0 && tmp[n - 1] == '.')
            n--;
    }
    tmp[n] = '\0';
    out_printf(o, "%s", tmp);
}

size_t gen_line_max(const gen *g)
{
    /* frame with id and ts: < 160 bytes; a feature: name <= 10, value <= 24 */
    return 192 + (size_t)g->nx * 48;
}

size_t gen_format(const gen_event *ev, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    out_printf(&o, "{\"id\":\"e-%llu\",\"ts\":", (unsigned long long)ev->index);
    out_num(&o, ev->ts);
    out_printf(&o, ",\"x\":{");
    for (uint32_t i = 0; i < ev->nx; i++) {
        out_printf(&o, "%s\"%s\":", i ? "," : "", ev->x[i].name);
        if (ev->x[i].str)
            out_printf(&o, "\"%s\"", ev->x[i].str);
        else
            out_num(&o, ev->x[i].num);
    }
    out_printf(&o, "},\"y\":%d}\n", ev->y);
    return o.len;
}

dd_err gen_next_line(gen *g, char *buf, size_t size, size_t *len)
{
    if (size < gen_line_max(g))
        return DD_EINVAL;
    gen_event ev;
    gen_next(g, &ev);
    *len = gen_format(&ev, buf, size);
    return DD_OK;
}
