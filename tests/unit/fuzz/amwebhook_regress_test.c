/*
 * amwebhook_regress_test.c - every seed and regression input of the amwebhook fuzz
 * target (tests/fuzz/amwebhook_fuzz.c), replayed (see regress.h).
 */
#include "fuzz/amwebhook_fuzz.c"
#include "regress.h"

REGRESS_MAIN("amwebhook")
