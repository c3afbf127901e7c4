// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dp_fuzz: the datapath fuzzer's driver. Each iteration draws its packet
 * from its own PRNG stream (seed, iteration), runs it through XDP, tc
 * ingress and tc egress, and has the oracle judge every run; the counters
 * are compared with what the verdicts imply after every batch. The first
 * violation ends the run: seed, iteration, packets in hex and a replay file.
 *
 *   dp_fuzz [--seed N] [--count N | --smoke] [--time-limit S] [--batch N]
 *           [--crash-dir DIR] [--quiet]
 *   dp_fuzz --replay FILE
 *
 * Without arguments (or with --smoke) it is the smoke run for `make check`:
 * 100,000 packets, at most 20 s.
 * Needs root: it moves into a network namespace of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_fuzz.h"
#include "dp_gen.h"

#define DEFAULT_SEED 0xcb0f22ULL
#define SMOKE_COUNT 100000
#define SMOKE_SECONDS 20
#define FLUSH_FLOWS 60000

struct opts {
	uint64_t seed, count;
	double time_limit;
	uint64_t batch;
	const char *crash_dir, *replay;
	int quiet, verbose;
};

struct fuzz {
	struct opts o;
	struct fz_lab lab;
	struct fz_model *model;
	struct fz_tally tally;
	struct fz_counters c0, c1;
	uint64_t passed, failed, mutated;
	uint64_t trace_from, trace_to;   /* DPFUZZ_TRACE=FROM:TO */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex_line(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void hex_dump(const char *tag, const uint8_t *p, size_t n)
{
	printf("dpfuzz: %s (%zu bytes):", tag, n);
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i % 32 ? (i % 4 ? "" : " ") : "\n  ", p[i]);
	printf("\n");
}

static const char *const VERDICT[FZ_VERDICTS] = { "pass", "drop", "redirect", "other",
						  "refused" };
static const char *const CLASS[] = { "must pass untouched", "beyond documented limits",
				     "well-formed" };

/* One line of a reproducer: what, hook, side, hex. */
static void repro_line(FILE *f, const char *what, enum fz_hook h, enum fz_side s,
		       const uint8_t *p, size_t n)
{
	fprintf(f, "%s %s %s ", what, fz_hook_name(h), fz_side_name(s));
	hex_line(f, p, n);
	fprintf(f, "\n");
}

static void report(struct fuzz *z, uint64_t iter, const struct fz_pkt *p, enum fz_hook h,
		   const struct fz_run *r, const char *why)
{
	char path[512];
	struct fz_view v;
	FILE *f;

	fz_parse(p->data, p->len, &v);
	printf("dpfuzz: VIOLATION seed 0x%llx iteration %llu, %s (arriving on %s): %s\n",
	       (unsigned long long)z->o.seed, (unsigned long long)iter, fz_hook_name(h),
	       fz_side_name(p->side[h]), why);
	printf("dpfuzz: packet: %s; oracle: %s%s%s\n", p->desc, CLASS[v.cls],
	       v.why ? ": " : "", v.why ? v.why : "");
	hex_dump("input", p->data, p->len);
	if (r->verdict == FZ_V_REFUSED)
		printf("dpfuzz: output: none, the run was refused (%s)\n", strerror(-r->err));
	else
		hex_dump(VERDICT[r->verdict], r->out, r->out_len);
	snprintf(path, sizeof(path), "%s/dpfuzz-%llx-%llu.txt", z->o.crash_dir,
		 (unsigned long long)z->o.seed, (unsigned long long)iter);
	f = fopen(path, "w");
	if (!f) {
		printf("dpfuzz: cannot write %s: %s\n", path, strerror(errno));
	} else {
		uint8_t syn[FZ_PKT_MAX];

		fprintf(f, "# dp_fuzz reproducer: seed 0x%llx iteration %llu, %s: %s\n",
			(unsigned long long)z->o.seed, (unsigned long long)iter, fz_hook_name(h),
			why);
		fprintf(f, "# packet: %s\n# replay: dp_fuzz %s--replay %s\n", p->desc,
			fz_waive_srr ? "--waive srr " : "", path);
		if (p->flow)
			repro_line(f, "ctx", FZ_XDP, FZ_IF_CLIENT, syn,
				   fz_gen_flow_syn(p->flow, syn));
		for (int k = 0; k <= (int)h; k++)
			repro_line(f, k == (int)h ? "pkt" : "ctx", (enum fz_hook)k, p->side[k],
				   p->data, p->len);
		fclose(f);
		printf("dpfuzz: reproducer: %s (dp_fuzz %s--replay %s)\n", path,
		       fz_waive_srr ? "--waive srr " : "", path);
	}
	printf("dpfuzz: the whole run up to it: dp_fuzz %s--seed 0x%llx --count %llu --batch 1\n",
	       fz_waive_srr ? "--waive srr " : "", (unsigned long long)z->o.seed,
	       (unsigned long long)iter + 1);
}

/*
 * DPFUZZ_TRACE=FROM:TO: one line per run of those iterations (tuple, TCP
 * flags and numbers, verdict, the model's view of the flow): the history of
 * a flow behind a mismatch, found with grep or DPFUZZ_TRACE_MATCH.
 */
static void trace(struct fuzz *z, uint64_t i, const struct fz_pkt *p, enum fz_hook h,
		  const struct fz_run *r)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	struct fz_view v;

	fz_parse(p->data, p->len, &v);
	if (v.cls == FZ_C_PASS && !v.family)
		return;
	inet_ntop(v.family == 4 ? AF_INET : AF_INET6, v.saddr.b, a, sizeof(a));
	inet_ntop(v.family == 4 ? AF_INET : AF_INET6, v.daddr.b, b, sizeof(b));
	struct fz_tuple t = { .family = (uint8_t)v.family, .proto = (uint8_t)v.proto,
			      .sport = v.sport, .dport = v.dport, .saddr = v.saddr, .daddr = v.daddr };
	const struct fz_flow *f = fz_model_find(z->model, &t);

	if (!f)
		f = fz_model_find_reply(z->model, &z->lab, &t);
	char line[512];
	int n = snprintf(line, sizeof(line), "trace %llu %s %s: %s.%u > %s.%u proto %d flags %02x "
			 "seq %08x ack %08x -> %s (%s)", (unsigned long long)i, fz_hook_name(h),
			 fz_side_name(p->side[h]), a, v.sport, b, v.dport, v.proto, v.tcp_flags, v.seq,
			 v.ack, VERDICT[r->verdict], p->desc);

	if (f && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, " model: verified %d synack %d (%08x) "
			 "syn_open %d counted %d closing %d", f->verified, f->synack, f->server_isn,
			 f->syn_open, f->counted, f->closing);
	/* DPFUZZ_TRACE_MATCH=TEXT: only the lines that hold it (an address, "a.PORT >"). */
	if (!getenv("DPFUZZ_TRACE_MATCH") || strstr(line, getenv("DPFUZZ_TRACE_MATCH")))
		printf("%s\n", line);
}

static int batch_end(struct fuzz *z, uint64_t first, uint64_t last)
{
	char why[512];

	if (fz_counters_read(&z->lab, &z->c1)) {
		printf("dpfuzz: cannot read the counters\n");
		return -1;
	}
	if (fz_check_counters(&z->lab, &z->c0, &z->c1, &z->tally, why, sizeof(why))) {
		printf("dpfuzz: VIOLATION seed 0x%llx iterations %llu..%llu: counters do not match "
		       "the verdicts: %s\n", (unsigned long long)z->o.seed,
		       (unsigned long long)first, (unsigned long long)last, why);
		printf("dpfuzz: to find the packet: dp_fuzz --seed 0x%llx --count %llu --batch 1\n",
		       (unsigned long long)z->o.seed, (unsigned long long)last + 1);
		return -1;
	}
	fz_tally_reset(&z->tally);
	if (fz_model_flows(z->model) > FLUSH_FLOWS) {
		/* Stay far from the LRU maps' capacity: an eviction would fool the model. */
		if (fz_lab_flush_flows(&z->lab)) {
			printf("dpfuzz: cannot flush the flow maps\n");
			return -1;
		}
		fz_model_clear(z->model);
	}
	{
		struct fz_counters t = z->c0;

		z->c0 = z->c1;
		z->c1 = t;
	}
	return 0;
}

static void summary(struct fuzz *z, uint64_t packets, double secs)
{
	uint64_t runs = 0;

	for (int h = 0; h < FZ_HOOKS; h++)
		for (int v = 0; v < FZ_VERDICTS; v++)
			runs += fz_stats.verdict[h][v];
	printf("dpfuzz: seed 0x%llx: %llu packets, %llu runs (xdp, tc ingress, tc egress) "
	       "in %.1f s: %.0f packets/s, %.0f runs/s\n", (unsigned long long)z->o.seed,
	       (unsigned long long)packets, (unsigned long long)runs, secs,
	       secs > 0 ? (double)packets / secs : 0, secs > 0 ? (double)runs / secs : 0);
	printf("dpfuzz: fixtures: %llu client->VIP, %llu replies, %llu for no service, "
	       "%llu random; %llu mutated\n", (unsigned long long)fz_stats.kind[FZ_K_FWD],
	       (unsigned long long)fz_stats.kind[FZ_K_REPLY],
	       (unsigned long long)fz_stats.kind[FZ_K_OTHER],
	       (unsigned long long)fz_stats.kind[FZ_K_RANDOM], (unsigned long long)z->mutated);
	for (int h = 0; h < FZ_HOOKS; h++)
		printf("dpfuzz: %-7s pass %llu, drop %llu, redirect %llu, "
		       "refused by the runner %llu\n",
		       fz_hook_name((enum fz_hook)h),
		       (unsigned long long)fz_stats.verdict[h][FZ_V_PASS],
		       (unsigned long long)fz_stats.verdict[h][FZ_V_DROP],
		       (unsigned long long)fz_stats.verdict[h][FZ_V_REDIRECT],
		       (unsigned long long)fz_stats.verdict[h][FZ_V_REFUSED]);
	printf("dpfuzz: outcomes: %llu NATed to a backend, %llu reverse NATed, %llu dropped (no "
	       "backend); untouched: %llu for no service, %llu not parsable, %llu beyond limits\n",
	       (unsigned long long)fz_stats.fwd_nat, (unsigned long long)fz_stats.rev_nat,
	       (unsigned long long)fz_stats.drop, (unsigned long long)fz_stats.untouched_ns,
	       (unsigned long long)fz_stats.untouched_parse,
	       (unsigned long long)fz_stats.untouched_gray);
	printf("dpfuzz: rewritten with: %llu VLAN tags, %llu IPv4 options, %llu IPv6 "
	       "extension headers, %llu UDP without checksum, %llu broken checksums (kept "
	       "broken), %llu TTL <= 1\n",
	       (unsigned long long)fz_stats.nat_vlan, (unsigned long long)fz_stats.nat_ipopt,
	       (unsigned long long)fz_stats.nat_ext, (unsigned long long)fz_stats.nat_udp0,
	       (unsigned long long)fz_stats.nat_badsum, (unsigned long long)fz_stats.nat_ttl1);
	for (int i = 0; z->o.verbose && i < FZ_REASONS && fz_stats.reason[i].why; i++)
		printf("dpfuzz:   %-5s %-48s untouched %9llu  handled %9llu\n",
		       fz_stats.reason[i].cls == FZ_C_PASS ? "pass" : "gray",
		       fz_stats.reason[i].why,
		       (unsigned long long)fz_stats.reason[i].untouched,
		       (unsigned long long)fz_stats.reason[i].handled);
	if (fz_counters_read(&z->lab, &z->c1) == 0)
		printf("dpfuzz: global counters: malformed %llu, fragment %llu, unknown %llu, "
		       "not-service %llu, redirect %llu, stack %llu, no-backend %llu, "
		       "rev-nat %llu\n",
		       (unsigned long long)z->c1.g[CB_G_PASS_MALFORMED],
		       (unsigned long long)z->c1.g[CB_G_PASS_FRAGMENT],
		       (unsigned long long)z->c1.g[CB_G_PASS_UNKNOWN],
		       (unsigned long long)z->c1.g[CB_G_PASS_NOT_SERVICE],
		       (unsigned long long)z->c1.g[CB_G_FWD_REDIRECT],
		       (unsigned long long)z->c1.g[CB_G_FWD_STACK],
		       (unsigned long long)z->c1.g[CB_G_DROP_NO_BACKEND],
		       (unsigned long long)z->c1.g[CB_G_REV_NAT]);
}

static int fuzz(struct fuzz *z)
{
	static struct fz_pkt p;
	static struct fz_run r;
	double t0 = now_s(), last_note = t0;
	uint64_t i, first = 0;
	char why[512];

	if (getenv("DPFUZZ_TRACE") &&
	    sscanf(getenv("DPFUZZ_TRACE"), "%lu:%lu", &z->trace_from, &z->trace_to) != 2)
		z->trace_to = 0;
	for (i = 0; i < z->o.count; i++) {
		uint64_t x = z->o.seed ^ (i * 0xd1342543de82ef95ULL);
		struct rng rg;

		if (i && i % z->o.batch == 0) {
			if (batch_end(z, first, i - 1))
				goto fail;
			first = i;
			if (z->o.time_limit > 0 && now_s() - t0 > z->o.time_limit) {
				printf("dpfuzz: time limit of %.0f s reached after %llu packets\n",
				       z->o.time_limit, (unsigned long long)i);
				break;
			}
			if (!z->o.quiet && now_s() - last_note >= 30) {
				last_note = now_s();
				printf("dpfuzz: %llu packets, %.0f s\n", (unsigned long long)i,
				       last_note - t0);
				fflush(stdout);
			}
		}
		rng_seed(&rg, splitmix64(&x));
		fz_gen(&rg, &z->lab, z->model, &p);
		fz_stats.kind[p.kind]++;
		z->mutated += strchr(p.desc, '|') != NULL;
		/* DPFUZZ_SHOW=I prints iteration I's packet: for a counter mismatch of one batch. */
		if (getenv("DPFUZZ_SHOW") && strtoull(getenv("DPFUZZ_SHOW"), NULL, 0) == i) {
			printf("dpfuzz: iteration %llu: %s\n", (unsigned long long)i, p.desc);
			hex_dump("input", p.data, p.len);
		}
		for (int h = 0; h < FZ_HOOKS; h++) {
			fz_run(&z->lab, (enum fz_hook)h, p.side[h], p.data, p.len, &r);
			if (fz_check(&z->lab, z->model, (enum fz_hook)h, p.data, p.len, &r,
				     &z->tally, why, sizeof(why))) {
				report(z, i, &p, (enum fz_hook)h, &r, why);
				goto fail;
			}
			if (z->trace_to && i >= z->trace_from && i <= z->trace_to)
				trace(z, i, &p, (enum fz_hook)h, &r);
		}
		z->passed++;
	}
	if (batch_end(z, first, i ? i - 1 : 0))
		goto fail;
	summary(z, i, now_s() - t0);
	printf("dpfuzz: %llu passed, 0 failed\n", (unsigned long long)z->passed);
	return 0;
fail:
	z->failed = 1;
	summary(z, i, now_s() - t0);
	printf("dpfuzz: %llu passed, 1 failed\n", (unsigned long long)z->passed);
	return 1;
}

static int unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (; s[0] && s[0] != '\n'; s += 2) {
		unsigned int b;

		if (n >= max || sscanf(s, "%2x", &b) != 1)
			return -1;
		out[n++] = (uint8_t)b;
	}
	return (int)n;
}

/* Run a reproducer line by line, judging each run and the counters after it. */
static int replay(struct fuzz *z)
{
	static struct fz_run r;
	static uint8_t pkt[FZ_PKT_MAX];
	char line[4 * FZ_PKT_MAX], what[8], hook[16], side[16], why[512];
	FILE *f = fopen(z->o.replay, "r");
	int no = 0, n;

	if (!f) {
		fprintf(stderr, "dp_fuzz: %s: %s\n", z->o.replay, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		enum fz_hook h;
		enum fz_side s;
		int off = 0;

		no++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%7s %15s %15s %n", what, hook, side, &off) != 3 ||
		    fz_hook_parse(hook, &h) || fz_side_parse(side, &s) ||
		    (n = unhex(line + off, pkt, sizeof(pkt))) < 0) {
			fprintf(stderr, "dp_fuzz: %s:%d: not 'ctx|pkt HOOK SIDE HEX'\n",
				z->o.replay, no);
			fclose(f);
			return 2;
		}
		fz_run(&z->lab, h, s, pkt, (size_t)n, &r);
		if (fz_check(&z->lab, z->model, h, pkt, (size_t)n, &r, &z->tally, why,
			     sizeof(why)) ||
		    (fz_counters_read(&z->lab, &z->c1) == 0 &&
		     fz_check_counters(&z->lab, &z->c0, &z->c1, &z->tally, why, sizeof(why)))) {
			struct fz_view v;

			fz_parse(pkt, (size_t)n, &v);
			printf("dpfuzz: line %d (%s, %s): VIOLATION: %s\n", no, what, hook, why);
			printf("dpfuzz: oracle: %s%s%s\n", CLASS[v.cls], v.why ? ": " : "",
			       v.why ? v.why : "");
			hex_dump("input", pkt, (size_t)n);
			if (r.verdict != FZ_V_REFUSED)
				hex_dump(VERDICT[r.verdict], r.out, r.out_len);
			z->failed++;
		} else {
			printf("dpfuzz: line %d (%s, %s): %s, invariants hold\n", no, what, hook,
			       VERDICT[r.verdict]);
			z->passed++;
		}
		fz_tally_reset(&z->tally);
		fz_counters_read(&z->lab, &z->c0);
	}
	fclose(f);
	printf("dpfuzz: %llu passed, %llu failed\n", (unsigned long long)z->passed,
	       (unsigned long long)z->failed);
	return z->failed ? 1 : 0;
}

/* tc runs check skb->csum when the kernel can (6.11+): find out once. */
static void probe_csum_complete(struct fz_lab *lab)
{
	static struct fz_run r;
	uint8_t pkt[64] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x06 };

	if (fz_run(lab, FZ_TC_IN, FZ_IF_NONE, pkt, sizeof(pkt), &r) == -EINVAL) {
		lab->csum_complete = 0;
		printf("dpfuzz: this kernel cannot check skb->csum in test runs: "
		       "tc runs without it\n");
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dp_fuzz [--seed N] [--count N | --smoke] [--time-limit S] [--batch N]\n"
		   "               [--crash-dir DIR] [--waive srr] [--quiet] [--verbose]\n"
		   "       dp_fuzz [--waive srr] --replay FILE\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' }, { "count", required_argument, NULL, 'n' },
		{ "smoke", no_argument, NULL, 'S' }, { "time-limit", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "crash-dir", required_argument, NULL, 'd' },
		{ "replay", required_argument, NULL, 'r' }, { "quiet", no_argument, NULL, 'q' },
		{ "waive", required_argument, NULL, 'w' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c, time_set = 0;

	o->seed = DEFAULT_SEED;
	o->count = SMOKE_COUNT;
	o->time_limit = SMOKE_SECONDS;   /* the smoke run is bounded; --count runs are not */
	o->batch = 1000;
	o->crash_dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		errno = 0;
		end = NULL;
		switch (c) {
		case 's':
			o->seed = strtoull(optarg, &end, 0);
			break;
		case 'n':
			o->count = strtoull(optarg, &end, 0);
			if (!time_set)
				o->time_limit = 0;
			break;
		case 'S':
			o->count = SMOKE_COUNT;
			if (!time_set)
				o->time_limit = SMOKE_SECONDS;
			break;
		case 't':
			o->time_limit = strtod(optarg, &end);
			time_set = 1;
			break;
		case 'b':
			o->batch = strtoull(optarg, &end, 0);
			if (!o->batch)
				errno = EINVAL;
			break;
		case 'd':
			o->crash_dir = optarg;
			break;
		case 'r':
			o->replay = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'w':
			if (strcmp(optarg, "srr"))
				errno = EINVAL;
			fz_waive_srr = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (errno || (end && *end)) {
			fprintf(stderr, "dp_fuzz: bad value '%s'\n", optarg);
			return -1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct fuzz z;
	int rc;

	if (parse_opts(argc, argv, &z.o))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fz_lab_open(&z.lab)) {
		fz_lab_close(&z.lab);
		printf("dpfuzz: 0 passed, 1 failed\n");
		return 1;
	}
	z.model = fz_model_new();
	if (!z.model || fz_tally_init(&z.tally, z.lab.nsvc)) {
		fprintf(stderr, "dp_fuzz: out of memory\n");
		fz_lab_close(&z.lab);
		return 1;
	}
	probe_csum_complete(&z.lab);
	if (fz_counters_read(&z.lab, &z.c0)) {
		fprintf(stderr, "dp_fuzz: cannot read the counters\n");
		fz_lab_close(&z.lab);
		return 1;
	}
	rc = z.o.replay ? replay(&z) : fuzz(&z);
	fz_counters_free(&z.c0);
	fz_counters_free(&z.c1);
	fz_tally_free(&z.tally);
	fz_model_free(z.model);
	fz_lab_close(&z.lab);
	return rc;
}
