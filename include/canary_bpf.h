/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one header shared by bpf/ and user/: every map key and value layout.
 * Any change to a layout below must bump CB_LAYOUT_VERSION, because pinned
 * maps outlive the binary that created them.
 */
#ifndef CANARY_BPF_H
#define CANARY_BPF_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stdint.h>
#endif

#define CB_LAYOUT_VERSION 2

#define CB_MAX_SERVICES  16384
#define CB_MAX_BACKENDS  65536
#define CB_MAX_TABLES    (CB_MAX_SERVICES * 4)   /* service x track x generation */
#define CB_CT_ENTRIES    262144
#define CB_OVERRIDES     16384

/* Maglev table size: prime, M >> N keeps shares even (64 backends: 64 slots each). */
#define CB_MAGLEV_M      4099
#define CB_MAGLEV_M_MAX  65521

#define CB_WEIGHT_MAX    10000   /* basis points: 100.00 % */

/* Conntrack lifetimes (ns). */
#define CB_CT_TCP_LIFETIME    (6ULL * 3600 * 1000000000ULL)
#define CB_CT_CLOSE_LIFETIME  (10ULL * 1000000000ULL)
#define CB_CT_UDP_LIFETIME    (60ULL * 1000000000ULL)
/* Timestamps are refreshed at most this often, to keep the hot path read-only. */
#define CB_CT_REFRESH_NS      (1000000000ULL)

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
	__u64 last_seen;            /* bpf_ktime_get_ns(), refreshed at most once a second */
	union cb_addr baddr;        /* backend, to notice that the backend was removed */
	__be16 bport;
	__u8 track;
	__u8 flags;                 /* CB_CT_F_* */
	__u32 backend_id;
	__u32 svc_id;
};

#define CB_CT_F_FIN_CLIENT   0x1
#define CB_CT_F_FIN_BACKEND  0x2
#define CB_CT_F_RST          0x4

/* cb_rev: reply 5-tuple (backend -> client) -> what to restore. */
struct cb_rev_entry {
	union cb_addr vip;
	__be16 vport;
	__u8 track;
	__u8 pad;
	__u32 svc_id;
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

/* cb_stats: per-CPU, index svc_id * CB_TRACKS + track. */
struct cb_track_stats {
	__u64 packets;              /* both directions */
	__u64 bytes;
	__u64 connections;          /* new flows */
	__u64 resets_from_backend;
	__u64 resets_from_client;
	__u64 drops;
};

/* cb_global: per-CPU, index enum cb_global_counter. */
enum cb_global_counter {
	CB_G_PASS_MALFORMED = 0,    /* truncated or inconsistent headers */
	CB_G_PASS_FRAGMENT,         /* IPv4/IPv6 fragments */
	CB_G_PASS_UNKNOWN,          /* not IP, not TCP/UDP, or headers we do not follow */
	CB_G_PASS_NOT_SERVICE,      /* TCP/UDP not to a service */
	CB_G_CT_RESELECT,           /* established flow whose backend went away */
	CB_G_FWD_REDIRECT,          /* forwarded by fib lookup + redirect */
	CB_G_FWD_STACK,             /* handed to the stack after NAT */
	CB_G_DROP_NO_BACKEND,       /* service without any backend */
	CB_G_REV_NAT,               /* replies restored to VIP:port */
	CB_G_MAX,
};

/* cb_names: service name -> its key. User space only: the CLI's names. */
#define CB_NAME_LEN 64

struct cb_name {
	char name[CB_NAME_LEN];     /* NUL-padded */
};

/* cb_meta: one element, written when the maps are first created. */
struct cb_meta {
	__u32 layout_version;
	__u32 flags;
};

#endif /* CANARY_BPF_H */
