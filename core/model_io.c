/*
 * model_io.c: a model as a versioned, endian-safe binary blob.
 *
 * Layout (integers little-endian, doubles as their IEEE-754 bits in a
 * little-endian u64):
 *   "DDMODEL1"  u32 version  u32 0  u64 payload bytes  payload  u64 FNV-1a of all before
 *   payload: every model_params field by name order below, the model's
 *   counters, the progressive columns' rolling losses, then each block:
 *   u32 rows, u32 width, u32 flags, the arrays it has (w, s1, s2, fisher,
 *   anchor, g2: width values per row), and its rows' last-update steps.
 * Reading never trusts the blob: the checksum and every length are checked
 * before use, the settings go through model_params_check(), the blob must be
 * large enough for the dimension it claims before anything that size is
 * allocated, the block shapes must be the ones the settings imply, and every
 * value must be finite and within +-1e30. Anything else is DD_ECORRUPT.
 */
#include "model_impl.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "DDMODEL1"
#define VERSION 1u
#define HEADER 24u
#define TRAILER 8u

enum { F_OUTPUT = 1, F_FROZEN = 2, F_S1 = 4, F_S2 = 8, F_EWC = 16 };

/* ---- writing ---- */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    bool fail;
} wbuf;

static void put(wbuf *b, const void *src, size_t n)
{
    if (b->fail)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->fail = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u64(wbuf *b, uint64_t v)
{
    unsigned char c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    put(b, c, 8);
}

static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char c[4];
    for (int i = 0; i < 4; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    put(b, c, 4);
}

static void put_f64(wbuf *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u64(b, v);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_params(wbuf *b, const model_params *p)
{
    uint32_t u[] = {p->task,      p->kind,        p->optim,      p->schedule,
                    p->loss,      p->activation,  p->n_hidden,   p->hidden[0],
                    p->hidden[1], p->max_classes, p->max_columns};
    for (size_t i = 0; i < DD_ARRAY_LEN(u); i++)
        put_u32(b, u[i]);
    double d[] = {p->lr_min,      p->lr,         p->lr_power,     p->lr_decay,   p->l1,
                  p->l2,          p->adam_beta1, p->adam_beta2,   p->eps,        p->ftrl_beta,
                  p->huber_delta, p->grad_clip,  p->column_decay, p->ewc_lambda, p->ewc_gamma};
    for (size_t i = 0; i < DD_ARRAY_LEN(d); i++)
        put_f64(b, d[i]);
    put_u64(b, p->seed);
}

static void put_array(wbuf *b, const pblock *k, const double *a)
{
    for (uint32_t r = 0; r < k->rows; r++)
        for (uint32_t j = 0; j < k->width; j++)
            put_f64(b, a[(size_t)r * k->stride + j]);
}

static void put_block(wbuf *b, const pblock *k)
{
    uint32_t flags = (k->is_output ? F_OUTPUT : 0) | (k->frozen ? F_FROZEN : 0) |
                     (k->s1 ? F_S1 : 0) | (k->s2 ? F_S2 : 0) | (k->fisher ? F_EWC : 0);
    put_u32(b, k->rows);
    put_u32(b, k->width);
    put_u32(b, flags);
    const double *arrays[] = {k->w, k->s1, k->s2, k->fisher, k->anchor, k->g2};
    for (size_t i = 0; i < DD_ARRAY_LEN(arrays); i++)
        if (arrays[i])
            put_array(b, k, arrays[i]);
    for (uint32_t r = 0; r < k->rows; r++)
        put_u64(b, k->last[r]);
}

dd_err model_serialize(const model *m, unsigned char **buf, size_t *len)
{
    wbuf b = {0};
    put(&b, MAGIC, 8);
    put_u32(&b, VERSION);
    put_u32(&b, 0);
    put_u64(&b, 0); /* payload length, patched below */
    put_params(&b, &m->p);
    put_u32(&b, m->dim);
    put_u32(&b, m->nclass);
    uint64_t counters[] = {m->t, m->sched_t0, m->refused, m->ewc_n, m->consolidations};
    for (size_t i = 0; i < DD_ARRAY_LEN(counters); i++)
        put_u64(&b, counters[i]);
    put_u32(&b, m->ncols);
    put_u32(&b, m->active);
    for (uint32_t c = 0; c < m->ncols; c++) {
        put_f64(&b, m->col_loss[c]);
        put_u64(&b, m->col_seen[c]);
    }
    put_u32(&b, m->nblocks);
    for (uint32_t i = 0; i < m->nblocks; i++)
        put_block(&b, &m->b[i]);
    if (b.fail) {
        free(b.p);
        return DD_ENOMEM;
    }
    uint64_t payload = b.n - HEADER;
    for (int i = 0; i < 8; i++)
        b.p[16 + i] = (unsigned char)(payload >> (8 * i));
    put_u64(&b, fnv1a(b.p, b.n));
    if (b.fail) {
        free(b.p);
        return DD_ENOMEM;
    }
    *buf = b.p;
    *len = b.n;
    return DD_OK;
}

/* ---- reading ---- */

typedef struct rbuf {
    const unsigned char *p;
    size_t n, at;
    bool fail;
} rbuf;

static bool need(rbuf *r, size_t n)
{
    if (r->fail || r->n - r->at < n) {
        r->fail = true;
        return false;
    }
    return true;
}

static uint64_t get_u64(rbuf *r)
{
    if (!need(r, 8))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[r->at + i] << (8 * i);
    r->at += 8;
    return v;
}

static uint32_t get_u32(rbuf *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)r->p[r->at + i] << (8 * i);
    r->at += 4;
    return v;
}

static double get_f64(rbuf *r)
{
    uint64_t v = get_u64(r);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static void get_params(rbuf *r, model_params *p)
{
    memset(p, 0, sizeof *p);
    p->task = (model_task)get_u32(r);
    p->kind = (model_kind)get_u32(r);
    p->optim = (model_optim)get_u32(r);
    p->schedule = (model_schedule)get_u32(r);
    p->loss = (model_regloss)get_u32(r);
    p->activation = (model_activation)get_u32(r);
    p->n_hidden = get_u32(r);
    p->hidden[0] = get_u32(r);
    p->hidden[1] = get_u32(r);
    p->max_classes = get_u32(r);
    p->max_columns = get_u32(r);
    double *d[] = {&p->lr_min,       &p->lr,         &p->lr_power,    &p->lr_decay,
                   &p->l1,           &p->l2,         &p->adam_beta1,  &p->adam_beta2,
                   &p->eps,          &p->ftrl_beta,  &p->huber_delta, &p->grad_clip,
                   &p->column_decay, &p->ewc_lambda, &p->ewc_gamma};
    for (size_t i = 0; i < DD_ARRAY_LEN(d); i++)
        *d[i] = get_f64(r);
    p->seed = get_u64(r);
}

/* No trained model comes near this magnitude; with every value of a blob
 * under it, an MLP's activations stay finite for any input within the event
 * limits (found by fuzz_model: weights near 1e308 were accepted and the
 * model then predicted NaN). */
#define MODEL_IO_MAX_ABS 1e30

static bool get_array(rbuf *r, const pblock *k, double *a)
{
    if (!need(r, (size_t)k->rows * k->width * 8))
        return false;
    for (uint32_t row = 0; row < k->rows; row++)
        for (uint32_t j = 0; j < k->width; j++) {
            double v = get_f64(r);
            if (!(fabs(v) <= MODEL_IO_MAX_ABS))
                return false;
            a[(size_t)row * k->stride + j] = v;
        }
    return true;
}

/* Fill block k (already shaped by the settings) from the blob. */
static bool get_block(rbuf *r, pblock *k, uint64_t t)
{
    uint32_t rows = get_u32(r), width = get_u32(r), flags = get_u32(r);
    uint32_t want = (k->is_output ? F_OUTPUT : 0) | (k->s1 ? F_S1 : 0) | (k->s2 ? F_S2 : 0) |
                    (k->fisher ? F_EWC : 0);
    if (r->fail || rows != k->rows || width != k->width || (flags & ~(uint32_t)F_FROZEN) != want)
        return false;
    k->frozen = flags & F_FROZEN;
    double *arrays[] = {k->w, k->s1, k->s2, k->fisher, k->anchor, k->g2};
    for (size_t i = 0; i < DD_ARRAY_LEN(arrays); i++)
        if (arrays[i] && !get_array(r, k, arrays[i]))
            return false;
    if (!need(r, (size_t)rows * 8))
        return false;
    for (uint32_t row = 0; row < rows; row++) {
        k->last[row] = get_u64(r);
        if (k->last[row] > t)
            return false;
    }
    return true;
}

/* The smallest blob a model of these settings can be: its first block's weights. */
static bool big_enough(const model_params *p, uint32_t dim, size_t len)
{
    uint64_t per_row = p->kind == MODEL_MLP ? p->hidden[0] : 1;
    return ((uint64_t)dim + 1) * per_row * 8 <= len;
}

static dd_err corrupt(char **cause, const char *what)
{
    return dd_fail(cause, DD_ECORRUPT, "model blob: %s", what);
}

/* Shape a model like the blob's: columns and classes. */
static dd_err shape(model *m, uint32_t ncols, uint32_t nclass)
{
    if (ncols < 1 || ncols > m->p.max_columns || (ncols > 1 && m->p.kind != MODEL_MLP))
        return DD_ECORRUPT;
    if (m->p.task == TASK_MULTICLASS ? nclass < 2 || nclass > m->p.max_classes
                                     : nclass != m->nclass)
        return DD_ECORRUPT;
    while (m->ncols < ncols)
        if (model_add_column(m))
            return DD_ENOMEM;
    if (m->p.kind == MODEL_LINEAR)
        m->ncols = 1;
    return model_grow(m, nclass) ? DD_ENOMEM : DD_OK;
}

static dd_err read_body(rbuf *r, model **out, char **cause)
{
    model_params p;
    get_params(r, &p);
    uint32_t dim = get_u32(r), nclass = get_u32(r);
    if (r->fail || model_params_check(&p, NULL))
        return corrupt(cause, "settings out of range");
    if (!big_enough(&p, dim, r->n))
        return corrupt(cause, "shorter than its dimension requires");
    model *m = model_new(&p, dim, NULL);
    if (!m)
        return dd_fail(cause, DD_ENOMEM, "no memory for a model of dimension %u", dim);
    m->t = get_u64(r);
    m->sched_t0 = get_u64(r);
    m->refused = get_u64(r);
    m->ewc_n = get_u64(r);
    m->consolidations = get_u64(r);
    uint32_t ncols = get_u32(r), active = get_u32(r);
    dd_err e = r->fail ? DD_ECORRUPT : shape(m, ncols, nclass);
    if (!e && (active >= ncols || m->sched_t0 > m->t))
        e = DD_ECORRUPT;
    for (uint32_t c = 0; !e && c < ncols; c++) {
        m->col_loss[c] = get_f64(r);
        m->col_seen[c] = get_u64(r);
        if (!isfinite(m->col_loss[c]))
            e = DD_ECORRUPT;
    }
    m->active = active;
    if (!e && get_u32(r) != m->nblocks)
        e = DD_ECORRUPT;
    for (uint32_t i = 0; !e && i < m->nblocks; i++)
        if (!get_block(r, &m->b[i], m->t))
            e = DD_ECORRUPT;
    if (!e && (r->fail || r->at != r->n))
        e = DD_ECORRUPT;
    for (uint32_t i = 0; !e && i < m->nblocks; i++) /* only the last column learns */
        if (m->b[i].frozen != (m->p.kind == MODEL_MLP && i / (p.n_hidden + 1) + 1 < ncols))
            e = DD_ECORRUPT;
    if (e) {
        model_free(m);
        return e == DD_ENOMEM ? dd_fail(cause, e, "no memory") : corrupt(cause, "bad structure");
    }
    *out = m;
    return DD_OK;
}

dd_err model_deserialize(const unsigned char *buf, size_t len, model **out, char **cause)
{
    if (!buf || len < HEADER + TRAILER || memcmp(buf, MAGIC, 8) != 0)
        return corrupt(cause, "not a driftdeck model");
    rbuf r = {.p = buf, .n = len - TRAILER, .at = 8};
    uint32_t version = get_u32(&r);
    (void)get_u32(&r);
    uint64_t payload = get_u64(&r);
    if (payload != len - HEADER - TRAILER)
        return corrupt(cause, "truncated or padded");
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum |= (uint64_t)buf[len - TRAILER + i] << (8 * i);
    if (sum != fnv1a(buf, len - TRAILER))
        return corrupt(cause, "checksum mismatch");
    if (version != VERSION)
        return dd_fail(cause, DD_EVERSION, "model blob version %u, this build reads %u", version,
                       VERSION);
    return read_body(&r, out, cause);
}
