// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imr.h"
#include "model.h"

struct imr_expr *imr_expr_new(enum imr_expr_type type, uint8_t len)
{
	struct imr_expr *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->type = type;
	e->len = len;
	e->refs = 1;
	return e;
}

struct imr_expr *imr_expr_get(struct imr_expr *e)
{
	if (e)
		e->refs++;
	return e;
}

void imr_expr_put(struct imr_expr *e)
{
	unsigned int i;

	if (!e || --e->refs)
		return;
	imr_expr_put(e->child);
	for (i = 0; i < e->ncomp; i++)
		imr_expr_put(e->comp[i]);
	free(e->comp);
	free(e);
}

bool imr_expr_equal(const struct imr_expr *a, const struct imr_expr *b)
{
	unsigned int i;

	if (a == b)
		return true;
	if (!a || !b || a->type != b->type || a->len != b->len ||
	    a->ncomp != b->ncomp)
		return false;
	switch (a->type) {
	case IMR_E_PAYLOAD:
		if (a->payload.base != b->payload.base ||
		    a->payload.offset != b->payload.offset ||
		    a->payload.len != b->payload.len ||
		    a->payload.fast != b->payload.fast)
			return false;
		break;
	case IMR_E_META:
		if (a->meta != b->meta)
			return false;
		break;
	case IMR_E_MASKXOR:
		if (memcmp(a->maskxor.mask, b->maskxor.mask, a->len) ||
		    memcmp(a->maskxor.xor, b->maskxor.xor, a->len))
			return false;
		break;
	case IMR_E_SHIFT:
		if (a->shift.left != b->shift.left ||
		    a->shift.bits != b->shift.bits)
			return false;
		break;
	case IMR_E_BSWAP:
		if (a->bswap.size != b->bswap.size)
			return false;
		break;
	case IMR_E_CONCAT:
		break;
	case IMR_E_SVC:
		if (a->svc.index != b->svc.index || a->svc.word != b->svc.word)
			return false;
		break;
	}
	for (i = 0; i < a->ncomp; i++)
		if (!imr_expr_equal(a->comp[i], b->comp[i]))
			return false;
	return imr_expr_equal(a->child, b->child);
}

uint32_t imr_rule_pos(const struct imr_chain *ch, size_t i)
{
	return i < ch->nrules ? ch->rules[i].pos : ch->npos;
}

const struct imr_rule *imr_rule_at_pos(const struct imr_chain *ch,
				       uint32_t pos)
{
	size_t lo = 0, hi = ch->nrules, mid;

	/* positions only grow along the chain */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ch->rules[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ch->nrules && ch->rules[lo].pos == pos ?
	       &ch->rules[lo] : NULL;
}

static void imr_rule_release(struct imr_rule *r)
{
	size_t i;

	for (i = 0; i < r->nstmts; i++)
		imr_expr_put(r->stmts[i].expr);
	free(r->stmts);
}

void imr_prog_free(struct imr_prog *p)
{
	size_t i, j;

	for (i = 0; i < p->nchains; i++) {
		for (j = 0; j < p->chains[i].nrules; j++)
			imr_rule_release(&p->chains[i].rules[j]);
		free(p->chains[i].rules);
		free(p->chains[i].runs);
		free(p->chains[i].lookups);
	}
	free(p->chains);
	for (i = 0; i < p->nsets; i++) {
		free(p->sets[i].actions);
		free(p->sets[i].elem_action);
	}
	free(p->sets);
	free(p->rule_by_id);
	free(p->chain_of_id);
	free(p->svcs);
	for (i = 0; i < p->nghosts; i++)
		free(p->ghosts[i]);
	free(p->ghosts);
	memset(p, 0, sizeof(*p));
}

static const char *const meta_names[] = {
	[IMR_META_LEN] = "len", [IMR_META_PROTOCOL] = "protocol",
	[IMR_META_NFPROTO] = "nfproto", [IMR_META_L4PROTO] = "l4proto",
	[IMR_META_MARK] = "mark", [IMR_META_IIF] = "iif",
	[IMR_META_OIF] = "oif", [IMR_META_IIFTYPE] = "iiftype",
	[IMR_META_OIFTYPE] = "oiftype", [IMR_META_PKTTYPE] = "pkttype",
	[IMR_META_SKUID] = "skuid", [IMR_META_SKGID] = "skgid",
};

unsigned int imr_meta_len(enum imr_meta m)
{
	switch (m) {
	case IMR_META_NFPROTO:
	case IMR_META_L4PROTO:
	case IMR_META_PKTTYPE:
		return 1;
	case IMR_META_PROTOCOL:
	case IMR_META_IIFTYPE:
	case IMR_META_OIFTYPE:
		return 2;
	default:
		return 4;
	}
}

const char *imr_meta_name(enum imr_meta m)
{
	return meta_names[m];
}

const char *imr_base_name(enum imr_base b)
{
	static const char *const n[] = { "ll", "nh", "th" };

	return n[b];
}

const char *imr_verdict_name(enum imr_verdict v)
{
	static const char *const n[] = {
		"accept", "drop", "continue", "return", "jump", "goto",
	};

	return n[v];
}

const char *imr_svc_kind_name(enum imr_svc_kind k)
{
	static const char *const n[] = {
		"counter", "lookup", "map", "vmap", "ct", "meta",
	};

	return n[k];
}

const char *imr_op_name(enum imr_cmp_op op)
{
	static const char *const n[] = { "==", "!=", "<", "<=", ">", ">=" };

	return n[op];
}

static int hex(char *buf, size_t size, const uint8_t *v, unsigned int len)
{
	unsigned int i;
	int n = snprintf(buf, size, "0x");

	for (i = 0; i < len; i++)
		n += snprintf(buf + n, (size_t)n < size ? size - n : 0,
			      "%02x", v[i]);
	return n;
}

#define ADV(n) do { off += (n); if ((size_t)off >= size) return off; } while (0)

int imr_expr_print(const struct imr_expr *e, char *buf, size_t size)
{
	int off = 0;
	unsigned int i;

	switch (e->type) {
	case IMR_E_PAYLOAD:
		return snprintf(buf, size, "%s[%u:%u]",
				imr_base_name(e->payload.base),
				e->payload.offset, e->payload.len);
	case IMR_E_META:
		return snprintf(buf, size, "meta.%s", imr_meta_name(e->meta));
	case IMR_E_MASKXOR:
		ADV(snprintf(buf, size, "(("));
		ADV(imr_expr_print(e->child, buf + off, size - off));
		ADV(snprintf(buf + off, size - off, " & "));
		ADV(hex(buf + off, size - off, e->maskxor.mask, e->len));
		ADV(snprintf(buf + off, size - off, ") ^ "));
		ADV(hex(buf + off, size - off, e->maskxor.xor, e->len));
		ADV(snprintf(buf + off, size - off, ")"));
		return off;
	case IMR_E_SHIFT:
		ADV(snprintf(buf, size, "("));
		ADV(imr_expr_print(e->child, buf + off, size - off));
		return off + snprintf(buf + off, size - off, " %s %u)",
				      e->shift.left ? "<<" : ">>",
				      e->shift.bits);
	case IMR_E_BSWAP:
		ADV(snprintf(buf, size, "bswap%u(", e->bswap.size * 8));
		ADV(imr_expr_print(e->child, buf + off, size - off));
		return off + snprintf(buf + off, size - off, ")");
	case IMR_E_CONCAT:
		for (i = 0; i < e->ncomp; i++) {
			if (i)
				ADV(snprintf(buf + off, size - off, " . "));
			ADV(imr_expr_print(e->comp[i], buf + off, size - off));
		}
		return off;
	case IMR_E_SVC:
		if (e->svc.index == IMR_SVC_PRUNED)
			return snprintf(buf, size, "svc-.%s", e->svc.name);
		return snprintf(buf, size, "svc%u.%s", e->svc.index,
				e->svc.name);
	}
	return 0;
}

/*
 * svc2: counter
 * svc0: nh[12:4] -> regs[4] in @blocklist
 * svc1: ct.state -> regs[4]
 */
static int svc_stmt_print(const struct imr_prog *p, const struct imr_stmt *s,
			  char *buf, size_t size)
{
	const struct imr_svc *v;
	int off = 0;

	if (s->svc >= p->nsvcs)		/* pruned: the rule does not run */
		return snprintf(buf, size, "svc-: pruned");
	v = &p->svcs[s->svc];
	ADV(snprintf(buf, size, "svc%u: ", s->svc));
	switch (v->kind) {
	case IMR_SVC_COUNTER:
		return off + snprintf(buf + off, size - off, "counter");
	case IMR_SVC_CT:
	case IMR_SVC_META:
		return off + snprintf(buf + off, size - off, "%s -> regs[%d]",
				      v->text, v->out_word);
	case IMR_SVC_LOOKUP:
	case IMR_SVC_MAP:
	case IMR_SVC_VMAP:
		break;
	}
	ADV(imr_expr_print(s->expr, buf + off, size - off));
	ADV(snprintf(buf + off, size - off, " -> regs[%d] %s", v->key_word,
		     v->kind == IMR_SVC_VMAP ? "vmap" : v->kind == IMR_SVC_MAP ?
		     "map" : s->invert ? "not in" : "in"));
	ADV(snprintf(buf + off, size - off, " @%s",
		     s->set >= 0 ? p->sets[s->set].nset->name : "?"));
	if (v->kind == IMR_SVC_MAP)
		ADV(snprintf(buf + off, size - off, " -> regs[%d]",
			     v->out_word));
	return off;
}

static int stmt_print(const struct imr_prog *p, const struct imr_stmt *s,
		      char *buf, size_t size)
{
	int off = 0;

	switch (s->type) {
	case IMR_S_CMP:
		ADV(imr_expr_print(s->expr, buf, size));
		ADV(snprintf(buf + off, size - off, " %s ",
			     imr_op_name(s->op)));
		return off + hex(buf + off, size - off, s->val, s->len);
	case IMR_S_RANGE:
		ADV(imr_expr_print(s->expr, buf, size));
		ADV(snprintf(buf + off, size - off, " %sin [",
			     s->op == IMR_NE ? "not " : ""));
		ADV(hex(buf + off, size - off, s->val, s->len));
		ADV(snprintf(buf + off, size - off, ", "));
		ADV(hex(buf + off, size - off, s->hi, s->len));
		return off + snprintf(buf + off, size - off, "]");
	case IMR_S_LOOKUP:
	case IMR_S_VMAP:
		ADV(imr_expr_print(s->expr, buf, size));
		return off + snprintf(buf + off, size - off, " %s @%s",
				      s->type == IMR_S_VMAP ? "vmap" :
				      s->invert ? "not in" : "in",
				      p->sets[s->set].nset->name);
	case IMR_S_COUNTER:
		return snprintf(buf, size, "counter #%u", s->counter_id);
	case IMR_S_SERVICE:
		return svc_stmt_print(p, s, buf, size);
	case IMR_S_VERDICT:
		if (s->verdict == IMR_V_JUMP || s->verdict == IMR_V_GOTO)
			return snprintf(buf, size, "%s %s",
					imr_verdict_name(s->verdict),
					p->chains[s->chain].name);
		return snprintf(buf, size, "%s", imr_verdict_name(s->verdict));
	}
	return 0;
}

void imr_rule_print(const struct imr_prog *p, const struct imr_rule *r,
		    char *buf, size_t size)
{
	int off = 0;
	size_t i;

	buf[0] = '\0';
	if (r->unsupported) {
		snprintf(buf, size, "interpreter: %s", r->reason);
		return;
	}
	for (i = 0; i < r->nstmts && (size_t)off < size; i++) {
		if (i)
			off += snprintf(buf + off, size - off, "; ");
		if ((size_t)off >= size)
			break;
		off += stmt_print(p, &r->stmts[i], buf + off, size - off);
	}
}

static const char *family_str(uint32_t f)
{
	return f == 2 ? "ip" : f == 10 ? "ip6" : f == 1 ? "inet" : "?";
}

static const char *hook_str(uint32_t h)
{
	static const char *const n[] = {
		"prerouting", "input", "forward", "output", "postrouting",
	};

	return h < sizeof(n) / sizeof(n[0]) ? n[h] : "?";
}

static void set_print(const struct imr_prog *p, size_t i, FILE *f)
{
	const struct imr_set *is = &p->sets[i];
	size_t k;

	fprintf(f, "set %zu @%s: flags 0x%x, key %u bytes, %zu elements",
		i, is->nset->name, is->nset->flags, is->nset->key_len,
		is->nset->nelems);
	for (k = 0; k < is->nactions; k++) {
		fprintf(f, "%s%s", k ? ", " : "; actions ",
			imr_verdict_name(is->actions[k].verdict));
		if (is->actions[k].chain >= 0)
			fprintf(f, " %s", p->chains[is->actions[k].chain].name);
	}
	fputc('\n', f);
}

void imr_prog_print(const struct imr_prog *p, FILE *f)
{
	char buf[4096];
	size_t i, j;

	fprintf(f, "table %s %s\n", family_str(p->family), p->table);
	for (i = 0; i < p->nchains; i++) {
		const struct imr_chain *ch = &p->chains[i];

		if (ch->base)
			fprintf(f, "chain %s: hook %s, priority %d, policy %s, depth %u\n",
				ch->name, hook_str(ch->hook), (int)ch->prio,
				ch->policy ? "accept" : "drop", ch->depth);
		else
			fprintf(f, "chain %s: depth %u\n", ch->name, ch->depth);
		for (j = 0; j < ch->nrules; j++) {
			imr_rule_print(p, &ch->rules[j], buf, sizeof(buf));
			fprintf(f, "  %zu: id %u handle %llu: %s\n", j,
				ch->rules[j].id,
				(unsigned long long)ch->rules[j].handle, buf);
		}
	}
	for (i = 0; i < p->nsets; i++)
		set_print(p, i, f);
	for (i = 0; i < p->nsvcs; i++)
		fprintf(f, "svc %zu: %s rule id %u handle %llu #%u %s: %s\n", i,
			p->chains[p->svcs[i].chain].name, p->svcs[i].rule_id,
			(unsigned long long)p->svcs[i].handle, p->svcs[i].pos,
			imr_svc_kind_name(p->svcs[i].kind), p->svcs[i].text);
}

static void reach(const struct imr_prog *p, int chain, bool *reached)
{
	const struct imr_chain *ch = &p->chains[chain];
	size_t i, j, k;

	reached[chain] = true;
	for (i = 0; i < ch->nrules; i++) {
		if (!imr_rule_runs(p, reached, chain, i))
			continue;
		for (j = 0; j < ch->rules[i].nstmts; j++) {
			const struct imr_stmt *s = &ch->rules[i].stmts[j];
			const struct imr_set *is;

			if (s->type == IMR_S_VERDICT && s->chain >= 0 &&
			    !reached[s->chain])
				reach(p, s->chain, reached);
			if (s->type != IMR_S_VMAP)
				continue;
			is = &p->sets[s->set];
			for (k = 0; k < is->nactions; k++)
				if (is->actions[k].chain >= 0 &&
				    !reached[is->actions[k].chain])
					reach(p, is->actions[k].chain,
					      reached);
		}
	}
}

void imr_reached(const struct imr_prog *p, bool *reached)
{
	memset(reached, 0, p->nchains * sizeof(*reached));
	if (p->nchains)
		reach(p, 0, reached);
}

bool imr_rule_runs(const struct imr_prog *p, const bool *reached,
		   int chain, size_t i)
{
	const struct imr_chain *ch = &p->chains[chain];

	if (!reached[chain] || ch->rules[i].unsupported)
		return false;
	return chain || ch->first_unsupported < 0 ||
	       i < (size_t)ch->first_unsupported;
}

void imr_unsupported(struct imr_rule *r, const char *fmt, ...)
{
	va_list ap;

	if (r->unsupported)
		return;
	r->unsupported = true;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

bool imr_tree_rule_ok(const struct imr_rule *r)
{
	const struct imr_stmt *v;
	size_t i;

	if (r->unsupported || r->removed || !r->nstmts)
		return false;
	v = &r->stmts[r->nstmts - 1];
	if (v->type != IMR_S_VERDICT ||
	    (v->verdict != IMR_V_ACCEPT && v->verdict != IMR_V_DROP))
		return false;
	for (i = 0; i + 1 < r->nstmts; i++)
		if (r->stmts[i].type != IMR_S_CMP &&
		    r->stmts[i].type != IMR_S_RANGE)
			return false;
	return true;
}
