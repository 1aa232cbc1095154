/*
 * console_sim.c: the console on a simulated worker, for developing and
 * testing the UI layer alone (tests/test_console_ui.sh, bench_console).
 *
 * A thread plays a worker: it "processes" events (a drifting accuracy curve,
 * a drift every 3000 events, a candidate awaiting approval after each),
 * answers commands from the queue as the real worker would (pause, step,
 * speed, approve, reject, rollback, export writes a file, view), and
 * publishes a snapshot at 20 Hz. Usage: console_sim [--fast] [--headless-ms N]
 */
#include "command.h"
#include "console.h"
#include "queue.h"
#include "snapshot.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct sim {
    snap_board *board;
    queue *cmdq;
    atomic_bool stop;
    bool fast;     /* no pacing: as fast as the CPU goes */
    double credit; /* events owed by the pacing */
    dd_snapshot s; /* the working snapshot */
    uint64_t vers; /* versions made */
    uint64_t prev_active;
    char export_dir[256];
} sim;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add_version(sim *m, const char *trigger, const char *status)
{
    dd_snapshot *s = &m->s;
    memmove(&s->versions[1], &s->versions[0], sizeof s->versions[0] * (SNAP_VERSION_CAP - 1));
    if (s->nversions < SNAP_VERSION_CAP)
        s->nversions++;
    snap_version *v = &s->versions[0];
    memset(v, 0, sizeof *v);
    v->id = ++m->vers;
    v->parent = s->active_version;
    snprintf(v->trigger, sizeof v->trigger, "%s", trigger);
    snprintf(v->status, sizeof v->status, "%s", status);
    v->accuracy = 0.8;
    v->created = 1700000000.0 + (double)s->events;
}

static snap_version *find_version(sim *m, uint64_t id)
{
    for (uint32_t i = 0; i < m->s.nversions; i++)
        if (m->s.versions[i].id == id)
            return &m->s.versions[i];
    return NULL;
}

static void set_status(sim *m, uint64_t id, const char *status)
{
    snap_version *v = find_version(m, id);
    if (v)
        snprintf(v->status, sizeof v->status, "%s", status);
}

static void answer(sim *m, const dd_command *c, dd_err err, const char *text)
{
    m->s.result_id = c->id;
    m->s.result_err = err;
    snprintf(m->s.result_text, sizeof m->s.result_text, "%.159s", text);
}

static void do_command(sim *m, const dd_command *c)
{
    dd_snapshot *s = &m->s;
    char text[300];
    switch ((cmd_kind)c->kind) {
    case CMD_PAUSE:
        s->run_state = SNAP_PAUSED;
        answer(m, c, DD_OK, "paused");
        break;
    case CMD_RESUME:
        s->run_state = SNAP_RUNNING;
        answer(m, c, DD_OK, "resumed");
        break;
    case CMD_STEP:
        s->events++;
        answer(m, c, DD_OK, "stepped");
        break;
    case CMD_SPEED:
        s->speed = c->speed;
        answer(m, c, DD_OK, "speed set");
        break;
    case CMD_APPROVE:
    case CMD_REJECT:
        if (!s->pending) {
            answer(m, c, DD_ESTATE, "nothing awaits approval");
            break;
        }
        if (c->kind == CMD_APPROVE) {
            set_status(m, s->active_version, "retired");
            m->prev_active = s->active_version;
            s->active_version = s->pending_version;
            set_status(m, s->pending_version, "active");
            snap_marker_add(s, SNAP_MK_PROMOTION, s->events);
            snap_log_add(s, SNAP_LOG_APPROVAL, 1700000000.0 + (double)s->events,
                         "v%llu approved by %s and promoted",
                         (unsigned long long)s->pending_version, c->user);
        } else {
            set_status(m, s->pending_version, "rejected");
            snap_log_add(s, SNAP_LOG_APPROVAL, 1700000000.0 + (double)s->events,
                         "v%llu rejected by %s", (unsigned long long)s->pending_version, c->user);
        }
        s->pending = false;
        s->challenger_version = 0;
        answer(m, c, DD_OK, c->kind == CMD_APPROVE ? "promoted" : "rejected");
        break;
    case CMD_ROLLBACK: {
        uint64_t to = c->version ? c->version : m->prev_active;
        if (!to || !find_version(m, to)) {
            answer(m, c, DD_ENOTFOUND, "no version to roll back to");
            break;
        }
        set_status(m, s->active_version, "rolled back");
        set_status(m, to, "active");
        snap_log_add(s, SNAP_LOG_ROLLBACK, 1700000000.0 + (double)s->events,
                     "rolled back v%llu -> v%llu by %s", (unsigned long long)s->active_version,
                     (unsigned long long)to, c->user);
        snap_marker_add(s, SNAP_MK_ROLLBACK, s->events);
        s->active_version = to;
        snprintf(text, sizeof text, "active is now v%llu", (unsigned long long)to);
        answer(m, c, DD_OK, text);
        break;
    }
    case CMD_EXPORT: {
        snprintf(text, sizeof text, "%s/session.%s", m->export_dir, c->format);
        FILE *f = fopen(text, "w");
        if (f) {
            fprintf(f, "{\"events\": %llu}\n", (unsigned long long)s->events);
            fclose(f);
            char msg[320];
            snprintf(msg, sizeof msg, "wrote %s", text);
            answer(m, c, DD_OK, msg);
        } else {
            answer(m, c, DD_EIO, "cannot write the export");
        }
        break;
    }
    case CMD_VIEW:
        s->replay.offset = c->view.replay_offset;
        s->detail_version = c->view.detail_version;
        snprintf(s->detail_lines[0], SNAP_TEXT, "version v%llu",
                 (unsigned long long)c->view.detail_version);
        snprintf(s->detail_lines[1], SNAP_TEXT, "lineage: simulated");
        break;
    case CMD__END:
        break;
    }
}

static void fill_replay(sim *m)
{
    snap_replay *p = &m->s.replay;
    p->capacity = 1000;
    p->fill = m->s.events < 1000 ? (uint32_t)m->s.events : 1000;
    p->pmin = 0.01f;
    p->pmax = 2.0f;
    for (int i = 0; i < SNAP_HIST_BINS; i++)
        p->hist[i] = (uint32_t)(p->fill / (i + 1));
    p->nrows = p->fill - p->offset < SNAP_REPLAY_ROWS ? p->fill - p->offset : SNAP_REPLAY_ROWS;
    if (p->offset > p->fill)
        p->nrows = 0;
    for (uint32_t i = 0; i < p->nrows; i++) {
        snap_replay_row *r = &p->rows[i];
        r->priority = 2.0f / (float)(p->offset + i + 1);
        r->loss = r->priority * 0.7f;
        r->label = (p->offset + i) % 2;
        r->age = (p->offset + i) * 3;
        snprintf(r->summary, sizeof r->summary, "temp=%.1f dev=a%u", 20.0 + i * 0.1, i % 9);
    }
}

static void step(sim *m)
{
    dd_snapshot *s = &m->s;
    s->events++;
    uint64_t e = s->events;
    if (e % 3000 == 0 && !s->pending) { /* one candidate at a time, as governance does */
        snap_marker_add(s, SNAP_MK_DRIFT, e);
        snap_log_add(s, SNAP_LOG_DRIFT, 1700000000.0 + (double)e, "ADWIN drift on error at %llu",
                     (unsigned long long)e);
        add_version(m, "drift", "awaiting");
        s->pending = true;
        s->pending_version = m->vers;
        s->challenger_version = m->vers;
        s->challenger_mode = SNAP_CH_SHADOW;
        s->pending_metrics = (snap_metrics){0.91, 0.25, 0.09, 2000};
        s->active_metrics = (snap_metrics){0.71, 0.55, 0.29, 9000};
        snap_log_add(s, SNAP_LOG_PROMOTION, 1700000000.0 + (double)e, "v%llu awaits approval",
                     (unsigned long long)m->vers);
    }
    if (e % 25 == 0) {
        double phase = (double)(e % 3000) / 3000.0;
        float v[SNAP_S__COUNT] = {
            (float)(0.6 + 0.3 * phase),  s->challenger_version ? (float)(0.8 + 0.1 * phase) : NAN,
            (float)(0.4 - 0.3 * phase),  (float)(50 + 400 * phase),
            (float)(10 * phase * phase), (float)(0.5 + 0.1 * sin((double)e / 200.0))};
        snap_chart_push(&s->chart, e, v);
    }
}

static void *run(void *arg)
{
    sim *m = arg;
    double last_pub = 0, last_rate = mono();
    uint64_t last_events = 0;
    while (!atomic_load(&m->stop)) {
        void *item;
        while (queue_pop(m->cmdq, &item, 0) == QUEUE_OK) {
            do_command(m, item);
            free(item);
        }
        if (m->s.run_state == SNAP_RUNNING) {
            /* paced: 1000 events/s times the speed (1 ms loop) */
            m->credit += m->fast || m->s.speed <= 0 ? 200 : m->s.speed;
            for (; m->credit >= 1; m->credit -= 1)
                step(m);
        }
        double t = mono();
        if (t - last_pub >= 0.05) {
            if (t - last_rate >= 1.0) {
                m->s.events_per_s = (float)((double)(m->s.events - last_events) / (t - last_rate));
                last_events = m->s.events;
                last_rate = t;
            }
            fill_replay(m);
            snap_board_publish(m->board, &m->s);
            last_pub = t;
        }
        if (!m->fast || m->s.run_state != SNAP_RUNNING) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    sim m;
    memset(&m, 0, sizeof m);
    snap_init(&m.s);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--fast"))
            m.fast = true;
    const char *dir = getenv("DD_SIM_EXPORT_DIR");
    snprintf(m.export_dir, sizeof m.export_dir, "%s", dir ? dir : "/tmp");
    snprintf(m.s.source, sizeof m.s.source, "sim:drifting");
    m.s.source_state = 1;
    m.s.queue_cap = 4096;
    m.s.speed = 1.0;
    add_version(&m, "start", "active");
    m.s.active_version = 1;
    snap_log_add(&m.s, SNAP_LOG_INFO, 1700000000.0, "simulated worker started");
    m.board = snap_board_new();
    m.cmdq = queue_new(64);
    pthread_t th;
    pthread_create(&th, NULL, run, &m);
    console_link *link = console_link_local_new(m.board, m.cmdq);
    console_end end;
    char *cause = NULL;
    dd_err err = console_run(link, NULL, &end, &cause);
    atomic_store(&m.stop, true);
    pthread_join(th, NULL);
    console_link_free(link);
    queue_free(m.cmdq, free);
    snap_board_free(m.board);
    if (err) {
        fprintf(stderr, "console_sim: %s\n", cause ? cause : dd_strerror(err));
        free(cause);
        return 1;
    }
    printf("console_sim: %llu events\n", (unsigned long long)m.s.events);
    return end == CONSOLE_INTERRUPT ? 130 : 0;
}
