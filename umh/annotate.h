/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The annotated disassembly of a compiled chain, as `nft-jit compile -d`
 * and `nft-jit status -v` print it: the service table, then per segment
 * the instructions, each run of them headed by its rule (nft syntax and
 * IMR), kfunc calls and return values explained.
 */
#ifndef NFTJ_ANNOTATE_H
#define NFTJ_ANNOTATE_H

#include <jansson.h>

struct nftj_prog;
struct ruletext;

/* one string per line; rt gives the rules' nft text */
json_t *nftj_annotate_json(const struct nftj_prog *jp,
			   const struct ruletext *rt);

#endif /* NFTJ_ANNOTATE_H */
