/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Netfilter links (Linux >= 6.4): a BPF_PROG_TYPE_NETFILTER program
 * attached to (protocol family, hook, priority) with BPF_LINK_CREATE,
 * next to nf_tables' own hooks.  libbpf 1.1 and the 6.1 uapi headers of
 * Debian 12 predate them, so the numbers and the attribute layout are
 * spelled out here and the syscall is made directly.
 *
 * Also the table flag that unhooks an nf_tables table without deleting
 * it (NFT_TABLE_F_DORMANT): the link target's programs run while their
 * table is dormant, never silently next to it.
 */
#ifndef NFTJ_NFLINK_H
#define NFTJ_NFLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

#define NFTJ_PROG_TYPE_NETFILTER	32	/* BPF_PROG_TYPE_NETFILTER */
#define NFTJ_ATTACH_NETFILTER		45	/* BPF_NETFILTER */

/*
 * Attach prog_fd at hook `hook` (NF_INET_*) of protocol family pf
 * (NFPROTO_IPV4 or NFPROTO_IPV6, not INET: one link per family) with
 * priority prio, in the caller's network namespace.  Returns the link
 * fd (closing it detaches) or -errno.
 */
int nflink_create(int prog_fd, uint32_t pf, uint32_t hook, int32_t prio);

/* the link's id (bpftool link show), 0 if unknown */
uint32_t nflink_id(int link_fd);

/* the links of one base chain: one per protocol family */
struct nftj_links {
	int fd[2];
	uint32_t id[2];
	uint32_t pf[2];
	size_t n;
};

/*
 * Attach prog_fd where a base chain of table family `family` (ip, ip6,
 * inet) with hook and priority runs.  All or nothing: 0 or -errno.
 */
int nftj_links_attach(struct nftj_links *l, int prog_fd, uint32_t family,
		      uint32_t hook, int32_t prio);
void nftj_links_detach(struct nftj_links *l);

/* is table family/name dormant in the dumped ruleset?  -ENOENT if absent */
int nftj_table_dormant(const struct nftj_ruleset *rs, uint32_t family,
		       const char *table, bool *dormant);

/*
 * Set or clear NFT_TABLE_F_DORMANT of an existing table (a one-message
 * commit); -ENOENT if there is no such table.
 */
int nftj_table_set_dormant(uint32_t family, const char *table, bool dormant);

#endif /* NFTJ_NFLINK_H */
