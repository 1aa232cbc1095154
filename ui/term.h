/*
 * term.h: the one module that owns the terminal (after htop's CRT).
 *
 * term_init() sets curses up (locale, keypad, no echo, invisible cursor,
 * colours); term_end() restores the terminal and is safe to call twice, from
 * atexit, and from the fatal-signal handler, so the terminal comes back on
 * every exit path. SIGINT, SIGTERM and SIGHUP only raise a flag that the
 * console loop reads (term_interrupted): the loop then leaves the normal way.
 * SIGWINCH is curses' own: it arrives as KEY_RESIZE.
 *
 * Colours are semantic roles (term_role). Each role has a colour pair and a
 * monochrome attribute; the monochrome scheme is used when the terminal has
 * no colours or NO_COLOR is set to a non-empty value (no-color.org).
 * Whether braille can be drawn is decided once, from the locale's codeset.
 */
#ifndef DD_TERM_H
#define DD_TERM_H

#include "dd.h"

#include <stdbool.h>
#include <stdio.h>

typedef enum term_role {
    TERM_NORMAL = 0,
    TERM_TITLE,    /* panel titles, the header */
    TERM_FOCUS,    /* the focused panel's title */
    TERM_SELECTED, /* the selected row */
    TERM_DIM,      /* axis labels, secondary text */
    TERM_OK,       /* RUNNING, connected, accuracy up */
    TERM_WARN,     /* PAUSED, warnings, reconnecting */
    TERM_BAD,      /* drift, errors, rollbacks */
    TERM_SERIES_A, /* the active model's line */
    TERM_SERIES_B, /* the challenger's line */
    TERM_MARK,     /* promotion markers */
    TERM_KEY,      /* key names in the footer and help */
    TERM_ROLE__COUNT
} term_role;

/* Set the terminal up on in/out (NULL: stdin/stdout; both must be
 * terminals). DD_EIO with *cause when there is no usable terminal. On
 * success the caller must call term_end() (atexit does it as a backstop). */
dd_err term_init(FILE *in, FILE *out, char **cause);

/* Restore the terminal. Idempotent; a no-op before term_init(). */
void term_end(void);

/* The curses attribute of a role (colour pair or monochrome attribute). */
int term_attr(term_role role);

/* True when colours are in use (not monochrome). */
bool term_has_color(void);

/* True when the locale is UTF-8, so braille and box-drawing can be drawn. */
bool term_utf8(void);

/* True once SIGINT, SIGTERM or SIGHUP arrived; the loop should end. */
bool term_interrupted(void);

/* Decide monochrome from the environment alone: NO_COLOR set and non-empty.
 * Exposed for tests. */
bool term_no_color_env(void);

#endif
