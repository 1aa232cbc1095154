/*
 * panel_header.c: the two header lines: the source and its state, the
 * counters, then the versions, the run state and the replay speed.
 */
#include "ui.h"

#include <curses.h>

#include <stdio.h>
#include <string.h>

/* source_state values (source.h), spelled for the screen */
static const char *const source_states[] = {"starting", "connected", "reconnecting",
                                            "paused",   "ended",     "failed"};

static void source_text(const dd_snapshot *s, char *buf, size_t n)
{
    unsigned st = s->source_state;
    const char *name = st < DD_ARRAY_LEN(source_states) ? source_states[st] : "?";
    if (st == 2 && s->retry_in_ms > 0)
        snprintf(buf, n, "reconnecting in %.0f s", s->retry_in_ms / 1000.0);
    else if (s->source_progress >= 0 && st != 4)
        snprintf(buf, n, "%s %.0f %%", st == 1 ? "reading" : name, 100.0 * s->source_progress);
    else
        snprintf(buf, n, "%s", name);
}

static int state_role(snap_run_state st)
{
    switch (st) {
    case SNAP_RUNNING:
        return TERM_OK;
    case SNAP_ENDED:
        return TERM_DIM;
    default:
        return TERM_WARN;
    }
}

static void draw(ui_ctx *ui, ui_rect r, bool focused)
{
    (void)focused;
    const dd_snapshot *s = ui->snap;
    char src[64], speed[24], ev[16], rate[16], drops[16], bad[16];
    source_text(s, src, sizeof src);
    ui_count(ev, sizeof ev, (double)s->events);
    ui_count(rate, sizeof rate, (double)s->events_per_s);
    ui_count(drops, sizeof drops, (double)s->drops);
    ui_count(bad, sizeof bad, (double)s->malformed);
    /* the counters first: they matter more than a long source name */
    char counters[128];
    snprintf(counters, sizeof counters, "events %s  %s/s  queue %u/%u  drops %s  bad %s", ev, rate,
             s->queue_len, s->queue_cap, drops, bad);
    int room = r.w - (int)strlen(counters) - (int)strlen(src) - 8;
    ui_fill(r, 0, term_attr(TERM_TITLE));
    /* a file shows by its name: the directory rarely fits */
    const char *name = s->source;
    const char *slash = strrchr(name, '/');
    if (!strncmp(name, "file:", 5) && slash)
        name = slash + 1;
    ui_print(r, 0, 0, term_attr(TERM_TITLE), " %s  %.*s [%s]", counters, room > 4 ? room : 4, name,
             src);
    if (s->speed <= 0)
        snprintf(speed, sizeof speed, "max");
    else
        snprintf(speed, sizeof speed, "x%g", s->speed);
    int col = 1;
    char part[96];
    snprintf(part, sizeof part, "%s", snap_run_state_name((snap_run_state)s->run_state));
    ui_print(r, 1, col, term_attr(state_role((snap_run_state)s->run_state)) | A_BOLD, "%s", part);
    col += (int)strlen(part) + 2;
    if (s->learning_blocked) {
        ui_print(r, 1, col, term_attr(TERM_BAD), "NOT LEARNING (writer full)");
        col += 28;
    }
    if (s->source_live) /* a live stream has no pace to set */
        snprintf(part, sizeof part, "active v%llu", (unsigned long long)s->active_version);
    else
        snprintf(part, sizeof part, "speed %s  active v%llu", speed,
                 (unsigned long long)s->active_version);
    ui_print(r, 1, col, term_attr(TERM_NORMAL), "%s", part);
    col += (int)strlen(part) + 2;
    if (s->challenger_version) {
        snprintf(part, sizeof part, "%s v%llu",
                 s->challenger_mode == SNAP_CH_CANARY ? "canary" : "shadow",
                 (unsigned long long)s->challenger_version);
        ui_print(r, 1, col, term_attr(TERM_SERIES_B), "%s", part);
        col += (int)strlen(part) + 2;
    }
    if (s->pending)
        ui_print(r, 1, col, term_attr(TERM_WARN), "v%llu AWAITS APPROVAL (a/x)",
                 (unsigned long long)s->pending_version);
    if (ui->link->attached)
        ui_print(r, 1, r.w - 10, term_attr(TERM_DIM), "[attached]");
}

const panel_class panel_header = {"header", draw, NULL};
