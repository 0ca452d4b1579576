/*
 * http_regress_test.c - every seed and regression input of the http fuzz
 * target (tests/fuzz/http_fuzz.c), replayed (see regress.h).
 */
#include "fuzz/http_fuzz.c"
#include "regress.h"

REGRESS_MAIN("http")
