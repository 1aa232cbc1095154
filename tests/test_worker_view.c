/*
 * test_worker_view.c: the console's worker output, driven like the worker
 * drives it (event, alarm, tick callbacks) on a real pipeline and fake
 * sources: commands act on the right thing (a replay's source, a live
 * stream's learning), every command is answered with its id, decisions go
 * to the decider with the user, exports are written and say where, and the
 * snapshot carries the samples, markers and log rows.
 */
#include "testutil.h"

#include "command.h"
#include "event.h"
#include "pipeline.h"
#include "queue.h"
#include "snapshot.h"
#include "source.h"
#include "worker_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ctl_calls[4];
static double ctl_last_arg;

static void fake_control(source *s, source_ctl_kind kind, double arg)
{
    (void)s;
    ctl_calls[kind]++;
    ctl_last_arg = arg;
}

static const struct source_ops replay_ops = {.kind = "file", .control = fake_control};
static const struct source_ops live_ops = {.kind = "stdin"};

typedef struct fixture {
    pipeline *pipe;
    snap_board *board;
    queue *cmdq;
    source src;
    source *srcs[1];
    wview *view;
    worker_output out;
    char dir[64];
} fixture;

static fixture *setup(bool live)
{
    fixture *f = calloc(1, sizeof *f);
    pipeline_params pp;
    pipeline_params_default(&pp);
    f->pipe = pipeline_new(&pp, NULL);
    assert_non_null(f->pipe);
    f->board = snap_board_new();
    f->cmdq = queue_new(16);
    f->src.ops = live ? &live_ops : &replay_ops;
    f->src.spec = live ? "-" : "file:x.jsonl";
    f->srcs[0] = &f->src;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_wview.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    wview_params vp = {.sample_every = 5, .speed = 1, .workspace = f->dir};
    f->view = wview_new(f->board, f->cmdq, f->srcs, 1, &vp);
    assert_non_null(f->view);
    f->out = wview_output(f->view);
    memset(ctl_calls, 0, sizeof ctl_calls);
    return f;
}

static void teardown(fixture *f)
{
    wview_free(f->view);
    queue_free(f->cmdq, free);
    snap_board_free(f->board);
    pipeline_free(f->pipe);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* One tick as the worker makes it; returns the published snapshot. */
static const dd_snapshot *tick(fixture *f)
{
    worker_status st = {.events = pipeline_get_stats(f->pipe)->events, .queue_cap = 16};
    f->out.tick(f->out.ctx, f->pipe, &st);
    bool fresh;
    const dd_snapshot *s = snap_board_latest(f->board, &fresh);
    assert_true(fresh);
    return s;
}

static void feed(fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char line[128];
        int len = snprintf(line, sizeof line, "{\"x\": {\"a\": %d}, \"y\": %d}", i % 7, i % 2);
        dd_event *ev = NULL;
        assert_int_equal(event_parse_json(line, (size_t)len, NULL, NULL, &ev, NULL), DD_OK);
        ev->ts = 1700000000.0 + i;
        pipeline_result res;
        assert_int_equal(pipeline_process(f->pipe, ev, &res), DD_OK);
        f->out.event(f->out.ctx, ev, &res);
        event_free(ev);
    }
}

static void send(fixture *f, cmd_kind kind, uint64_t id, uint64_t version, const char *format)
{
    dd_command c = {.kind = (uint8_t)kind, .id = id, .version = version, .speed = 4};
    snprintf(c.user, sizeof c.user, "alice");
    if (format)
        snprintf(c.format, sizeof c.format, "%s", format);
    assert_int_equal(queue_push(f->cmdq, cmd_dup(&c), 0), QUEUE_OK);
}

static void pause_stops_a_replay_and_freezes_a_live_stream(void **state)
{
    (void)state;
    fixture *f = setup(false);
    tick(f); /* the view learns the pipeline */
    send(f, CMD_PAUSE, 1, 0, NULL);
    const dd_snapshot *s = tick(f);
    assert_int_equal(ctl_calls[SOURCE_CTL_PAUSE], 1);
    assert_int_equal(s->run_state, SNAP_PAUSED);
    assert_int_equal(s->result_id, 1);
    assert_int_equal(s->result_err, DD_OK);
    assert_true(pipeline_learning(f->pipe));
    assert_non_null(strstr(snap_log_newest(s, 0)->text, "paused by alice"));
    send(f, CMD_STEP, 2, 0, NULL);
    send(f, CMD_SPEED, 3, 0, NULL);
    send(f, CMD_RESUME, 4, 0, NULL);
    s = tick(f);
    assert_int_equal(ctl_calls[SOURCE_CTL_STEP], 1);
    assert_int_equal(ctl_calls[SOURCE_CTL_SPEED], 1);
    assert_close(ctl_last_arg, 0, 0); /* resume's arg */
    assert_close(s->speed, 4, 0);
    assert_int_equal(s->run_state, SNAP_RUNNING);
    assert_int_equal(s->result_id, 4);
    teardown(f);

    f = setup(true);
    tick(f);
    assert_true(tick(f)->source_live);
    send(f, CMD_PAUSE, 7, 0, NULL);
    s = tick(f);
    assert_int_equal(s->run_state, SNAP_LEARNING_FROZEN);
    assert_false(pipeline_learning(f->pipe));
    send(f, CMD_RESUME, 8, 0, NULL);
    tick(f);
    assert_true(pipeline_learning(f->pipe));
    teardown(f);
}

static char seen_user[32];
static uint64_t seen_version;

static dd_err fake_approve(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                           size_t n, char **cause)
{
    (void)ctx;
    (void)p;
    (void)cause;
    seen_version = version;
    snprintf(seen_user, sizeof seen_user, "%s", user);
    snprintf(text, n, "v%llu is active", (unsigned long long)version);
    return DD_OK;
}

static dd_err fake_rollback(void *ctx, pipeline *p, uint64_t version, const char *user, char *text,
                            size_t n, char **cause)
{
    (void)ctx;
    (void)p;
    (void)version;
    (void)user;
    (void)text;
    (void)n;
    return dd_fail(cause, DD_ENOTFOUND, "no earlier version");
}

static char audited[256];

static void fake_audit(void *ctx, const char *user, const char *action, const char *detail)
{
    (void)ctx;
    size_t n = strlen(audited);
    snprintf(audited + n, sizeof audited - n, "%s:%s:%s;", user, action, detail);
}

static void run_changes_are_audited_with_the_user(void **state)
{
    (void)state;
    fixture *f = setup(false);
    wview_decider d = {.audit = fake_audit};
    wview_set_decider(f->view, &d);
    audited[0] = '\0';
    tick(f);
    send(f, CMD_PAUSE, 1, 0, NULL);
    send(f, CMD_VIEW, 2, 0, NULL); /* looking changes nothing: not audited */
    send(f, CMD_SPEED, 3, 0, NULL);
    tick(f);
    assert_string_equal(audited, "alice:pause:PAUSED;alice:speed:speed x4;");
    teardown(f);
}

static void decisions_go_to_the_decider_with_the_user(void **state)
{
    (void)state;
    fixture *f = setup(false);
    tick(f);
    send(f, CMD_APPROVE, 1, 5, NULL);
    const dd_snapshot *s = tick(f);
    assert_int_equal(s->result_err, DD_ESTATE); /* no decider: said, not silent */
    assert_non_null(strstr(s->result_text, "no model registry"));
    wview_decider d = {.approve = fake_approve, .rollback = fake_rollback};
    wview_set_decider(f->view, &d);
    send(f, CMD_APPROVE, 2, 5, NULL);
    s = tick(f);
    assert_int_equal(s->result_id, 2);
    assert_int_equal(s->result_err, DD_OK);
    assert_string_equal(s->result_text, "v5 is active");
    assert_string_equal(seen_user, "alice");
    assert_int_equal(seen_version, 5);
    assert_int_equal(snap_log_newest(s, 0)->kind, SNAP_LOG_APPROVAL);
    send(f, CMD_ROLLBACK, 3, 0, NULL);
    s = tick(f);
    assert_int_equal(s->result_err, DD_ENOTFOUND);
    assert_non_null(strstr(s->result_text, "no earlier version"));
    send(f, CMD_REJECT, 4, 0, NULL); /* the decider has no reject */
    assert_int_equal(tick(f)->result_err, DD_ESTATE);
    teardown(f);
}

static void events_and_alarms_fill_the_charts_and_the_log(void **state)
{
    (void)state;
    fixture *f = setup(false);
    tick(f);
    feed(f, 50);
    pipeline_alarm a = {.watch = "error", .detector = "adwin", .level = DRIFT_DRIFT, .event = 42};
    f->out.alarm(f->out.ctx, &a, NULL);
    pipeline_alarm b = {.watch = "feature",
                        .feature = "temp",
                        .detector = "kswin",
                        .level = DRIFT_WARNING,
                        .event = 43,
                        .statistic = 0.5};
    f->out.alarm(f->out.ctx, &b, NULL);
    const dd_snapshot *s = tick(f);
    assert_int_equal(s->events, 50);
    assert_int_equal(s->chart.count, 10); /* one sample per 5 events */
    assert_int_equal(s->chart.pos[snap_chart_slot(&s->chart, 9)], 50);
    float acc = s->chart.val[SNAP_S_ACC_ACTIVE][snap_chart_slot(&s->chart, 9)];
    assert_true(acc >= 0 && acc <= 1);
    assert_true(isnan(s->chart.val[SNAP_S_ACC_CHALLENGER][0]));
    assert_int_equal(s->marker_count, 1); /* error-stream alarms only */
    assert_int_equal(snap_marker_at(s, 0)->kind, SNAP_MK_DRIFT);
    assert_int_equal(snap_marker_at(s, 0)->pos, 42);
    assert_int_equal(s->nfeatures, 1);
    assert_string_equal(s->features[0].name, "temp");
    assert_int_equal(snap_log_newest(s, 0)->kind, SNAP_LOG_WARNING);
    assert_non_null(strstr(snap_log_newest(s, 1)->text, "adwin drift on error at event 42"));
    teardown(f);
}

static void source_changes_reach_the_log(void **state)
{
    (void)state;
    fixture *f = setup(true);
    atomic_store(&f->src.stats.state, SOURCE_CONNECTED);
    tick(f);
    snprintf(f->src.last_error, sizeof f->src.last_error, "connection refused");
    atomic_store(&f->src.stats.state, SOURCE_RECONNECTING);
    atomic_store(&f->src.stats.next_retry_ms, 3000);
    const dd_snapshot *s = tick(f);
    assert_int_equal(s->source_state, SOURCE_RECONNECTING);
    assert_int_equal(s->retry_in_ms, 3000);
    assert_int_equal(snap_log_newest(s, 0)->kind, SNAP_LOG_RECONNECT);
    assert_non_null(strstr(snap_log_newest(s, 0)->text, "reconnecting (connection refused)"));
    atomic_store(&f->src.stats.state, SOURCE_CONNECTED);
    s = tick(f);
    assert_non_null(strstr(snap_log_newest(s, 0)->text, "connected again"));
    uint32_t n = s->log_count;
    assert_int_equal(tick(f)->log_count, n); /* no change, no row */
    atomic_store(&f->src.stats.state, SOURCE_FAILED);
    assert_int_equal(snap_log_newest(tick(f), 0)->kind, SNAP_LOG_ERROR);
    teardown(f);
}

static void export_writes_and_says_where(void **state)
{
    (void)state;
    fixture *f = setup(false);
    tick(f);
    feed(f, 20);
    send(f, CMD_EXPORT, 1, 0, "csv");
    const dd_snapshot *s = tick(f);
    assert_int_equal(s->result_err, DD_OK);
    const char *path = strstr(s->result_text, "wrote ");
    assert_non_null(path);
    path += 6;
    assert_memory_equal(path, f->dir, strlen(f->dir));
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[256];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "kind,event,accuracy,error,adwin_width,page_hinkley,prediction_mean,"
                              "text\n");
    assert_non_null(fgets(line, sizeof line, fp));
    assert_memory_equal(line, "sample,5,", 9);
    fclose(fp);
    send(f, CMD_EXPORT, 2, 0, "html"); /* the view's own export does not make HTML */
    s = tick(f);
    assert_int_equal(s->result_id, 2);
    assert_int_equal(s->result_err, DD_EINVAL);
    teardown(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pause_stops_a_replay_and_freezes_a_live_stream),
        cmocka_unit_test(decisions_go_to_the_decider_with_the_user),
        cmocka_unit_test(run_changes_are_audited_with_the_user),
        cmocka_unit_test(events_and_alarms_fill_the_charts_and_the_log),
        cmocka_unit_test(source_changes_reach_the_log),
        cmocka_unit_test(export_writes_and_says_where),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
