/*
 * test_governor.c: the governance layer around a real pipeline, without
 * threads. A run that resumes from a checkpoint predicts bit for bit what the
 * uninterrupted run predicts (same active model, features and policy state);
 * the event the checkpoint covered is skipped when it is read again; a
 * version blob restores the model it was made from; a finished run's last
 * records are the session end and then the checkpoint whose head it publishes.
 */
#include "gen.h"
#include "governor.h"
#include "rng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N 3000

static dd_event *events[N];

static int make_events(void **state)
{
    (void)state;
    gen_params gp;
    gen_params_default(&gp, GEN_SEA);
    gp.seed = 11;
    gen *g = gen_new(&gp, NULL);
    char line[512];
    uint64_t pos = 0;
    event_limits lim = {0};
    for (int i = 0; i < N; i++) {
        size_t len = 0;
        if (gen_next_line(g, line, sizeof line, &len) ||
            event_parse_json(line, len - 1, &lim, NULL, &events[i], NULL))
            return -1;
        events[i]->seq = (uint64_t)i;
        events[i]->src_pos = pos;
        pos += len;
    }
    gen_free(g);
    return 0;
}

static int free_events(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        event_free(events[i]);
    return 0;
}

typedef struct run {
    pipeline *pipe;
    governor *gov;
    rec_list recs;
} run;

static void run_new(run *r)
{
    pipeline_params pp;
    pipeline_params_default(&pp);
    pp.feat.hash_bits = 8;
    governor_params gp = {.source = "file:test", .config_hash = "cfg"};
    policy_params_default(&gp.policy);
    gp.policy.checkpoint_every = 1000;
    memset(r, 0, sizeof *r);
    r->pipe = pipeline_new(&pp, NULL);
    assert_non_null(r->pipe);
    r->gov = governor_new(r->pipe, &gp, NULL);
    assert_non_null(r->gov);
}

static void run_free(run *r)
{
    rec_list_clear(&r->recs);
    governor_free(r->gov);
    pipeline_free(r->pipe);
}

static void feed(run *r, int i, model_output *out, bool *skipped)
{
    pipeline_result res;
    governor_result gr;
    rec_list l = {0};
    assert_int_equal(governor_process(r->gov, events[i], true, &res, &gr, &l, NULL), DD_OK);
    rec_list_splice(&r->recs, &l);
    *out = res.out;
    *skipped = gr.skipped;
}

/* The newest checkpoint record in r->recs, as the registry would return it. */
static void last_checkpoint(run *r, registry_checkpoint *c)
{
    const gov_record *cp = NULL;
    for (const gov_record *x = r->recs.head; x; x = x->next)
        if (x->kind == REC_CHECKPOINT)
            cp = x;
    assert_non_null(cp);
    const struct rec_checkpoint_ *k = &cp->u.checkpoint;
    memset(c, 0, sizeof *c);
    c->id = 1;
    c->event_index = cp->event_index;
    c->src_pos = k->src_pos;
    c->source = rec_strdup(k->source);
    c->src_state = rec_strdup(k->src_state);
    c->active_id = k->active_id;
    c->challenger_id = k->challenger_id;
    c->previous_id = k->previous_id;
    rec_blob_set(&c->pipeline, k->pipeline.data, k->pipeline.len);
    rec_blob_set(&c->policy, k->policy.data, k->policy.len);
    rec_blob_set(&c->active_model, k->active_model.data, k->active_model.len);
    rec_blob_set(&c->challenger_model, k->challenger_model.data, k->challenger_model.len);
    rec_blob_set(&c->previous_model, k->previous_model.data, k->previous_model.len);
}

static void resumed_run_predicts_like_the_uninterrupted_one(void **state)
{
    (void)state;
    run a, b;
    run_new(&a);
    assert_int_equal(governor_start(a.gov, NULL, 0, 1, &a.recs, NULL), DD_OK);
    model_output out;
    bool skipped;
    for (int i = 0; i < 2000; i++)
        feed(&a, i, &out, &skipped);
    registry_checkpoint c;
    last_checkpoint(&a, &c);
    assert_int_equal(c.event_index, 2000);
    assert_int_equal(c.src_pos, events[1999]->src_pos);
    assert_non_null(strstr(c.src_state, "\"skip\": 1"));

    run_new(&b);
    governor_resume_in in = {.cp = &c, .active_id = c.active_id, .max_id = 1};
    assert_int_equal(governor_resume(b.gov, &in, &b.recs, NULL), DD_OK);
    assert_int_equal(governor_resume_offset(b.gov), events[1999]->src_pos);
    /* The source reopens at the checkpointed event's line: it is read again. */
    feed(&b, 1999, &out, &skipped);
    assert_true(skipped);
    int same = 0;
    for (int i = 2000; i < N; i++) {
        model_output oa, ob;
        bool sa, sb;
        feed(&a, i, &oa, &sa);
        feed(&b, i, &ob, &sb);
        assert_false(sb);
        same += oa.cls == ob.cls && memcmp(&oa.score, &ob.score, sizeof oa.score) == 0;
    }
    assert_int_equal(same, N - 2000);
    governor_stats sa, sb;
    governor_get_stats(a.gov, &sa);
    governor_get_stats(b.gov, &sb);
    assert_int_equal(sb.skipped, 1);
    assert_int_equal(pipeline_get_stats(a.pipe)->events, pipeline_get_stats(b.pipe)->events);
    assert_true(pipeline_score(a.pipe) == pipeline_score(b.pipe));
    registry_checkpoint_clear(&c);
    run_free(&a);
    run_free(&b);
}

/* `driftdeck rollback` ran after the checkpoint: the registry's active version
 * (given with its blob) serves, and the challenger and previous are dropped. */
static void resume_adopts_a_rollback_made_since_the_checkpoint(void **state)
{
    (void)state;
    run a, b;
    run_new(&a);
    assert_int_equal(governor_start(a.gov, NULL, 0, 1, &a.recs, NULL), DD_OK);
    model_output out;
    bool skipped;
    for (int i = 0; i < 1000; i++)
        feed(&a, i, &out, &skipped);
    registry_checkpoint c;
    last_checkpoint(&a, &c);
    const gov_record *v = a.recs.head;
    while (v && v->kind != REC_VERSION)
        v = v->next;
    assert_non_null(v); /* version 1's blob, as created: an untrained model */
    run_new(&b);
    governor_resume_in in = {.cp = &c,
                             .active_id = 9,
                             .active_trigger = GOV_TRIG_ROLLBACK,
                             .active_model = &v->u.version.model,
                             .max_id = 9};
    assert_int_equal(governor_resume(b.gov, &in, &b.recs, NULL), DD_OK);
    governor_stats st;
    governor_get_stats(b.gov, &st);
    assert_int_equal(st.view.active_id, 9);
    assert_int_equal(st.view.challenger_id, 0);
    bool adopted = false;
    for (const gov_record *x = b.recs.head; x; x = x->next)
        adopted |= x->kind == REC_AUDIT && !strcmp(x->u.audit.kind, "resume") &&
                   strstr(x->u.audit.payload_json, "\"adopted\": true") != NULL;
    assert_true(adopted);
    /* the untrained model serves now, not the one trained on 1000 events */
    model_output oa, ob;
    feed(&a, 1000, &oa, &skipped);
    feed(&b, 1000, &ob, &skipped);
    assert_true(memcmp(&oa.score, &ob.score, sizeof oa.score) != 0);
    /* ids continue after the registry's largest */
    governor_get_stats(b.gov, &st);
    registry_checkpoint_clear(&c);
    run_free(&a);
    run_free(&b);
}

/* Delayed labels: the challenger is scored on the prediction it made when
 * the event came, and learns from the held input when the label joins. */
static void delayed_labels_score_the_challenger_too(void **state)
{
    (void)state;
    run a;
    pipeline_params pp;
    pipeline_params_default(&pp);
    pp.feat.hash_bits = 8;
    governor_params gp = {.source = "file:test", .config_hash = "cfg"};
    policy_params_default(&gp.policy);
    gp.policy.mode = POLICY_GATED; /* a challenger from the start */
    memset(&a, 0, sizeof a);
    a.pipe = pipeline_new(&pp, NULL);
    a.gov = governor_new(a.pipe, &gp, NULL);
    assert_int_equal(governor_start(a.gov, NULL, 0, 1, &a.recs, NULL), DD_OK);
    event_limits lim = {0};
    rng_t r;
    rng_seed(&r, 5);
    for (int i = 0; i < 400; i++) {
        char data[128], label[64];
        double v = rng_uniform(&r);
        snprintf(data, sizeof data, "{\"id\": \"e-%d\", \"x\": {\"a\": %.4f}}", i, v);
        snprintf(label, sizeof label, "{\"id\": \"e-%d\", \"y\": %d}", i, v > 0.5);
        const char *lines[2] = {data, label};
        for (int k = 0; k < 2; k++) {
            dd_event *ev = NULL;
            assert_int_equal(event_parse_json(lines[k], strlen(lines[k]), &lim, NULL, &ev, NULL),
                             DD_OK);
            ev->seq = (uint64_t)(2 * i + k);
            pipeline_result res;
            governor_result gr;
            rec_list l = {0};
            assert_int_equal(governor_process(a.gov, ev, true, &res, &gr, &l, NULL), DD_OK);
            rec_list_splice(&a.recs, &l);
            event_free(ev);
        }
    }
    governor_stats st;
    governor_get_stats(a.gov, &st);
    assert_int_equal(st.joined, 400);
    assert_int_not_equal(st.view.challenger_id, 0);
    assert_true(st.view.challenger_rolling >= 0); /* scored: -1 means no data */
    run_free(&a);
}

static void version_blob_restores_its_model(void **state)
{
    (void)state;
    run a;
    run_new(&a);
    assert_int_equal(governor_start(a.gov, NULL, 0, 7, &a.recs, NULL), DD_OK);
    const gov_record *v = NULL;
    for (const gov_record *x = a.recs.head; x; x = x->next)
        if (x->kind == REC_VERSION)
            v = x;
    assert_non_null(v);
    assert_int_equal(v->u.version.id, 7);
    model *m = NULL;
    assert_int_equal(governor_blob_model(v->u.version.model.data, v->u.version.model.len, &m, NULL),
                     DD_OK);
    assert_int_equal(model_dim(m), model_dim(pipeline_model(a.pipe)));
    model_free(m);
    char *cause = NULL;
    assert_int_equal(governor_blob_model("nonsense", 8, &m, &cause), DD_ECORRUPT);
    free(cause);
    run_free(&a);
}

static void finish_ends_with_the_checkpoint(void **state)
{
    (void)state;
    run a;
    run_new(&a);
    assert_int_equal(governor_start(a.gov, NULL, 0, 1, &a.recs, NULL), DD_OK);
    model_output out;
    bool skipped;
    for (int i = 0; i < 10; i++)
        feed(&a, i, &out, &skipped);
    assert_int_equal(governor_finish(a.gov, "end of stream", &a.recs, NULL), DD_OK);
    assert_int_equal(a.recs.tail->kind, REC_CHECKPOINT);
    assert_int_equal(a.recs.tail->event_index, 10);
    const gov_record *before = NULL;
    for (const gov_record *x = a.recs.head; x && x != a.recs.tail; x = x->next)
        before = x;
    assert_true(before->kind == REC_SESSION_END || before->kind == REC_AUDIT);
    run_free(&a);
}

static void fresh_start_closes_the_old_live_versions(void **state)
{
    (void)state;
    run a;
    run_new(&a);
    policy_live old[2] = {{4, GOV_ACTIVE, GOV_TRIG_DRIFT}, {5, GOV_CANARY, GOV_TRIG_DRIFT}};
    assert_int_equal(governor_start(a.gov, old, 2, 6, &a.recs, NULL), DD_OK);
    int seen = 0;
    for (const gov_record *x = a.recs.head; x; x = x->next) {
        if (x->kind != REC_TRANSITION)
            continue;
        const struct rec_transition_ *t = &x->u.transition;
        if (t->version_id == 4)
            seen += t->to == GOV_RETIRED;
        if (t->version_id == 5)
            seen += t->to == GOV_ROLLED_BACK;
        if (t->version_id == 6)
            seen += t->to == GOV_ACTIVE && strstr(t->reason, "fresh start") != NULL;
    }
    assert_int_equal(seen, 3);
    run_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resumed_run_predicts_like_the_uninterrupted_one),
        cmocka_unit_test(resume_adopts_a_rollback_made_since_the_checkpoint),
        cmocka_unit_test(delayed_labels_score_the_challenger_too),
        cmocka_unit_test(version_blob_restores_its_model),
        cmocka_unit_test(finish_ends_with_the_checkpoint),
        cmocka_unit_test(fresh_start_closes_the_old_live_versions),
    };
    return cmocka_run_group_tests(tests, make_events, free_events);
}
