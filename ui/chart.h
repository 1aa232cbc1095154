/*
 * chart.h: line charts on a grid of braille cells, with an ASCII fallback.
 *
 * A cell is 2 dots wide and 4 dots high (Unicode braille, U+2800 + an 8-bit
 * mask), so a w x h cell chart has 2w x 4h dots. The newest sample is at the
 * right edge, one sample per dot column; older samples scroll off the left.
 * Consecutive samples are joined by filling the dot column between their
 * rows, so a steep change reads as a line, not scattered dots. NaN samples
 * leave a gap. The renderer is pure (no curses): it fills masks that the
 * chart panel prints, which also makes it testable cell by cell.
 *
 * Where the locale is not UTF-8 the masks are printed as ASCII: one
 * character per cell showing which half of the cell has dots (' . : ' ').
 */
#ifndef DD_CHART_H
#define DD_CHART_H

#include <stddef.h>
#include <stdint.h>

/* Dot (col 0..1, row 0..3, row 0 at the top) -> braille mask bit. */
uint8_t chart_dot_bit(int col, int row);

/* Render the last min(n, 2w) samples of vals (oldest first) into cells
 * (w * h masks, row-major, top row first), scaled so that ymin is the bottom
 * dot row and ymax the top one (values outside are clamped). cells is
 * cleared first. Returns the dot column (0..2w-1) of vals[0] or a negative
 * number when vals[0] fell off the left: x_of_sample(i) = that + i. */
int chart_render(const float *vals, size_t n, double ymin, double ymax, int w, int h,
                 uint8_t *cells);

/* The UTF-8 encoding of a braille mask into out (3 bytes + NUL). */
void chart_cell_utf8(uint8_t mask, char out[4]);

/* The ASCII stand-in of a mask: ' ' empty, '\'' top half, '.' bottom half,
 * ':' both. */
char chart_cell_ascii(uint8_t mask);

/* A range that holds every finite value of vals (padded when flat). Returns
 * 0 when there is no finite value (and sets 0..1). */
int chart_range(const float *vals, size_t n, double *ymin, double *ymax);

#endif
