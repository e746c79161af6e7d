/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test and link targets: BPF maps built from a snapshot of nf_tables
 * sets.
 *
 * Exact-match sets (hash, bitmap, concatenations) become BPF hash maps
 * keyed by the set key as nf_tables holds it in its registers.  Interval
 * sets become LPM tries: every range [start, end] is split into the
 * prefixes that cover it exactly.  Values are a u32: 1 for plain sets,
 * the IMR action index for verdict maps.  Catch-all elements are not
 * stored; the code generator handles them.
 *
 * The sets of one layout (setmap_same_layout()) share one map, the
 * program's map imr_set.map, each set's keys prefixed by its u32 tag
 * (imr_set.tag, host byte order): a hash map's key is the tag then the
 * set key; an LPM trie's data is the tag then the set key, the tag
 * always part of the prefix (prefix length 32 + the element's bits).
 * A program may use at most 64 maps; sets are often many (every
 * anonymous set is one) but of few layouts.
 */
#ifndef NFTJ_SETMAP_H
#define NFTJ_SETMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/netfilter/nf_tables.h>

#include "imr.h"
#include "model.h"

/* the value of every element is a u32, so the kind and key length */
static inline bool setmap_same_layout(const struct nftj_set *a,
				      const struct nftj_set *b)
{
	return !(a->flags & NFT_SET_INTERVAL) ==
	       !(b->flags & NFT_SET_INTERVAL) && a->key_len == b->key_len;
}

/*
 * create and fill set map `map` of p (the sets with imr_set.map == map);
 * returns an fd or -errno
 */
int setmap_create(const struct imr_prog *p, unsigned int map, char *err,
		  size_t errlen);

/* split [lo, hi] (len bytes, big-endian) into prefixes; calls fn for each */
int setmap_range_prefixes(const uint8_t *lo, const uint8_t *hi,
			  unsigned int len,
			  int (*fn)(const uint8_t *pfx, unsigned int bits,
				    void *arg), void *arg);

#endif /* NFTJ_SETMAP_H */
