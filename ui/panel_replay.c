/*
 * panel_replay.c: the replay buffer: fill, a histogram of priorities, and
 * its entries sorted by priority (highest first). The snapshot carries a
 * window of SNAP_REPLAY_ROWS rows starting at replay.offset; when the
 * selection leaves that window the panel asks the worker for another one
 * (a view command). The table reaches the `reachable` highest priorities
 * (the worker's bound on what it sorts for the console).
 */
#include "ui.h"

#include <curses.h>
#include <stdio.h>

static void draw_histogram(ui_ctx *ui, ui_rect r, int row, int col)
{
    static const char ascii[] = " .:-=+*#";
    const snap_replay *p = &ui->snap->replay;
    uint32_t top = 0;
    for (int i = 0; i < SNAP_HIST_BINS; i++)
        if (p->hist[i] > top)
            top = p->hist[i];
    if (row >= r.h || col + SNAP_HIST_BINS >= r.w)
        return;
    attrset(term_attr(TERM_SERIES_A));
    move(r.y + row, r.x + col);
    for (int i = 0; i < SNAP_HIST_BINS; i++) {
        int level = top ? (int)((p->hist[i] * 7 + top - 1) / top) : 0; /* 0..7 */
        if (ui->utf8) {
            /* U+2581..U+2588, lower one-eighth block to full block; space for 0 */
            char cell[4] = {' ', 0, 0, 0};
            if (level > 0) {
                unsigned cp = 0x2581u + (unsigned)level;
                cell[0] = (char)(0xE0 | (cp >> 12));
                cell[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                cell[2] = (char)(0x80 | (cp & 0x3F));
            }
            addstr(cell);
        } else {
            addch((chtype)(unsigned char)ascii[level]);
        }
    }
    attrset(A_NORMAL);
}

static void draw(ui_ctx *ui, ui_rect r, bool focused)
{
    const snap_replay *p = &ui->snap->replay;
    char hint[48];
    snprintf(hint, sizeof hint, "%u/%u", p->fill, p->capacity);
    ui_title(r, "Replay buffer", hint, focused);
    char lo[16];
    int col = snprintf(lo, sizeof lo, "%.3g", (double)p->pmin) + 7;
    ui_print(r, 1, 1, term_attr(TERM_DIM), "prio %s", lo);
    draw_histogram(ui, r, 1, col);
    ui_print(r, 1, col + SNAP_HIST_BINS + 1, term_attr(TERM_DIM), "%.3g", (double)p->pmax);
    if (p->reachable && p->reachable < p->fill)
        ui_print(r, 1, col + SNAP_HIST_BINS + 8, term_attr(TERM_DIM), "(top %u)", p->reachable);
    ui_print(r, 2, 0, term_attr(TERM_DIM), "%4s %6s %5s %5s %6s %s", "#", "prio", "label", "age",
             "loss", "features");
    int rows = r.h - 3;
    int n = (int)(p->reachable ? p->reachable : p->fill);
    if (ui->sel[UI_REPLAY] >= n)
        ui->sel[UI_REPLAY] = n > 0 ? n - 1 : 0;
    ui_keep_visible(ui, UI_REPLAY, rows);
    for (int i = 0; i < rows; i++) {
        int idx = ui->top[UI_REPLAY] + i;
        if (idx >= n)
            break;
        int at = idx - (int)p->offset;
        int attr = focused && idx == ui->sel[UI_REPLAY] ? term_attr(TERM_SELECTED) : 0;
        if (attr)
            ui_fill(r, 3 + i, attr);
        if (at < 0 || at >= (int)p->nrows) {
            ui_print(r, 3 + i, 0, attr | term_attr(TERM_DIM), "%4d ...", idx + 1);
            continue;
        }
        const snap_replay_row *row = &p->rows[at];
        char age[16];
        ui_print(r, 3 + i, 0, attr, "%4d %6.3f %5.3g %5s %6.3f %s", idx + 1, (double)row->priority,
                 row->label, ui_count(age, sizeof age, (double)row->age), (double)row->loss,
                 row->summary);
    }
    if (n == 0)
        ui_print(r, 3, 2, term_attr(TERM_DIM), "empty");
}

static unsigned key(ui_ctx *ui, int k)
{
    const snap_replay *p = &ui->snap->replay;
    int rows = ui->area[UI_REPLAY].h - 3;
    unsigned f = ui_scroll(ui, UI_REPLAY, k, (int)(p->reachable ? p->reachable : p->fill), rows);
    if (!f)
        return 0;
    int sel = ui->sel[UI_REPLAY];
    int top = ui->top[UI_REPLAY];
    /* ask for a window that covers what is visible around the selection */
    if (top < (int)p->offset || sel + rows >= (int)(p->offset + p->nrows)) {
        int want = sel - SNAP_REPLAY_ROWS / 2;
        ui->view.replay_offset = (uint32_t)(want > 0 ? want : 0);
        ui_send(ui, CMD_VIEW, NULL);
    }
    return f;
}

const panel_class panel_replay = {"replay", draw, key};
