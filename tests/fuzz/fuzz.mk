# Robustness of user/ (included by the Makefile; see tests/fuzz/README.md).
#
#   make fuzz-user      build the libFuzzer targets and fuzz each for FUZZ_TIME
#                       seconds (default 60) on a scratch copy of its corpus;
#                       FUZZ_MERGE=1 merges new inputs back into tests/fuzz/corpus
#   make fuzz-replay    run each target once over its corpus and its crash
#                       reproducers (a few seconds); "fuzz: N passed, N failed"
#   make fuzz-cov       line coverage of each target's code over the last corpora (llvm-cov)
#   make check-asan     unit tests and the CLI built with ASan+UBSan, then the CLI
#                       and a short agent run under valgrind; "asan: N passed, N failed"
#
# Each builds in its own directory by calling make again with BUILD, CC and
# CFLAGS set, so build/ and the user's flags are left alone.

FUZZ_BUILD   ?= build-fuzz
ASAN_BUILD   ?= build-asan
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_MERGE   ?= 0
FUZZ_TARGETS := config cli parse expo

# UB aborts (libFuzzer only sees crashes); ASan for memory errors, LSan for leaks.
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# The CLI's system boundary, replaced by stubs in tests/fuzz/fuzz_cli.c.
FUZZ_CLI_WRAP := cb_state_open cb_state_close cb_state_lock cb_link_get cb_config_load \
		 cb_dp_open cb_attach cb_detach

.PHONY: fuzz-user fuzz-replay fuzz-cov fuzz-build fuzz-bins check-asan asan-bins

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
		CFLAGS="-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link" LDFLAGS= fuzz-bins

fuzz-user: fuzz-build
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_MERGE=$(FUZZ_MERGE) \
		tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz-replay: fuzz-build
	@tests/fuzz/run.sh replay $(FUZZ_BUILD) $(FUZZ_TARGETS)

# Line coverage (llvm-cov) of each target's code over the last fuzz-user corpora.
fuzz-cov:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD)/cov CC=$(FUZZ_CC) \
		CFLAGS="-O0 -g -fprofile-instr-generate -fcoverage-mapping -fsanitize=fuzzer-no-link" \
		LDFLAGS=-fprofile-instr-generate fuzz-bins
	@FUZZ_WORK_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh cov $(FUZZ_BUILD)/cov $(FUZZ_TARGETS)

# Only meaningful inside the sub-make above (BUILD=$(FUZZ_BUILD), CFLAGS with the sanitizers).
fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(USER_HDRS) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AGENT_INC) -fsanitize=fuzzer $< $(LIBS) $(LDLIBS) $(LDFLAGS) -o $@

# The real main() and verbs; main.c's main becomes cb_cli_main (libFuzzer has the main).
$(BUILD)/fuzz/fuzz_cli: tests/fuzz/fuzz_cli.c tests/fuzz/fuzz.h $(CLI_SRC) $(USER_HDRS) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CLI_INC) -fsanitize=fuzzer -Dmain=cb_cli_main \
		$(filter %.c,$^) $(LIBS) $(JSON_LIBS) $(LDLIBS) \
		$(addprefix -Wl$(comma)--wrap=,$(FUZZ_CLI_WRAP)) $(LDFLAGS) -o $@

comma := ,

# ASan/UBSan build of the library, the CLI and the unit tests, and a plain
# build of the CLI for valgrind (valgrind and ASan do not mix).
asan-bins: $(BIN) $(UNIT_TESTS)

check-asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) \
		CFLAGS="-O2 -g $(ASAN_SAN)" LDFLAGS="$(ASAN_SAN)" asan-bins
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD)/plain CFLAGS="-O1 -g" LDFLAGS= \
		$(ASAN_BUILD)/plain/canary-bpf
	@tests/asan/run.sh $(ASAN_BUILD) $(ASAN_BUILD)/plain/canary-bpf
