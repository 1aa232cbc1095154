/*
 * panel_chart.c: the drift chart. One series (two for accuracy: the active
 * model and the challenger) drawn with chart.c, y-axis labels on the left,
 * and below the plot a row of markers (w warning, D drift, P promotion,
 * R rollback) under the columns where they happened, with a faint vertical
 * line through the plot. `c` cycles the kinds; the last kind lists the most
 * drifted features as bars.
 */
#include "chart.h"
#include "ui.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define AXIS_W 8
#define MAX_COLS 1024 /* a plot wider or taller than this is drawn clipped */
#define MAX_ROWS 256

static const struct {
    const char *title;
    snap_series series;
} kinds[UI_CH__COUNT] = {
    [UI_CH_ACCURACY] = {"Rolling accuracy: active / challenger", SNAP_S_ACC_ACTIVE},
    [UI_CH_ERROR] = {"Error rate", SNAP_S_ERROR},
    [UI_CH_ADWIN] = {"ADWIN window width", SNAP_S_ADWIN},
    [UI_CH_PH] = {"Page-Hinkley statistic", SNAP_S_PH},
    [UI_CH_PRED_MEAN] = {"Prediction mean", SNAP_S_PRED_MEAN},
    [UI_CH_FEATURES] = {"Most drifted features", SNAP_S_ACC_ACTIVE},
};

static const char marker_chars[SNAP_MK__COUNT] = {'w', 'D', 'P', 'R'};
static const term_role marker_roles[SNAP_MK__COUNT] = {TERM_WARN, TERM_BAD, TERM_MARK, TERM_BAD};

/* The series oldest first into out (count values). */
static uint32_t linear(const snap_chart *c, snap_series k, float *out)
{
    for (uint32_t i = 0; i < c->count; i++)
        out[i] = c->val[k][snap_chart_slot(c, i)];
    return c->count;
}

static void draw_cells(ui_ctx *ui, ui_rect plot, const uint8_t *a, const uint8_t *b,
                       const int *mark_col)
{
    char cell[4];
    for (int y = 0; y < plot.h; y++)
        for (int x = 0; x < plot.w; x++) {
            uint8_t ma = a[y * plot.w + x], mb = b ? b[y * plot.w + x] : 0;
            int role = ma ? TERM_SERIES_A : TERM_SERIES_B;
            move(plot.y + y, plot.x + x);
            if (!(ma | mb)) {
                if (mark_col[x] >= 0) {
                    attrset(term_attr(marker_roles[mark_col[x]]) | A_DIM);
                    addch(ui->utf8 ? ACS_VLINE : '|');
                    attrset(A_NORMAL);
                }
                continue;
            }
            attrset(term_attr((term_role)role));
            if (ui->utf8) {
                chart_cell_utf8(ma | mb, cell);
                addstr(cell);
            } else {
                addch((chtype)(unsigned char)chart_cell_ascii(ma | mb));
            }
            attrset(A_NORMAL);
        }
}

/* Column (cell) of each marker in plot, -1 where none; and the marker row. */
static void place_markers(const dd_snapshot *s, ui_rect plot, int x0, ui_rect mrow, int *mark_col)
{
    for (int x = 0; x < plot.w; x++)
        mark_col[x] = -1;
    const snap_chart *c = &s->chart;
    for (uint32_t m = 0; m < s->marker_count; m++) {
        const snap_marker *mk = snap_marker_at(s, m);
        uint32_t i = 0;
        while (i < c->count && c->pos[snap_chart_slot(c, i)] < mk->pos)
            i++;
        if (i == c->count)
            continue; /* newer than the last sample: it shows next frame */
        int col = (x0 + (int)i) / 2;
        if (x0 + (int)i < 0 || col >= plot.w)
            continue;
        mark_col[col] = mk->kind;
        ui_print(mrow, 0, AXIS_W + col, term_attr(marker_roles[mk->kind]), "%c",
                 marker_chars[mk->kind]);
    }
}

static void draw_axis(ui_rect r, int plot_h, double lo, double hi)
{
    char buf[16];
    int dim = term_attr(TERM_DIM);
    ui_print(r, 1, 0, dim, "%7s", ui_num(buf, sizeof buf, hi, fabs(hi) < 10 ? 3 : 0));
    if (plot_h >= 3)
        ui_print(r, 1 + plot_h / 2, 0, dim, "%7s",
                 ui_num(buf, sizeof buf, (lo + hi) / 2, fabs(hi) < 10 ? 3 : 0));
    ui_print(r, plot_h, 0, dim, "%7s", ui_num(buf, sizeof buf, lo, fabs(hi) < 10 ? 3 : 0));
}

static void draw_features(ui_ctx *ui, ui_rect r)
{
    const dd_snapshot *s = ui->snap;
    if (s->nfeatures == 0) {
        ui_print(r, 2, 2, term_attr(TERM_DIM), "no feature drift measured yet");
        return;
    }
    float top = 0;
    for (uint32_t i = 0; i < s->nfeatures; i++)
        if (s->features[i].score > top)
            top = s->features[i].score;
    int barw = r.w - 32;
    for (uint32_t i = 0; i < s->nfeatures && (int)i + 1 < r.h; i++) {
        const snap_feature *f = &s->features[i];
        int n = top > 0 && barw > 0 ? (int)lround(barw * f->score / top) : 0;
        ui_print(r, 1 + (int)i, 1, term_attr(TERM_NORMAL), "%-18.18s %8.3f ", f->name,
                 (double)f->score);
        attrset(term_attr(i == 0 ? TERM_BAD : TERM_SERIES_A));
        for (int k = 0; k < n; k++)
            mvaddch(r.y + 1 + (int)i, r.x + 30 + k, ui->utf8 ? ACS_CKBOARD : '#');
        attrset(A_NORMAL);
    }
}

static void draw(ui_ctx *ui, ui_rect r, bool focused)
{
    const dd_snapshot *s = ui->snap;
    char hint[48];
    snprintf(hint, sizeof hint, "c: chart %d/%d", (int)ui->chart_kind + 1, UI_CH__COUNT);
    ui_title(r, kinds[ui->chart_kind].title, hint, focused);
    if (ui->chart_kind == UI_CH_FEATURES) {
        draw_features(ui, r);
        return;
    }
    ui_rect plot = {r.y + 1, r.x + AXIS_W, r.h - 2, r.w - AXIS_W - 1};
    if (plot.w > MAX_COLS)
        plot.w = MAX_COLS;
    if (plot.h > MAX_ROWS)
        plot.h = MAX_ROWS;
    if (plot.h < 1 || plot.w < 4)
        return;
    float a[SNAP_SERIES_CAP], b[SNAP_SERIES_CAP];
    /* the UI thread's only: static, not on its stack (512 KB) */
    static uint8_t ca[MAX_COLS * MAX_ROWS], cb[MAX_COLS * MAX_ROWS];
    static int mark_col[MAX_COLS];
    uint32_t n = linear(&s->chart, kinds[ui->chart_kind].series, a);
    bool two = ui->chart_kind == UI_CH_ACCURACY;
    double lo, hi;
    chart_range(a, n, &lo, &hi);
    if (two) { /* one scale for both lines */
        double blo, bhi;
        linear(&s->chart, SNAP_S_ACC_CHALLENGER, b);
        if (chart_range(b, n, &blo, &bhi)) {
            lo = blo < lo ? blo : lo;
            hi = bhi > hi ? bhi : hi;
        }
    }
    int x0 = chart_render(a, n, lo, hi, plot.w, plot.h, ca);
    if (two)
        chart_render(b, n, lo, hi, plot.w, plot.h, cb);
    draw_axis(r, plot.h, lo, hi);
    ui_rect mrow = {r.y + r.h - 1, r.x, 1, r.w};
    place_markers(s, plot, x0, mrow, mark_col);
    draw_cells(ui, plot, ca, two ? cb : NULL, mark_col);
    if (n == 0)
        ui_print(plot, plot.h / 2, 2, term_attr(TERM_DIM), "waiting for events...");
}

static unsigned key(ui_ctx *ui, int k)
{
    (void)ui;
    (void)k;
    return 0;
}

const panel_class panel_chart = {"chart", draw, key};
