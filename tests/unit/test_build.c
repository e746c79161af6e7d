// SPDX-License-Identifier: GPL-2.0
/*
 * IMR builder tests: small rulesets loaded with nft in a fresh network
 * namespace, dumped, built with imr_build() and the IMR checked
 * statement by statement.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "build.h"
#include "imr.h"
#include "netns_util.h"
#include "unit.h"

static struct imr_prog prog;
static char why[256];

/* build base chain t/c of family ip with all capabilities */
static int build(const struct nftj_ruleset *rs, uint32_t family,
		 const char *chain, unsigned int caps)
{
	return imr_build(&prog, rs, family, "t", chain, caps, why,
			 sizeof(why));
}

static int chain_idx(const struct imr_prog *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nchains; i++)
		if (!strcmp(p->chains[i].name, name))
			return (int)i;
	return -1;
}

static const struct imr_rule *rule_at(const char *chain, size_t n)
{
	int i = chain_idx(&prog, chain);

	if (i < 0 || n >= prog.chains[i].nrules)
		return NULL;
	return &prog.chains[i].rules[n];
}

static bool is_payload(const struct imr_expr *e, enum imr_base base,
		       unsigned int off, unsigned int len, bool fast)
{
	return e && e->type == IMR_E_PAYLOAD && e->payload.base == base &&
	       e->payload.offset == off && e->payload.len == len &&
	       e->payload.fast == fast && e->len == ((len + 3) & ~3U);
}

static bool is_meta(const struct imr_expr *e, enum imr_meta m)
{
	return e && e->type == IMR_E_META && e->meta == m && e->len == 4;
}

/* a CMP statement: op, value bytes */
static bool is_cmp(const struct imr_stmt *s, enum imr_cmp_op op,
		   const void *val, unsigned int len)
{
	return s->type == IMR_S_CMP && s->op == op && s->len == len &&
	       !memcmp(s->val, val, len);
}

static bool is_verdict(const struct imr_stmt *s, enum imr_verdict v,
		       int chain)
{
	return s->type == IMR_S_VERDICT && s->verdict == v &&
	       s->chain == chain;
}

/* the l4proto test nft puts in front of transport header matches */
static bool is_l4proto(const struct imr_stmt *s, uint8_t proto)
{
	return is_cmp(s, IMR_EQ, &proto, 1) &&
	       is_meta(s->expr, IMR_META_L4PROTO);
}

/* ---- values and relations ------------------------------------------- */

static const char rs_saddr[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 10; policy drop;\n"
	"		ip saddr 1.2.3.4 drop\n"
	"	}\n"
	"}\n";

static void check_saddr(struct nftj_ruleset *rs)
{
	static const uint8_t addr[] = { 1, 2, 3, 4 };
	const struct imr_chain *ch;
	const struct imr_rule *r;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.family, NFPROTO_IPV4);
	CHECK_STR(prog.table, "t");
	CHECK_EQ(prog.caps, IMR_CAP_ALL);
	CHECK_EQ(prog.genid, rs->genid);
	CHECK_EQ(prog.nchains, 1);
	ch = &prog.chains[0];
	CHECK_STR(ch->name, "c");
	CHECK(ch->base);
	CHECK_EQ(ch->hook, NF_INET_LOCAL_IN);
	CHECK_EQ(ch->prio, 10);
	CHECK_EQ(ch->policy, NF_DROP);
	CHECK_EQ(ch->first_unsupported, -1);
	CHECK_EQ(ch->depth, 0);
	CHECK_EQ(ch->nrules, 1);
	CHECK_EQ(prog.nsets, 0);

	r = &ch->rules[0];
	CHECK(!r->unsupported);
	CHECK(r->handle != 0);
	CHECK_EQ(r->nstmts, 2);
	CHECK(is_cmp(&r->stmts[0], IMR_EQ, addr, 4));
	CHECK(is_payload(r->stmts[0].expr, IMR_BASE_NH, 12, 4, true));
	CHECK(is_verdict(&r->stmts[1], IMR_V_DROP, -1));
	CHECK(!r->has_counter);

	CHECK_EQ(prog.nrule_ids, 1);
	CHECK_EQ(r->id, 0);
	CHECK(prog.rule_by_id[0] == r);
	CHECK_EQ(prog.chain_of_id[0], 0);
	imr_prog_free(&prog);
}

UNIT_TEST(build_ip_saddr_drop)
{
	NETNS_TEST(rs_saddr, check_saddr);
}

static const char rs_values[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		tcp dport 22 accept\n"
	"		ip saddr 10.0.0.0/8 accept\n"
	"		tcp flags & (syn|ack) == syn accept\n"
	"		meta length 33-45 accept\n"
	"		meta length != 33-45 accept\n"
	"		udp sport != 53 accept\n"
	"	}\n"
	"}\n";

static void check_values(struct nftj_ruleset *rs)
{
	static const uint8_t port22[] = { 0, 22 }, port53[] = { 0, 53 };
	static const uint8_t lo[] = { 0, 0, 0, 33 }, hi[] = { 0, 0, 0, 45 };
	const uint8_t net10 = 10, syn = 0x02;
	const struct imr_stmt *s;
	const struct imr_rule *r;
	const struct imr_expr *e;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.chains[0].policy, NF_ACCEPT);
	CHECK_EQ(prog.chains[0].nrules, 6);
	CHECK_EQ(prog.chains[0].first_unsupported, -1);

	/* tcp dport 22 accept */
	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 3);
	CHECK(is_l4proto(&r->stmts[0], 6));
	CHECK(is_cmp(&r->stmts[1], IMR_EQ, port22, 2));
	CHECK(is_payload(r->stmts[1].expr, IMR_BASE_TH, 2, 2, true));
	CHECK(is_verdict(&r->stmts[2], IMR_V_ACCEPT, -1));

	/* ip saddr 10.0.0.0/8: nft compares the first byte only */
	r = rule_at("c", 1);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 2);
	CHECK(is_cmp(&r->stmts[0], IMR_EQ, &net10, 1));
	CHECK(is_payload(r->stmts[0].expr, IMR_BASE_NH, 12, 1, true));

	/* tcp flags & (syn|ack) == syn */
	r = rule_at("c", 2);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 3);
	CHECK(is_l4proto(&r->stmts[0], 6));
	s = &r->stmts[1];
	CHECK(is_cmp(s, IMR_EQ, &syn, 1));
	e = s->expr;
	CHECK(e && e->type == IMR_E_MASKXOR);
	CHECK_EQ(e->maskxor.mask[0], 0x12);
	CHECK_EQ(e->maskxor.xor[0], 0);
	CHECK(is_payload(e->child, IMR_BASE_TH, 13, 1, true));

	/*
	 * meta length 33-45: nft 1.0.x emits cmp gte + cmp lte, other
	 * versions a range expression; both over hton(meta len).
	 */
	r = rule_at("c", 3);
	CHECK(r && !r->unsupported);
	s = &r->stmts[0];
	e = s->expr;
	CHECK(e && e->type == IMR_E_BSWAP && e->bswap.size == 4 &&
	      e->len == 4);
	CHECK(is_meta(e->child, IMR_META_LEN));
	if (s->type == IMR_S_RANGE) {
		CHECK_EQ(r->nstmts, 2);
		CHECK_EQ(s->op, IMR_EQ);
		CHECK_EQ(s->len, 4);
		CHECK(!memcmp(s->val, lo, 4) && !memcmp(s->hi, hi, 4));
	} else {
		CHECK_EQ(r->nstmts, 3);
		CHECK(is_cmp(s, IMR_GE, lo, 4));
		CHECK(is_cmp(&r->stmts[1], IMR_LE, hi, 4));
		e = r->stmts[1].expr;
		CHECK(e && e->type == IMR_E_BSWAP &&
		      is_meta(e->child, IMR_META_LEN));
	}
	CHECK(is_verdict(&r->stmts[r->nstmts - 1], IMR_V_ACCEPT, -1));

	/* meta length != 33-45: a range expression, negated */
	r = rule_at("c", 4);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 2);
	s = &r->stmts[0];
	CHECK_EQ(s->type, IMR_S_RANGE);
	CHECK_EQ(s->op, IMR_NE);
	CHECK_EQ(s->len, 4);
	CHECK(!memcmp(s->val, lo, 4) && !memcmp(s->hi, hi, 4));
	e = s->expr;
	CHECK(e && e->type == IMR_E_BSWAP && e->bswap.size == 4);
	CHECK(is_meta(e->child, IMR_META_LEN));

	/* udp sport != 53 */
	r = rule_at("c", 5);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 3);
	CHECK(is_l4proto(&r->stmts[0], 17));
	CHECK(is_cmp(&r->stmts[1], IMR_NE, port53, 2));
	CHECK(is_payload(r->stmts[1].expr, IMR_BASE_TH, 0, 2, true));
	imr_prog_free(&prog);
}

UNIT_TEST(build_values)
{
	NETNS_TEST(rs_values, check_values);
}

static const char rs_ip6[] =
	"table ip6 t {\n"
	"	chain c {\n"
	"		type filter hook output priority 0;\n"
	"		ip6 saddr 2001:db8::1 accept\n"
	"		ip6 daddr < 2001:db8::1 accept\n"
	"	}\n"
	"}\n"
	"table inet t {\n"
	"	chain c {\n"
	"		type filter hook forward priority 0;\n"
	"		ip saddr 1.2.3.4 accept\n"
	"	}\n"
	"}\n";

static void check_ip6(struct nftj_ruleset *rs)
{
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8,
					[15] = 1 };
	static const uint8_t a4[] = { 1, 2, 3, 4 };
	const uint8_t ipv4 = NFPROTO_IPV4;
	const struct imr_rule *r;

	CHECK_EQ(build(rs, NFPROTO_IPV6, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.family, NFPROTO_IPV6);
	CHECK_EQ(prog.chains[0].hook, NF_INET_LOCAL_OUT);
	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 2);
	CHECK(is_cmp(&r->stmts[0], IMR_EQ, a6, 16));
	/* 16 bytes: no fast path in the kernel */
	CHECK(is_payload(r->stmts[0].expr, IMR_BASE_NH, 8, 16, false));
	r = rule_at("c", 1);
	CHECK(r && !r->unsupported);
	CHECK(is_cmp(&r->stmts[0], IMR_LT, a6, 16));
	CHECK(is_payload(r->stmts[0].expr, IMR_BASE_NH, 24, 16, false));
	imr_prog_free(&prog);

	/* inet: the nfproto test first */
	CHECK_EQ(build(rs, NFPROTO_INET, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.family, NFPROTO_INET);
	CHECK_EQ(prog.chains[0].hook, NF_INET_FORWARD);
	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 3);
	CHECK(is_cmp(&r->stmts[0], IMR_EQ, &ipv4, 1));
	CHECK(is_meta(r->stmts[0].expr, IMR_META_NFPROTO));
	CHECK(is_cmp(&r->stmts[1], IMR_EQ, a4, 4));
	CHECK(is_payload(r->stmts[1].expr, IMR_BASE_NH, 12, 4, true));
	imr_prog_free(&prog);
}

UNIT_TEST(build_ip6_inet)
{
	NETNS_TEST(rs_ip6, check_ip6);
}

/* ---- sets ------------------------------------------------------------ */

static const char rs_sets[] =
	"table ip t {\n"
	"	set s {\n"
	"		type ipv4_addr;\n"
	"		elements = { 1.1.1.1, 2.2.2.2, 3.3.3.3 }\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		tcp dport { 22, 80 } accept\n"
	"		ip saddr @s drop\n"
	"		tcp dport != { 22, 80, 443 } drop\n"
	"		ip daddr @s accept\n"
	"	}\n"
	"}\n";

static void check_sets(struct nftj_ruleset *rs)
{
	const struct imr_stmt *s;
	const struct imr_rule *r;
	int named, a, b;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.chains[0].first_unsupported, -1);
	/* two anonymous sets and the named one, once */
	CHECK_EQ(prog.nsets, 3);

	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 3);
	CHECK(is_l4proto(&r->stmts[0], 6));
	s = &r->stmts[1];
	CHECK_EQ(s->type, IMR_S_LOOKUP);
	CHECK(!s->invert);
	CHECK_EQ(s->len, 2);
	CHECK(s->set >= 0 && (size_t)s->set < prog.nsets);
	CHECK(is_payload(s->expr, IMR_BASE_TH, 2, 2, true));
	CHECK(prog.sets[s->set].nset);
	CHECK_EQ(prog.sets[s->set].nset->nelems, 2);
	CHECK_EQ(prog.sets[s->set].nset->key_len, 2);
	CHECK(!strncmp(prog.sets[s->set].nset->name, "__set", 5));
	CHECK(!prog.sets[s->set].elem_action);
	CHECK(is_verdict(&r->stmts[2], IMR_V_ACCEPT, -1));

	r = rule_at("c", 1);
	CHECK(r && !r->unsupported);
	s = &r->stmts[0];
	CHECK_EQ(s->type, IMR_S_LOOKUP);
	CHECK(is_payload(s->expr, IMR_BASE_NH, 12, 4, true));
	named = s->set;
	CHECK(named >= 0 && (size_t)named < prog.nsets);
	CHECK_STR(prog.sets[named].nset->name, "s");
	CHECK_EQ(prog.sets[named].nset->nelems, 3);

	r = rule_at("c", 2);
	CHECK(r && !r->unsupported);
	s = &r->stmts[1];
	CHECK_EQ(s->type, IMR_S_LOOKUP);
	CHECK(s->invert);
	CHECK(s->set != named && s->set != rule_at("c", 0)->stmts[1].set);
	CHECK_EQ(prog.sets[s->set].nset->nelems, 3);

	/* the named set again: the same index */
	r = rule_at("c", 3);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->stmts[0].type, IMR_S_LOOKUP);
	CHECK_EQ(r->stmts[0].set, named);
	CHECK(is_payload(r->stmts[0].expr, IMR_BASE_NH, 16, 4, true));

	/* the two port sets share a BPF map, the address set has its own;
	 * every set a tag of its own */
	a = rule_at("c", 0)->stmts[1].set;
	b = rule_at("c", 2)->stmts[1].set;
	CHECK_EQ(prog.nset_maps, 2);
	CHECK_EQ(prog.sets[a].map, prog.sets[b].map);
	CHECK(prog.sets[named].map != prog.sets[a].map);
	CHECK(prog.sets[a].map < 2 && prog.sets[named].map < 2);
	CHECK(prog.sets[a].tag != prog.sets[b].tag);
	CHECK(prog.sets[named].tag != prog.sets[a].tag &&
	      prog.sets[named].tag != prog.sets[b].tag);
	imr_prog_free(&prog);

	/* without set support every lookup is left to the interpreter */
	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL & ~IMR_CAP_SETS),
		 0);
	CHECK_EQ(prog.chains[0].first_unsupported, 0);
	r = rule_at("c", 0);
	CHECK(r && r->unsupported);
	CHECK_STR(r->reason, "set lookup on this target");
	imr_prog_free(&prog);
}

UNIT_TEST(build_set_lookup)
{
	NETNS_TEST(rs_sets, check_sets);
}

static const char rs_vmap[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		tcp dport vmap { 22 : accept, 23 : drop,\n"
	"				 24 : jump other, 25 : accept,\n"
	"				 26 : goto other, 27 : jump other }\n"
	"	}\n"
	"	chain other {\n"
	"		ip daddr 5.6.7.8 drop\n"
	"	}\n"
	"}\n";

/* the action of the vmap element with port key `port` */
static const struct imr_vmap_action *vmap_action(const struct imr_set *is,
						 uint16_t port)
{
	size_t i;

	for (i = 0; i < is->nset->nelems; i++) {
		const struct nftj_set_elem *e = &is->nset->elems[i];

		if (e->key_len == 2 && e->key[0] == port >> 8 &&
		    e->key[1] == (port & 0xff)) {
			if (is->elem_action[i] < 0 ||
			    (size_t)is->elem_action[i] >= is->nactions)
				return NULL;
			return &is->actions[is->elem_action[i]];
		}
	}
	return NULL;
}

static void check_vmap(struct nftj_ruleset *rs)
{
	const struct imr_vmap_action *a22, *a23, *a24, *a25, *a26, *a27;
	const struct imr_set *is;
	const struct imr_stmt *s;
	const struct imr_rule *r;
	int other;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.nchains, 2);
	other = chain_idx(&prog, "other");
	CHECK_EQ(other, 1);
	CHECK(!prog.chains[1].base);
	CHECK_EQ(prog.chains[0].depth, 1);
	CHECK_EQ(prog.chains[1].depth, 0);
	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 2);
	CHECK(is_l4proto(&r->stmts[0], 6));
	s = &r->stmts[1];
	CHECK_EQ(s->type, IMR_S_VMAP);
	CHECK(is_payload(s->expr, IMR_BASE_TH, 2, 2, true));
	CHECK(s->set >= 0 && (size_t)s->set < prog.nsets);
	is = &prog.sets[s->set];
	CHECK(is->elem_action && is->actions);
	/* accept, drop, jump other, goto other */
	CHECK_EQ(is->nactions, 4);
	a22 = vmap_action(is, 22);
	a23 = vmap_action(is, 23);
	a24 = vmap_action(is, 24);
	a25 = vmap_action(is, 25);
	a26 = vmap_action(is, 26);
	a27 = vmap_action(is, 27);
	CHECK(a22 && a23 && a24 && a25 && a26 && a27);
	CHECK(a22->verdict == IMR_V_ACCEPT && a22->chain == -1);
	CHECK(a23->verdict == IMR_V_DROP && a23->chain == -1);
	CHECK(a24->verdict == IMR_V_JUMP && a24->chain == other);
	CHECK(a26->verdict == IMR_V_GOTO && a26->chain == other);
	CHECK(a25 == a22);	/* same verdict: one action */
	CHECK(a27 == a24);
	imr_prog_free(&prog);
}

UNIT_TEST(build_verdict_map)
{
	NETNS_TEST(rs_vmap, check_vmap);
}

/*
 * Resolving a verdict map's jump builds the target chain, whose own
 * lookups add sets: the map's actions must survive the set table moving.
 */
static const char rs_vmap_sets[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		tcp dport vmap { 22 : jump other, 23 : drop,\n"
	"				 24 : accept, 25 : jump other2 }\n"
	"	}\n"
	"	chain other {\n"
	"		ip saddr { 1.1.1.1, 2.2.2.2 } accept\n"
	"		ip daddr { 1.1.1.1, 2.2.2.2 } accept\n"
	"		udp dport { 1, 2 } accept\n"
	"		udp sport { 1, 2 } accept\n"
	"	}\n"
	"	chain other2 {\n"
	"		ip saddr { 3.1.1.1, 2.2.2.2 } accept\n"
	"		ip daddr { 3.1.1.1, 2.2.2.2 } accept\n"
	"		udp dport { 3, 2 } accept\n"
	"		udp sport { 3, 2 } accept\n"
	"		tcp sport { 3, 2 } accept\n"
	"		tcp dport { 3, 2 } accept\n"
	"	}\n"
	"}\n";

static void check_vmap_sets(struct nftj_ruleset *rs)
{
	const struct imr_vmap_action *a;
	const struct imr_set *is;
	const struct imr_rule *r;
	int o1, o2;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	o1 = chain_idx(&prog, "other");
	o2 = chain_idx(&prog, "other2");
	CHECK(o1 > 0 && o2 > 0);
	CHECK_EQ(prog.nsets, 11);
	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->stmts[1].type, IMR_S_VMAP);
	is = &prog.sets[r->stmts[1].set];
	CHECK_EQ(is->nset->data_type, NFT_DATA_VERDICT);
	CHECK_EQ(is->nactions, 4);
	a = vmap_action(is, 22);
	CHECK(a && a->verdict == IMR_V_JUMP && a->chain == o1);
	a = vmap_action(is, 23);
	CHECK(a && a->verdict == IMR_V_DROP);
	a = vmap_action(is, 24);
	CHECK(a && a->verdict == IMR_V_ACCEPT);
	a = vmap_action(is, 25);
	CHECK(a && a->verdict == IMR_V_JUMP && a->chain == o2);
	imr_prog_free(&prog);
}

UNIT_TEST(build_vmap_target_adds_sets)
{
	NETNS_TEST(rs_vmap_sets, check_vmap_sets);
}

/* ---- chains ---------------------------------------------------------- */

static const char rs_jump[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		ip saddr 1.1.1.1 jump other\n"
	"		ip saddr 2.2.2.2 goto other\n"
	"		accept\n"
	"	}\n"
	"	chain other {\n"
	"		ip daddr 5.6.7.8 return\n"
	"		counter drop\n"
	"	}\n"
	"	chain unused {\n"
	"		drop\n"
	"	}\n"
	"}\n";

static void check_jump(struct nftj_ruleset *rs)
{
	const struct imr_rule *r;
	const struct imr_chain *o;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	/* only the chains reached are built */
	CHECK_EQ(prog.nchains, 2);
	CHECK_EQ(chain_idx(&prog, "other"), 1);
	CHECK_EQ(chain_idx(&prog, "unused"), -1);
	o = &prog.chains[1];
	CHECK(!o->base);
	CHECK_EQ(o->nrules, 2);
	CHECK_EQ(o->first_unsupported, -1);
	CHECK_EQ(prog.chains[0].first_unsupported, -1);
	CHECK_EQ(prog.chains[0].depth, 1);

	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 2);
	CHECK(is_verdict(&r->stmts[1], IMR_V_JUMP, 1));
	r = rule_at("c", 1);
	CHECK(r && !r->unsupported);
	CHECK(is_verdict(&r->stmts[1], IMR_V_GOTO, 1));
	r = rule_at("c", 2);
	CHECK(r && !r->unsupported);
	CHECK_EQ(r->nstmts, 1);
	CHECK(is_verdict(&r->stmts[0], IMR_V_ACCEPT, -1));

	r = rule_at("other", 0);
	CHECK(r && !r->unsupported);
	CHECK(is_verdict(&r->stmts[1], IMR_V_RETURN, -1));
	r = rule_at("other", 1);
	CHECK(r && !r->unsupported && r->has_counter);
	CHECK_EQ(r->nstmts, 2);
	CHECK_EQ(r->stmts[0].type, IMR_S_COUNTER);
	CHECK_EQ(r->stmts[0].counter_id, r->id);

	/* ids: unique, and the indexes agree with the chains */
	CHECK_EQ(prog.nrule_ids, 5);
	{
		uint32_t seen = 0;
		size_t i, j;

		for (i = 0; i < prog.nchains; i++) {
			for (j = 0; j < prog.chains[i].nrules; j++) {
				r = &prog.chains[i].rules[j];
				CHECK(r->id < prog.nrule_ids);
				CHECK(!(seen & (1u << r->id)));
				seen |= 1u << r->id;
				CHECK(prog.rule_by_id[r->id] == r);
				CHECK_EQ(prog.chain_of_id[r->id], (int)i);
			}
		}
		CHECK_EQ(seen, 0x1f);
	}
	imr_prog_free(&prog);
}

UNIT_TEST(build_jump_goto)
{
	NETNS_TEST(rs_jump, check_jump);
}

/* ---- unsupported ----------------------------------------------------- */

static const char rs_log[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		ip saddr 1.1.1.1 accept\n"
	"		ip saddr 2.2.2.2 log drop\n"
	"		ip saddr 3.3.3.3 drop\n"
	"		log\n"
	"	}\n"
	"}\n";

static void check_log(struct nftj_ruleset *rs)
{
	const struct imr_rule *r;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.chains[0].nrules, 4);
	CHECK_EQ(prog.chains[0].first_unsupported, 1);
	CHECK(!rule_at("c", 0)->unsupported);
	r = rule_at("c", 1);
	CHECK(r->unsupported);
	CHECK_STR(r->reason, "log");
	/* later rules are still built on their own */
	CHECK(!rule_at("c", 2)->unsupported);
	r = rule_at("c", 3);
	CHECK(r->unsupported);
	CHECK_STR(r->reason, "log");
	imr_prog_free(&prog);
}

UNIT_TEST(build_unsupported_log)
{
	NETNS_TEST(rs_log, check_log);
}

/* immediate data is refused for what reads it: the reason names that */
static const char rs_imm[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		meta nftrace set 1\n"
	"		ct mark set 7\n"
	"		tcp dport 1 tcp dport set 2\n"
	"		meta mark set 5\n"
	"		meta mark set mark or 0x10\n"
	"		tcp dport 1 accept\n"
	"	}\n"
	"}\n";

static void check_imm(struct nftj_ruleset *rs)
{
	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.chains[0].nrules, 6);
	CHECK_EQ(prog.chains[0].first_unsupported, 0);
	CHECK_STR(rule_at("c", 0)->reason, "immediate data for meta set nftrace");
	CHECK_STR(rule_at("c", 1)->reason, "immediate data for ct set");
	CHECK_STR(rule_at("c", 2)->reason, "immediate data for payload set");
	CHECK_STR(rule_at("c", 3)->reason, "immediate data for meta set mark");
	CHECK_STR(rule_at("c", 4)->reason, "meta set mark");
	CHECK(!rule_at("c", 5)->unsupported);
	imr_prog_free(&prog);
}

UNIT_TEST(build_immediate_data_reason)
{
	NETNS_TEST(rs_imm, check_imm);
}

static const char rs_jump_log[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		ip saddr 1.1.1.1 accept\n"
	"		tcp dport 22 jump logged\n"
	"	}\n"
	"	chain logged {\n"
	"		ip saddr 2.2.2.2 counter\n"
	"		log prefix \"x\"\n"
	"	}\n"
	"}\n";

static void check_jump_log(struct nftj_ruleset *rs)
{
	const struct imr_rule *r;
	int l;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.chains[0].first_unsupported, 1);
	r = rule_at("c", 1);
	CHECK(r && r->unsupported);
	CHECK(strstr(r->reason, "logged"));
	CHECK(strstr(r->reason, "log"));
	l = chain_idx(&prog, "logged");
	CHECK(l > 0);
	CHECK_EQ(prog.chains[l].first_unsupported, 1);
	CHECK_STR(prog.chains[l].rules[1].reason, "log");
	imr_prog_free(&prog);
}

UNIT_TEST(build_jump_to_unsupported)
{
	NETNS_TEST(rs_jump_log, check_jump_log);
}

/* a1 -> a2 -> a3 -> a4 -> a5: a1 is 4 calls deep, c -> a1 would be 5 */
static const char rs_deep[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		ip saddr 1.1.1.1 jump a2\n"
	"		ip saddr 2.2.2.2 jump a1\n"
	"		tcp dport vmap { 22 : jump a1 }\n"
	"		tcp dport vmap { 23 : goto a2 }\n"
	"	}\n"
	"	chain a1 { jump a2; }\n"
	"	chain a2 { jump a3; }\n"
	"	chain a3 { jump a4; }\n"
	"	chain a4 { ip daddr 9.9.9.9 jump a5; }\n"
	"	chain a5 { accept; }\n"
	"}\n";

static void check_deep(struct nftj_ruleset *rs)
{
	const struct imr_rule *r;
	int a1, a2;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	a1 = chain_idx(&prog, "a1");
	a2 = chain_idx(&prog, "a2");
	CHECK(a1 > 0 && a2 > 0);
	CHECK_EQ(prog.chains[a2].depth, 3);
	CHECK_EQ(prog.chains[a1].depth, 4);
	CHECK_EQ(prog.chains[a1].first_unsupported, -1);
	CHECK_EQ(prog.chains[chain_idx(&prog, "a5")].depth, 0);

	/* c -> a2: 4 calls deep, the limit */
	r = rule_at("c", 0);
	CHECK(r && !r->unsupported);
	CHECK(is_verdict(&r->stmts[1], IMR_V_JUMP, a2));
	/* c -> a1: 5 */
	r = rule_at("c", 1);
	CHECK(r && r->unsupported);
	CHECK(strstr(r->reason, "a1"));
	CHECK(strstr(r->reason, "depth"));
	/* the same through a verdict map */
	r = rule_at("c", 2);
	CHECK(r && r->unsupported);
	CHECK(strstr(r->reason, "depth"));
	r = rule_at("c", 3);
	CHECK(r && !r->unsupported);
	CHECK_EQ(prog.chains[0].first_unsupported, 1);
	CHECK_EQ(prog.chains[0].depth, 4);
	imr_prog_free(&prog);
}

UNIT_TEST(build_call_depth)
{
	NETNS_TEST(rs_deep, check_deep);
}

static const char rs_counter[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		ip saddr 1.1.1.1 counter accept\n"
	"	}\n"
	"}\n";

static void check_counter(struct nftj_ruleset *rs)
{
	const struct imr_rule *r;

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", 0), 0);
	CHECK_EQ(prog.caps, 0);
	r = rule_at("c", 0);
	CHECK(r && r->unsupported);
	CHECK_STR(r->reason, "counter on this target");
	CHECK_EQ(prog.chains[0].first_unsupported, 0);
	imr_prog_free(&prog);

	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	r = rule_at("c", 0);
	CHECK(r && !r->unsupported && r->has_counter);
	CHECK_EQ(r->nstmts, 3);
	CHECK_EQ(r->stmts[1].type, IMR_S_COUNTER);
	CHECK_EQ(r->stmts[1].counter_id, r->id);
	CHECK(is_verdict(&r->stmts[2], IMR_V_ACCEPT, -1));
	imr_prog_free(&prog);
}

UNIT_TEST(build_counter_caps)
{
	NETNS_TEST(rs_counter, check_counter);
}

/* ---- errors ---------------------------------------------------------- */

static const char rs_errors[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		accept\n"
	"	}\n"
	"	chain regular {\n"
	"		accept\n"
	"	}\n"
	"	chain n {\n"
	"		type nat hook postrouting priority 100;\n"
	"		masquerade\n"
	"	}\n"
	"	chain r {\n"
	"		type route hook output priority 0;\n"
	"		accept\n"
	"	}\n"
	"}\n"
	"table netdev t {\n"
	"	chain c {\n"
	"		type filter hook ingress device lo priority 0;\n"
	"		accept\n"
	"	}\n"
	"}\n";

static void check_errors(struct nftj_ruleset *rs)
{
	why[0] = 'x';
	CHECK_EQ(build(rs, NFPROTO_IPV4, "regular", IMR_CAP_ALL),
		 -EOPNOTSUPP);
	CHECK(why[0] != '\0');
	CHECK(strstr(why, "base chain"));
	imr_prog_free(&prog);

	CHECK_EQ(build(rs, NFPROTO_IPV4, "nope", IMR_CAP_ALL), -ENOENT);
	imr_prog_free(&prog);
	CHECK_EQ(imr_build(&prog, rs, NFPROTO_IPV4, "nope", "c",
			   IMR_CAP_ALL, why, sizeof(why)), -ENOENT);
	imr_prog_free(&prog);
	CHECK_EQ(build(rs, NFPROTO_IPV6, "c", IMR_CAP_ALL), -ENOENT);
	imr_prog_free(&prog);

	CHECK_EQ(build(rs, NFPROTO_IPV4, "n", IMR_CAP_ALL), -EOPNOTSUPP);
	CHECK(strstr(why, "nat"));
	imr_prog_free(&prog);
	CHECK_EQ(build(rs, NFPROTO_IPV4, "r", IMR_CAP_ALL), -EOPNOTSUPP);
	CHECK(strstr(why, "route"));
	imr_prog_free(&prog);
	CHECK_EQ(build(rs, NFPROTO_NETDEV, "c", IMR_CAP_ALL), -EOPNOTSUPP);
	imr_prog_free(&prog);

	/* the good one still builds */
	CHECK_EQ(build(rs, NFPROTO_IPV4, "c", IMR_CAP_ALL), 0);
	CHECK_EQ(prog.chains[0].nrules, 1);
	imr_prog_free(&prog);
}

UNIT_TEST(build_errors)
{
	NETNS_TEST(rs_errors, check_errors);
}
