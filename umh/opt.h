/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The optimizer: passes over the IMR between the builder and the code
 * generator (docs/optimizer.md).  A pass may change the IMR only where
 * the interpreter could not tell the difference: the same verdict, the
 * same counters and side effects, the same deciding rule, for every
 * packet.  Each pass can be switched off (`nft-jit compile --no-opt`).
 *
 * Passes see only the rules the program runs: those before a chain's
 * first rule left to the interpreter.
 */
#ifndef NFTJ_OPT_H
#define NFTJ_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "imr.h"

enum opt_pass_id {
	OPT_DEAD,	/* rules that can never match */
	OPT_SHADOW,	/* rules an earlier rule decides for whole */
	OPT_FUSE,	/* a rule's tests of one field as one test */
	OPT_TREE,	/* runs of plain rules as decision trees */
	OPT_LOOKUP,	/* runs of equality or prefix rules as map lookups */
	OPT_NPASSES,
};

#define OPT_ALL		((1u << OPT_NPASSES) - 1)
#define OPT_TREE_MIN	8	/* rules in the shortest tree run */
#define OPT_LOOKUP_MIN	16	/* rules in the shortest lookup run */
#define OPT_LOOKUP_KEYS	8	/* key fields of a lookup at most */

/* a rule a pass removed, for the lint users read */
struct opt_note {
	enum opt_pass_id pass;
	size_t chain;
	uint64_t handle;	/* the rule removed */
	uint64_t by;		/* OPT_SHADOW: the rule that catches all its
				 * packets */
};

struct opt_pass_stats {
	uint32_t rules_removed;
	uint32_t tests_before;	/* OPT_FUSE: tests it rewrote, */
	uint32_t tests_after;	/*   and what they became */
	uint32_t runs;		/* OPT_TREE, OPT_LOOKUP: runs chosen, */
	uint32_t run_rules;	/*   the rules in them */
	double ms;
};

struct opt_report {
	unsigned int ran;	/* passes that ran, 1 << id */
	double analyze_ms;	/* canonical predicates, every chain */
	struct opt_pass_stats pass[OPT_NPASSES];
	struct opt_note *notes;
	size_t nnotes;
};

const char *opt_pass_name(enum opt_pass_id id);
/* "dead,fuse" or "all" into a mask of passes; -EINVAL with *why */
int opt_parse_passes(const char *list, unsigned int *mask, char *why,
		     size_t whylen);
/* "rule handle 42 can never match: rule handle 17 catches all its packets" */
int opt_note_print(const struct imr_prog *p, const struct opt_note *n,
		   char *buf, size_t size);

/*
 * A rule a lookup run may hold (OPT_LOOKUP): a plain accept or drop rule
 * without side effects whose every test is exactly "field == value" on a
 * field of at most 4 bytes, or that tests one such field for one prefix
 * (an aligned block of values).  Its key: the fields it tests, in
 * increasing field index, at most OPT_LOOKUP_KEYS, and the value of
 * each; bits, the prefix length of a one-field key (the field's width
 * in bits for a value).  False for any other rule.
 */
struct pred_chain;

struct opt_lookup_key {
	uint32_t n;
	uint32_t field[OPT_LOOKUP_KEYS];
	uint32_t val[OPT_LOOKUP_KEYS];
	uint32_t bits;
};

bool opt_lookup_rule(const struct pred_chain *pc, const struct imr_chain *ch,
		     size_t i, struct opt_lookup_key *k);

/* run every pass not in `off`, in order; 0 or -ENOMEM */
int imr_optimize(struct imr_prog *p, unsigned int off, struct opt_report *rep);
void opt_report_free(struct opt_report *rep);

#endif /* NFTJ_OPT_H */
