/*
 * test_gen.c: the stream generators follow their published definitions.
 *
 * Labels are checked against the papers' rules (SEA threshold, Agrawal
 * functions on hand-computed records, STAGGER truth tables, the hyperplane's
 * weighted sum), the drift machinery against River's ConceptDriftStream
 * sigmoid (positions honoured, the mixture inside a gradual drift within a
 * binomial bound), and the JSON line against the event it was made from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gen.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_close(double a, double b, double tol)
{
    if (!(fabs(a - b) <= tol))
        fail_msg("%.17g and %.17g differ by more than %g", a, b, tol);
}

static gen *make(gen_kind kind, uint64_t seed, double noise)
{
    gen_params p;
    gen_params_default(&p, kind);
    p.seed = seed;
    p.noise = noise;
    char *cause = NULL;
    gen *g = gen_new(&p, &cause);
    if (!g)
        fail_msg("gen_new: %s", cause ? cause : "?");
    return g;
}

static gen *make_params(const gen_params *p)
{
    char *cause = NULL;
    gen *g = gen_new(p, &cause);
    if (!g)
        fail_msg("gen_new: %s", cause ? cause : "?");
    return g;
}

static void sea_labels_follow_the_threshold_rule(void **state)
{
    (void)state;
    static const double theta[4] = {8, 9, 7, 9.5};
    for (uint32_t v = 0; v < 4; v++) {
        gen_params p;
        gen_params_default(&p, GEN_SEA);
        p.nvariants = 1;
        p.variant[0] = v;
        gen *g = make_params(&p);
        int ones = 0;
        for (int i = 0; i < 5000; i++) {
            gen_event ev;
            gen_next(g, &ev);
            assert_int_equal(ev.nx, 3);
            for (int j = 0; j < 3; j++) {
                assert_null(ev.x[j].str);
                assert_true(ev.x[j].num >= 0.0 && ev.x[j].num <= 10.0);
            }
            int want = ev.x[0].num + ev.x[1].num <= theta[v] ? 0 : 1;
            assert_int_equal(ev.y, want);
            ones += ev.y;
        }
        /* P(f1 + f2 > theta) for theta <= 10 is 1 - theta^2/200 */
        double expect = 1.0 - theta[v] * theta[v] / 200.0;
        assert_close(ones / 5000.0, expect, 4.0 * sqrt(expect * (1 - expect) / 5000.0));
        gen_free(g);
    }
}

static void label_noise_flips_the_given_fraction(void **state)
{
    (void)state;
    gen *g = make(GEN_SEA, 7, 0.1);
    int flipped = 0, n = 20000;
    for (int i = 0; i < n; i++) {
        gen_event ev;
        gen_next(g, &ev);
        assert_int_equal(ev.y_clean, gen_sea_label(0, ev.x[0].num, ev.x[1].num));
        flipped += ev.y != ev.y_clean;
    }
    assert_close(flipped / (double)n, 0.1, 4.0 * sqrt(0.1 * 0.9 / n));
    gen_free(g);
}

/* Records and classes worked out by hand from the paper's definitions
 * (Agrawal, Imielinski & Swami 1993, p. 924; 0 = group A, as in MOA). */
static void agrawal_functions_on_hand_computed_records(void **state)
{
    (void)state;
    /* young (35), salary 60k, elevel 1, loan 150k, 25 years in a 400k house */
    gen_agrawal_rec a = {60000, 20000, 35, 1, 3, 5, 400000, 25, 150000};
    /* f1: age < 40 -> A */
    assert_int_equal(gen_agrawal_label(0, &a), 0);
    /* f2: young, 50k <= 60k <= 100k -> A */
    assert_int_equal(gen_agrawal_label(1, &a), 0);
    /* f3: young, elevel in {0, 1} -> A */
    assert_int_equal(gen_agrawal_label(2, &a), 0);
    /* f4: young, elevel in {0, 1}, 25k <= 60k <= 75k -> A */
    assert_int_equal(gen_agrawal_label(3, &a), 0);
    /* f5: young, salary in [50k, 100k], loan 150k in [100k, 300k] -> A */
    assert_int_equal(gen_agrawal_label(4, &a), 0);
    /* f6: young, total 80k in [50k, 100k] -> A */
    assert_int_equal(gen_agrawal_label(5, &a), 0);
    /* f7: 2/3 * 80k - 150k/5 - 20k = 53333 - 30000 - 20000 = 3333 > 0 -> A */
    assert_int_equal(gen_agrawal_label(6, &a), 0);
    /* f8: 53333 - 5000 - 20000 = 28333 > 0 -> A */
    assert_int_equal(gen_agrawal_label(7, &a), 0);
    /* f9: 53333 - 5000 - 30000 - 10000 = 8333 > 0 -> A */
    assert_int_equal(gen_agrawal_label(8, &a), 0);
    /* f10: equity 400k * 5 / 10 = 200k; 53333 - 5000 + 40000 - 10000 > 0 -> A */
    assert_int_equal(gen_agrawal_label(9, &a), 0);

    /* middle-aged (50), salary 130k, no commission, elevel 0, loan 450k, house 3 years */
    gen_agrawal_rec b = {130000, 0, 50, 0, 7, 2, 700000, 3, 450000};
    assert_int_equal(gen_agrawal_label(0, &b), 1); /* 40 <= 50 < 60 -> B */
    assert_int_equal(gen_agrawal_label(1, &b), 1); /* 130k outside [75k, 125k] -> B */
    assert_int_equal(gen_agrawal_label(2, &b), 1); /* elevel 0 not in {1, 2, 3} -> B */
    assert_int_equal(gen_agrawal_label(3, &b), 1); /* elevel 0: salary outside [75k, 125k] */
    assert_int_equal(gen_agrawal_label(4, &b), 0); /* salary outside: loan in [300k, 500k] */
    assert_int_equal(gen_agrawal_label(5, &b), 1); /* total 130k outside [75k, 125k] */
    /* f7: 86667 - 90000 - 20000 < 0 -> B */
    assert_int_equal(gen_agrawal_label(6, &b), 1);
    /* f8: 86667 - 0 - 20000 > 0 -> A */
    assert_int_equal(gen_agrawal_label(7, &b), 0);
    /* f9: 86667 - 90000 - 10000 < 0 -> B */
    assert_int_equal(gen_agrawal_label(8, &b), 1);
    /* f10: hyears < 20, no equity: 86667 - 10000 > 0 -> A */
    assert_int_equal(gen_agrawal_label(9, &b), 0);

    /* old (65), salary 30k + 40k commission, elevel 4, loan 50k */
    gen_agrawal_rec c = {30000, 40000, 65, 4, 1, 8, 100000, 30, 50000};
    assert_int_equal(gen_agrawal_label(0, &c), 0); /* age >= 60 -> A */
    assert_int_equal(gen_agrawal_label(1, &c), 0); /* 30k in [25k, 75k] */
    assert_int_equal(gen_agrawal_label(2, &c), 0); /* elevel 4 in {2, 3, 4} */
    assert_int_equal(gen_agrawal_label(3, &c), 1); /* elevel >= 2: 30k not in [50k, 100k] */
    assert_int_equal(gen_agrawal_label(4, &c),
                     1); /* salary in [25k, 75k]: loan 50k not in [300k, 500k] */
    assert_int_equal(gen_agrawal_label(5, &c), 0); /* total 70k in [25k, 75k] */
    /* f7: 46667 - 10000 - 20000 > 0 -> A */
    assert_int_equal(gen_agrawal_label(6, &c), 0);
    /* f8: 46667 - 20000 - 20000 > 0 -> A */
    assert_int_equal(gen_agrawal_label(7, &c), 0);
    /* f9: 46667 - 20000 - 10000 - 10000 > 0 -> A */
    assert_int_equal(gen_agrawal_label(8, &c), 0);
    /* f10 with a poorer record: 2/3 * 20k = 13333 - 20000 + equity 100k*10/10/5 = 20000 - 10000 */
    gen_agrawal_rec d = {20000, 0, 65, 4, 1, 8, 100000, 30, 50000};
    assert_int_equal(gen_agrawal_label(9, &d), 0); /* 13333 - 20000 + 20000 - 10000 = 3333 */
    d.hyears = 19;                                 /* no equity: -16667 -> B */
    assert_int_equal(gen_agrawal_label(9, &d), 1);
}

static double num_of(const gen_event *ev, const char *name)
{
    for (uint32_t i = 0; i < ev->nx; i++)
        if (!strcmp(ev->x[i].name, name) && !ev->x[i].str)
            return ev->x[i].num;
    fail_msg("no numeric feature %s", name);
    return 0;
}

static int cat_of(const gen_event *ev, const char *name, const char *prefix)
{
    for (uint32_t i = 0; i < ev->nx; i++)
        if (!strcmp(ev->x[i].name, name) && ev->x[i].str) {
            size_t n = strlen(prefix);
            assert_int_equal(strncmp(ev->x[i].str, prefix, n), 0);
            return atoi(ev->x[i].str + n);
        }
    fail_msg("no categorical feature %s", name);
    return 0;
}

static void agrawal_records_stay_in_their_domains_and_label_by_function(void **state)
{
    (void)state;
    for (uint32_t f = 0; f < 10; f++) {
        gen_params p;
        gen_params_default(&p, GEN_AGRAWAL);
        p.seed = 100 + f;
        p.nvariants = 1;
        p.variant[0] = f;
        gen *g = make_params(&p);
        for (int i = 0; i < 2000; i++) {
            gen_event ev;
            gen_next(g, &ev);
            gen_agrawal_rec r = {
                num_of(&ev, "salary"),     num_of(&ev, "commission"),
                (int)num_of(&ev, "age"),   cat_of(&ev, "elevel", "level"),
                cat_of(&ev, "car", "car"), cat_of(&ev, "zipcode", "zip"),
                num_of(&ev, "hvalue"),     (int)num_of(&ev, "hyears"),
                num_of(&ev, "loan"),
            };
            assert_true(r.salary >= 20000 && r.salary <= 150000);
            if (r.salary >= 75000)
                assert_true(r.commission == 0.0);
            else
                assert_true(r.commission >= 10000 && r.commission <= 75000);
            assert_true(r.age >= 20 && r.age <= 80);
            assert_true(r.elevel >= 0 && r.elevel <= 4);
            assert_true(r.car >= 1 && r.car <= 20);
            assert_true(r.zipcode >= 0 && r.zipcode <= 8);
            double base = (9 - r.zipcode) * 100000.0;
            assert_true(r.hvalue >= 0.5 * base && r.hvalue <= 1.5 * base);
            assert_true(r.hyears >= 1 && r.hyears <= 30);
            assert_true(r.loan >= 0 && r.loan <= 500000);
            assert_int_equal(ev.y, gen_agrawal_label(f, &r));
        }
        gen_free(g);
    }
}

static void stagger_concepts_match_their_truth_tables(void **state)
{
    (void)state;
    int holds[3] = {0, 0, 0};
    for (int s = 0; s < 3; s++)
        for (int c = 0; c < 3; c++)
            for (int h = 0; h < 3; h++)
                for (uint32_t k = 0; k < 3; k++)
                    holds[k] += gen_stagger_label(k, s, c, h);
    assert_int_equal(holds[0], 3);  /* small and red: any shape */
    assert_int_equal(holds[1], 15); /* green (9) or circle (9), minus green circles (3) */
    assert_int_equal(holds[2], 18); /* medium or large */

    static const char *const sizes[3] = {"small", "medium", "large"};
    static const char *const colors[3] = {"red", "blue", "green"};
    for (uint32_t k = 0; k < 3; k++) {
        gen_params p;
        gen_params_default(&p, GEN_STAGGER);
        p.nvariants = 1;
        p.variant[0] = k;
        gen *g = make_params(&p);
        for (int i = 0; i < 500; i++) {
            gen_event ev;
            gen_next(g, &ev);
            const char *size = ev.x[0].str, *color = ev.x[1].str, *shape = ev.x[2].str;
            assert_non_null(size);
            int want;
            if (k == 0)
                want = !strcmp(size, sizes[0]) && !strcmp(color, colors[0]);
            else if (k == 1)
                want = !strcmp(color, colors[2]) || !strcmp(shape, "circle");
            else
                want = !strcmp(size, sizes[1]) || !strcmp(size, sizes[2]);
            assert_int_equal(ev.y, want);
        }
        gen_free(g);
    }
}

static void hyperplane_labels_follow_the_weighted_sum(void **state)
{
    (void)state;
    gen *g = make(GEN_HYPERPLANE, 3, 0.0);
    const double *w = gen_hyperplane_weights(g, 0);
    assert_non_null(w);
    int ones = 0;
    for (int i = 0; i < 3000; i++) {
        gen_event ev;
        gen_next(g, &ev);
        assert_int_equal(ev.nx, 10);
        double s = 0, ws = 0;
        for (int j = 0; j < 10; j++) {
            assert_true(ev.x[j].num >= 0.0 && ev.x[j].num <= 1.0);
            s += w[j] * ev.x[j].num;
            ws += w[j];
        }
        assert_int_equal(ev.y, s >= 0.5 * ws ? 1 : 0);
        ones += ev.y;
    }
    /* the hyperplane passes through the cube's centre: about half are positive */
    assert_true(ones > 1200 && ones < 1800);
    gen_free(g);
}

static void hyperplane_weights_move_by_the_magnitude(void **state)
{
    (void)state;
    gen_params p;
    gen_params_default(&p, GEN_HYPERPLANE);
    p.features = 5;
    p.drift_features = 2;
    p.mag_change = 0.01;
    p.sigma = 0.0; /* never reverse: w_i grows by exactly mag per event */
    gen *g = make_params(&p);
    double w0[5];
    memcpy(w0, gen_hyperplane_weights(g, 0), sizeof w0);
    gen_event ev;
    for (int i = 0; i < 100; i++)
        gen_next(g, &ev);
    const double *w = gen_hyperplane_weights(g, 0);
    assert_close(w[0], w0[0] + 1.0, 1e-9);
    assert_close(w[1], w0[1] + 1.0, 1e-9);
    for (int j = 2; j < 5; j++)
        assert_close(w[j], w0[j], 0.0);
    gen_free(g);

    p.sigma = 1.0; /* reverse after every event: back where it started every 2 events */
    g = make_params(&p);
    memcpy(w0, gen_hyperplane_weights(g, 0), sizeof w0);
    gen_next(g, &ev);
    assert_close(gen_hyperplane_weights(g, 0)[0], w0[0] + 0.01, 1e-12);
    gen_next(g, &ev);
    assert_close(gen_hyperplane_weights(g, 0)[0], w0[0], 1e-12);
    gen_free(g);
}

static void same_seed_gives_the_same_stream(void **state)
{
    (void)state;
    for (int kind = 0; kind < GEN_KIND__COUNT; kind++) {
        gen_params p;
        gen_params_default(&p, (gen_kind)kind);
        p.seed = 42;
        p.noise = 0.05;
        p.ndrifts = 1;
        p.drift[0] = (gen_drift){500, 200};
        gen *a = make_params(&p), *b = make_params(&p);
        p.seed = 43;
        gen *c = make_params(&p);
        size_t cap = gen_line_max(a), la, lb, lc;
        char *x = malloc(cap), *y = malloc(cap), *z = malloc(cap);
        int differ = 0;
        for (int i = 0; i < 1000; i++) {
            assert_int_equal(gen_next_line(a, x, cap, &la), DD_OK);
            assert_int_equal(gen_next_line(b, y, cap, &lb), DD_OK);
            assert_int_equal(gen_next_line(c, z, cap, &lc), DD_OK);
            assert_int_equal(la, lb);
            assert_memory_equal(x, y, la);
            differ += la != lc || memcmp(x, z, la);
        }
        assert_true(differ > 900);
        free(x);
        free(y);
        free(z);
        gen_free(a);
        gen_free(b);
        gen_free(c);
    }
}

static void abrupt_drifts_switch_exactly_at_their_positions(void **state)
{
    (void)state;
    gen_params p;
    gen_params_default(&p, GEN_SEA);
    p.ndrifts = 2;
    p.drift[0] = (gen_drift){300, 0};
    p.drift[1] = (gen_drift){700, 0};
    p.nvariants = 3;
    p.variant[0] = 0;
    p.variant[1] = 3;
    p.variant[2] = 2;
    gen *g = make_params(&p);
    for (uint64_t t = 0; t < 1000; t++) {
        gen_event ev;
        gen_next(g, &ev);
        assert_int_equal(ev.index, t);
        uint32_t want = t < 300 ? 0 : t < 700 ? 1 : 2;
        assert_int_equal(ev.concept, want);
        assert_int_equal(ev.variant, p.variant[want]);
        assert_int_equal(ev.y, gen_sea_label(p.variant[want], ev.x[0].num, ev.x[1].num));
    }
    gen_free(g);
}

static void gradual_drift_mixes_by_the_sigmoid(void **state)
{
    (void)state;
    gen_drift d = {5000, 2000};
    assert_close(gen_drift_probability(&d, 5000), 0.5, 1e-12);
    /* symmetric, increasing; at pos + w/2, 1/(1+e^-2) */
    assert_close(gen_drift_probability(&d, 6000), 1.0 / (1.0 + exp(-2.0)), 1e-12);
    assert_close(gen_drift_probability(&d, 4000) + gen_drift_probability(&d, 6000), 1.0, 1e-12);
    gen_drift a = {10, 0};
    assert_close(gen_drift_probability(&a, 9), 0.0, 0.0);
    assert_close(gen_drift_probability(&a, 10), 1.0, 0.0);

    gen_params p;
    gen_params_default(&p, GEN_STAGGER);
    p.seed = 9;
    p.ndrifts = 1;
    p.drift[0] = d;
    gen *g = make_params(&p);
    double expect = 0, var = 0;
    int early = 0, middle = 0, late = 0;
    for (uint64_t t = 0; t < 12000; t++) {
        gen_event ev;
        gen_next(g, &ev);
        if (t < 1000)
        early += ev.concept;
        else if (t >= 11000) late += ev.concept;
        else if (t >= 4500 && t < 5500)
        {
            double q = gen_drift_probability(&d, t);
            expect += q;
            var += q * (1 - q);
            middle += ev.concept;
        }
    }
    /* P(new) < 1.3e-4 before t = 1000 and > 1 - 1.3e-4 after 11000: allow a stray one */
    assert_true(early <= 2);
    assert_true(late >= 998);
    assert_close(middle, expect, 4.0 * sqrt(var) + 1.0);
    gen_free(g);
}

static void json_line_carries_the_event_exactly(void **state)
{
    (void)state;
    for (int kind = 0; kind < GEN_KIND__COUNT; kind++) {
        gen_params p;
        gen_params_default(&p, (gen_kind)kind);
        p.perturbation = kind == GEN_AGRAWAL ? 0.1 : 0.0;
        gen *g = make_params(&p);
        size_t cap = gen_line_max(g);
        char *line = malloc(cap);
        for (int i = 0; i < 200; i++) {
            gen_event ev;
            gen_next(g, &ev);
            size_t len = gen_format(&ev, line, cap);
            assert_true(len < cap);
            assert_int_equal(line[len - 1], '\n');
            cJSON *j = cJSON_Parse(line);
            assert_non_null(j);
            char id[32];
            snprintf(id, sizeof id, "e-%d", i);
            assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, id);
            assert_close(cJSON_GetObjectItem(j, "ts")->valuedouble, 1700000000.0 + i / 100.0, 1e-6);
            assert_int_equal(cJSON_GetObjectItem(j, "y")->valueint, ev.y);
            cJSON *x = cJSON_GetObjectItem(j, "x");
            assert_int_equal(cJSON_GetArraySize(x), ev.nx);
            for (uint32_t k = 0; k < ev.nx; k++) {
                cJSON *v = cJSON_GetObjectItem(x, ev.x[k].name);
                assert_non_null(v);
                if (ev.x[k].str)
                    assert_string_equal(v->valuestring, ev.x[k].str);
                else /* rounded before labelling: the text is the value, exactly */
                    assert_close(v->valuedouble, ev.x[k].num, 0.0);
            }
            cJSON_Delete(j);
        }
        /* a short buffer is refused and consumes nothing */
        size_t len;
        assert_int_equal(gen_next_line(g, line, 16, &len), DD_EINVAL);
        gen_event ev;
        gen_next(g, &ev);
        assert_int_equal(ev.index, 200);
        free(line);
        gen_free(g);
    }
}

static void bad_parameters_are_refused_with_a_cause(void **state)
{
    (void)state;
    gen_params p;
    char *cause = NULL;
    gen_params_default(&p, GEN_SEA);
    p.noise = 1.5;
    assert_null(gen_new(&p, &cause));
    assert_non_null(strstr(cause, "noise"));

    gen_params_default(&p, GEN_SEA);
    p.ndrifts = 2;
    p.drift[0] = (gen_drift){500, 0};
    p.drift[1] = (gen_drift){400, 0};
    assert_null(gen_new(&p, &cause));
    assert_non_null(strstr(cause, "increase"));

    gen_params_default(&p, GEN_SEA);
    p.ndrifts = 1;
    p.drift[0] = (gen_drift){500, 0};
    p.nvariants = 3;
    assert_null(gen_new(&p, &cause));
    assert_non_null(strstr(cause, "variant"));

    gen_params_default(&p, GEN_SEA);
    p.nvariants = 1;
    p.variant[0] = 4;
    assert_null(gen_new(&p, &cause));
    assert_non_null(strstr(cause, "0..3"));

    gen_params_default(&p, GEN_HYPERPLANE);
    p.drift_features = 11;
    assert_null(gen_new(&p, &cause));
    gen_params_default(&p, GEN_AGRAWAL);
    p.rate = 0.0;
    assert_null(gen_new(&p, NULL)); /* no cause wanted: still refused */
    free(cause);

    gen_kind k;
    assert_int_equal(gen_kind_parse("agrawal", &k), DD_OK);
    assert_int_equal(k, GEN_AGRAWAL);
    assert_int_equal(gen_kind_parse("Agrawal", &k), DD_ENOTFOUND);
    gen_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sea_labels_follow_the_threshold_rule),
        cmocka_unit_test(label_noise_flips_the_given_fraction),
        cmocka_unit_test(agrawal_functions_on_hand_computed_records),
        cmocka_unit_test(agrawal_records_stay_in_their_domains_and_label_by_function),
        cmocka_unit_test(stagger_concepts_match_their_truth_tables),
        cmocka_unit_test(hyperplane_labels_follow_the_weighted_sum),
        cmocka_unit_test(hyperplane_weights_move_by_the_magnitude),
        cmocka_unit_test(same_seed_gives_the_same_stream),
        cmocka_unit_test(abrupt_drifts_switch_exactly_at_their_positions),
        cmocka_unit_test(gradual_drift_mixes_by_the_sigmoid),
        cmocka_unit_test(json_line_carries_the_event_exactly),
        cmocka_unit_test(bad_parameters_are_refused_with_a_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
