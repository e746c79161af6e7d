/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ruleset as dumped from nf_tables: the front end's output.
 *
 * Tables, chains and rules stay libnftnl objects (the IMR builder walks
 * their expressions with libnftnl's iterators).  Sets are copied into
 * plain structs together with their elements, because every consumer
 * needs the elements and libnftnl's element API is per attribute.
 */
#ifndef NFTJ_MODEL_H
#define NFTJ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#define NFTJ_DATA_MAX		64	/* NFT_DATA_VALUE_MAXLEN */
#define NFTJ_NAME_MAX		256	/* NFT_NAME_MAXLEN */
#define NFTJ_CONCAT_MAX		16	/* NFT_REG32_COUNT */

struct nftj_set_elem {
	uint8_t key[NFTJ_DATA_MAX];
	uint32_t key_len;
	uint8_t key_end[NFTJ_DATA_MAX];	/* NFTA_SET_ELEM_KEY_END (pipapo) */
	uint32_t key_end_len;		/* 0: no key_end */
	uint8_t data[NFTJ_DATA_MAX];	/* maps: the value */
	uint32_t data_len;
	int32_t verdict;		/* verdict maps: NF_* / NFT_* code */
	char *chain;			/* owned: verdict maps: jump/goto
					 * target, NULL for none */
	uint32_t flags;			/* NFT_SET_ELEM_INTERVAL_END, _CATCHALL */
	bool has_timeout;		/* element has a timeout / expiration */
};

struct nftj_set {
	uint32_t family;
	char table[NFTJ_NAME_MAX];
	char name[NFTJ_NAME_MAX];
	uint64_t handle;
	uint32_t flags;			/* NFT_SET_* */
	uint32_t key_type;
	uint32_t key_len;
	uint32_t data_type;		/* NFT_DATA_VERDICT for verdict maps */
	uint32_t data_len;
	uint32_t field_count;		/* NFTA_SET_DESC_CONCAT, 0 if absent */
	uint32_t field_len[NFTJ_CONCAT_MAX];
	bool has_exprs;			/* set or elements carry expressions
					 * (counter, ...): side effects */
	struct nftj_set_elem *elems;
	size_t nelems;
};

struct nftj_ruleset {
	uint32_t genid;			/* NFTA_GEN_ID the dump is consistent with */
	struct nftnl_table_list *tables;
	struct nftnl_chain_list *chains;
	struct nftnl_rule_list *rules;	/* all rules, in dump order */
	struct nftj_set *sets;
	size_t nsets;
};

/*
 * Dump the whole ruleset of the current network namespace (family
 * NFPROTO_UNSPEC for all) with one consistent generation id: the
 * generation is read before and after the dump, and the dump is retried
 * when a commit landed in between.  Returns 0 or -errno.
 */
int nftj_ruleset_dump(struct nftj_ruleset *rs, uint32_t family);
void nftj_ruleset_free(struct nftj_ruleset *rs);

/*
 * The same from a dump's messages in a buffer, as the kernel sends them
 * (nf_tables NEWGEN, NEWTABLE, NEWCHAIN, NEWRULE, NEWSET and NEWSETELEM
 * messages, back to back, 4-byte aligned; an NLMSG_DONE ends the buffer
 * early; anything but whole messages: -EPROTO), through
 * the same callbacks.  Element messages go to the set their table, name
 * and family name; all NEWGEN messages must agree (-EAGAIN otherwise),
 * rs->genid is theirs (0 without one).  For tests (tests/fuzz).
 * Returns 0 or -errno (-EPROTO: a malformed message).
 */
int nftj_ruleset_parse(struct nftj_ruleset *rs, const void *buf, size_t len);

/* Read the current ruleset generation id.  Returns 0 or -errno. */
int nftj_genid_get(uint32_t *genid);

const struct nftj_set *nftj_set_find(const struct nftj_ruleset *rs,
				     uint32_t family, const char *table,
				     const char *name);

#endif /* NFTJ_MODEL_H */
