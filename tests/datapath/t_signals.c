// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Health signals in the datapath: HTTP status classes, connect latency, TTFB, failed connects. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "canary_params.h"
#include "tests.h"

#define CLIENT "10.9.0.1"

/* One TCP connection through XDP (requests) and tc egress (replies). */
struct conn {
	struct lab *l;
	uint16_t sport;
	char backend[64];
	uint16_t bport;
	uint32_t seq;      /* the client's next sequence number */
	uint32_t srv;      /* the backend's next sequence number (after its SYN-ACK) */
};

static void conn_open(struct conn *c, struct lab *l, uint16_t sport)
{
	struct run_out o;

	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, CLIENT, sport, 0x02);

	c->l = l;
	c->sport = sport;
	c->seq = 1000;
	c->srv = TEST_BACKEND_ISN + 1;
	p.seq = c->seq++;
	run_spec(l, HOOK_XDP, &p, &o);                                       /* SYN */
	assert_int_equal(o.verdict, V_PASS);
	inet_ntop(AF_INET, o.v.daddr.b, c->backend, sizeof(c->backend));
	c->bport = o.v.dport;
}

/* A client segment at seq (0: the next one), which then advances past it. */
static void client_at(struct conn *c, uint8_t flags, const char *text, uint32_t seq)
{
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, CLIENT, c->sport, flags);
	struct run_out o;

	p.text = text;
	p.seq = seq ? seq : c->seq;
	if (flags & 0x10)
		p.ack = c->srv;                       /* what the backend sent so far */
	if (flags & 0x02)
		p.seq = 1000;                         /* a retransmitted SYN */
	run_spec(c->l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_PASS);
	if (!seq && text && !(flags & 0x02))
		c->seq += (uint32_t)strlen(text);
}

static void client_says(struct conn *c, uint8_t flags, const char *text)
{
	client_at(c, flags, text, 0);
}

static void backend_says(struct conn *c, uint8_t flags, const char *text, size_t len)
{
	struct pkt_spec p = {
		.family = 4, .proto = IPPROTO_TCP, .src = c->backend, .dst = CLIENT,
		.sport = c->bport, .dport = c->sport, .tcp_flags = flags, .text = text, .text_len = len,
		.seq = flags & 0x02 ? TEST_BACKEND_ISN : c->srv,
	};
	struct run_out o;

	run_spec(c->l, HOOK_TC_OUT, &p, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_int_equal(o.csum, 0);
	assert_int_equal(o.v.sport, 80);
}

static void established(struct conn *c, struct lab *l, uint16_t sport)
{
	conn_open(c, l, sport);
	backend_says(c, 0x12, NULL, 0);   /* SYN-ACK */
	client_says(c, 0x10, NULL);       /* ACK */
}

/* One request, one response: the response's first segment is text. */
static void exchange(struct conn *c, const char *response, size_t len)
{
	client_says(c, 0x18, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	backend_says(c, 0x18, response, len);
}

static uint64_t http(struct lab *l, struct svc *s, int cls)
{
	return track_stats(l, s, CB_TRACK_STABLE).http[cls];
}

void test_signal_http_status_classes(void **state)
{
	struct lab *l = *state;
	static const char *const ok[] = {
		"HTTP/1.1 200 OK\r\n", "HTTP/1.0 204 No Content\r\n", "HTTP/1.1 301 Moved\r\n",
		"HTTP/1.1 404 Not Found\r\n", "HTTP/1.1 500 Internal\r\n", "HTTP/1.1 503 Busy\r\n",
	};
	static const int cls[] = { 0, 0, 1, 2, 3, 3 };
	uint64_t want[4] = { 0 };
	struct svc s;
	struct conn c;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	established(&c, l, 1000);
	/* a keep-alive connection: every response counts once */
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		exchange(&c, ok[i], 0);
		want[cls[i]]++;
		for (int k = 0; k < 4; k++)
			assert_int_equal(http(l, &s, k), want[k]);
	}
	/* the rest of a response is not another response */
	backend_says(&c, 0x18, "HTTP/1.1 500 in the body\r\n", 0);
	assert_int_equal(http(l, &s, 3), want[3]);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).http[0], 0);
}

void test_signal_status_never_wrong(void **state)
{
	struct lab *l = *state;
	static const struct { const char *text; size_t len; } junk[] = {
		{ "HTTP/1.1 5", 0 },                    /* truncated: the rest comes later */
		{ "http/1.1 200 OK\r\n", 0 },           /* lowercase */
		{ "HTTP/2 200\r\n\r\n", 0 },            /* not HTTP/1.x */
		{ "HTTP/1.1 099 Odd\r\n", 0 },          /* not a class we count */
		{ "HTTP/1.1 2x0 OK\r\n", 0 },           /* garbage */
		{ "\x00\x00\x12\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64", 15 },  /* HTTP/2 SETTINGS */
		{ "\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03\x5b\x5b", 13 },          /* TLS ServerHello */
	};
	struct svc s;
	struct conn c;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	established(&c, l, 2000);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		exchange(&c, junk[i].text, junk[i].len);
		/* the segment after a split status line must not be read as one either */
		backend_says(&c, 0x18, "03 Service Unavailable\r\n", 0);
	}
	for (int k = 0; k < 4; k++)
		assert_int_equal(http(l, &s, k), 0);
	/* empty ACKs neither count nor end the wait for the response */
	client_says(&c, 0x18, "GET /x HTTP/1.1\r\n\r\n");
	backend_says(&c, 0x10, NULL, 0);
	backend_says(&c, 0x10, NULL, 0);
	backend_says(&c, 0x18, "HTTP/1.1 404 Not Found\r\n", 0);
	assert_int_equal(http(l, &s, 2), 1);
	/* the TTFB histogram saw one sample per response (junk included), never an ACK */
	struct cb_hist h;

	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_STABLE, CB_HIST_TTFB, &h), 0);
	assert_int_equal(h.count, sizeof(junk) / sizeof(junk[0]) + 1);
}

/* Move a connection's signal clocks back by ns (syn_ts and req_ts). */
static void rev_age(struct conn *c, uint64_t ns)
{
	struct cb_ct_key k = flow_key(4, IPPROTO_TCP, CLIENT, c->sport, VIP4, 80);
	struct cb_rev_entry e;
	struct cb_ct_entry ct;

	/* A verified connection's entry, else the pending one's. */
	assert_int_equal(flow_get(c->l, &k, &ct, &e), 0);
	if (e.syn_ts)
		e.syn_ts -= ns;
	if (e.req_ts)
		e.req_ts -= ns;
	flow_put(c->l, &k, &ct, &e);
}

void test_signal_connect_latency_and_ttfb(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct conn c;
	struct cb_hist h;
	uint64_t t0, took_us;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	t0 = now_ns();
	conn_open(&c, l, 3000);
	rev_age(&c, 2500 * 1000ULL);                 /* the SYN-ACK comes 2.5 ms after the SYN */
	backend_says(&c, 0x12, NULL, 0);
	took_us = (now_ns() - t0) / 1000;
	backend_says(&c, 0x12, NULL, 0);             /* a retransmitted SYN-ACK is not a sample */
	client_says(&c, 0x10, NULL);
	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_STABLE, CB_HIST_CONNECT, &h), 0);
	assert_int_equal(h.count, 1);
	/*
	 * A bucket midpoint is within 6.25 % of the value; the test itself adds
	 * what it took, microseconds here, a millisecond under emulation (vmtest).
	 */
	assert_in_range(cb_hist_percentile(&h, 0.5), 2500 * 0.93, (2500 + took_us) * 1.07 + 500);
	t0 = now_ns();
	client_says(&c, 0x18, "GET / HTTP/1.1\r\n\r\n");
	client_says(&c, 0x18, "more of the same request");   /* the clock started at the first byte */
	rev_age(&c, 40 * 1000000ULL);                         /* 40 ms to the first response byte */
	backend_says(&c, 0x18, "HTTP/1.1 200 OK\r\n", 0);
	took_us = (now_ns() - t0) / 1000;
	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_STABLE, CB_HIST_TTFB, &h), 0);
	assert_int_equal(h.count, 1);
	assert_in_range(cb_hist_percentile(&h, 0.99), 40000 * 0.93, (40000 + took_us) * 1.07 + 500);
	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_CANARY, CB_HIST_TTFB, &h), 0);
	assert_int_equal(h.count, 0);
}

void test_signal_connect_failures(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct conn c;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, CB_WEIGHT_MAX);
	/* refused: the backend answers the SYN with RST */
	conn_open(&c, l, 4000);
	backend_says(&c, 0x14, NULL, 0);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).connect_failures, 1);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).resets_from_backend, 1);
	/* unanswered: the client retransmits its SYN after the timeout, counted once */
	conn_open(&c, l, 4001);
	client_says(&c, 0x02, NULL);                  /* early retransmit: not yet */
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).connect_failures, 1);
	rev_age(&c, CB_SYN_TIMEOUT_NS);
	client_says(&c, 0x02, NULL);
	client_says(&c, 0x02, NULL);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).connect_failures, 2);
	/* a late RST to the same connect is not a second failure */
	backend_says(&c, 0x14, NULL, 0);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).connect_failures, 2);
	/* a normal connect and an RST later in its life are no failure */
	established(&c, l, 4002);
	backend_says(&c, 0x14, NULL, 0);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).connect_failures, 2);
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connect_failures, 0);
}

/* A retransmitted request or a keepalive probe does not restart the TTFB clock. */
void test_signal_retransmit_keeps_ttfb_clock(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	struct lab *l = *state;
	struct svc s;
	struct conn c;
	struct cb_hist h;
	uint32_t first;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	established(&c, l, 5000);
	first = c.seq;
	exchange(&c, "HTTP/1.1 200 OK\r\n", 0);
	client_at(&c, 0x18, req, first);          /* the answered request, again */
	client_at(&c, 0x10, "x", c.seq - 1);      /* a keepalive probe: one old byte */
	rev_age(&c, 5 * 1000000000ULL);           /* a long idle time */
	exchange(&c, "HTTP/1.1 200 OK\r\n", 0);  /* the next request, answered at once */
	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_STABLE, CB_HIST_TTFB, &h), 0);
	assert_int_equal(h.count, 2);
	assert_true(cb_hist_percentile(&h, 1.0) < 1000000);
	assert_int_equal(http(l, &s, 0), 2);
}

/* 100 Continue and 103 Early Hints end the wait for the first byte, not for the status. */
void test_signal_interim_response_waits_for_final_status(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct conn c;
	struct cb_hist h;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	established(&c, l, 6000);
	client_says(&c, 0x18, "POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
	backend_says(&c, 0x18, "HTTP/1.1 100 Continue\r\n\r\n", 0);
	backend_says(&c, 0x18, "HTTP/1.1 103 Early Hints\r\n\r\n", 0);
	backend_says(&c, 0x18, "HTTP/1.1 503 Unavailable\r\n", 0);
	assert_int_equal(http(l, &s, 3), 1);
	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_STABLE, CB_HIST_TTFB, &h), 0);
	assert_int_equal(h.count, 1);
}

/* A connect retried on the same port after a refusal is measured and judged afresh. */
void test_signal_retried_connect_starts_over(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct conn c;
	struct cb_hist h;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	conn_open(&c, l, 7000);
	backend_says(&c, 0x14, NULL, 0);          /* refused */
	client_says(&c, 0x02, NULL);              /* the same connect, again */
	backend_says(&c, 0x14, NULL, 0);          /* refused again */
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connect_failures, 2);
	client_says(&c, 0x02, NULL);
	backend_says(&c, 0x12, NULL, 0);          /* accepted */
	client_says(&c, 0x10, NULL);              /* and acknowledged: now a sample */
	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_STABLE, CB_HIST_CONNECT, &h), 0);
	assert_int_equal(h.count, 1);
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connections, 1);
}

/*
 * The backend still holds the tuple's last connection (TIME_WAIT) and
 * answers the SYN with a bare ACK; the client resets that and sends its SYN
 * again: the connect is the second attempt's, not the time since the first.
 */
void test_signal_time_wait_answer_restarts_connect(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct conn c;
	struct cb_hist h;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	conn_open(&c, l, 7100);
	backend_says(&c, 0x10, NULL, 0);          /* TIME_WAIT's ACK */
	client_at(&c, 0x04, NULL, c.srv);         /* the client resets it */
	usleep(40000);
	client_at(&c, 0x02, NULL, 1000);          /* its SYN again, 40 ms later */
	backend_says(&c, 0x12, NULL, 0);
	client_at(&c, 0x10, NULL, 1001);
	assert_int_equal(cb_hist_read(&l->maps, s.id, CB_TRACK_STABLE, CB_HIST_CONNECT, &h), 0);
	assert_int_equal(h.count, 1);
	assert_true(h.sum_us < 20000);
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connections, 1);
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connect_failures, 0);
}

/* A deleted service's flows go with it: its id's next owner starts clean. */
void test_signal_deleted_service_leaves_no_flows(void **state)
{
	struct lab *l = *state;
	struct svc s, t;
	struct conn c;
	uint32_t id;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	established(&c, l, 8000);
	client_says(&c, 0x18, "GET / HTTP/1.1\r\n\r\n");
	id = s.id;
	assert_int_equal(cb_svc_del(&l->maps, &s.key), 0);
	svc_add(l, &t, 4, "10.96.0.99", 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	assert_int_equal(t.id, id);
	/* the old backend's late reply: no longer ours, untouched, counted nowhere */
	struct pkt_spec p = {
		.family = 4, .proto = IPPROTO_TCP, .src = c.backend, .dst = CLIENT,
		.sport = c.bport, .dport = c.sport, .tcp_flags = 0x18, .text = "HTTP/1.1 500 x\r\n",
	};
	struct run_out o;

	run_spec(l, HOOK_TC_OUT, &p, &o);
	assert_int_equal(o.v.sport, c.bport);
	for (int k = 0; k < 4; k++)
		assert_int_equal(track_stats(l, &t, CB_TRACK_STABLE).http[k], 0);
}
