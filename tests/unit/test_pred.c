// SPDX-License-Identifier: GPL-2.0
/*
 * Canonical predicates (umh/pred.c): IMR rules made by hand, as the
 * builder makes them for nft's matches (`nft --debug=netlink` shapes),
 * and their boxes: fields, intervals, failure domains, subset and
 * disjointness.  No root needed.
 */
#include <stdlib.h>
#include <string.h>

#include "imr.h"
#include "pred.h"
#include "unit.h"

#define MAXR	8

static struct imr_prog prog;
static struct imr_chain chain;
static struct imr_rule rules[MAXR];

static void reset(void)
{
	size_t i, j;

	/* the optimizer compacts the array: what is past nrules is stale */
	for (i = 0; i < chain.nrules; i++) {
		for (j = 0; j < rules[i].nstmts; j++)
			imr_expr_put(rules[i].stmts[j].expr);
		free(rules[i].stmts);
	}
	memset(rules, 0, sizeof(rules));
	memset(&chain, 0, sizeof(chain));
	memset(&prog, 0, sizeof(prog));
	chain.rules = rules;
	chain.base = true;
	prog.chains = &chain;
	prog.nchains = 1;
}

static struct imr_stmt *add(int r, enum imr_stmt_type type)
{
	struct imr_rule *rule = &rules[r];
	struct imr_stmt *s;

	s = realloc(rule->stmts, (rule->nstmts + 1) * sizeof(*s));
	if (!s)
		abort();
	rule->stmts = s;
	s = &s[rule->nstmts++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	if ((size_t)r >= chain.nrules)
		chain.nrules = (size_t)r + 1;
	return s;
}

static struct imr_expr *pl(enum imr_base base, int off, int len, bool fast)
{
	struct imr_expr *e = imr_expr_new(IMR_E_PAYLOAD, (len + 3) & ~3);

	e->payload.base = base;
	e->payload.offset = (uint8_t)off;
	e->payload.len = (uint8_t)len;
	e->payload.fast = fast;
	return e;
}

static struct imr_expr *meta(enum imr_meta m)
{
	struct imr_expr *e = imr_expr_new(IMR_E_META, 4);

	e->meta = m;
	return e;
}

/* (child & mask) ^ 0, mask given as a big-endian number of n bytes */
static struct imr_expr *masked(struct imr_expr *c, uint64_t mask, int n)
{
	struct imr_expr *e = imr_expr_new(IMR_E_MASKXOR, c->len);
	int i;

	for (i = 0; i < n; i++)
		e->maskxor.mask[i] = (uint8_t)(mask >> 8 * (n - 1 - i));
	e->child = c;
	return e;
}

static struct imr_expr *bswap(struct imr_expr *c, int size)
{
	struct imr_expr *e = imr_expr_new(IMR_E_BSWAP, 4);

	e->bswap.size = (uint8_t)size;
	e->child = c;
	return e;
}

static void be(uint8_t *dst, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		dst[i] = (uint8_t)(v >> 8 * (n - 1 - i));
}

static void cmp(int r, struct imr_expr *e, enum imr_cmp_op op, int n,
		uint64_t v)
{
	struct imr_stmt *s = add(r, IMR_S_CMP);

	s->expr = e;
	s->op = op;
	s->len = (uint8_t)n;
	be(s->val, v, n);
}

static void range(int r, struct imr_expr *e, bool eq, int n, uint64_t lo,
		  uint64_t hi)
{
	struct imr_stmt *s = add(r, IMR_S_RANGE);

	s->expr = e;
	s->op = eq ? IMR_EQ : IMR_NE;
	s->len = (uint8_t)n;
	be(s->val, lo, n);
	be(s->hi, hi, n);
}

static void verdict(int r, enum imr_verdict v)
{
	add(r, IMR_S_VERDICT)->verdict = v;
}

static void counter(int r)
{
	add(r, IMR_S_COUNTER);
}

/* ip saddr A/plen as nft writes it: whole bytes as a short cmp, else a
 * bitwise mask on the 4-byte load
 */
static void saddr(int r, uint32_t a, int plen)
{
	if (plen % 8 == 0)
		cmp(r, pl(IMR_BASE_NH, 12, plen / 8, false), IMR_EQ, plen / 8,
		    a >> (32 - plen));
	else
		cmp(r, masked(pl(IMR_BASE_NH, 12, 4, true),
			      0xffffffffULL << (32 - plen) & 0xffffffff, 4),
		    IMR_EQ, 4, a & (0xffffffffULL << (32 - plen)));
}

/* meta l4proto P; th dport D (the fast path: 2 bytes at offset 2) */
static void dport(int r, int proto, int d)
{
	cmp(r, meta(IMR_META_L4PROTO), IMR_EQ, 1, (uint64_t)proto);
	cmp(r, pl(IMR_BASE_TH, 2, 2, true), IMR_EQ, 2, (uint64_t)d);
}

static struct pred_chain pc;

static int analyze(void)
{
	return pred_chain_analyze(&prog, 0, &pc);
}

static const struct pred_term *term(int r, const char *field)
{
	char b[64];
	uint32_t i;

	for (i = 0; i < pc.rules[r].nterms; i++) {
		pred_field_print(&pc.fields[pc.rules[r].terms[i].field], b,
				 sizeof(b));
		if (!strcmp(b, field))
			return &pc.rules[r].terms[i];
	}
	return NULL;
}

static bool iv_is(const struct pred_term *t, uint32_t k, uint64_t lo,
		  uint64_t hi)
{
	return t && k < t->nivs && t->ivs[k].lo == lo && t->ivs[k].hi == hi;
}

UNIT_TEST(pred_prefixes_one_field)
{
	reset();
	saddr(0, 0x0a000000, 8);	/* nh[12:1] == 0x0a */
	verdict(0, IMR_V_ACCEPT);
	saddr(1, 0x0a010200, 24);	/* nh[12:3] == 0x0a0102 */
	verdict(1, IMR_V_DROP);
	saddr(2, 0x0a010200, 20);	/* (nh[12:4] & 0xfffff000) == */
	verdict(2, IMR_V_DROP);
	saddr(3, 0x0a010203, 32);
	verdict(3, IMR_V_DROP);
	CHECK_EQ(analyze(), 0);
	/* one field: the never-failing bytes at 12, whatever the load */
	CHECK_EQ(pc.nfields, 1);
	CHECK(iv_is(term(0, "nh[12:4]"), 0, 0x0a000000, 0x0affffff));
	CHECK(iv_is(term(1, "nh[12:4]"), 0, 0x0a010200, 0x0a0102ff));
	CHECK(iv_is(term(2, "nh[12:4]"), 0, 0x0a010000, 0x0a010fff));
	CHECK(iv_is(term(3, "nh[12:4]"), 0, 0x0a010203, 0x0a010203));
	CHECK(pc.rules[0].exact && pc.rules[0].terminal);
	CHECK(pc.rules[0].guarded && !pc.rules[0].effects);
	CHECK(pred_box_subset(&pc, &pc.rules[1], &pc.rules[0]));
	CHECK(pred_box_subset(&pc, &pc.rules[3], &pc.rules[2]));
	CHECK(!pred_box_subset(&pc, &pc.rules[0], &pc.rules[1]));
	CHECK(!pred_box_subset(&pc, &pc.rules[2], &pc.rules[1]));
	CHECK(!pred_box_disjoint(&pc, &pc.rules[1], &pc.rules[2]));
	pred_chain_free(&pc);
}

UNIT_TEST(pred_port_ranges)
{
	reset();
	/* tcp dport 1024-65535: >= and <=, the second always true */
	cmp(0, meta(IMR_META_L4PROTO), IMR_EQ, 1, 6);
	cmp(0, pl(IMR_BASE_TH, 2, 2, true), IMR_GE, 2, 1024);
	cmp(0, pl(IMR_BASE_TH, 2, 2, true), IMR_LE, 2, 65535);
	verdict(0, IMR_V_ACCEPT);
	/* tcp dport != 22-25 */
	cmp(1, meta(IMR_META_L4PROTO), IMR_EQ, 1, 6);
	range(1, pl(IMR_BASE_TH, 2, 2, true), false, 2, 22, 25);
	verdict(1, IMR_V_DROP);
	/* tcp dport 80 */
	dport(2, 6, 80);
	verdict(2, IMR_V_DROP);
	/* udp dport 80 */
	dport(3, 17, 80);
	verdict(3, IMR_V_DROP);
	/* tcp dport < 0x0100 (memcmp order) */
	cmp(4, meta(IMR_META_L4PROTO), IMR_EQ, 1, 6);
	cmp(4, pl(IMR_BASE_TH, 2, 2, true), IMR_LT, 2, 0x100);
	verdict(4, IMR_V_DROP);
	CHECK_EQ(analyze(), 0);
	CHECK(iv_is(term(0, "th[2:2]"), 0, 1024, 65535));
	CHECK_EQ(term(0, "th[2:2]")->nivs, 1);
	CHECK(iv_is(term(0, "meta l4proto"), 0, 6, 6));
	CHECK_EQ(term(1, "th[2:2]")->nivs, 2);
	CHECK(iv_is(term(1, "th[2:2]"), 0, 0, 21));
	CHECK(iv_is(term(1, "th[2:2]"), 1, 26, 65535));
	CHECK(iv_is(term(4, "th[2:2]"), 0, 0, 0xff));
	CHECK(pred_box_subset(&pc, &pc.rules[2], &pc.rules[1]));
	CHECK(!pred_box_subset(&pc, &pc.rules[2], &pc.rules[0]));
	CHECK(pred_box_disjoint(&pc, &pc.rules[2], &pc.rules[3]));
	CHECK(pred_box_disjoint(&pc, &pc.rules[0], &pc.rules[4]));
	CHECK(!pred_box_disjoint(&pc, &pc.rules[1], &pc.rules[4]));
	pred_chain_free(&pc);
}

UNIT_TEST(pred_empty_and_effects)
{
	reset();
	/* ip saddr 10.0.0.1 ip saddr 10.0.0.2 drop: never */
	saddr(0, 0x0a000001, 32);
	saddr(0, 0x0a000002, 32);
	verdict(0, IMR_V_DROP);
	/* counter before the tests: not guarded */
	counter(1);
	saddr(1, 0x0a000001, 32);
	saddr(1, 0x0a000002, 32);
	verdict(1, IMR_V_DROP);
	/* tests, counter, verdict: guarded */
	saddr(2, 0x0a000001, 32);
	counter(2);
	verdict(2, IMR_V_ACCEPT);
	/* jump: not terminal */
	saddr(3, 0x0a000001, 32);
	add(3, IMR_S_VERDICT)->verdict = IMR_V_JUMP;
	/* tcp dport 22-21: an empty range */
	cmp(4, meta(IMR_META_L4PROTO), IMR_EQ, 1, 6);
	range(4, pl(IMR_BASE_TH, 2, 2, true), true, 2, 22, 21);
	verdict(4, IMR_V_DROP);
	CHECK_EQ(analyze(), 0);
	CHECK(pc.rules[0].empty && pc.rules[0].empty_at == 1);
	CHECK(pc.rules[0].guarded && !pc.rules[0].effects);
	CHECK(pc.rules[1].empty && pc.rules[1].empty_at == 2);
	CHECK(!pc.rules[1].guarded && pc.rules[1].first_effect == 0);
	CHECK(!pc.rules[2].empty && pc.rules[2].guarded);
	CHECK(pc.rules[2].effects && pc.rules[2].terminal);
	CHECK(!pc.rules[3].terminal);
	CHECK(pc.rules[4].empty && pc.rules[4].empty_at == 1);
	/* an empty box lies in every box and meets none */
	CHECK(pred_box_subset(&pc, &pc.rules[0], &pc.rules[3]));
	CHECK(pred_box_disjoint(&pc, &pc.rules[0], &pc.rules[2]));
	pred_chain_free(&pc);
}

UNIT_TEST(pred_failure_domains)
{
	reset();
	/* th[2:2] fast, any value: tcp dport 0-65535 */
	cmp(0, pl(IMR_BASE_TH, 2, 2, true), IMR_GE, 2, 0);
	verdict(0, IMR_V_ACCEPT);
	/* no transport test at all */
	saddr(1, 0x0a000000, 8);
	verdict(1, IMR_V_DROP);
	/* th[0:2] (sport): a shorter reach than th[2:2] */
	cmp(2, pl(IMR_BASE_TH, 0, 2, true), IMR_EQ, 2, 53);
	verdict(2, IMR_V_DROP);
	/* th[1:4] on the slow path (unaligned): reaches further */
	cmp(3, pl(IMR_BASE_TH, 1, 4, false), IMR_EQ, 4, 0x00350000);
	verdict(3, IMR_V_DROP);
	/* th[2:2] fast with a value */
	cmp(4, pl(IMR_BASE_TH, 2, 2, true), IMR_EQ, 2, 53);
	verdict(4, IMR_V_DROP);
	CHECK_EQ(analyze(), 0);
	CHECK(iv_is(term(0, "th[2:2]"), 0, 0, 65535));
	/* rule 0 matches only where th[2:2] loads */
	CHECK(!pred_box_subset(&pc, &pc.rules[1], &pc.rules[0]));
	CHECK(!pred_box_subset(&pc, &pc.rules[2], &pc.rules[0]));
	/* th[0:3] on the slow path loads only if th[2:2] fast does */
	CHECK(pred_box_subset(&pc, &pc.rules[3], &pc.rules[0]));
	CHECK(pred_box_subset(&pc, &pc.rules[4], &pc.rules[0]));
	{
		struct pred_dom fast = { PRED_DOM_TH, false, 4 };
		struct pred_dom slow = { PRED_DOM_TH, true, 4 };
		struct pred_dom l4 = { PRED_DOM_L4, false, 0 };

		CHECK(pred_dom_implies(&slow, &fast));
		CHECK(!pred_dom_implies(&fast, &slow));
		CHECK(pred_dom_implies(&fast, &l4));
		CHECK(!pred_dom_implies(&l4, &fast));
	}
	pred_chain_free(&pc);
}

UNIT_TEST(pred_masks_and_byteorder)
{
	reset();
	/* tcp flags syn / fin,syn,rst,ack: not a prefix mask */
	cmp(0, masked(pl(IMR_BASE_TH, 13, 1, true), 0x17, 1), IMR_EQ, 1,
	    0x02);
	verdict(0, IMR_V_ACCEPT);
	/* meta length 33-45: hton, then a range */
	range(1, bswap(meta(IMR_META_LEN), 4), true, 4, 33, 45);
	verdict(1, IMR_V_ACCEPT);
	/* meta mark & 0xff000000 == 0x01000000 (host order bytes) */
	cmp(2, masked(meta(IMR_META_MARK), 0xff000000, 4), IMR_EQ, 4,
	    0x01000000);
	verdict(2, IMR_V_ACCEPT);
	/* ip daddr != 10.0.0.0/8 through a mask */
	cmp(3, masked(pl(IMR_BASE_NH, 16, 4, true), 0xff000000, 4), IMR_NE, 4,
	    0x0a000000);
	verdict(3, IMR_V_ACCEPT);
	CHECK_EQ(analyze(), 0);
	CHECK(!pc.rules[0].exact);
	CHECK(iv_is(term(0, "th[13:1]"), 0, 0x02, 0x02 | 0xe8));
	CHECK(pc.rules[1].exact);
	CHECK(iv_is(term(1, "bswap32(meta len)"), 0, 33, 45));
	CHECK(pc.rules[2].exact);
	CHECK(iv_is(term(2, "meta mark"), 0, 0x01000000, 0x01ffffff));
	CHECK(pc.rules[3].exact);
	CHECK_EQ(term(3, "nh[16:4]")->nivs, 2);
	CHECK(iv_is(term(3, "nh[16:4]"), 0, 0, 0x09ffffff));
	CHECK(iv_is(term(3, "nh[16:4]"), 1, 0x0b000000, 0xffffffff));
	pred_chain_free(&pc);
}

UNIT_TEST(pred_short_compare_of_padded_value)
{
	reset();
	/* meta l4proto compared over 4 bytes (zero padding included) */
	cmp(0, meta(IMR_META_L4PROTO), IMR_EQ, 4, 0x06000000);
	verdict(0, IMR_V_ACCEPT);
	/* ... and a value whose padding is not zero: never */
	cmp(1, meta(IMR_META_L4PROTO), IMR_EQ, 4, 0x06000001);
	verdict(1, IMR_V_ACCEPT);
	/* meta l4proto >= 0x06000001 over 4 bytes: 7..255 */
	cmp(2, meta(IMR_META_L4PROTO), IMR_GE, 4, 0x06000001);
	verdict(2, IMR_V_ACCEPT);
	CHECK_EQ(analyze(), 0);
	CHECK(iv_is(term(0, "meta l4proto"), 0, 6, 6));
	CHECK(pc.rules[1].empty);
	CHECK(iv_is(term(2, "meta l4proto"), 0, 7, 255));
	pred_chain_free(&pc);
	reset();
}

/* ----------------------------------------------------- the passes */

#include "opt.h"

static struct imr_rule *by_id[MAXR];

/* handles 10, 20, ...; ids 0, 1, ...; rule_by_id filled */
static void number_rules(void)
{
	size_t i;

	for (i = 0; i < chain.nrules; i++) {
		rules[i].handle = 10 * (i + 1);
		rules[i].id = (uint32_t)i;
		by_id[i] = &rules[i];
	}
	chain.first_unsupported = -1;
	prog.rule_by_id = by_id;
	prog.nrule_ids = (uint32_t)chain.nrules;
}

/* free what the optimizer added: ghosts */
static void opt_done(struct opt_report *rep)
{
	size_t i;

	for (i = 0; i < prog.nghosts; i++)
		free(prog.ghosts[i]);
	free(prog.ghosts);
	prog.ghosts = NULL;
	prog.nghosts = 0;
	opt_report_free(rep);
}

UNIT_TEST(opt_dead_rules)
{
	struct opt_report rep;
	char line[256];

	reset();
	saddr(0, 0x0a000001, 32);
	saddr(0, 0x0a000002, 32);
	verdict(0, IMR_V_DROP);
	counter(1);			/* counts before the contradiction */
	saddr(1, 0x0a000001, 32);
	saddr(1, 0x0a000002, 32);
	verdict(1, IMR_V_DROP);
	saddr(2, 0x0a000001, 32);
	verdict(2, IMR_V_ACCEPT);
	number_rules();
	CHECK_EQ(imr_optimize(&prog, 1u << OPT_DEAD, &rep), 0);
	CHECK_EQ(chain.nrules, 3);	/* only dead removes them */
	opt_done(&rep);
	CHECK_EQ(imr_optimize(&prog, 0, &rep), 0);
	CHECK_EQ(chain.nrules, 2);
	CHECK_EQ(chain.rules[0].handle, 20);
	CHECK_EQ(chain.rules[1].handle, 30);
	CHECK_EQ(rep.pass[OPT_DEAD].rules_removed, 1);
	CHECK_EQ(rep.nnotes, 1);
	opt_note_print(&prog, &rep.notes[0], line, sizeof(line));
	CHECK(strstr(line, "rule handle 10 can never match") != NULL);
	/* the removed rule keeps its identity, the others their place */
	CHECK(prog.rule_by_id[0]->removed && prog.rule_by_id[0]->handle == 10);
	CHECK(prog.rule_by_id[1] == &chain.rules[0]);
	CHECK(prog.rule_by_id[2] == &chain.rules[1]);
	opt_done(&rep);
	reset();
}

UNIT_TEST(opt_shadowed_rules)
{
	struct opt_report rep;
	char line[256];

	reset();
	saddr(0, 0x0a000000, 8);		/* 10/8 accept: decides */
	counter(0);
	verdict(0, IMR_V_ACCEPT);
	saddr(1, 0x0a010000, 16);		/* inside: removed */
	dport(1, 6, 22);
	counter(1);
	verdict(1, IMR_V_DROP);
	counter(2);				/* counts first: kept */
	saddr(2, 0x0a010000, 16);
	verdict(2, IMR_V_DROP);
	saddr(3, 0x0b000000, 8);		/* elsewhere: kept */
	verdict(3, IMR_V_DROP);
	cmp(4, masked(pl(IMR_BASE_TH, 13, 1, true), 0x17, 1), IMR_EQ, 1, 2);
	verdict(4, IMR_V_ACCEPT);		/* inexact: decides nothing */
	cmp(5, masked(pl(IMR_BASE_TH, 13, 1, true), 0x17, 1), IMR_EQ, 1, 2);
	saddr(5, 0x0c000000, 8);
	verdict(5, IMR_V_DROP);			/* kept */
	saddr(6, 0x0b000000, 16);		/* inside rule 3 (drop) */
	verdict(6, IMR_V_ACCEPT);
	number_rules();
	CHECK_EQ(imr_optimize(&prog, 1u << OPT_SHADOW, &rep), 0);
	CHECK_EQ(chain.nrules, 7);
	opt_done(&rep);
	CHECK_EQ(imr_optimize(&prog, 0, &rep), 0);
	CHECK_EQ(rep.pass[OPT_SHADOW].rules_removed, 2);
	CHECK_EQ(chain.nrules, 5);
	CHECK_EQ(chain.rules[1].handle, 30);
	CHECK_EQ(chain.rules[3].handle, 50);
	CHECK_EQ(chain.rules[4].handle, 60);
	CHECK_EQ(rep.nnotes, 2);
	opt_note_print(&prog, &rep.notes[0], line, sizeof(line));
	CHECK(strstr(line, "rule handle 20 can never match: rule handle 10 catches all its packets") != NULL);
	CHECK(rep.notes[1].handle == 70 && rep.notes[1].by == 40);
	opt_done(&rep);
	reset();
}

UNIT_TEST(opt_shadow_respects_the_interpreter)
{
	struct opt_report rep;

	reset();
	saddr(0, 0x0a000000, 8);
	verdict(0, IMR_V_ACCEPT);
	rules[1].unsupported = true;		/* the interpreter from here */
	add(1, IMR_S_VERDICT)->verdict = IMR_V_ACCEPT;
	saddr(2, 0x0a010000, 16);
	verdict(2, IMR_V_DROP);
	number_rules();
	chain.first_unsupported = 1;
	CHECK_EQ(imr_optimize(&prog, 0, &rep), 0);
	CHECK_EQ(chain.nrules, 3);
	CHECK_EQ(chain.first_unsupported, 1);
	opt_done(&rep);
	/* a removal before it moves it */
	reset();
	saddr(0, 0x0a000000, 8);
	verdict(0, IMR_V_ACCEPT);
	saddr(1, 0x0a010000, 16);
	verdict(1, IMR_V_DROP);
	rules[2].unsupported = true;
	add(2, IMR_S_VERDICT)->verdict = IMR_V_ACCEPT;
	number_rules();
	chain.first_unsupported = 2;
	CHECK_EQ(imr_optimize(&prog, 0, &rep), 0);
	CHECK_EQ(chain.nrules, 2);
	CHECK_EQ(chain.first_unsupported, 1);
	opt_done(&rep);
	reset();
}

UNIT_TEST(opt_fuse_tests)
{
	struct opt_report rep;
	const struct imr_stmt *s;

	reset();
	/* tcp dport 1024-65535 as nft emits it */
	cmp(0, meta(IMR_META_L4PROTO), IMR_EQ, 1, 6);
	cmp(0, pl(IMR_BASE_TH, 2, 2, true), IMR_GE, 2, 1024);
	cmp(0, pl(IMR_BASE_TH, 2, 2, true), IMR_LE, 2, 65535);
	verdict(0, IMR_V_ACCEPT);
	/* th[2:2] <= 65535 alone: its load is the test, kept */
	cmp(1, meta(IMR_META_L4PROTO), IMR_EQ, 1, 6);
	cmp(1, pl(IMR_BASE_TH, 2, 2, true), IMR_LE, 2, 65535);
	verdict(1, IMR_V_ACCEPT);
	/* two prefixes of one address: one test */
	saddr(2, 0x0a000000, 8);
	saddr(2, 0x0a010000, 16);
	verdict(2, IMR_V_ACCEPT);
	/* >= 10 and <= 20 on th[0:2]: a range */
	cmp(3, pl(IMR_BASE_TH, 0, 2, true), IMR_GE, 2, 10);
	cmp(3, pl(IMR_BASE_TH, 0, 2, true), IMR_LE, 2, 20);
	verdict(3, IMR_V_ACCEPT);
	/* ip daddr >= 10.0.0.0 ip daddr < 10.1.0.0: 10.0.0.0/16 */
	cmp(4, pl(IMR_BASE_NH, 16, 4, true), IMR_GE, 4, 0x0a000000);
	cmp(4, pl(IMR_BASE_NH, 16, 4, true), IMR_LT, 4, 0x0a010000);
	verdict(4, IMR_V_ACCEPT);
	number_rules();
	CHECK_EQ(imr_optimize(&prog, 0, &rep), 0);
	CHECK_EQ(chain.nrules, 5);
	CHECK_EQ(chain.rules[0].nstmts, 3);
	s = &chain.rules[0].stmts[1];
	CHECK(s->type == IMR_S_CMP && s->op == IMR_GE && s->len == 2);
	CHECK(s->val[0] == 0x04 && s->val[1] == 0x00);
	CHECK(s->expr->type == IMR_E_PAYLOAD && s->expr->payload.fast);
	CHECK_EQ(chain.rules[1].nstmts, 3);
	CHECK_EQ(chain.rules[2].nstmts, 2);
	s = &chain.rules[2].stmts[0];
	/* 10.1.0.0/16: the first two bytes of the address */
	CHECK(s->type == IMR_S_CMP && s->op == IMR_EQ && s->len == 2);
	CHECK(s->expr->payload.offset == 12 && s->expr->payload.len == 2);
	CHECK(s->val[0] == 10 && s->val[1] == 1);
	s = &chain.rules[3].stmts[0];
	CHECK(s->type == IMR_S_RANGE && s->op == IMR_EQ && s->len == 2);
	CHECK(s->val[1] == 10 && s->hi[1] == 20);
	s = &chain.rules[4].stmts[0];
	CHECK(s->type == IMR_S_CMP && s->op == IMR_EQ && s->len == 2);
	CHECK(s->expr->payload.offset == 16 && s->expr->payload.len == 2);
	CHECK(s->val[0] == 10 && s->val[1] == 0);
	CHECK_EQ(rep.pass[OPT_FUSE].tests_before, 8);
	CHECK_EQ(rep.pass[OPT_FUSE].tests_after, 4);
	opt_done(&rep);
	reset();
}

UNIT_TEST(opt_parse_pass_names)
{
	unsigned int m;
	char why[128];

	CHECK_EQ(opt_parse_passes("dead,fuse", &m, why, sizeof(why)), 0);
	CHECK_EQ(m, (1u << OPT_DEAD) | (1u << OPT_FUSE));
	CHECK_EQ(opt_parse_passes("all", &m, why, sizeof(why)), 0);
	CHECK_EQ(m, OPT_ALL);
	CHECK(opt_parse_passes("dead,nope", &m, why, sizeof(why)) < 0);
	CHECK(strstr(why, "nope") != NULL);
}
