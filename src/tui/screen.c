/*
 * screen.c - ncurses for `pgmedic top`, loaded on first use (see screen.h).
 *
 * Only top calls tui_screen_open(), so no other command maps the library.
 * <curses.h> provides types and constants; with NCURSES_NOMACROS it
 * declares functions instead of macros, and every call goes through the
 * table of pointers below, filled by dlsym() (the pattern of
 * src/serve/http.c and src/pg/libpq_lazy.c).
 */
#include "tui/screen.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCURSES_NOMACROS 1
#include <curses.h>

#include "util/strbuf.h"
#include "util/utf8.h"

#define NCURSES_LIBRARY "libncursesw.so.6"

/* The functions used, with their prototypes (ncurses 6). */
#define NC_FUNCS(X)                                                                                \
    X(newterm, SCREEN *, (const char *, FILE *, FILE *) )                                          \
    X(endwin, int, (void) )                                                                        \
    X(delscreen, void, (SCREEN *) )                                                                \
    X(cbreak, int, (void) )                                                                        \
    X(noecho, int, (void) )                                                                        \
    X(nonl, int, (void) )                                                                          \
    X(keypad, int, (WINDOW *, bool) )                                                              \
    X(nodelay, int, (WINDOW *, bool) )                                                             \
    X(intrflush, int, (WINDOW *, bool) )                                                           \
    X(curs_set, int, (int) )                                                                       \
    X(set_escdelay, int, (int) )                                                                   \
    X(has_colors, bool, (void) )                                                                   \
    X(start_color, int, (void) )                                                                   \
    X(use_default_colors, int, (void) )                                                            \
    X(init_pair, int, (short, short, short) )                                                      \
    X(getmaxy, int, (const WINDOW *) )                                                             \
    X(getmaxx, int, (const WINDOW *) )                                                             \
    X(werase, int, (WINDOW *) )                                                                    \
    X(wmove, int, (WINDOW *, int, int) )                                                           \
    X(waddnstr, int, (WINDOW *, const char *, int) )                                               \
    X(wattrset, int, (WINDOW *, int) )                                                             \
    X(wrefresh, int, (WINDOW *) )                                                                  \
    X(wgetch, int, (WINDOW *) )

#define DECLARE_PTR(name, ret, args) ret(*p_##name) args;

static struct
{
    NC_FUNCS(DECLARE_PTR)
    WINDOW **stdscr_var; /* ncurses' stdscr, a variable of libtinfo */
} nc;

static bool loaded, colors;
static SCREEN *screen;
static WINDOW *win;

/*
 * Function pointers cannot be assigned from dlsym()'s void * in ISO C; the
 * copy through memcpy is POSIX's sanctioned way.
 */
#define LOAD_PTR(name, ret, args)                                                                  \
    if (missing == NULL)                                                                           \
    {                                                                                              \
        void *sym = dlsym(handle, #name);                                                          \
        if (sym == NULL)                                                                           \
            missing = #name;                                                                       \
        else                                                                                       \
            memcpy(&nc.p_##name, &sym, sizeof(sym));                                               \
    }

static int
load(PmError *err)
{
    const char *missing = NULL;
    void *handle;

    if (loaded)
        return 0;
    /* Never closed: the terminal is ncurses' until exit. */
    handle = dlopen(NCURSES_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
    {
        const char *why = dlerror();

        pm_error_set(err, "could not load %s: %s", NCURSES_LIBRARY,
                     why != NULL ? why : "unknown reason");
        pm_error_hint(err, "pgmedic top needs the ncurses library: apt-get install libncursesw6");
        return -1;
    }
    NC_FUNCS(LOAD_PTR)
    if (missing == NULL)
    {
        nc.stdscr_var = dlsym(handle, "stdscr");
        if (nc.stdscr_var == NULL)
            missing = "stdscr";
    }
    if (missing != NULL)
    {
        pm_error_set(err, "could not load %s: symbol %s not found", NCURSES_LIBRARY, missing);
        return -1;
    }
    loaded = true;
    return 0;
}

/* Colour pairs, one per attribute that has a colour. */
enum
{
    PAIR_OK = 1,
    PAIR_WARNING,
    PAIR_CRITICAL
};

/* COLOR_PAIR() is a function under NCURSES_NOMACROS: the same bits, computed here. */
#define PAIR_BITS(n) ((unsigned int) (NCURSES_BITS((unsigned int) (n), 0) & A_COLOR))

int
tui_screen_open(PmError *err)
{
    const char *term = getenv("TERM");

    if (load(err) != 0)
        return -1;
    screen = nc.p_newterm(NULL, stdout, stdin);
    if (screen == NULL)
    {
        pm_error_set(err, "could not open the terminal: terminal type \"%s\" is not known",
                     term != NULL ? term : "");
        pm_error_hint(err, "Set TERM to the type of your terminal, e.g. TERM=xterm-256color.");
        return -1;
    }
    win = *nc.stdscr_var;
    nc.p_cbreak();
    nc.p_noecho();
    nc.p_nonl();
    nc.p_keypad(win, TRUE);
    nc.p_nodelay(win, TRUE);
    nc.p_intrflush(win, FALSE);
    nc.p_curs_set(0);
    /* Escape alone cancels a prompt: do not wait a second for a sequence behind it. */
    nc.p_set_escdelay(25);
    colors = nc.p_has_colors() && getenv("NO_COLOR") == NULL;
    if (colors)
    {
        short bg = COLOR_BLACK;

        nc.p_start_color();
        if (nc.p_use_default_colors() == OK)
            bg = -1;
        nc.p_init_pair(PAIR_OK, COLOR_GREEN, bg);
        nc.p_init_pair(PAIR_WARNING, COLOR_YELLOW, bg);
        nc.p_init_pair(PAIR_CRITICAL, COLOR_RED, bg);
    }
    return 0;
}

void
tui_screen_close(void)
{
    if (screen == NULL)
        return;
    nc.p_curs_set(1);
    nc.p_endwin();
    nc.p_delscreen(screen);
    screen = NULL;
    win = NULL;
}

void
tui_screen_size(int *rows, int *cols)
{
    *rows = win ? nc.p_getmaxy(win) : 24;
    *cols = win ? nc.p_getmaxx(win) : 80;
}

void
tui_screen_erase(void)
{
    if (win)
        nc.p_werase(win);
}

static int
attr_bits(TuiAttr attr)
{
    switch (attr)
    {
        case TUI_ATTR_NORMAL:
            return (int) A_NORMAL;
        case TUI_ATTR_BOLD:
            return (int) A_BOLD;
        case TUI_ATTR_HEADING:
            return (int) A_REVERSE;
        case TUI_ATTR_OK:
            return colors ? (int) PAIR_BITS(PAIR_OK) : (int) A_NORMAL;
        case TUI_ATTR_WARNING:
            return colors ? (int) PAIR_BITS(PAIR_WARNING) : (int) A_BOLD;
        case TUI_ATTR_CRITICAL:
            return colors ? (int) (PAIR_BITS(PAIR_CRITICAL) | A_BOLD) : (int) A_BOLD;
        case TUI_ATTR_DIM:
            return (int) A_DIM;
    }
    return (int) A_NORMAL;
}

void
tui_screen_put(int row, const char *text, TuiAttr attr, bool selected)
{
    int rows, cols;

    if (win == NULL)
        return;
    tui_screen_size(&rows, &cols);
    if (row < 0 || row >= rows)
        return;
    nc.p_wmove(win, row, 0);
    nc.p_wattrset(win, attr_bits(attr) | (selected ? (int) A_REVERSE : 0));
    if (selected)
    {
        /* The bar spans the whole width: pad with spaces (widths count code points). */
        StrBuf buf = STRBUF_INIT;
        const unsigned char *p = (const unsigned char *) text;
        int n = 0;

        while (*p)
        {
            size_t len = pm_utf8_len(p);

            p += len ? len : 1;
            n++;
        }
        strbuf_append(&buf, text);
        for (; n < cols; n++)
            strbuf_append_char(&buf, ' ');
        if (strbuf_ok(&buf))
            nc.p_waddnstr(win, strbuf_str(&buf), -1);
        strbuf_free(&buf);
    }
    else
        nc.p_waddnstr(win, text, -1);
    /*
     * No clear to the end of the line: the frame started erased, and a line
     * that fills the width has moved the cursor to the next row already.
     */
    nc.p_wattrset(win, (int) A_NORMAL);
}

void
tui_screen_show(void)
{
    if (win)
        nc.p_wrefresh(win);
}

int
tui_screen_key(void)
{
    int c;

    if (win == NULL)
        return TUI_KEY_NONE;
    c = nc.p_wgetch(win);
    switch (c)
    {
        case ERR:
            return TUI_KEY_NONE;
        case KEY_UP:
            return TUI_KEY_UP;
        case KEY_DOWN:
            return TUI_KEY_DOWN;
        case KEY_PPAGE:
            return TUI_KEY_PAGE_UP;
        case KEY_NPAGE:
            return TUI_KEY_PAGE_DOWN;
        case KEY_HOME:
            return TUI_KEY_HOME;
        case KEY_END:
            return TUI_KEY_END;
        case KEY_LEFT:
            return TUI_KEY_LEFT;
        case KEY_RIGHT:
            return TUI_KEY_RIGHT;
        case KEY_BACKSPACE:
        case 127:
        case 8:
            return TUI_KEY_BACKSPACE;
        case KEY_ENTER:
        case '\n':
        case '\r':
            return TUI_KEY_ENTER;
        case 27:
            return TUI_KEY_ESCAPE;
        case KEY_RESIZE:
            return TUI_KEY_RESIZE;
        default:
            return c >= 0 && c < 256 ? c : TUI_KEY_OTHER;
    }
}
