/*
 * conninfo_regress_test.c - every seed and regression input of the conninfo fuzz
 * target (tests/fuzz/conninfo_fuzz.c), replayed (see regress.h).
 */
#include "fuzz/conninfo_fuzz.c"
#include "regress.h"

REGRESS_MAIN("conninfo")
