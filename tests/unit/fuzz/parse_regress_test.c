/*
 * parse_regress_test.c - every seed and regression input of the parse fuzz
 * target (tests/fuzz/parse_fuzz.c), replayed (see regress.h).
 */
#include "fuzz/parse_fuzz.c"
#include "regress.h"

REGRESS_MAIN("parse")
