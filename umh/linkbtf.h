/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the link target needs to know about the running kernel, read from
 * its BTF (/sys/kernel/btf/vmlinux): the ids of the kfuncs it calls and
 * the offsets of the struct fields it reads through BTF pointers
 * (struct bpf_nf_ctx, nf_hook_state, sk_buff, net_device).  Nothing is
 * hard-coded: another kernel build gives other offsets.
 */
#ifndef NFTJ_LINKBTF_H
#define NFTJ_LINKBTF_H

#include <stdint.h>

struct linkbtf {
	int32_t kf_from_skb;		/* bpf_dynptr_from_skb */
	int32_t kf_slice;		/* bpf_dynptr_slice */
	int16_t ctx_state, ctx_skb;	/* struct bpf_nf_ctx */
	int16_t st_hook, st_pf, st_in, st_out;	/* struct nf_hook_state */
	int16_t skb_len, skb_mark, skb_protocol;	/* struct sk_buff */
	int16_t skb_pkt_type;		/* byte holding the bitfield */
	uint8_t skb_pkt_type_shift;	/* bit position in that byte */
	int16_t dev_ifindex, dev_type;	/* struct net_device */
};

/*
 * Resolve everything from the running kernel's BTF, once per process.
 * Returns 0 and *out, or -errno with a message in why (-ENOENT: the
 * kernel lacks a kfunc or a field: it is too old for the link target).
 */
int linkbtf_get(const struct linkbtf **out, char *why, size_t whylen);

/* the same from a BTF object (tests); fills *lb */
struct btf;
int linkbtf_resolve(const struct btf *btf, struct linkbtf *lb, char *why,
		    size_t whylen);

#endif /* NFTJ_LINKBTF_H */
