/*
 * keys.c: the key table, the dialogs it opens, and the commands it sends.
 *
 * One table drives dispatch, the footer (the keys whose `applies` says yes
 * now) and the help overlay, so they cannot disagree. A key first goes to
 * the open dialog, then to the focused panel (scrolling, Enter), then to the
 * table. Handlers return UI_* flags; the loop in console.c acts on them.
 */
#include "ui.h"

#include "kstore.h"

#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_TAB '\t'
#define KEY_ESC 27

static const panel_class *const focus_panels[UI_PANEL__COUNT] = {&panel_chart, &panel_replay,
                                                                 &panel_versions, &panel_log};

void ui_say(ui_ctx *ui, bool bad, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ui->status, sizeof ui->status, fmt, ap);
    va_end(ap);
    ui->status_bad = bad;
}

unsigned ui_send(ui_ctx *ui, cmd_kind kind, const dd_command *proto)
{
    dd_command c;
    if (proto)
        c = *proto;
    else
        memset(&c, 0, sizeof c);
    c.kind = (uint8_t)kind;
    c.id = ++ui->next_id;
    c.view = ui->view;
    snprintf(c.user, sizeof c.user, "%s", ui->user);
    char *cause = NULL;
    dd_err err = ui->link->ops->send(ui->link, &c, &cause);
    if (err) {
        ui_say(ui, true, "%s: %s", cmd_kind_name(kind), cause ? cause : dd_strerror(err));
        free(cause);
    } else if (kind != CMD_VIEW) {
        ui->awaited_id = c.id;
    }
    return UI_HANDLED | UI_REDRAW;
}

/* ---- conditions for the footer ---- */

static bool has_pending(const ui_ctx *ui)
{
    return ui->snap->pending;
}

static bool is_replay(const ui_ctx *ui)
{
    return !ui->snap->source_live;
}

static bool can_step(const ui_ctx *ui)
{
    return !ui->snap->source_live && ui->snap->run_state == SNAP_PAUSED;
}

static bool is_attached(const ui_ctx *ui)
{
    return ui->link->attached;
}

static bool log_focused(const ui_ctx *ui)
{
    return ui->focus == UI_LOG;
}

static bool can_rollback(const ui_ctx *ui)
{
    return ui->snap->nversions > 1;
}

/* ---- actions ---- */

static unsigned act_pause(ui_ctx *ui)
{
    bool running = ui->snap->run_state == SNAP_RUNNING;
    return ui_send(ui, running ? CMD_PAUSE : CMD_RESUME, NULL);
}

static unsigned act_step(ui_ctx *ui)
{
    if (!can_step(ui)) {
        ui_say(ui, true, "n steps only while a replay is paused");
        return UI_HANDLED | UI_REDRAW;
    }
    return ui_send(ui, CMD_STEP, NULL);
}

static unsigned change_speed(ui_ctx *ui, bool faster)
{
    /* from the last speed asked while the worker has not answered yet, so
     * that "- -" halves twice even within one frame */
    double s = isnan(ui->speed_asked) ? ui->snap->speed : ui->speed_asked;
    if (s <= 0)
        s = faster ? 0 : 64; /* from "max", slow down to x64 */
    else
        s = faster ? s * 2 : s / 2;
    if (s > 1024)
        s = 0; /* beyond x1024: as fast as possible */
    if (s > 0 && s < 1.0 / 64)
        s = 1.0 / 64;
    dd_command c = {.speed = s};
    unsigned f = ui_send(ui, CMD_SPEED, &c);
    ui->speed_asked = s;
    return f;
}

static unsigned act_faster(ui_ctx *ui)
{
    return change_speed(ui, true);
}

static unsigned act_slower(ui_ctx *ui)
{
    return change_speed(ui, false);
}

static unsigned act_approve(ui_ctx *ui)
{
    if (!ui->snap->pending) {
        ui_say(ui, true, "no version awaits approval");
        return UI_HANDLED | UI_REDRAW;
    }
    ui->target = ui->snap->pending_version;
    ui->dialog = UI_DLG_APPROVE;
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_reject(ui_ctx *ui)
{
    if (!ui->snap->pending) {
        ui_say(ui, true, "no version awaits approval");
        return UI_HANDLED | UI_REDRAW;
    }
    dd_command c = {.version = ui->snap->pending_version};
    return ui_send(ui, CMD_REJECT, &c);
}

static unsigned act_rollback(ui_ctx *ui)
{
    const dd_snapshot *s = ui->snap;
    ui->target = 0; /* the previous version */
    if (ui->focus == UI_VERSIONS && s->nversions > 0) {
        const snap_version *v = &s->versions[ui->sel[UI_VERSIONS]];
        if (v->id != s->active_version)
            ui->target = v->id;
    }
    ui->dialog = UI_DLG_ROLLBACK;
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_export(ui_ctx *ui)
{
    ui->dialog = UI_DLG_EXPORT;
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_focus_next(ui_ctx *ui)
{
    ui->focus = (ui_panel)((ui->focus + 1) % UI_PANEL__COUNT);
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_focus_prev(ui_ctx *ui)
{
    ui->focus = (ui_panel)((ui->focus + UI_PANEL__COUNT - 1) % UI_PANEL__COUNT);
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_chart(ui_ctx *ui)
{
    ui->chart_kind = (ui_chart_kind)((ui->chart_kind + 1) % UI_CH__COUNT);
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_filter(ui_ctx *ui)
{
    ui->focus = UI_LOG;
    snprintf(ui->edit, sizeof ui->edit, "%s", ui->filter);
    ui->dialog = UI_DLG_FILTER;
    return UI_HANDLED | UI_REDRAW;
}

static bool can_search(const ui_ctx *ui)
{
    return ui->link->ops->search != NULL;
}

static unsigned act_search(ui_ctx *ui)
{
    if (!can_search(ui))
        return 0;
    snprintf(ui->edit, sizeof ui->edit, "%s", ui->query);
    ui->dialog = UI_DLG_SEARCH;
    return UI_HANDLED | UI_REDRAW;
}

/* Run the typed query; the answer (or the reason) shows in UI_DLG_HITS. */
static unsigned run_search(ui_ctx *ui)
{
    snprintf(ui->query, sizeof ui->query, "%s", ui->edit);
    kstore_results_free(ui->hits);
    if (!ui->hits && !(ui->hits = calloc(1, sizeof *ui->hits))) {
        ui->dialog = UI_DLG_NONE;
        return UI_HANDLED | UI_REDRAW;
    }
    char *cause = NULL;
    dd_err err =
        ui->query[0] ? ui->link->ops->search(ui->link, ui->query, 10, ui->hits, &cause) : DD_EINVAL;
    ui->dialog = err ? UI_DLG_NONE : UI_DLG_HITS;
    if (err)
        ui_say(ui, true, "search: %s", cause ? cause : "type a query");
    free(cause);
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_help(ui_ctx *ui)
{
    ui->dialog = UI_DLG_HELP;
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_quit(ui_ctx *ui)
{
    if (ui->link->attached || !ui->snap->pending)
        return UI_HANDLED | UI_QUIT;
    ui->dialog = UI_DLG_QUIT;
    return UI_HANDLED | UI_REDRAW;
}

static unsigned act_detach(ui_ctx *ui)
{
    if (!ui->link->attached)
        return 0;
    return UI_HANDLED | UI_QUIT;
}

static unsigned act_redraw(ui_ctx *ui)
{
    (void)ui;
    clearok(curscr, TRUE);
    return UI_HANDLED | UI_REDRAW;
}

typedef struct key_binding {
    int key, alt;      /* alt: a second key for the same action (0: none) */
    const char *label; /* as the footer and the help show it */
    const char *word;  /* the footer's one word */
    const char *help;
    unsigned (*act)(ui_ctx *ui);
    bool (*applies)(const ui_ctx *ui); /* NULL: always; false hides it from the footer */
    bool footer;
} key_binding;

static const key_binding bindings[] = {
    {' ', 0, "space", "pause", "pause / resume (a live source: freeze learning)", act_pause, NULL,
     true},
    {'n', 0, "n", "step", "one event forward while a replay is paused", act_step, can_step, true},
    {'+', '=', "+/-", "speed", "replay speed up / down (x2)", act_faster, is_replay, true},
    {'-', 0, NULL, NULL, NULL, act_slower, NULL, false},
    {'a', 0, "a", "approve", "approve the version awaiting approval", act_approve, has_pending,
     true},
    {'x', 0, "x", "reject", "reject the version awaiting approval", act_reject, has_pending, true},
    {'r', 0, "r", "rollback", "roll back (to the previous or the selected version)", act_rollback,
     can_rollback, true},
    {'e', 0, "e", "export", "export the session log (JSON Lines, CSV, HTML)", act_export, NULL,
     true},
    {'c', 0, "c", "chart", "next chart: accuracy, error, ADWIN, Page-Hinkley, mean, features",
     act_chart, NULL, true},
    {KEY_TAB, 0, "Tab", "focus", "focus the next panel (Shift-Tab: previous)", act_focus_next, NULL,
     true},
    {KEY_BTAB, 0, NULL, NULL, NULL, act_focus_prev, NULL, false},
    {'/', 0, "/", "filter", "filter the event log", act_filter, log_focused, true},
    {'s', 0, "s", "search", "search the knowledge store (hits with age and embedding version)",
     act_search, can_search, true},
    {'?', KEY_F(1), "?", "help", "this help", act_help, NULL, true},
    {'d', 0, "d", "detach", "detach (the instance keeps running)", act_detach, is_attached, true},
    {'q', 0, "q", "quit", "quit (asks if a version awaits approval)", act_quit, NULL, true},
    {12 /* ^L */, 0, "^L", "redraw", "redraw the screen", act_redraw, NULL, false},
};

/* ---- dialogs ---- */

static bool is_no(int key)
{
    return key == 'n' || key == 'N' || key == KEY_ESC || key == 'q';
}

/* approve, rollback, quit: y confirms, n / Esc / q cancels, nothing else */
static unsigned confirm_key(ui_ctx *ui, int key)
{
    bool yes = key == 'y' || key == 'Y';
    if (!yes && !is_no(key))
        return UI_HANDLED;
    ui_dialog d = ui->dialog;
    ui->dialog = UI_DLG_NONE;
    if (!yes)
        return UI_HANDLED | UI_REDRAW;
    if (d == UI_DLG_QUIT)
        return UI_HANDLED | UI_QUIT;
    dd_command c = {.version = ui->target};
    return ui_send(ui, d == UI_DLG_APPROVE ? CMD_APPROVE : CMD_ROLLBACK, &c);
}

static unsigned export_key(ui_ctx *ui, int key)
{
    const char *fmt = key == 'j' ? "jsonl" : key == 'c' ? "csv" : key == 'h' ? "html" : NULL;
    if (!fmt && !is_no(key))
        return UI_HANDLED;
    ui->dialog = UI_DLG_NONE;
    if (!fmt)
        return UI_HANDLED | UI_REDRAW;
    dd_command c = {0};
    snprintf(c.format, sizeof c.format, "%s", fmt);
    ui_say(ui, false, "exporting as %s...", fmt);
    return ui_send(ui, CMD_EXPORT, &c);
}

/* The line editor of the event-log filter and of the knowledge-store search:
 * Enter applies (or searches), Esc leaves things as they were. */
static unsigned line_key(ui_ctx *ui, int key)
{
    size_t n = strlen(ui->edit);
    bool enter = key == '\n' || key == '\r' || key == KEY_ENTER;
    if (enter && ui->dialog == UI_DLG_SEARCH)
        return run_search(ui);
    if (enter) {
        snprintf(ui->filter, sizeof ui->filter, "%s", ui->edit);
        snprintf(ui->view.log_filter, sizeof ui->view.log_filter, "%s", ui->filter);
        ui->sel[UI_LOG] = ui->top[UI_LOG] = 0;
        ui->dialog = UI_DLG_NONE;
        return ui_send(ui, CMD_VIEW, NULL);
    }
    if (key == KEY_ESC) {
        ui->dialog = UI_DLG_NONE;
    } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        if (n > 0)
            ui->edit[n - 1] = '\0';
    } else if (key >= 32 && key < 127 && n + 1 < sizeof ui->edit) {
        ui->edit[n] = (char)key;
        ui->edit[n + 1] = '\0';
    }
    return UI_HANDLED | UI_REDRAW;
}

static unsigned dialog_key(ui_ctx *ui, int key)
{
    switch (ui->dialog) {
    case UI_DLG_HELP:
    case UI_DLG_DETAILS:
    case UI_DLG_HITS: /* any key closes */
        ui->dialog = UI_DLG_NONE;
        return UI_HANDLED | UI_REDRAW;
    case UI_DLG_APPROVE:
    case UI_DLG_ROLLBACK:
    case UI_DLG_QUIT:
        return confirm_key(ui, key);
    case UI_DLG_EXPORT:
        return export_key(ui, key);
    case UI_DLG_SEARCH:
    case UI_DLG_FILTER:
        return line_key(ui, key);
    case UI_DLG_NONE:
        break;
    }
    return 0;
}

unsigned keys_dispatch(ui_ctx *ui, int key)
{
    if (key == KEY_RESIZE)
        return UI_HANDLED | UI_RESIZE | UI_REDRAW;
    if (ui->dialog != UI_DLG_NONE)
        return dialog_key(ui, key);
    const panel_class *p = focus_panels[ui->focus];
    if (p->key) {
        unsigned f = p->key(ui, key);
        if (f & UI_HANDLED)
            return f;
    }
    for (size_t i = 0; i < DD_ARRAY_LEN(bindings); i++)
        if (bindings[i].key == key || (bindings[i].alt && bindings[i].alt == key))
            return bindings[i].act(ui);
    return 0;
}

/* The footer: the keys that apply now, left to right in table order; help
 * and quit (or detach) are always shown, at the right end. */
void keys_draw_footer(ui_ctx *ui, ui_rect r)
{
    ui_fill(r, 0, term_attr(TERM_NORMAL));
    const char *last = ui->link->attached ? "detach" : "quit";
    int right = r.w - (int)strlen(last) - 9;
    ui_print(r, 0, right, term_attr(TERM_KEY), "?");
    ui_print(r, 0, right + 2, term_attr(TERM_NORMAL), "help");
    ui_print(r, 0, right + 7, term_attr(TERM_KEY), "q");
    ui_print(r, 0, right + 9, term_attr(TERM_NORMAL), "%s", last);
    int col = 0;
    for (size_t i = 0; i < DD_ARRAY_LEN(bindings); i++) {
        const key_binding *b = &bindings[i];
        if (!b->footer || b->key == 'q' || b->key == '?' || (b->applies && !b->applies(ui)))
            continue;
        int len = (int)(strlen(b->label) + strlen(b->word) + 2);
        if (col + len > right)
            break;
        ui_print(r, 0, col, term_attr(TERM_KEY), "%s", b->label);
        ui_print(r, 0, col + (int)strlen(b->label) + 1, term_attr(TERM_NORMAL), "%s", b->word);
        col += len;
    }
}

void keys_draw_help(ui_ctx *ui)
{
    int n = 0;
    for (size_t i = 0; i < DD_ARRAY_LEN(bindings); i++)
        n += bindings[i].label != NULL;
    ui_rect in = ui_dialog_box(n + 6, 84, "Keys (any key closes)");
    int row = 0;
    for (size_t i = 0; i < DD_ARRAY_LEN(bindings); i++) {
        const key_binding *b = &bindings[i];
        if (!b->label)
            continue;
        ui_print(in, row, 1, term_attr(TERM_KEY), "%-6s", b->label);
        ui_print(in, row++, 9, term_attr(TERM_NORMAL), "%s", b->help);
    }
    ui_print(in, row + 1, 1, term_attr(TERM_DIM),
             "arrows, PgUp/PgDn, Home/End scroll the focused panel; Enter: version details");
    (void)ui;
}

static void draw_metrics_row(ui_rect in, int row, const char *name, double a, double b)
{
    char x[16], y[16];
    ui_print(in, row, 1, term_attr(TERM_NORMAL), "%-10s %14s %14s", name, ui_num(x, sizeof x, a, 4),
             ui_num(y, sizeof y, b, 4));
}

static void draw_approve(ui_ctx *ui)
{
    const dd_snapshot *s = ui->snap;
    ui_rect in = ui_dialog_box(10, 50, "Approve promotion?");
    char cand[32], act[32];
    snprintf(cand, sizeof cand, "candidate v%llu", (unsigned long long)ui->target);
    snprintf(act, sizeof act, "active v%llu", (unsigned long long)s->active_version);
    ui_print(in, 0, 1, term_attr(TERM_TITLE), "%-10s %14s %14s", "", cand, act);
    draw_metrics_row(in, 1, "accuracy", s->pending_metrics.accuracy, s->active_metrics.accuracy);
    draw_metrics_row(in, 2, "log-loss", s->pending_metrics.logloss, s->active_metrics.logloss);
    draw_metrics_row(in, 3, "error", s->pending_metrics.error, s->active_metrics.error);
    ui_print(in, 4, 1, term_attr(TERM_NORMAL), "%-10s %14llu %14llu", "examples",
             (unsigned long long)s->pending_metrics.n, (unsigned long long)s->active_metrics.n);
    ui_print(in, 6, 1, term_attr(TERM_KEY), "y: promote v%llu    n/Esc: cancel",
             (unsigned long long)ui->target);
}

static void draw_details(ui_ctx *ui)
{
    const dd_snapshot *s = ui->snap;
    char title[48];
    snprintf(title, sizeof title, "Version v%llu", (unsigned long long)ui->target);
    ui_rect in = ui_dialog_box(SNAP_DETAIL_LINES + 4, 76, title);
    if (s->detail_version != ui->target) {
        ui_print(in, 0, 1, term_attr(TERM_DIM), "loading...");
        return;
    }
    for (int i = 0; i < SNAP_DETAIL_LINES; i++)
        ui_print(in, i, 1, term_attr(TERM_NORMAL), "%s", s->detail_lines[i]);
    ui_print(in, SNAP_DETAIL_LINES + 1, 1, term_attr(TERM_DIM), "any key closes");
}

/* The knowledge store's hits: where found, age, version, id, the text. */
static void draw_hits(ui_ctx *ui)
{
    const kstore_results *r = ui->hits;
    char title[96];
    snprintf(title, sizeof title, "Knowledge store: \"%s\"", ui->query);
    int rows = r && r->n ? (int)r->n : 1;
    ui_rect in = ui_dialog_box(rows + 5, 100, title);
    ui_print(in, 0, 1, term_attr(TERM_DIM), "%-6s %8s  %-28s %-16s %s", "index", "age", "version",
             "id", "payload");
    if (!r || !r->n)
        ui_print(in, 1, 1, term_attr(TERM_NORMAL), "no hits");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (uint32_t i = 0; r && i < r->n; i++) {
        const kstore_hit *h = &r->hits[i];
        double age = (double)now.tv_sec - h->ts;
        const char *where = h->found == KSTORE_FOUND_BOTH  ? "both"
                            : h->found == KSTORE_FOUND_FTS ? "fts"
                                                           : "vector";
        char agebuf[16];
        if (age < 120)
            snprintf(agebuf, sizeof agebuf, "%.0fs", age);
        else if (age < 7200)
            snprintf(agebuf, sizeof agebuf, "%.0fm", age / 60);
        else if (age < 172800)
            snprintf(agebuf, sizeof agebuf, "%.0fh", age / 3600);
        else
            snprintf(agebuf, sizeof agebuf, "%.0fd", age / 86400);
        ui_print(in, 1 + (int)i, 1, term_attr(TERM_NORMAL), "%-6s %8s  %-28.28s %-16.16s %s", where,
                 agebuf, h->version, h->id, h->payload);
    }
    ui_print(in, rows + 2, 1, term_attr(TERM_DIM), "any key closes");
}

void dialogs_draw(ui_ctx *ui)
{
    switch (ui->dialog) {
    case UI_DLG_HITS:
        draw_hits(ui);
        break;
    case UI_DLG_HELP:
        keys_draw_help(ui);
        break;
    case UI_DLG_APPROVE:
        draw_approve(ui);
        break;
    case UI_DLG_DETAILS:
        draw_details(ui);
        break;
    case UI_DLG_ROLLBACK: {
        ui_rect in = ui_dialog_box(5, 50, "Roll back?");
        if (ui->target)
            ui_print(in, 0, 1, term_attr(TERM_NORMAL), "Roll back to v%llu (selected)?",
                     (unsigned long long)ui->target);
        else
            ui_print(in, 0, 1, term_attr(TERM_NORMAL), "Roll back to the previous version?");
        ui_print(in, 2, 1, term_attr(TERM_KEY), "y: roll back    n/Esc: cancel");
        break;
    }
    case UI_DLG_QUIT: {
        ui_rect in = ui_dialog_box(5, 56, "Quit?");
        ui_print(in, 0, 1, term_attr(TERM_WARN), "v%llu awaits approval. Quit anyway?",
                 (unsigned long long)ui->snap->pending_version);
        ui_print(in, 2, 1, term_attr(TERM_KEY), "y: quit    n/Esc: stay");
        break;
    }
    case UI_DLG_EXPORT: {
        ui_rect in = ui_dialog_box(5, 56, "Export the session");
        ui_print(in, 0, 1, term_attr(TERM_NORMAL), "Format?");
        ui_print(in, 2, 1, term_attr(TERM_KEY), "j: JSON Lines   c: CSV   h: HTML   Esc: cancel");
        break;
    }
    case UI_DLG_FILTER: {
        ui_rect line = {LINES - 2, 0, 1, COLS};
        ui_fill(line, 0, term_attr(TERM_SELECTED));
        ui_print(line, 0, 0, term_attr(TERM_SELECTED), "/ filter log: %s_  (Enter: apply, Esc)",
                 ui->edit);
        break;
    }
    case UI_DLG_SEARCH: {
        ui_rect line = {LINES - 2, 0, 1, COLS};
        ui_fill(line, 0, term_attr(TERM_SELECTED));
        ui_print(line, 0, 0, term_attr(TERM_SELECTED),
                 "s search knowledge store: %s_  (Enter: search, Esc)", ui->edit);
        break;
    }
    case UI_DLG_NONE:
        break;
    }
}
