/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decision trees over a run of rules (HiCuts-style, keeping rule order).
 *
 * An inner node compares one field with a constant: values up to the
 * split go left, larger ones right.  A field that can fail to load (no
 * transport header, ...) has one more value past its largest, "absent",
 * so failing loads take the right-most path like any other value.  The
 * root's cell is every packet; a node's cell is its parent's, cut.
 *
 * A leaf lists the rules of the run whose box meets its cell, in rule
 * order: the code there is the rules themselves, minus the tests the
 * cell already decides.  Every other rule of the run cannot match a
 * packet of the cell (its box holds every packet it matches), so running
 * the leaf is running the run.  A leaf stops after the first rule that
 * decides every packet of the cell (exact, ending the chain, its box
 * around the cell): the rules after it are never reached there.
 *
 * Only fields of up to 4 bytes are cut on; tests of other fields stay in
 * the leaves.
 */
#ifndef NFTJ_TREE_H
#define NFTJ_TREE_H

#include <stdint.h>

#include "pred.h"

#define TREE_LEAF	UINT32_MAX	/* tree_node.field of a leaf */
#define TREE_ABSENT(max)	((uint64_t)(max) + 1)	/* a failed load */

struct tree_node {
	uint32_t field;		/* pred_chain field, TREE_LEAF */
	uint64_t split;		/* left: value <= split */
	uint32_t left, right;	/* node indices */
	uint32_t first, n;	/* leaf: tree.cand[first .. first + n) */
	uint16_t depth;
};

struct tree_opts {
	uint32_t leaf_rules;	/* stop cutting at this many candidates */
	uint32_t max_depth;
	uint32_t max_copies;	/* candidates in all leaves, per rule of
				 * the run, times 100: past that, leaves */
};

struct tree {
	uint32_t *rules;		/* the rules it holds, in order */
	uint32_t nrules;
	struct tree_node *nodes;	/* [0] is the root */
	uint32_t nnodes, cap;
	uint32_t *cand;			/* rule indices, leaf after leaf */
	uint32_t ncand, ccap;
	uint32_t depth;			/* deepest leaf */
	uint32_t leaves;
	uint32_t max_leaf;		/* most candidates in one leaf */
};

/* the default options: 4 rules a leaf, 24 deep, 3 copies a rule */
void tree_opts_default(struct tree_opts *o);
/* a field the tree can cut on */
bool tree_field_ok(const struct pred_field *f);
/* a tree over rules[0 .. n) (in order) of the analysed chain; 0 or
 * -ENOMEM
 */
int tree_build(const struct pred_chain *pc, const uint32_t *rules,
	       uint32_t n, const struct tree_opts *o, struct tree *t);
void tree_free(struct tree *t);

/*
 * A run of rules as several trees (EffiCuts' separable trees): a rule is
 * wide in a field when its values there span more than 2^(bits/2); rules
 * go to one tree per pattern of wide key fields (the fields most rules
 * are narrow in), so that no tree copies its wide rules into every leaf.
 * A packet's first matching rule is the first among each tree's first.
 */
#define TREE_KEYS	2	/* key fields: at most 1 << TREE_KEYS trees */

struct forest {
	struct tree *trees;
	uint32_t ntrees;
	uint32_t keys[TREE_KEYS];	/* key fields, UINT32_MAX: none */
};

int forest_build(const struct pred_chain *pc, size_t from, size_t to,
		 const struct tree_opts *o, struct forest *fo);
void forest_free(struct forest *fo);

#endif /* NFTJ_TREE_H */
