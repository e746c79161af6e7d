// SPDX-License-Identifier: GPL-2.0
/*
 * A lookup run of the base chain (imr_chain.lookups, the optimizer's
 * lookup pass) as one map lookup.  Every rule of the run tests the same
 * key fields, each for one value, and ends in accept or drop; so a
 * packet matches rule i exactly when every key field loads and the
 * values are rule i's key, and the first rule with that key decides.
 * The map (a hash) holds one element per distinct key: the first rule
 * of the run with it (a later rule with the same key can never decide).
 *
 * A run of one key field where rules test a prefix is an LPM trie
 * instead, without the prefixes an earlier one covers (lpm_elems()):
 * then the longest match is the first match.
 *
 * The code loads each key field once, with the rules' own load code
 * (cg_eval_num() of the field's canonical expression, as forest.c does);
 * a load that fails makes every rule of the run fail, so the code goes
 * on after the run.  The values make the key on the stack; a miss goes
 * on after the run; a hit gives the value, index + 1 of the rule with
 * CG_LOOKUP_DROP for a drop: its verdict, and where the target reports
 * the deciding rule, a binary search to that rule's verdict code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "cg.h"
#include "../opt.h"
#include "../pred.h"

_Static_assert(CG_LOOKUP_KEYS == OPT_LOOKUP_KEYS,
	       "a lookup holds every key the lookup pass allows");

/* the key: u32 words from fp-80 (the set key buffer, free in runs) */
#define FP_LOOKUP_KEY(k)	((int16_t)(-80 + 4 * (k)))

void cg_lookup_free(struct cg_lookup *lk)
{
	free(lk->keys);
	free(lk->rule);
	free(lk->value);
	free(lk->bits);
	memset(lk, 0, sizeof(*lk));
}

struct lk_sort {
	const uint32_t *keys;
	uint32_t nkeys;
};

static int cmp_elem(const void *a, const void *b, void *arg)
{
	const struct lk_sort *x = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int d = memcmp(x->keys + (size_t)i * x->nkeys,
		       x->keys + (size_t)j * x->nkeys,
		       x->nkeys * sizeof(uint32_t));

	if (d)
		return d;
	return i < j ? -1 : i > j;	/* the earlier rule first */
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Distinct keys of rules [0, n) with their first rule: sort rule
 * positions by key then position, keep the first of each key, put the
 * survivors back in rule order.
 */
static int dedup(struct cg_lookup *lk, const struct imr_chain *ch,
		 const uint32_t *keys, uint32_t n)
{
	const struct imr_rule *r;
	uint32_t *ord = malloc(n * sizeof(*ord)), i, m = 0;
	size_t kb = lk->nkeys * sizeof(uint32_t);
	struct lk_sort x = { .keys = keys, .nkeys = lk->nkeys };

	if (!ord)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		ord[i] = i;
	qsort_r(ord, n, sizeof(*ord), cmp_elem, &x);
	for (i = 0; i < n; i++)
		if (!i || memcmp(keys + (size_t)ord[i] * lk->nkeys,
				 keys + (size_t)ord[m - 1] * lk->nkeys, kb))
			ord[m++] = ord[i];
	qsort(ord, m, sizeof(*ord), cmp_u32);
	lk->keys = malloc(m * kb);
	lk->rule = malloc(m * sizeof(*lk->rule));
	lk->value = malloc(m * sizeof(*lk->value));
	if (!lk->keys || !lk->rule || !lk->value) {
		free(ord);
		return -ENOMEM;
	}
	for (i = 0; i < m; i++) {
		memcpy(lk->keys + (size_t)i * lk->nkeys,
		       keys + (size_t)ord[i] * lk->nkeys, kb);
		lk->rule[i] = lk->from + ord[i];
		r = &ch->rules[lk->rule[i]];
		lk->value[i] = (lk->rule[i] + 1) |
			       (r->stmts[r->nstmts - 1].verdict == IMR_V_DROP ?
				CG_LOOKUP_DROP : 0);
	}
	lk->nelems = m;
	free(ord);
	return 0;
}

/* prefixes by length, sorted: those of the run so far */
struct lpm_seen {
	uint32_t *v[33];
	uint32_t n[33];
};

static void lpm_seen_free(struct lpm_seen *s)
{
	uint32_t b;

	for (b = 0; b <= 32; b++)
		free(s->v[b]);
}

static bool lpm_has(const struct lpm_seen *s, uint32_t b, uint32_t v)
{
	uint32_t lo = 0, hi = s->n[b], mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->v[b][mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n[b] && s->v[b][lo] == v;
}

static int lpm_add(struct lpm_seen *s, uint32_t b, uint32_t v)
{
	uint32_t *p = realloc(s->v[b], (s->n[b] + 1) * sizeof(*p)), i;

	if (!p)
		return -ENOMEM;
	s->v[b] = p;
	for (i = s->n[b]; i > 0 && p[i - 1] > v; i--)
		p[i] = p[i - 1];
	p[i] = v;
	s->n[b]++;
	return 0;
}

/* v (a prefix of b bits of a w-bit field) lies in one already seen */
static bool lpm_covered(const struct lpm_seen *s, uint32_t w, uint32_t b,
			uint32_t v)
{
	uint64_t mask;
	uint32_t l;

	for (l = 0; l <= b; l++) {
		mask = ((1ULL << l) - 1) << (w - l);
		if (lpm_has(s, l, (uint32_t)(v & mask)))
			return true;
	}
	return false;
}

/*
 * A prefix run: the rules in order, without those whose prefix an
 * earlier one of the run covers (an equal one included).  Among the
 * prefixes left that hold a packet the longest is the earliest: a
 * shorter one that held it would cover the longer and so come after it.
 */
static int lpm_elems(struct cg_lookup *lk, const struct imr_chain *ch,
		     const uint32_t *keys, const uint8_t *bits, uint32_t n,
		     uint32_t w)
{
	struct lpm_seen seen;
	const struct imr_rule *r;
	uint32_t i, m = 0;
	int err = -ENOMEM;

	memset(&seen, 0, sizeof(seen));
	lk->keys = malloc(n * sizeof(*lk->keys));
	lk->rule = malloc(n * sizeof(*lk->rule));
	lk->value = malloc(n * sizeof(*lk->value));
	lk->bits = malloc(n * sizeof(*lk->bits));
	if (!lk->keys || !lk->rule || !lk->value || !lk->bits)
		goto out;
	for (i = 0; i < n; i++) {
		if (lpm_covered(&seen, w, bits[i], keys[i]))
			continue;
		if (lpm_add(&seen, bits[i], keys[i]))
			goto out;
		lk->keys[m] = keys[i];
		lk->bits[m] = bits[i];
		lk->rule[m] = lk->from + i;
		r = &ch->rules[lk->rule[m]];
		lk->value[m] = (lk->rule[m] + 1) |
			(r->stmts[r->nstmts - 1].verdict == IMR_V_DROP ?
			 CG_LOOKUP_DROP : 0);
		m++;
	}
	lk->nelems = m;
	err = 0;
out:
	lpm_seen_free(&seen);
	return err;
}

int cg_lookup_make(const struct pred_chain *pc, const struct imr_chain *ch,
		   uint32_t from, uint32_t to, struct cg_lookup *lk)
{
	struct opt_lookup_key k;
	uint32_t *keys = NULL, i, j, w = 0;
	uint8_t *bits = NULL;
	int err = -EINVAL;

	memset(lk, 0, sizeof(*lk));
	lk->from = from;
	lk->to = to;
	if (from >= to)
		return -EINVAL;
	for (i = from; i < to; i++) {
		if (!opt_lookup_rule(pc, ch, i, &k))
			goto out;
		if (i == from) {
			lk->nkeys = k.n;
			memcpy(lk->field, k.field, k.n * sizeof(k.field[0]));
			keys = malloc((size_t)(to - from) * k.n *
				      sizeof(*keys));
			bits = malloc(to - from);
			w = pc->fields[k.field[0]].width * 8;
			if (!keys || !bits) {
				err = -ENOMEM;
				goto out;
			}
		} else if (k.n != lk->nkeys ||
			   memcmp(lk->field, k.field, k.n * sizeof(k.field[0]))) {
			goto out;
		}
		for (j = 0; j < k.n; j++)
			keys[(size_t)(i - from) * k.n + j] = k.val[j];
		bits[i - from] = (uint8_t)k.bits;
		if (k.n == 1 && k.bits < w)
			lk->lpm = true;
	}
	if (lk->lpm) {
		lk->shift = 32 - w;
		err = lpm_elems(lk, ch, keys, bits, to - from, w);
	} else {
		err = dedup(lk, ch, keys, to - from);
	}
out:
	free(keys);
	free(bits);
	if (err)
		cg_lookup_free(lk);
	return err;
}

/* copied from forest.c: rule r's verdict, r the deciding rule */
static void rule_verdict(struct cg *c, const struct imr_rule *r)
{
	const struct imr_stmt *v = &r->stmts[r->nstmts - 1];

	c->rule_id = r->id;
	c->b->cur_src = r->id + 1;
	cg_final(c, v->verdict == IMR_V_DROP ? NF_DROP : NF_ACCEPT, r->id);
	c->b->cur_src = 0;
}

/* R1 = index + 1 of one of the rules idx[0 .. n), in order: its verdict */
static void dispatch(struct cg *c, const uint32_t *idx, size_t n)
{
	const struct imr_chain *ch = &c->p->chains[0];
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
	dispatch(c, idx, m);
	BIND(c, skip);
	dispatch(c, idx + m, n - m);
}

/* the target reports no deciding rule (ops->decided emits nothing) */
static bool no_decider(struct cg *c)
{
	struct bbuf scratch, *saved = c->b;
	bool none;

	bbuf_init(&scratch);
	c->b = &scratch;
	c->t->ops->decided(c, 0);
	none = !scratch.len;
	c->b = saved;
	bbuf_free(&scratch);
	return none;
}

/*
 * R1 = the map's value: the verdict.  Where the deciding rule is not
 * reported (the link target), only the verdict bit tells the rules
 * apart; else a binary search finds the rule.
 */
static void verdict(struct cg *c, const struct cg_lookup *lk)
{
	const struct imr_chain *ch = &c->p->chains[0];
	uint32_t i, acc = UINT32_MAX, drop = UINT32_MAX;
	int to_drop;

	if (!no_decider(c)) {
		E(c, I_ALU64_IMM(BPF_AND, R1, (int32_t)~CG_LOOKUP_DROP));
		dispatch(c, lk->rule, lk->nelems);
		return;
	}
	for (i = 0; i < lk->nelems; i++) {
		if (lk->value[i] & CG_LOOKUP_DROP) {
			if (drop == UINT32_MAX)
				drop = i;
		} else if (acc == UINT32_MAX) {
			acc = i;
		}
	}
	if (acc == UINT32_MAX || drop == UINT32_MAX) {
		rule_verdict(c, &ch->rules[lk->rule[acc == UINT32_MAX ?
						     drop : acc]]);
		return;
	}
	to_drop = L(c);
	J32(c, BPF_JSET, R1, (int32_t)CG_LOOKUP_DROP, to_drop);
	rule_verdict(c, &ch->rules[lk->rule[acc]]);
	BIND(c, to_drop);
	rule_verdict(c, &ch->rules[lk->rule[drop]]);
}

/* conditional jumps of dispatch() over n rules, and of its longest path */
static void dispatch_jumps(size_t n, size_t *jumps, size_t *depth)
{
	size_t j1, d1, j2, d2, m = n / 2;

	if (n <= 4) {
		*jumps = n ? n - 1 : 0;
		*depth = *jumps;
		return;
	}
	dispatch_jumps(m, &j1, &d1);
	dispatch_jumps(n - m, &j2, &d2);
	*jumps = 1 + j1 + j2;
	*depth = 1 + (d1 > d2 ? d1 : d2);
}

size_t cg_lookup_depth(const struct cg_lookup *lk)
{
	size_t jumps, depth;

	dispatch_jumps(lk->nelems, &jumps, &depth);
	return depth;
}

void cg_emit_lookup(struct cg *c, const struct pred_chain *pc,
		    const struct cg_lookup *lk, size_t map)
{
	int end = L(c);
	uint32_t k;

	c->b->cur_src = 0;
	for (k = 0; k < lk->nkeys; k++) {
		const struct pred_field *fd = &pc->fields[lk->field[k]];
		struct imr_expr *e = pred_field_expr(fd, fd->width);

		if (!e) {
			c->b->err = -ENOMEM;
			return;
		}
		c->l4_ok = false;
		c->nofrag_ok = false;
		/* a field that does not load fails every rule of the run */
		cg_eval_num(c, e, fd->width, end);
		imr_expr_put(e);
		if (!lk->lpm) {
			E(c, I_STX(BPF_W, R_FP, R1, FP_LOOKUP_KEY(k)));
			continue;
		}
		/* struct bpf_lpm_trie_key: all 32 bits, big-endian */
		if (lk->shift)
			E(c, I_ALU64_IMM(BPF_LSH, R1, (int32_t)lk->shift));
		E(c, I_BSWAP(R1, 32));
		E(c, I_STX(BPF_W, R_FP, R1, FP_LOOKUP_KEY(1)));
		E(c, I_ST(BPF_W, R_FP, FP_LOOKUP_KEY(0), 32));
	}
	bbuf_emit_ld_map_fd(c->b, R1, c->maps->lookup_fd ?
			    c->maps->lookup_fd[map] : -1);
	E(c, I_MOV64_REG(R2, R_FP));
	E(c, I_ALU64_IMM(BPF_ADD, R2, FP_LOOKUP_KEY(0)));
	E(c, I_CALL(BPF_FUNC_map_lookup_elem));
	J(c, BPF_JEQ, R0, 0, end);
	E(c, I_LDX(BPF_W, R1, R0, 0));
	if (lk->nelems)
		verdict(c, lk);
	BIND(c, end);
	c->l4_ok = false;
	c->nofrag_ok = false;
}
