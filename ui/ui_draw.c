/*
 * ui_draw.c: clipped printing, title bars, dialog boxes and table scrolling
 * shared by the panels. Everything draws on stdscr inside a ui_rect, so a
 * resize only needs a new layout, never new windows.
 */
#include "ui.h"

#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Line drawing: the terminal's own characters under a UTF-8 locale, plain
 * ASCII otherwise (some terminals show the VT100 alternate set as letters). */
static chtype line_char(chtype acs, char ascii)
{
    return term_utf8() ? acs : (chtype)ascii;
}

void ui_print(ui_rect r, int row, int col, int attr, const char *fmt, ...)
{
    if (row < 0 || row >= r.h || col < 0 || col >= r.w)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    attrset(attr);
    /* ASCII only here (multibyte text goes through addstr in the panels):
     * bytes are columns. */
    mvaddnstr(r.y + row, r.x + col, buf, r.w - col);
    attrset(A_NORMAL);
}

void ui_fill(ui_rect r, int row, int attr)
{
    if (row < 0 || row >= r.h)
        return;
    attrset(attr);
    mvhline(r.y + row, r.x, ' ', r.w);
    attrset(A_NORMAL);
}

void ui_title(ui_rect r, const char *title, const char *hint, bool focused)
{
    int attr = term_attr(focused ? TERM_FOCUS : TERM_TITLE);
    attrset(term_attr(TERM_DIM));
    mvhline(r.y, r.x, line_char(ACS_HLINE, '-'), r.w);
    ui_print(r, 0, 1, attr, " %s ", title);
    if (hint && hint[0]) {
        int col = r.w - (int)strlen(hint) - 3;
        if (col > (int)strlen(title) + 4)
            ui_print(r, 0, col, term_attr(TERM_DIM), " %s ", hint);
    }
}

ui_rect ui_dialog_box(int h, int w, const char *title)
{
    if (w > COLS)
        w = COLS;
    if (h > LINES)
        h = LINES;
    ui_rect box = {(LINES - h) / 2, (COLS - w) / 2, h, w};
    for (int i = 0; i < h; i++)
        ui_fill(box, i, term_attr(TERM_NORMAL));
    attrset(term_attr(TERM_TITLE));
    mvhline(box.y, box.x, line_char(ACS_HLINE, '-'), w);
    mvhline(box.y + h - 1, box.x, line_char(ACS_HLINE, '-'), w);
    mvvline(box.y, box.x, line_char(ACS_VLINE, '|'), h);
    mvvline(box.y, box.x + w - 1, line_char(ACS_VLINE, '|'), h);
    mvaddch(box.y, box.x, line_char(ACS_ULCORNER, '+'));
    mvaddch(box.y, box.x + w - 1, line_char(ACS_URCORNER, '+'));
    mvaddch(box.y + h - 1, box.x, line_char(ACS_LLCORNER, '+'));
    mvaddch(box.y + h - 1, box.x + w - 1, line_char(ACS_LRCORNER, '+'));
    attrset(A_NORMAL);
    ui_print(box, 0, 2, term_attr(TERM_TITLE), " %s ", title);
    return (ui_rect){box.y + 1, box.x + 2, h - 2, w - 4};
}

const char *ui_num(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.*f", decimals, v);
    return buf;
}

const char *ui_count(char *buf, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else if (v < 100000)
        snprintf(buf, n, "%.0f", v);
    else if (v < 1e6)
        snprintf(buf, n, "%.1fk", v / 1e3);
    else if (v < 1e9)
        snprintf(buf, n, "%.2fM", v / 1e6);
    else
        snprintf(buf, n, "%.2fG", v / 1e9);
    return buf;
}

void ui_keep_visible(ui_ctx *ui, ui_panel p, int rows)
{
    if (rows < 1)
        rows = 1;
    if (ui->sel[p] < ui->top[p])
        ui->top[p] = ui->sel[p];
    if (ui->sel[p] >= ui->top[p] + rows)
        ui->top[p] = ui->sel[p] - rows + 1;
    if (ui->top[p] < 0)
        ui->top[p] = 0;
}

unsigned ui_scroll(ui_ctx *ui, ui_panel p, int key, int nrows, int page)
{
    int sel = ui->sel[p];
    if (page < 1)
        page = 1;
    switch (key) {
    case KEY_UP:
        sel--;
        break;
    case KEY_DOWN:
        sel++;
        break;
    case KEY_PPAGE:
        sel -= page;
        break;
    case KEY_NPAGE:
        sel += page;
        break;
    case KEY_HOME:
        sel = 0;
        break;
    case KEY_END:
        sel = nrows - 1;
        break;
    default:
        return 0;
    }
    if (sel >= nrows)
        sel = nrows - 1;
    if (sel < 0)
        sel = 0;
    ui->sel[p] = sel;
    return UI_HANDLED | UI_REDRAW;
}
