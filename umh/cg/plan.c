// SPDX-License-Identifier: GPL-2.0
/*
 * Planning (the pipeline's cut stage): how a base chain is split into
 * tail-called segments, each within the verifier's limits, and where no
 * program can go on.  The code is laid out as cg_emit() lays it out (a
 * dry run of each rule, without maps); the IMR is only read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "../opt.h"
#include "../pred.h"
#include "../tree.h"

static unsigned int chain_cost(struct cg *c, int chain);

/*
 * The branches the verifier may keep pending for one rule: its own
 * conditional jumps plus, for every call, the called chain's.  The
 * chains the rule calls directly are marked in `direct` (may be NULL).
 */
static unsigned int rule_cost(struct cg *c, const struct imr_rule *r,
			      bool *direct)
{
	struct bbuf scratch, *saved = c->b;
	int *labels = c->chain_label;
	unsigned int cost;
	size_t i;

	bbuf_init(&scratch);
	c->b = &scratch;
	c->chain_label = malloc(c->p->nchains * sizeof(int));
	if (!c->chain_label) {
		c->chain_label = labels;
		c->b = saved;
		c->plan_err = -ENOMEM;
		return UINT32_MAX / 2;
	}
	for (i = 0; i < c->p->nchains; i++)
		c->chain_label[i] = -1;
	cg_emit_rule(c, r);
	cost = scratch.ncond + 1;
	for (i = 1; i < c->p->nchains; i++) {
		if (c->chain_label[i] < 0)
			continue;
		cost += chain_cost(c, (int)i);
		if (direct)
			direct[i] = true;
	}
	free(c->chain_label);
	c->chain_label = labels;
	c->b = saved;
	bbuf_free(&scratch);
	return cost;
}

/* the marked chains as a list: c->calls[chain] */
static void set_calls(struct cg *c, int chain, const bool *direct)
{
	struct cg_calls *k = &c->calls[chain];
	size_t i;

	k->v = malloc(c->p->nchains * sizeof(int));
	if (!k->v) {
		c->plan_err = -ENOMEM;
		return;
	}
	for (i = 1; i < c->p->nchains; i++)
		if (direct[i])
			k->v[k->n++] = (int)i;
}

static unsigned int chain_cost(struct cg *c, int chain)
{
	const struct imr_chain *ch = &c->p->chains[chain];
	unsigned int cost = 1;
	bool *direct;
	size_t i;

	if (c->chain_cost[chain])
		return c->chain_cost[chain];
	direct = calloc(c->p->nchains, sizeof(bool));
	if (!direct) {
		c->plan_err = -ENOMEM;
		return UINT32_MAX / 2;
	}
	for (i = 0; i < ch->nrules; i++) {
		const struct cg_forest *f = c->plan ?
			cg_plan_chain_forest(c->plan, chain, i) : NULL;

		if (f) {
			cost += f->cost;
			i = f->to - 1;
			continue;
		}
		cost += rule_cost(c, &ch->rules[i], direct);
	}
	set_calls(c, chain, direct);
	free(direct);
	c->chain_cost[chain] = cost;
	return cost;
}

/*
 * Collect into fn[] the chains reachable from `chain` (itself included)
 * that are not stamped `cur` yet, stamping them.  Depth is bounded by
 * IMR_MAX_CALL_DEPTH: the builder refuses deeper jumps and loops.
 */
static void reach(const struct cg *c, int chain, unsigned int *stamp,
		  unsigned int cur, int *fn, size_t *nfn)
{
	const struct cg_calls *k = &c->calls[chain];
	size_t i;

	if (stamp[chain] == cur)
		return;
	stamp[chain] = cur;
	fn[(*nfn)++] = chain;
	for (i = 0; i < k->n; i++)
		reach(c, k->v[i], stamp, cur, fn, nfn);
}

struct plan_ctx {
	unsigned int *stamp;	/* per chain: the walk that reached it */
	unsigned int cur;	/* the current walk */
	size_t *seg_of;		/* per chain: the last segment holding it,
				 * counted from 1; 0 none */
	int *fn;		/* the chains one rule reaches */
	bool *direct;		/* the chains one rule calls */
	size_t nfuncs;		/* functions of the current segment */
};

static void plan_ctx_free(struct plan_ctx *x)
{
	free(x->stamp);
	free(x->seg_of);
	free(x->fn);
	free(x->direct);
}

/*
 * The chains the rule whose direct calls x->direct marks reaches,
 * listed in x->fn: their number.
 */
static size_t rule_reach(const struct cg *c, struct plan_ctx *x)
{
	size_t ch, nfn = 0;

	x->cur++;
	for (ch = 1; ch < c->p->nchains; ch++)
		if (x->direct[ch])
			reach(c, (int)ch, x->stamp, x->cur, x->fn, &nfn);
	return nfn;
}

/* planning lays the code out without maps */
static const struct cg_maps no_maps = {
	.prog_array_fd = -1, .stats_fd = -1, .meta_fd = -1,
};

/* the rule at index i is where the program stops, and why */
static void plan_cut(struct cg_plan *plan, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void plan_cut(struct cg_plan *plan, size_t i, const char *fmt, ...)
{
	va_list ap;

	plan->cut = (int)i;
	va_start(ap, fmt);
	vsnprintf(plan->cut_reason, sizeof(plan->cut_reason), fmt, ap);
	va_end(ap);
}

/* rules a forest starts with; halved until it fits */
#define CG_FOREST_RULES	16384

struct plan_state {
	struct cg *c;
	struct plan_ctx *x;
	struct cg_plan *plan;
	unsigned int used;		/* branches of the segment */
	size_t used_insns;		/* forest instructions of the segment */
	size_t nch;
};

/* a new segment from rule i; false (and the cut) when there is none */
static bool plan_new_seg(struct plan_state *s, size_t i)
{
	struct cg_plan *plan = s->plan;

	if (plan->nseg == CG_MAX_SEGS) {
		plan_cut(plan, i, "program size: beyond %d segments of %d branches or %d functions",
			 CG_MAX_SEGS, CG_SEG_BUDGET, CG_MAX_FUNCS);
		return false;
	}
	plan->first[plan->nseg++] = i;
	s->used = 0;
	s->used_insns = 0;
	s->x->nfuncs = 1;
	return true;
}

/* one rule as straight code: 0, 1 where the program stops, -errno */
static int plan_rule(struct plan_state *s, const struct imr_rule *r,
		     size_t i)
{
	struct plan_ctx *x = s->x;
	struct cg_plan *plan = s->plan;
	struct cg *c = s->c;
	unsigned int cost;
	size_t k, n, nfn;

	memset(x->direct, 0, s->nch * sizeof(*x->direct));
	cost = rule_cost(c, r, x->direct);
	if (c->plan_err)
		return c->plan_err;
	nfn = rule_reach(c, x);
	/* the functions the current segment does not have yet */
	for (k = 0, n = nfn; k < nfn; k++)
		if (x->seg_of[x->fn[k]] == plan->nseg)
			n--;
	if (s->used + cost <= CG_SEG_BUDGET &&
	    x->nfuncs + n <= CG_MAX_FUNCS) {
		s->used += cost;
	} else {
		if (cost > CG_SEG_BUDGET) {
			/* the chains it jumps to cannot be split */
			plan_cut(plan, i, "too large for one BPF program (%u branches, %d at most)",
				 cost, CG_SEG_BUDGET);
			return 1;
		}
		if (1 + nfn > CG_MAX_FUNCS) {
			plan_cut(plan, i, "reaches %zu chains: one BPF program holds %d functions at most, one per chain",
				 nfn, CG_MAX_FUNCS);
			return 1;
		}
		if (!plan_new_seg(s, i))
			return 1;
		s->used = cost;
		n = nfn;
	}
	for (k = 0; k < nfn; k++)
		x->seg_of[x->fn[k]] = plan->nseg;
	x->nfuncs += n;
	return 0;
}

size_t cg_plan_seg_forest_insns(const struct cg_plan *plan, size_t seg)
{
	size_t k, n = 0;

	if (seg >= plan->nseg)
		return 0;
	for (k = 0; k < plan->nforests; k++)
		if (plan->forests[k].from >= plan->first[seg] &&
		    (seg + 1 == plan->nseg ||
		     plan->forests[k].from < plan->first[seg + 1]) &&
		    plan->forests[k].insns > n)
			n = plan->forests[k].insns;
	/* a regular chain's: any segment may call it */
	for (k = 0; k < plan->ncforests; k++)
		if (plan->cforests[k].insns > n)
			n = plan->cforests[k].insns;
	return n;
}

/* instructions of forests in one program (codegen.h) */
static size_t forest_budget(const struct cg *c)
{
	return c->opts && c->opts->forest_insns ? c->opts->forest_insns :
	       CG_FOREST_INSNS;
}

/* the forest of rules [from, to) if it fits one: 0, -E2BIG, -errno */
static int plan_forest(struct plan_state *s, const struct pred_chain *pc,
		       uint32_t from, uint32_t to, struct cg_forest *f,
		       size_t *insns)
{
	struct cg *c = s->c;
	struct bbuf scratch, *saved = c->b;
	int err;

	err = cg_forest_make(pc, from, to, f);
	if (err)
		return err;
	bbuf_init(&scratch);
	c->b = &scratch;
	cg_emit_forest(c, pc, f);
	err = bbuf_finish(&scratch);
	*insns = scratch.len;
	f->insns = scratch.len;
	c->b = saved;
	bbuf_free(&scratch);
	if (!err && *insns > forest_budget(c))
		err = -E2BIG;
	if (err)
		cg_forest_free(f);
	return err;
}

/* forest f of the base chain (base) or of a regular chain, and its stats */
static int plan_add_forest(struct cg_plan *plan, const struct cg_forest *f,
			   bool base)
{
	struct cg_forest **pv = base ? &plan->forests : &plan->cforests;
	size_t *pn = base ? &plan->nforests : &plan->ncforests;
	struct cg_forest *v;
	uint32_t i;

	v = realloc(*pv, (*pn + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*pv = v;
	v[(*pn)++] = *f;
	plan->tree_rules += f->to - f->from;
	plan->trees += f->fo->ntrees;
	for (i = 0; i < f->fo->ntrees; i++) {
		const struct tree *t = &f->fo->trees[i];

		if (t->depth > plan->tree_depth)
			plan->tree_depth = t->depth;
		if (t->max_leaf > plan->tree_max_leaf)
			plan->tree_max_leaf = t->max_leaf;
		plan->tree_leaves += t->leaves;
		plan->tree_cand += t->ncand;
	}
	return 0;
}

/*
 * Rules [from, to) of a tree run: forests of as many rules as fit, in
 * order;
 * *next the first rule after them (the rest of the run is straight
 * code).  0, 1 where the program stops, -errno.
 */
static int plan_run(struct plan_state *s, uint32_t from, uint32_t to,
		    size_t *next)
{
	uint32_t i = from, n = CG_FOREST_RULES;
	struct cg_forest f;
	size_t insns;
	int err;

	while (i < to) {
		if (n > to - i)
			n = to - i;
		if (n < OPT_TREE_MIN)
			break;
		err = plan_forest(s, s->plan->pc, i, i + n, &f, &insns);
		if (err == -E2BIG) {
			n /= 2;
			continue;
		}
		if (err)
			return err;
		if (s->used + f.cost > CG_SEG_BUDGET ||
		    s->used_insns + insns > forest_budget(s->c)) {
			if (!plan_new_seg(s, i)) {
				cg_forest_free(&f);
				return 1;
			}
		}
		s->used += f.cost;
		s->used_insns += insns;
		err = plan_add_forest(s->plan, &f, true);
		if (err) {
			cg_forest_free(&f);
			return err;
		}
		i += n;
	}
	*next = i;
	return 0;
}

/* maps a program uses besides the lookups: at most */
static size_t other_maps(const struct imr_prog *p)
{
	return 3 + p->nset_maps;	/* statistics, meta, segments, sets */
}

/* lk's code laid out: its length and conditional jumps; 0 or -errno */
static int lay_out(struct cg *c, const struct cg_plan *plan,
		   const struct cg_lookup *lk, size_t *len, size_t *ncond)
{
	struct bbuf scratch, *saved = c->b;
	int err;

	bbuf_init(&scratch);
	c->b = &scratch;
	cg_emit_lookup(c, plan->pc, lk, plan->nlookups);
	err = bbuf_finish(&scratch);
	*len = scratch.len;
	*ncond = scratch.ncond;
	c->b = saved;
	bbuf_free(&scratch);
	return err;
}

/*
 * The branches the verifier keeps pending for a lookup: those of its
 * loads and its lookup, one per level of the binary search, and those of
 * one verdict (laid out without the search, and with one rule).
 */
static int lookup_cost(struct cg *c, const struct cg_plan *plan,
		       struct cg_lookup *lk)
{
	struct cg_lookup part = *lk;
	size_t len, n0, n1 = 0;
	int err;

	part.nelems = 0;
	err = lay_out(c, plan, &part, &len, &n0);
	if (!err) {
		part.nelems = 1;
		err = lay_out(c, plan, &part, &len, &n1);
	}
	if (!err)
		err = lay_out(c, plan, lk, &lk->insns, &len);
	lk->cost = (unsigned int)(n1 + cg_lookup_depth(lk) + 1);
	return err;
}

/*
 * The lookup runs as maps, while the target has maps and a program has
 * room for them; a run that is not made stays rules (trees, straight
 * code).
 */
static int plan_lookups(struct plan_state *s)
{
	const struct imr_chain *ch = &s->c->p->chains[0];
	struct cg_plan *plan = s->plan;
	struct cg_lookup lk, *v;
	size_t i;
	int err;

	if (!(s->c->t->flags & CG_T_SET_MAPS) || !ch->nlookups)
		return 0;
	plan->lookups = calloc(ch->nlookups, sizeof(*plan->lookups));
	if (!plan->lookups)
		return -ENOMEM;
	for (i = 0; i < ch->nlookups; i++) {
		if (other_maps(s->c->p) + plan->nlookups >= CG_MAX_MAPS)
			break;
		err = cg_lookup_make(plan->pc, ch, ch->lookups[i].from,
				     ch->lookups[i].to, &lk);
		if (err == -EINVAL)
			continue;	/* stale: the rules stay */
		if (err)
			return err;
		err = lookup_cost(s->c, plan, &lk);
		if (err) {
			cg_lookup_free(&lk);
			return err;
		}
		v = &plan->lookups[plan->nlookups++];
		*v = lk;
		plan->lookup_rules += lk.to - lk.from;
		plan->lookup_elems += lk.nelems;
		plan->lookup_lpm += lk.lpm;
	}
	return 0;
}

const struct cg_forest *cg_plan_chain_forest(const struct cg_plan *plan,
					     size_t chain, size_t rule)
{
	size_t k;

	for (k = 0; k < plan->ncforests; k++)
		if (plan->forests_chain[k] == chain &&
		    plan->cforests[k].from == rule)
			return &plan->cforests[k];
	return NULL;
}

/*
 * The tree runs of regular chain ci as forests: a regular chain is one
 * function, the same code in every segment that calls it, so its
 * forests are planned once, as large as one program takes.
 */
static int plan_chain_runs(struct plan_state *s, size_t ci)
{
	const struct imr_chain *ch = &s->c->p->chains[ci];
	struct cg_plan *plan = s->plan;
	struct pred_chain *pc;
	struct cg_forest f;
	uint32_t i, n;
	size_t r, insns, *vc;
	int err;

	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	err = pred_chain_analyze(s->c->p, ci, pc);
	if (err) {
		free(pc);
		return err;
	}
	plan->cpc[ci] = pc;
	for (r = 0; r < ch->nruns; r++) {
		i = ch->runs[r].from;
		n = CG_FOREST_RULES;
		while (i < ch->runs[r].to) {
			if (n > ch->runs[r].to - i)
				n = ch->runs[r].to - i;
			if (n < OPT_TREE_MIN)
				break;
			err = plan_forest(s, pc, i, i + n, &f, &insns);
			if (err == -E2BIG) {
				n /= 2;
				continue;
			}
			if (err)
				return err;
			vc = realloc(plan->forests_chain,
				     (plan->ncforests + 1) * sizeof(*vc));
			if (!vc) {
				cg_forest_free(&f);
				return -ENOMEM;
			}
			plan->forests_chain = vc;
			vc[plan->ncforests] = ci;
			err = plan_add_forest(plan, &f, false);
			if (err) {
				cg_forest_free(&f);
				return err;
			}
			i += n;
		}
	}
	return 0;
}

/* the lookup at rule i as planned: 0, 1 where the program stops */
static int plan_lookup(struct plan_state *s, const struct cg_lookup *lk)
{
	if (s->used + lk->cost > CG_SEG_BUDGET ||
	    s->used_insns + lk->insns > forest_budget(s->c)) {
		if (!plan_new_seg(s, lk->from))
			return 1;
	}
	s->used += lk->cost;
	s->used_insns += lk->insns;
	return 0;
}

int cg_plan(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_opts *opts, struct cg_plan *plan)
{
	const struct imr_chain *ch = &p->chains[0];
	size_t i, k, ri = 0, li = 0, nch = p->nchains ? p->nchains : 1,
	       end = ch->first_unsupported < 0 ? ch->nrules :
			(size_t)ch->first_unsupported;
	struct plan_ctx x = { .nfuncs = 1 };
	struct plan_state s = { .x = &x, .plan = plan, .nch = nch };
	struct cg c;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->cut = -1;
	err = cg_init(&c, p, cg_target_get(target), opts, &no_maps, NULL);
	if (err)
		return err;
	s.c = &c;
	c.chain_cost = calloc(nch, sizeof(unsigned int));
	c.calls = calloc(nch, sizeof(*c.calls));
	x.stamp = calloc(nch, sizeof(*x.stamp));
	x.seg_of = calloc(nch, sizeof(*x.seg_of));
	x.fn = calloc(nch, sizeof(*x.fn));
	x.direct = calloc(nch, sizeof(*x.direct));
	if (!c.chain_cost || !c.calls || !x.stamp || !x.seg_of || !x.fn ||
	    !x.direct) {
		err = -ENOMEM;
		goto out;
	}
	c.plan = plan;
	if (ch->nruns || ch->nlookups) {
		plan->pc = calloc(1, sizeof(*plan->pc));
		err = plan->pc ? pred_chain_analyze(p, 0, plan->pc) : -ENOMEM;
		if (!err)
			err = plan_lookups(&s);
		if (err)
			goto out;
	}
	for (k = 1; k < p->nchains && !err; k++) {
		if (!p->chains[k].nruns)
			continue;
		if (!plan->cpc) {
			plan->cpc = calloc(nch, sizeof(*plan->cpc));
			plan->ncpc = nch;
		}
		err = plan->cpc ? plan_chain_runs(&s, k) : -ENOMEM;
	}
	if (err)
		goto out;
	plan->nseg = 1;
	for (i = 0; i < end;) {
		const struct cg_lookup *lk = li < plan->nlookups ?
					     &plan->lookups[li] : NULL;
		size_t next = i;
		uint32_t to;

		if (lk && lk->from == i) {
			err = plan_lookup(&s, lk);
			if (err)
				break;
			li++;
			i = lk->to;
			continue;
		}
		while (ri < ch->nruns && ch->runs[ri].to <= i)
			ri++;
		if (ri < ch->nruns && ch->runs[ri].from <= i) {
			/* the run up to the next lookup inside it */
			to = ch->runs[ri].to;
			if (lk && lk->from < to)
				to = lk->from;
			err = plan_run(&s, (uint32_t)i, to, &next);
			if (err)
				break;
			if (next > i) {
				i = next;
				continue;
			}
		}
		err = plan_rule(&s, &ch->rules[i], i);
		if (err)
			break;
		i++;
	}
	if (err > 0)
		err = 0;
	/* lookups past where the program stops are not made */
	while (plan->cut >= 0 && plan->nlookups &&
	       plan->lookups[plan->nlookups - 1].from >= (uint32_t)plan->cut) {
		k = --plan->nlookups;
		plan->lookup_rules -= plan->lookups[k].to -
				      plan->lookups[k].from;
		plan->lookup_elems -= plan->lookups[k].nelems;
		plan->lookup_lpm -= plan->lookups[k].lpm;
		cg_lookup_free(&plan->lookups[k]);
	}
	plan->first[plan->nseg] = ch->nrules;
out:
	if (c.calls)
		for (k = 0; k < nch; k++)
			free(c.calls[k].v);
	free(c.calls);
	free(c.chain_cost);
	free(c.chain_label);
	plan_ctx_free(&x);
	if (err)
		cg_plan_free(plan);
	return err;
}

void cg_plan_free(struct cg_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nforests; i++)
		cg_forest_free(&plan->forests[i]);
	free(plan->forests);
	plan->forests = NULL;
	plan->nforests = 0;
	for (i = 0; i < plan->nlookups; i++)
		cg_lookup_free(&plan->lookups[i]);
	free(plan->lookups);
	plan->lookups = NULL;
	plan->nlookups = 0;
	for (i = 0; i < plan->ncforests; i++)
		cg_forest_free(&plan->cforests[i]);
	free(plan->cforests);
	free(plan->forests_chain);
	plan->cforests = NULL;
	plan->forests_chain = NULL;
	plan->ncforests = 0;
	for (i = 0; plan->cpc && i < plan->ncpc; i++) {
		if (plan->cpc[i]) {
			pred_chain_free(plan->cpc[i]);
			free(plan->cpc[i]);
		}
	}
	free(plan->cpc);
	plan->cpc = NULL;
	if (plan->pc) {
		pred_chain_free(plan->pc);
		free(plan->pc);
		plan->pc = NULL;
	}
}
