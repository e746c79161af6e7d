/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test target: BPF maps built from a snapshot of nf_tables sets.
 *
 * Exact-match sets (hash, bitmap, concatenations) become BPF hash maps
 * keyed by the set key as nf_tables holds it in its registers.  Interval
 * sets become LPM tries: every range [start, end] is split into the
 * prefixes that cover it exactly.  Values are a u32: 1 for plain sets,
 * the IMR action index for verdict maps.  Catch-all elements are not
 * stored; the code generator handles them.
 */
#ifndef NFTJ_SETMAP_H
#define NFTJ_SETMAP_H

#include <stddef.h>

#include "imr.h"

/* create and fill the map of one IMR set; returns an fd or -errno */
int setmap_create(const struct imr_set *is, char *err, size_t errlen);

/* split [lo, hi] (len bytes, big-endian) into prefixes; calls fn for each */
int setmap_range_prefixes(const uint8_t *lo, const uint8_t *hi,
			  unsigned int len,
			  int (*fn)(const uint8_t *pfx, unsigned int bits,
				    void *arg), void *arg);

#endif /* NFTJ_SETMAP_H */
