/*
 * test_event.c: the JSON event parser. Good events, every field, and each
 * kind of bad input: each gets its error code and a cause, never a crash.
 */
#include "event.h"

#include "testutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dd_event *parse_ok(const char *s)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    dd_err err = event_parse_json(s, strlen(s), NULL, NULL, &ev, &cause);
    if (err)
        fail_msg("parse of %s failed: %s", s, cause ? cause : "?");
    free(cause);
    return ev;
}

static dd_err parse_err(const char *s, size_t len, const event_limits *lim)
{
    dd_event *ev = NULL;
    char *cause = NULL;
    dd_err err = event_parse_json(s, len, lim, NULL, &ev, &cause);
    assert_null(ev);
    if (err)
        assert_non_null(cause); /* every error says why */
    free(cause);
    return err;
}

#define ERR(s) parse_err((s), strlen(s), NULL)

static void full_event(void **state)
{
    dd_event *ev = parse_ok("{\"id\":\"e-1042\",\"ts\":1700000000.125,"
                            "\"x\":{\"temp\":21.4,\"device\":\"a7\",\"ok\":true,\"gap\":null},"
                            "\"y\":1,\"group\":\"eu\"}");
    assert_int_equal(ev->kind, DD_EV_DATA);
    assert_string_equal(ev->id, "e-1042");
    assert_true(ev->has_ts);
    assert_close(ev->ts, 1700000000.125, 0);
    assert_int_equal(ev->y.kind, DD_LABEL_NUM);
    assert_close(ev->y.num, 1, 0);
    assert_string_equal(ev->group, "eu");
    assert_int_equal(ev->nfeat, 4);
    const dd_feature *f = event_find(ev, "temp");
    assert_non_null(f);
    assert_int_equal(f->kind, DD_VAL_NUM);
    assert_close(f->num, 21.4, 0);
    f = event_find(ev, "device");
    assert_int_equal(f->kind, DD_VAL_STR);
    assert_string_equal(f->str, "a7");
    assert_close(event_find(ev, "ok")->num, 1, 0);
    assert_int_equal(event_find(ev, "gap")->kind, DD_VAL_MISSING);
    event_free(ev);
}

static void only_x_required(void **state)
{
    dd_event *ev = parse_ok("{\"x\":{\"0\":1.5,\"1\":-2}}");
    assert_null(ev->id);
    assert_false(ev->has_ts);
    assert_int_equal(ev->y.kind, DD_LABEL_NONE);
    assert_int_equal(ev->nfeat, 2);
    assert_close(event_find(ev, "0")->num, 1.5, 0); /* digit names are ordinary names */
    event_default_ts(ev, 42.0);
    assert_close(ev->ts, 42.0, 0);
    event_free(ev);
}

static void ts_kept_over_receive_time(void **state)
{
    dd_event *ev = parse_ok("{\"ts\":10,\"x\":{\"a\":1}}");
    event_default_ts(ev, 99.0);
    assert_close(ev->ts, 10.0, 0);
    assert_close(ev->recv_ts, 99.0, 0);
    event_free(ev);
}

static void numeric_id_and_string_label(void **state)
{
    dd_event *ev = parse_ok("{\"id\":17,\"x\":{\"a\":1},\"y\":\"cat\"}");
    assert_string_equal(ev->id, "17");
    assert_int_equal(ev->y.kind, DD_LABEL_STR);
    assert_string_equal(ev->y.str, "cat");
    event_free(ev);
}

static void delayed_label_and_delete(void **state)
{
    dd_event *ev = parse_ok("{\"id\":\"e-1\",\"y\":0}");
    assert_int_equal(ev->kind, DD_EV_LABEL);
    assert_int_equal(ev->nfeat, 0);
    event_free(ev);
    ev = parse_ok("{\"id\":\"e-1\",\"op\":\"delete\"}");
    assert_int_equal(ev->kind, DD_EV_DELETE);
    event_free(ev);
    assert_int_equal(ERR("{\"op\":\"delete\"}"), DD_EPARSE);
    assert_int_equal(ERR("{\"id\":\"e\",\"op\":\"drop\"}"), DD_ETYPE);
}

static void flat_objects_and_nesting(void **state)
{
    /* Without x, every field but the conventional ones is a feature. */
    dd_event *ev = parse_ok("{\"id\":\"a\",\"time\":5,\"label\":1,\"t\":3,\"dev\":{\"k\":2},"
                            "\"v\":[7,8]}");
    assert_int_equal(ev->nfeat, 4);
    assert_close(event_find(ev, "t")->num, 3, 0);
    assert_close(event_find(ev, "dev.k")->num, 2, 0);
    assert_close(event_find(ev, "v.1")->num, 8, 0);
    assert_close(ev->ts, 5, 0);
    assert_close(ev->y.num, 1, 0);
    event_free(ev);
}

static void carried_embedding_and_text(void **state)
{
    dd_event *ev = parse_ok("{\"x\":{\"a\":1},\"text\":\"hello\",\"emb\":[0.5,-1,2]}");
    assert_string_equal(ev->text, "hello");
    assert_int_equal(ev->nemb, 3);
    assert_close(ev->emb[2], 2, 0);
    event_free(ev);
    assert_int_equal(ERR("{\"x\":{\"a\":1},\"emb\":[1,\"b\"]}"), DD_ETYPE);
}

static void missing_or_empty_features(void **state)
{
    assert_int_equal(ERR("{\"id\":\"a\"}"), DD_EPARSE);
    assert_int_equal(ERR("{\"x\":{}}"), DD_EPARSE);
    assert_int_equal(ERR("{}"), DD_EPARSE);
}

static void wrong_types(void **state)
{
    assert_int_equal(ERR("[1,2]"), DD_ETYPE);
    assert_int_equal(ERR("42"), DD_ETYPE);
    assert_int_equal(ERR("{\"x\":[1,2]}"), DD_ETYPE);
    assert_int_equal(ERR("{\"x\":{\"a\":1},\"y\":[1]}"), DD_ETYPE);
    assert_int_equal(ERR("{\"x\":{\"a\":1},\"ts\":\"yesterday\"}"), DD_ETYPE);
    assert_int_equal(ERR("{\"x\":{\"a\":1},\"id\":{}}"), DD_ETYPE);
}

static void huge_and_non_finite_numbers(void **state)
{
    assert_int_equal(ERR("{\"x\":{\"a\":1e400}}"), DD_ENONFINITE); /* cJSON makes it inf */
    assert_int_equal(ERR("{\"x\":{\"a\":-1e400}}"), DD_ENONFINITE);
    assert_int_equal(ERR("{\"x\":{\"a\":1e300}}"), DD_ELIMIT);
    assert_int_equal(ERR("{\"x\":{\"a\":1},\"y\":1e999}"), DD_ENONFINITE);
    assert_int_equal(ERR("{\"x\":{\"a\":NaN}}"), DD_EPARSE);
    assert_int_equal(ERR("{\"x\":{\"a\":Infinity}}"), DD_EPARSE);
    dd_event *ev = parse_ok("{\"x\":{\"a\":1e15}}");
    event_free(ev);
}

static void deep_nesting(void **state)
{
    char buf[4096];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"x\":");
    for (int i = 0; i < 1500; i++)
        buf[n++] = '[';
    buf[n] = '\0';
    assert_int_equal(parse_err(buf, n, NULL), DD_ELIMIT);
    event_limits lim = {.max_depth = 3};
    const char *deep = "{\"x\":{\"a\":{\"b\":{\"c\":1}}}}";
    assert_int_equal(parse_err(deep, strlen(deep), &lim), DD_ELIMIT);
}

static void invalid_utf8(void **state)
{
    assert_int_equal(ERR("{\"x\":{\"a\":\"\xff\xfe\"}}"), DD_EPARSE);
    assert_int_equal(ERR("{\"x\":{\"a\":\"\xc0\xaf\"}}"), DD_EPARSE);   /* overlong '/' */
    assert_int_equal(ERR("{\"x\":{\"a\":\"\xed\xa0\x80\"}}"), DD_EPARSE); /* surrogate */
    assert_int_equal(ERR("{\"x\":{\"a\":\"\xe2\x82\"}}"), DD_EPARSE);   /* truncated */
    dd_event *ev = parse_ok("{\"x\":{\"t\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}}");
    event_free(ev);
}

static void empty_lines_and_garbage(void **state)
{
    assert_int_equal(ERR(""), DD_EPARSE);
    assert_int_equal(ERR("   \n"), DD_EPARSE);
    assert_int_equal(ERR("{\"x\":{\"a\":1}"), DD_EPARSE);
    assert_int_equal(ERR("{\"x\":{\"a\":1}} trailing"), DD_EPARSE);
    assert_int_equal(parse_err("{\"x\":{\"a\":\0}}", 13, NULL), DD_EPARSE);
    dd_event *ev = parse_ok("{\"x\":{\"a\":1}}\r\n");
    event_free(ev);
}

static void duplicate_features_refused(void **state)
{
    assert_int_equal(ERR("{\"x\":{\"a\":1,\"a\":2}}"), DD_EPARSE);
    /* Beyond the quadratic check's range, the sorted check finds it too. */
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"x\":{");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "\"f%d\":%d,", i, i);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "\"f50\":1}}");
    assert_int_equal(parse_err(buf, n, NULL), DD_EPARSE);
}

static void limits(void **state)
{
    event_limits lim = {.max_bytes = 20};
    assert_int_equal(parse_err("{\"x\":{\"abcdef\":123456789}}", 26, &lim), DD_ELIMIT);
    event_limits lf = {.max_features = 2};
    const char *three = "{\"x\":{\"a\":1,\"b\":2,\"c\":3}}";
    assert_int_equal(parse_err(three, strlen(three), &lf), DD_ELIMIT);
    event_limits ls = {.max_string = 4};
    const char *longs = "{\"x\":{\"a\":\"hello\"}}";
    assert_int_equal(parse_err(longs, strlen(longs), &ls), DD_ELIMIT);
}

static void json_array_of_events(void **state)
{
    const char *s = "[{\"x\":{\"a\":1}},{\"x\":{\"a\":2}}]";
    cJSON *root = NULL;
    assert_int_equal(event_json_parse(s, strlen(s), NULL, &root, NULL), DD_OK);
    assert_true(cJSON_IsArray(root));
    int n = 0;
    for (cJSON *c = root->child; c; c = c->next) {
        dd_event *ev = NULL;
        assert_int_equal(event_from_json(c, NULL, NULL, &ev, NULL), DD_OK);
        assert_close(ev->feat[0].num, ++n, 0);
        event_free(ev);
    }
    assert_int_equal(n, 2);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_event),
        cmocka_unit_test(only_x_required),
        cmocka_unit_test(ts_kept_over_receive_time),
        cmocka_unit_test(numeric_id_and_string_label),
        cmocka_unit_test(delayed_label_and_delete),
        cmocka_unit_test(flat_objects_and_nesting),
        cmocka_unit_test(carried_embedding_and_text),
        cmocka_unit_test(missing_or_empty_features),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(huge_and_non_finite_numbers),
        cmocka_unit_test(deep_nesting),
        cmocka_unit_test(invalid_utf8),
        cmocka_unit_test(empty_lines_and_garbage),
        cmocka_unit_test(duplicate_features_refused),
        cmocka_unit_test(limits),
        cmocka_unit_test(json_array_of_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
