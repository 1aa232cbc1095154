/*
 * kstore_feed.c: the worker's output that feeds the knowledge store (see
 * kstore_feed.h). A hand-over costs a model_clone() and a featpipe_clone()
 * (O(parameters)) in the worker thread, once per version change; the store
 * hashes and re-embeds in its own thread.
 */
#include "kstore_feed.h"

#include <stdlib.h>

struct kstore_feed {
    kstore *ks;
    bool mlp, renew;
    int64_t model_id;   /* the version last handed over */
    uint64_t handovers; /* frozen copies handed over */
    uint64_t renewals;  /* drifts passed on */
};

kstore_feed *kstore_feed_new(kstore *ks, const kstore_params *p)
{
    kstore_feed *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->ks = ks;
    f->mlp = p->embed.kind == EMBED_MLP;
    f->renew = p->embed.kind == EMBED_FEATURES && p->renew_on_drift;
    return f;
}

void kstore_feed_free(kstore_feed *f)
{
    free(f);
}

/* Clone the active model and the feature state, and hand them over. */
static dd_err hand_over(kstore_feed *f, const pipeline *pipe, int64_t id, char **cause)
{
    model *m = model_clone(pipeline_model(pipe));
    featpipe *fp = featpipe_clone(pipeline_features(pipe));
    if (!m || !fp) {
        model_free(m);
        featpipe_free(fp);
        return dd_fail(cause, DD_ENOMEM, "knowledge store: out of memory for a model copy");
    }
    f->model_id = id; /* also on refusal: the same version is not retried */
    dd_err err = kstore_set_model(f->ks, m, fp, (uint64_t)id, cause);
    if (!err)
        f->handovers++;
    return err;
}

dd_err kstore_feed_start(kstore_feed *f, const pipeline *pipe, int64_t active_id, char **cause)
{
    return f->mlp ? hand_over(f, pipe, active_id, cause) : DD_OK;
}

static void on_event(void *ctx, const dd_event *ev, const pipeline_result *res)
{
    kstore_feed *f = ctx;
    (void)res;
    kstore_submit(f->ks, ev); /* copies what it keeps; drops are counted there */
}

/* A confirmed concept drift: the error watch point's drift (not a warning,
 * not a feature or prediction alert). */
static void on_alarm(void *ctx, const pipeline_alarm *a, const dd_event *ev)
{
    kstore_feed *f = ctx;
    (void)ev;
    if (f->renew && a->point == WATCH_ERROR && a->level == DRIFT_DRIFT &&
        kstore_renew(f->ks) == DD_OK)
        f->renewals++;
}

/* A failed hand-over (no memory) is retried at the next tick; a refused one
 * is counted in the store's errors and not retried. */
static void on_tick(void *ctx, pipeline *pipe, const worker_status *st)
{
    kstore_feed *f = ctx;
    if (f->mlp && st->active_version != f->model_id)
        hand_over(f, pipe, st->active_version, NULL);
}

worker_output kstore_feed_output(kstore_feed *f)
{
    return (worker_output){.ctx = f, .event = on_event, .alarm = on_alarm, .tick = on_tick};
}

uint64_t kstore_feed_handovers(const kstore_feed *f)
{
    return f->handovers;
}

uint64_t kstore_feed_renewals(const kstore_feed *f)
{
    return f->renewals;
}
