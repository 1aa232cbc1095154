/*
 * test_kfilter.c: search filters on knowledge-store hits. Matching (a
 * feature before a top-level field, strings against strings and numbers
 * against numbers, command-line values as both, time bounds, max_age),
 * parsing (every bad member refused with its reason), and kstore_search()
 * with a filter: k hits come back when enough entries match (over-fetch),
 * a rare entry deep in the ranking is found, the index selection holds.
 */
#include "kfilter.h"
#include "kstore.h"
#include "testutil.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char root[64];

static kstore_hit hit_of(const char *payload, double ts)
{
    kstore_hit h = {.id = (char *)"a",
                    .payload = (char *)payload,
                    .version = (char *)"v",
                    .ts = ts,
                    .found = KSTORE_FOUND_VECTOR};
    return h;
}

/* Parse json into f (after kfilter_init); returns the error, *why its cause. */
static dd_err parse(kfilter *f, const char *json, char **why)
{
    kfilter_init(f);
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    dd_err err = kfilter_from_json(f, o, why);
    cJSON_Delete(o);
    return err;
}

static void test_where_matches_features_then_fields(void **state)
{
    (void)state;
    kfilter f;
    const char *p = "{\"x\":{\"site\":\"north\",\"t\":3,\"y\":\"feature\"},\"id\":\"e1\",\"y\":1,"
                    "\"text\":\"pump\"}";
    kstore_hit h = hit_of(p, 100);
    assert_int_equal(parse(&f, "{\"where\": {\"site\": \"north\", \"t\": 3}}", NULL), DD_OK);
    assert_true(kfilter_keep(&f, &h));
    assert_int_equal(parse(&f, "{\"where\": {\"site\": \"north\", \"t\": 4}}", NULL), DD_OK);
    assert_false(kfilter_keep(&f, &h)); /* ANDed */
    assert_int_equal(parse(&f, "{\"where\": {\"t\": \"3\"}}", NULL), DD_OK);
    assert_false(kfilter_keep(&f, &h)); /* a string does not match a number */
    assert_int_equal(parse(&f, "{\"where\": {\"id\": \"e1\", \"text\": \"pump\"}}", NULL), DD_OK);
    assert_true(kfilter_keep(&f, &h)); /* top-level fields */
    assert_int_equal(parse(&f, "{\"where\": {\"y\": \"feature\"}}", NULL), DD_OK);
    assert_true(kfilter_keep(&f, &h)); /* a feature named y comes first */
    assert_int_equal(parse(&f, "{\"where\": {\"missing\": 1}}", NULL), DD_OK);
    assert_false(kfilter_keep(&f, &h));
    kstore_hit bad = hit_of("not json", 100);
    assert_int_equal(parse(&f, "{\"where\": {\"t\": 3}}", NULL), DD_OK);
    assert_false(kfilter_keep(&f, &bad));
    /* the command line: a value matches as text, and as a number when it is one */
    kfilter_init(&f);
    assert_int_equal(kfilter_add_where(&f, "t=3", NULL), DD_OK);
    assert_true(kfilter_keep(&f, &h));
    kfilter_init(&f);
    assert_int_equal(kfilter_add_where(&f, "site=north", NULL), DD_OK);
    assert_true(kfilter_keep(&f, &h));
    kfilter_init(&f);
    assert_int_equal(kfilter_add_where(&f, "t=3.0", NULL), DD_OK);
    assert_true(kfilter_keep(&f, &h));
    char *why = NULL;
    assert_int_equal(kfilter_add_where(&f, "novalue", &why), DD_EINVAL);
    assert_non_null(strstr(why, "NAME=VALUE"));
    free(why);
}

static void test_time_bounds_and_age(void **state)
{
    (void)state;
    kfilter f;
    kstore_hit early = hit_of("{}", 100), mid = hit_of("{}", 150), late = hit_of("{}", 200);
    assert_int_equal(parse(&f, "{\"min_ts\": 150, \"max_ts\": 150}", NULL), DD_OK);
    assert_false(kfilter_keep(&f, &early));
    assert_true(kfilter_keep(&f, &mid)); /* inclusive */
    assert_false(kfilter_keep(&f, &late));
    assert_int_equal(parse(&f, "{\"max_age\": 60}", NULL), DD_OK);
    kstore_hit fresh = hit_of("{}", f.now - 10), stale = hit_of("{}", f.now - 100);
    assert_true(kfilter_keep(&f, &fresh));
    assert_false(kfilter_keep(&f, &stale));
    /* nothing asked: no keep function, so no over-fetch */
    kstore_query q = {.text = "x", .k = 3};
    assert_int_equal(parse(&f, "{\"index\": \"fts\"}", NULL), DD_OK);
    kfilter_apply(&f, &q);
    assert_null(q.keep);
    assert_int_equal(q.indexes, KSTORE_FOUND_FTS);
}

static void test_bad_filters_say_why(void **state)
{
    (void)state;
    static const struct {
        const char *json, *why;
    } cases[] = {
        {"{\"where\": 3}", "where must be an object"},
        {"{\"where\": {}}", "where must be an object"},
        {"{\"where\": {\"t\": true}}", "string or a finite number"},
        {"{\"where\": {\"t\": [1]}}", "string or a finite number"},
        {"{\"where\": {\"t\": 1, \"t\": 1}}", "given twice"},
        {"{\"where\": {\"\": 1}}", "field name must have"},
        {"{\"index\": \"graph\"}", "index must be"},
        {"{\"index\": null}", "index must be"},
        {"{\"min_ts\": \"x\"}", "min_ts must be a finite number"},
        {"{\"max_ts\": 1e400}", "max_ts must be a finite number"},
        {"{\"min_ts\": 2, \"max_ts\": 1}", "is after max_ts"},
        {"{\"max_age\": -1}", "max_age must be"},
    };
    for (size_t i = 0; i < DD_ARRAY_LEN(cases); i++) {
        kfilter f;
        char *why = NULL;
        assert_int_equal(parse(&f, cases[i].json, &why), DD_EINVAL);
        if (!why || !strstr(why, cases[i].why))
            fail_msg("%s: got '%s', wanted '%s'", cases[i].json, why ? why : "(none)",
                     cases[i].why);
        free(why);
    }
    /* 17 fields: one too many; a string value of 256 bytes: too long */
    char json[1024] = "{\"where\": {", *p = json + strlen(json);
    for (int i = 0; i < 17; i++)
        p += snprintf(p, 32, "%s\"f%d\": 1", i ? ", " : "", i);
    snprintf(p, 8, "}}");
    kfilter f;
    char *why = NULL;
    assert_int_equal(parse(&f, json, &why), DD_EINVAL);
    assert_non_null(strstr(why, "at most 16"));
    free(why);
    why = NULL;
    char val[300];
    memset(val, 'v', 256);
    val[256] = '\0';
    snprintf(json, sizeof json, "{\"where\": {\"s\": \"%s\"}}", val);
    assert_int_equal(parse(&f, json, &why), DD_EINVAL);
    assert_non_null(strstr(why, "longer than 255"));
    free(why);
}

/* ---- through the store ---- */

static void submit(kstore *s, unsigned i)
{
    char json[256];
    dd_event *ev = NULL;
    snprintf(json, sizeof json,
             "{\"id\":\"e%u\",\"ts\":%u,\"x\":{\"t\":%u,\"site\":\"%s\"},\"text\":\"pump valve "
             "unit%u\"}",
             i, 1000 + i, i % 10, i == 377 ? "rare" : "common", i);
    assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
    assert_int_equal(kstore_submit(s, ev), DD_OK);
    event_free(ev);
}

static void test_filtered_search_still_gives_k(void **state)
{
    (void)state;
    char dir[96], *cause = NULL;
    snprintf(dir, sizeof dir, "%s/ws", root);
    kstore_params p = kstore_params_default();
    kstore *s = kstore_open(dir, &p, false, &cause);
    if (!s)
        fail_msg("open: %s", cause);
    for (unsigned i = 0; i < 600; i++)
        submit(s, i);
    assert_int_equal(kstore_flush(s, 30000), DD_OK);
    kfilter f;
    kfilter_init(&f);
    assert_int_equal(kfilter_add_where(&f, "t=7", NULL), DD_OK); /* one entry in ten */
    kstore_query q = {.text = "pump valve", .k = 20};
    kfilter_apply(&f, &q);
    kstore_results r;
    assert_int_equal(kstore_search(s, &q, &r, NULL), DD_OK);
    uint32_t vec = 0, fts = 0;
    for (uint32_t i = 0; i < r.n; i++) {
        assert_non_null(strstr(r.hits[i].payload, "\"t\":7"));
        vec += (r.hits[i].found & KSTORE_FOUND_VECTOR) != 0;
        fts += (r.hits[i].found & KSTORE_FOUND_FTS) != 0;
    }
    assert_int_equal(vec, 20); /* k from each index, though 9 in 10 candidates fail */
    assert_int_equal(fts, 20);
    kstore_results_free(&r);
    /* one entry in 600, asked with k = 1 from the vector index alone */
    kfilter_init(&f);
    assert_int_equal(kfilter_add_where(&f, "site=rare", NULL), DD_OK);
    assert_int_equal(kfilter_set_index(&f, "vector", NULL), DD_OK);
    q = (kstore_query){.text = "pump valve", .k = 1};
    kfilter_apply(&f, &q);
    assert_int_equal(kstore_search(s, &q, &r, NULL), DD_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.hits[0].id, "e377");
    assert_int_equal(r.hits[0].found, KSTORE_FOUND_VECTOR);
    kstore_results_free(&r);
    /* fewer matches than k: all of them, no more */
    kfilter_init(&f);
    f.min_ts = 1590;
    q = (kstore_query){.text = "pump valve", .k = 50};
    kfilter_apply(&f, &q);
    assert_int_equal(kstore_search(s, &q, &r, NULL), DD_OK);
    assert_int_equal(r.n, 10); /* e590..e599, found by both indexes */
    for (uint32_t i = 0; i < r.n; i++)
        assert_int_equal(r.hits[i].found, KSTORE_FOUND_BOTH);
    kstore_results_free(&r);
    /* the index selection, and its refusals */
    q = (kstore_query){.text = "pump valve", .k = 5, .indexes = KSTORE_FOUND_FTS};
    assert_int_equal(kstore_search(s, &q, &r, NULL), DD_OK);
    assert_int_equal(r.n, 5);
    for (uint32_t i = 0; i < r.n; i++)
        assert_int_equal(r.hits[i].found, KSTORE_FOUND_FTS);
    kstore_results_free(&r);
    float v[64] = {1};
    q = (kstore_query){.vector = v, .dim = 64, .k = 5, .indexes = KSTORE_FOUND_FTS};
    assert_int_equal(kstore_search(s, &q, &r, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "no full-text part"));
    free(cause);
    cause = NULL;
    q = (kstore_query){.text = "pump", .vector = v, .dim = 64, .k = 5};
    assert_int_equal(kstore_search(s, &q, &r, NULL), DD_EINVAL);
    kstore_close(s);
}

static int setup(void **state)
{
    (void)state;
    return test_dir_make(root, sizeof root, "kfilter");
}

static int teardown(void **state)
{
    (void)state;
    return test_dir_remove(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_where_matches_features_then_fields),
        cmocka_unit_test(test_time_bounds_and_age),
        cmocka_unit_test(test_bad_filters_say_why),
        cmocka_unit_test(test_filtered_search_still_gives_k),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
