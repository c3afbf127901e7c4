# canary-bpf: kernel-level traffic splitter for canary deployments.
# `make` builds build/canary-bpf (BPF object embedded as a libbpf skeleton).
# `sudo make check` installs what is missing, builds and runs every test.

PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
VERSION   := 0.1.0

ARCH_INC  := /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__BPF__ -Wall -Werror -Iinclude -Ibpf -I$(ARCH_INC)

# CFLAGS/LDFLAGS are the user's (e.g. sanitizers); what the build needs is added here.
CFLAGS    ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Werror -Iinclude -I$(BUILD) \
             -DCB_VERSION='"$(VERSION)"' $(CFLAGS)
DEPFLAGS  := -MMD -MP
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 libnl-genl-3.0 2>/dev/null)
NL_LIBS   := $(shell pkg-config --libs libnl-route-3.0 libnl-genl-3.0 2>/dev/null)
JSON_CFLAGS := $(shell pkg-config --cflags json-c 2>/dev/null)
JSON_LIBS := $(shell pkg-config --libs json-c 2>/dev/null)
LDLIBS    := -lbpf -lelf -lz -lyaml -lmicrohttpd -lm $(NL_LIBS)

BPF_SRC   := bpf/canary.bpf.c
BPF_HDRS  := $(wildcard bpf/*.h) include/canary_bpf.h include/canary_params.h
BPF_OBJ   := $(BUILD)/canary.bpf.o
SKEL      := $(BUILD)/canary.skel.h

# user/ is three rooms, and the folder decides what goes where (docs/architecture.md):
#   user/lib    the map-state library and what the CLI and the agent share: libcanary.a
#   user/agent  the node daemon: libcanary-agent.a
#   user/cli    the command line: the objects of build/canary-bpf
# Each room sees only its own headers and those of the rooms below it, so a
# library file that reached up into the agent or the CLI would not compile.
LIB_INC   := -Iuser/lib $(NL_CFLAGS)
AGENT_INC := $(LIB_INC) -Iuser/agent
CLI_INC   := $(AGENT_INC) -Iuser/cli $(JSON_CFLAGS)
USER_HDRS := $(wildcard user/*/*.h) include/canary_bpf.h include/canary_params.h

LIB_SRC   := $(wildcard user/lib/*.c)
AGENT_SRC := $(wildcard user/agent/*.c)
CLI_SRC   := $(wildcard user/cli/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libcanary.a
AGENT_LIB := $(BUILD)/libcanary-agent.a
# What the CLI, the tests and the benchmarks link, in link order.
LIBS      := $(AGENT_LIB) $(LIB)
BIN       := $(BUILD)/canary-bpf

DP_TEST_SRC := $(wildcard tests/datapath/*.c)
DP_TEST     := $(BUILD)/tests/test_datapath
UNIT_TESTS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all deps check test unit demo bench bench-build soak fuzz install clean

all: $(BIN)

deps:
	@scripts/install-deps.sh

$(BPF_OBJ): $(BPF_SRC) $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name canary > $@.tmp && mv $@.tmp $@

# Objects carry their header dependencies (-MMD); skel.o, the only user of the
# generated skeleton, needs it before its first compile.
$(BUILD)/user/lib/%.o: user/lib/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(LIB_INC) -c $< -o $@

$(BUILD)/user/lib/skel.o: $(SKEL)

$(BUILD)/user/agent/%.o: user/agent/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(AGENT_INC) -c $< -o $@

$(BUILD)/user/cli/%.o: user/cli/%.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(CLI_INC) -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

$(LIB): $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(AGENT_LIB): $(AGENT_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBS)
	$(CC) $(CLI_OBJ) $(LIBS) $(JSON_LIBS) $(LDLIBS) $(LDFLAGS) -o $@

# build/next/canary-bpf: this binary with programs one instruction longer
# (CB_NEXT_BUILD), the newer build of the same layout the upgrade test moves to.
NEXT_DIR := $(BUILD)/next
NEXT_BIN := $(NEXT_DIR)/canary-bpf

$(NEXT_DIR)/canary.bpf.o: $(BPF_SRC) $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -DCB_NEXT_BUILD -c $< -o $@

$(NEXT_DIR)/canary.skel.h: $(NEXT_DIR)/canary.bpf.o
	$(BPFTOOL) gen skeleton $< name canary > $@.tmp && mv $@.tmp $@

$(NEXT_DIR)/skel.o: user/lib/skel.c $(NEXT_DIR)/canary.skel.h $(USER_HDRS)
	$(CC) $(subst -I$(BUILD) ,-I$(NEXT_DIR) ,$(ALL_CFLAGS)) $(LIB_INC) -c $< -o $@

$(NEXT_BIN): $(NEXT_DIR)/skel.o $(CLI_OBJ) $(LIBS)
	$(CC) $(NEXT_DIR)/skel.o $(CLI_OBJ) $(LIBS) $(JSON_LIBS) $(LDLIBS) $(LDFLAGS) -o $@

$(DP_TEST): $(DP_TEST_SRC) $(wildcard tests/datapath/*.h) $(USER_HDRS) $(SKEL) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AGENT_INC) -Itests/datapath $(DP_TEST_SRC) $(LIBS) $(LDLIBS) -lcmocka -lm -lpthread $(LDFLAGS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(USER_HDRS) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AGENT_INC) $< $(LIBS) $(LDLIBS) -lcmocka -lm -lpthread $(LDFLAGS) -o $@

$(BUILD):
	@mkdir -p $@

E2E_CLIENT  := $(BUILD)/tests/cbclient

$(E2E_CLIENT): tests/e2e/cbclient.c tests/e2e/cbclient_rate.c tests/e2e/cbclient.h | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(filter %.c,$^) $(LDFLAGS) -o $@

SLOWSRV     := $(BUILD)/tests/slowsrv

$(SLOWSRV): tests/e2e/slowsrv.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LDFLAGS) -o $@

# Benchmarks (make bench): tests/bench/prog_*.c is one program measuring the
# datapath under BPF_PROG_TEST_RUN against tests/bench/min.bpf.c, a minimal
# parse-and-pass XDP program (both embedded as skeletons).
BENCH_MIN_OBJ  := $(BUILD)/bench_min.bpf.o
BENCH_MIN_SKEL := $(BUILD)/bench_min.skel.h
BENCH_PROG     := $(BUILD)/tests/bench_prog

$(BENCH_MIN_OBJ): tests/bench/min.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_MIN_SKEL): $(BENCH_MIN_OBJ)
	$(BPFTOOL) gen skeleton $< name bench_min > $@.tmp && mv $@.tmp $@

$(BENCH_PROG): $(wildcard tests/bench/prog_*.c tests/bench/*.h) tests/datapath/pkt.c tests/datapath/pkt.h \
		 $(USER_HDRS) $(SKEL) $(BENCH_MIN_SKEL) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AGENT_INC) -Itests/bench -Itests/datapath $(filter %.c,$^) $(LIBS) $(LDLIBS) -lm $(LDFLAGS) -o $@

bench-build: $(BIN) $(BENCH_PROG) $(E2E_CLIENT) $(SLOWSRV)

bench: deps
	@$(MAKE) --no-print-directory bench-build
	@tests/bench/run.sh

# make soak [SOAK_SECONDS=300]: load, 1,000 weight changes and 10 agent restarts in a lab.
SOAK_SECONDS ?= 300

soak: deps
	@$(MAKE) --no-print-directory all $(E2E_CLIENT)
	@tests/soak/run.sh $(SOAK_SECONDS)

include vmtest/vmtest.mk
include tests/fuzz/fuzz.mk
include tests/fuzz/datapath.mk

# Every suite, in this order; vmtest (the datapath suite again, on Debian's 6.1
# LTS kernel in qemu) last, as the longest.
test: $(BIN) $(NEXT_BIN) $(DP_TEST) $(UNIT_TESTS) $(E2E_CLIENT) $(SLOWSRV) $(BENCH_PROG) $(DP_FUZZ) \
		fuzz-build vmtest-build
	@scripts/run-tests.sh tests/build/run.sh $(UNIT_TESTS) $(DP_TEST) "tests/fuzz/dp_smoke.sh $(DP_FUZZ)" \
		"tests/fuzz/run.sh replay $(FUZZ_BUILD) $(FUZZ_TARGETS)" tests/deploy/run.sh \
		tests/e2e/run.sh tests/bench/smoke.sh "vmtest/run.sh --bin $(VMTEST_BIN) --out $(VMTEST_DIR)"

# make unit: the unit tests of user/, as any user (no root, no BPF, no network).
unit: $(UNIT_TESTS)
	@scripts/run-tests.sh --no-root $(UNIT_TESTS)

# make fuzz: the datapath fuzzer's full run, then each libFuzzer target for FUZZ_TIME s.
fuzz: fuzz-datapath fuzz-user

check: deps
	@$(MAKE) --no-print-directory test

demo: deps
	@$(MAKE) --no-print-directory all $(E2E_CLIENT) $(SLOWSRV)
	@scripts/demo.sh

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/canary-bpf

clean:
	rm -rf $(BUILD)
