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
	for (i = 0; i < ch->nrules; i++)
		cost += rule_cost(c, &ch->rules[i], direct);
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

int cg_plan(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_opts *opts, struct cg_plan *plan)
{
	const struct imr_chain *ch = &p->chains[0];
	size_t i, k, n, nfn, nch = p->nchains ? p->nchains : 1,
	       end = ch->first_unsupported < 0 ? ch->nrules :
			(size_t)ch->first_unsupported;
	struct plan_ctx x = { .nfuncs = 1 };
	unsigned int used = 0, cost;
	struct cg c;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->cut = -1;
	err = cg_init(&c, p, cg_target_get(target), opts, &no_maps, NULL);
	if (err)
		return err;
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
	plan->nseg = 1;
	for (i = 0; i < end; i++) {
		const struct imr_rule *r = &ch->rules[i];

		memset(x.direct, 0, nch * sizeof(*x.direct));
		cost = rule_cost(&c, r, x.direct);
		if (c.plan_err) {
			err = c.plan_err;
			goto out;
		}
		nfn = rule_reach(&c, &x);
		/* the functions the current segment does not have yet */
		for (k = 0, n = nfn; k < nfn; k++)
			if (x.seg_of[x.fn[k]] == plan->nseg)
				n--;
		if (used + cost <= CG_SEG_BUDGET &&
		    x.nfuncs + n <= CG_MAX_FUNCS) {
			used += cost;
		} else {
			if (cost > CG_SEG_BUDGET) {
				/* the chains it jumps to cannot be split */
				plan_cut(plan, i, "too large for one BPF program (%u branches, %d at most)",
					 cost, CG_SEG_BUDGET);
				break;
			}
			if (1 + nfn > CG_MAX_FUNCS) {
				plan_cut(plan, i, "reaches %zu chains: one BPF program holds %d functions at most, one per chain",
					 nfn, CG_MAX_FUNCS);
				break;
			}
			if (plan->nseg == CG_MAX_SEGS) {
				plan_cut(plan, i, "program size: beyond %d segments of %d branches or %d functions",
					 CG_MAX_SEGS, CG_SEG_BUDGET,
					 CG_MAX_FUNCS);
				break;
			}
			plan->first[plan->nseg++] = i;
			used = cost;
			x.nfuncs = 1;
			n = nfn;
		}
		for (k = 0; k < nfn; k++)
			x.seg_of[x.fn[k]] = plan->nseg;
		x.nfuncs += n;
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
	return err;
}
