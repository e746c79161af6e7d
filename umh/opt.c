// SPDX-License-Identifier: GPL-2.0
/*
 * The optimizer's passes (opt.h).  Each works on one chain at a time from
 * its canonical predicates (pred.h):
 *
 *   dead    a rule whose box is empty never matches: removed, unless a
 *           side effect (a counter) runs before the test that empties it.
 *   shadow  a rule whose every packet an earlier rule decides (that rule
 *           exact and ending the chain, this one's box inside its box)
 *           never matches: removed, unless a side effect runs before its
 *           last test.
 *   fuse    the tests of one field in a run of tests become one test:
 *           `th[2:2] >= 1024, th[2:2] <= 65535` is `th[2:2] >= 1024`;
 *           a test every value passes goes, where another test of the
 *           rule already loads what it loads.
 *   tree    maximal runs of at least OPT_TREE_MIN rules of a chain made
 *           of tests and accept or drop, without side effects, are marked
 *           (imr_chain.runs) for the code generator to compile as
 *           decision trees (cg/forest.c); the rules themselves stay.
 *   lookup  maximal runs of at least OPT_LOOKUP_MIN such rules that test
 *           the same fields for equality, one value each, or one field
 *           for one prefix, are marked (imr_chain.lookups) for the code
 *           generator to compile as one hash map or LPM trie lookup
 *           (cg/lookup.c); the rules stay.
 *
 * Removed rules keep their identity (rule_by_id, counters that stay 0).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opt.h"
#include "pred.h"

static const char *const pass_names[OPT_NPASSES] = {
	[OPT_DEAD]	= "dead",
	[OPT_SHADOW]	= "shadow",
	[OPT_FUSE]	= "fuse",
	[OPT_TREE]	= "tree",
	[OPT_LOOKUP]	= "lookup",
};

const char *opt_pass_name(enum opt_pass_id id)
{
	return id < OPT_NPASSES ? pass_names[id] : "?";
}

int opt_parse_passes(const char *list, unsigned int *mask, char *why,
		     size_t whylen)
{
	const char *p = list, *end;
	unsigned int i;
	size_t n;

	*mask = 0;
	while (*p) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n == 3 && !strncmp(p, "all", 3)) {
			*mask |= OPT_ALL;
		} else {
			for (i = 0; i < OPT_NPASSES; i++)
				if (strlen(pass_names[i]) == n &&
				    !strncmp(p, pass_names[i], n))
					break;
			if (i == OPT_NPASSES) {
				size_t w = (size_t)snprintf(why, whylen,
							    "unknown pass '%.*s' (passes:",
							    (int)n, p);

				for (i = 0; i < OPT_NPASSES && w < whylen; i++)
					w += (size_t)snprintf(why + w, whylen - w,
							      " %s,", pass_names[i]);
				if (w < whylen)
					snprintf(why + w, whylen - w, " all)");
				return -EINVAL;
			}
			*mask |= 1u << i;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int opt_note_print(const struct imr_prog *p, const struct opt_note *n,
		   char *buf, size_t size)
{
	const char *chain = n->chain < p->nchains ? p->chains[n->chain].name :
			    "?";

	if (n->pass == OPT_SHADOW)
		return snprintf(buf, size,
				"chain %s: rule handle %llu can never match: rule handle %llu catches all its packets",
				chain, (unsigned long long)n->handle,
				(unsigned long long)n->by);
	return snprintf(buf, size,
			"chain %s: rule handle %llu can never match: its tests contradict each other",
			chain, (unsigned long long)n->handle);
}

void opt_report_free(struct opt_report *rep)
{
	free(rep->notes);
	memset(rep, 0, sizeof(*rep));
}

/* ------------------------------------------------------------- helpers */

struct opt_ctx {
	struct imr_prog *p;
	struct opt_report *rep;
	enum opt_pass_id pass;
};

/* the rules a program runs: before the first left to the interpreter */
static size_t compiled_end(const struct imr_chain *ch)
{
	return ch->first_unsupported < 0 ? ch->nrules :
	       (size_t)ch->first_unsupported;
}

static int note_add(struct opt_ctx *c, size_t chain, uint64_t handle,
		    uint64_t by)
{
	struct opt_report *rep = c->rep;
	struct opt_note *n;

	n = realloc(rep->notes, (rep->nnotes + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	rep->notes = n;
	n = &n[rep->nnotes++];
	n->pass = c->pass;
	n->chain = chain;
	n->handle = handle;
	n->by = by;
	return 0;
}

/*
 * Remove the rules marked in rm from chain ci, and their analysis from
 * pc.  A removed rule keeps its id: rule_by_id then points to a copy
 * without statements, so that reports of counters and deciding rules
 * still name it.
 */
static int chain_remove(struct opt_ctx *c, size_t ci, struct pred_chain *pc,
			const bool *rm)
{
	struct imr_prog *p = c->p;
	struct imr_chain *ch = &p->chains[ci];
	struct imr_rule **g, *ghost;
	size_t i, j, n = 0, nrm = 0, k = 0;
	int fu = -1;

	for (i = 0; i < ch->nrules; i++)
		nrm += rm[i];
	if (!nrm)
		return 0;
	g = realloc(p->ghosts, (p->nghosts + nrm) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	p->ghosts = g;
	/* all allocations first: nothing moves unless everything can */
	for (k = 0; k < nrm; k++) {
		g[p->nghosts + k] = calloc(1, sizeof(**g));
		if (!g[p->nghosts + k]) {
			while (k--)
				free(g[p->nghosts + k]);
			return -ENOMEM;
		}
	}
	for (i = 0; i < ch->nrules; i++) {
		struct imr_rule *r = &ch->rules[i];

		if ((int)i == ch->first_unsupported)
			fu = (int)n;
		if (!rm[i]) {
			pc->rules[n] = pc->rules[i];
			ch->rules[n++] = *r;
			continue;
		}
		ghost = p->ghosts[p->nghosts++];
		ghost->handle = r->handle;
		ghost->id = r->id;
		ghost->pos = r->pos;
		ghost->has_counter = r->has_counter;
		ghost->removed = true;
		for (j = 0; j < r->nstmts; j++)
			imr_expr_put(r->stmts[j].expr);
		free(r->stmts);
		pred_rule_release(&pc->rules[i]);
		p->rule_by_id[ghost->id] = ghost;
		c->rep->pass[c->pass].rules_removed++;
	}
	ch->nrules = n;
	pc->nrules = n;
	ch->first_unsupported = fu;
	for (i = 0; i < n; i++)
		p->rule_by_id[ch->rules[i].id] = &ch->rules[i];
	return 0;
}

/* --------------------------------------------------------------- dead */

static int pass_dead(struct opt_ctx *c, size_t ci, struct pred_chain *pc)
{
	const struct imr_chain *ch = &c->p->chains[ci];
	size_t i, end = compiled_end(ch);
	bool *rm;
	int err = 0;

	rm = calloc(ch->nrules ? ch->nrules : 1, sizeof(*rm));
	if (!rm)
		return -ENOMEM;
	for (i = 0; i < end && !err; i++) {
		const struct pred_rule *pr = &pc->rules[i];

		/* an effect before the contradiction still runs */
		if (!pr->empty || (pr->first_effect >= 0 &&
				   pr->first_effect < pr->empty_at))
			continue;
		rm[i] = true;
		err = note_add(c, ci, ch->rules[i].handle, 0);
	}
	if (!err)
		err = chain_remove(c, ci, pc, rm);
	free(rm);
	return err;
}

/* ------------------------------------------------------------- shadow */

/* a rule that decides every packet in its box: nothing else can */
static bool decides_box(const struct pred_rule *pr)
{
	return pr->exact && pr->terminal && !pr->empty;
}

/* one bit per field (mod 64): a quick test that b tests what a needs */
static uint64_t field_bits(const struct pred_chain *pc,
			   const struct pred_rule *pr, bool narrowed_only)
{
	uint64_t bits = 0;
	uint32_t i;

	for (i = 0; i < pr->nterms; i++) {
		const struct pred_term *t = &pr->terms[i];

		if (narrowed_only &&
		    pred_ivs_full(t->ivs, t->nivs,
				  pred_field_max(&pc->fields[t->field])))
			continue;
		bits |= 1ull << (t->field % 64);
	}
	return bits;
}

/*
 * The rules that decide their box, indexed so that a later rule finds
 * those whose box may hold its own without trying them all: by the
 * prefix (an aligned block of 2^k values) they allow on a key field, the
 * field most rules narrow; a rule whose box is inside such a rule's has
 * its values there inside that prefix, one of the at most 129 prefixes
 * around its own.  Rules with no such prefix are tried one by one.
 */
struct sh_slot {
	pred_val lo, hi;	/* the prefix; hi < lo: a free slot */
	uint32_t *idx;		/* rules, in order */
	uint32_t n, cap;
};

struct sh_index {
	uint32_t key;		/* the key field, UINT32_MAX: none */
	struct sh_slot *tab;
	size_t cap, used;	/* cap: a power of two */
	uint32_t *loose;	/* the others, in order */
	size_t nloose, loosecap;
};

static size_t sh_hash(pred_val lo, pred_val hi, size_t cap)
{
	uint64_t h = (uint64_t)lo ^ (uint64_t)(lo >> 64) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)hi ^ (uint64_t)(hi >> 64)) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)h & (cap - 1);
}

static struct sh_slot *sh_find(struct sh_index *x, pred_val lo, pred_val hi,
			       bool add)
{
	size_t i = sh_hash(lo, hi, x->cap);

	while (x->tab[i].hi >= x->tab[i].lo) {
		if (x->tab[i].lo == lo && x->tab[i].hi == hi)
			return &x->tab[i];
		i = (i + 1) & (x->cap - 1);
	}
	if (!add)
		return NULL;
	x->tab[i].lo = lo;
	x->tab[i].hi = hi;
	x->used++;
	return &x->tab[i];
}

static int sh_grow(struct sh_index *x)
{
	struct sh_slot *old = x->tab, *s;
	size_t oldcap = x->cap, i;

	x->cap = oldcap ? 2 * oldcap : 64;
	x->tab = calloc(x->cap, sizeof(*x->tab));
	if (!x->tab) {
		x->tab = old;
		x->cap = oldcap;
		return -ENOMEM;
	}
	for (i = 0; i < x->cap; i++)
		x->tab[i].hi = 0, x->tab[i].lo = 1;
	x->used = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].hi < old[i].lo)
			continue;
		s = sh_find(x, old[i].lo, old[i].hi, true);
		*s = old[i];
	}
	free(old);
	return 0;
}

static int push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
	uint32_t *nv;

	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		nv = realloc(*v, *cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/* t allows exactly one aligned block of 2^k values */
static bool term_prefix(const struct pred_term *t, pred_val max)
{
	pred_val size;

	if (!t || t->nivs != 1 || pred_ivs_full(t->ivs, 1, max))
		return false;
	size = t->ivs[0].hi - t->ivs[0].lo + 1;
	return size && !(size & (size - 1)) && !(t->ivs[0].lo & (size - 1));
}

static int sh_add(struct sh_index *x, const struct pred_chain *pc,
		  uint32_t i)
{
	const struct pred_term *t = x->key == UINT32_MAX ? NULL :
		pred_rule_term(&pc->rules[i], x->key);
	struct sh_slot *s;
	size_t n, cap;
	int err;

	if (!t || !term_prefix(t, pred_field_max(&pc->fields[x->key])))
		return push_u32(&x->loose, &x->nloose, &x->loosecap, i);
	if (2 * (x->used + 1) > x->cap) {
		err = sh_grow(x);
		if (err)
			return err;
	}
	s = sh_find(x, t->ivs[0].lo, t->ivs[0].hi, true);
	n = s->n;
	cap = s->cap;
	err = push_u32(&s->idx, &n, &cap, i);
	s->n = (uint32_t)n;
	s->cap = (uint32_t)cap;
	return err;
}

static void sh_free(struct sh_index *x)
{
	size_t i;

	for (i = 0; i < x->cap; i++)
		free(x->tab[i].idx);
	free(x->tab);
	free(x->loose);
}

/* the field most rules of [0, end) narrow to a single interval */
static uint32_t sh_key(const struct pred_chain *pc, size_t end)
{
	uint32_t *cnt, f, best = UINT32_MAX;
	size_t i, k;

	cnt = calloc(pc->nfields ? pc->nfields : 1, sizeof(*cnt));
	if (!cnt)
		return UINT32_MAX;
	for (i = 0; i < end; i++)
		for (k = 0; k < pc->rules[i].nterms; k++) {
			f = pc->rules[i].terms[k].field;
			cnt[f] += term_prefix(&pc->rules[i].terms[k],
					      pred_field_max(&pc->fields[f]));
		}
	for (f = 0; f < pc->nfields; f++)
		if (cnt[f] && (best == UINT32_MAX || cnt[f] > cnt[best]))
			best = f;
	free(cnt);
	return best;
}

struct sh_ctx {
	const struct pred_chain *pc;
	const uint64_t *need;
	uint64_t has;
	const struct pred_rule *pj;
	uint32_t best;		/* the earliest rule holding j's box */
};

static void sh_try(struct sh_ctx *q, const uint32_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n && idx[i] < q->best; i++) {
		if ((q->need[idx[i]] & ~q->has) ||
		    !pred_box_subset(q->pc, q->pj, &q->pc->rules[idx[i]]))
			continue;
		q->best = idx[i];
		return;
	}
}

/* the earliest indexed rule whose box holds rule j's, UINT32_MAX */
static uint32_t sh_query(const struct sh_index *x, struct sh_ctx *q)
{
	const struct pred_term *t;
	struct sh_slot *s;
	pred_val a, b, lo, hi;
	unsigned int w, m;

	q->best = UINT32_MAX;
	sh_try(q, x->loose, x->nloose);
	t = x->key == UINT32_MAX ? NULL : pred_rule_term(q->pj, x->key);
	if (!t || !t->nivs || !x->cap)
		return q->best;
	a = t->ivs[0].lo;
	b = t->ivs[t->nivs - 1].hi;
	w = 8u * q->pc->fields[x->key].width;
	/* the prefixes of m bits that hold [a, b] */
	for (m = 1; m <= w; m++) {
		if ((a >> (w - m)) != (b >> (w - m)))
			break;
		lo = (a >> (w - m)) << (w - m);
		hi = lo | (w - m ? (((pred_val)1 << (w - m)) - 1) : 0);
		s = sh_find((struct sh_index *)x, lo, hi, false);
		if (s)
			sh_try(q, s->idx, s->n);
	}
	return q->best;
}

static int pass_shadow(struct opt_ctx *c, size_t ci, struct pred_chain *pc)
{
	const struct imr_chain *ch = &c->p->chains[ci];
	size_t j, end = compiled_end(ch);
	struct sh_index x = {};
	struct sh_ctx q = { .pc = pc };
	uint64_t *need;
	uint32_t k;
	bool *rm;
	int err = 0;

	rm = calloc(ch->nrules ? ch->nrules : 1, sizeof(*rm));
	need = calloc(end ? end : 1, sizeof(*need));
	if (!rm || !need) {
		err = -ENOMEM;
		goto out;
	}
	x.key = sh_key(pc, end);
	q.need = need;
	for (j = 0; j < end && !err; j++) {
		const struct pred_rule *pj = &pc->rules[j];

		need[j] = field_bits(pc, pj, true);
		if (pj->guarded && !pj->empty) {
			q.pj = pj;
			q.has = field_bits(pc, pj, false);
			k = sh_query(&x, &q);
			if (k != UINT32_MAX) {
				rm[j] = true;
				err = note_add(c, ci, ch->rules[j].handle,
					       ch->rules[k].handle);
				continue;
			}
		}
		if (decides_box(pj))
			err = sh_add(&x, pc, (uint32_t)j);
	}
	if (!err)
		err = chain_remove(c, ci, pc, rm);
out:
	sh_free(&x);
	free(rm);
	free(need);
	return err;
}

/* --------------------------------------------------------------- fuse */

struct ftest {
	size_t stmt;		/* index in the rule */
	int kind;		/* 1 a field test, 0 another test */
	uint32_t field;
	struct pred_iv *ivs;
	uint32_t nivs;
	bool exact;
};

static void put_be(uint8_t *dst, pred_val v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		dst[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* the statement(s) testing f against ivs; 0 when there is no short form */
static int canon_tests(const struct pred_field *f, const struct pred_iv *iv,
		       uint32_t n, struct imr_stmt *out)
{
	pred_val max = pred_field_max(f), size;
	unsigned int w = f->width, k;

	memset(out, 0, sizeof(*out));
	out->type = IMR_S_CMP;
	out->len = (uint8_t)w;
	if (n == 1 && iv[0].lo == iv[0].hi) {
		out->op = IMR_EQ;
		put_be(out->val, iv[0].lo, w);
	} else if (n == 1 && iv[0].lo == 0) {
		out->op = IMR_LE;
		put_be(out->val, iv[0].hi, w);
	} else if (n == 1 && iv[0].hi == max) {
		out->op = IMR_GE;
		put_be(out->val, iv[0].lo, w);
	} else if (n == 1) {
		/* a block of whole trailing bytes of never-failing payload:
		 * compare the leading bytes (a shorter load fails no more)
		 */
		size = iv[0].hi - iv[0].lo + 1;
		for (k = 1; k < w; k++) {
			if (size != (pred_val)1 << (8 * k) ||
			    (iv[0].lo & (size - 1)) ||
			    f->src != PRED_SRC_PAYLOAD || f->bswap ||
			    f->dom.kind != PRED_DOM_NEVER)
				continue;
			out->op = IMR_EQ;
			out->len = (uint8_t)(w - k);
			put_be(out->val, iv[0].lo >> (8 * k), w - k);
			out->expr = pred_field_expr(f, w - k);
			return out->expr ? 1 : -ENOMEM;
		}
		out->type = IMR_S_RANGE;
		out->op = IMR_EQ;
		put_be(out->val, iv[0].lo, w);
		put_be(out->hi, iv[0].hi, w);
	} else if (n == 2 && iv[0].lo == 0 && iv[1].hi == max &&
		   iv[0].hi + 2 == iv[1].lo) {
		out->op = IMR_NE;
		put_be(out->val, iv[0].hi + 1, w);
	} else if (n == 2 && iv[0].lo == 0 && iv[1].hi == max) {
		out->type = IMR_S_RANGE;
		out->op = IMR_NE;
		put_be(out->val, iv[0].hi + 1, w);
		put_be(out->hi, iv[1].lo - 1, w);
	} else {
		return 0;
	}
	out->expr = pred_field_expr(f, w);
	return out->expr ? 1 : -ENOMEM;
}

/* another test of the rule loads what field f loads, whenever it loads */
static bool load_implied(const struct pred_chain *pc,
			 const struct pred_rule *pr, uint32_t f)
{
	const struct pred_dom *d = &pc->fields[f].dom;
	uint32_t i;

	if (d->kind == PRED_DOM_NEVER)
		return true;
	for (i = 0; i < pr->nterms; i++)
		if (pr->terms[i].field != f &&
		    pred_dom_implies(&pc->fields[pr->terms[i].field].dom, d))
			return true;
	return false;
}

struct stmt_vec {
	struct imr_stmt *s;
	size_t n;
	size_t cap;
};

static int vec_push(struct stmt_vec *v, const struct imr_stmt *s)
{
	struct imr_stmt *n;

	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 8;
		n = realloc(v->s, v->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->s = n;
	}
	v->s[v->n++] = *s;
	return 0;
}

/*
 * Rewrite the tests of one run [from, to) of cmp/range statements of rule
 * r into v, field by field in the order fields first appear.  Statements
 * moved into v keep their expressions; replaced ones are released.
 */
static int fuse_run(struct opt_ctx *c, struct pred_chain *pc,
		    const struct pred_rule *pr, struct imr_rule *r,
		    size_t from, size_t to, struct stmt_vec *v)
{
	struct opt_pass_stats *st = &c->rep->pass[OPT_FUSE];
	size_t n = to - from, i, j, cnt;
	struct ftest *t;
	bool *done;
	int err = 0;

	t = calloc(n, sizeof(*t));
	done = calloc(n, sizeof(*done));
	if (!t || !done) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !err; i++) {
		t[i].stmt = from + i;
		err = pred_stmt_term(pc, &r->stmts[from + i], &t[i].field,
				     &t[i].ivs, &t[i].nivs, &t[i].exact);
		t[i].kind = err > 0;
		err = err < 0 ? err : 0;
	}
	for (i = 0; i < n && !err; i++) {
		const struct pred_field *f;
		struct pred_iv *acc = NULL;
		struct imr_stmt canon;
		uint32_t nacc = 0;
		bool exact = true, first = true;
		int ok = 0;

		if (done[i])
			continue;
		if (!t[i].kind) {
			done[i] = true;
			err = vec_push(v, &r->stmts[t[i].stmt]);
			continue;
		}
		f = &pc->fields[t[i].field];
		cnt = 0;
		for (j = i; j < n; j++) {
			if (done[j] || !t[j].kind || t[j].field != t[i].field)
				continue;
			cnt++;
			exact &= t[j].exact;
			/*
			 * Not !acc: an empty intersection is NULL too, and
			 * must stay empty whatever the tests after it say.
			 */
			if (first) {
				first = false;
				acc = t[j].ivs;
				nacc = t[j].nivs;
				t[j].ivs = NULL;
			} else {
				err = pred_ivs_and(&acc, &nacc, t[j].ivs,
						   t[j].nivs);
				if (err)
					break;
			}
		}
		if (!err && exact && nacc &&
		    pred_ivs_full(acc, nacc, pred_field_max(f)) &&
		    load_implied(pc, pr, t[i].field)) {
			ok = 2;		/* always true: no test at all */
		} else if (!err && exact && cnt > 1 && nacc &&
			   !pred_ivs_full(acc, nacc, pred_field_max(f))) {
			ok = canon_tests(f, acc, nacc, &canon);
			if (ok < 0)
				err = ok;
		}
		free(acc);
		for (j = i; j < n && !err; j++) {
			struct imr_stmt *s = &r->stmts[t[j].stmt];

			if (done[j] || !t[j].kind || t[j].field != t[i].field)
				continue;
			done[j] = true;
			if (!ok) {
				err = vec_push(v, s);
				continue;
			}
			imr_expr_put(s->expr);
			s->expr = NULL;
		}
		if (err || !ok)
			continue;
		st->tests_before += (uint32_t)cnt;
		if (ok == 1) {
			st->tests_after++;
			err = vec_push(v, &canon);
			if (err)
				imr_expr_put(canon.expr);
		}
	}
out:
	if (t)
		for (i = 0; i < n; i++)
			free(t[i].ivs);
	free(t);
	free(done);
	return err;
}

static int fuse_rule(struct opt_ctx *c, struct pred_chain *pc,
		     const struct pred_rule *pr, struct imr_rule *r)
{
	struct stmt_vec v = {};
	size_t i = 0, j;
	int err = 0;

	while (i < r->nstmts && !err) {
		if (r->stmts[i].type != IMR_S_CMP &&
		    r->stmts[i].type != IMR_S_RANGE) {
			err = vec_push(&v, &r->stmts[i++]);
			continue;
		}
		for (j = i; j < r->nstmts && (r->stmts[j].type == IMR_S_CMP ||
					     r->stmts[j].type == IMR_S_RANGE);
		     j++)
			;
		err = fuse_run(c, pc, pr, r, i, j, &v);
		i = j;
	}
	if (err) {
		/* out of memory: the compile fails; r still holds every
		 * expression not yet released (v only borrows them)
		 */
		free(v.s);
		return err;
	}
	free(r->stmts);
	r->stmts = v.s;
	r->nstmts = v.n;
	return 0;
}

static int pass_fuse(struct opt_ctx *c, size_t ci, struct pred_chain *pc)
{
	struct imr_chain *ch = &c->p->chains[ci];
	size_t i, end = compiled_end(ch);
	int err = 0;

	for (i = 0; i < end && !err; i++)
		err = fuse_rule(c, pc, &pc->rules[i], &ch->rules[i]);
	return err;
}

/* --------------------------------------------------------------- tree */

static bool tree_rule(const struct pred_rule *pr, const struct imr_rule *r)
{
	return imr_tree_rule_ok(r) && pr->guarded && !pr->effects;
}

static int pass_tree(struct opt_ctx *c, size_t ci, struct pred_chain *pc)
{
	struct opt_pass_stats *st = &c->rep->pass[OPT_TREE];
	struct imr_chain *ch = &c->p->chains[ci];
	size_t i, j, end = compiled_end(ch);
	struct imr_run *v;

	for (i = 0; i < end; i = j + 1) {
		for (j = i; j < end && tree_rule(&pc->rules[j], &ch->rules[j]);
		     j++)
			;
		if (j - i < OPT_TREE_MIN)
			continue;
		v = realloc(ch->runs, (ch->nruns + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ch->runs = v;
		v[ch->nruns].from = (uint32_t)i;
		v[ch->nruns].to = (uint32_t)j;
		ch->nruns++;
		st->runs++;
		st->run_rules += (uint32_t)(j - i);
	}
	return 0;
}

/* ------------------------------------------------------------- lookup */

static bool key_add(struct opt_lookup_key *k, uint32_t field, uint32_t val)
{
	uint32_t i, j;

	for (i = 0; i < k->n && k->field[i] < field; i++)
		;
	if (i < k->n && k->field[i] == field)
		return k->val[i] == val;	/* tested twice: the same value */
	if (k->n == OPT_LOOKUP_KEYS)
		return false;
	for (j = k->n++; j > i; j--) {
		k->field[j] = k->field[j - 1];
		k->val[j] = k->val[j - 1];
	}
	k->field[i] = field;
	k->val[i] = val;
	return true;
}

bool opt_lookup_rule(const struct pred_chain *pc, const struct imr_chain *ch,
		     size_t i, struct opt_lookup_key *k)
{
	const struct imr_rule *r = &ch->rules[i];
	const struct pred_rule *pr;
	const struct pred_stmt *st;
	size_t j;

	uint32_t bits = 0, b, w;
	bool prefix = false, mixed = false;
	pred_val size;

	k->n = 0;
	if (i >= pc->nrules || !tree_rule(&pc->rules[i], r))
		return false;
	pr = &pc->rules[i];
	if (pr->nst != r->nstmts || pr->empty || r->nstmts < 2)
		return false;
	for (j = 0; j + 1 < r->nstmts; j++) {
		st = &pr->st[j];
		if (st->field >= pc->nfields || !st->exact || st->nivs != 1 ||
		    pc->fields[st->field].width > 4 ||
		    st->ivs[0].lo > st->ivs[0].hi ||
		    st->ivs[0].hi > pred_field_max(&pc->fields[st->field]))
			return false;
		/* one value, or an aligned block of 2^(w - b) values */
		w = pc->fields[st->field].width * 8;
		size = st->ivs[0].hi - st->ivs[0].lo + 1;
		for (b = w; b > 0 && size > ((pred_val)1 << (w - b)); b--)
			;
		if (size != ((pred_val)1 << (w - b)) ||
		    (st->ivs[0].lo & (size - 1)))
			return false;
		if (b < w)
			prefix = true;
		if (j && b != bits)
			mixed = true;
		bits = b;
		if (!key_add(k, st->field, (uint32_t)st->ivs[0].lo))
			return false;
	}
	k->bits = bits;
	/* a prefix only alone: one field, one prefix length */
	return !prefix || (k->n == 1 && !mixed);
}

static bool same_fields(const struct opt_lookup_key *a,
			const struct opt_lookup_key *b)
{
	return a->n == b->n &&
	       !memcmp(a->field, b->field, a->n * sizeof(a->field[0]));
}

static int mark_lookups(struct opt_ctx *c, struct imr_chain *ch,
			const struct pred_chain *pc);

/*
 * The fuse pass rewrites statements, and the shared analysis keeps only
 * what they match: the statements' own analysis is made again here.
 */
static int pass_lookup(struct opt_ctx *c, size_t ci, struct pred_chain *pc)
{
	struct pred_chain fresh;
	int err;

	/* the base chain: the planner lays out its segments */
	if (ci != 0)
		return 0;
	err = pred_chain_analyze(c->p, ci, &fresh);
	if (err)
		return err;
	err = mark_lookups(c, &c->p->chains[ci], &fresh);
	pred_chain_free(&fresh);
	return err;
}

static int mark_lookups(struct opt_ctx *c, struct imr_chain *ch,
			const struct pred_chain *pc)
{
	struct opt_pass_stats *st = &c->rep->pass[OPT_LOOKUP];
	size_t i, j, end = compiled_end(ch);
	struct opt_lookup_key a, b;
	struct imr_run *v;

	for (i = 0; i < end; i = j) {
		if (!opt_lookup_rule(pc, ch, i, &a)) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < end && opt_lookup_rule(pc, ch, j, &b) &&
		     same_fields(&a, &b); j++)
			;
		if (j - i < OPT_LOOKUP_MIN)
			continue;
		v = realloc(ch->lookups, (ch->nlookups + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ch->lookups = v;
		v[ch->nlookups].from = (uint32_t)i;
		v[ch->nlookups].to = (uint32_t)j;
		ch->nlookups++;
		st->runs++;
		st->run_rules += (uint32_t)(j - i);
	}
	return 0;
}

/* ------------------------------------------------------------ pipeline */

typedef int (*pass_fn)(struct opt_ctx *c, size_t ci, struct pred_chain *pc);

static const pass_fn passes[OPT_NPASSES] = {
	[OPT_DEAD]	= pass_dead,
	[OPT_SHADOW]	= pass_shadow,
	[OPT_FUSE]	= pass_fuse,
	[OPT_TREE]	= pass_tree,
	[OPT_LOOKUP]	= pass_lookup,
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int imr_optimize(struct imr_prog *p, unsigned int off, struct opt_report *rep)
{
	struct opt_ctx c = { .p = p, .rep = rep };
	struct pred_chain pc;
	unsigned int id;
	double t0;
	size_t ci;
	int err = 0;

	memset(rep, 0, sizeof(*rep));
	/* one analysis per chain serves every pass: removals keep it in
	 * step, and no pass changes what a rule matches
	 */
	for (ci = 0; ci < p->nchains && !err; ci++) {
		t0 = now_ms();
		err = pred_chain_analyze(p, ci, &pc);
		rep->analyze_ms += now_ms() - t0;
		for (id = 0; id < OPT_NPASSES && !err; id++) {
			if (off & (1u << id))
				continue;
			c.pass = id;
			t0 = now_ms();
			err = passes[id](&c, ci, &pc);
			rep->pass[id].ms += now_ms() - t0;
			rep->ran |= 1u << id;
		}
		pred_chain_free(&pc);
	}
	return err;
}
