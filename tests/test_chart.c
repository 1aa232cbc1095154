/*
 * test_chart.c: known series -> known braille cells (and their ASCII
 * stand-ins). Masks follow the Unicode braille numbering: dots 1,2,3,7 down
 * the left column are bits 0,1,2,6; dots 4,5,6,8 down the right are 3,4,5,7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chart.h"

#include <math.h>
#include <string.h>

static void rising_line_in_two_cells(void **state)
{
    (void)state;
    /* 4 samples over 2x1 cells: dot rows 3,2,1,0 (bottom to top) */
    const float v[] = {0.0f, 1.0f / 3, 2.0f / 3, 1.0f};
    uint8_t cells[2];
    int x0 = chart_render(v, 4, 0.0, 1.0, 2, 1, cells);
    assert_int_equal(x0, 0);
    assert_int_equal(cells[0], 0x40 | 0x20); /* left col row 3, right col row 2: U+2860 */
    assert_int_equal(cells[1], 0x02 | 0x08); /* left col row 1, right col row 0: U+280A */
    char s[4];
    chart_cell_utf8(cells[0], s);
    assert_string_equal(s, "\xe2\xa1\xa0"); /* U+2860 */
    chart_cell_utf8(cells[1], s);
    assert_string_equal(s, "\xe2\xa0\x8a"); /* U+280A */
    assert_int_equal(chart_cell_ascii(cells[0]), '.');
    assert_int_equal(chart_cell_ascii(cells[1]), '\'');
}

static void steep_step_is_joined_across_cells(void **state)
{
    (void)state;
    /* 1x2 cells (8 dot rows): 0 then 1 jumps from row 7 to row 0 */
    const float v[] = {0.0f, 1.0f};
    uint8_t cells[2];
    chart_render(v, 2, 0.0, 1.0, 1, 2, cells);
    /* top cell: right column rows 0..3 all set (joined) */
    assert_int_equal(cells[0], 0x08 | 0x10 | 0x20 | 0x80);
    /* bottom cell: left row 3 (the first sample) + right rows 0..2 (join, excl. row 7) */
    assert_int_equal(cells[1], 0x40 | 0x08 | 0x10 | 0x20);
    assert_int_equal(chart_cell_ascii(cells[0]), ':');
}

static void newest_samples_win_and_short_series_align_right(void **state)
{
    (void)state;
    /* 3 samples in 2 cells (4 dot columns): right-aligned, first at column 1 */
    const float v[] = {0.5f, 0.5f, 0.5f};
    uint8_t cells[2];
    int x0 = chart_render(v, 3, 0.0, 1.0, 2, 1, cells);
    assert_int_equal(x0, 1);
    /* 0.5 of 4 rows (0..3) rounds to row 2 (1.5 -> 2) */
    assert_int_equal(cells[0], 0x20);        /* only the right column */
    assert_int_equal(cells[1], 0x04 | 0x20); /* both columns, row 2 */
    /* 6 samples in 2 cells: the 2 oldest scroll off the left */
    const float w[] = {1, 1, 0, 0, 0, 0};
    x0 = chart_render(w, 6, 0.0, 1.0, 2, 1, cells);
    assert_int_equal(x0, -2);
    assert_int_equal(cells[0], 0x40 | 0x80);
    assert_int_equal(cells[1], 0x40 | 0x80);
}

static void nan_leaves_a_gap_and_out_of_range_clamps(void **state)
{
    (void)state;
    const float v[] = {5.0f, NAN, -5.0f, 0.0f};
    uint8_t cells[2];
    chart_render(v, 4, 0.0, 1.0, 2, 1, cells);
    /* 5 clamps to the top row; NaN: nothing; -5 clamps to the bottom with no
     * join from the top (the gap broke the line); 0 at the bottom */
    assert_int_equal(cells[0], 0x01);
    assert_int_equal(cells[1], 0x40 | 0x80);
}

static void range_covers_values_and_pads_flat_series(void **state)
{
    (void)state;
    double lo, hi;
    const float v[] = {NAN, 2.0f, -1.0f, 3.0f};
    assert_int_equal(chart_range(v, 4, &lo, &hi), 1);
    assert_true(lo == -1.0 && hi == 3.0);
    const float flat[] = {2.0f, 2.0f};
    chart_range(flat, 2, &lo, &hi);
    assert_true(lo < 2.0 && hi > 2.0);
    const float none[] = {NAN};
    assert_int_equal(chart_range(none, 1, &lo, &hi), 0);
    assert_true(lo == 0.0 && hi == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rising_line_in_two_cells),
        cmocka_unit_test(steep_step_is_joined_across_cells),
        cmocka_unit_test(newest_samples_win_and_short_series_align_right),
        cmocka_unit_test(nan_leaves_a_gap_and_out_of_range_clamps),
        cmocka_unit_test(range_covers_values_and_pads_flat_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
