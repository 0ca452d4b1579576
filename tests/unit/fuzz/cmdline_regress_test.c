/*
 * cmdline_regress_test.c - every seed and regression input of the cmdline fuzz
 * target (tests/fuzz/cmdline_fuzz.c), replayed (see regress.h).
 */
#include "fuzz/cmdline_fuzz.c"
#include "regress.h"

REGRESS_MAIN("cmdline")
