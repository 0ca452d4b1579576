/*
 * screen.h - the terminal of `pgmedic top`: ncurses, loaded with dlopen()
 * by top alone.
 *
 * Every pgmedic command is one binary whose start time and memory are
 * benchmarked; linking ncurses would load it (and relocate it) in every
 * `pgmedic check`.  So libncursesw.so.6 (Debian's libncursesw6, which
 * brings libtinfo6) is opened on tui_screen_open() only.  One screen per
 * process; it paints lines that tui/layout.h made terminal-safe.
 */
#ifndef PGMEDIC_TUI_SCREEN_H
#define PGMEDIC_TUI_SCREEN_H

#include <stdbool.h>

#include "tui/layout.h"
#include "util/compiler.h"
#include "util/error.h"

/* Keys besides plain characters (which come as themselves). */
enum
{
    TUI_KEY_NONE = -1,
    TUI_KEY_UP = 0x10000,
    TUI_KEY_DOWN,
    TUI_KEY_PAGE_UP,
    TUI_KEY_PAGE_DOWN,
    TUI_KEY_HOME,
    TUI_KEY_END,
    TUI_KEY_LEFT,
    TUI_KEY_RIGHT,
    TUI_KEY_BACKSPACE,
    TUI_KEY_ENTER,
    TUI_KEY_ESCAPE,
    TUI_KEY_RESIZE,
    TUI_KEY_OTHER /* a function key top has no use for */
};

/*
 * Loads ncurses and takes over the terminal (stdin, stdout): raw keys
 * without echo, no cursor, colours when the terminal has them and NO_COLOR
 * is unset.  0, or -1 with *err (the library is missing, or the terminal is
 * not one ncurses knows).
 */
int tui_screen_open(PmError *err) PM_MUST_CHECK;

/* Gives the terminal back as it was; a no-op when not open. */
void tui_screen_close(void);

/* Rows and columns of the terminal now. */
void tui_screen_size(int *rows, int *cols);

/* Starts a frame: everything erased (nothing is shown until tui_screen_show). */
void tui_screen_erase(void);

/*
 * Paints text (one line, terminal-safe) on row, from column 0, with attr;
 * a selected line is in reverse video across the whole width.
 */
void tui_screen_put(int row, const char *text, TuiAttr attr, bool selected);

/* Shows the frame. */
void tui_screen_show(void);

/* The next key typed, TUI_KEY_NONE when none is waiting (never blocks). */
int tui_screen_key(void);

#endif
