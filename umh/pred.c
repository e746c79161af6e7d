// SPDX-License-Identifier: GPL-2.0
/*
 * Canonical predicates of rules (pred.h): each test of a rule becomes an
 * interval set over one field, intersected per field.
 *
 * A test compares the first `len` bytes of a register (cmp, range).  The
 * register holds a source value (payload, meta), padded with zeroes to
 * 32 bits, maybe masked and xor-ed (bitwise) or byte-swapped (byteorder).
 * The test's interval set over the compared bytes is mapped back, step by
 * step, to the values of the field that make it true (its preimage):
 *
 *   compared bytes w  <-  (register & mask) ^ xor  <-  register prefix
 *                     <-  source value  <-  field value (a wider load of
 *                                           the same never-failing bytes)
 *
 * Each step is monotone or handled point by point, so an interval maps to
 * an interval; a step that is not (a non-prefix mask on a range, a
 * shift) gives every value and makes the rule inexact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pred.h"

/* ------------------------------------------------------------ numbers */

static pred_val ones(unsigned int bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 128)
		return ~(pred_val)0;
	return ((pred_val)1 << bits) - 1;
}

static pred_val shl(pred_val v, unsigned int bits)
{
	return bits >= 128 ? 0 : v << bits;
}

static pred_val shr(pred_val v, unsigned int bits)
{
	return bits >= 128 ? 0 : v >> bits;
}

/* the first n bytes of p as a big-endian number */
static pred_val be_num(const uint8_t *p, unsigned int n)
{
	pred_val v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

pred_val pred_field_max(const struct pred_field *f)
{
	return ones(8u * f->width);
}

/* ------------------------------------------------------- interval sets */

struct ivset {
	struct pred_iv *iv;
	uint32_t n;
	uint32_t cap;
	int err;
};

static void ivs_add(struct ivset *s, pred_val lo, pred_val hi)
{
	struct pred_iv *iv;

	if (lo > hi || s->err)
		return;
	/* callers add in order; merge what touches the last one */
	if (s->n && s->iv[s->n - 1].hi != ~(pred_val)0 &&
	    lo <= s->iv[s->n - 1].hi + 1) {
		if (hi > s->iv[s->n - 1].hi)
			s->iv[s->n - 1].hi = hi;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 2;
		iv = realloc(s->iv, s->cap * sizeof(*iv));
		if (!iv) {
			s->err = -ENOMEM;
			return;
		}
		s->iv = iv;
	}
	s->iv[s->n].lo = lo;
	s->iv[s->n].hi = hi;
	s->n++;
}

static void ivs_reset(struct ivset *s)
{
	s->n = 0;
}

static void ivs_release(struct ivset *s)
{
	free(s->iv);
	memset(s, 0, sizeof(*s));
}

/* d = [0, max] minus a */
static void ivs_complement(struct ivset *d, const struct ivset *a,
			   pred_val max)
{
	pred_val next = 0;
	bool done = false;
	uint32_t i;

	ivs_reset(d);
	for (i = 0; i < a->n && !done; i++) {
		if (a->iv[i].lo > next)
			ivs_add(d, next, a->iv[i].lo - 1);
		if (a->iv[i].hi >= max)
			done = true;
		else
			next = a->iv[i].hi + 1;
	}
	if (!done)
		ivs_add(d, next, max);
}

/* d = a and b (interval lists, in order) */
static void ivs_intersect(struct ivset *d, const struct pred_iv *a,
			  uint32_t na, const struct pred_iv *b, uint32_t nb)
{
	uint32_t i = 0, j = 0;
	pred_val lo, hi;

	ivs_reset(d);
	while (i < na && j < nb) {
		lo = a[i].lo > b[j].lo ? a[i].lo : b[j].lo;
		hi = a[i].hi < b[j].hi ? a[i].hi : b[j].hi;
		if (lo <= hi)
			ivs_add(d, lo, hi);
		if (a[i].hi < b[j].hi)
			i++;
		else
			j++;
	}
}

static bool ivs_subset(const struct pred_iv *a, uint32_t na,
		       const struct pred_iv *b, uint32_t nb)
{
	uint32_t i, j = 0;

	for (i = 0; i < na; i++) {
		while (j < nb && b[j].hi < a[i].lo)
			j++;
		if (j == nb || b[j].lo > a[i].lo || b[j].hi < a[i].hi)
			return false;
	}
	return true;
}

static bool ivs_disjoint(const struct pred_iv *a, uint32_t na,
			 const struct pred_iv *b, uint32_t nb)
{
	uint32_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i].hi < b[j].lo)
			i++;
		else if (b[j].hi < a[i].lo)
			j++;
		else
			return false;
	}
	return true;
}

static bool ivs_full(const struct pred_iv *a, uint32_t n, pred_val max)
{
	return n == 1 && a[0].lo == 0 && a[0].hi == max;
}

bool pred_ivs_full(const struct pred_iv *a, uint32_t n, pred_val max)
{
	return ivs_full(a, n, max);
}

int pred_ivs_and(struct pred_iv **a, uint32_t *na, const struct pred_iv *b,
		 uint32_t nb)
{
	struct ivset d = {};

	ivs_intersect(&d, *a, *na, b, nb);
	if (d.err) {
		ivs_release(&d);
		return d.err;
	}
	free(*a);
	*a = d.iv;
	*na = d.n;
	return 0;
}

/* ------------------------------------------------------------- fields */

/* meta keys the kernel never fails to load at ip, ip6 and inet hooks */
static enum pred_dom_kind meta_dom(enum imr_meta m)
{
	switch (m) {
	case IMR_META_LEN:
	case IMR_META_PROTOCOL:
	case IMR_META_NFPROTO:
	case IMR_META_MARK:
	case IMR_META_IIF:
	case IMR_META_OIF:
		return PRED_DOM_NEVER;
	case IMR_META_L4PROTO:
		return PRED_DOM_L4;
	default:
		return PRED_DOM_SELF;
	}
}

static bool field_eq(const struct pred_field *a, const struct pred_field *b)
{
	if (a->src != b->src || a->bswap != b->bswap || a->width != b->width)
		return false;
	if (a->src == PRED_SRC_META)
		return a->meta == b->meta;
	return a->base == b->base && a->offset == b->offset &&
	       a->len == b->len && a->fast == b->fast;
}

bool pred_dom_implies(const struct pred_dom *a, const struct pred_dom *b)
{
	switch (b->kind) {
	case PRED_DOM_NEVER:
		return true;
	case PRED_DOM_L4:
		return a->kind == PRED_DOM_L4 || a->kind == PRED_DOM_TH;
	case PRED_DOM_TH:
		/* a slow-path load proves no fragment; a fast one does not */
		return a->kind == PRED_DOM_TH && a->end >= b->end &&
		       (a->nofrag || !b->nofrag);
	case PRED_DOM_NH:
	case PRED_DOM_LL:
		return a->kind == b->kind && a->end >= b->end;
	case PRED_DOM_SELF:
		return false;	/* only the same field: callers compare */
	}
	return false;
}

struct analyzer {
	struct pred_chain *pc;
	int err;
};

static bool nh_always(uint8_t offset, uint8_t len)
{
	return offset + len <= PRED_NH_ALWAYS;
}

static void note_spans(struct analyzer *a, const struct imr_expr *e)
{
	unsigned int i;

	if (!e)
		return;
	if (e->type == IMR_E_PAYLOAD && e->payload.base == IMR_BASE_NH &&
	    nh_always(e->payload.offset, e->payload.len) &&
	    e->payload.len > a->pc->nh_span[e->payload.offset])
		a->pc->nh_span[e->payload.offset] = e->payload.len;
	note_spans(a, e->child);
	for (i = 0; i < e->ncomp; i++)
		note_spans(a, e->comp[i]);
}

/* the field of a source expression; *srclen: bytes the source holds (a
 * prefix of the field when it is a narrower load of the same bytes)
 */
static bool source_field(const struct analyzer *a, const struct imr_expr *e,
			 struct pred_field *f, unsigned int *srclen)
{
	memset(f, 0, sizeof(*f));
	switch (e->type) {
	case IMR_E_PAYLOAD:
		if (e->payload.len > PRED_WIDTH_MAX)
			return false;
		f->src = PRED_SRC_PAYLOAD;
		f->base = e->payload.base;
		f->offset = e->payload.offset;
		f->len = e->payload.len;
		f->fast = e->payload.fast;
		f->dom.end = e->payload.offset + e->payload.len;
		if (e->payload.base == IMR_BASE_NH &&
		    nh_always(e->payload.offset, e->payload.len)) {
			/* the same bytes whatever the load: one field */
			f->len = a->pc->nh_span[e->payload.offset];
			f->fast = false;
			f->dom.kind = PRED_DOM_NEVER;
			f->dom.end = 0;
		} else if (e->payload.base == IMR_BASE_NH) {
			f->dom.kind = PRED_DOM_NH;
		} else if (e->payload.base == IMR_BASE_TH) {
			f->dom.kind = PRED_DOM_TH;
			f->dom.nofrag = !e->payload.fast;
		} else {
			f->dom.kind = PRED_DOM_LL;
		}
		f->width = f->len;
		*srclen = e->payload.len;
		return true;
	case IMR_E_META:
		f->src = PRED_SRC_META;
		f->meta = e->meta;
		f->width = (uint8_t)imr_meta_len(e->meta);
		f->dom.kind = meta_dom(e->meta);
		*srclen = f->width;
		return true;
	case IMR_E_BSWAP:
		/* a byte-swapped source: the swapped value is the field */
		if (!e->child || (e->child->type != IMR_E_META &&
				  e->child->type != IMR_E_PAYLOAD))
			return false;
		if (!source_field(a, e->child, f, srclen) ||
		    *srclen != e->bswap.size || f->width != e->bswap.size)
			return false;
		f->bswap = e->bswap.size;
		return true;
	default:
		return false;
	}
}

static uint32_t field_index(struct analyzer *a, const struct pred_field *f)
{
	struct pred_chain *pc = a->pc;
	struct pred_field *nf;
	uint32_t i;

	for (i = 0; i < pc->nfields; i++)
		if (field_eq(&pc->fields[i], f))
			return i;
	if (pc->nfields == pc->fields_cap) {
		pc->fields_cap = pc->fields_cap ? 2 * pc->fields_cap : 8;
		nf = realloc(pc->fields, pc->fields_cap * sizeof(*nf));
		if (!nf) {
			a->err = -ENOMEM;
			return UINT32_MAX;
		}
		pc->fields = nf;
	}
	pc->fields[pc->nfields] = *f;
	return pc->nfields++;
}

/* ---------------------------------------------------------- preimages */

/* w over n bytes: the values of a test (cmp op val / range) */
static void test_set(struct ivset *w, const struct imr_stmt *s,
		     unsigned int n)
{
	pred_val v = be_num(s->val, n), max = ones(8 * n), hi;
	struct ivset tmp = {};

	ivs_reset(w);
	if (s->type == IMR_S_RANGE) {
		hi = be_num(s->hi, n);
		ivs_add(&tmp, v, hi);
		if (s->op == IMR_EQ) {
			ivs_add(w, v, hi);
		} else {
			ivs_complement(w, &tmp, max);
			if (tmp.err)
				w->err = tmp.err;
		}
		ivs_release(&tmp);
		return;
	}
	switch (s->op) {
	case IMR_EQ:
		ivs_add(w, v, v);
		break;
	case IMR_NE:
		if (v > 0)
			ivs_add(w, 0, v - 1);
		if (v < max)
			ivs_add(w, v + 1, max);
		break;
	case IMR_LT:
		if (v > 0)
			ivs_add(w, 0, v - 1);
		break;
	case IMR_LE:
		ivs_add(w, 0, v);
		break;
	case IMR_GT:
		if (v < max)
			ivs_add(w, v + 1, max);
		break;
	case IMR_GE:
		ivs_add(w, v, max);
		break;
	}
}

/* m is ~0 << z over n bytes (a prefix mask); *z set */
static bool prefix_mask(pred_val m, unsigned int n, unsigned int *z)
{
	pred_val low = ~m & ones(8 * n);

	if ((low & (low + 1)) != 0)
		return false;
	*z = 0;
	while (*z < 8 * n && (shr(low, *z) & 1))
		(*z)++;
	return true;
}

/*
 * d = the registers r (n bytes) with (r & m) ^ x in w.  Exact for a prefix
 * mask without xor, and for points and their complements with a prefix
 * mask; otherwise every value, and *exact cleared.
 */
static void mask_preimage(struct ivset *d, const struct ivset *w, pred_val m,
			  pred_val x, unsigned int n, bool *exact)
{
	pred_val max = ones(8 * n), step, lo, hi, t;
	struct ivset tmp = {}, one = {};
	unsigned int z;
	uint32_t i;

	ivs_reset(d);
	if (!prefix_mask(m, n, &z)) {
		/* (r & m) == t: r lies between t and t | ~m */
		if (w->n == 1 && w->iv[0].lo == w->iv[0].hi) {
			t = w->iv[0].lo ^ x;
			if ((t & ~m & max) == 0)
				ivs_add(d, t, t | (~m & max));
		} else {
			ivs_add(d, 0, max);
		}
		*exact = false;
		return;
	}
	step = shl(1, z);
	if (x == 0) {
		for (i = 0; i < w->n; i++) {
			/* r & m in [lo, hi]: whole blocks of 2^z values */
			lo = (w->iv[i].lo + step - 1) & ~(step - 1);
			if (z && w->iv[i].lo > max - step + 1)
				continue;
			hi = w->iv[i].hi & ~(step - 1);
			if (lo > hi || (w->iv[i].lo != 0 && lo < w->iv[i].lo))
				continue;
			ivs_add(d, lo, hi + step - 1);
		}
		return;
	}
	/* a point or the complement of one, through the xor */
	ivs_complement(&tmp, w, max);
	if (w->n == 1 && w->iv[0].lo == w->iv[0].hi) {
		t = (w->iv[0].lo ^ x) & max;
		if ((t & (step - 1)) == 0)
			ivs_add(d, t, t + step - 1);
	} else if (tmp.n == 1 && tmp.iv[0].lo == tmp.iv[0].hi) {
		t = (tmp.iv[0].lo ^ x) & max;
		if ((t & (step - 1)) == 0) {
			ivs_add(&one, t, t + step - 1);
			ivs_complement(d, &one, max);
		} else {
			ivs_add(d, 0, max);
		}
	} else {
		ivs_add(d, 0, max);
		*exact = false;
	}
	if (tmp.err || one.err)
		d->err = -ENOMEM;
	ivs_release(&tmp);
	ivs_release(&one);
}

/*
 * d = the field values v (width bytes) for which the first n compared
 * register bytes lie in r.  The register holds the source value u
 * (srclen bytes, the first srclen bytes of v), then zeroes.
 */
static void field_preimage(struct ivset *d, const struct ivset *r,
			   unsigned int n, unsigned int srclen,
			   unsigned int width)
{
	unsigned int s = 8 * (width - srclen), k, t;
	pred_val lo, hi;
	uint32_t i;

	ivs_reset(d);
	for (i = 0; i < r->n; i++) {
		if (n <= srclen) {
			/* a prefix of u */
			k = 8 * (srclen - n);
			lo = shl(r->iv[i].lo, k);
			hi = shl(r->iv[i].hi, k) | ones(k);
		} else {
			/* u, then zero bytes: u << t */
			t = 8 * (n - srclen);
			lo = shr(r->iv[i].lo + ones(t), t);
			if (r->iv[i].lo > ~(pred_val)0 - ones(t))
				continue;
			hi = shr(r->iv[i].hi, t);
			if (lo > hi)
				continue;
		}
		ivs_add(d, shl(lo, s), shl(hi, s) | ones(s));
	}
}

/*
 * A cmp or range statement as a field and the field values that pass it;
 * false when the tested value is no field (a concatenation, a shift, a
 * service's value).
 */
static bool stmt_term(struct analyzer *a, const struct imr_stmt *s,
		      struct pred_field *f, struct ivset *out, bool *exact)
{
	const struct imr_expr *e = s->expr, *src = e;
	struct ivset w = {}, r = {};
	unsigned int n = s->len, srclen;
	pred_val m = 0, x = 0;
	bool ok;

	if (n == 0 || n > PRED_WIDTH_MAX)
		return false;
	if (e->type == IMR_E_MASKXOR) {
		src = e->child;
		if (!src || n > e->len)
			return false;
		m = be_num(e->maskxor.mask, n);
		x = be_num(e->maskxor.xor, n);
	}
	if (!src || !source_field(a, src, f, &srclen))
		return false;
	test_set(&w, s, n);
	if (e->type == IMR_E_MASKXOR)
		mask_preimage(&r, &w, m, x, n, exact);
	else
		ivs_intersect(&r, w.iv, w.n, w.iv, w.n);
	field_preimage(out, &r, n, srclen, f->width);
	ok = !w.err && !r.err && !out->err;
	if (!ok)
		a->err = -ENOMEM;
	ivs_release(&w);
	ivs_release(&r);
	return ok;
}

/* ------------------------------------------------------------- rules */

static struct pred_term *rule_term(struct analyzer *a, struct pred_rule *pr,
				   uint32_t field)
{
	const struct pred_field *f = &a->pc->fields[field];
	struct pred_term *t;
	struct pred_iv *iv;
	uint32_t i;

	for (i = 0; i < pr->nterms; i++)
		if (pr->terms[i].field == field)
			return &pr->terms[i];
	iv = malloc(sizeof(*iv));
	if (!iv)
		return NULL;
	t = realloc(pr->terms, (pr->nterms + 1) * sizeof(*t));
	if (!t) {
		free(iv);
		return NULL;
	}
	pr->terms = t;
	/* keep terms ordered by field; a new one allows every value */
	for (i = pr->nterms; i > 0 && t[i - 1].field > field; i--)
		t[i] = t[i - 1];
	iv->lo = 0;
	iv->hi = pred_field_max(f);
	t[i].field = field;
	t[i].nivs = 1;
	t[i].ivs = iv;
	pr->nterms++;
	return &t[i];
}

static int term_and(struct pred_term *t, const struct ivset *s)
{
	return pred_ivs_and(&t->ivs, &t->nivs, s->iv, s->n);
}

static bool stmt_is_test(const struct imr_prog *p, const struct imr_stmt *s)
{
	switch (s->type) {
	case IMR_S_CMP:
	case IMR_S_RANGE:
	case IMR_S_LOOKUP:
	case IMR_S_VMAP:
		return true;
	case IMR_S_SERVICE:
		return p->svcs[s->svc].kind != IMR_SVC_COUNTER;
	default:
		return false;
	}
}

static bool stmt_is_effect(const struct imr_prog *p, const struct imr_stmt *s)
{
	if (s->type == IMR_S_COUNTER)
		return true;
	return s->type == IMR_S_SERVICE && p->svcs[s->svc].side_effect;
}

static bool verdict_ends_chain(enum imr_verdict v)
{
	return v == IMR_V_ACCEPT || v == IMR_V_DROP || v == IMR_V_GOTO ||
	       v == IMR_V_RETURN;
}

static int analyze_rule(struct analyzer *a, const struct imr_rule *r,
			struct pred_rule *pr)
{
	const struct imr_prog *p = a->pc->prog;
	int last_test = -1;
	bool vmap = false;
	size_t i;

	pr->exact = true;
	pr->first_effect = -1;
	pr->empty_at = -1;
	pr->st = calloc(r->nstmts ? r->nstmts : 1, sizeof(*pr->st));
	if (!pr->st)
		return -ENOMEM;
	pr->nst = (uint32_t)r->nstmts;
	for (i = 0; i < r->nstmts; i++)
		pr->st[i].field = UINT32_MAX;
	for (i = 0; i < r->nstmts; i++) {
		const struct imr_stmt *s = &r->stmts[i];
		struct pred_field f;
		struct ivset set = {};
		struct pred_term *t;
		uint32_t fi;
		bool exact = true;
		int err;

		if (stmt_is_test(p, s))
			last_test = (int)i;
		if (stmt_is_effect(p, s) && pr->first_effect < 0)
			pr->first_effect = (int)i;
		if (s->type == IMR_S_VMAP ||
		    (s->type == IMR_S_SERVICE &&
		     p->svcs[s->svc].kind == IMR_SVC_VMAP))
			vmap = true;
		if (s->type != IMR_S_CMP && s->type != IMR_S_RANGE) {
			if (stmt_is_test(p, s))
				pr->exact = false;
			continue;
		}
		if (!stmt_term(a, s, &f, &set, &exact)) {
			ivs_release(&set);
			if (a->err)
				return a->err;
			pr->exact = false;
			continue;
		}
		if (!exact)
			pr->exact = false;
		fi = field_index(a, &f);
		t = fi == UINT32_MAX ? NULL : rule_term(a, pr, fi);
		err = t ? term_and(t, &set) : -ENOMEM;
		if (err) {
			ivs_release(&set);
			return err;
		}
		pr->st[i].field = fi;
		pr->st[i].ivs = set.iv;		/* the statement keeps them */
		pr->st[i].nivs = set.n;
		pr->st[i].exact = exact;
		if (t->nivs == 0 && pr->empty_at < 0) {
			pr->empty = true;
			pr->empty_at = (int)i;
		}
	}
	pr->last_test = last_test;
	pr->effects = pr->first_effect >= 0;
	pr->guarded = pr->first_effect < 0 || pr->first_effect >= last_test;
	pr->terminal = !vmap && r->nstmts &&
		       r->stmts[r->nstmts - 1].type == IMR_S_VERDICT &&
		       verdict_ends_chain(r->stmts[r->nstmts - 1].verdict);
	return 0;
}

int pred_chain_analyze(const struct imr_prog *p, size_t chain,
		       struct pred_chain *pc)
{
	const struct imr_chain *ch = &p->chains[chain];
	struct analyzer a = { .pc = pc };
	size_t i, j;
	int err = 0;

	memset(pc, 0, sizeof(*pc));
	pc->prog = p;
	pc->chain = chain;
	pc->rules = calloc(ch->nrules ? ch->nrules : 1, sizeof(*pc->rules));
	if (!pc->rules)
		return -ENOMEM;
	pc->nrules = ch->nrules;
	for (i = 0; i < ch->nrules; i++)
		for (j = 0; j < ch->rules[i].nstmts; j++)
			note_spans(&a, ch->rules[i].stmts[j].expr);
	for (i = 0; i < ch->nrules && !err; i++)
		err = analyze_rule(&a, &ch->rules[i], &pc->rules[i]);
	if (err)
		pred_chain_free(pc);
	return err;
}

void pred_rule_release(struct pred_rule *r)
{
	uint32_t j;

	for (j = 0; j < r->nterms; j++)
		free(r->terms[j].ivs);
	free(r->terms);
	for (j = 0; j < r->nst; j++)
		free(r->st[j].ivs);
	free(r->st);
	memset(r, 0, sizeof(*r));
}

void pred_chain_free(struct pred_chain *pc)
{
	size_t i;

	for (i = 0; i < pc->nrules; i++)
		pred_rule_release(&pc->rules[i]);
	free(pc->rules);
	free(pc->fields);
	memset(pc, 0, sizeof(*pc));
}

int pred_stmt_term(struct pred_chain *pc, const struct imr_stmt *s,
		   uint32_t *field, struct pred_iv **ivs, uint32_t *nivs,
		   bool *exact)
{
	struct analyzer a = { .pc = pc };
	struct ivset set = {};
	struct pred_field f;

	*exact = true;
	if (s->type != IMR_S_CMP && s->type != IMR_S_RANGE)
		return 0;
	if (!stmt_term(&a, s, &f, &set, exact)) {
		ivs_release(&set);
		return a.err;
	}
	*field = field_index(&a, &f);
	if (*field == UINT32_MAX) {
		ivs_release(&set);
		return -ENOMEM;
	}
	*ivs = set.iv;
	*nivs = set.n;
	return 1;
}

const struct pred_term *pred_rule_term(const struct pred_rule *r,
				       uint32_t f)
{
	uint32_t i;

	for (i = 0; i < r->nterms; i++)
		if (r->terms[i].field == f)
			return &r->terms[i];
	return NULL;
}

/* some field b tests loads whenever field f does not fail */
static bool loads_imply(const struct pred_chain *pc, const struct pred_rule *b,
			uint32_t f)
{
	const struct pred_dom *d = &pc->fields[f].dom;
	uint32_t i;

	if (d->kind == PRED_DOM_NEVER)
		return true;
	for (i = 0; i < b->nterms; i++)
		if (b->terms[i].field == f ||
		    pred_dom_implies(&pc->fields[b->terms[i].field].dom, d))
			return true;
	return false;
}

bool pred_box_subset(const struct pred_chain *pc, const struct pred_rule *b,
		     const struct pred_rule *a)
{
	const struct pred_term *ta, *tb;
	uint32_t i;

	if (b->empty)
		return true;
	for (i = 0; i < a->nterms; i++) {
		ta = &a->terms[i];
		tb = pred_rule_term(b, ta->field);
		if (tb) {
			if (!ivs_subset(tb->ivs, tb->nivs, ta->ivs, ta->nivs))
				return false;
			continue;
		}
		if (!ivs_full(ta->ivs, ta->nivs,
			      pred_field_max(&pc->fields[ta->field])) ||
		    !loads_imply(pc, b, ta->field))
			return false;
	}
	return true;
}

bool pred_box_disjoint(const struct pred_chain *pc, const struct pred_rule *a,
		       const struct pred_rule *b)
{
	const struct pred_term *tb;
	uint32_t i;

	if (a->empty || b->empty)
		return true;
	for (i = 0; i < a->nterms; i++) {
		tb = pred_rule_term(b, a->terms[i].field);
		if (tb && ivs_disjoint(a->terms[i].ivs, a->terms[i].nivs,
				       tb->ivs, tb->nivs))
			return true;
	}
	return false;
}

/* ----------------------------------------------------------- printing */

int pred_field_print(const struct pred_field *f, char *buf, size_t size)
{
	char src[48];

	if (f->src == PRED_SRC_META)
		snprintf(src, sizeof(src), "meta %s", imr_meta_name(f->meta));
	else
		snprintf(src, sizeof(src), "%s[%u:%u]%s",
			 imr_base_name(f->base), f->offset, f->len,
			 f->dom.kind == PRED_DOM_TH && !f->fast ? "!" : "");
	if (f->bswap)
		return snprintf(buf, size, "bswap%u(%s)", 8 * f->bswap, src);
	return snprintf(buf, size, "%s", src);
}

int pred_val_print(pred_val v, unsigned int width, char *buf, size_t size)
{
	size_t n = 0;
	unsigned int i;

	n += (size_t)snprintf(buf, size, "0x");
	for (i = width; i-- > 0 && n < size;)
		n += (size_t)snprintf(buf + n, size - n, "%02x",
				      (unsigned int)(shr(v, 8 * i) & 0xff));
	return (int)n;
}

#define APPEND(...)							\
	do {								\
		if (n < size)						\
			n += (size_t)snprintf(buf + n, size - n,	\
					      __VA_ARGS__);		\
	} while (0)

int pred_rule_print(const struct pred_chain *pc, const struct pred_rule *r,
		    char *buf, size_t size)
{
	const struct pred_field *f;
	const struct pred_term *t;
	char fb[64], lo[40], hi[40];
	size_t n = 0;
	uint32_t i, j;

	if (size)
		buf[0] = 0;
	for (i = 0; i < r->nterms; i++) {
		t = &r->terms[i];
		f = &pc->fields[t->field];
		pred_field_print(f, fb, sizeof(fb));
		APPEND("%s%s ", i ? ", " : "", fb);
		if (t->nivs == 0)
			APPEND("none");
		else if (ivs_full(t->ivs, t->nivs, pred_field_max(f)))
			APPEND("any");
		for (j = 0; j < t->nivs &&
		     !ivs_full(t->ivs, t->nivs, pred_field_max(f)); j++) {
			pred_val_print(t->ivs[j].lo, f->width, lo, sizeof(lo));
			pred_val_print(t->ivs[j].hi, f->width, hi, sizeof(hi));
			if (t->ivs[j].lo == t->ivs[j].hi)
				APPEND("%s%s", j ? "," : "", lo);
			else
				APPEND("%s%s-%s", j ? "," : "", lo, hi);
		}
	}
	if (!r->nterms)
		APPEND("any");
	APPEND("%s%s%s%s", r->exact ? "" : " (inexact)",
	       r->guarded ? "" : " (unguarded)",
	       r->terminal ? " (terminal)" : "",
	       r->empty ? " (empty)" : "");
	return (int)n;
}

/* ------------------------------------------------------ expressions */

static bool builder_fast(enum imr_base base, unsigned int off,
			 unsigned int len)
{
	/* nft_payload_select_ops(), as build.c do_payload() */
	return base != IMR_BASE_LL && (len == 1 || len == 2 || len == 4) &&
	       off % len == 0;
}

struct imr_expr *pred_field_expr(const struct pred_field *f, unsigned int n)
{
	struct imr_expr *e, *b;

	if (f->src == PRED_SRC_META) {
		e = imr_expr_new(IMR_E_META, 4);
		if (e)
			e->meta = f->meta;
	} else {
		e = imr_expr_new(IMR_E_PAYLOAD, (uint8_t)((n + 3) & ~3u));
		if (e) {
			e->payload.base = f->base;
			e->payload.offset = f->offset;
			e->payload.len = (uint8_t)n;
			e->payload.fast = f->dom.kind == PRED_DOM_NEVER ?
				builder_fast(f->base, f->offset, n) : f->fast;
		}
	}
	if (!e || !f->bswap)
		return e;
	b = imr_expr_new(IMR_E_BSWAP, 4);
	if (!b) {
		imr_expr_put(e);
		return NULL;
	}
	b->bswap.size = f->bswap;
	b->child = e;
	return b;
}
