/*
 * conf_regress_test.c - every seed and regression input of the conf fuzz
 * target (tests/fuzz/conf_fuzz.c), replayed (see regress.h).
 */
#include "fuzz/conf_fuzz.c"
#include "regress.h"

REGRESS_MAIN("conf")
