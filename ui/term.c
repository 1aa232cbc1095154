/*
 * term.c: curses setup and teardown, colour roles, signals (see term.h).
 */
#include "term.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool active; /* between term_init and term_end */
static bool color;  /* colours in use */
static bool utf8;   /* decided once in term_init */
static SCREEN *screen;
static FILE *tty; /* /dev/tty when stdin carries the stream */
static volatile sig_atomic_t interrupted;

/* role -> foreground colour, and the monochrome attribute */
static const struct {
    short fg;
    int mono;
    int extra; /* added in colour mode too */
} roles[TERM_ROLE__COUNT] = {
    [TERM_NORMAL] = {-1, A_NORMAL, A_NORMAL},
    [TERM_TITLE] = {COLOR_CYAN, A_BOLD, A_BOLD},
    [TERM_FOCUS] = {COLOR_YELLOW, A_REVERSE, A_BOLD},
    [TERM_SELECTED] = {-1, A_REVERSE, A_REVERSE},
    [TERM_DIM] = {COLOR_BLUE, A_DIM, A_NORMAL},
    [TERM_OK] = {COLOR_GREEN, A_NORMAL, A_NORMAL},
    [TERM_WARN] = {COLOR_YELLOW, A_BOLD, A_BOLD},
    [TERM_BAD] = {COLOR_RED, A_BOLD | A_UNDERLINE, A_BOLD},
    [TERM_SERIES_A] = {COLOR_GREEN, A_NORMAL, A_NORMAL},
    [TERM_SERIES_B] = {COLOR_MAGENTA, A_BOLD, A_NORMAL},
    [TERM_MARK] = {COLOR_CYAN, A_BOLD, A_BOLD},
    [TERM_KEY] = {COLOR_YELLOW, A_BOLD, A_BOLD},
};

bool term_no_color_env(void)
{
    const char *v = getenv("NO_COLOR");
    return v && v[0];
}

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* A crash: put the terminal back so the user can read the shell, then die
 * by the same signal. endwin() is not async-signal-safe; like htop we accept
 * that for a process that is about to die anyway. */
static void on_fatal(int sig)
{
    if (active)
        endwin();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void setup_colors(void)
{
    color = has_colors() && !term_no_color_env();
    if (!color)
        return;
    start_color();
    use_default_colors();
    for (int r = 1; r < TERM_ROLE__COUNT; r++)
        init_pair((short)r, roles[r].fg, -1);
}

static dd_err close_tty(dd_err err)
{
    if (tty)
        fclose(tty);
    tty = NULL;
    return err;
}

dd_err term_init(FILE *in, FILE *out, char **cause)
{
    if (active)
        return DD_OK;
    in = in ? in : stdin;
    out = out ? out : stdout;
    setlocale(LC_ALL, "");
    utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    /* `producer | driftdeck --source -`: the events come on stdin, so the
     * keys come from the controlling terminal (as less(1) does) */
    if (!isatty(fileno(in)) && !tty && (tty = fopen("/dev/tty", "r+")) != NULL)
        in = tty;
    if (!isatty(fileno(out)) && tty)
        out = tty;
    if (!isatty(fileno(in)) || !isatty(fileno(out)))
        return close_tty(dd_fail(cause, DD_EIO, "the console needs a terminal (use --headless)"));
    screen = newterm(NULL, out, in);
    if (!screen)
        return close_tty(dd_fail(cause, DD_EIO, "cannot set up terminal '%s'",
                                 getenv("TERM") ? getenv("TERM") : "(TERM unset)"));
    set_term(screen);
    active = true;
    static bool registered;
    if (!registered) {
        atexit(term_end);
        registered = true;
    }
    install_signals();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    setup_colors();
    return DD_OK;
}

void term_end(void)
{
    if (!active)
        return;
    active = false;
    curs_set(1);
    endwin();
    delscreen(screen);
    screen = NULL;
    close_tty(DD_OK);
}

int term_attr(term_role role)
{
    if ((unsigned)role >= TERM_ROLE__COUNT)
        return A_NORMAL;
    if (!color)
        return roles[role].mono;
    return (role ? (int)COLOR_PAIR(role) : 0) | roles[role].extra;
}

bool term_has_color(void)
{
    return color;
}

bool term_utf8(void)
{
    return utf8;
}

bool term_interrupted(void)
{
    return interrupted != 0;
}
