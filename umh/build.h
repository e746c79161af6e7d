/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IMR builder: turns one base chain of the dumped ruleset (and every
 * regular chain it reaches through jump, goto and verdict maps) into an
 * IMR program, rebuilding values from nf_tables' register-based
 * expressions the way nftables' netlink_delinearize.c does.
 */
#ifndef NFTJ_BUILD_H
#define NFTJ_BUILD_H

#include "imr.h"
#include "model.h"

#define IMR_MAX_CALL_DEPTH	4	/* BPF frames below the main program */

/* what the code generation target can do (enum nftj_target decides) */
#define IMR_CAP_SETS		0x01	/* set and map lookups */
#define IMR_CAP_COUNTERS	0x02	/* counter */
#define IMR_CAP_SOCKET		0x04	/* meta skuid/skgid */
#define IMR_CAP_LL		0x08	/* link-layer header payload */
#define IMR_CAP_ALL		0x0f	/* the test target */
/*
 * The kernel evaluates counters, set and map lookups, ct and meta loads
 * the program cannot do itself (struct imr_svc).  Lookups and counters
 * become services even if IMR_CAP_SETS or IMR_CAP_COUNTERS is set.
 */
#define IMR_CAP_SERVICES	0x10

/*
 * Build the IMR of base chain `chain` of table `table` (family
 * NFPROTO_*) for a target with capabilities `caps` (IMR_CAP_*).  Rules the IMR cannot express are kept, marked unsupported
 * with a reason.  Returns 0, -ENOENT (no such table/chain), -EOPNOTSUPP
 * (not a base chain, or a chain type/family/hook the JIT does not handle;
 * the reason is written to `why`), or -ENOMEM.
 */
int imr_build(struct imr_prog *p, const struct nftj_ruleset *rs,
	      uint32_t family, const char *table, const char *chain,
	      unsigned int caps, char *why, size_t whylen);

#endif /* NFTJ_BUILD_H */
