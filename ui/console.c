/*
 * console.c: the UI thread's loop, the layout, and the local link.
 *
 * The loop waits for a key at most one frame's remainder (getch with a
 * timeout), so a key is handled within a few milliseconds and the screen is
 * redrawn at most `fps` times a second, and only when a new snapshot came or
 * a key asked for it. Everything is drawn on stdscr from the latest snapshot
 * into rectangles computed from the terminal size; a resize recomputes them.
 *
 * Layout: header (2 rows), body, status and footer (2 rows). The body at
 * 80 columns stacks the chart, the replay buffer beside the versions, and
 * the event log; from 140 columns the chart and the log take the left 60 %
 * and the versions and the replay buffer stack on the right.
 */
#include "console.h"
#include "kstore.h"
#include "queue.h"
#include "ui.h"

#include <curses.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIN_W 60
#define MIN_H 16
#define WIDE_W 140

/* ---- the local link ---- */

typedef struct local_link {
    snap_board *board;
    queue *cmdq;
    kstore *ks; /* the knowledge store, or NULL */
} local_link;

static const dd_snapshot *local_latest(console_link *l, bool *fresh)
{
    local_link *ll = l->impl;
    return snap_board_latest(ll->board, fresh);
}

static dd_err local_send(console_link *l, const dd_command *c, char **cause)
{
    local_link *ll = l->impl;
    dd_command *copy = cmd_dup(c);
    if (!copy)
        return dd_fail(cause, DD_ENOMEM, "no memory for a command");
    queue_result r = queue_push(ll->cmdq, copy, 0);
    if (r == QUEUE_OK)
        return DD_OK;
    free(copy);
    if (r == QUEUE_CLOSED)
        return dd_fail(cause, DD_EIO, "the worker has stopped");
    return dd_fail(cause, DD_EFULL, "the worker is busy, try again");
}

static bool local_closed(console_link *l)
{
    (void)l;
    return false;
}

static void local_destroy(console_link *l)
{
    free(l->impl);
}

/* kstore_search_text() is thread-safe: the UI thread searches directly. */
static dd_err local_search(console_link *l, const char *query, uint32_t k, kstore_results *out,
                           char **cause)
{
    local_link *ll = l->impl;
    if (!ll->ks)
        return dd_fail(cause, DD_ENOTFOUND, "no knowledge store: set [kstore] enabled = true");
    return kstore_search_text(ll->ks, query, k, out, cause);
}

static const struct console_link_ops local_ops = {local_latest, local_send, local_closed,
                                                  local_destroy, NULL};
/* the same with a knowledge store: the `s` key is offered */
static const struct console_link_ops local_ops_ks = {local_latest, local_send, local_closed,
                                                     local_destroy, local_search};

void console_link_local_set_kstore(console_link *l, kstore *ks)
{
    ((local_link *)l->impl)->ks = ks;
    l->ops = ks ? &local_ops_ks : &local_ops;
}

console_link *console_link_local_new(snap_board *board, queue *cmdq)
{
    console_link *l = calloc(1, sizeof *l);
    local_link *ll = calloc(1, sizeof *ll);
    if (!l || !ll) {
        free(l);
        free(ll);
        return NULL;
    }
    ll->board = board;
    ll->cmdq = cmdq;
    l->ops = &local_ops;
    l->impl = ll;
    return l;
}

void console_link_free(console_link *l)
{
    if (!l)
        return;
    if (l->ops->destroy)
        l->ops->destroy(l);
    free(l);
}

void console_opts_default(console_opts *o)
{
    o->fps = 10;
    o->user = NULL;
    o->in = o->out = NULL;
}

/* ---- layout and drawing ---- */

static void layout(ui_ctx *ui, ui_rect *header, ui_rect *footer)
{
    int h = LINES, w = COLS;
    *header = (ui_rect){0, 0, 2, w};
    *footer = (ui_rect){h - 2, 0, 2, w};
    int top = 2, body = h - 4;
    if (w >= WIDE_W) {
        int left = w * 6 / 10, right = w - left - 1;
        int chart_h = body * 55 / 100, ver_h = body / 2;
        ui->area[UI_CHART] = (ui_rect){top, 0, chart_h, left};
        ui->area[UI_LOG] = (ui_rect){top + chart_h, 0, body - chart_h, left};
        ui->area[UI_VERSIONS] = (ui_rect){top, left + 1, ver_h, right};
        ui->area[UI_REPLAY] = (ui_rect){top + ver_h, left + 1, body - ver_h, right};
        return;
    }
    int chart_h = body * 40 / 100, mid_h = (body - chart_h) * 55 / 100;
    int half = w / 2;
    ui->area[UI_CHART] = (ui_rect){top, 0, chart_h, w};
    ui->area[UI_REPLAY] = (ui_rect){top + chart_h, 0, mid_h, half};
    ui->area[UI_VERSIONS] = (ui_rect){top + chart_h, half + 1, mid_h, w - half - 1};
    ui->area[UI_LOG] = (ui_rect){top + chart_h + mid_h, 0, body - chart_h - mid_h, w};
}

static void draw_all(ui_ctx *ui)
{
    static const panel_class *const panels[UI_PANEL__COUNT] = {&panel_chart, &panel_replay,
                                                               &panel_versions, &panel_log};
    erase();
    ui_rect header, footer;
    if (COLS < MIN_W || LINES < MIN_H) {
        mvprintw(0, 0, "driftdeck: the terminal is %dx%d; it needs %dx%d", COLS, LINES, MIN_W,
                 MIN_H);
        mvprintw(1, 0, "%llu events, %s", (unsigned long long)ui->snap->events,
                 snap_run_state_name((snap_run_state)ui->snap->run_state));
        refresh();
        return;
    }
    layout(ui, &header, &footer);
    panel_header.draw(ui, header, false);
    for (int p = 0; p < UI_PANEL__COUNT; p++)
        panels[p]->draw(ui, ui->area[p], (int)ui->focus == p);
    panel_footer.draw(ui, footer, false);
    dialogs_draw(ui);
    refresh();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ui_setup(ui_ctx *ui, console_link *link, const console_opts *o)
{
    memset(ui, 0, sizeof *ui);
    ui->link = link;
    ui->utf8 = term_utf8();
    const char *user = o->user;
    struct passwd *pw = user ? NULL : getpwuid(getuid());
    if (!user)
        user = pw ? pw->pw_name : "unknown";
    snprintf(ui->user, sizeof ui->user, "%s", user);
    ui->snap = link->ops->latest(link, NULL);
    ui->speed_asked = NAN;
    ui_say(ui, false, "? for help");
}

dd_err console_run(console_link *link, const console_opts *o, console_end *end, char **cause)
{
    console_opts def;
    if (!o) {
        console_opts_default(&def);
        o = &def;
    }
    dd_err err = term_init(o->in, o->out, cause);
    if (err)
        return err;
    ui_ctx ui;
    ui_setup(&ui, link, o);
    double frame = 1.0 / (o->fps > 0 ? o->fps : 10), last_draw = 0;
    bool dirty = true;
    *end = CONSOLE_QUIT;
    for (;;) {
        if (term_interrupted()) {
            *end = CONSOLE_INTERRUPT;
            break;
        }
        if (link->ops->closed(link)) {
            *end = CONSOLE_LINK_CLOSED;
            break;
        }
        bool fresh = false;
        ui.snap = link->ops->latest(link, &fresh);
        dirty |= fresh;
        double t = now_s();
        if (dirty && t - last_draw >= frame) {
            draw_all(&ui);
            last_draw = t;
            dirty = false;
        }
        int wait_ms = (int)((frame - (now_s() - last_draw)) * 1000);
        timeout(wait_ms < 5 ? 5 : wait_ms > 100 ? 100 : wait_ms);
        int key = getch();
        if (key == ERR)
            continue;
        unsigned f = keys_dispatch(&ui, key);
        if (f & UI_QUIT)
            break;
        if (f & UI_RESIZE)
            clearok(curscr, TRUE);
        if (f & UI_REDRAW) {
            draw_all(&ui);
            last_draw = now_s();
            dirty = false;
        }
    }
    kstore_results_free(ui.hits);
    free(ui.hits);
    term_end();
    return DD_OK;
}
