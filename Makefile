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
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Iuser -I$(BUILD) \
             -DCB_VERSION='"$(VERSION)"' $(CFLAGS)
LDLIBS    := -lbpf -lelf -lz -lyaml -lmicrohttpd -lm
CLI_LIBS  := $(shell pkg-config --libs libnl-route-3.0 libnl-genl-3.0 json-c 2>/dev/null)
CLI_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 libnl-genl-3.0 json-c 2>/dev/null)

BPF_SRC   := bpf/canary.bpf.c
BPF_HDRS  := $(wildcard bpf/*.h) include/canary_bpf.h
BPF_OBJ   := $(BUILD)/canary.bpf.o
SKEL      := $(BUILD)/canary.skel.h

CLI_SRC   := user/main.c user/cli.c user/help.c user/view.c user/pinned.c user/iface.c user/attach.c \
             user/cmd_attach.c user/cmd_service.c user/cmd_backend.c user/cmd_stats.c \
             user/cmd_rollout.c user/agent.c user/agent_svc.c user/agent_ro.c \
             user/agent_metrics.c user/agent_export.c user/agent_links.c
BIN       := $(BUILD)/canary-bpf
# Everything else in user/ is the library the CLI, the agent and the tests link.
LIB_SRC   := $(filter-out $(CLI_SRC),$(wildcard user/*.c))
LIB_OBJ   := $(LIB_SRC:user/%.c=$(BUILD)/user/%.o)
LIB       := $(BUILD)/libcanary.a

DP_TEST_SRC := $(wildcard tests/datapath/*.c)
DP_TEST     := $(BUILD)/tests/test_datapath
UNIT_TESTS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all deps check test demo bench bench-build soak fuzz install clean

all: $(BIN)

deps:
	@scripts/install-deps.sh

$(BPF_OBJ): $(BPF_SRC) $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name canary > $@.tmp && mv $@.tmp $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) include/canary_bpf.h | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BIN): $(CLI_SRC) $(wildcard user/*.h) $(SKEL) $(LIB)
	$(CC) $(ALL_CFLAGS) $(CLI_CFLAGS) $(CLI_SRC) $(LIB) $(CLI_LIBS) $(LDLIBS) $(LDFLAGS) -o $@

$(DP_TEST): $(DP_TEST_SRC) $(wildcard tests/datapath/*.h) user/skel_maps.h $(SKEL) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/datapath $(DP_TEST_SRC) $(LIB) $(LDLIBS) -lcmocka -lm -lpthread $(LDFLAGS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -lcmocka -lm -lpthread $(LDFLAGS) -o $@

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
		 user/skel_maps.h $(SKEL) $(BENCH_MIN_SKEL) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/bench -Itests/datapath $(filter %.c,$^) $(LIB) $(LDLIBS) -lm $(LDFLAGS) -o $@

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
test: $(BIN) $(DP_TEST) $(UNIT_TESTS) $(E2E_CLIENT) $(SLOWSRV) $(BENCH_PROG) $(DP_FUZZ) \
		fuzz-build vmtest-build
	@scripts/run-tests.sh $(UNIT_TESTS) $(DP_TEST) "tests/fuzz/dp_smoke.sh $(DP_FUZZ)" \
		"tests/fuzz/run.sh replay $(FUZZ_BUILD) $(FUZZ_TARGETS)" tests/deploy/run.sh \
		tests/e2e/run.sh tests/bench/smoke.sh "vmtest/run.sh --bin $(VMTEST_BIN) --out $(VMTEST_DIR)"

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
