# Pluto — one Makefile for the library, the command, the tests and the docs.
#
#   make            build build/pluto and build/libpluto.a
#   make run        run the main job: serve examples/site on port 8000
#   make test       install what the tests need (Debian packages), build, run them all
#   make asan       the same tests under ASan+UBSan
#   make check-purity   fail if a pure module references OS calls, the clock or rand
#   make bench      pluto side by side with nginx, lighttpd and h2o (bench/results/)
#   make fuzz       each libFuzzer driver for FUZZ_SECONDS (default 60)
#   make sim-long SEEDS=N   every app's simulation over seeds 1..N (default 10000)
#   make soak       a long mixed-load run, RSS/descriptors/p99 every 10 s (SOAK_SECONDS=1800)
#   make fuzz-long  each driver until FUZZ_EXECS executions (ledger: docs/fuzz-ledger.tsv)
#   make install PREFIX=/usr/local DESTDIR=
#
# Build lines are short ("  CC  src/x.c"); V=1 prints the whole commands.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Wshadow -Wno-unused-parameter \
           -Werror=incompatible-pointer-types -Iinclude -Isrc -MMD -MP
LDLIBS  += -lxxhash -luring -lpthread

# Link-time optimisation with gcc: a request crosses the runtime, the backend and the
# app in many small calls, and LTO inlines them across files (bench/instr.sh counts 9%
# fewer instructions per request). The objects are fat, so libpluto.a and the test
# binaries, linked without LTO to keep the build quick, use them as usual. `LTO=` turns
# it off; clang builds (make asan, CC=clang) go without.
IS_GCC  := $(shell $(CC) -dM -E -x c /dev/null 2>/dev/null | grep -q __clang__ || echo yes)
LTO     ?= $(if $(IS_GCC),-flto=auto -ffat-lto-objects)

# Quiet build lines: $(call say,CC,file) prints "  CC      file" unless V=1.
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)
say      = $(if $(Q),@printf '  %-7s %s\n' '$(1)' '$(2)')

LIB_SRC  := $(wildcard src/runtime/*.c src/backend/*.c src/machine/*.c src/cli/lib_*.c)
APP_SRC  := $(wildcard src/apps/*.c src/http/*.c)
CLI_SRC  := src/cli/pluto.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all run test asan check-purity install uninstall clean deps unit fuzz fuzz-smoke

all: $(BUILD)/pluto $(BUILD)/libpluto.a

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LTO) -c $< -o $@

$(BUILD)/libpluto.a: $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/pluto: $(CLI_OBJ) $(APP_OBJ) $(BUILD)/libpluto.a
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LTO) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(APP_OBJ) $(BUILD)/libpluto.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(APP_OBJ) $(BUILD)/libpluto.a -o $@ $(LDLIBS) -lcriterion

# The kv app as a durable machine in the simulator, under disk faults and
# crashes (tests/sim/kvsim*.c; tests/sim/sim_kv.sh runs it in make test).
KVSIM_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/sim/kvsim*.c))
$(BUILD)/tests/sim_kv: $(KVSIM_OBJ) $(APP_OBJ) $(BUILD)/libpluto.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# `make sim-long SEEDS=N`: every app's simulation over seeds 1..N, in parallel.
SEEDS ?= 10000
.PHONY: sim-long
sim-long: $(BUILD)/pluto $(BUILD)/tests/sim_kv
	@SEEDS=$(SEEDS) scripts/sim-long.sh $(BUILD)

# `make bench`: pluto against nginx, lighttpd and h2o on loopback (bench/README.md).
# ROUNDS, LEAN_ROUNDS, DURATION, SERVERS, WORKLOADS, QUICK=1, PLUTO_FLAGS pass through.
.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/pluto
	@PLUTO=$(BUILD)/pluto bash bench/run.sh

# `make soak`: the static server and the kv machine under mixed load for SOAK_SECONDS
# (default 1800), RSS, descriptors and p99 every 10 s, a verdict and a chart (bench/soak.sh).
.PHONY: soak
soak: deps
	@$(MAKE) --no-print-directory $(BUILD)/pluto
	@PLUTO=$(BUILD)/pluto bash bench/soak.sh

run: $(BUILD)/pluto
	$(BUILD)/pluto 8000 examples/site

deps:
	@scripts/deps.sh

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

test: deps
	@$(MAKE) --no-print-directory all check-purity $(FUZZ_BIN)
	@$(MAKE) --no-print-directory unit-and-rest FUZZ_SMOKE=1

.PHONY: unit-and-rest
unit-and-rest: $(UNIT_BIN) $(BUILD)/pluto $(BUILD)/tests/sim_kv
	@FUZZ_SMOKE=$(FUZZ_SMOKE) LTO="$(LTO)" scripts/run-tests.sh $(BUILD) $(UNIT_BIN)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan CC=clang \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" all unit-and-rest

# libFuzzer drivers (tests/fuzz/fuzz_*.c) over the pure HTTP code, with ASan+UBSan.
# `make fuzz` runs each for FUZZ_SECONDS; `make test` runs each briefly over its corpus.
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Isrc \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

build/fuzz/%: tests/fuzz/%.c $(wildcard src/http/*.c src/http/*.h)
	@mkdir -p $(dir $@)
	$(call say,FUZZ,$@)
	$(Q)clang $(FUZZ_FLAGS) $< $(wildcard src/http/*.c) -o $@

# Whole connections of the static server: the runtime, the harness and the apps.
build/fuzz/fuzz_conn: tests/fuzz/fuzz_conn.c $(LIB_SRC) $(APP_SRC) \
                      $(wildcard include/pluto/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(call say,FUZZ,$@)
	$(Q)clang $(FUZZ_FLAGS) $< $(LIB_SRC) $(APP_SRC) -o $@ $(LDLIBS)

# The journal's readers, over the simulated disk (src/machine).
build/fuzz/fuzz_journal: tests/fuzz/fuzz_journal.c $(wildcard src/machine/*.c src/machine/*.h)
	@mkdir -p $(dir $@)
	$(call say,FUZZ,$@)
	$(Q)clang $(FUZZ_FLAGS) $< $(wildcard src/machine/*.c) -o $@ -lxxhash

fuzz: deps $(FUZZ_BIN)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

fuzz-smoke: $(FUZZ_BIN)
	@scripts/fuzz.sh 5 $(FUZZ_BIN)

# A long campaign: each driver until FUZZ_EXECS executions of its current
# source are in docs/fuzz-ledger.tsv (FUZZ_BUDGET=S stops after S seconds).
FUZZ_EXECS ?= 100000000
.PHONY: fuzz-long
fuzz-long: deps $(FUZZ_BIN)
	@scripts/fuzz-long.sh $(FUZZ_EXECS) $(FUZZ_BIN)

check-purity: $(APP_OBJ)
	@scripts/check-purity.sh $(APP_OBJ)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/pluto $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/pluto $(DESTDIR)$(PREFIX)/bin/pluto
	install -m 644 $(BUILD)/libpluto.a $(DESTDIR)$(PREFIX)/lib/libpluto.a
	install -m 644 include/pluto/*.h $(DESTDIR)$(PREFIX)/include/pluto/
	install -m 644 docs/pluto.1 $(DESTDIR)$(PREFIX)/share/man/man1/pluto.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/^#define PL_VERSION "\(.*\)"/\1/p' include/pluto/pluto.h)|g' \
	    pluto.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pluto.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pluto $(DESTDIR)$(PREFIX)/lib/libpluto.a \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/pluto.pc $(DESTDIR)$(PREFIX)/share/man/man1/pluto.1
	rm -rf $(DESTDIR)$(PREFIX)/include/pluto

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
