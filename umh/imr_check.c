// SPDX-License-Identifier: GPL-2.0
/*
 * The IMR's invariants, checked between the passes of the pipeline
 * (docs/imr.md, "The pipeline"): a pass that breaks one is a bug, found
 * where it happens instead of as wrong code later.  Linear in the size of
 * the program.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "imr.h"

int imr_ids_save(const struct imr_prog *p, struct imr_ids *ids)
{
	size_t i, j, n = p->nrule_ids ? p->nrule_ids : 1;

	ids->n = p->nrule_ids;
	ids->chain = calloc(n, sizeof(*ids->chain));
	ids->handle = calloc(n, sizeof(*ids->handle));
	if (!ids->chain || !ids->handle) {
		imr_ids_free(ids);
		return -ENOMEM;
	}
	for (i = 0; i < p->nchains; i++) {
		for (j = 0; j < p->chains[i].nrules; j++) {
			const struct imr_rule *r = &p->chains[i].rules[j];

			if (r->id < ids->n) {
				ids->chain[r->id] = (int)i;
				ids->handle[r->id] = r->handle;
			}
		}
	}
	return 0;
}

void imr_ids_free(struct imr_ids *ids)
{
	free(ids->chain);
	free(ids->handle);
	memset(ids, 0, sizeof(*ids));
}

/* ---- references to values: a small pointer -> count table ------------- */

struct refs {
	const struct imr_expr **key;
	unsigned int *n;
	size_t cap, used;
};

static size_t hash_ptr(const void *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

static int refs_grow(struct refs *t)
{
	struct refs n = { .cap = t->cap ? t->cap * 2 : 256 };
	size_t i, h;

	n.key = calloc(n.cap, sizeof(*n.key));
	n.n = calloc(n.cap, sizeof(*n.n));
	if (!n.key || !n.n) {
		free(n.key);
		free(n.n);
		return -ENOMEM;
	}
	for (i = 0; i < t->cap; i++) {
		if (!t->key[i])
			continue;
		for (h = hash_ptr(t->key[i], n.cap); n.key[h];
		     h = (h + 1) & (n.cap - 1))
			;
		n.key[h] = t->key[i];
		n.n[h] = t->n[i];
	}
	n.used = t->used;
	free(t->key);
	free(t->n);
	*t = n;
	return 0;
}

/* one more reference to e; *first: e was not seen before */
static int refs_add(struct refs *t, const struct imr_expr *e, bool *first)
{
	size_t h;
	int err;

	if (2 * (t->used + 1) > t->cap) {
		err = refs_grow(t);
		if (err)
			return err;
	}
	for (h = hash_ptr(e, t->cap); t->key[h] && t->key[h] != e;
	     h = (h + 1) & (t->cap - 1))
		;
	*first = !t->key[h];
	if (*first) {
		t->key[h] = e;
		t->used++;
	}
	t->n[h]++;
	return 0;
}

/* ---- the checks ---------------------------------------------------------- */

struct check {
	const struct imr_prog *p;
	char *why;
	size_t whylen;
	struct refs refs;
	bool *reached;		/* per chain: the program runs it */
	unsigned int *svc_stmts;	/* per service: statements naming it */
	/* where the checks are: for the message */
	int chain;
	const struct imr_rule *rule;
};

static int bad(struct check *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct check *k, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (k->rule)
		n = snprintf(k->why, k->whylen, "chain %s rule id %u handle %llu: ",
			     k->p->chains[k->chain].name, k->rule->id,
			     (unsigned long long)k->rule->handle);
	if (n < 0 || (size_t)n >= k->whylen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(k->why + n, k->whylen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int check_expr(struct check *k, const struct imr_expr *e, bool run)
{
	const struct imr_prog *p = k->p;
	unsigned int i, sum = 0;
	bool first;
	int err;

	err = refs_add(&k->refs, e, &first);
	if (err || !first)
		return err;
	if (!e->len || e->len % 4 || e->len > IMR_VAL_MAX)
		return bad(k, "a value of %u bytes", e->len);
	if ((e->type == IMR_E_MASKXOR || e->type == IMR_E_SHIFT ||
	     e->type == IMR_E_BSWAP) != !!e->child)
		return bad(k, "%s operand", e->child ? "an unexpected" :
			   "a missing");
	if ((e->type == IMR_E_CONCAT) != !!e->ncomp)
		return bad(k, "a concatenation of %u components", e->ncomp);
	if (e->type == IMR_E_PAYLOAD && e->payload.base == IMR_BASE_LL &&
	    !(p->caps & IMR_CAP_LL))
		return bad(k, "link-layer payload without IMR_CAP_LL");
	if (e->type == IMR_E_SVC) {
		if (e->svc.index >= p->nsvcs) {
			/* pruned: only where the program does not run */
			if (run)
				return bad(k, "value of service %u, of %zu",
					   e->svc.index, p->nsvcs);
		} else if (p->svcs[e->svc.index].rule_id != k->rule->id ||
			   p->svcs[e->svc.index].out_word != e->svc.word) {
			return bad(k, "value of service %u: not this rule's output",
				   e->svc.index);
		}
	}
	for (i = 0; i < e->ncomp; i++) {
		sum += e->comp[i]->len;
		err = check_expr(k, e->comp[i], run);
		if (err)
			return err;
	}
	if (e->ncomp && sum != e->len)
		return bad(k, "a concatenation of %u bytes in %u", sum, e->len);
	return e->child ? check_expr(k, e->child, run) : 0;
}

static int check_svc_stmt(struct check *k, const struct imr_stmt *s,
			  bool run)
{
	const struct imr_prog *p = k->p;
	const struct imr_svc *v;

	if (!(p->caps & IMR_CAP_SERVICES))
		return bad(k, "a service without IMR_CAP_SERVICES");
	if (s->svc >= p->nsvcs) {
		if (run)
			return bad(k, "service %u, of %zu", s->svc, p->nsvcs);
		return 0;		/* pruned */
	}
	v = &p->svcs[s->svc];
	k->svc_stmts[s->svc]++;
	if (v->rule_id != k->rule->id || v->chain != k->chain ||
	    v->handle != k->rule->handle)
		return bad(k, "service %u belongs to rule id %u", s->svc,
			   v->rule_id);
	if ((v->kind == IMR_SVC_LOOKUP || v->kind == IMR_SVC_MAP ||
	     v->kind == IMR_SVC_VMAP) &&
	    (!s->expr || v->key_word < 4 || v->key_word >= IMR_REG_WORDS))
		return bad(k, "service %u: a lookup without its key", s->svc);
	return 0;
}

static int check_stmt(struct check *k, const struct imr_stmt *s, bool run)
{
	const struct imr_prog *p = k->p;
	int err = 0;

	switch (s->type) {
	case IMR_S_CMP:
	case IMR_S_RANGE:
		if (!s->expr || !s->len || s->len > 16 ||
		    s->len > s->expr->len)
			return bad(k, "a relation over %u bytes", s->len);
		break;
	case IMR_S_LOOKUP:
	case IMR_S_VMAP:
		if (!(p->caps & IMR_CAP_SETS) || (p->caps & IMR_CAP_SERVICES))
			return bad(k, "a set lookup without IMR_CAP_SETS");
		if (!s->expr || s->set < 0 || (size_t)s->set >= p->nsets)
			return bad(k, "lookup in set %d, of %zu", s->set,
				   p->nsets);
		if (s->type == IMR_S_VMAP && !p->sets[s->set].elem_action)
			return bad(k, "verdict map @%s without actions",
				   p->sets[s->set].nset->name);
		break;
	case IMR_S_COUNTER:
		if (!(p->caps & IMR_CAP_COUNTERS) ||
		    (p->caps & IMR_CAP_SERVICES))
			return bad(k, "a counter without IMR_CAP_COUNTERS");
		if (s->counter_id != k->rule->id)
			return bad(k, "counter #%u in rule id %u",
				   s->counter_id, k->rule->id);
		break;
	case IMR_S_VERDICT:
		if (s->verdict > IMR_V_GOTO)
			return bad(k, "verdict %d", (int)s->verdict);
		if ((s->verdict == IMR_V_JUMP || s->verdict == IMR_V_GOTO) &&
		    (s->chain < 1 || (size_t)s->chain >= p->nchains))
			return bad(k, "jump to chain %d, of %zu", s->chain,
				   p->nchains);
		break;
	case IMR_S_SERVICE:
		err = check_svc_stmt(k, s, run);
		break;
	default:
		return bad(k, "statement type %d", (int)s->type);
	}
	if (!err && s->expr)
		err = check_expr(k, s->expr, run);
	return err;
}

/* rule ids: each once, indexed, and those of an earlier pass kept */
static int check_rule_ids(struct check *k, const struct imr_ids *ids,
			  bool *seen)
{
	const struct imr_prog *p = k->p;
	const struct imr_rule *r = k->rule;

	if (r->id >= p->nrule_ids || seen[r->id])
		return bad(k, "rule id %u twice or beyond %u", r->id,
			   p->nrule_ids);
	seen[r->id] = true;
	if (!p->rule_by_id || p->rule_by_id[r->id] != r ||
	    p->chain_of_id[r->id] != k->chain)
		return bad(k, "not indexed by its id");
	if (ids && (r->id >= ids->n || ids->chain[r->id] != k->chain ||
		    ids->handle[r->id] != r->handle))
		return bad(k, "the id was another rule's before this pass");
	return 0;
}

/*
 * Rules the optimizer removed keep their id (counters, reports): each a
 * ghost, indexed like a rule, with the chain and handle the id had.
 */
static int check_ghosts(struct check *k, const struct imr_ids *ids,
			bool *seen)
{
	const struct imr_prog *p = k->p;
	size_t i;

	k->rule = NULL;
	for (i = 0; i < p->nghosts; i++) {
		const struct imr_rule *g = p->ghosts[i];
		int c;

		if (!g->removed || g->id >= p->nrule_ids || seen[g->id] ||
		    p->rule_by_id[g->id] != g)
			return bad(k, "removed rule id %u: not a ghost, seen or not indexed",
				   g->id);
		seen[g->id] = true;
		c = p->chain_of_id[g->id];
		if (c < 0 || (size_t)c >= p->nchains ||
		    g->pos >= p->chains[c].npos)
			return bad(k, "removed rule id %u: chain %d, position %u",
				   g->id, c, g->pos);
		if (ids && (g->id >= ids->n || ids->chain[g->id] != c ||
			    ids->handle[g->id] != g->handle))
			return bad(k, "removed rule id %u was another rule's",
				   g->id);
	}
	return 0;
}

static int check_chains(struct check *k, const struct imr_ids *ids)
{
	const struct imr_prog *p = k->p;
	size_t i, j, m, nrules = 0;
	bool *seen;
	int err = 0, first;

	seen = calloc(p->nrule_ids ? p->nrule_ids : 1, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	for (i = 0; i < p->nchains && !err; i++) {
		const struct imr_chain *ch = &p->chains[i];

		k->chain = (int)i;
		k->rule = NULL;
		if (ch->base != (i == 0)) {
			err = bad(k, "chain %s: base %d at index %zu", ch->name,
				  ch->base, i);
			break;
		}
		if (ch->depth > IMR_MAX_CALL_DEPTH) {
			err = bad(k, "chain %s: jump depth %u", ch->name,
				  ch->depth);
			break;
		}
		for (first = -1, j = 0; j < ch->nrules && !err; j++) {
			const struct imr_rule *r = &ch->rules[j];

			k->rule = r;
			if (r->unsupported && first < 0)
				first = (int)j;
			if (r->removed || r->pos >= ch->npos ||
			    (j && r->pos <= ch->rules[j - 1].pos)) {
				err = bad(k, "kernel position %u of %u out of order",
					  r->pos, ch->npos);
				break;
			}
			err = check_rule_ids(k, ids, seen);
			for (m = 0; m < r->nstmts && !err; m++)
				err = check_stmt(k, &r->stmts[m],
						 imr_rule_runs(p, k->reached,
							       (int)i, j));
		}
		nrules += ch->nrules;
		k->rule = NULL;
		if (!err && ch->first_unsupported != first)
			err = bad(k, "chain %s: first_unsupported %d, rule %d is the first",
				  ch->name, ch->first_unsupported, first);
		for (j = 0; j < ch->nruns && !err; j++) {
			const struct imr_run *ru = &ch->runs[j];

			if (ru->from >= ru->to || ru->to > ch->nrules ||
			    (j && ru->from < ch->runs[j - 1].to)) {
				err = bad(k, "chain %s: tree run [%u, %u) out of order or bounds",
					  ch->name, ru->from, ru->to);
				break;
			}
			for (m = ru->from; m < ru->to && !err; m++)
				if (!imr_tree_rule_ok(&ch->rules[m]))
					err = bad(k, "chain %s: rule %zu in tree run [%u, %u) is not a plain accept or drop rule",
						  ch->name, m, ru->from,
						  ru->to);
		}
		for (j = 0; j < ch->nlookups && !err; j++) {
			const struct imr_run *ru = &ch->lookups[j];

			if (ru->from >= ru->to || ru->to > ch->nrules ||
			    (j && ru->from < ch->lookups[j - 1].to)) {
				err = bad(k, "chain %s: lookup run [%u, %u) out of order or bounds",
					  ch->name, ru->from, ru->to);
				break;
			}
			for (m = ru->from; m < ru->to && !err; m++)
				if (!imr_tree_rule_ok(&ch->rules[m]))
					err = bad(k, "chain %s: rule %zu in lookup run [%u, %u) is not a plain accept or drop rule",
						  ch->name, m, ru->from,
						  ru->to);
		}
	}
	err = err ?: check_ghosts(k, ids, seen);
	nrules += p->nghosts;
	if (!err && nrules != p->nrule_ids)
		err = bad(k, "%zu rules and ghosts, %u ids", nrules,
			  p->nrule_ids);
	if (!err && ids && ids->n != p->nrule_ids)
		err = bad(k, "%u rule ids, %zu before this pass",
			  p->nrule_ids, ids->n);
	free(seen);
	return err;
}

/* every value's reference count is the statements and values naming it */
static int check_refs(struct check *k)
{
	size_t i;

	k->rule = NULL;
	for (i = 0; i < k->refs.cap; i++) {
		const struct imr_expr *e = k->refs.key[i];
		char buf[128];

		if (!e || e->refs == k->refs.n[i])
			continue;
		imr_expr_print(e, buf, sizeof(buf));
		return bad(k, "value %s: %u references, counted %u", buf,
			   e->refs, k->refs.n[i]);
	}
	return 0;
}

static bool svc_of_ghost(const struct imr_prog *p, const struct imr_svc *s)
{
	return s->rule_id < p->nrule_ids && p->rule_by_id &&
	       p->rule_by_id[s->rule_id] && p->rule_by_id[s->rule_id]->removed;
}

int imr_check(const struct imr_prog *p, const struct imr_ids *ids,
	      char *why, size_t whylen)
{
	struct check k = { .p = p, .why = why, .whylen = whylen };
	size_t i;
	int err;

	why[0] = '\0';
	if (!p->nchains)
		return bad(&k, "no chains");
	k.reached = calloc(p->nchains, sizeof(*k.reached));
	k.svc_stmts = calloc(p->nsvcs ? p->nsvcs : 1, sizeof(*k.svc_stmts));
	if (!k.reached || !k.svc_stmts) {
		err = -ENOMEM;
		goto out;
	}
	imr_reached(p, k.reached);
	err = check_chains(&k, ids);
	if (!err)
		err = check_refs(&k);
	/*
	 * each service is named by one statement: its own; a rule the
	 * optimizer removed names none any more (prune drops its services)
	 */
	for (i = 0; !err && i < p->nsvcs; i++)
		if (k.svc_stmts[i] != 1 &&
		    !(k.svc_stmts[i] == 0 && svc_of_ghost(p, &p->svcs[i])))
			err = bad(&k, "service %zu: %u statements", i,
				  k.svc_stmts[i]);
out:
	free(k.refs.key);
	free(k.refs.n);
	free(k.reached);
	free(k.svc_stmts);
	return err;
}
