/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rules as `nft list` shows them, by chain and handle, for annotations.
 * libnftables does the delinearization, exactly as the nft command.
 */
#ifndef NFTJ_RULETEXT_H
#define NFTJ_RULETEXT_H

#include <stdint.h>

struct ruletext;

/* list table family/table; NULL if libnftables fails (annotations off) */
struct ruletext *ruletext_load(uint32_t family, const char *table);
/* the rule's text, "" if unknown */
const char *ruletext_get(const struct ruletext *rt, const char *chain,
			 uint64_t handle);
void ruletext_free(struct ruletext *rt);

#endif /* NFTJ_RULETEXT_H */
