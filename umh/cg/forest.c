// SPDX-License-Identifier: GPL-2.0
/*
 * A tree run of the base chain (imr_chain.runs, the optimizer's tree
 * pass) as decision trees (tree.h): first every key field the trees cut
 * on is loaded once into a stack slot, by the same code and with the
 * same failures as the rules' own loads, a failed load as the field's
 * "absent" value (max + 1); then each tree branches on the slots down to
 * a leaf, whose candidate rules run in rule order.  The path bounds each
 * key field to the cell's interval, and a candidate's test that pred.c
 * marks exact on a key field is weighed against it (cg_leaf_test()):
 * decided (the cell within its values, the absent value not in the
 * cell) it is left out; failing in the whole cell it drops the
 * candidate; else it compares the slot (the field cache), with only the
 * bounds the cell does not already imply.  Other tests run as in a
 * straight rule.  A candidate with every test decided matches the whole
 * cell: its verdict ends the leaf.
 *
 * Keys are the fields the trees cut on and those at least two rules of
 * the run test exactly.  Within a tree the keys it reads most live in
 * registers (tree_regs()).
 *
 * One tree: a match returns the rule's verdict right there.  Several
 * (separable trees over disjoint rules): a match in a tree before the
 * last records the rule as the best so far and goes on to the next tree,
 * whose candidates at or after the best are skipped; a match in the last
 * tree wins outright; after it, the best so far (if any) is dispatched to
 * its verdict (and deciding rule, for a target that reports it).  No
 * match anywhere falls through to the rule after the run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cg.h"
#include "../pred.h"
#include "../tree.h"

/*
 * The best rule so far: 2 * (index + 1) + 1 for accept, + 0 for drop, so
 * that a target that does not report the deciding rule finds the verdict
 * in bit 0; BEST_NONE for none yet.  best <= 2 * (i + 1) + 1 holds
 * exactly when the best rule's index is at most i.
 */
#define BEST_NONE	0x7fffffff
#define BEST(idx)	(2 * ((idx) + 1))

void cg_forest_free(struct cg_forest *f)
{
	if (f->fo) {
		forest_free(f->fo);
		free(f->fo);
	}
	free(f->order);
	free(f->key_slot);
	free(f->key_field);
	memset(f, 0, sizeof(*f));
}

static unsigned int tree_cost(const struct tree *t)
{
	return t->depth + 1 + 8 * t->max_leaf;
}

/*
 * Fields the trees do not cut on but that at least two of the run's
 * rules test exactly are keys too, the most tested first, while slots
 * last: loaded once per packet, their tests in the leaves compare the
 * field cache instead of loading the field again.
 */
static int extra_keys(const struct pred_chain *pc, struct cg_forest *f)
{
	uint32_t nf = pc->nfields, i, j, k, best, *uses;

	if (!nf)
		return 0;
	uses = calloc(nf, sizeof(*uses));
	if (!uses)
		return -ENOMEM;
	for (i = f->from; i < f->to; i++) {
		const struct pred_rule *pr = &pc->rules[i];

		for (j = 0; j < pr->nst; j++) {
			k = pr->st[j].field;
			if (k < nf && pr->st[j].exact &&
			    f->key_slot[k] == UINT32_MAX &&
			    tree_field_ok(&pc->fields[k]))
				uses[k]++;
		}
	}
	while (f->nkeys < FP_TREE_KEYS) {
		for (best = nf, k = 0; k < nf; k++)
			if (uses[k] >= 2 && (best == nf || uses[k] > uses[best]))
				best = k;
		if (best == nf)
			break;
		uses[best] = 0;
		f->key_slot[best] = f->nkeys;
		f->key_field[f->nkeys++] = best;
	}
	free(uses);
	return 0;
}

int cg_forest_make(const struct pred_chain *pc, uint32_t from, uint32_t to,
		   struct cg_forest *f)
{
	uint32_t nf = pc->nfields ? pc->nfields : 1, i, j, k;
	struct tree_opts o;
	int err;

	memset(f, 0, sizeof(*f));
	f->from = from;
	f->to = to;
	f->fo = calloc(1, sizeof(*f->fo));
	f->key_slot = malloc(nf * sizeof(*f->key_slot));
	f->key_field = calloc(nf, sizeof(*f->key_field));
	if (!f->fo || !f->key_slot || !f->key_field) {
		cg_forest_free(f);
		return -ENOMEM;
	}
	tree_opts_default(&o);
	err = forest_build(pc, from, to, &o, f->fo);
	if (err) {
		free(f->fo);
		f->fo = NULL;
		cg_forest_free(f);
		return err;
	}
	f->order = calloc(f->fo->ntrees ? f->fo->ntrees : 1,
			  sizeof(*f->order));
	if (!f->order) {
		cg_forest_free(f);
		return -ENOMEM;
	}
	for (i = 0; i < nf; i++)
		f->key_slot[i] = UINT32_MAX;
	for (i = 0; i < f->fo->ntrees; i++) {
		const struct tree *t = &f->fo->trees[i];

		for (j = 0; j < t->nnodes; j++) {
			k = t->nodes[j].field;
			if (k == TREE_LEAF || f->key_slot[k] != UINT32_MAX)
				continue;
			f->key_slot[k] = f->nkeys;
			f->key_field[f->nkeys++] = k;
		}
		f->cost += tree_cost(t);
		f->order[i] = i;
	}
	if (f->nkeys > FP_TREE_KEYS) {
		cg_forest_free(f);
		return -E2BIG;
	}
	err = extra_keys(pc, f);
	if (err) {
		cg_forest_free(f);
		return err;
	}
	/* the tree with the most rules last: its matches need no dispatch */
	for (i = 0; i + 1 < f->fo->ntrees; i++) {
		if (f->fo->trees[f->order[i]].nrules >
		    f->fo->trees[f->order[f->fo->ntrees - 1]].nrules) {
			j = f->order[i];
			f->order[i] = f->order[f->fo->ntrees - 1];
			f->order[f->fo->ntrees - 1] = j;
		}
	}
	f->cost += f->fo->ntrees + 8;
	return 0;
}

/* slot k = field f's value, or its absent value where the load fails */
static void load_key(struct cg *c, const struct pred_field *fd, int16_t off)
{
	uint64_t absent = (uint64_t)pred_field_max(fd) + 1;
	struct imr_expr *e = pred_field_expr(fd, fd->width);
	int fail = L(c), store = L(c);

	if (!e) {
		c->b->err = -ENOMEM;
		return;
	}
	c->l4_ok = false;
	c->nofrag_ok = false;
	cg_eval_num(c, e, fd->width, fail);
	imr_expr_put(e);
	JA(c, store);
	BIND(c, fail);
	if (absent <= 0x7fffffff) {
		E(c, I_MOV64_IMM(R1, (int32_t)absent));
	} else {
		E(c, I_MOV64_IMM(R1, 1));
		E(c, I_ALU64_IMM(BPF_LSH, R1, 32));
	}
	BIND(c, store);
	E(c, I_STX(BPF_DW, R_FP, R1, off));
}

struct femit {
	struct cg *c;
	const struct pred_chain *pc;
	const struct cg_forest *f;
	const struct tree *t;
	bool multi;		/* several trees */
	bool first, last;	/* the first, the last tree */
	int next;		/* after this tree: the next one, or the
				 * dispatch (several), the end (one) */
	uint64_t lo[FP_TREE_KEYS], hi[FP_TREE_KEYS];	/* the cell, by
							 * slot */
	int8_t reg[FP_TREE_KEYS];	/* by slot: the register that holds
					 * it in this tree, or -1 */
	bool regs_ok;		/* the leaf has not run a test since the
				 * tree's registers were loaded */
};

/*
 * Within a tree the slots it uses most are held in registers R2-R5,
 * loaded at the tree's start: a branch is one jump.  R1 takes the other
 * slots, R0 a constant a jump cannot hold.  A test run in full (a call,
 * a load) may overwrite R0-R5: after one, the rest of the leaf reads the
 * slots again.
 */
#define TREE_REGS	4
static const uint8_t tree_reg[TREE_REGS] = { R2, R3, R4, R5 };

static void rule_verdict(struct cg *c, const struct imr_rule *r)
{
	const struct imr_stmt *v = &r->stmts[r->nstmts - 1];

	c->rule_id = r->id;
	c->b->cur_src = r->id + 1;
	cg_final(c, v->verdict == IMR_V_DROP ? NF_DROP : NF_ACCEPT, r->id);
	c->b->cur_src = 0;
}

enum cg_leaf_test cg_leaf_test(const struct pred_stmt *st,
			       const struct pred_field *fd, uint64_t lo,
			       uint64_t hi, struct cg_leaf_ivs *pass)
{
	pred_val max = pred_field_max(fd);
	uint64_t a, b;
	uint32_t i;

	pass->n = 0;
	if (st->field == UINT32_MAX || !st->exact || fd->width > 4 ||
	    lo > hi)
		return CG_LEAF_EMIT;
	for (i = 0; i < st->nivs; i++) {
		/* the absent value (max + 1) must never pass */
		if (st->ivs[i].lo > st->ivs[i].hi || st->ivs[i].hi > max)
			return CG_LEAF_EMIT;
		if (st->ivs[i].hi < lo || st->ivs[i].lo > hi)
			continue;
		if (pass->n == CG_LEAF_SLOT_IVS)
			return CG_LEAF_EMIT;
		a = st->ivs[i].lo < lo ? lo : (uint64_t)st->ivs[i].lo;
		b = st->ivs[i].hi > hi ? hi : (uint64_t)st->ivs[i].hi;
		pass->lo[pass->n] = a;
		pass->hi[pass->n++] = b;
	}
	if (!pass->n)
		return CG_LEAF_FAILS;
	if (pass->n == 1 && pass->lo[0] == lo && pass->hi[0] == hi)
		return CG_LEAF_DECIDED;
	return CG_LEAF_SLOT;
}

/* test i of a candidate rule in the current cell */
static enum cg_leaf_test leaf_test(const struct femit *x,
				   const struct pred_rule *pr,
				   const struct imr_rule *r, size_t i,
				   struct cg_leaf_ivs *pass)
{
	const struct pred_stmt *st;
	uint32_t k;

	pass->n = 0;
	if (pr->nst != r->nstmts)	/* stale analysis: test it all */
		return CG_LEAF_EMIT;
	st = &pr->st[i];
	if (st->field == UINT32_MAX || st->field >= x->pc->nfields)
		return CG_LEAF_EMIT;
	k = x->f->key_slot[st->field];
	if (k == UINT32_MAX)
		return CG_LEAF_EMIT;
	return cg_leaf_test(st, &x->pc->fields[st->field], x->lo[k],
			    x->hi[k], pass);
}

/*
 * reg (a slot: a value of at most 32 bits, or its field's absent value)
 * against v, unsigned.  Jump immediates are sign-extended: a v of 32 bits
 * is compared in 32 bits where that is exact, else through R0.  A slot
 * holds the absent value 2^32 only for a 4-byte field, and its low half
 * is 0: below every v >= 1 in 32 bits.  So `< v` and `!= v` are exact
 * in 32 bits always, and every compare is once absent cannot reach it
 * (no_absent: the cell excludes it, or a `< v` with v >= 1 before it
 * did).
 */
static void jump_val(struct cg *c, uint8_t op, uint8_t reg, uint64_t v,
		     bool no_absent, int to)
{
	if (v <= 0x7fffffff) {
		J(c, op, reg, (int32_t)v, to);
		return;
	}
	if (v <= 0xffffffff &&
	    (no_absent || op == BPF_JLT || op == BPF_JNE)) {
		J32(c, op, reg, (int32_t)(uint32_t)v, to);
		return;
	}
	E(c, I_MOV32_IMM(R0, (int32_t)(uint32_t)v));
	JX(c, op, reg, R0, to);
}

/*
 * Slot k into R1.  Newer verifiers link a filled register to its stack
 * slot: what a branch proves would narrow the slot, and the next tree's
 * branches on it would mark it precise, so that states of different
 * leaves no longer prune each other.  An ALU operation other than add
 * ends the link.
 */
static void fill(struct cg *c, uint8_t reg, uint32_t k)
{
	E(c, I_LDX(BPF_DW, reg, R_FP, FP_TREE_KEY(k)));
	E(c, I_ALU64_IMM(BPF_OR, reg, 0));
}

/* the register that holds slot k now: its own, or R1 filled */
static uint8_t key_reg(struct femit *x, uint32_t k)
{
	if (x->reg[k] >= 0 && x->regs_ok)
		return (uint8_t)x->reg[k];
	fill(x->c, R1, k);
	return R1;
}

/* the field cache: slot k's value in pass (the cell is [lo, hi]) */
static void emit_slot_test(struct femit *x, uint32_t k, uint64_t max,
			   const struct cg_leaf_ivs *pass, int fail)
{
	uint64_t lo = x->lo[k], hi = x->hi[k];
	bool no_absent = hi <= max;
	struct cg *c = x->c;
	uint8_t reg = key_reg(x, k);
	uint32_t i;
	int ok;

	if (pass->n == 1 && pass->lo[0] == pass->hi[0] &&
	    pass->lo[0] > lo && pass->hi[0] < hi) {
		/* one value, inside the cell: lo < v, so v >= 1 */
		jump_val(c, BPF_JNE, reg, pass->lo[0], no_absent, fail);
		return;
	}
	ok = L(c);
	for (i = 0; i < pass->n; i++) {
		if (pass->lo[i] > lo) {
			jump_val(c, BPF_JLT, reg, pass->lo[i], no_absent,
				 fail);
			no_absent = true;	/* pass->lo[i] >= 1 */
		}
		if (i + 1 < pass->n)
			jump_val(c, BPF_JLE, reg, pass->hi[i], no_absent, ok);
		else if (pass->hi[i] < hi)
			jump_val(c, BPF_JGT, reg, pass->hi[i], no_absent,
				 fail);
	}
	BIND(c, ok);
}

/* false: the rule cannot match in this cell; *all: every test decided */
static bool cand_scan(const struct femit *x, const struct imr_rule *r,
		      const struct pred_rule *pr, bool *all)
{
	struct cg_leaf_ivs pass;
	size_t i;

	*all = true;
	for (i = 0; i + 1 < r->nstmts; i++) {
		switch (leaf_test(x, pr, r, i, &pass)) {
		case CG_LEAF_FAILS:
			return false;
		case CG_LEAF_DECIDED:
			break;
		default:
			*all = false;
		}
	}
	return true;
}

static void emit_cand_tests(struct femit *x, const struct imr_rule *r,
			    const struct pred_rule *pr, int fail)
{
	struct cg_leaf_ivs pass;
	struct cg *c = x->c;
	uint32_t k;
	size_t i;

	cg_rule_start(c, r);
	for (i = 0; i + 1 < r->nstmts; i++) {
		switch (leaf_test(x, pr, r, i, &pass)) {
		case CG_LEAF_DECIDED:
			break;
		case CG_LEAF_SLOT:
			k = x->f->key_slot[pr->st[i].field];
			emit_slot_test(x, k,
				       pred_field_max(&x->pc->fields[
						pr->st[i].field]),
				       &pass, fail);
			break;
		default:
			cg_emit_test(c, &r->stmts[i], fail);
			x->regs_ok = false;
		}
	}
}

static void emit_leaf(struct femit *x, const struct tree_node *nd)
{
	struct cg *c = x->c;
	const struct imr_chain *ch = &c->p->chains[x->pc->chain];
	const struct imr_rule *r;
	uint32_t i, idx, last = UINT32_MAX;
	bool all;
	int fail;

	/* the last candidate emitted: its failing tests go to the next tree */
	for (i = 0; i < nd->n; i++) {
		idx = x->t->cand[nd->first + i];
		if (!cand_scan(x, &ch->rules[idx], &x->pc->rules[idx], &all))
			continue;
		last = i;
		if (all)
			break;
	}
	x->regs_ok = true;
	for (i = 0; i < nd->n; i++) {
		idx = x->t->cand[nd->first + i];
		r = &ch->rules[idx];
		if (!cand_scan(x, r, &x->pc->rules[idx], &all))
			continue;	/* a test fails in the whole cell */
		if (x->multi && !x->first) {
			/* this one and those after it cannot beat the best */
			E(c, I_LDX(BPF_W, R1, R_FP, FP_TREE_BEST));
			J(c, BPF_JLE, R1, (int32_t)BEST(idx) + 1, x->next);
		}
		fail = i == last ? x->next : L(c);
		emit_cand_tests(x, r, &x->pc->rules[idx], fail);
		if (!x->multi || x->last) {
			rule_verdict(c, r);
		} else {
			E(c, I_ST(BPF_W, R_FP, FP_TREE_BEST,
				  (int32_t)BEST(idx) +
				  (r->stmts[r->nstmts - 1].verdict !=
				   IMR_V_DROP)));
			JA(c, x->next);
		}
		if (fail != x->next)
			BIND(c, fail);
		c->b->cur_src = 0;
		if (all)	/* it matches the whole cell: nothing after */
			return;
	}
	JA(c, x->next);
}

static void emit_node(struct femit *x, uint32_t n)
{
	const struct tree_node *nd = &x->t->nodes[n];
	struct cg *c = x->c;
	uint32_t k;
	uint64_t lo, hi;
	int right;

	if (nd->field == TREE_LEAF) {
		emit_leaf(x, nd);
		return;
	}
	right = L(c);
	k = x->f->key_slot[nd->field];
	lo = x->lo[k];
	hi = x->hi[k];
	x->regs_ok = true;	/* nothing since the tree's start */
	jump_val(c, BPF_JGT, key_reg(x, k), nd->split,
		 hi <= pred_field_max(&x->pc->fields[nd->field]), right);
	if (nd->split < x->hi[k])
		x->hi[k] = nd->split;
	emit_node(x, nd->left);
	x->hi[k] = hi;
	BIND(c, right);
	if (nd->split + 1 > x->lo[k])
		x->lo[k] = nd->split + 1;
	emit_node(x, nd->right);
	x->lo[k] = lo;
}

/*
 * The slots this tree reads most (its branches, its candidates' tests on
 * keys) into R2-R5, those read at least twice: a fill costs what one
 * read from the stack costs.
 */
static void tree_regs(struct femit *x)
{
	const struct imr_chain *ch = &x->c->p->chains[x->pc->chain];
	uint32_t uses[FP_TREE_KEYS] = { 0 }, i, j, k, best, n = 0;
	const struct tree *t = x->t;

	for (i = 0; i < t->nnodes; i++)
		if (t->nodes[i].field != TREE_LEAF)
			uses[x->f->key_slot[t->nodes[i].field]]++;
	for (i = 0; i < t->ncand; i++) {
		const struct pred_rule *pr = &x->pc->rules[t->cand[i]];

		if (pr->nst != ch->rules[t->cand[i]].nstmts)
			continue;
		for (j = 0; j < pr->nst; j++) {
			k = pr->st[j].field;
			if (k < x->pc->nfields &&
			    x->f->key_slot[k] != UINT32_MAX)
				uses[x->f->key_slot[k]]++;
		}
	}
	for (k = 0; k < FP_TREE_KEYS; k++)
		x->reg[k] = -1;
	while (n < TREE_REGS) {
		for (best = FP_TREE_KEYS, k = 0; k < x->f->nkeys; k++)
			if (uses[k] >= 2 &&
			    (best == FP_TREE_KEYS || uses[k] > uses[best]))
				best = k;
		if (best == FP_TREE_KEYS)
			break;
		uses[best] = 0;
		x->reg[best] = (int8_t)tree_reg[n];
		fill(x->c, tree_reg[n++], best);
	}
	x->regs_ok = true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* R1 = best (index + 1), one of idx[0 .. n) of chain ch: its verdict */
static void dispatch(struct cg *c, const struct imr_chain *ch,
		     const uint32_t *idx, size_t n)
{
	size_t i, m;
	int skip;

	if (n <= 4) {
		for (i = 0; i + 1 < n; i++) {
			skip = L(c);
			J(c, BPF_JNE, R1, (int32_t)(idx[i] + 1), skip);
			rule_verdict(c, &ch->rules[idx[i]]);
			BIND(c, skip);
		}
		rule_verdict(c, &ch->rules[idx[n - 1]]);
		return;
	}
	m = n / 2;
	skip = L(c);
	J(c, BPF_JGT, R1, (int32_t)(idx[m - 1] + 1), skip);
	dispatch(c, ch, idx, m);
	BIND(c, skip);
	dispatch(c, ch, idx + m, n - m);
}

void cg_emit_forest(struct cg *c, const struct pred_chain *pc,
		    const struct cg_forest *f)
{
	const struct forest *fo = f->fo;
	struct femit x = { .c = c, .pc = pc, .f = f,
			   .multi = fo->ntrees > 1 };
	int end = L(c), disp = L(c);
	uint32_t i, *idx;
	size_t n = 0;

	c->b->cur_src = 0;
	for (i = 0; i < f->nkeys; i++) {
		load_key(c, &pc->fields[f->key_field[i]], FP_TREE_KEY(i));
		x.lo[i] = 0;		/* every value, absent included */
		x.hi[i] = (uint64_t)pred_field_max(&pc->fields[f->key_field[i]])
			  + 1;
	}
	if (x.multi)
		E(c, I_ST(BPF_W, R_FP, FP_TREE_BEST, BEST_NONE));
	for (i = 0; i < fo->ntrees; i++) {
		x.t = &fo->trees[f->order[i]];
		x.first = i == 0;
		x.last = i + 1 == fo->ntrees;
		x.next = x.last ? (x.multi ? disp : end) : L(c);
		tree_regs(&x);
		emit_node(&x, 0);
		if (!x.last)
			BIND(c, x.next);
	}
	if (x.multi) {
		/* the rules of every tree but the last, in order */
		idx = malloc((f->to - f->from) * sizeof(*idx));
		if (!idx) {
			c->b->err = -ENOMEM;
			return;
		}
		for (i = 0; i + 1 < fo->ntrees; i++) {
			x.t = &fo->trees[f->order[i]];
			memcpy(idx + n, x.t->rules,
			       x.t->nrules * sizeof(*idx));
			n += x.t->nrules;
		}
		qsort(idx, n, sizeof(*idx), cmp_u32);
		BIND(c, disp);
		E(c, I_LDX(BPF_W, R1, R_FP, FP_TREE_BEST));
		J(c, BPF_JEQ, R1, BEST_NONE, end);
		if (n && (c->t->flags & CG_T_DECIDER)) {
			E(c, I_ALU32_IMM(BPF_RSH, R1, 1));
			dispatch(c, &c->p->chains[pc->chain], idx, n);
		} else if (n) {
			/* no deciding rule to report: the verdict bit */
			disp = L(c);
			J(c, BPF_JSET, R1, 1, disp);
			cg_final(c, NF_DROP, NFTJ_RULE_POLICY);
			BIND(c, disp);
			cg_final(c, NF_ACCEPT, NFTJ_RULE_POLICY);
		}
		free(idx);
	}
	BIND(c, end);
}
