/*
 * test_drift_reference.c: replays the reference streams River 0.21.0 ran
 * (tests/data/drift, see its README) through driftdeck's detectors.
 *
 * - Page-Hinkley, DDM and EDDM: the same detections and warnings as River
 *   (a step that is a drift is reported as drift only; River's EDDM also
 *   keeps its warning flag up on that step: see doc/DRIFT.md).
 * - ADWIN: the same detections as current River (the post-fix results), and
 *   the same width / total / variance after every update.
 * - KSWIN fed River's recorded draws: the same statistic and p-value to
 *   1e-9 at every test, and the same detections. With driftdeck's own
 *   sampler: the change in the Bernoulli and Gaussian streams is detected
 *   near River's detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adwin.h"
#include "drift.h"
#include "kswin.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DRIFT_DATA_DIR
#define DRIFT_DATA_DIR "tests/data/drift"
#endif

typedef struct series {
    double *v;
    size_t n;
} series;

typedef struct indices {
    long *v;
    size_t n, cap;
} indices;

static void push_index(indices *ix, long i)
{
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? 2 * ix->cap : 64;
        ix->v = realloc(ix->v, ix->cap * sizeof *ix->v);
        assert_non_null(ix->v);
    }
    ix->v[ix->n++] = i;
}

static char *read_all(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DRIFT_DATA_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static series read_series(const char *rel)
{
    char *text = read_all(rel);
    series s = {NULL, 0};
    size_t cap = 0;
    for (char *p = text; *p;) {
        char *end = NULL;
        double x = strtod(p, &end);
        if (end == p)
            fail_msg("%s: bad number at value %zu", rel, s.n);
        if (s.n == cap) {
            cap = cap ? 2 * cap : 4096;
            s.v = realloc(s.v, cap * sizeof *s.v);
            assert_non_null(s.v);
        }
        s.v[s.n++] = x;
        p = end;
        while (*p == '\n' || *p == '\r')
            p++;
    }
    free(text);
    return s;
}

/* Returns the line at *cursor (NUL-terminated in place) and advances the
 * cursor past it; NULL at the end. */
static char *next_line(char **cursor)
{
    char *line = *cursor;
    if (!line || !*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = line + strlen(line);
    }
    return line;
}

static cJSON *read_json(const char *rel)
{
    char *text = read_all(rel);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        fail_msg("%s: not JSON", rel);
    return j;
}

static const char *kind_of(const char *river_name)
{
    static const char *const map[][2] = {
        {"ADWIN", "adwin"}, {"PageHinkley", "pagehinkley"}, {"DDM", "ddm"}, {"EDDM", "eddm"},
        {"KSWIN", "kswin"},
    };
    for (size_t i = 0; i < DD_ARRAY_LEN(map); i++)
        if (!strcmp(map[i][0], river_name))
            return map[i][1];
    return NULL;
}

/* A detector of the record's kind with the record's parameters (River's
 * names are ours; mode's strings are parsed as the configuration does). */
static drift_detector *detector_for(const char *kind, const cJSON *params)
{
    drift_detector *d = drift_new(kind, NULL);
    assert_non_null(d);
    const char *names[16];
    double values[16];
    size_t n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        assert_true(n < 16);
        char text[64];
        if (cJSON_IsString(p))
            snprintf(text, sizeof text, "%s", p->valuestring);
        else
            snprintf(text, sizeof text, "%.17g", p->valuedouble);
        char *cause = NULL;
        if (drift_param_parse(kind, p->string, text, &values[n], &cause) != DD_OK)
            fail_msg("%s %s=%s: %s", kind, p->string, text, cause);
        names[n++] = p->string;
    }
    char *cause = NULL;
    if (drift_set_params(d, names, values, n, &cause) != DD_OK)
        fail_msg("%s: %s", kind, cause);
    return d;
}

static void expect_same(const char *what, const char *stream, const indices *got, const cJSON *want,
                        const cJSON *skip)
{
    size_t k = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, want)
    {
        long i = (long)w->valuedouble;
        bool skipped = false;
        const cJSON *s;
        cJSON_ArrayForEach(s, skip) skipped |= (long)s->valuedouble == i;
        if (skipped)
            continue;
        if (k >= got->n || got->v[k] != i)
            fail_msg("%s on %s: River has %ld as its element %zu, driftdeck has %ld", what, stream,
                     i, k, k < got->n ? got->v[k] : -1L);
        k++;
    }
    if (k != got->n)
        fail_msg("%s on %s: driftdeck has %zu, River %zu (first extra: %ld)", what, stream, got->n,
                 k, got->v[k]);
}

/* Replays every record of file whose detector is in kinds (NULL: all). */
static int replay_records(const char *file, const char *const *kinds, size_t nkinds)
{
    cJSON *root = read_json(file);
    const cJSON *rec;
    int checked = 0;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(root, "records"))
    {
        const char *kind = kind_of(cJSON_GetObjectItem(rec, "detector")->valuestring);
        const cJSON *dets = cJSON_GetObjectItem(rec, "detections");
        bool wanted = false;
        for (size_t i = 0; kind && i < nkinds; i++)
            wanted |= !strcmp(kinds[i], kind);
        if (!wanted || !cJSON_IsArray(dets))
            continue;
        const char *stream = cJSON_GetObjectItem(rec, "stream")->valuestring;
        series s = read_series(stream);
        drift_detector *d = detector_for(kind, cJSON_GetObjectItem(rec, "params"));
        indices drifts = {0}, warnings = {0};
        for (size_t i = 0; i < s.n; i++) {
            drift_state st = drift_update(d, s.v[i]);
            if (st == DRIFT_DRIFT)
                push_index(&drifts, (long)i);
            else if (st == DRIFT_WARNING)
                push_index(&warnings, (long)i);
        }
        expect_same(kind, stream, &drifts, dets, NULL);
        const cJSON *warn = cJSON_GetObjectItem(rec, "warnings");
        if (cJSON_IsArray(warn))
            expect_same("warnings", stream, &warnings, warn, dets);
        else
            assert_int_equal(warnings.n, 0);
        free(drifts.v);
        free(warnings.v);
        free(s.v);
        drift_free(d);
        checked++;
    }
    cJSON_Delete(root);
    return checked;
}

static void test_pagehinkley_ddm_eddm_match_river(void **state)
{
    (void)state;
    const char *const kinds[] = {"pagehinkley", "ddm", "eddm"};
    int n = replay_records("drift_results.json", kinds, 3);
    printf("# %d Page-Hinkley, DDM and EDDM records match River 0.21.0\n", n);
    assert_true(n >= 40);
}

static void test_adwin_matches_current_river(void **state)
{
    (void)state;
    const char *const kinds[] = {"adwin"};
    int n = replay_records("drift_results_adwin_postfix.json", kinds, 1);
    printf("# %d ADWIN records match River (post-fix)\n", n);
    assert_true(n >= 20);
}

static void assert_rel(double got, double want, double tol, const char *what, long i)
{
    if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
        fail_msg("%s at %ld: got %.17g, River %.17g", what, i, got, want);
}

static void test_adwin_state_matches_trace(void **state)
{
    (void)state;
    const char *const streams[] = {"gauss_mu0_mu3_seed42", "bernoulli_p02_p08_seed42"};
    for (size_t s = 0; s < 2; s++) {
        char rel[256];
        snprintf(rel, sizeof rel, "traces/adwin_postfix_default__%s.csv", streams[s]);
        char *text = read_all(rel);
        adwin_params p;
        adwin_params_default(&p);
        adwin *a = adwin_new(&p, NULL);
        bool drifted = false;
        long rows = 0;
        char *cursor = text;
        next_line(&cursor); /* the header */
        for (char *line; (line = next_line(&cursor));) {
            long i;
            double x, width, total, variance, estimation;
            int det;
            if (sscanf(line, "%ld,%lf,%d,%lf,%lf,%lf,%lf", &i, &x, &det, &width, &total, &variance,
                       &estimation) != 7)
                fail_msg("%s: bad line %ld", rel, rows + 2);
            if (drifted)
                adwin_reset(a); /* River's rule, as drift.c applies it */
            drifted = adwin_update(a, x);
            assert_int_equal(drifted, det);
            assert_rel(adwin_width(a), width, 0.0, "width", i);
            assert_rel(adwin_total(a), total, 1e-12, "total", i);
            assert_rel(adwin_sum_sq_dev(a), variance, 1e-12, "variance", i);
            assert_rel(adwin_mean(a), estimation, 1e-12, "mean", i);
            rows++;
        }
        assert_int_equal(rows, 2000);
        adwin_free(a);
        free(text);
    }
}

/* Feeds the stream to KSWIN with River's recorded draws; checks every test. */
static void replay_kswin_trace(const char *name, const cJSON *want_detections)
{
    char rel[256];
    snprintf(rel, sizeof rel, "inputs/%s.txt", name);
    series s = read_series(rel);
    snprintf(rel, sizeof rel, "traces/kswin_default_seed42__%s.jsonl", name);
    char *text = read_all(rel);

    /* Index the trace by step. */
    cJSON **steps = calloc(s.n, sizeof *steps);
    assert_non_null(steps);
    char *cursor = text;
    for (char *line; (line = next_line(&cursor));) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        long i = (long)cJSON_GetObjectItem(j, "i")->valuedouble;
        assert_true(i >= 0 && (size_t)i < s.n);
        steps[i] = j;
    }

    kswin_params p;
    kswin_params_default(&p);
    kswin *k = kswin_new(&p, NULL);
    indices drifts = {0};
    bool drifted = false;
    int tests = 0;
    double worst = 0.0;
    for (size_t i = 0; i < s.n; i++) {
        if (drifted)
            kswin_reset(k);
        unsigned offsets[30];
        const unsigned *use = NULL;
        if (steps[i]) {
            const cJSON *o;
            size_t n = 0;
            cJSON_ArrayForEach(o, cJSON_GetObjectItem(steps[i], "sample_offsets"))
            {
                assert_true(n < 30);
                offsets[n++] = (unsigned)o->valuedouble;
            }
            assert_int_equal(n, 30);
            use = offsets;
        }
        if (kswin_count(k) + 1 >= p.window_size && !use)
            fail_msg("%s: KSWIN tests at %zu but River's trace has no draw there", name, i);
        drifted = kswin_update_offsets(k, s.v[i], use);
        assert_int_equal(kswin_tested(k), use != NULL);
        if (use) {
            double stat = cJSON_GetObjectItem(steps[i], "statistic")->valuedouble;
            double pv = cJSON_GetObjectItem(steps[i], "p_value")->valuedouble;
            bool det = cJSON_IsTrue(cJSON_GetObjectItem(steps[i], "drift_detected"));
            if (fabs(kswin_statistic(k) - stat) > 1e-9 || fabs(kswin_p_value(k) - pv) > 1e-9)
                fail_msg("%s at %zu: statistic %.17g p %.17g, River %.17g p %.17g", name, i,
                         kswin_statistic(k), kswin_p_value(k), stat, pv);
            assert_int_equal(drifted, det);
            worst = fmax(worst, fmax(fabs(kswin_statistic(k) - stat), fabs(kswin_p_value(k) - pv)));
            tests++;
        }
        if (drifted)
            push_index(&drifts, (long)i);
    }
    expect_same("kswin (recorded draws)", name, &drifts, want_detections, NULL);
    printf("# kswin on %s: %d tests match River's statistic and p-value (largest difference "
           "%.3g)\n",
           name, tests, worst);
    assert_true(tests > 1500);

    for (size_t i = 0; i < s.n; i++)
        cJSON_Delete(steps[i]);
    free(steps);
    free(drifts.v);
    free(text);
    free(s.v);
    kswin_free(k);
}

/* River's detections of KSWIN (defaults, seed 42) on a stream. */
static cJSON *kswin_record(cJSON *root, const char *stream)
{
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(root, "records"))
    {
        if (!strcmp(cJSON_GetObjectItem(rec, "detector")->valuestring, "KSWIN") &&
            !strncmp(cJSON_GetObjectItem(rec, "role")->valuestring, "default", 7) &&
            strstr(cJSON_GetObjectItem(rec, "stream")->valuestring, stream))
            return cJSON_GetObjectItem(rec, "detections");
    }
    fail_msg("no KSWIN record for %s", stream);
    return NULL;
}

static void test_kswin_recorded_draws_match_river(void **state)
{
    (void)state;
    cJSON *root = read_json("drift_results.json");
    replay_kswin_trace("gauss_mu0_mu3_seed42", kswin_record(root, "gauss_mu0_mu3_seed42"));
    replay_kswin_trace("bernoulli_p02_p08_seed42", kswin_record(root, "bernoulli_p02_p08_seed42"));
    cJSON_Delete(root);
}

static void test_kswin_p_value_known_values(void **state)
{
    (void)state;
    /* P(D >= 1) for n = 1: the two values always differ: 1. For n = 2, h = 2:
     * both of one sample below both of the other: 2 of C(4, 2) = 6 orders. */
    assert_rel(kswin_ks_p_value(1, 1), 1.0, 1e-15, "p(1,1)", 0);
    assert_rel(kswin_ks_p_value(2, 2), 2.0 / 6.0, 1e-15, "p(2,2)", 0);
    assert_rel(kswin_ks_p_value(30, 0), 1.0, 0.0, "p(30,0)", 0);
    /* n = 3, h = 3: 2 of C(6, 3) = 20 orders. */
    assert_rel(kswin_ks_p_value(3, 3), 0.1, 1e-15, "p(3,3)", 0);
    for (unsigned h = 1; h < 30; h++)
        assert_true(kswin_ks_p_value(30, h + 1) <= kswin_ks_p_value(30, h));
}

/* The first detection at or after `change`, or -1. */
static long first_after(const indices *ix, long change)
{
    for (size_t i = 0; i < ix->n; i++)
        if (ix->v[i] >= change)
            return ix->v[i];
    return -1;
}

/* driftdeck's sampler draws other offsets than River's Mersenne Twister, so
 * single detections differ; the change itself must be found as River finds
 * it. A false alarm in the 100 values before the change blinds KSWIN (it
 * refills its window) and is counted apart: see doc/DRIFT.md. */
static void test_kswin_own_sampler_detects_changes_near_river(void **state)
{
    (void)state;
    const struct {
        const char *stream;
        long river; /* River's detection of the change at 1000 */
    } cases[] = {{"bernoulli_p02_p08_seed42", 1021}, {"gauss_mu0_mu3_seed42", 1009}};
    for (size_t c = 0; c < DD_ARRAY_LEN(cases); c++) {
        char rel[256];
        snprintf(rel, sizeof rel, "inputs/%s.txt", cases[c].stream);
        series s = read_series(rel);
        int near = 0, blinded = 0;
        for (int seed = 1; seed <= 30; seed++) {
            drift_detector *d = drift_new("kswin", NULL);
            assert_int_equal(drift_set_param(d, "seed", seed, NULL), DD_OK);
            indices drifts = {0};
            for (size_t i = 0; i < s.n; i++)
                if (drift_update(d, s.v[i]) == DRIFT_DRIFT)
                    push_index(&drifts, (long)i);
            long at = first_after(&drifts, 1000);
            bool blind = false;
            for (size_t i = 0; i < drifts.n; i++)
                blind |= drifts.v[i] >= 900 && drifts.v[i] < 1000;
            /* Every run finds the change within one window of it. */
            if (at < 1000 || at >= 1000 + 100 + (blind ? 100 : 0))
                fail_msg("%s seed %d: change found at %ld", cases[c].stream, seed, at);
            if (labs(at - cases[c].river) <= 50)
                near++;
            else if (blind)
                blinded++;
            else
                fail_msg("%s seed %d: change found at %ld, River at %ld", cases[c].stream, seed, at,
                         cases[c].river);
            free(drifts.v);
            drift_free(d);
        }
        printf("# kswin own sampler on %s: %d of 30 seeds within 50 of River's %ld, "
               "%d blinded by a false alarm just before the change\n",
               cases[c].stream, near, cases[c].river, blinded);
        assert_true(near >= 20);
        free(s.v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pagehinkley_ddm_eddm_match_river),
        cmocka_unit_test(test_adwin_matches_current_river),
        cmocka_unit_test(test_adwin_state_matches_trace),
        cmocka_unit_test(test_kswin_p_value_known_values),
        cmocka_unit_test(test_kswin_recorded_draws_match_river),
        cmocka_unit_test(test_kswin_own_sampler_detects_changes_near_river),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
