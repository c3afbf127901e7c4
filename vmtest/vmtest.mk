# vmtest (make vmtest): the datapath test suite and an end-to-end smoke test
# on another kernel, in qemu. vmtest/run.sh takes Debian's linux-image-amd64
# (6.1 LTS) unless KERNEL=path/to/vmlinuz [MODULES=DIR|none] name another;
# vmtest/README.md has the details. Included by the Makefile, whose variables
# it uses.
#
# The binaries for the VM are built apart, under $(BUILD)/vmtest/bin, so that
# they run on a bare initramfs: libbpf, libelf and zlib are linked statically
# (the VM runs exactly the libbpf of this build); what Debian ships only as a
# shared library (libcmocka; gnutls under libmicrohttpd) stays dynamic and
# vmtest/run.sh copies it, with the loader, into the initramfs. The client and
# the server of the smoke test need only libc: fully static.

KERNEL  ?=
MODULES ?=

VMTEST_DIR    := $(BUILD)/vmtest
VMTEST_BIN    := $(VMTEST_DIR)/bin
VMTEST_STATIC := -Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic
VMTEST_LDLIBS := $(VMTEST_STATIC) $(filter-out -lbpf -lelf -lz,$(LDLIBS))
VMTEST_BINS   := $(VMTEST_BIN)/test_datapath $(VMTEST_BIN)/canary-bpf \
		 $(VMTEST_BIN)/cbclient $(VMTEST_BIN)/slowsrv

.PHONY: vmtest vmtest-build

$(VMTEST_BIN)/test_datapath: $(DP_TEST_SRC) $(wildcard tests/datapath/*.h) $(USER_HDRS) $(SKEL) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AGENT_INC) -Itests/datapath $(DP_TEST_SRC) $(LIBS) $(VMTEST_LDLIBS) -lcmocka -lm -lpthread \
		$(LDFLAGS) -o $@

# The CLI's objects are those of build/canary-bpf; only the link differs.
$(VMTEST_BIN)/canary-bpf: $(CLI_OBJ) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_OBJ) $(LIBS) $(JSON_LIBS) $(VMTEST_LDLIBS) $(LDFLAGS) -o $@

$(VMTEST_BIN)/cbclient: tests/e2e/cbclient.c tests/e2e/cbclient_rate.c tests/e2e/cbclient.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(filter %.c,$^) -static $(LDFLAGS) -o $@

$(VMTEST_BIN)/slowsrv: tests/e2e/slowsrv.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -static $(LDFLAGS) -o $@

vmtest-build: $(VMTEST_BINS)

vmtest: deps
	@$(MAKE) --no-print-directory vmtest-build
	@vmtest/run.sh --bin $(VMTEST_BIN) --out $(VMTEST_DIR) \
		$(if $(KERNEL),--kernel '$(KERNEL)') $(if $(MODULES),--modules '$(MODULES)')
