# Datapath fuzzer (tests/fuzz/DATAPATH.md): random and mutated packets through
# the real programs under BPF_PROG_TEST_RUN (XDP, tc ingress, tc egress), each
# output judged by an oracle that parses packets on its own. Root only.
#
#   make fuzz-datapath                   1,000,000 packets, fixed seed (~10 s here)
#   make fuzz-datapath FUZZ_SEED=123     another seed; FUZZ_COUNT=N another count
#
# Without arguments the binary is the smoke run: 100,000 packets, at most 20 s.
# The reproducers of tests/fuzz/crashes/datapath/ (a bug it found, fixed) are
# replayed by make check (tests/fuzz/dp_smoke.sh).
DP_FUZZ          := $(BUILD)/tests/dp_fuzz
DP_FUZZ_SRC      := $(wildcard tests/fuzz/dp_*.c)
DP_FUZZ_SEED     := 0xcb0f22
DP_FUZZ_COUNT    := 1000000

$(DP_FUZZ): $(DP_FUZZ_SRC) $(wildcard tests/fuzz/dp_*.h) tests/datapath/pkt.c tests/datapath/pkt.h \
		 $(USER_HDRS) $(SKEL) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AGENT_INC) -Itests/fuzz -Itests/datapath $(DP_FUZZ_SRC) tests/datapath/pkt.c $(LIBS) $(LDLIBS) $(LDFLAGS) -o $@

.PHONY: fuzz-datapath
fuzz-datapath: $(DP_FUZZ)
	@mkdir -p $(BUILD)/dpfuzz-crashes
	$(DP_FUZZ) --seed $(or $(FUZZ_SEED),$(DP_FUZZ_SEED)) \
		--count $(or $(FUZZ_COUNT),$(DP_FUZZ_COUNT)) --time-limit 600 --verbose \
		--crash-dir $(BUILD)/dpfuzz-crashes
