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

# libpq links statically from Debian's own archives (libpq-dev's libpq.a and
# postgresql-server-dev-15's libpgcommon/libpgport) when they are installed:
# loading libpq.so's 26 shared libraries is a third of a `pgmedic check` and
# 4 MB of its RSS.  OpenSSL stays shared, so its security updates apply; GSSAPI
# and LDAP are loaded on first use (src/pg/libpq_lazy.c).  A statically linked
# libpq takes libpq's own security updates only when pgmedic is rebuilt:
# packagers who prefer the shared one build with `make PQ_LINK=shared`.
PG_LIBDIR    := $(shell pg_config --libdir 2>/dev/null)
PG_PKGLIBDIR := $(shell pg_config --pkglibdir 2>/dev/null)
PQ_STATIC_LIBS = $(PG_LIBDIR)/libpq.a $(PG_PKGLIBDIR)/libpgcommon_shlib.a \
                 $(PG_PKGLIBDIR)/libpgport_shlib.a
PQ_LINK ?= $(if $(strip $(foreach f,$(PQ_STATIC_LIBS),$(if $(wildcard $(f)),,missing))),shared,static)
LAZY_OBJ = $(BUILD)/obj/src/pg/libpq_lazy.o
ifeq ($(PQ_LINK),static)
PQ_LIBS   = $(PQ_STATIC_LIBS) $(LAZY_OBJ) -lssl -lcrypto -lpthread -ldl
PQ_CFLAGS = -DPGMEDIC_STATIC_LIBPQ
else
PQ_LIBS   = $(shell pkg-config --libs libpq)
PQ_CFLAGS =
endif

WARNINGS = -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wvla \
           -Wpointer-arith -Wcast-qual -Wwrite-strings -Wimplicit-fallthrough -Wconversion -Wundef
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

CC      ?= cc
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARNINGS) $(CFLAGS) \
             -Isrc -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS)) $(PQ_CFLAGS)
LIBS    = $(PQ_LIBS) $(shell pkg-config --libs $(filter-out libpq,$(PKGS))) -lm
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=address,undefined
endif

SRCS     = $(shell find src -name '*.c' | sort)
OBJS     = $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/sql.o $(BUILD)/obj/gen/rules_yml.o
LIB_OBJS = $(filter-out $(BUILD)/obj/src/main.o $(LAZY_OBJ),$(OBJS))
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

# rules/pgmedic.rules.yml, embedded for `pgmedic rules` (src/cmd/rules.c).
$(BUILD)/gen/rules_yml.c $(BUILD)/gen/rules_yml.h &: rules/pgmedic.rules.yml scripts/text2c.sh
	@scripts/text2c.sh $(BUILD)/gen/rules_yml RULES_YML rules/pgmedic.rules.yml

$(BUILD)/obj/gen/rules_yml.o: $(BUILD)/gen/rules_yml.c
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/src/cmd/rules.o: $(BUILD)/gen/rules_yml.h

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/sql.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pgmedic: $(OBJS)
	@echo "  LINK    $@ (libpq $(PQ_LINK))"
	@$(CC) $(LDFLAGS) $(filter-out $(LAZY_OBJ),$^) $(LIBS) -o $@

$(BUILD)/libpgmedic.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

# Unit tests link the library (everything but main) and cmocka.
$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libpgmedic.a $(LAZY_OBJ)
	@mkdir -p $(dir $@)
	@echo "  TEST    $<"
	@$(CC) $(ALL_CFLAGS) -Itests -Itests/unit $(shell pkg-config --cflags $(TESTPKGS)) $< \
	    $(BUILD)/libpgmedic.a $(LDFLAGS) $(LIBS) $(shell pkg-config --libs $(TESTPKGS)) -o $@

# Integration tests drive the binary; the ones that drive the library (the
# probe job) link it too.
$(BUILD)/tests/integration/%: tests/integration/%.c tests/integration/harness.c \
                              tests/integration/harness.h $(BUILD)/libpgmedic.a $(LAZY_OBJ)
	@mkdir -p $(dir $@)
	@echo "  TEST    $<"
	@$(CC) $(ALL_CFLAGS) -Itests/integration $(shell pkg-config --cflags $(TESTPKGS)) $< \
	    tests/integration/harness.c $(BUILD)/libpgmedic.a $(LDFLAGS) $(LIBS) \
	    $(shell pkg-config --libs $(TESTPKGS)) -o $@

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
	@bench/serve.sh

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
