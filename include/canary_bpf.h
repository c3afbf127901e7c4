/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one header shared by bpf/ and user/: every map key and value layout.
 * Any change to a layout below must bump CB_LAYOUT_VERSION, because pinned
 * maps outlive the binary that created them. Timing policy (lifetimes,
 * refresh intervals) is not layout: it lives in canary_params.h.
 */
#ifndef CANARY_BPF_H
#define CANARY_BPF_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stdint.h>
#endif

#define CB_LAYOUT_VERSION 9

#define CB_MAX_SERVICES  16384
#define CB_MAX_BACKENDS  65536
#define CB_MAX_TABLES    (CB_MAX_SERVICES * 4)   /* service x track x generation */
/*
 * Conntrack sizes, chosen when the state is first created (struct cb_meta
 * keeps them): cb_ct/cb_rev hold verified flows, cb_pend/cb_pend_rev the
 * flows still unverified (TCP before its handshake completes, and UDP).
 * The defines are what the object is compiled with and the bounds allowed.
 */
#define CB_CT_ENTRIES     262144
#define CB_CT_ENTRIES_MIN 1024
#define CB_CT_ENTRIES_MAX (16 * 1024 * 1024)
#define CB_FRAG_ENTRIES   16384
#define CB_OVERRIDES     16384

/* Maglev table size: prime, M >> N keeps shares even (64 backends: 64 slots each). */
#define CB_MAGLEV_M      4099
#define CB_MAGLEV_M_MAX  65521

#define CB_WEIGHT_MAX    10000   /* basis points: 100.00 % */

/* struct cb_nexthop stamps are in units of 2^20 ns (~1 ms), so they fit 32 bits. */
#define CB_NH_STAMP_SHIFT 20

enum cb_track {
	CB_TRACK_STABLE = 0,
	CB_TRACK_CANARY = 1,
	CB_TRACKS       = 2,
};

enum cb_affinity {
	CB_AFFINITY_CONNECTION = 0,
	CB_AFFINITY_CLIENT     = 1,
};

/* Address family as stored in keys; v4 addresses use the first 4 bytes of addr. */
enum cb_family {
	CB_AF_INET  = 4,
	CB_AF_INET6 = 6,
};

union cb_addr {
	__u32 v4;
	__u32 v6[4];
	__u8  b[16];
};

/* cb_services: VIP/port/proto -> service record. */
struct cb_svc_key {
	union cb_addr vip;
	__be16 port;
	__u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;   /* enum cb_family */
};

/*
 * The whole service record is one hash element, replaced in one update:
 * a packet reads either the old or the new record, never a mix. Maglev
 * tables are double-buffered per track; `gen` says which buffer is live.
 */
struct cb_service {
	__u32 id;                   /* index for counters and tables, < CB_MAX_SERVICES */
	__u16 weight_bp;            /* canary share of new connections, 0..10000 */
	__u8 affinity;              /* enum cb_affinity */
	__u8 flags;                 /* CB_SVC_F_* */
	__u32 nb[CB_TRACKS];        /* backends per track (0: track empty) */
	__u32 m[CB_TRACKS];         /* Maglev table size per track */
	__u8 gen[CB_TRACKS];        /* live table generation per track (0 or 1) */
	__u8 pad[2];
};

#define CB_SVC_F_OVERRIDES  0x1  /* service has client-CIDR overrides */
/* Rolled back: no new connection goes to canary, not even an override's. */
#define CB_SVC_F_NO_CANARY  0x2
/*
 * Being set up (the agent fills the tracks first): not served yet, its
 * packets pass as if there were no service, rather than meet a record
 * without backends and be dropped.
 */
#define CB_SVC_F_PENDING    0x4

/* cb_maglev (hash of maps): key -> array of M backend ids. */
struct cb_tbl_key {
	__u32 svc_id;
	__u8 track;
	__u8 gen;
	__u8 pad[2];
};

/*
 * cb_members: the backends of a track, as user space last built its table.
 * The datapath never reads it; it is the CLI's and agent's record of truth.
 */
#define CB_MAX_TRACK_BACKENDS 1024

struct cb_members_key {
	__u32 svc_id;
	__u32 track;
};

struct cb_members {
	__u32 n;
	__u32 ids[CB_MAX_TRACK_BACKENDS];
};

/*
 * cb_backends: backend id -> where to send. One id may serve both tracks
 * for a while (a promotion moves canary backends to stable without a new
 * id); the track a connection counts on lives in its conntrack entry.
 */
struct cb_backend {
	union cb_addr addr;
	__be16 port;
	__u8 family;
	__u8 pad;
	__u32 svc_id;
};

/*
 * Where a flow's packets leave the node, as bpf_fib_lookup() said at `stamp`:
 * an established packet skips the lookup (a third of its cost) until the
 * entry is CB_NH_REFRESH_NS old. Written without a lock: a packet racing a
 * change of next hop may leave with the old one.
 */
struct cb_nexthop {
	__u32 ifindex;              /* egress device (0: nothing cached) */
	__u32 iif;                  /* the ingress device the lookup was made for */
	__u32 stamp;                /* bpf_ktime_get_coarse_ns() >> CB_NH_STAMP_SHIFT */
	__u8 dmac[6];
	__u8 smac[6];
};

/* cb_ct: client -> VIP 5-tuple (as sent by the client). */
struct cb_ct_key {
	union cb_addr saddr;
	union cb_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

struct cb_ct_entry {
	__u64 last_seen;            /* bpf_ktime_get_coarse_ns(), refreshed at most once a second */
	union cb_addr baddr;        /* backend, to notice that the backend was removed */
	__be16 bport;
	__u8 track;
	__u8 flags;                 /* CB_CT_F_* */
	__u32 backend_id;
	__u32 svc_id;
	struct cb_nexthop nh;       /* toward the backend */
};

#define CB_CT_F_FIN_CLIENT   0x1
#define CB_CT_F_FIN_BACKEND  0x2
#define CB_CT_F_RST          0x4
#define CB_CT_F_ACKED        0x8   /* the client acknowledged: the handshake completed */

/*
 * cb_rev: reply 5-tuple (backend -> client) -> what to restore, and the
 * connection's signal state: the reply side reads this entry anyway.
 */
struct cb_rev_entry {
	union cb_addr vip;
	__be16 vport;
	__u8 track;
	__u8 pad;
	__u32 svc_id;
	__u32 flags;                /* CB_REV_F_*, changed atomically: both directions write */
	__u32 client_nxt;           /* client's next sequence number seen (0: unknown) */
	__u32 server_isn;           /* pending TCP: the backend's SYN-ACK sequence number */
	__u32 client_isn;           /* pending TCP: the client's SYN sequence number */
	__u64 syn_ts;               /* client SYN not yet answered (0: answered or not TCP) */
	__u64 req_ts;               /* first byte of the request awaiting its response */
	__u64 connect_ns;           /* pending TCP: SYN to SYN-ACK, recorded once verified */
	struct cb_nexthop nh;       /* toward the client */
};

#define CB_REV_F_WAIT_BYTE   0x1  /* a request waits for its first response byte (TTFB) */
#define CB_REV_F_WAIT_STATUS 0x2  /* ... and for its final (non-1xx) status line */
#define CB_REV_F_SYN_FAILED  0x4  /* this connect already counted as failed */
#define CB_REV_F_SYNACK      0x8  /* pending: the backend's SYN-ACK passed (server_isn is set) */
#define CB_REV_F_COUNTED     0x10 /* the connection is counted (established, refused or failed) */

/*
 * cb_pend: a flow that has not proved its source (TCP before its handshake
 * completes, and UDP) with its reply state in one element, so that a new
 * flow writes one entry. Key: client -> VIP, as cb_ct. A reply finds it by
 * that key, built from the backend address's service (cb_baddr), or through
 * cb_pend_rev (reply tuple -> this key) when services share the address.
 */
struct cb_pend_entry {
	struct cb_ct_entry ct;
	struct cb_rev_entry rev;
};

#define CB_REV_F_INDEXED     0x20 /* pending: cb_pend_rev holds this flow's reply tuple */

/*
 * cb_baddr: every address a backend has. The datapath learns from it that a
 * packet came from a backend, and where a reply's pending flow lives: an
 * address whose records all serve one VIP:port (protocols apart: a reply's
 * protocol picks the service) names it, so the reply builds the flow's
 * client -> VIP key itself. Kept, retired, after its last record goes (the
 * replies of flows still on it find them), until user space needs the room.
 */
struct cb_baddr_key {
	union cb_addr addr;
	__u32 family;
};

struct cb_baddr_val {
	union cb_addr vip;          /* the VIP of the first record's service */
	__be16 vport;
	__u8 shared;                /* a record of another VIP:port used it (until none is left) */
	__u8 pad;
	__u32 users;                /* backend records with this address (0: retired) */
	__u32 vip_users;            /* ... of vip:vport */
	__u32 pad2;
	__u64 retired_ns;           /* CLOCK_MONOTONIC when users fell to 0 */
};

/*
 * cb_frag: IP fragments of a service flow after its first one, which alone
 * carries the ports. Key: the fragment's addresses and IP identification as
 * they arrive; value: the address that replaces one of them.
 */
struct cb_frag_key {
	union cb_addr saddr;
	union cb_addr daddr;
	__u32 id;                   /* IPv4: 16 bits of the header; IPv6: the fragment header's 32 */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

struct cb_frag_val {
	union cb_addr addr;         /* the new destination (to a backend) or source (to a client) */
	__u32 svc_id;
	__u8 track;
	__u8 dst;                   /* 1: rewrite the destination (request), 0: the source (reply) */
	__u8 pad[2];
};

/* cb_override4/6 LPM keys: the service id is the first 32 bits of the prefix. */
struct cb_ovr4_key {
	__u32 prefixlen;            /* 32 + CIDR length */
	__be32 svc_id;              /* big-endian so that it sorts as a prefix */
	__u8 addr[4];
};

struct cb_ovr6_key {
	__u32 prefixlen;
	__be32 svc_id;
	__u8 addr[16];
};

struct cb_ovr_val {
	__u8 track;
	__u8 pad[3];
};

/* cb_stats: per-CPU, index cb_stats_idx(svc_id, track). */
struct cb_track_stats {
	__u64 packets;              /* both directions */
	__u64 bytes;
	__u64 connections;          /* new flows */
	__u64 resets_from_backend;
	__u64 resets_from_client;
	__u64 drops;
	__u64 http[4];              /* HTTP/1.x responses: 2xx, 3xx, 4xx, 5xx */
	__u64 connect_failures;     /* RST answering a SYN, or a SYN left unanswered */
};

/*
 * cb_hist: per-CPU log-linear latency histograms in microseconds, key
 * cb_hist_idx(svc_id, track, kind). Values below 8 us have a
 * bucket each; above, every power of two splits into 8 buckets, so a bucket
 * is at most 12.5 % wide and its midpoint within 6.25 % of any value in it.
 */
enum cb_hist_kind {
	CB_HIST_CONNECT = 0,        /* client SYN -> backend SYN-ACK */
	CB_HIST_TTFB = 1,           /* first request byte -> first response byte */
	CB_HISTS = 2,
};

/* The counters of a service's track, and its histograms of one kind. */
static inline __u32 cb_stats_idx(__u32 svc_id, __u32 track)
{
	return svc_id * CB_TRACKS + (track & 1);
}

static inline __u32 cb_hist_idx(__u32 svc_id, __u32 track, __u32 kind)
{
	return cb_stats_idx(svc_id, track) * CB_HISTS + kind;
}

#define CB_HIST_SUB      8
#define CB_HIST_MAX_MSB  30         /* 2^31 us (36 min) and above share the last bucket */
#define CB_HIST_BUCKETS  ((CB_HIST_MAX_MSB - 2) * CB_HIST_SUB + CB_HIST_SUB)

struct cb_hist {
	__u64 count;
	__u64 sum_us;
	__u64 bucket[CB_HIST_BUCKETS];
};

/* Shared by the datapath and user space: the two must agree on every edge. */
static inline __u32 cb_hist_bucket(__u64 us)
{
	__u32 msb = 0;
	__u64 v = us;

	if (us < CB_HIST_SUB)
		return (__u32)us;
	/* Most significant bit by halving: no loop, no clz (BPF has none). */
	if (v >> 32) { v >>= 32; msb += 32; }
	if (v >> 16) { v >>= 16; msb += 16; }
	if (v >> 8) { v >>= 8; msb += 8; }
	if (v >> 4) { v >>= 4; msb += 4; }
	if (v >> 2) { v >>= 2; msb += 2; }
	if (v >> 1) { msb += 1; }
	if (msb > CB_HIST_MAX_MSB)
		return CB_HIST_BUCKETS - 1;
	return (msb - 2) * CB_HIST_SUB + (__u32)((us >> (msb - 3)) & (CB_HIST_SUB - 1));
}

/* cb_global: per-CPU, index enum cb_global_counter. */
enum cb_global_counter {
	CB_G_PASS_MALFORMED = 0,    /* truncated or inconsistent headers */
	CB_G_PASS_FRAGMENT,         /* IP fragments that belong to no service flow */
	CB_G_PASS_UNKNOWN,          /* not IP, not TCP/UDP, or headers we do not follow */
	CB_G_PASS_NOT_SERVICE,      /* TCP/UDP not to a service */
	CB_G_CT_RESELECT,           /* established flow whose backend went away */
	CB_G_FWD_REDIRECT,          /* forwarded by fib lookup + redirect */
	CB_G_FWD_STACK,             /* handed to the stack after NAT */
	CB_G_DROP_NO_BACKEND,       /* service without any backend */
	CB_G_REV_NAT,               /* replies restored to VIP:port */
	CB_G_CT_MISS,               /* TCP without SYN and without a flow: passed, never a new flow */
	CB_G_PASS_BAD_CSUM,         /* a SYN whose IP or TCP checksum is wrong: passed, no state */
	CB_G_PEND_NEW,              /* unverified flows created (TCP SYN, UDP first packet) */
	CB_G_CT_VERIFIED,           /* TCP handshakes completed: flows moved to cb_ct */
	CB_G_DROP_REV_COLLISION,    /* a new flow whose reply tuple another service's flow holds */
	CB_G_ICMP_NAT,              /* ICMP errors about a flow, translated */
	CB_G_FRAG_NAT,              /* fragments after the first, translated */
	CB_G_DROP_FRAG,             /* a reply fragment from a backend with no flow: never leaks */
	CB_G_PASS_TTL,              /* TTL or hop limit 1 to a VIP: passed untranslated */
	/*
	 * Conntrack accounting: elements the datapath added to / deleted from
	 * cb_ct (verified) and cb_pend (pending); the *_USER ones are what user
	 * space deleted (written by user space only, under the state lock). An
	 * LRU eviction is silent: inserts - deletes - entries is the evictions.
	 */
	CB_G_CT_INSERT,
	CB_G_CT_DELETE,
	CB_G_PEND_INSERT,
	CB_G_PEND_DELETE,
	CB_G_CT_DELETE_USER,
	CB_G_PEND_DELETE_USER,
	CB_G_MAX,
};

/* cb_names: service name -> its key. User space only: the CLI's names. */
#define CB_NAME_LEN 64

struct cb_name {
	char name[CB_NAME_LEN];     /* NUL-padded */
};

/*
 * cb_meta: one element, written when the maps are first created. The
 * layout version stays the first field of every layout: any binary can read
 * it. The seeds are random per installation, or the agent's seed file's, so
 * that every node sharing it splits and balances a flow the same way.
 */
struct cb_meta {
	__u32 layout_version;
	__u32 flags;
	__u32 seed_track;           /* the track hash */
	__u32 seed_backend;         /* the backend (Maglev slot) hash */
	__u64 maglev_seed[2];       /* the Maglev permutation (offset, skip), user space only */
	__u32 ct_entries;           /* cb_ct and cb_rev, as created */
	__u32 pend_entries;         /* cb_pend and cb_pend_rev */
	__u64 prog_id;              /* which build's programs the pinned ones are (upgrades) */
};

#define CB_META_F_SEEDED 0x1        /* the seeds are set */
#define CB_META_F_SHARED 0x2        /* from a seed file: tables are pure functions of the backend set */

/*
 * cb_rollouts: service name -> the agent's rollout of it (user space only).
 * Pinned like everything else, so an agent killed mid-rollout and started
 * again resumes the same step with the same weight.
 */
enum cb_phase {
	CB_PHASE_IDLE = 0,
	CB_PHASE_PROGRESSING,
	CB_PHASE_PAUSED,
	CB_PHASE_PROMOTED,
	CB_PHASE_ROLLED_BACK,
};

#define CB_REASON_LEN 232

struct cb_rollout {
	__u32 phase;                /* enum cb_phase */
	__u32 step;                 /* index into the configured steps */
	__u32 nsteps;
	__u32 weight_bp;            /* what the step set */
	__u32 failures;             /* consecutive failing checks */
	__u32 flags;                /* CB_RO_F_* */
	__u64 canary_fp;            /* fingerprint of the canary set being rolled out */
	__u64 step_elapsed_ms;      /* time spent progressing in this step */
	__u64 step_duration_ms;     /* copied from the config, for status readers */
	__u64 updated_ms;           /* CLOCK_MONOTONIC of the last write */
	__u64 rollbacks;            /* since the agent first managed the service */
	__u64 promotions;
	__u64 ctl_seq;              /* last control request handled */
	__u64 decided_ms;           /* monotonic time of the last promote/rollback */
	__u64 started_ms;           /* monotonic time the rollout started */
	char reason[CB_REASON_LEN];
	char release[CB_NAME_LEN];  /* the canary's release (the file's `release`), "" without */
};

#define CB_RO_F_MANAGED   0x1   /* the agent owns this service (made it from its config) */
#define CB_RO_F_GATE      0x2   /* paused at a manual "pause" step */
#define CB_RO_F_SWAPPED   0x4   /* promoted, and the tracks were swapped in the maps */
#define CB_RO_F_FORCED    0x8   /* a CLI change made with --force stands until the file changes */
#define CB_RO_F_FAILPAUSE 0x10  /* paused by on_failure: pause (only a total failure rolls back) */

/* cb_ctl: service name -> the last rollout command of the CLI to the agent. */
enum cb_ctl_cmd {
	CB_CTL_PAUSE = 1,
	CB_CTL_RESUME,
	CB_CTL_ABORT,
	CB_CTL_PROMOTE,
	CB_CTL_FORCE,               /* a CLI change with --force follows: the agent lets it stand */
};

enum cb_ctl_state {
	CB_CTL_PENDING = 0,
	CB_CTL_DONE,
	CB_CTL_REJECTED,
};

struct cb_ctl {
	__u64 seq;
	__u32 cmd;                  /* enum cb_ctl_cmd */
	__u32 state;                /* enum cb_ctl_state, written by the agent */
	char msg[112];              /* the agent's answer */
};

#endif /* CANARY_BPF_H */
