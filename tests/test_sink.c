/* test_sink.c: prediction sinks: the line format (binary, regression, ids
 * that need escaping or are absent), drops counted when a consumer is slow
 * or absent (never a blocked producer under policy drop), files written in
 * order, and the set refusing what cannot work. */
#include "sink.h"

#include "event.h"
#include "pipeline.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dd_event *ev_of(const char *json)
{
    dd_event *ev = NULL;
    assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
    return ev;
}

static cJSON *parse_line(const char *line)
{
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    return j;
}

static void binary_prediction_line(void **state)
{
    (void)state;
    dd_event *ev = ev_of("{\"id\":\"e-\\\"7\\\"\",\"x\":{\"a\":1}}");
    ev->seq = 41;
    pipeline_result res = {0};
    res.predicted = true;
    res.out.cls = 1;
    res.out.score = 0.8125;
    char *line = sink_format(ev, &res, 3, 1.5);
    cJSON *j = parse_line(line);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "prediction");
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "e-\"7\"");
    assert_close(cJSON_GetObjectItem(j, "seq")->valuedouble, 41, 0);
    assert_close(cJSON_GetObjectItem(j, "model_version")->valuedouble, 3, 0);
    assert_close(cJSON_GetObjectItem(j, "pred")->valuedouble, 1, 0);
    assert_close(cJSON_GetObjectItem(j, "prob")->valuedouble, 0.8125, 0);
    assert_close(cJSON_GetObjectItem(j, "latency_ms")->valuedouble, 1.5, 1e-9);
    cJSON_Delete(j);
    free(line);
    event_free(ev);
}

static void regression_and_missing_id(void **state)
{
    (void)state;
    dd_event *ev = ev_of("{\"x\":{\"a\":1}}");
    pipeline_result res = {0};
    res.predicted = true;
    res.out.cls = -1;
    res.out.score = -2.000000000000001;
    char *line = sink_format(ev, &res, 1, -1);
    cJSON *j = parse_line(line);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "id")));
    assert_true(cJSON_GetObjectItem(j, "pred")->valuedouble == -2.000000000000001);
    assert_null(cJSON_GetObjectItem(j, "prob"));
    assert_null(cJSON_GetObjectItem(j, "latency_ms"));
    cJSON_Delete(j);
    free(line);
    event_free(ev);
}

static void full_queue_drops_and_counts_without_blocking(void **state)
{
    (void)state;
    sink *s = sink_queue_new("test", 2, SINK_DROP, NULL, NULL, NULL);
    for (int i = 0; i < 5; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "l%d", i);
        sink_push(s, strdup(buf)); /* would hang here if drop blocked */
    }
    const sink_stats *st = sink_get_stats(s);
    assert_int_equal(atomic_load(&st->queued), 2);
    assert_int_equal(atomic_load(&st->dropped), 3);
    size_t n;
    char *l = sink_pop(s, &n);
    assert_string_equal(l, "l0"); /* the oldest kept: drops are the newest */
    assert_int_equal(n, 2);
    free(l);
    sink_free(s); /* the one left unsent is counted as dropped */
}

static void unsent_lines_at_close_are_counted(void **state)
{
    (void)state;
    sink *s = sink_queue_new("test", 4, SINK_DROP, NULL, NULL, NULL);
    sink_push(s, strdup("a"));
    sink_push(s, strdup("b"));
    sink_close(s);
    assert_int_equal(atomic_load(&sink_get_stats(s)->dropped), 2);
    sink_push(s, strdup("c")); /* after close: dropped, not lost silently */
    assert_int_equal(atomic_load(&sink_get_stats(s)->dropped), 3);
    sink_free(s);
}

static void file_sink_writes_every_line_in_order(void **state)
{
    (void)state;
    char path[] = "/tmp/dd-test-sink-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sink *s = sink_file_new(path, 8, SINK_BLOCK, NULL);
    assert_int_equal(sink_start(s, NULL), DD_OK);
    for (int i = 0; i < 1000; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "{\"n\":%d}", i);
        sink_push(s, strdup(buf)); /* policy block: waits for the writer, never drops */
    }
    sink_close(s);
    assert_int_equal(atomic_load(&sink_get_stats(s)->written), 1000);
    assert_int_equal(atomic_load(&sink_get_stats(s)->dropped), 0);
    sink_free(s);
    FILE *f = fopen(path, "r");
    char line[64];
    for (int i = 0; i < 1000; i++) {
        char want[32];
        snprintf(want, sizeof want, "{\"n\":%d}\n", i);
        assert_non_null(fgets(line, sizeof line, f));
        assert_string_equal(line, want);
    }
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    unlink(path);
}

static dd_err fake_send(void *ctx, const char *key, const char *line, size_t len)
{
    int *calls = ctx;
    (*calls)++;
    (void)len;
    assert_non_null(strstr(line, "\"type\":\"prediction\""));
    assert_string_equal(key, "k-1");
    return *calls == 2 ? DD_EFULL : *calls == 3 ? DD_EIO : DD_OK;
}

static void direct_sink_counts_each_outcome(void **state)
{
    (void)state;
    int calls = 0;
    sinkset_params p = {0};
    sinkset *ss = sinkset_new(&p, NULL, NULL);
    assert_int_equal(sinkset_add(ss, sink_direct_new("fake", fake_send, NULL, &calls, NULL)),
                     DD_OK);
    dd_event *ev = ev_of("{\"id\":\"k-1\",\"x\":{\"a\":1}}");
    pipeline_result res = {0};
    res.predicted = true;
    res.out.cls = 0;
    for (int i = 0; i < 3; i++)
        sinkset_emit(ss, ev, &res, 1);
    res.predicted = false; /* a delayed label: nothing to send */
    sinkset_emit(ss, ev, &res, 1);
    const sink_stats *st = sink_get_stats(sinkset_get(ss, 0));
    assert_int_equal(calls, 3);
    assert_int_equal(atomic_load(&st->written), 1);
    assert_int_equal(atomic_load(&st->dropped), 1);
    assert_int_equal(atomic_load(&st->failed), 1);
    event_free(ev);
    sinkset_free(ss);
}

static void sinkset_refuses_what_cannot_work(void **state)
{
    (void)state;
    char *cause = NULL;
    sinkset_params p = {"stdout,bogus", "x", NULL, 4, SINK_DROP};
    assert_null(sinkset_new(&p, NULL, &cause));
    assert_non_null(strstr(cause, "bogus"));
    free(cause);
    cause = NULL;
    p.list = "ws";
    assert_null(sinkset_new(&p, NULL, &cause));
    assert_non_null(strstr(cause, "ws:// or wss:// source"));
    free(cause);
    cause = NULL;
    p.list = "file";
    p.file = "/nonexistent/dir/p.jsonl";
    assert_null(sinkset_new(&p, NULL, &cause));
    assert_non_null(strstr(cause, "/nonexistent/dir/p.jsonl"));
    free(cause);
    p.list = "";
    sinkset *ss = sinkset_new(&p, NULL, NULL);
    assert_non_null(ss);
    assert_int_equal(sinkset_count(ss), 0);
    sinkset_free(ss);
    sinkset_free(NULL);
    sink_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_prediction_line),
        cmocka_unit_test(regression_and_missing_id),
        cmocka_unit_test(full_queue_drops_and_counts_without_blocking),
        cmocka_unit_test(unsent_lines_at_close_are_counted),
        cmocka_unit_test(file_sink_writes_every_line_in_order),
        cmocka_unit_test(direct_sink_counts_each_outcome),
        cmocka_unit_test(sinkset_refuses_what_cannot_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
