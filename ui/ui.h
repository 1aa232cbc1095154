/*
 * ui.h: what the console's parts share (private to ui/).
 *
 * ui_ctx is the console's whole state: the link, the snapshot being drawn,
 * focus, scroll positions, the open dialog. Panels are small classes: a
 * const panel_class with a draw function (into a rectangle of stdscr) and an
 * optional key function for the keys a panel owns when focused (scrolling,
 * Enter). Key handlers return UI_* flags that the one loop in console.c acts
 * on. The key table in keys.c drives dispatch, the footer and the help.
 */
#ifndef DD_UI_H
#define DD_UI_H

#include "command.h"
#include "console.h"
#include "snapshot.h"
#include "term.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    UI_HANDLED = 1u, /* the key was used */
    UI_REDRAW = 2u,  /* draw now, not at the next frame */
    UI_RESIZE = 4u,  /* the terminal changed size: lay out again */
    UI_QUIT = 8u,    /* leave the loop */
};

typedef struct ui_rect {
    int y, x, h, w;
} ui_rect;

/* The focusable panels, in Tab order. */
typedef enum ui_panel { UI_CHART = 0, UI_REPLAY, UI_VERSIONS, UI_LOG, UI_PANEL__COUNT } ui_panel;

/* Chart kinds `c` cycles through. */
typedef enum ui_chart_kind {
    UI_CH_ACCURACY = 0,
    UI_CH_ERROR,
    UI_CH_ADWIN,
    UI_CH_PH,
    UI_CH_PRED_MEAN,
    UI_CH_FEATURES,
    UI_CH__COUNT
} ui_chart_kind;

typedef enum ui_dialog {
    UI_DLG_NONE = 0,
    UI_DLG_HELP,
    UI_DLG_APPROVE,  /* both versions' metrics side by side; y confirms */
    UI_DLG_ROLLBACK, /* y confirms */
    UI_DLG_QUIT,     /* a version awaits approval; y quits */
    UI_DLG_EXPORT,   /* j / c / h picks the format */
    UI_DLG_FILTER,   /* a line editor for the event-log filter */
    UI_DLG_DETAILS,  /* the selected version's details */
    UI_DLG_SEARCH,   /* a line editor for a knowledge-store query */
    UI_DLG_HITS,     /* the knowledge store's answer */
} ui_dialog;

typedef struct ui_ctx {
    console_link *link;
    const dd_snapshot *snap;
    char user[32];
    bool utf8;
    ui_panel focus;
    ui_chart_kind chart_kind;
    int sel[UI_PANEL__COUNT]; /* selected row of each table panel */
    int top[UI_PANEL__COUNT]; /* first visible row */
    ui_rect area[UI_PANEL__COUNT];
    ui_dialog dialog;
    uint64_t target; /* the version a dialog is about (0: previous/any) */
    char filter[64]; /* applied event-log filter */
    char edit[64];   /* the filter being typed */
    cmd_view view;
    uint64_t next_id;    /* the next command id */
    uint64_t awaited_id; /* the command whose answer the status line shows */
    double speed_asked;  /* the last speed sent and not yet answered (NaN: none) */
    char status[200];
    bool status_bad;
    struct kstore_results *hits; /* UI_DLG_HITS: the last search's answer (owned) */
    char query[64];              /* ... and its query */
} ui_ctx;

typedef struct panel_class {
    const char *name;
    void (*draw)(ui_ctx *ui, ui_rect r, bool focused);
    /* keys the panel owns when focused; NULL when none. Returns UI_* flags. */
    unsigned (*key)(ui_ctx *ui, int key);
} panel_class;

extern const panel_class panel_header;
extern const panel_class panel_chart;
extern const panel_class panel_replay;
extern const panel_class panel_versions;
extern const panel_class panel_log;
extern const panel_class panel_footer;

/* ---- drawing helpers (ui_draw.c) ---- */

/* Print text at (row, col) of r, clipped to r's width; printf-style. */
void ui_print(ui_rect r, int row, int col, int attr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Fill row of r with spaces in attr. */
void ui_fill(ui_rect r, int row, int attr);
/* The panel title bar on r's first row: name, a hint, focus highlight. */
void ui_title(ui_rect r, const char *title, const char *hint, bool focused);
/* Draw a box with a title, cleared inside, centred on the screen; returns its inside. */
ui_rect ui_dialog_box(int h, int w, const char *title);
/* Format a metric for a table ("0.912", "-" for NaN) into buf. */
const char *ui_num(char *buf, size_t n, double v, int decimals);
/* Format a count compactly ("95000", "123.4k", "5.41M") into buf. */
const char *ui_count(char *buf, size_t n, double v);
/* Scroll a table selection for an arrow/page/home/end key; returns UI_* flags. */
unsigned ui_scroll(ui_ctx *ui, ui_panel p, int key, int nrows, int page);
/* Keep sel visible in a window of `rows` rows. */
void ui_keep_visible(ui_ctx *ui, ui_panel p, int rows);

/* ---- commands (keys.c) ---- */

/* Send a command of kind (fields from *proto if not NULL) and remember its id
 * for the status line. Returns UI_REDRAW. */
unsigned ui_send(ui_ctx *ui, cmd_kind kind, const dd_command *proto);
/* Set the status line. */
void ui_say(ui_ctx *ui, bool bad, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- keys (keys.c) ---- */

/* Dispatch one key: the open dialog first, then the focused panel, then the
 * key table. Returns UI_* flags. */
unsigned keys_dispatch(ui_ctx *ui, int key);
/* Draw the footer: the keys that apply now. */
void keys_draw_footer(ui_ctx *ui, ui_rect r);
/* Draw the help overlay from the key table. */
void keys_draw_help(ui_ctx *ui);
/* Draw the open dialog (not help). */
void dialogs_draw(ui_ctx *ui);

#endif
