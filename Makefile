# pgmedic - GNU make + pkg-config.
#
#   make              build build/pgmedic
#   make check        install what is missing, build, run every test
#                     (unit + integration, then again under ASan+UBSan)
#   make demo         a throwaway server with a seeded incident, and pgmedic on it
#   make bench        the benchmark against the tools users have today
#   make asan         build and test with -fsanitize=address,undefined only
#   make format       clang-format the sources; make lint: cppcheck + banned calls

BUILD    ?= build
WERROR   ?= 1
SANITIZE ?= 0

PKGS     = libpq jansson inih sqlite3
TESTPKGS = cmocka

WARNINGS = -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wvla \
           -Wpointer-arith -Wcast-qual -Wwrite-strings -Wimplicit-fallthrough -Wconversion -Wundef
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

CC      ?= cc
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARNINGS) $(CFLAGS) \
             -Isrc -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS))
LIBS    = $(shell pkg-config --libs $(PKGS)) -lm
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=address,undefined
endif

SRCS     = $(shell find src -name '*.c' | sort)
OBJS     = $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/sql.o
LIB_OBJS = $(filter-out $(BUILD)/obj/src/main.o,$(OBJS))
SQL      = $(sort $(wildcard sql/*.sql))

UNIT_SRCS  = $(shell find tests/unit -name '*_test.c' 2>/dev/null | sort)
UNIT_BINS  = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
INTEG_SRCS = $(filter-out tests/integration/harness.c,$(wildcard tests/integration/*_test.c))
INTEG_BINS = $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRCS))

.PHONY: all deps check check-unit check-integration asan tests demo bench clean format \
        format-check lint check-headers

all: $(BUILD)/pgmedic

deps:
	@scripts/deps.sh

$(BUILD)/gen/sql.c $(BUILD)/gen/sql.h &: $(SQL) scripts/sql2c.sh
	@scripts/sql2c.sh $(BUILD)/gen $(SQL)

$(BUILD)/obj/gen/sql.o: $(BUILD)/gen/sql.c
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/sql.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pgmedic: $(OBJS)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/libpgmedic.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

# Unit tests link the library (everything but main) and cmocka.
$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libpgmedic.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $<"
	@$(CC) $(ALL_CFLAGS) -Itests -Itests/unit $(shell pkg-config --cflags $(TESTPKGS)) $< \
	    $(BUILD)/libpgmedic.a $(LDFLAGS) $(LIBS) $(shell pkg-config --libs $(TESTPKGS)) -o $@

$(BUILD)/tests/integration/%: tests/integration/%.c tests/integration/harness.c \
                              tests/integration/harness.h
	@mkdir -p $(dir $@)
	@echo "  TEST    $<"
	@$(CC) $(ALL_CFLAGS) -Itests/integration $(shell pkg-config --cflags $(TESTPKGS)) $< \
	    tests/integration/harness.c $(LDFLAGS) $(LIBS) $(shell pkg-config --libs $(TESTPKGS)) -o $@

tests: $(BUILD)/pgmedic $(UNIT_BINS) $(INTEG_BINS)

# make check: the plain build's suites, then the same suites under ASan+UBSan
# (the last summary line is the sanitizer run; make stops at the first failure).
check: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 CFLAGS="-O1 -g" tests
	@tests/run.sh build
	@tests/run.sh build-asan

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 CFLAGS="-O1 -g" tests
	@tests/run.sh build-asan

check-unit: deps tests
	@tests/run.sh $(BUILD) unit

check-integration: deps tests
	@tests/run.sh $(BUILD) integration

demo: deps all
	@scripts/demo.sh $(BUILD)/pgmedic

bench: deps all
	@bench/deps.sh
	@bench/run.sh

check-headers: $(BUILD)/gen/sql.h
	@for h in $$(find src -name '*.h'); do \
	    echo "#include \"$${h#src/}\"" | $(CC) $(ALL_CFLAGS) -x c -fsyntax-only - || exit 1; \
	done; echo "every header compiles alone"

format:
	clang-format -i $$(find src tests bench -name '*.[ch]')

format-check:
	clang-format --dry-run -Werror $$(find src tests bench -name '*.[ch]')

lint:
	cppcheck --quiet --enable=warning,style,performance,portability --error-exitcode=1 \
	    --suppress=missingIncludeSystem --inline-suppr -Isrc src
	@! grep -rnE '\b(sprintf|strcpy|strcat|strtok|atoi|gets|localtime)\(' src || \
	    { echo "banned function (STYLE.md §9)"; exit 1; }

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
