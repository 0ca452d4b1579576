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
# 4 MB of its RSS.  GSSAPI and LDAP are loaded on first use
# (src/pg/libpq_lazy.c).  A statically linked libpq takes libpq's own
# security updates only when pgmedic is rebuilt: packagers who prefer the
# shared one build with `make PQ_LINK=shared`.
PG_LIBDIR    := $(shell pg_config --libdir 2>/dev/null)
PG_PKGLIBDIR := $(shell pg_config --pkglibdir 2>/dev/null)
PQ_STATIC_LIBS = $(PG_LIBDIR)/libpq.a $(PG_PKGLIBDIR)/libpgcommon_shlib.a \
                 $(PG_PKGLIBDIR)/libpgport_shlib.a
PQ_LINK ?= $(if $(strip $(foreach f,$(PQ_STATIC_LIBS),$(if $(wildcard $(f)),,missing))),shared,static)

# OpenSSL and GnuTLS stay shared libraries (their security updates apply
# without a rebuild), but on x86-64 they are loaded on the first call into
# them (src/util/lazylib.h): the static libpq's and libmicrohttpd's calls go
# to stubs that scripts/lazystubs.sh generates from the archives, so a
# process that makes no TLS connection and no password login never maps
# them (1.7 and 2.3 MB of RSS).  libmicrohttpd itself links statically then
# (MHD_LINK=static, from libmicrohttpd-dev's libmicrohttpd.a); otherwise serve
# dlopen()s libmicrohttpd.so (src/serve/http.c).  LAZY_STUBS=no links both
# libraries the ordinary way.
MULTIARCH_LIBDIR := /usr/lib/$(shell $(CC) -dumpmachine 2>/dev/null | sed 's/-pc-/-/')
LAZY_STUBS ?= $(if $(filter x86_64-%,$(shell $(CC) -dumpmachine 2>/dev/null)),yes,no)
MHD_STATIC_LIB = $(MULTIARCH_LIBDIR)/libmicrohttpd.a
MHD_LINK ?= $(if $(and $(filter yes,$(LAZY_STUBS)),$(wildcard $(MHD_STATIC_LIB))),static,dlopen)

# SQLite links statically as well where the lazy stubs work and libsqlite3-dev
# has its archive (SQLITE_LINK=static): its calls into libm (SQL math
# functions, which pgmedic's statements do not use) become lazy stubs too,
# and serve maps neither libsqlite3.so nor libm (1.5 MB of RSS between them).
# The store is pgmedic's own 0600 file, read and written with pgmedic's own
# statements: the case where a SQLite fix waiting for a rebuild matters
# least.  SQLITE_LINK=shared links libsqlite3.so and libm the ordinary way.
SQLITE_STATIC_LIB = $(MULTIARCH_LIBDIR)/libsqlite3.a
SQLITE_LINK ?= $(if $(and $(filter yes,$(LAZY_STUBS)),$(wildcard $(SQLITE_STATIC_LIB))),static,shared)

# Relative relocations packed (DT_RELR: binutils 2.38, glibc 2.36): 85 KB of
# .rela.dyn that every start reads and every process maps become 1 KB.
RELR_LDFLAGS := $(shell printf 'int main(void) { return 0; }\n' | \
                  $(CC) -x c - -Wl,-z,pack-relative-relocs -o /dev/null 2>/dev/null && \
                  echo -Wl,-z,pack-relative-relocs)

# Objects that stand in for a library and must be linked before the archives
# that call them (the archives are searched once, in order).
SHIM_OBJS =
ifeq ($(PQ_LINK),static)
SHIM_OBJS += $(BUILD)/obj/src/pg/libpq_lazy.o
PQ_CFLAGS = -DPGMEDIC_STATIC_LIBPQ
ifeq ($(LAZY_STUBS),yes)
PQ_CFLAGS += -DPGMEDIC_LAZY_OPENSSL
SHIM_OBJS += $(BUILD)/obj/gen/lazy_openssl.o
PQ_LIBS    = $(PQ_STATIC_LIBS) -lpthread -ldl
else
PQ_LIBS    = $(PQ_STATIC_LIBS) -lssl -lcrypto -lpthread -ldl
endif
else
PQ_LIBS   = $(shell pkg-config --libs libpq)
PQ_CFLAGS =
endif
ifeq ($(MHD_LINK),static)
PQ_CFLAGS += -DPGMEDIC_STATIC_MHD
SHIM_OBJS += $(BUILD)/obj/src/serve/mhd_lazy.o $(BUILD)/obj/gen/lazy_gnutls.o
PQ_LIBS   += $(MHD_STATIC_LIB)
endif
ifeq ($(SQLITE_LINK),static)
PQ_CFLAGS += -DPGMEDIC_LAZY_LIBM
SHIM_OBJS += $(BUILD)/obj/src/store/sqlite_lazy.o $(BUILD)/obj/gen/lazy_libm.o
DB_LIBS    = $(SQLITE_STATIC_LIB)
else
DB_LIBS    = $(shell pkg-config --libs sqlite3) -lm
endif
ifeq ($(LAZY_STUBS),yes)
SHIM_OBJS += $(BUILD)/obj/src/util/lazylib.o $(BUILD)/obj/src/util/lazylib_x86_64.o
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
LIBS    = $(PQ_LIBS) $(shell pkg-config --libs $(filter-out libpq sqlite3,$(PKGS))) $(DB_LIBS)
# Test programs may call libm themselves.
TEST_LIBS = $(LIBS) -lm
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=address,undefined
endif

SRCS     = $(shell find src -name '*.c' | sort)
OBJS     = $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/sql.o $(BUILD)/obj/gen/rules_yml.o \
           $(filter-out $(SRCS:%.c=$(BUILD)/obj/%.o),$(SHIM_OBJS))
LIB_OBJS = $(filter-out $(BUILD)/obj/src/main.o $(SHIM_OBJS),$(OBJS))
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

# The lazy stubs (see SHIM_OBJS above) and the one place they all jump to.
$(BUILD)/gen/lazy_openssl.S: scripts/lazystubs.sh $(PQ_STATIC_LIBS)
	@mkdir -p $(dir $@)
	@scripts/lazystubs.sh openssl $(MULTIARCH_LIBDIR)/libssl.so $(MULTIARCH_LIBDIR)/libcrypto.so \
	    -- $(PQ_STATIC_LIBS) >$@.tmp && mv $@.tmp $@

# gnutls_malloc is a variable, and MHD's library constructor calls
# gnutls_global_init(): both are defined in src/serve/mhd_lazy.c.
$(BUILD)/gen/lazy_gnutls.S: scripts/lazystubs.sh $(MHD_STATIC_LIB)
	@mkdir -p $(dir $@)
	@scripts/lazystubs.sh gnutls $(MULTIARCH_LIBDIR)/libgnutls.so --skip gnutls_malloc \
	    --skip gnutls_global_init --skip gnutls_global_deinit -- $(MHD_STATIC_LIB) >$@.tmp && mv $@.tmp $@

# libm for SQLite and for pgmedic's own calls (but see src/util/numeric.h).
$(BUILD)/gen/lazy_libm.S: scripts/lazystubs.sh $(SQLITE_STATIC_LIB) $(BUILD)/libpgmedic.a \
                          $(BUILD)/obj/src/main.o
	@mkdir -p $(dir $@)
	@scripts/lazystubs.sh libm $(MULTIARCH_LIBDIR)/libm.so.6 \
	    -- $(SQLITE_STATIC_LIB) $(BUILD)/libpgmedic.a $(BUILD)/obj/src/main.o >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.S
	@mkdir -p $(dir $@)
	@$(CC) $(filter-out -fsanitize%,$(ALL_CFLAGS)) -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(filter-out -fsanitize%,$(ALL_CFLAGS)) -c $< -o $@

$(BUILD)/pgmedic: $(OBJS)
	@echo "  LINK    $@ (libpq $(PQ_LINK), libmicrohttpd $(MHD_LINK), sqlite $(SQLITE_LINK), lazy stubs $(LAZY_STUBS))"
	@$(CC) $(LDFLAGS) $(RELR_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/libpgmedic.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

# Unit tests link the library (everything but main) and cmocka.
$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libpgmedic.a $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $<"
	@$(CC) $(ALL_CFLAGS) -Itests -Itests/unit $(shell pkg-config --cflags $(TESTPKGS)) $< \
	    $(SHIM_OBJS) $(BUILD)/libpgmedic.a $(LDFLAGS) $(TEST_LIBS) $(shell pkg-config --libs $(TESTPKGS)) -o $@

# Integration tests drive the binary; the ones that drive the library (the
# probe job) link it too.
$(BUILD)/tests/integration/%: tests/integration/%.c tests/integration/harness.c \
                              tests/integration/harness.h $(BUILD)/libpgmedic.a $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $<"
	@$(CC) $(ALL_CFLAGS) -Itests/integration $(shell pkg-config --cflags $(TESTPKGS)) $< \
	    tests/integration/harness.c $(SHIM_OBJS) $(BUILD)/libpgmedic.a $(LDFLAGS) $(TEST_LIBS) \
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

$(BUILD)/fuzz/%_fuzz: tests/fuzz/%_fuzz.c $(wildcard tests/fuzz/*.h) $(BUILD)/libpgmedic.a $(SHIM_OBJS)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $<"
	@$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $< $(SHIM_OBJS) $(BUILD)/libpgmedic.a $(LDFLAGS) $(TEST_LIBS) -o $@

# A regression test #includes its target.
$(FUZZ_NAMES:%=$(BUILD)/tests/unit/fuzz/%_regress_test): $(BUILD)/tests/unit/fuzz/%_regress_test: \
    tests/fuzz/%_fuzz.c $(wildcard tests/fuzz/*.h) tests/unit/fuzz/regress.h

# The render tests share their XML checker.
$(BUILD)/tests/unit/render/report_test $(BUILD)/tests/unit/render/statuspage_test: \
    tests/unit/render/xmlcheck.h

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
