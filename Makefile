# rosterbridge — build, run, test.
#
#   make            build build/rosterbridge
#   make run        install deps, build, start a private slapd + the bridge
#   make check      install deps, build, run every test (unit, integration, fuzz smoke)
#   make bench      benchmark against raw slapd (see bench/)
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 600)
#   SANITIZE=1      build with ASan + UBSan into build/san
#   SANITIZE=thread build with ThreadSanitizer into build/tsan
#   WERROR=1        warnings are errors (CI)

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
FUZZ_CC  ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 15

PKGS := jansson libmicrohttpd libcurl libxml-2.0 gnutls icu-uc

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARN += -Werror
endif

# The packages' flags come from build/config.mk, which make generates after
# scripts/install-deps has installed pkg-config and the -dev packages, then
# re-reads (GNU make remakes an included makefile before anything else and
# starts over). So the first `make check` on a fresh machine, with -j too,
# compiles with flags read after the install, never with empty ones. Goals
# that build nothing do not install anything.
.DEFAULT_GOAL := all
NODEPS_GOALS := clean stop stop-cluster format format-check uninstall
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
include build/config.mk
endif

build/config.mk: Makefile scripts/install-deps
	@scripts/install-deps
	@mkdir -p build
	@cflags=$$(pkg-config --cflags $(PKGS)) && libs=$$(pkg-config --libs $(PKGS)) \
	  && jlibs=$$(pkg-config --libs jansson) && clibs=$$(pkg-config --libs libcurl) \
	  && printf 'PKG_CFLAGS := %s\nPKG_LIBS := %s\nJANSSON_LIBS := %s\nCURL_LIBS := %s\n' \
	     "$$cflags" "$$libs" "$$jlibs" "$$clibs" > $@.tmp \
	  || { echo "make: pkg-config could not find $(PKGS) after scripts/install-deps" >&2; exit 1; }
	@mv $@.tmp $@

BASE_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -Ibuild $(WARN) $(PKG_CFLAGS)
LIBS = $(PKG_LIBS) -lldap -llber -lpthread -lm

ifeq ($(SANITIZE),1)
BUILD ?= build/san
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else ifeq ($(SANITIZE),thread)
# ThreadSanitizer (README, Reliability; .ci/run runs the threaded integration tests on it).
BUILD ?= build/tsan
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
else
BUILD ?= build
OPT ?= -O2 -g
endif

CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(CFLAGS)

# `rosterbridge --version`, rosterbridge_build_info, `rosterctl version` and
# rosterctl's User-Agent.
VERSION ?= 0.1.0
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null)
RB_VERSION_STR := $(VERSION)$(if $(GIT_REV), (git $(GIT_REV)))
VERSIONED_OBJS := $(BUILD)/src/main.o $(BUILD)/src/cli/main.o $(BUILD)/src/cli/client.o \
                  $(BUILD)/src/http/metrics.o
$(VERSIONED_OBJS): CFLAGS_ALL += '-DRB_VERSION="$(RB_VERSION_STR)"'
# Rewritten only when the version string changes, so the objects that
# carry it are rebuilt then (and only then).
$(VERSIONED_OBJS): $(BUILD)/version.stamp
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(RB_VERSION_STR)' | cmp -s - $@ || echo '$(RB_VERSION_STR)' > $@
.PHONY: FORCE
FORCE:
# rosterctl tenant create names the installed directory kit.
$(BUILD)/src/cli/tenant.o: CFLAGS_ALL += '-DRB_KIT_SCRIPT="$(PREFIX)/share/rosterbridge/scripts/directory-kit"'
LDFLAGS_ALL = $(OPT) $(LDFLAGS)

# Layers, one folder each: lib (error, log) → engine (pure SCIM, no I/O)
# → dir (SCIM ⇄ LDAP mapping, LDAP pool) → http (server, routes, auth).
LIB_SRCS    := $(sort $(wildcard src/lib/*.c))
ENGINE_SRCS := $(sort $(wildcard src/engine/*.c))
DIR_SRCS    := $(sort $(wildcard src/dir/*.c))
HTTP_SRCS   := $(sort $(wildcard src/http/*.c))
CLI_SRCS    := $(sort $(wildcard src/cli/*.c))
# Beside http/: the web console and the invitation mail sender (issue 13).
CONSOLE_SRCS := $(sort $(wildcard src/console/*.c))
MAIL_SRCS   := $(sort $(wildcard src/mail/*.c))
CORE_SRCS   := $(LIB_SRCS) $(ENGINE_SRCS) $(DIR_SRCS) $(HTTP_SRCS) $(CONSOLE_SRCS) $(MAIL_SRCS)
CORE_OBJS   := $(CORE_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)

, := ,
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all run run-cluster stop-cluster bench-cluster stop check unit integration fuzz fuzz-build fuzz-smoke bench format \
        format-check lint install uninstall clean deps

all: $(BUILD)/rosterbridge $(BUILD)/rosterctl

# Keep object files of test binaries (no rebuild on every run).
.SECONDARY:

deps:
	@scripts/install-deps

# Order-only: packages are installed before anything compiles, even with -j.
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The names of schema/rosterbridge.schema's definitions, for dir/check.c's
# "is the directory's schema as new as this binary" (generated: never stale).
build/gen/schema_names.h: schema/rosterbridge.schema
	@mkdir -p $(dir $@)
	@perl -ne 'if (/^(attributetype|objectclass)\b/i) { $$k = lc $$1 } if ($$k && /NAME\s+\x27([^\x27]+)\x27/) { push @{$$n{$$k}}, "\"$$1\""; $$k = undef } END { print "/* generated from schema/rosterbridge.schema by the Makefile */\n#define SCHEMA_ATTRIBUTE_NAMES ", join(", ", @{$$n{attributetype}}), "\n#define SCHEMA_CLASS_NAMES ", join(", ", @{$$n{objectclass}}), "\n" }' $< > $@.tmp && mv $@.tmp $@
$(BUILD)/src/dir/check.o: build/gen/schema_names.h build/gen/kit_steps.h

# The directory kit's numbered upgrade steps, for dir/check.c's "which steps
# has this directory not had" (generated from the file names: never stale),
# and those that change the schema entry (dn: @SCHEMA@: their fix names it).
build/gen/kit_steps.h: $(wildcard conf/directory/upgrade/*.ldif) Makefile
	@mkdir -p $(dir $@)
	@{ echo '/* generated from conf/directory/upgrade/ by the Makefile */'; \
	  printf '#define KIT_STEPS '; \
	  for f in $(sort $(notdir $(wildcard conf/directory/upgrade/[0-9][0-9][0-9][0-9]-*.ldif))); do \
	    printf '"%s", ' "$${f%.ldif}"; done; echo; \
	  printf '#define KIT_SCHEMA_STEPS '; \
	  for f in $(sort $(notdir $(wildcard conf/directory/upgrade/[0-9][0-9][0-9][0-9]-*.ldif))); do \
	    grep -q '^dn: @SCHEMA@' conf/directory/upgrade/$$f && printf '"%s", ' "$${f%.ldif}"; done; echo; } > $@.tmp && mv $@.tmp $@

$(BUILD)/librosterbridge.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/rosterbridge: $(BUILD)/src/main.o $(BUILD)/librosterbridge.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# rosterctl: the CLI (src/cli) over lib and the engine only — never dir/ or http/.
$(BUILD)/rosterctl: $(CLI_SRCS:%.c=$(BUILD)/%.o) $(LIB_SRCS:%.c=$(BUILD)/%.o) \
                    $(ENGINE_SRCS:%.c=$(BUILD)/%.o)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lpthread -lm

$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/librosterbridge.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) -lcmocka

unit: $(UNIT_BINS)
	@prove $(if $(V),-v) $(UNIT_BINS)

# Fuzz targets: clang + libFuzzer over the engine only (no HTTP, no LDAP).
FUZZ_FLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -O1 -g \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(PKG_CFLAGS)
build/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(ENGINE_SRCS) $(wildcard src/lib/*.h src/engine/*.h) | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRCS) $(ENGINE_SRCS) -ljansson -lgnutls -lpthread -lm

# Fuzz targets over the whole core (dir/ and http/ too, with libldap and
# libmicrohttpd): tests/fuzz/fuzz_core_*.c, linked with the core built once
# for fuzzing (sanitizer coverage, no libFuzzer main) into build/fuzz/libcore.a.
FUZZ_CORE_OBJS := $(CORE_SRCS:%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(subst -fsanitize=fuzzer$(,),-fsanitize=fuzzer-no-link$(,),$(FUZZ_FLAGS)) -Ibuild -MMD -MP -c $< -o $@
build/fuzz/obj/src/dir/check.o: build/gen/schema_names.h build/gen/kit_steps.h
build/fuzz/libcore.a: $(FUZZ_CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^
build/fuzz/fuzz_core_%: tests/fuzz/fuzz_core_%.c build/fuzz/libcore.a | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< build/fuzz/libcore.a $(PKG_LIBS) -lldap -llber -lpthread -lm
-include $(FUZZ_CORE_OBJS:.o=.d)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p tests/fuzz/findings/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=tests/fuzz/findings/$$n/ \
	      -dict=tests/fuzz/scim.dict tests/fuzz/findings/$$n tests/fuzz/corpus/$$n || exit 1; done

check: deps all $(UNIT_BINS) $(FUZZ_BINS)
	@FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) BUILD=$(BUILD) tests/run-all

run: deps all
	@scripts/run-dev

stop:
	@scripts/directory stop $${RB_VAR:-var}/directory

bench: deps
	@$(MAKE) --no-print-directory BUILD=build/release OPT=-O2 all
	@bench/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

lint: build/gen/schema_names.h build/gen/kit_steps.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -D__GNUC__ \
	  --include=/usr/include/jansson.h --include=/usr/include/x86_64-linux-gnu/sys/queue.h \
	  -Isrc src
	clang-tidy --quiet $(CORE_SRCS) $(CLI_SRCS) src/main.c -- $(BASE_CFLAGS) 2>&1 | grep -v "warnings generated"
	@! grep -nE '#include "(dir|http)/' src/engine/*.c src/engine/*.h \
	  || { echo "lint: the engine must not depend on dir/ or http/"; exit 1; }
	@! grep -nE '#include "(dir|http)/' src/cli/*.c src/cli/*.h \
	  || { echo "lint: rosterctl (src/cli) must not depend on dir/ or http/"; exit 1; }
	@! grep -nE '\b(sprintf|strcpy|strcat|atoi|strtok|gets)\(' $(CORE_SRCS) $(CLI_SRCS) src/main.c \
	  || { echo "lint: banned function (see STYLE)"; exit 1; }

# make install [DESTDIR=…] [PREFIX=/usr/local] [SYSCONFDIR=/etc]: the daemon,
# rosterctl, the man pages, the systemd unit and sysusers.d entry (the
# dedicated user `rosterbridge`), SYSCONFDIR/rosterbridge/ with the example
# configuration (also as rosterbridge.conf, mode 0640, when there is none
# yet), the schema and the directory kit (DATADIR/conf/directory/*.ldif and
# DATADIR/scripts/directory-kit, which finds the LDIF beside it). Without DESTDIR, as root, it also creates the user
# (systemd-sysusers). `make uninstall` removes all of it except a
# configuration that differs from the example (the operator's tokens).
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DATADIR     ?= $(PREFIX)/share/rosterbridge
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
ETCDIR      := $(DESTDIR)$(SYSCONFDIR)/rosterbridge

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/schema \
	           $(DESTDIR)$(DATADIR)/conf $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	           $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -d -m 0750 $(ETCDIR)
	install -m 0755 $(BUILD)/rosterbridge $(DESTDIR)$(SBINDIR)/rosterbridge
	install -m 0755 $(BUILD)/rosterctl $(DESTDIR)$(BINDIR)/rosterctl
	install -m 0644 schema/rosterbridge.schema schema/rosterbridge.ldif $(DESTDIR)$(DATADIR)/schema/
	install -m 0644 conf/rosterbridge.conf.example $(DESTDIR)$(DATADIR)/conf/
	install -d $(DESTDIR)$(DATADIR)/conf/directory $(DESTDIR)$(DATADIR)/scripts
	install -m 0644 conf/directory/*.ldif $(DESTDIR)$(DATADIR)/conf/directory/
	install -d $(DESTDIR)$(DATADIR)/conf/directory/upgrade
	install -m 0644 conf/directory/upgrade/*.ldif $(DESTDIR)$(DATADIR)/conf/directory/upgrade/
	install -m 0755 scripts/directory-kit $(DESTDIR)$(DATADIR)/scripts/directory-kit
	install -m 0644 man/rosterctl.1 $(DESTDIR)$(MANDIR)/man1/rosterctl.1
	install -m 0644 man/rosterbridge.conf.5 $(DESTDIR)$(MANDIR)/man5/rosterbridge.conf.5
	install -m 0644 man/rosterbridge.8 $(DESTDIR)$(MANDIR)/man8/rosterbridge.8
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    conf/rosterbridge.service.in > $(DESTDIR)$(UNITDIR)/rosterbridge.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rosterbridge.service
	install -m 0644 conf/rosterbridge.sysusers $(DESTDIR)$(SYSUSERSDIR)/rosterbridge.conf
	install -m 0644 conf/rosterbridge.conf.example $(ETCDIR)/rosterbridge.conf.example
	@if [ ! -e $(ETCDIR)/rosterbridge.conf ]; then \
	  install -m 0640 conf/rosterbridge.conf.example $(ETCDIR)/rosterbridge.conf; \
	  echo "install: $(ETCDIR)/rosterbridge.conf created from the example: edit it"; \
	else echo "install: $(ETCDIR)/rosterbridge.conf exists: kept as it is"; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null; then \
	  systemd-sysusers $(SYSUSERSDIR)/rosterbridge.conf && \
	  chgrp rosterbridge $(ETCDIR) $(ETCDIR)/rosterbridge.conf && \
	  echo "install: user rosterbridge ready; next: systemctl daemon-reload && systemctl enable --now rosterbridge"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/rosterbridge $(DESTDIR)$(BINDIR)/rosterctl \
	      $(DESTDIR)$(MANDIR)/man1/rosterctl.1 $(DESTDIR)$(MANDIR)/man5/rosterbridge.conf.5 \
	      $(DESTDIR)$(MANDIR)/man8/rosterbridge.8 $(DESTDIR)$(UNITDIR)/rosterbridge.service \
	      $(DESTDIR)$(SYSUSERSDIR)/rosterbridge.conf
	rm -rf $(DESTDIR)$(DATADIR)
	@if [ -e $(ETCDIR)/rosterbridge.conf ] && \
	    ! cmp -s $(ETCDIR)/rosterbridge.conf $(ETCDIR)/rosterbridge.conf.example; then \
	  echo "uninstall: $(ETCDIR)/rosterbridge.conf differs from the example: kept (remove it yourself)"; \
	else rm -f $(ETCDIR)/rosterbridge.conf; fi
	rm -f $(ETCDIR)/rosterbridge.conf.example
	@rmdir $(ETCDIR) 2>/dev/null || true

clean:
	rm -rf build

-include $(CORE_OBJS:.o=.d) $(CLI_SRCS:%.c=$(BUILD)/%.d) $(BUILD)/src/main.d $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%.d)

# Differential test driver (tests/differential/, run by tests/integration/30-differential.t).
build/differential/engine_cli: tests/differential/engine_cli.c $(LIB_SRCS) $(ENGINE_SRCS) $(wildcard src/lib/*.h src/engine/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) $(CFLAGS) -o $@ $< $(LIB_SRCS) $(ENGINE_SRCS) $(LDFLAGS) \
	  $(JANSSON_LIBS) -lgnutls -lpthread -lm

# Engine micro-benchmark (called by bench/run): always optimised, engine + lib only.
build/bench/engine_bench: bench/engine_bench.c $(LIB_SRCS) $(ENGINE_SRCS) $(wildcard src/lib/*.h src/engine/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -g $(CFLAGS) -o $@ $< $(LIB_SRCS) $(ENGINE_SRCS) $(LDFLAGS) \
	  $(JANSSON_LIBS) -lgnutls -lpthread -lm

# Load generators of `make bench` (bench/run builds them): raw LDAP and SCIM over HTTP.
build/bench/ldapbench: bench/ldapbench.c bench/bench_stats.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -g $(CFLAGS) -o $@ $< $(LDFLAGS) -lldap -llber -lpthread

build/bench/httpbench: bench/httpbench.c bench/bench_stats.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -g $(CFLAGS) -o $@ $< $(LDFLAGS) $(CURL_LIBS)

# Raw-LDAP helper of bench/growth (the script builds it with this rule).
build/bench/growth_ldap: bench/growth_ldap.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -g $(CFLAGS) -o $@ $< $(LDFLAGS) -lldap -llber

# Two providers replicating each other and a bridge on each (scripts/cluster).
run-cluster: deps all
	@scripts/run-cluster

stop-cluster:
	@scripts/cluster stop $${RB_VAR:-var}/cluster

# `make bench` in cluster mode: raw slapd, one bridge on it, two bridges on two
# providers, as ratios, plus the replication delay (bench/run, BENCH_CLUSTER=1).
bench-cluster: deps
	@$(MAKE) --no-print-directory BUILD=build/release OPT=-O2 all
	@BENCH_CLUSTER=1 bench/run
