/*
 * chart.c: the braille line renderer (see chart.h). O(w * h) to clear,
 * O(2w * 4h) worst case to draw (every column fully joined).
 */
#include "chart.h"

#include <math.h>
#include <string.h>

uint8_t chart_dot_bit(int col, int row)
{
    /* Braille numbering: dots 1-3 and 7 down the left column, 4-6 and 8 down
     * the right; bit k is dot k+1. */
    static const uint8_t bits[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
    return bits[col & 1][row & 3];
}

static void set_dot(uint8_t *cells, int w, int x, int y)
{
    cells[(y / 4) * w + x / 2] |= chart_dot_bit(x % 2, y % 4);
}

static int dot_row(double v, double ymin, double ymax, int rows)
{
    double t = ymax > ymin ? (ymax - v) / (ymax - ymin) : 0.5;
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    return (int)lround(t * (rows - 1));
}

int chart_render(const float *vals, size_t n, double ymin, double ymax, int w, int h,
                 uint8_t *cells)
{
    if (w <= 0 || h <= 0)
        return 0;
    memset(cells, 0, (size_t)w * (size_t)h);
    int cols = 2 * w, rows = 4 * h;
    size_t first = n > (size_t)cols ? n - (size_t)cols : 0;
    int x0 = cols - (int)(n - first); /* dot column of vals[first] */
    int prev = -1;
    for (size_t i = first; i < n; i++) {
        int x = x0 + (int)(i - first);
        if (!isfinite(vals[i])) {
            prev = -1;
            continue;
        }
        int y = dot_row(vals[i], ymin, ymax, rows);
        set_dot(cells, w, x, y);
        if (prev >= 0 && prev != y) { /* join from the previous row, exclusive */
            int step = y > prev ? 1 : -1;
            for (int r = prev + step; r != y; r += step)
                set_dot(cells, w, x, r);
        }
        prev = y;
    }
    return x0 - (int)first;
}

void chart_cell_utf8(uint8_t mask, char out[4])
{
    unsigned cp = 0x2800u + mask;
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    out[3] = '\0';
}

char chart_cell_ascii(uint8_t mask)
{
    uint8_t top =
        chart_dot_bit(0, 0) | chart_dot_bit(0, 1) | chart_dot_bit(1, 0) | chart_dot_bit(1, 1);
    int t = (mask & top) != 0, b = (mask & (uint8_t)~top) != 0;
    return t && b ? ':' : t ? '\'' : b ? '.' : ' ';
}

int chart_range(const float *vals, size_t n, double *ymin, double *ymax)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(vals[i])) {
            if (vals[i] < lo)
                lo = vals[i];
            if (vals[i] > hi)
                hi = vals[i];
        }
    if (lo > hi) {
        *ymin = 0;
        *ymax = 1;
        return 0;
    }
    if (hi - lo < 1e-9) {
        double pad = fabs(lo) > 1e-9 ? fabs(lo) * 0.05 : 0.5;
        lo -= pad;
        hi += pad;
    }
    *ymin = lo;
    *ymax = hi;
    return 1;
}
