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

# --- fuzzing and allocation-failure tests (tests/fuzz/README.md) ---------------
#
#   make fuzz           every tests/fuzz/NAME_fuzz.c built with clang, libFuzzer and
#                       ASan+UBSan into build-fuzz/, each run FUZZ_TIME seconds
#                       (FUZZ_TARGETS="conf http" runs only those)
#   make fuzz-regress   the same builds replaying the seeds and regression inputs once
# make check replays them as well, built with $(CC) (tests/unit/fuzz/*_regress_test.c).

FUZZ_TIME    ?= 60
FUZZ_BUILD   ?= build-fuzz
FUZZ_NAMES    = $(patsubst tests/fuzz/%_fuzz.c,%,$(wildcard tests/fuzz/*_fuzz.c))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_MAKE     = $(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang SANITIZE=1 WERROR=0 \
                CFLAGS="-O1 -g -fsanitize=fuzzer-no-link"

.PHONY: fuzz fuzz-build fuzz-regress

fuzz:
	@scripts/deps.sh clang libclang-rt-14-dev
	@$(FUZZ_MAKE) fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-regress:
	@scripts/deps.sh clang libclang-rt-14-dev
	@$(FUZZ_MAKE) fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) 0 $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%_fuzz)

$(BUILD)/fuzz/%_fuzz: tests/fuzz/%_fuzz.c $(wildcard tests/fuzz/*.h) $(BUILD)/libpgmedic.a $(LAZY_OBJ)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $<"
	@$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $< $(BUILD)/libpgmedic.a $(LDFLAGS) $(LIBS) -o $@

# A regression test #includes its target.
$(FUZZ_NAMES:%=$(BUILD)/tests/unit/fuzz/%_regress_test): $(BUILD)/tests/unit/fuzz/%_regress_test: \
    tests/fuzz/%_fuzz.c $(wildcard tests/fuzz/*.h) tests/unit/fuzz/regress.h

# Allocation-failure tests wrap the allocator to fail its Nth call (failalloc.h).
ALLOC_TEST_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/*/alloc*_test.c))
$(ALLOC_TEST_BINS): LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free \
                               -Wl,--wrap=strdup,--wrap=strndup
$(ALLOC_TEST_BINS): tests/unit/fuzz/failalloc.h

# --- install (issue 9) ----------------------------------------------------------
#
#   make install     [PREFIX=/usr/local] [DESTDIR=]: the binary, pgmedic(1), the bash
#                    completion, the systemd unit (ExecStart pointed at BINDIR) and the
#                    docs with the example configuration.  Nothing under /etc: copy
#                    DOCDIR/pgmedic.ini.example to /etc/pgmedic/pgmedic.ini yourself.
#   make uninstall   removes exactly those files.

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/pgmedic
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR     ?= $(PREFIX)/lib/systemd/system
INSTALL_DOCS = README.md docs/pgmedic.ini.example docs/alerts.md docs/grafana-dashboard.json \
               $(firstword $(wildcard SECURITY.md docs/SECURITY.md))

.PHONY: install uninstall

install: $(BUILD)/pgmedic
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(BASHCOMPDIR)' \
	    '$(DESTDIR)$(UNITDIR)' '$(DESTDIR)$(DOCDIR)'
	install -m 755 $(BUILD)/pgmedic '$(DESTDIR)$(BINDIR)/pgmedic'
	sed 's|PREFIX/|$(PREFIX)/|g' docs/pgmedic.1 > '$(DESTDIR)$(MANDIR)/man1/pgmedic.1'
	chmod 644 '$(DESTDIR)$(MANDIR)/man1/pgmedic.1'
	install -m 644 docs/pgmedic.bash-completion '$(DESTDIR)$(BASHCOMPDIR)/pgmedic'
	sed 's|^ExecStart=/usr/local/bin/pgmedic |ExecStart=$(BINDIR)/pgmedic |' docs/pgmedic.service \
	    > '$(DESTDIR)$(UNITDIR)/pgmedic.service'
	chmod 644 '$(DESTDIR)$(UNITDIR)/pgmedic.service'
	install -m 644 $(INSTALL_DOCS) '$(DESTDIR)$(DOCDIR)/'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/pgmedic' '$(DESTDIR)$(MANDIR)/man1/pgmedic.1' \
	    '$(DESTDIR)$(BASHCOMPDIR)/pgmedic' '$(DESTDIR)$(UNITDIR)/pgmedic.service' \
	    $(foreach f,$(notdir $(INSTALL_DOCS)) SECURITY.md,'$(DESTDIR)$(DOCDIR)/$(f)')
	-rmdir '$(DESTDIR)$(DOCDIR)' 2>/dev/null

# --- valgrind, load and soak (issue 8; docs/TORTURE.md) -------------------------
#
#   make valgrind    the unit and integration suites, every test binary and every
#                    pgmedic process under valgrind --leak-check=full
#                    --errors-for-leak-kinds=definite --error-exitcode=99
#                    (tests/valgrind.sh; a -O1 -g build in build-valgrind; ~18 min)
#   make torture     before a release: make valgrind, then serve under 50 concurrent
#                    scrapers for 60 s and a soak of 10,000 probe cycles, against a
#                    -O2 -g build in build-g (tests/torture.sh; ~25 min)

.PHONY: valgrind torture

valgrind: deps
	@scripts/deps.sh valgrind
	@$(MAKE) --no-print-directory BUILD=build-valgrind CFLAGS="-O1 -g" tests
	@tests/valgrind.sh build-valgrind

$(BUILD)/tests/load/scrape: tests/load/scrape.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $< -pthread -o $@

torture: deps
	@scripts/deps.sh valgrind
	@$(MAKE) --no-print-directory BUILD=build-valgrind CFLAGS="-O1 -g" tests
	@$(MAKE) --no-print-directory BUILD=build-g build-g/pgmedic build-g/tests/load/scrape
	@tests/torture.sh build-valgrind build-g
