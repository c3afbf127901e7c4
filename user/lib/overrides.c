// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Client-CIDR overrides: per-service prefixes in the LPM tries. */
#include "dpstate.h"
#include "dpstate_int.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

union cb_ovr_key {
	struct cb_ovr4_key v4;
	struct cb_ovr6_key v6;
};

/* Fill an LPM key for svc + net/len (host bits cleared); returns the map fd. */
static int ovr_key(const struct cb_maps *m, uint32_t svc_id, const struct cb_endpoint *net,
		   unsigned int len, union cb_ovr_key *key)
{
	unsigned int bits = net->family == CB_AF_INET ? 32 : 128;
	uint8_t *a;

	if (len > bits)
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	if (net->family == CB_AF_INET) {
		key->v4.prefixlen = 32 + len;
		key->v4.svc_id = htonl(svc_id);
		memcpy(key->v4.addr, net->addr.b, 4);
		a = key->v4.addr;
	} else {
		key->v6.prefixlen = 32 + len;
		key->v6.svc_id = htonl(svc_id);
		memcpy(key->v6.addr, net->addr.b, 16);
		a = key->v6.addr;
	}
	for (unsigned int bit = len; bit < bits; bit++)
		a[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return net->family == CB_AF_INET ? m->ovr4 : m->ovr6;
}

/* The service's record and the trie key for net/len; returns the trie's fd or -errno. */
static int ovr_prepare(const struct cb_maps *m, const struct cb_svc_key *k,
		       const struct cb_endpoint *net, unsigned int len, struct cb_service *svc,
		       union cb_ovr_key *key)
{
	int err = cb_svc_get(m, k, svc);

	if (err)
		return err;
	if (net->family != k->family)
		return -EAFNOSUPPORT;
	return ovr_key(m, svc->id, net, len, key);
}

int cb_override_add(const struct cb_maps *m, const struct cb_svc_key *k,
		    const struct cb_endpoint *net, unsigned int prefix_len, unsigned int track)
{
	union cb_ovr_key key;
	struct cb_ovr_val v = { .track = (uint8_t)track };
	struct cb_service svc;
	int fd, err;

	if (track >= CB_TRACKS)
		return -EINVAL;
	fd = ovr_prepare(m, k, net, prefix_len, &svc, &key);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &key, &v, BPF_ANY))
		return -errno;
	if (svc.flags & CB_SVC_F_OVERRIDES)
		return 0;
	svc.flags |= CB_SVC_F_OVERRIDES;
	if (bpf_map_update_elem(m->services, k, &svc, BPF_EXIST)) {
		err = -errno;
		bpf_map_delete_elem(fd, &key);
		return err;
	}
	return 0;
}

/* Find an override of svc_id in the trie behind fd; copy its key to found. */
static int ovr_find(int fd, size_t key_size, uint32_t svc_id, void *found)
{
	uint8_t cur[sizeof(struct cb_ovr6_key)], next[sizeof(struct cb_ovr6_key)];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t id;

		memcpy(&id, next + 4, 4);
		if (ntohl(id) == svc_id) {
			if (found)
				memcpy(found, next, key_size);
			return 1;
		}
		memcpy(cur, next, key_size);
		prev = cur;
	}
	return 0;
}

int cb_override_del(const struct cb_maps *m, const struct cb_svc_key *k,
		    const struct cb_endpoint *net, unsigned int prefix_len)
{
	union cb_ovr_key key;
	struct cb_service svc;
	int fd;

	fd = ovr_prepare(m, k, net, prefix_len, &svc, &key);
	if (fd < 0)
		return fd;
	if (bpf_map_delete_elem(fd, &key))
		return -errno;
	if (ovr_find(fd, fd == m->ovr4 ? sizeof(key.v4) : sizeof(key.v6), svc.id, NULL))
		return 0;
	svc.flags &= (uint8_t)~CB_SVC_F_OVERRIDES;
	return bpf_map_update_elem(m->services, k, &svc, BPF_EXIST) ? -errno : 0;
}

/* Delete every override of svc_id from one trie. */
static void ovr_purge(int fd, size_t key_size, uint32_t svc_id)
{
	uint8_t key[sizeof(struct cb_ovr6_key)];

	while (ovr_find(fd, key_size, svc_id, key))
		if (bpf_map_delete_elem(fd, key))
			return;
}

void cb_overrides_purge(const struct cb_maps *m, uint32_t svc_id)
{
	ovr_purge(m->ovr4, sizeof(struct cb_ovr4_key), svc_id);
	ovr_purge(m->ovr6, sizeof(struct cb_ovr6_key), svc_id);
}

int cb_overrides_list(const struct cb_maps *m, uint32_t svc_id, uint8_t family,
		      struct cb_override **out, size_t *n)
{
	int fd = family == CB_AF_INET ? m->ovr4 : m->ovr6;
	size_t ksize = family == CB_AF_INET ? sizeof(struct cb_ovr4_key) : sizeof(struct cb_ovr6_key);
	size_t alen = family == CB_AF_INET ? 4 : 16, cap = 0;
	uint8_t cur[sizeof(struct cb_ovr6_key)], next[sizeof(struct cb_ovr6_key)];
	void *prev = NULL;

	*out = NULL;
	*n = 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t id, plen;
		struct cb_ovr_val v;

		memcpy(&id, next + 4, 4);
		memcpy(&plen, next, 4);
		if (ntohl(id) == svc_id && bpf_map_lookup_elem(fd, next, &v) == 0) {
			if (*n == cap) {
				void *grown = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof(**out));

				if (!grown) {
					free(*out);
					*out = NULL;
					*n = 0;
					return -ENOMEM;
				}
				*out = grown;
			}
			memset(&(*out)[*n], 0, sizeof(**out));
			memcpy((*out)[*n].net.addr.b, next + 8, alen);
			(*out)[*n].net.family = family;
			(*out)[*n].len = plen - 32;
			(*out)[*n].track = v.track;
			(*n)++;
		}
		memcpy(cur, next, ksize);
		prev = cur;
	}
	return 0;
}
