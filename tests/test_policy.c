/*
 * test_policy.c: the governance policy on simulated streams. Scores are drawn
 * per version from known accuracies (no models needed); every record the
 * policy emits is applied to a real registry, so each decision is also
 * checked by the registry's state machine and audit chain.
 */
#include "policy.h"
#include "registry.h"
#include "rng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Which concept a model was trained on; accuracy depends on it and on the
 * stream segment. */
enum kind { K_NONE = 0, K_A, K_B };

typedef struct sim {
    policy *pol;
    registry *reg;
    rng_t rng;
    uint64_t event;
    int segment; /* 0: concept A, 1: concept B */
    enum kind act, chal, prev, next_candidate;
    double acc[3][2];      /* [kind][segment] */
    unsigned seen_actions; /* union of every action taken */
    int checkpoints;
    char dir[64];
    const char *group_a, *group_b; /* alternate events between two groups */
    double group_b_penalty;        /* accuracy drop of group b for K_B models */
} sim;

static void sim_init(sim *s, const policy_params *p)
{
    memset(s, 0, sizeof *s);
    char *cause = NULL;
    s->pol = policy_new(p, &cause);
    if (!s->pol)
        fail_msg("policy_new: %s", cause);
    snprintf(s->dir, sizeof s->dir, "/tmp/dd-policy-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/driftdeck.db", s->dir);
    dd_err e;
    s->reg = registry_open(path, NULL, 0, &e, &cause);
    assert_non_null(s->reg);
    assert_int_equal(registry_begin(s->reg, NULL), DD_OK);
    rng_seed(&s->rng, 42);
    s->acc[K_A][0] = 0.9;
    s->acc[K_A][1] = 0.4;
    s->acc[K_B][0] = 0.4;
    s->acc[K_B][1] = 0.9;
    s->act = K_A;
    s->next_candidate = K_B;
    assert_int_equal(policy_start(s->pol, 0, 1, "model-A", 7, "cfg", NULL), DD_OK);
}

static void flush(sim *s)
{
    rec_list l = {0};
    policy_take_records(s->pol, &l);
    gov_record *r;
    while ((r = rec_list_pop(&l))) {
        char *cause = NULL;
        dd_err e = registry_apply(s->reg, r, 1700000000.0 + (double)s->event, &cause);
        if (e)
            fail_msg("record kind %d at event %llu: %s", r->kind, (unsigned long long)s->event,
                     cause);
        bool cp = r->kind == REC_CHECKPOINT;
        rec_free(r);
        if (cp) {
            assert_int_equal(registry_commit(s->reg, NULL), DD_OK);
            assert_int_equal(registry_begin(s->reg, NULL), DD_OK);
        }
    }
}

static void sim_free(sim *s)
{
    flush(s);
    assert_int_equal(registry_commit(s->reg, NULL), DD_OK);
    policy_free(s->pol);
    registry_free(s->reg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

static void do_actions(sim *s)
{
    unsigned a = policy_actions(s->pol);
    s->seen_actions |= a;
    if (a & POLICY_ACT_DROP_CHALLENGER)
        s->chal = K_NONE;
    if (a & POLICY_ACT_DROP_PREVIOUS)
        s->prev = K_NONE;
    if (a & POLICY_ACT_PROMOTE) {
        s->prev = s->act;
        s->act = s->chal;
        s->chal = K_NONE;
    }
    if (a & POLICY_ACT_RESTORE_PREVIOUS) {
        s->act = s->prev;
        s->prev = K_NONE;
        assert_int_equal(policy_give_model(s->pol, "restored", 8, NULL), DD_OK);
    }
    if (a & POLICY_ACT_MAKE_CANDIDATE) {
        s->chal = s->next_candidate;
        assert_int_equal(policy_give_model(s->pol, "cand", 4, NULL), DD_OK);
    }
    if (a & POLICY_ACT_CHECKPOINT) {
        policy_checkpoint_in in = {.event_index = s->event, .source = "sim", .src_pos = s->event};
        in.active_model = (rec_blob){(uint8_t *)"act", 3};
        in.pipeline = (rec_blob){(uint8_t *)"pipe", 4};
        assert_int_equal(policy_checkpoint(s->pol, &in, NULL), DD_OK);
        s->checkpoints++;
    }
    flush(s);
}

static double draw(sim *s, enum kind k, bool group_b)
{
    if (k == K_NONE)
        return 0;
    double acc = s->acc[k][s->segment];
    if (group_b && k == K_B)
        acc -= s->group_b_penalty;
    return rng_uniform(&s->rng) < acc ? 1.0 : 0.0;
}

static void run(sim *s, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        s->event++;
        bool gb = s->group_b && (s->event & 1);
        policy_obs o = {
            .event_index = s->event,
            .id_hash = policy_event_hash(NULL, s->event),
            .labelled = true,
            .active_score = draw(s, s->act, gb),
            .challenger_score = draw(s, s->chal, gb),
            .previous_score = draw(s, s->prev, gb),
            .group = s->group_a ? (gb ? s->group_b : s->group_a) : NULL,
        };
        policy_data(s->pol, "raw", 3);
        policy_observe(s->pol, &o);
        do_actions(s);
    }
}

static void drift(sim *s)
{
    policy_drift(s->pol, s->event, "error", "adwin", DRIFT_DRIFT);
    do_actions(s);
}

static int64_t q(sim *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(registry_db(s->reg), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(registry_db(s->reg)));
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static const char *status_of(sim *s, int64_t id)
{
    static char buf[32];
    registry_version v;
    assert_int_equal(registry_version_get(s->reg, id, false, &v, NULL), DD_OK);
    snprintf(buf, sizeof buf, "%s", gov_status_name(v.status));
    return buf;
}

static void params(policy_params *p)
{
    policy_params_default(p);
    p->approval = POLICY_APPROVE_AUTO;
    p->rolling_window = 200;
    p->shadow_window = 200;
    p->canary_window = 60;
    p->rollback_min = 100;
    p->rollback_watch = 1500;
    p->checkpoint_every = 500;
}

static void assert_chain(sim *s)
{
    audit_report r;
    assert_int_equal(audit_verify(registry_db(s->reg), NULL, 0, NULL, &r, NULL), DD_OK);
}

/* The whole story: drift -> candidate -> shadow -> approval -> canary ->
 * promotion; then the stream returns to concept A, where the new version is
 * worse than the watched previous one -> automatic rollback to a clone. */
static void drift_promote_then_rollback(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    sim s;
    sim_init(&s, &p);
    run(&s, 600);
    assert_string_equal(status_of(&s, 1), "active");
    s.segment = 1;
    run(&s, 100);
    drift(&s);
    assert_true(s.seen_actions & POLICY_ACT_MAKE_CANDIDATE);
    assert_string_equal(status_of(&s, 2), "shadow");
    run(&s, 250); /* shadow window filled: 0.9 vs 0.4 */
    assert_string_equal(status_of(&s, 2), "canary");
    run(&s, 600); /* 20 % share: 60 canary events need about 300 */
    assert_string_equal(status_of(&s, 2), "active");
    assert_string_equal(status_of(&s, 1), "retired");
    assert_true(s.seen_actions & POLICY_ACT_PROMOTE);
    policy_view v;
    policy_get_view(s.pol, &v);
    assert_int_equal(v.previous_id, 1);
    assert_true(v.active_rolling > v.previous_rolling);
    s.segment = 0; /* the new version is worse here */
    run(&s, 300);
    assert_string_equal(status_of(&s, 2), "rolled_back");
    assert_string_equal(status_of(&s, 3), "active");
    assert_int_equal(q(&s, "SELECT parent_id FROM versions WHERE id = 3"), 1);
    assert_int_equal(q(&s, "SELECT trigger = 'rollback' FROM versions WHERE id = 3"), 1);
    assert_int_equal(q(&s, "SELECT count(*) FROM audit WHERE kind = 'rollback' AND "
                           "json_extract(payload, '$.trigger') = 'accuracy'"),
                     1);
    assert_int_equal(q(&s, "SELECT count(*) FROM audit WHERE kind = 'approval'"), 1);
    assert_int_equal(s.act, K_A);
    assert_true(s.checkpoints >= 3);
    assert_int_equal(q(&s, "SELECT count(*) FROM audit WHERE kind = 'batch'"), s.checkpoints);
    assert_true(q(&s, "SELECT count(*) FROM metrics WHERE role = 'previous'") > 0);
    assert_chain(&s);
    sim_free(&s);
}

static void error_drift_after_promotion_rolls_back(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    p.rollback_min = 100000; /* only the drift trigger */
    sim s;
    sim_init(&s, &p);
    s.segment = 1;
    run(&s, 100);
    drift(&s);
    run(&s, 900);
    assert_string_equal(status_of(&s, 2), "active");
    s.segment = 0;
    run(&s, 150);
    drift(&s);
    assert_string_equal(status_of(&s, 2), "rolled_back");
    assert_string_equal(status_of(&s, 3), "active");
    assert_int_equal(q(&s, "SELECT count(*) FROM audit WHERE kind = 'rollback' AND "
                           "json_extract(payload, '$.trigger') = 'error_drift'"),
                     1);
    assert_chain(&s);
    sim_free(&s);
}

static void drift_that_lowers_error_does_not_roll_back(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    sim s;
    sim_init(&s, &p);
    s.segment = 1;
    run(&s, 100);
    drift(&s);
    run(&s, 900);
    assert_string_equal(status_of(&s, 2), "active");
    s.acc[K_B][1] = 0.99; /* error falls: a drift alarm, but not a rise */
    run(&s, 150);
    drift(&s);
    assert_string_equal(status_of(&s, 2), "active");
    assert_int_equal(q(&s, "SELECT count(*) FROM audit WHERE kind = 'rollback'"), 0);
    sim_free(&s);
}

static void failing_canary_is_rolled_back(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    sim s;
    sim_init(&s, &p);
    s.segment = 1;
    run(&s, 50);
    drift(&s);
    run(&s, 210);
    assert_string_equal(status_of(&s, 2), "canary");
    s.acc[K_B][1] = 0.1; /* the candidate collapses during its canary */
    run(&s, 600);
    assert_string_equal(status_of(&s, 2), "rolled_back");
    assert_string_equal(status_of(&s, 1), "active");
    assert_true(s.seen_actions & POLICY_ACT_DROP_CHALLENGER);
    assert_int_equal(s.chal, K_NONE);
    sim_free(&s);
}

static void threshold_rejects_a_small_advantage(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    p.approval = POLICY_APPROVE_THRESHOLD;
    p.approve_threshold = 0.6; /* 0.9 vs 0.4 is only 0.5 */
    sim s;
    sim_init(&s, &p);
    s.segment = 1;
    run(&s, 50);
    drift(&s);
    run(&s, 250);
    assert_string_equal(status_of(&s, 2), "rejected");
    assert_int_equal(q(&s, "SELECT count(*) FROM audit WHERE kind = 'approval' AND "
                           "json_extract(payload, '$.decision') = 'reject'"),
                     1);
    sim_free(&s);
}

static void operator_decides_when_asked(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    p.approval = POLICY_APPROVE_OPERATOR;
    sim s;
    sim_init(&s, &p);
    assert_int_equal(policy_approve(s.pol, 0, "ann", NULL), DD_ESTATE);
    s.segment = 1;
    run(&s, 50);
    drift(&s);
    run(&s, 1000);
    assert_string_equal(status_of(&s, 2), "awaiting_approval");
    policy_view v;
    policy_get_view(s.pol, &v);
    assert_true(v.awaiting_approval);
    assert_int_equal(policy_approve(s.pol, s.event, "ann", NULL), DD_OK);
    flush(&s);
    assert_string_equal(status_of(&s, 2), "canary");
    assert_int_equal(q(&s, "SELECT count(*) FROM transitions WHERE actor = 'ann' AND "
                           "to_status = 'canary'"),
                     1);
    sim_free(&s);
}

static void shadow_that_never_wins_is_rejected(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    p.shadow_max = 800;
    sim s;
    sim_init(&s, &p);
    s.next_candidate = K_A; /* a candidate no better than the active one */
    run(&s, 50);
    drift(&s);
    run(&s, 900);
    assert_string_equal(status_of(&s, 2), "rejected");
    drift(&s); /* a new drift may make a new candidate */
    assert_string_equal(status_of(&s, 3), "shadow");
    sim_free(&s);
}

static void fairness_gap_rolls_back(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    p.fairness_max_gap = 0.3;
    p.fairness_min = 40;
    p.rollback_min = 100000;
    sim s;
    sim_init(&s, &p);
    s.group_a = "north";
    s.group_b = "south";
    s.group_b_penalty = 0.0;
    s.segment = 1;
    run(&s, 50);
    drift(&s);
    run(&s, 900);
    assert_string_equal(status_of(&s, 2), "active");
    s.group_b_penalty = 0.6; /* the new version fails one group */
    run(&s, 300);
    assert_string_equal(status_of(&s, 2), "rolled_back");
    assert_int_equal(q(&s, "SELECT count(*) FROM audit WHERE kind = 'rollback' AND "
                           "json_extract(payload, '$.trigger') = 'fairness'"),
                     1);
    assert_true(q(&s, "SELECT count(*) FROM metrics WHERE groups LIKE '%south%'") > 0);
    sim_free(&s);
}

static void canary_share_is_deterministic(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    sim s;
    sim_init(&s, &p);
    s.segment = 1;
    run(&s, 50);
    drift(&s);
    run(&s, 210);
    assert_string_equal(status_of(&s, 2), "canary");
    int served = 0;
    for (uint64_t i = 0; i < 20000; i++) {
        char id[32];
        snprintf(id, sizeof id, "e-%llu", (unsigned long long)i);
        bool a = policy_challenger_serves(s.pol, policy_event_hash(id, 0));
        assert_true(a == policy_challenger_serves(s.pol, policy_event_hash(id, 0)));
        served += a;
    }
    /* 20 % of 20000 = 4000; binomial sd is 57 */
    assert_in_range(served, 3700, 4300);
    assert_false(policy_challenger_serves(s.pol, 0) != policy_challenger_serves(s.pol, 0));
    sim_free(&s);
}

static void state_round_trips_through_a_checkpoint(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    sim s;
    sim_init(&s, &p);
    s.segment = 1;
    run(&s, 50);
    drift(&s);
    run(&s, 450); /* checkpoint at 500, challenger in canary */
    registry_checkpoint c;
    flush(&s);
    assert_int_equal(registry_commit(s.reg, NULL), DD_OK);
    assert_int_equal(registry_last_checkpoint(s.reg, &c, NULL), DD_OK);
    assert_int_equal(registry_begin(s.reg, NULL), DD_OK);
    policy *copy = policy_new(&p, NULL);
    assert_int_equal(policy_restore(copy, c.policy.data, c.policy.len, NULL), DD_OK);
    policy_view a, b;
    policy_get_view(s.pol, &a);
    policy_get_view(copy, &b);
    assert_int_equal(a.active_id, b.active_id);
    assert_int_equal(a.challenger_id, b.challenger_id);
    assert_int_equal(a.challenger_status, b.challenger_status);
    assert_true(a.active_rolling == b.active_rolling);
    assert_int_equal(c.challenger_id, 2);
    /* a truncated blob is refused */
    policy *bad = policy_new(&p, NULL);
    assert_int_equal(policy_restore(bad, c.policy.data, c.policy.len - 3, NULL), DD_ECORRUPT);
    assert_int_equal(policy_restore(bad, "nonsense", 8, NULL), DD_ECORRUPT);
    policy_free(bad);
    policy_free(copy);
    registry_checkpoint_clear(&c);
    sim_free(&s);
}

static void manual_rollback_clones_and_loads(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    sim s;
    sim_init(&s, &p);
    s.segment = 1;
    run(&s, 50);
    drift(&s);
    run(&s, 2500); /* promoted, watch over */
    assert_string_equal(status_of(&s, 2), "active");
    assert_int_equal(policy_rollback_to(s.pol, s.event, 2, "m", 1, "ann", "x", NULL), DD_ESTATE);
    assert_int_equal(policy_rollback_to(s.pol, s.event, 9, "m", 1, "ann", "x", NULL), DD_ENOTFOUND);
    assert_int_equal(policy_rollback_to(s.pol, s.event, 1, "model-A", 7, "ann", "bad", NULL),
                     DD_OK);
    assert_true(policy_actions(s.pol) & POLICY_ACT_LOAD_ACTIVE);
    flush(&s);
    assert_string_equal(status_of(&s, 3), "active");
    assert_string_equal(status_of(&s, 2), "rolled_back");
    assert_int_equal(q(&s, "SELECT parent_id FROM versions WHERE id = 3"), 1);
    assert_chain(&s);
    sim_free(&s);
}

static void gated_mode_learns_in_a_challenger(void **state)
{
    (void)state;
    policy_params p;
    params(&p);
    p.mode = POLICY_GATED;
    sim s;
    sim_init(&s, &p);
    assert_false(policy_active_learns(s.pol));
    do_actions(&s);
    assert_true(s.seen_actions & POLICY_ACT_MAKE_CANDIDATE);
    assert_string_equal(status_of(&s, 2), "shadow");
    assert_int_equal(q(&s, "SELECT trigger = 'checkpoint' FROM versions WHERE id = 2"), 1);
    s.segment = 1;
    run(&s, 499); /* the window is full long before, but gated waits for a checkpoint */
    assert_string_equal(status_of(&s, 2), "shadow");
    run(&s, 1);
    assert_string_equal(status_of(&s, 2), "canary");
    sim_free(&s);
}

static void bad_params_are_refused(void **state)
{
    (void)state;
    policy_params p;
    policy_params_default(&p);
    p.canary_share = 1.5;
    char *cause = NULL;
    assert_null(policy_new(&p, &cause));
    assert_non_null(strstr(cause, "canary_share"));
    free(cause);
    policy_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drift_promote_then_rollback),
        cmocka_unit_test(error_drift_after_promotion_rolls_back),
        cmocka_unit_test(drift_that_lowers_error_does_not_roll_back),
        cmocka_unit_test(failing_canary_is_rolled_back),
        cmocka_unit_test(threshold_rejects_a_small_advantage),
        cmocka_unit_test(operator_decides_when_asked),
        cmocka_unit_test(shadow_that_never_wins_is_rejected),
        cmocka_unit_test(fairness_gap_rolls_back),
        cmocka_unit_test(canary_share_is_deterministic),
        cmocka_unit_test(state_round_trips_through_a_checkpoint),
        cmocka_unit_test(manual_rollback_clones_and_loads),
        cmocka_unit_test(gated_mode_learns_in_a_challenger),
        cmocka_unit_test(bad_params_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
