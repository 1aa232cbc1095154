/*
 * panel_versions.c: the model versions, newest first (id, parent, trigger,
 * status, accuracy, created). Enter opens the selected version's details
 * (metrics, lineage, the reason of each transition), which the worker adds
 * to the snapshots once asked with a view command.
 */
#include "ui.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int status_role(const char *status)
{
    if (!strcmp(status, "active"))
        return TERM_OK;
    if (!strcmp(status, "awaiting") || !strcmp(status, "shadow") || !strcmp(status, "canary"))
        return TERM_WARN;
    if (!strcmp(status, "rejected") || !strcmp(status, "rolled back"))
        return TERM_BAD;
    return TERM_NORMAL;
}

static void created_text(double ts, char *buf, size_t n)
{
    if (!isfinite(ts)) {
        snprintf(buf, n, "-");
    } else if (ts > 1e8) {
        time_t t = (time_t)ts;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, n, "%m-%d %H:%M:%S", &tm);
    } else {
        snprintf(buf, n, "%.1f", ts);
    }
}

static void draw(ui_ctx *ui, ui_rect r, bool focused)
{
    const dd_snapshot *s = ui->snap;
    ui_title(r, "Model versions", focused ? "Enter: details" : "", focused);
    ui_print(r, 1, 0, term_attr(TERM_DIM), "%6s %6s %-8s %-10s %5s %s", "id", "parent", "trigger",
             "status", "acc", "created");
    int rows = r.h - 2, n = (int)s->nversions;
    if (ui->sel[UI_VERSIONS] >= n)
        ui->sel[UI_VERSIONS] = n > 0 ? n - 1 : 0;
    ui_keep_visible(ui, UI_VERSIONS, rows);
    for (int i = 0; i < rows; i++) {
        int idx = ui->top[UI_VERSIONS] + i;
        if (idx >= n)
            break;
        const snap_version *v = &s->versions[idx];
        char acc[16], created[32], parent[24], id[24];
        snprintf(id, sizeof id, "v%llu", (unsigned long long)v->id);
        created_text(v->created, created, sizeof created);
        if (v->parent)
            snprintf(parent, sizeof parent, "v%llu", (unsigned long long)v->parent);
        else
            snprintf(parent, sizeof parent, "-");
        bool sel = focused && idx == ui->sel[UI_VERSIONS];
        int attr = sel ? term_attr(TERM_SELECTED) : term_attr((term_role)status_role(v->status));
        if (sel)
            ui_fill(r, 2 + i, attr);
        ui_print(r, 2 + i, 0, attr, "%6s %6s %-8.8s %-10.10s %5s %s", id, parent, v->trigger,
                 v->status, ui_num(acc, sizeof acc, v->accuracy, 3), created);
    }
    if (n == 0)
        ui_print(r, 2, 2, term_attr(TERM_DIM), "no versions yet");
}

static unsigned key(ui_ctx *ui, int k)
{
    const dd_snapshot *s = ui->snap;
    if (k == '\n' || k == '\r' || k == KEY_ENTER) {
        if (s->nversions == 0)
            return UI_HANDLED;
        ui->target = s->versions[ui->sel[UI_VERSIONS]].id;
        ui->view.detail_version = ui->target;
        ui_send(ui, CMD_VIEW, NULL);
        ui->dialog = UI_DLG_DETAILS;
        return UI_HANDLED | UI_REDRAW;
    }
    return ui_scroll(ui, UI_VERSIONS, k, (int)s->nversions, ui->area[UI_VERSIONS].h - 2);
}

const panel_class panel_versions = {"versions", draw, key};
