/*
 * panel_footer.c: the status line (the answer to the last command, or what
 * the console has to say) above the keys that apply now.
 */
#include "ui.h"

#include <math.h>

static void draw(ui_ctx *ui, ui_rect r, bool focused)
{
    (void)focused;
    const dd_snapshot *s = ui->snap;
    if (ui->awaited_id && s->result_id == ui->awaited_id) {
        ui_say(ui, s->result_err != DD_OK, "%s%s%s",
               s->result_err ? dd_strerror(s->result_err) : "", s->result_err ? ": " : "",
               s->result_text);
        ui->awaited_id = 0;
        ui->speed_asked = NAN;
    }
    ui_rect status = {r.y, r.x, 1, r.w};
    ui_fill(status, 0, term_attr(TERM_NORMAL));
    ui_print(status, 0, 1, term_attr(ui->status_bad ? TERM_BAD : TERM_OK), "%s", ui->status);
    ui_rect keys = {r.y + 1, r.x, 1, r.w};
    keys_draw_footer(ui, keys);
}

const panel_class panel_footer = {"footer", draw, NULL};
