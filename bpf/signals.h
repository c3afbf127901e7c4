/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Health signals per service and track, counted on the way through: HTTP/1.x
 * status classes, connect latency, time to first byte, failed connects.
 * The state of a connection lives in its reverse entry, which the reply side
 * reads anyway; the request side looks it up only for SYNs and data.
 */
#ifndef CB_BPF_SIGNALS_H
#define CB_BPF_SIGNALS_H

#include "maps.h"
#include "parse.h"

static __always_inline void cb_hist_add(__u32 svc_id, __u32 track, __u32 kind, __u64 ns)
{
	__u32 key = cb_hist_idx(svc_id, track, kind);
	struct cb_hist *h = bpf_map_lookup_elem(&cb_hist, &key);
	__u64 us = ns / 1000;
	__u32 b;

	if (!h)
		return;
	b = cb_hist_bucket(us);
	/* Keep the bound check: the compiler knows b's range, the verifier must see it. */
	asm volatile("" : "+r"(b));
	if (b >= CB_HIST_BUCKETS)
		return;
	h->bucket[b]++;
	h->count++;
	h->sum_us += us;
}

/*
 * Status class of a response that starts with "HTTP/1.x NNN": 0 for 2xx ..
 * 3 for 5xx, CB_HTTP_INTERIM for 1xx (the final status is still to come),
 * -1 for anything else. Twelve bytes, no loop: a status line split across
 * segments is not counted rather than guessed.
 */
#define CB_HTTP_INTERIM 4

static __always_inline int cb_http_class(const struct cb_ctx *c, const struct cb_pkt *p)
{
	void *end = cb_data_end(c);
	__u32 off = p->payload_off;
	__u8 *s;

	if (p->payload_len < 12 || off > CB_MAX_OFF)
		return -1;
	s = cb_data(c) + off;
	if ((void *)(s + 12) > end)
		return -1;
	if (s[0] != 'H' || s[1] != 'T' || s[2] != 'T' || s[3] != 'P' || s[4] != '/' ||
	    s[5] != '1' || s[6] != '.' || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return -1;
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9')
		return -1;
	return s[9] == '1' ? CB_HTTP_INTERIM : s[9] - '2';
}

/* Sequence a is after b (RFC 1982 arithmetic). */
static __always_inline int cb_seq_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

/*
 * Client side of an established TCP connection: a retransmitted SYN, or
 * request bytes. Only new bytes (beyond what the client sent before) start
 * a request: a retransmission, a keepalive probe or a repeated segment must
 * not restart the TTFB clock.
 */
static __always_inline void cb_signal_request(const struct cb_pkt *p, struct cb_rev_entry *rev,
					      struct cb_track_stats *st, int is_syn, __u64 now)
{
	__u32 end;

	if (is_syn && rev->syn_ts && !(rev->flags & CB_REV_F_SYN_FAILED) &&
	    now - rev->syn_ts >= CB_SYN_TIMEOUT_NS) {
		if (!(__sync_fetch_and_or(&rev->flags, CB_REV_F_SYN_FAILED) & CB_REV_F_SYN_FAILED) && st)
			st->connect_failures++;
	}
	if (!p->payload_len)
		return;
	end = p->tcp_seq + p->payload_len;
	if (rev->client_nxt && !cb_seq_after(end, rev->client_nxt))
		return;
	rev->client_nxt = end;
	if (!(rev->flags & (CB_REV_F_WAIT_BYTE | CB_REV_F_WAIT_STATUS))) {
		rev->req_ts = now;   /* before the flag: the reply side reads it after */
		__sync_fetch_and_or(&rev->flags, CB_REV_F_WAIT_BYTE | CB_REV_F_WAIT_STATUS);
	}
}

/* Backend side: SYN-ACK, RST to a SYN, first byte and status line of a response. */
static __always_inline void cb_signal_reply(const struct cb_ctx *c, const struct cb_pkt *p,
					    struct cb_rev_entry *rev, struct cb_track_stats *st)
{
	__u64 now, syn_ts;
	__u32 old;
	int cls;

	if (p->proto != IPPROTO_TCP)
		return;
	if (!rev->syn_ts &&
	    !(p->payload_len && (rev->flags & (CB_REV_F_WAIT_BYTE | CB_REV_F_WAIT_STATUS))))
		return;
	now = bpf_ktime_get_ns();
	if (rev->syn_ts && (p->tcp_flags & (CB_TCP_SYN | CB_TCP_RST))) {
		/* Whoever takes the timestamp records the event: once, on any CPU. */
		syn_ts = __sync_lock_test_and_set(&rev->syn_ts, 0);
		if (syn_ts && (p->tcp_flags & CB_TCP_SYN) && (p->tcp_flags & CB_TCP_ACK))
			cb_hist_add(rev->svc_id, rev->track, CB_HIST_CONNECT, now - syn_ts);
		else if (syn_ts && (p->tcp_flags & CB_TCP_RST) &&
			 !(__sync_fetch_and_or(&rev->flags, CB_REV_F_SYN_FAILED) & CB_REV_F_SYN_FAILED) &&
			 st)
			st->connect_failures++;
	}
	if (!p->payload_len)
		return;
	if (rev->flags & CB_REV_F_WAIT_BYTE) {
		old = __sync_fetch_and_and(&rev->flags, ~CB_REV_F_WAIT_BYTE);
		if (old & CB_REV_F_WAIT_BYTE)
			cb_hist_add(rev->svc_id, rev->track, CB_HIST_TTFB, now - rev->req_ts);
	}
	if (rev->flags & CB_REV_F_WAIT_STATUS) {
		cls = cb_http_class(c, p);
		if (cls == CB_HTTP_INTERIM)
			return;   /* 100 Continue, 103 Early Hints: the final status follows */
		old = __sync_fetch_and_and(&rev->flags, ~CB_REV_F_WAIT_STATUS);
		if ((old & CB_REV_F_WAIT_STATUS) && st && cls >= 0 && cls < 4)
			st->http[cls]++;
	}
}

#endif
