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
	size_t from, to;		/* the run: rules [from, to) */
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
/* a tree over rules [from, to) of the analysed chain; 0 or -ENOMEM */
int tree_build(const struct pred_chain *pc, size_t from, size_t to,
	       const struct tree_opts *o, struct tree *t);
void tree_free(struct tree *t);

#endif /* NFTJ_TREE_H */
