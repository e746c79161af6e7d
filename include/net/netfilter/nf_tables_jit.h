/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _NET_NF_TABLES_JIT_H
#define _NET_NF_TABLES_JIT_H

#include <linux/jump_label.h>
#include <net/netfilter/nf_tables.h>

/*
 * nf_tables JIT: a BPF program compiled by the user-mode helper from one
 * base chain of one ruleset generation, run by nft_do_chain() in place of
 * the interpreter.  See Documentation in docs/kernel.md of the project and
 * include/uapi/linux/netfilter/nf_tables_jit.h for the ABI.
 */

/* enabled while a program is attached to any chain of any netns */
DECLARE_STATIC_KEY_FALSE(nft_jit_active);

int nft_jit_run(const struct nft_pktinfo *pkt, const struct nft_chain *chain,
		const struct nft_rule_blob *blob,
		const struct nft_rule_dp **rule);
void nft_jit_commit(struct net *net);
void nft_jit_chain_destroy(const struct nft_chain *chain);

int nft_jit_module_init(void);
void nft_jit_module_exit(void);

#endif /* _NET_NF_TABLES_JIT_H */
