/*
 * test_schema.c: the schema mapping. Configured paths for every role, the
 * timestamp forms, label types, feature containers and lists, the duplicate
 * key rule, the INI round trip, and inference from samples.
 */
#include "event.h"
#include "schema.h"

#include "testutil.h"

#include <cJSON.h>
#define INI_HANDLER_LINENO 1
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static schema *make(const char *const *kv)
{
    schema_params p;
    schema_params_default(&p);
    char *cause = NULL;
    for (; kv && kv[0]; kv += 2)
        if (schema_params_set(&p, kv[0], kv[1], &cause))
            fail_msg("set %s=%s: %s", kv[0], kv[1], cause);
    schema *s = schema_new(&p, &cause);
    if (!s)
        fail_msg("schema_new: %s", cause);
    return s;
}

static dd_event *map_ok(const schema *s, const char *json)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    if (event_parse_json(json, strlen(json), NULL, s, &ev, &cause))
        fail_msg("%s: %s", json, cause ? cause : "?");
    return ev;
}

static dd_err map_err(const schema *s, const char *json)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    dd_err err = event_parse_json(json, strlen(json), NULL, s, &ev, &cause);
    assert_null(ev);
    if (err)
        assert_non_null(cause);
    free(cause);
    return err;
}

static void configured_paths_for_every_role(void **state)
{
    const char *kv[] = {"id", "meta.key", "ts", "meta.when", "label", "outcome", "group",
                        "region", "text", "body", "embedding", "vec", "op", "action",
                        "features", "payload", NULL};
    schema *s = make(kv);
    dd_event *ev = map_ok(s, "{\"meta\":{\"key\":\"k1\",\"when\":\"2023-11-14T22:13:20Z\"},"
                             "\"outcome\":\"spam\",\"region\":\"eu\",\"body\":\"hi there\","
                             "\"vec\":[1,2],\"action\":\"upsert\","
                             "\"payload\":{\"a\":1,\"b\":{\"c\":\"z\"}},\"id\":\"ignored\"}");
    assert_string_equal(ev->id, "k1");
    assert_true(ev->has_ts);
    assert_close(ev->ts, 1700000000.0, 1e-6);
    assert_int_equal(ev->y.kind, DD_LABEL_STR);
    assert_string_equal(ev->y.str, "spam");
    assert_string_equal(ev->group, "eu");
    assert_string_equal(ev->text, "hi there");
    assert_int_equal(ev->nemb, 2);
    assert_int_equal(ev->nfeat, 2);
    assert_close(event_find(ev, "a")->num, 1, 0);
    assert_string_equal(event_find(ev, "b.c")->str, "z");
    event_free(ev);
    /* Without the payload object, id + label is a delayed label. */
    ev = map_ok(s, "{\"meta\":{\"key\":\"k1\"},\"outcome\":\"ham\"}");
    assert_int_equal(ev->kind, DD_EV_LABEL);
    event_free(ev);
    ev = map_ok(s, "{\"meta\":{\"key\":\"k1\"},\"action\":\"delete\"}");
    assert_int_equal(ev->kind, DD_EV_DELETE);
    event_free(ev);
    assert_int_equal(map_err(s, "{\"payload\":[1,2]}"), DD_ETYPE);
    schema_free(s);
}

static void flat_shape_with_configured_roles(void **state)
{
    const char *kv[] = {"features", ".", "label", "is_fraud", "id", "tx", "ts", "-", NULL};
    schema *s = make(kv);
    dd_event *ev = map_ok(s, "{\"tx\":9,\"amount\":12.5,\"is_fraud\":true,\"ts\":5,\"y\":3}");
    assert_string_equal(ev->id, "9");
    assert_false(ev->has_ts);       /* ts is switched off: "ts" is an ordinary field */
    assert_close(ev->y.num, 1, 0);
    assert_int_equal(ev->nfeat, 3); /* amount, ts, y */
    assert_non_null(event_find(ev, "ts"));
    assert_non_null(event_find(ev, "y"));
    assert_null(event_find(ev, "tx"));
    event_free(ev);
    schema_free(s);
}

static void label_inside_features_never_leaks(void **state)
{
    const char *kv[] = {"features", "rec", "label", "rec.y", "id", "rec.id", NULL};
    schema *s = make(kv);
    dd_event *ev = map_ok(s, "{\"rec\":{\"id\":\"r\",\"y\":1,\"a\":2}}");
    assert_int_equal(ev->nfeat, 1);
    assert_non_null(event_find(ev, "a"));
    assert_string_equal(ev->id, "r");
    assert_close(ev->y.num, 1, 0);
    event_free(ev);
    schema_free(s);
    /* Nested role path in the flat shape: excluded by its flattened name. */
    const char *kv2[] = {"label", "m.lab", NULL};
    s = make(kv2);
    ev = map_ok(s, "{\"m\":{\"lab\":0,\"v\":4},\"k\":1}");
    assert_int_equal(ev->nfeat, 2);
    assert_null(event_find(ev, "m.lab"));
    assert_non_null(event_find(ev, "m.v"));
    event_free(ev);
    schema_free(s);
}

static void include_and_exclude_lists(void **state)
{
    const char *kv[] = {"exclude", "dbg, raw*", "exclude", "note", NULL};
    schema *s = make(kv);
    dd_event *ev = map_ok(s, "{\"x\":{\"a\":1,\"dbg\":{\"t\":1},\"raw_1\":2,\"raw2\":3,"
                             "\"note\":\"n\",\"noted\":4}}");
    assert_int_equal(ev->nfeat, 2); /* a, noted ("note" covers note and note.*, not noted) */
    assert_non_null(event_find(ev, "noted"));
    event_free(ev);
    schema_free(s);
    const char *kv2[] = {"include", "a,geo", "exclude", "geo.alt", NULL};
    s = make(kv2);
    ev = map_ok(s, "{\"x\":{\"a\":1,\"b\":2,\"geo\":{\"lat\":1,\"lon\":2,\"alt\":3}}}");
    assert_int_equal(ev->nfeat, 3);
    assert_null(event_find(ev, "b"));
    assert_null(event_find(ev, "geo.alt"));
    event_free(ev);
    /* Nothing included: no features, so not an event. */
    assert_int_equal(map_err(s, "{\"x\":{\"b\":2}}"), DD_EPARSE);
    schema_free(s);
}

static void timestamps(void **state)
{
    double t = 0;
    assert_true(schema_parse_iso8601("1970-01-01T00:00:00Z", &t));
    assert_close(t, 0, 0);
    assert_true(schema_parse_iso8601("2023-11-14T22:13:20Z", &t));
    assert_close(t, 1700000000, 0);
    assert_true(schema_parse_iso8601("2023-11-14T23:43:20.250+01:30", &t));
    assert_close(t, 1700000000.25, 1e-6);
    assert_true(schema_parse_iso8601("2023-11-14 17:13:20-0500", &t));
    assert_close(t, 1700000000, 0);
    assert_true(schema_parse_iso8601("2000-02-29", &t));
    assert_close(t, 951782400, 0);
    assert_true(schema_parse_iso8601("1969-12-31T23:59:59Z", &t));
    assert_close(t, -1, 0);
    assert_true(schema_parse_iso8601("2023-11-14T22:13", &t)); /* no zone = UTC */
    assert_close(t, 1699999980, 0);
    const char *bad[] = {"2023-02-29", "2023-13-01", "2023-11-14T25:00Z", "2023-11-14T22:13:20X",
                         "23-11-14", "2023-11-14T22:13:20.Z", "yesterday", "", "2023-11-14T"};
    for (size_t i = 0; i < DD_ARRAY_LEN(bad); i++)
        if (schema_parse_iso8601(bad[i], &t))
            fail_msg("'%s' accepted", bad[i]);

    const char *kv[] = {"ts_unit", "ms", NULL};
    schema *s = make(kv);
    dd_event *ev = map_ok(s, "{\"ts\":1700000000125,\"x\":{\"a\":1}}");
    assert_close(ev->ts, 1700000000.125, 1e-6);
    event_free(ev);
    ev = map_ok(s, "{\"ts\":\"1700000000125\",\"x\":{\"a\":1}}");
    assert_close(ev->ts, 1700000000.125, 1e-6);
    event_free(ev);
    ev = map_ok(s, "{\"ts\":\"2023-11-14T22:13:20.5Z\",\"x\":{\"a\":1}}"); /* ISO: no unit */
    assert_close(ev->ts, 1700000000.5, 1e-6);
    event_free(ev);
    assert_int_equal(map_err(s, "{\"ts\":\"0x10\",\"x\":{\"a\":1}}"), DD_ETYPE);
    assert_int_equal(map_err(s, "{\"ts\":true,\"x\":{\"a\":1}}"), DD_ETYPE);
    schema_free(s);
}

static void label_types(void **state)
{
    const char *cls[] = {"label_type", "class", NULL};
    schema *s = make(cls);
    dd_event *ev = map_ok(s, "{\"x\":{\"a\":1},\"y\":3}");
    assert_int_equal(ev->y.kind, DD_LABEL_STR);
    assert_string_equal(ev->y.str, "3");
    event_free(ev);
    ev = map_ok(s, "{\"x\":{\"a\":1},\"y\":true}");
    assert_string_equal(ev->y.str, "true");
    event_free(ev);
    schema_free(s);

    const char *num[] = {"label_type", "number", NULL};
    s = make(num);
    ev = map_ok(s, "{\"x\":{\"a\":1},\"y\":\"2\"}");
    assert_int_equal(ev->y.kind, DD_LABEL_NUM);
    assert_close(ev->y.num, 2, 0);
    event_free(ev);
    assert_int_equal(map_err(s, "{\"x\":{\"a\":1},\"y\":\"cat\"}"), DD_ETYPE);
    schema_free(s);

    const char *reg[] = {"label_type", "regression", NULL};
    s = make(reg);
    ev = map_ok(s, "{\"x\":{\"a\":1},\"y\":-0.25}");
    assert_close(ev->y.num, -0.25, 0);
    event_free(ev);
    assert_int_equal(map_err(s, "{\"x\":{\"a\":1},\"y\":false}"), DD_ETYPE);
    assert_int_equal(map_err(s, "{\"x\":{\"a\":1},\"y\":1e999}"), DD_ENONFINITE);
    ev = map_ok(s, "{\"x\":{\"a\":1},\"y\":null}"); /* null: no label yet */
    assert_int_equal(ev->y.kind, DD_LABEL_NONE);
    event_free(ev);
    schema_free(s);
}

static void duplicate_keys_make_the_message_malformed(void **state)
{
    /* The rule: a duplicated key on a role's path, or a duplicated feature
     * name after flattening, is a malformed message (DD_EPARSE). */
    assert_int_equal(map_err(NULL, "{\"id\":\"a\",\"id\":\"b\",\"x\":{\"f\":1}}"), DD_EPARSE);
    assert_int_equal(map_err(NULL, "{\"y\":1,\"y\":0,\"x\":{\"f\":1}}"), DD_EPARSE);
    assert_int_equal(map_err(NULL, "{\"x\":{\"f\":1},\"x\":{\"g\":1}}"), DD_EPARSE);
    assert_int_equal(map_err(NULL, "{\"a.b\":1,\"a\":{\"b\":2}}"), DD_EPARSE);
    const char *kv[] = {"id", "m.id", NULL};
    schema *s = make(kv);
    assert_int_equal(map_err(s, "{\"m\":{\"id\":1,\"id\":2},\"x\":{\"f\":1}}"), DD_EPARSE);
    /* Keys off the roles' paths are not looked at: a duplicate there is
     * a duplicate feature only if it is a feature. */
    dd_event *ev = map_ok(s, "{\"m\":{\"id\":1},\"id\":1,\"id\":2,\"x\":{\"f\":1}}");
    assert_string_equal(ev->id, "1");
    event_free(ev);
    schema_free(s);
}

static void bad_parameters(void **state)
{
    schema_params p;
    schema_params_default(&p);
    char *cause = NULL;
    assert_int_equal(schema_params_set(&p, "colour", "red", &cause), DD_ENOTFOUND);
    assert_int_equal(schema_params_set(&p, "label_type", "ordinal", &cause), DD_EINVAL);
    assert_int_equal(schema_params_set(&p, "ts_unit", "fortnight", &cause), DD_EINVAL);
    char longv[300];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    assert_int_equal(schema_params_set(&p, "id", longv, &cause), DD_EINVAL);
    assert_string_equal(p.field[SCHEMA_ID], ""); /* unchanged */
    assert_int_equal(schema_params_set(&p, "id", "a..b", &cause), DD_OK);
    assert_null(schema_new(&p, &cause)); /* empty segment */
    assert_non_null(strstr(cause, "empty segment"));
    free(cause);
}

static int schema_section(void *user, const char *section, const char *name, const char *value,
                       int line)
{
    (void)line;
    if (strcmp(section, "schema"))
        return 0;
    return schema_params_set(user, name, value, NULL) == DD_OK;
}

static void ini_round_trip(void **state)
{
    schema_params p;
    schema_params_default(&p);
    schema_params_set(&p, "id", "meta.id", NULL);
    schema_params_set(&p, "ts_unit", "us", NULL);
    schema_params_set(&p, "label_type", "regression", NULL);
    schema_params_set(&p, "features", "payload", NULL);
    schema_params_set(&p, "op", "-", NULL);
    /* A long include list must survive inih's 200-byte lines. */
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof name, "feature_number_%d", i);
        schema_params_set(&p, "include", name, NULL);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(schema_params_write(&p, "# a note\n", f), DD_OK);
    fclose(f);
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true(nl - line < 200);
        line = nl + 1;
    }
    schema_params q;
    schema_params_default(&q);
    assert_int_equal(ini_parse_string(buf, schema_section, &q), 0);
    assert_memory_equal(&p, &q, sizeof p);
    free(buf);
}

static cJSON **parse_lines(const char *const *lines, size_t n)
{
    cJSON **v = calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = cJSON_Parse(lines[i]);
    return v;
}

static void free_lines(cJSON **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(v[i]);
    free(v);
}

static void infer_default_shape(void **state)
{
    const char *lines[] = {"{\"id\":\"a\",\"ts\":1700000000.5,\"x\":{\"t\":1,\"d\":\"a7\"},\"y\":1}",
                           "{\"id\":\"b\",\"ts\":1700000001,\"x\":{\"t\":2},\"y\":0}", "not json"};
    cJSON **v = parse_lines(lines, 3);
    schema_params p;
    char *notes = NULL;
    assert_int_equal(schema_infer((const cJSON *const *)v, 3, &p, &notes, NULL), DD_OK);
    assert_string_equal(p.features, "x");
    assert_string_equal(p.field[SCHEMA_ID], "id");
    assert_string_equal(p.field[SCHEMA_TS], "ts");
    assert_int_equal(p.ts_unit, SCHEMA_TS_S);
    assert_string_equal(p.field[SCHEMA_LABEL], "y");
    assert_int_equal(p.label_type, SCHEMA_LABEL_NUMBER);
    assert_string_equal(p.field[SCHEMA_TEXT], "");
    assert_non_null(strstr(notes, "string (categorical)"));
    free(notes);
    free_lines(v, 3);
}

static void infer_flat_stream(void **state)
{
    enum { N = 30 };
    char *lines[N];
    for (int i = 0; i < N; i++) {
        lines[i] = malloc(512);
        snprintf(lines[i], 512,
                 "{\"uuid\":%d,\"@timestamp\":%lld,\"amount\":%d.5,\"merchant\":\"m%d\","
                 "\"session\":\"s-%d-x\",\"review\":\"this is a long free text review "
                 "number %d\",\"embedding\":[1,2,3,4,5,6,7,8],\"class\":\"%s\"}",
                 i, 1700000000000LL + i, i, i % 3, i, i, i % 2 ? "spam" : "ham");
    }
    cJSON **v = parse_lines((const char *const *)lines, N);
    schema_params p;
    char *notes = NULL;
    assert_int_equal(schema_infer((const cJSON *const *)v, N, &p, &notes, NULL), DD_OK);
    assert_string_equal(p.features, ".");
    assert_string_equal(p.field[SCHEMA_ID], "uuid");
    assert_string_equal(p.field[SCHEMA_TS], "@timestamp");
    assert_int_equal(p.ts_unit, SCHEMA_TS_MS);
    assert_string_equal(p.field[SCHEMA_LABEL], "class");
    assert_int_equal(p.label_type, SCHEMA_LABEL_CLASS);
    assert_string_equal(p.field[SCHEMA_TEXT], "review");
    assert_string_equal(p.field[SCHEMA_EMB], "embedding");
    assert_string_equal(p.exclude, "session"); /* unique per line: an identifier */
    /* The inferred mapping parses the samples into the expected events. */
    schema *s = schema_new(&p, NULL);
    dd_event *ev = map_ok(s, lines[3]);
    assert_int_equal(ev->nfeat, 2); /* amount, merchant */
    assert_string_equal(ev->y.str, "spam");
    assert_close(ev->ts, 1700000000.003, 1e-6);
    assert_int_equal(ev->nemb, 8);
    event_free(ev);
    schema_free(s);
    free(notes);
    free_lines(v, N);
    for (int i = 0; i < N; i++)
        free(lines[i]);
    assert_int_equal(schema_infer(NULL, 0, &p, NULL, NULL), DD_EINVAL);
}

static void infer_task_from_labels(void **state)
{
    const char *bin[] = {"{\"x\":{\"a\":1},\"y\":0}", "{\"x\":{\"a\":2},\"y\":1}",
                         "{\"x\":{\"a\":3},\"y\":1}", "{\"x\":{\"a\":4}}"};
    const char *multi[] = {"{\"k\":1,\"label\":\"cat\"}", "{\"k\":2,\"label\":\"dog\"}",
                           "{\"k\":3,\"label\":\"cow\"}"};
    const char *none[] = {"{\"x\":{\"a\":1}}"};
    schema_params p;
    uint32_t classes = 0;
    cJSON **v = parse_lines(bin, 4);
    assert_int_equal(schema_infer((const cJSON *const *)v, 4, &p, NULL, NULL), DD_OK);
    assert_string_equal(schema_infer_task((const cJSON *const *)v, 4, &p, &classes), "binary");
    assert_int_equal(classes, 2);
    p.label_type = SCHEMA_LABEL_REGRESSION;
    assert_string_equal(schema_infer_task((const cJSON *const *)v, 4, &p, &classes),
                        "regression");
    free_lines(v, 4);
    v = parse_lines(multi, 3);
    assert_int_equal(schema_infer((const cJSON *const *)v, 3, &p, NULL, NULL), DD_OK);
    assert_string_equal(schema_infer_task((const cJSON *const *)v, 3, &p, &classes),
                        "multiclass");
    assert_int_equal(classes, 3);
    free_lines(v, 3);
    v = parse_lines(none, 1);
    assert_int_equal(schema_infer((const cJSON *const *)v, 1, &p, NULL, NULL), DD_OK);
    assert_null(schema_infer_task((const cJSON *const *)v, 1, &p, &classes));
    free_lines(v, 1);
}

/* Inputs the fuzz harnesses (tests/fuzz_*.c) found, kept as regressions. */
static void fuzz_regressions(void **state)
{
    /* A feature name over max_string used to write through an uninitialized
     * path length (heap overflow, found by fuzz_schema). */
    event_limits lim = {.max_string = 4};
    const char *json = "{\"x\":{\"longname\":1}}";
    dd_event *ev = NULL;
    assert_int_equal(event_parse_json(json, strlen(json), &lim, NULL, &ev, NULL), DD_ELIMIT);
    assert_null(ev);
    const char *nested = "{\"ab\":{\"cdef\":1}}";
    assert_int_equal(event_parse_json(nested, strlen(nested), &lim, NULL, &ev, NULL), DD_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(configured_paths_for_every_role),
        cmocka_unit_test(flat_shape_with_configured_roles),
        cmocka_unit_test(label_inside_features_never_leaks),
        cmocka_unit_test(include_and_exclude_lists),
        cmocka_unit_test(timestamps),
        cmocka_unit_test(label_types),
        cmocka_unit_test(duplicate_keys_make_the_message_malformed),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(ini_round_trip),
        cmocka_unit_test(infer_default_shape),
        cmocka_unit_test(infer_flat_stream),
        cmocka_unit_test(infer_task_from_labels),
        cmocka_unit_test(fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
