/*
 * learner.c: one model with replay, EWC consolidation, drift policies and
 * class weights (see learner.h). Per event: one step for the event, k
 * replayed steps (O(k log n) to draw), one replay push; consolidation, an
 * O(parameters) pass, at most once per `consolidate_every` events.
 */
#include "learner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEARNER_MAX_K 16

struct learner {
    learner_params p;
    model *m;
    replay *rb;
    learner_stats st;
    uint64_t stable_from; /* first event of the current stable stretch */
    uint64_t class_n[MODEL_MAX_CLASSES], class_total;
    uint32_t classes_seen;
    replay_draw draws[LEARNER_MAX_K];
};

void learner_params_default(learner_params *p)
{
    memset(p, 0, sizeof *p);
    p->replay_on = true;
    p->replay_k = 2;
    replay_params_default(&p->replay);
    p->consolidate_every = 1000;
    p->ewc_on_drift = LEARNER_EWC_RESET;
    p->class_weights = false;
    p->class_weight_max = 10.0;
    p->reset_schedule_on_drift = true;
    p->column_on_drift = true;
}

dd_err learner_params_check(const learner_params *p, char **cause)
{
    if (p->replay_k > LEARNER_MAX_K)
        return dd_fail(cause, DD_EINVAL, "replay k must be in [0, %d], got %u", LEARNER_MAX_K,
                       p->replay_k);
    if (p->consolidate_every < 1)
        return dd_fail(cause, DD_EINVAL, "consolidate_every must be >= 1");
    if ((unsigned)p->ewc_on_drift > LEARNER_EWC_RESET)
        return dd_fail(cause, DD_EINVAL, "ewc_on_drift out of range");
    if (!(p->class_weight_max >= 1 && p->class_weight_max <= 1e6))
        return dd_fail(cause, DD_EINVAL, "class_weight_max must be in [1, 1e6], got %g",
                       p->class_weight_max);
    return p->replay_on ? replay_params_check(&p->replay, cause) : DD_OK;
}

learner *learner_new(const model_params *mp, const learner_params *lp, uint32_t dim, char **cause)
{
    if (learner_params_check(lp, cause))
        return NULL;
    learner *l = calloc(1, sizeof *l);
    if (!l) {
        dd_fail(cause, DD_ENOMEM, "no memory for a learner");
        return NULL;
    }
    l->p = *lp;
    l->st.last_consolidation = UINT64_MAX;
    if (!(l->m = model_new(mp, dim, cause)))
        goto fail;
    if (lp->replay_on && !(l->rb = replay_new(&lp->replay, cause)))
        goto fail;
    return l;
fail:
    learner_free(l);
    return NULL;
}

void learner_free(learner *l)
{
    if (!l)
        return;
    model_free(l->m);
    replay_free(l->rb);
    free(l);
}

void learner_predict(const learner *l, const dd_sparse *x, model_output *out)
{
    model_predict(l->m, x, out);
}

static int32_t class_of(const learner *l, double target)
{
    model_task t = model_get_task(l->m);
    if (t == TASK_REGRESSION || !(target >= 0) || target >= MODEL_MAX_CLASSES)
        return -1;
    return (int32_t)target;
}

double learner_class_weight(const learner *l, double target)
{
    int32_t c = class_of(l, target);
    if (!l->p.class_weights || c < 0 || !l->class_n[c] || l->classes_seen < 2)
        return 1.0;
    double w = (double)l->class_total / ((double)l->classes_seen * (double)l->class_n[c]);
    double hi = l->p.class_weight_max;
    return w > hi ? hi : (w < 1.0 / hi ? 1.0 / hi : w);
}

static void count_class(learner *l, double target)
{
    int32_t c = class_of(l, target);
    if (c < 0)
        return;
    if (!l->class_n[c]++)
        l->classes_seen++;
    l->class_total++;
}

static void replay_steps(learner *l)
{
    uint32_t n = replay_sample(l->rb, l->p.replay_k, l->draws);
    for (uint32_t i = 0; i < n; i++) {
        const replay_draw *d = &l->draws[i];
        double w = d->is_weight * learner_class_weight(l, d->target), loss;
        if (model_learn(l->m, d->x, d->target, w, &loss) == DD_OK) {
            l->st.replayed++;
            replay_update(l->rb, d->slot, loss);
        } else {
            l->st.replay_refused++;
        }
    }
}

void learner_consolidate(learner *l, uint64_t event_index)
{
    model_consolidate(l->m);
    l->st.consolidations++;
    l->st.last_consolidation = event_index;
    l->stable_from = event_index + 1;
}

dd_err learner_learn(learner *l, const dd_sparse *x, double target, uint64_t event_index,
                     learner_step *step)
{
    learner_step s = {0};
    s.weight = learner_class_weight(l, target);
    dd_err e = model_learn(l->m, x, target, s.weight, &s.loss);
    if (e == DD_EINVAL || e == DD_ENOMEM) {
        if (step)
            *step = s;
        return e;
    }
    count_class(l, target);
    if (e == DD_OK) {
        s.learned = true;
        l->st.learned++;
    } else {
        l->st.refused++;
        s.loss = model_loss(l->m, x, target);
    }
    if (l->rb) {
        uint64_t before = l->st.replayed;
        replay_steps(l);
        s.replayed = (uint32_t)(l->st.replayed - before);
        if (s.learned) /* a refused event (non-finite somewhere) is not kept to be replayed */
            replay_push(l->rb, x, target, class_of(l, target), s.loss, event_index);
    }
    if (model_get_params(l->m)->ewc_lambda > 0 && event_index >= l->stable_from &&
        event_index + 1 - l->stable_from >= l->p.consolidate_every) {
        learner_consolidate(l, event_index);
        s.consolidated = true;
    }
    if (step)
        *step = s;
    return e;
}

void learner_on_alarm(learner *l, bool drift, uint64_t event_index)
{
    l->stable_from = event_index + 1;
    if (!drift) {
        l->st.warnings++;
        return;
    }
    l->st.drifts++;
    if (l->rb)
        replay_on_drift(l->rb);
    if (l->p.ewc_on_drift == LEARNER_EWC_RESET)
        model_ewc_forget(l->m);
    if (l->p.reset_schedule_on_drift)
        model_reset_schedule(l->m);
    if (l->p.column_on_drift && model_get_params(l->m)->kind == MODEL_MLP &&
        model_add_column(l->m) == DD_OK)
        l->st.columns_added++;
}

void learner_on_drift(learner *l, uint64_t event_index)
{
    learner_on_alarm(l, true, event_index);
}

dd_err learner_grow(learner *l, uint32_t n)
{
    if (model_get_task(l->m) != TASK_MULTICLASS || n <= model_num_classes(l->m))
        return DD_OK;
    if (n > model_get_params(l->m)->max_classes)
        return DD_OK;
    return model_grow(l->m, n);
}

const model *learner_model(const learner *l)
{
    return l->m;
}

const replay *learner_replay(const learner *l)
{
    return l->rb;
}

model *learner_replace_model(learner *l, model *m)
{
    if (!m || model_dim(m) != model_dim(l->m))
        return NULL;
    model *old = l->m;
    l->m = m;
    return old;
}

const learner_stats *learner_get_stats(const learner *l)
{
    return &l->st;
}

/* ---- serialization ---- */

#define LEARNER_MAGIC 0x314e524cu /* "LRN1" */
#define LEARNER_VERSION 1u

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_body(const learner *l, ser_writer *w, const unsigned char *blob, size_t blen)
{
    const learner_params *p = &l->p;
    ser_put_u32(w, LEARNER_VERSION);
    ser_put_u32(w, p->replay_on);
    ser_put_u32(w, p->replay_k);
    ser_put_u32(w, p->consolidate_every);
    ser_put_u32(w, p->ewc_on_drift);
    ser_put_u32(w, p->class_weights);
    ser_put_f64(w, p->class_weight_max);
    ser_put_u32(w, p->reset_schedule_on_drift);
    ser_put_u32(w, p->column_on_drift);
    const uint64_t *st = (const uint64_t *)&l->st; /* learner_stats: all uint64_t */
    for (size_t i = 0; i < sizeof l->st / sizeof *st; i++)
        ser_put_u64(w, st[i]);
    ser_put_u64(w, l->stable_from);
    ser_put_u64(w, l->class_total);
    ser_put_u32(w, l->classes_seen);
    for (uint32_t c = 0; c < MODEL_MAX_CLASSES; c++)
        ser_put_u64(w, l->class_n[c]);
    ser_put_u64(w, blen);
    ser_put_bytes(w, blob, blen);
    if (l->rb)
        replay_serialize(l->rb, w);
}

dd_err learner_serialize(const learner *l, ser_writer *w)
{
    unsigned char *blob = NULL;
    size_t blen = 0;
    if (model_serialize(l->m, &blob, &blen)) {
        w->failed = true;
        return DD_ENOMEM;
    }
    ser_writer body = {0};
    put_body(l, &body, blob, blen);
    free(blob);
    if (body.failed) {
        free(body.buf);
        w->failed = true;
        return DD_ENOMEM;
    }
    ser_put_u32(w, LEARNER_MAGIC);
    ser_put_u64(w, body.len);
    ser_put_bytes(w, body.buf, body.len);
    ser_put_u64(w, fnv1a(body.buf, body.len));
    free(body.buf);
    return w->failed ? DD_ENOMEM : DD_OK;
}

static bool get_params(ser_reader *rd, learner_params *p)
{
    learner_params_default(p); /* the replay settings come with the buffer */
    p->replay_on = ser_get_u32(rd) != 0;
    p->replay_k = ser_get_u32(rd);
    p->consolidate_every = ser_get_u32(rd);
    p->ewc_on_drift = (learner_ewc_drift)ser_get_u32(rd);
    p->class_weights = ser_get_u32(rd) != 0;
    p->class_weight_max = ser_get_f64(rd);
    p->reset_schedule_on_drift = ser_get_u32(rd) != 0;
    p->column_on_drift = ser_get_u32(rd) != 0;
    return !rd->failed && learner_params_check(p, NULL) == DD_OK;
}

static dd_err get_body(ser_reader *rd, learner *l, char **cause)
{
    uint64_t *st = (uint64_t *)&l->st;
    for (size_t i = 0; i < sizeof l->st / sizeof *st; i++)
        st[i] = ser_get_u64(rd);
    l->stable_from = ser_get_u64(rd);
    l->class_total = ser_get_u64(rd);
    l->classes_seen = ser_get_u32(rd);
    for (uint32_t c = 0; c < MODEL_MAX_CLASSES; c++)
        l->class_n[c] = ser_get_u64(rd);
    uint64_t blen = ser_get_u64(rd);
    if (rd->failed || blen > rd->len - rd->at || l->classes_seen > MODEL_MAX_CLASSES)
        return dd_fail(cause, DD_ECORRUPT, "learner snapshot: bad structure");
    dd_err e = model_deserialize(rd->p + rd->at, (size_t)blen, &l->m, cause);
    if (e)
        return e;
    rd->at += (size_t)blen;
    if (l->p.replay_on && (e = replay_deserialize(rd, &l->rb, cause)))
        return e;
    if (rd->failed || rd->at != rd->len)
        return dd_fail(cause, DD_ECORRUPT, "learner snapshot: bad length");
    return DD_OK;
}

dd_err learner_deserialize(ser_reader *rd, learner **out, char **cause)
{
    uint32_t magic = ser_get_u32(rd);
    uint64_t len = ser_get_u64(rd);
    if (rd->failed || magic != LEARNER_MAGIC || len > rd->len - rd->at || len < 4 ||
        rd->len - rd->at - len < 8)
        return dd_fail(cause, DD_ECORRUPT, "learner snapshot: truncated or not a learner");
    const unsigned char *body = rd->p + rd->at;
    rd->at += (size_t)len;
    if (ser_get_u64(rd) != fnv1a(body, (size_t)len))
        return dd_fail(cause, DD_ECORRUPT, "learner snapshot: checksum mismatch");
    ser_reader br;
    ser_reader_init(&br, body, (size_t)len);
    uint32_t version = ser_get_u32(&br);
    if (version != LEARNER_VERSION)
        return dd_fail(cause, DD_EVERSION, "learner snapshot version %u, this build reads %u",
                       version, LEARNER_VERSION);
    learner *l = calloc(1, sizeof *l);
    if (!l)
        return dd_fail(cause, DD_ENOMEM, "no memory for a learner");
    dd_err e = get_params(&br, &l->p) ? get_body(&br, l, cause)
                                      : dd_fail(cause, DD_ECORRUPT, "learner snapshot: settings");
    if (e) {
        learner_free(l);
        return e;
    }
    if (l->rb)
        l->p.replay = *replay_get_params(l->rb);
    *out = l;
    return DD_OK;
}
