/*
 * snapshot_json_regress_test.c - every seed and regression input of the snapshot_json fuzz
 * target (tests/fuzz/snapshot_json_fuzz.c), replayed (see regress.h).
 */
#include "fuzz/snapshot_json_fuzz.c"
#include "regress.h"

REGRESS_MAIN("snapshot_json")
