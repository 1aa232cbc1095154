/*
 * panel_log.c: the event log, newest first: drift alarms, promotions,
 * approvals, rollbacks, reconnects, errors. `/` sets a filter (a substring
 * of the row's kind or text, case-insensitive); the filter also goes to the
 * worker in the view, so a worker that keeps a longer log can search it.
 */
#define _GNU_SOURCE /* strcasestr */
#include "ui.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const term_role kind_roles[SNAP_LOG__COUNT] = {
    [SNAP_LOG_INFO] = TERM_NORMAL,    [SNAP_LOG_WARNING] = TERM_WARN,
    [SNAP_LOG_DRIFT] = TERM_BAD,      [SNAP_LOG_PROMOTION] = TERM_MARK,
    [SNAP_LOG_APPROVAL] = TERM_OK,    [SNAP_LOG_ROLLBACK] = TERM_BAD,
    [SNAP_LOG_RECONNECT] = TERM_WARN, [SNAP_LOG_ERROR] = TERM_BAD,
};

static bool matches(const ui_ctx *ui, const snap_log_row *row)
{
    if (!ui->filter[0])
        return true;
    return strcasestr(row->text, ui->filter) ||
           strcasestr(snap_log_kind_name((snap_log_kind)row->kind), ui->filter);
}

/* The rows that pass the filter, newest first, into idx; returns their count. */
static int visible_rows(const ui_ctx *ui, int *idx)
{
    int n = 0;
    for (uint32_t i = 0; i < ui->snap->log_count; i++)
        if (matches(ui, snap_log_newest(ui->snap, i)))
            idx[n++] = (int)i;
    return n;
}

static void time_text(double ts, char *buf, size_t n)
{
    if (ts > 1e8) {
        time_t t = (time_t)ts;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, n, "%H:%M:%S", &tm);
    } else if (ts > 0) {
        snprintf(buf, n, "%8.1f", ts);
    } else {
        snprintf(buf, n, "%8s", "-"); /* before the first event: no event time yet */
    }
}

static void draw(ui_ctx *ui, ui_rect r, bool focused)
{
    char hint[96];
    if (ui->filter[0])
        snprintf(hint, sizeof hint, "filter: %.40s", ui->filter);
    else
        snprintf(hint, sizeof hint, "/: filter");
    ui_title(r, "Event log", hint, focused);
    int idx[SNAP_LOG_CAP];
    int n = visible_rows(ui, idx), rows = r.h - 1;
    if (ui->sel[UI_LOG] >= n)
        ui->sel[UI_LOG] = n > 0 ? n - 1 : 0;
    ui_keep_visible(ui, UI_LOG, rows);
    for (int i = 0; i < rows; i++) {
        int k = ui->top[UI_LOG] + i;
        if (k >= n)
            break;
        const snap_log_row *row = snap_log_newest(ui->snap, (uint32_t)idx[k]);
        char when[24];
        time_text(row->ts, when, sizeof when);
        bool sel = focused && k == ui->sel[UI_LOG];
        int attr = sel ? term_attr(TERM_SELECTED) : 0;
        if (sel)
            ui_fill(r, 1 + i, attr);
        ui_print(r, 1 + i, 0, attr | term_attr(TERM_DIM), "%s", when);
        ui_print(r, 1 + i, 9, attr | term_attr(kind_roles[row->kind % SNAP_LOG__COUNT]), "%-9s",
                 snap_log_kind_name((snap_log_kind)row->kind));
        ui_print(r, 1 + i, 19, attr, "%s", row->text);
    }
    if (n == 0)
        ui_print(r, 1, 2, term_attr(TERM_DIM), ui->filter[0] ? "no rows match" : "nothing yet");
}

static unsigned key(ui_ctx *ui, int k)
{
    int idx[SNAP_LOG_CAP];
    return ui_scroll(ui, UI_LOG, k, visible_rows(ui, idx), ui->area[UI_LOG].h - 1);
}

const panel_class panel_log = {"log", draw, key};
