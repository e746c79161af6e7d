// SPDX-License-Identifier: GPL-2.0
/*
 * Decision trees over a run of rules (tree.h).
 *
 * Top down: a node takes the rules of its parent that meet its cell; if
 * they are few, or no cut separates them, it is a leaf; otherwise it
 * cuts the field and value that leave the fewest rules on the fuller
 * side, counting a rule that lands on both sides twice (HiCuts' "space
 * measure", here on binary cuts at the rules' own interval ends).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

#define TREE_TRIES	16	/* split values tried per field and node */

void tree_opts_default(struct tree_opts *o)
{
	o->leaf_rules = 4;
	o->max_depth = 24;
	o->max_copies = 300;
}

bool tree_field_ok(const struct pred_field *f)
{
	return f->width <= 4;
}

struct cell {
	uint64_t *lo, *hi;	/* per field */
};

struct builder {
	const struct pred_chain *pc;
	const struct tree_opts *o;
	struct tree *t;
	bool *ok;		/* per field: tree_field_ok */
	uint64_t *max;		/* per field: largest value */
	uint64_t *top;		/* per field: max, or absent for a field
				 * that can fail */
	uint64_t budget;	/* leaf candidates left */
	uint64_t *splits;	/* scratch */
	size_t nsplits_cap;
	int err;
};

static const struct pred_term *term_of(const struct pred_rule *r, uint32_t f)
{
	return pred_rule_term(r, f);
}

/* some interval of t meets [lo, hi] */
static bool term_meets(const struct pred_term *t, uint64_t lo, uint64_t hi)
{
	uint32_t i;

	for (i = 0; i < t->nivs; i++)
		if (t->ivs[i].lo <= hi && t->ivs[i].hi >= lo)
			return true;
	return false;
}

/* one interval of t holds [lo, hi] */
static bool term_holds(const struct pred_term *t, uint64_t lo, uint64_t hi)
{
	uint32_t i;

	for (i = 0; i < t->nivs; i++)
		if (t->ivs[i].lo <= lo && t->ivs[i].hi >= hi)
			return true;
	return false;
}

static bool rule_meets(const struct builder *b, const struct pred_rule *r,
		       const struct cell *c)
{
	uint32_t i, f;

	if (r->empty)
		return false;
	/* a side effect before its tests runs wherever the rule is reached */
	if (!r->guarded)
		return true;
	for (i = 0; i < r->nterms; i++) {
		f = r->terms[i].field;
		if (b->ok[f] && !term_meets(&r->terms[i], c->lo[f], c->hi[f]))
			return false;
	}
	return true;
}

static bool rule_covers(const struct builder *b, const struct pred_rule *r,
			const struct cell *c)
{
	const struct pred_field *fd;
	uint32_t i, f;

	if (!r->exact || !r->terminal || r->empty)
		return false;
	for (i = 0; i < r->nterms; i++) {
		f = r->terms[i].field;
		fd = &b->pc->fields[f];
		if (b->ok[f]) {
			if (c->hi[f] > b->max[f] ||
			    !term_holds(&r->terms[i], c->lo[f], c->hi[f]))
				return false;
		} else if (fd->dom.kind != PRED_DOM_NEVER ||
			   !pred_ivs_full(r->terms[i].ivs, r->terms[i].nivs,
					  pred_field_max(fd))) {
			return false;
		}
	}
	return true;
}

static uint32_t node_new(struct builder *b)
{
	struct tree *t = b->t;
	struct tree_node *n;

	if (t->nnodes == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		n = realloc(t->nodes, t->cap * sizeof(*n));
		if (!n) {
			b->err = -ENOMEM;
			return UINT32_MAX;
		}
		t->nodes = n;
	}
	memset(&t->nodes[t->nnodes], 0, sizeof(*n));
	return t->nnodes++;
}

static int cand_push(struct builder *b, uint32_t rule)
{
	struct tree *t = b->t;
	uint32_t *n;

	if (t->ncand == t->ccap) {
		t->ccap = t->ccap ? 2 * t->ccap : 256;
		n = realloc(t->cand, t->ccap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->cand = n;
	}
	t->cand[t->ncand++] = rule;
	return 0;
}

static uint32_t make_leaf(struct builder *b, const uint32_t *cands,
			  uint32_t n, const struct cell *c, uint16_t depth)
{
	struct tree *t = b->t;
	uint32_t id = node_new(b), i;
	struct tree_node *nd;

	if (id == UINT32_MAX)
		return id;
	nd = &t->nodes[id];
	nd->field = TREE_LEAF;
	nd->first = t->ncand;
	nd->depth = depth;
	for (i = 0; i < n; i++) {
		if (cand_push(b, cands[i])) {
			b->err = -ENOMEM;
			return UINT32_MAX;
		}
		if (rule_covers(b, &b->pc->rules[cands[i]], c))
			break;
	}
	nd = &t->nodes[id];
	nd->n = t->ncand - nd->first;
	b->budget = b->budget > nd->n ? b->budget - nd->n : 0;
	t->leaves++;
	if (depth > t->depth)
		t->depth = depth;
	if (nd->n > t->max_leaf)
		t->max_leaf = nd->n;
	return id;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* the candidates' terms on field f (NULL: any value, or unguarded) */
static void terms_of(const struct builder *b, const uint32_t *cands,
		     uint32_t n, uint32_t f, const struct pred_term **tp)
{
	const struct pred_rule *r;
	uint32_t i;

	for (i = 0; i < n; i++) {
		r = &b->pc->rules[cands[i]];
		tp[i] = r->guarded ? term_of(r, f) : NULL;
	}
}

/* rules meeting the left ([lo, s]) and right ([s+1, hi]) side of field f */
static void count_sides(const struct pred_term *const *tp, uint32_t n,
			uint32_t f, const struct cell *c, uint64_t s,
			uint32_t *nl, uint32_t *nr)
{
	uint32_t i;

	*nl = *nr = 0;
	for (i = 0; i < n; i++) {
		if (!tp[i]) {
			(*nl)++;
			(*nr)++;
			continue;
		}
		*nl += term_meets(tp[i], c->lo[f], s);
		*nr += term_meets(tp[i], s + 1, c->hi[f]);
	}
}

/* the split values of field f worth trying: the cands' interval ends */
static size_t gather_splits(struct builder *b, const struct pred_term **tp,
			    uint32_t n, uint32_t f, const struct cell *c)
{
	uint64_t lo = c->lo[f], hi = c->hi[f], *s;
	const struct pred_term *t;
	size_t k = 0, need;
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		t = tp[i];
		need = k + 2 * (t ? t->nivs : 0) + 1;
		if (need > b->nsplits_cap) {
			b->nsplits_cap = 2 * need;
			s = realloc(b->splits, b->nsplits_cap * sizeof(*s));
			if (!s) {
				b->err = -ENOMEM;
				return 0;
			}
			b->splits = s;
		}
		if (!t)
			continue;
		for (j = 0; j < t->nivs; j++) {
			if (t->ivs[j].lo > lo && t->ivs[j].lo <= hi)
				b->splits[k++] = (uint64_t)t->ivs[j].lo - 1;
			if (t->ivs[j].hi >= lo && t->ivs[j].hi < hi)
				b->splits[k++] = (uint64_t)t->ivs[j].hi;
		}
	}
	if (!k)
		return 0;
	qsort(b->splits, k, sizeof(*b->splits), cmp_u64);
	for (i = 1, j = 1; i < k; i++)
		if (b->splits[i] != b->splits[j - 1])
			b->splits[j++] = b->splits[i];
	return j;
}

static uint32_t build_node(struct builder *b, const uint32_t *cands,
			   uint32_t n, struct cell *c, uint16_t depth)
{
	uint32_t best_f = UINT32_MAX, nl, nr, *sub, ns, i, id, f;
	uint64_t best_s = 0, best_score = UINT64_MAX, score, s, save;
	const struct pred_term **tp;
	const struct pred_rule *r;
	size_t k, step, j;

	/* the candidates that meet the cell, up to the first covering one */
	sub = malloc((n ? n : 1) * sizeof(*sub));
	tp = malloc((n ? n : 1) * sizeof(*tp));
	if (!sub || !tp) {
		free(sub);
		free(tp);
		b->err = -ENOMEM;
		return UINT32_MAX;
	}
	for (i = 0, ns = 0; i < n; i++) {
		r = &b->pc->rules[cands[i]];
		if (!rule_meets(b, r, c))
			continue;
		sub[ns++] = cands[i];
		if (rule_covers(b, r, c))
			break;
	}
	if (ns <= b->o->leaf_rules || depth >= b->o->max_depth ||
	    b->budget < ns)
		goto leaf;

	for (f = 0; f < b->pc->nfields && !b->err; f++) {
		if (!b->ok[f])
			continue;
		terms_of(b, sub, ns, f, tp);
		k = gather_splits(b, tp, ns, f, c);
		step = k > TREE_TRIES ? k / TREE_TRIES : 1;
		for (j = step / 2; j < k; j += step) {
			s = b->splits[j];
			count_sides(tp, ns, f, c, s, &nl, &nr);
			if (nl == ns && nr == ns)
				continue;
			score = 2ull * (nl > nr ? nl : nr) + (nl + nr - ns);
			if (score < best_score) {
				best_score = score;
				best_f = f;
				best_s = s;
			}
		}
	}
	if (b->err || best_f == UINT32_MAX)
		goto leaf;

	id = node_new(b);
	if (id == UINT32_MAX)
		goto out;
	b->t->nodes[id].field = best_f;
	b->t->nodes[id].split = best_s;
	b->t->nodes[id].depth = depth;
	save = c->hi[best_f];
	c->hi[best_f] = best_s;
	i = build_node(b, sub, ns, c, depth + 1);
	c->hi[best_f] = save;
	if (i == UINT32_MAX)
		goto fail;
	b->t->nodes[id].left = i;
	save = c->lo[best_f];
	c->lo[best_f] = best_s + 1;
	i = build_node(b, sub, ns, c, depth + 1);
	c->lo[best_f] = save;
	if (i == UINT32_MAX)
		goto fail;
	b->t->nodes[id].right = i;
	goto out;
leaf:
	id = make_leaf(b, sub, ns, c, depth);
out:
	free(sub);
	free(tp);
	return id;
fail:
	free(sub);
	free(tp);
	return UINT32_MAX;
}

int tree_build(const struct pred_chain *pc, const uint32_t *rules,
	       uint32_t n, const struct tree_opts *o, struct tree *t)
{
	struct builder b = { .pc = pc, .o = o, .t = t };
	uint32_t nf = pc->nfields ? pc->nfields : 1, f;
	struct cell c = {};
	int err = -ENOMEM;

	memset(t, 0, sizeof(*t));
	t->rules = malloc((n ? n : 1) * sizeof(*t->rules));
	b.ok = calloc(nf, sizeof(*b.ok));
	b.max = calloc(nf, sizeof(*b.max));
	b.top = calloc(nf, sizeof(*b.top));
	c.lo = calloc(nf, sizeof(*c.lo));
	c.hi = calloc(nf, sizeof(*c.hi));
	if (!t->rules || !b.ok || !b.max || !b.top || !c.lo || !c.hi)
		goto out;
	memcpy(t->rules, rules, n * sizeof(*rules));
	t->nrules = n;
	for (f = 0; f < pc->nfields; f++) {
		b.ok[f] = tree_field_ok(&pc->fields[f]);
		if (!b.ok[f])
			continue;
		b.max[f] = (uint64_t)pred_field_max(&pc->fields[f]);
		b.top[f] = pc->fields[f].dom.kind == PRED_DOM_NEVER ?
			   b.max[f] : TREE_ABSENT(b.max[f]);
		c.hi[f] = b.top[f];
	}
	b.budget = (uint64_t)o->max_copies * n / 100 + 1;
	build_node(&b, t->rules, n, &c, 0);
	err = b.err;
out:
	free(b.ok);
	free(b.max);
	free(b.top);
	free(b.splits);
	free(c.lo);
	free(c.hi);
	if (err)
		tree_free(t);
	return err;
}

void tree_free(struct tree *t)
{
	free(t->rules);
	free(t->nodes);
	free(t->cand);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------- forests */

/* rule r spans more than 2^(bits/2) values of tree field f */
static bool rule_wide(const struct pred_chain *pc, const struct pred_rule *r,
		      uint32_t f)
{
	const struct pred_term *t = r->guarded ? pred_rule_term(r, f) : NULL;
	unsigned int bits = 8u * pc->fields[f].width;
	pred_val size = 0;
	uint32_t i;

	if (!t)
		return true;
	for (i = 0; i < t->nivs; i++)
		size += t->ivs[i].hi - t->ivs[i].lo + 1;
	return size > (pred_val)1 << (bits / 2);
}

/* the TREE_KEYS tree fields of at least 8 bits most rules are narrow in */
static void pick_keys(const struct pred_chain *pc, size_t from, size_t to,
		      uint32_t *keys, uint32_t *narrow)
{
	uint32_t f, k, j;
	size_t i;

	for (k = 0; k < TREE_KEYS; k++)
		keys[k] = UINT32_MAX;
	for (f = 0; f < pc->nfields; f++) {
		narrow[f] = 0;
		if (!tree_field_ok(&pc->fields[f]) || pc->fields[f].width < 2)
			continue;
		for (i = from; i < to; i++)
			narrow[f] += !rule_wide(pc, &pc->rules[i], f);
		if (!narrow[f])
			continue;
		for (k = 0; k < TREE_KEYS; k++) {
			if (keys[k] != UINT32_MAX && narrow[keys[k]] >= narrow[f])
				continue;
			for (j = TREE_KEYS - 1; j > k; j--)
				keys[j] = keys[j - 1];
			keys[k] = f;
			break;
		}
	}
}

int forest_build(const struct pred_chain *pc, size_t from, size_t to,
		 const struct tree_opts *o, struct forest *fo)
{
	uint32_t ncls = 1u << TREE_KEYS, *narrow, *cls, *list, n, c, k;
	size_t i;
	int err = -ENOMEM;

	memset(fo, 0, sizeof(*fo));
	narrow = calloc(pc->nfields ? pc->nfields : 1, sizeof(*narrow));
	cls = calloc(to > from ? to - from : 1, sizeof(*cls));
	list = calloc(to > from ? to - from : 1, sizeof(*list));
	fo->trees = calloc(ncls, sizeof(*fo->trees));
	if (!narrow || !cls || !list || !fo->trees)
		goto out;
	pick_keys(pc, from, to, fo->keys, narrow);
	for (i = from; i < to; i++)
		for (k = 0; k < TREE_KEYS; k++)
			if (fo->keys[k] != UINT32_MAX &&
			    rule_wide(pc, &pc->rules[i], fo->keys[k]))
				cls[i - from] |= 1u << k;
	err = 0;
	for (c = 0; c < ncls && !err; c++) {
		for (i = from, n = 0; i < to; i++)
			if (cls[i - from] == c)
				list[n++] = (uint32_t)i;
		if (!n)
			continue;
		err = tree_build(pc, list, n, o, &fo->trees[fo->ntrees]);
		if (!err)
			fo->ntrees++;
	}
out:
	free(narrow);
	free(cls);
	free(list);
	if (err)
		forest_free(fo);
	return err;
}

void forest_free(struct forest *fo)
{
	uint32_t i;

	for (i = 0; i < fo->ntrees; i++)
		tree_free(&fo->trees[i]);
	free(fo->trees);
	memset(fo, 0, sizeof(*fo));
}
