// SPDX-License-Identifier: GPL-2.0
/*
 * Front end tests: every test runs in a forked child that enters a fresh
 * network namespace, loads a ruleset with nft -f, dumps it with
 * nftj_ruleset_dump() and checks the result.  The child's exit status
 * carries the outcome back to the runner process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>

#include "model.h"
#include "netns_util.h"
#include "unit.h"

/* helpers */

static size_t tables_count(const struct nftj_ruleset *rs)
{
	struct nftnl_table_list_iter *it;
	size_t n = 0;

	it = nftnl_table_list_iter_create(rs->tables);
	while (it && nftnl_table_list_iter_next(it))
		n++;
	if (it)
		nftnl_table_list_iter_destroy(it);
	return n;
}

static size_t chains_count(const struct nftj_ruleset *rs)
{
	struct nftnl_chain_list_iter *it;
	size_t n = 0;

	it = nftnl_chain_list_iter_create(rs->chains);
	while (it && nftnl_chain_list_iter_next(it))
		n++;
	if (it)
		nftnl_chain_list_iter_destroy(it);
	return n;
}

static size_t rules_count(const struct nftj_ruleset *rs)
{
	struct nftnl_rule_list_iter *it;
	size_t n = 0;

	it = nftnl_rule_list_iter_create(rs->rules);
	while (it && nftnl_rule_list_iter_next(it))
		n++;
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return n;
}

static struct nftnl_chain *chain_find(const struct nftj_ruleset *rs,
				      const char *table, const char *name)
{
	struct nftnl_chain_list_iter *it;
	struct nftnl_chain *c;

	it = nftnl_chain_list_iter_create(rs->chains);
	if (!it)
		return NULL;
	while ((c = nftnl_chain_list_iter_next(it))) {
		if (!strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), table) &&
		    !strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), name))
			break;
	}
	nftnl_chain_list_iter_destroy(it);
	return c;
}

/* The n-th rule (0-based, dump order) of table/chain. */
static struct nftnl_rule *rule_nth(const struct nftj_ruleset *rs,
				   const char *table, const char *chain,
				   size_t n)
{
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r;

	it = nftnl_rule_list_iter_create(rs->rules);
	if (!it)
		return NULL;
	while ((r = nftnl_rule_list_iter_next(it))) {
		if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), table) ||
		    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chain))
			continue;
		if (n-- == 0)
			break;
	}
	nftnl_rule_list_iter_destroy(it);
	return r;
}

/* "payload,cmp,..." */
static void expr_names(const struct nftnl_rule *r, char *buf, size_t size)
{
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	size_t off = 0;

	buf[0] = '\0';
	it = nftnl_expr_iter_create(r);
	if (!it)
		return;
	while ((e = nftnl_expr_iter_next(it)) && off < size) {
		off += snprintf(buf + off, size - off, "%s%s", off ? "," : "",
				nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	}
	nftnl_expr_iter_destroy(it);
}

/* The first expression called name in r, NULL if none. */
static struct nftnl_expr *expr_find(const struct nftnl_rule *r,
				    const char *name)
{
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;

	it = nftnl_expr_iter_create(r);
	if (!it)
		return NULL;
	while ((e = nftnl_expr_iter_next(it)))
		if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), name))
			break;
	nftnl_expr_iter_destroy(it);
	return e;
}

/* The port compared by "tcp dport N": the first 2-byte cmp in r. */
static int rule_dport(const struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it;
	const uint8_t *data;
	struct nftnl_expr *e;
	uint32_t len;
	int port = -1;

	it = r ? nftnl_expr_iter_create(r) : NULL;
	if (!it)
		return -1;
	while (port < 0 && (e = nftnl_expr_iter_next(it))) {
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "cmp"))
			continue;
		len = 0;
		data = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
		if (data && len == 2)
			port = data[0] << 8 | data[1];
	}
	nftnl_expr_iter_destroy(it);
	return port;
}

static const struct nftj_set *set_anon(const struct nftj_ruleset *rs)
{
	size_t i;

	for (i = 0; i < rs->nsets; i++)
		if (rs->sets[i].flags & NFT_SET_ANONYMOUS)
			return &rs->sets[i];
	return NULL;
}

static const struct nftj_set_elem *elem_find(const struct nftj_set *s,
					     const void *key, uint32_t len,
					     uint32_t flags)
{
	size_t i;

	for (i = 0; i < s->nelems; i++) {
		const struct nftj_set_elem *e = &s->elems[i];

		if (e->key_len == len && !memcmp(e->key, key, len) &&
		    (e->flags & NFT_SET_ELEM_INTERVAL_END) == flags)
			return e;
	}
	return NULL;
}

static const struct nftj_set_elem *elem_port(const struct nftj_set *s,
					     uint16_t port)
{
	uint16_t key = htons(port);

	return elem_find(s, &key, sizeof(key), 0);
}

static const struct nftj_set_elem *elem_ip(const struct nftj_set *s,
					   const char *ip, uint32_t flags)
{
	struct in_addr a;

	if (inet_pton(AF_INET, ip, &a) != 1)
		return NULL;
	return elem_find(s, &a, sizeof(a), flags);
}

/* tests without a namespace */

UNIT_TEST(dump_bad_args)
{
	struct nftj_ruleset rs;

	memset(&rs, 0, sizeof(rs));
	nftj_ruleset_free(NULL);
	nftj_ruleset_free(&rs);
	nftj_ruleset_free(&rs);
	CHECK(!nftj_set_find(NULL, NFPROTO_IPV4, "t", "s"));
	CHECK(!nftj_set_find(&rs, NFPROTO_IPV4, "t", "s"));
	CHECK(!nftj_set_find(&rs, NFPROTO_IPV4, NULL, NULL));
	CHECK_EQ(nftj_ruleset_dump(NULL, NFPROTO_UNSPEC), -EINVAL);
	CHECK_EQ(nftj_ruleset_dump(&rs, 256), -EINVAL);
	CHECK(!rs.tables && !rs.sets && rs.nsets == 0);
	CHECK_EQ(nftj_genid_get(NULL), -EINVAL);
}

/* an empty namespace */

static void check_empty(struct nftj_ruleset *rs)
{
	uint32_t genid = 0;

	CHECK(rs->tables && rs->chains && rs->rules);
	CHECK_EQ(tables_count(rs), 0);
	CHECK_EQ(chains_count(rs), 0);
	CHECK_EQ(rules_count(rs), 0);
	CHECK_EQ(rs->nsets, 0);
	CHECK_EQ(nftj_genid_get(&genid), 0);
	CHECK_EQ(genid, rs->genid);
}

UNIT_TEST(dump_empty)
{
	NETNS_TEST(NULL, check_empty);
}

/* tables, chains, rules */

static const char rs_basic[] =
	"table inet filter {\n"
	"	chain input {\n"
	"		type filter hook input priority -10; policy drop;\n"
	"		ip saddr 1.2.3.4 counter accept\n"
	"		jump other\n"
	"	}\n"
	"	chain other {\n"
	"		tcp dport 22 accept\n"
	"	}\n"
	"}\n"
	"table ip t2 {\n"
	"	chain fw {\n"
	"		type filter hook forward priority 5; policy accept;\n"
	"	}\n"
	"}\n";

static void check_counts(struct nftj_ruleset *rs)
{
	CHECK_EQ(tables_count(rs), 2);
	CHECK_EQ(chains_count(rs), 3);
	CHECK_EQ(rules_count(rs), 3);
	CHECK_EQ(rs->nsets, 0);
}

UNIT_TEST(dump_counts)
{
	NETNS_TEST(rs_basic, check_counts);
}

static void check_chains(struct nftj_ruleset *rs)
{
	struct nftnl_chain *c;

	c = chain_find(rs, "filter", "input");
	CHECK(c);
	CHECK_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), NFPROTO_INET);
	CHECK(nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));
	CHECK_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_LOCAL_IN);
	CHECK_EQ((int32_t)nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), -10);
	CHECK_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_DROP);
	CHECK_STR(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter");

	c = chain_find(rs, "t2", "fw");
	CHECK(c);
	CHECK_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_FORWARD);
	CHECK_EQ(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), 5);
	CHECK_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);

	c = chain_find(rs, "filter", "other");
	CHECK(c);
	CHECK(!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));
}

UNIT_TEST(dump_chain_hook)
{
	NETNS_TEST(rs_basic, check_chains);
}

static void check_exprs(struct nftj_ruleset *rs)
{
	struct nftnl_rule *r;
	char names[256];

	r = rule_nth(rs, "filter", "input", 0);
	CHECK(r);
	expr_names(r, names, sizeof(names));
	CHECK_STR(names, "meta,cmp,payload,cmp,counter,immediate");

	r = rule_nth(rs, "filter", "input", 1);
	CHECK(r);
	expr_names(r, names, sizeof(names));
	CHECK_STR(names, "immediate");

	r = rule_nth(rs, "filter", "other", 0);
	CHECK(r);
	CHECK_EQ(rule_dport(r), 22);
	CHECK(!rule_nth(rs, "filter", "other", 1));
}

UNIT_TEST(dump_rule_exprs)
{
	NETNS_TEST(rs_basic, check_exprs);
}

/* "insert" puts a rule in front: dump order is rule order, not handles */
static const char rs_order[] =
	"add table ip t\n"
	"add chain ip t c\n"
	"add rule ip t c tcp dport 1 accept\n"
	"add rule ip t c tcp dport 2 accept\n"
	"insert rule ip t c tcp dport 3 accept\n";

static void check_order(struct nftj_ruleset *rs)
{
	struct nftnl_rule *r0, *r1, *r2;

	r0 = rule_nth(rs, "t", "c", 0);
	r1 = rule_nth(rs, "t", "c", 1);
	r2 = rule_nth(rs, "t", "c", 2);
	CHECK(r0 && r1 && r2);
	CHECK_EQ(rule_dport(r0), 3);
	CHECK_EQ(rule_dport(r1), 1);
	CHECK_EQ(rule_dport(r2), 2);
	CHECK(nftnl_rule_get_u64(r0, NFTNL_RULE_HANDLE) >
	      nftnl_rule_get_u64(r1, NFTNL_RULE_HANDLE));
}

UNIT_TEST(dump_rule_order)
{
	NETNS_TEST(rs_order, check_order);
}

/* sets */

static const char rs_anon[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		tcp dport { 22, 80 } accept\n"
	"	}\n"
	"}\n";

static void check_anon(struct nftj_ruleset *rs)
{
	const struct nftj_set *s;
	struct nftnl_expr *e;
	struct nftnl_rule *r;

	CHECK_EQ(rs->nsets, 1);
	s = set_anon(rs);
	CHECK(s);
	CHECK(nftj_set_find(rs, NFPROTO_IPV4, "t", s->name) == s);
	CHECK_STR(s->table, "t");
	CHECK(s->flags & NFT_SET_ANONYMOUS);
	CHECK(!(s->flags & NFT_SET_MAP));
	CHECK_EQ(s->key_len, 2);
	CHECK_EQ(s->nelems, 2);
	CHECK(elem_port(s, 22));
	CHECK(elem_port(s, 80));
	CHECK(!elem_port(s, 23));

	r = rule_nth(rs, "t", "c", 0);
	CHECK(r);
	e = expr_find(r, "lookup");
	CHECK(e);
	CHECK_STR(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), s->name);
}

UNIT_TEST(dump_anon_set)
{
	NETNS_TEST(rs_anon, check_anon);
}

static const char rs_interval[] =
	"table ip t {\n"
	"	chain c {\n"
	"		ip daddr { 10.0.0.0/8, 192.168.1.1-192.168.1.9 } accept\n"
	"	}\n"
	"}\n";

static void check_interval(struct nftj_ruleset *rs)
{
	const struct nftj_set *s = set_anon(rs);

	CHECK(s);
	CHECK(s->flags & NFT_SET_INTERVAL);
	CHECK_EQ(s->key_len, 4);
	CHECK(s->nelems >= 4);
	CHECK(elem_ip(s, "10.0.0.0", 0));
	CHECK(elem_ip(s, "11.0.0.0", NFT_SET_ELEM_INTERVAL_END));
	CHECK(elem_ip(s, "192.168.1.1", 0));
	CHECK(elem_ip(s, "192.168.1.10", NFT_SET_ELEM_INTERVAL_END));
	CHECK(!elem_ip(s, "10.0.0.0", NFT_SET_ELEM_INTERVAL_END));
}

UNIT_TEST(dump_interval_set)
{
	NETNS_TEST(rs_interval, check_interval);
}

static const char rs_concat[] =
	"table ip t {\n"
	"	set pc {\n"
	"		type ipv4_addr . inet_service; flags interval;\n"
	"		elements = { 10.0.0.0/8 . 20-30 }\n"
	"	}\n"
	"	chain c {\n"
	"		ip saddr . tcp dport { 1.2.3.4 . 22 } accept\n"
	"		ip saddr . tcp dport @pc accept\n"
	"	}\n"
	"}\n";

static void check_concat(struct nftj_ruleset *rs)
{
	static const uint8_t key[8] = { 1, 2, 3, 4, 0, 22, 0, 0 };
	static const uint8_t lo[8] = { 10, 0, 0, 0, 0, 20, 0, 0 };
	static const uint8_t hi[8] = { 10, 255, 255, 255, 0, 30, 0, 0 };
	const struct nftj_set *s = set_anon(rs);
	const struct nftj_set_elem *e;

	CHECK(s);
	CHECK_EQ(s->key_len, 8);
	CHECK_EQ(s->nelems, 1);
	CHECK(elem_find(s, key, sizeof(key), 0));
	/* nft sends NFTA_SET_DESC_CONCAT for interval concatenations only */
	CHECK(s->field_count == 0 || s->field_count == 2);

	/* pipapo: one element with key .. key_end */
	s = nftj_set_find(rs, NFPROTO_IPV4, "t", "pc");
	CHECK(s);
	CHECK(s->flags & NFT_SET_INTERVAL);
	CHECK(s->flags & NFT_SET_CONCAT);
	CHECK_EQ(s->field_count, 2);
	CHECK_EQ(s->field_len[0], 4);
	CHECK_EQ(s->field_len[1], 2);
	CHECK_EQ(s->nelems, 1);
	e = elem_find(s, lo, sizeof(lo), 0);
	CHECK(e);
	CHECK_EQ(e->key_end_len, 8);
	CHECK(!memcmp(e->key_end, hi, sizeof(hi)));
}

UNIT_TEST(dump_concat_set)
{
	NETNS_TEST(rs_concat, check_concat);
}

static const char rs_vmap[] =
	"table ip t {\n"
	"	chain c {\n"
	"		tcp dport vmap { 22 : accept, 23 : jump other,\n"
	"				 24 : drop, 25 : goto other }\n"
	"	}\n"
	"	chain other {\n"
	"	}\n"
	"}\n";

static void check_vmap(struct nftj_ruleset *rs)
{
	const struct nftj_set *s = set_anon(rs);
	const struct nftj_set_elem *e;

	CHECK(s);
	CHECK(s->flags & NFT_SET_MAP);
	CHECK_EQ(s->data_type, NFT_DATA_VERDICT);
	CHECK_EQ(s->nelems, 4);
	e = elem_port(s, 22);
	CHECK(e);
	CHECK_EQ(e->verdict, NF_ACCEPT);
	CHECK(!e->chain);
	e = elem_port(s, 23);
	CHECK(e);
	CHECK_EQ(e->verdict, NFT_JUMP);
	CHECK_STR(e->chain, "other");
	e = elem_port(s, 24);
	CHECK(e);
	CHECK_EQ(e->verdict, NF_DROP);
	e = elem_port(s, 25);
	CHECK(e);
	CHECK_EQ(e->verdict, NFT_GOTO);
	CHECK_STR(e->chain, "other");
}

UNIT_TEST(dump_verdict_map)
{
	NETNS_TEST(rs_vmap, check_vmap);
}

static const char rs_named[] =
	"table ip t {\n"
	"	set s {\n"
	"		type ipv4_addr; flags timeout;\n"
	"		elements = { 1.1.1.1 timeout 1h, 2.2.2.2 }\n"
	"	}\n"
	"	map m {\n"
	"		type ipv4_addr : ipv4_addr;\n"
	"		elements = { 1.1.1.1 : 2.2.2.2 }\n"
	"	}\n"
	"	map cm {\n"
	"		type inet_service : verdict;\n"
	"		elements = { 22 : accept, * : drop }\n"
	"	}\n"
	"}\n"
	"table ip6 t {\n"
	"	set s {\n"
	"		type ipv6_addr;\n"
	"	}\n"
	"}\n";

static void check_named(struct nftj_ruleset *rs)
{
	const struct nftj_set *s, *s6;
	const struct nftj_set_elem *e;
	size_t i;

	CHECK_EQ(rs->nsets, 4);
	s = nftj_set_find(rs, NFPROTO_IPV4, "t", "s");
	s6 = nftj_set_find(rs, NFPROTO_IPV6, "t", "s");
	CHECK(s && s6 && s != s6);
	CHECK(!nftj_set_find(rs, NFPROTO_INET, "t", "s"));
	CHECK(!nftj_set_find(rs, NFPROTO_IPV4, "t", "nope"));
	CHECK(s->handle != 0);
	CHECK(s->flags & NFT_SET_TIMEOUT);
	CHECK(!(s->flags & NFT_SET_ANONYMOUS));
	CHECK_EQ(s->nelems, 2);
	e = elem_ip(s, "1.1.1.1", 0);
	CHECK(e && e->has_timeout);
	e = elem_ip(s, "2.2.2.2", 0);
	CHECK(e && !e->has_timeout);
	CHECK_EQ(s6->key_len, 16);
	CHECK_EQ(s6->nelems, 0);
	CHECK(!s6->elems);

	s = nftj_set_find(rs, NFPROTO_IPV4, "t", "m");
	CHECK(s);
	CHECK(s->flags & NFT_SET_MAP);
	CHECK_EQ(s->data_len, 4);
	CHECK_EQ(s->nelems, 1);
	e = elem_ip(s, "1.1.1.1", 0);
	CHECK(e);
	CHECK_EQ(e->data_len, 4);
	CHECK(!memcmp(e->data, "\x02\x02\x02\x02", 4));

	s = nftj_set_find(rs, NFPROTO_IPV4, "t", "cm");
	CHECK(s);
	CHECK_EQ(s->nelems, 2);
	e = elem_port(s, 22);
	CHECK(e);
	CHECK_EQ(e->verdict, NF_ACCEPT);
	for (i = 0; i < s->nelems; i++)
		if (s->elems[i].flags & NFT_SET_ELEM_CATCHALL)
			break;
	CHECK(i < s->nelems);
	CHECK_EQ(s->elems[i].key_len, 0);
	CHECK_EQ(s->elems[i].verdict, NF_DROP);
}

UNIT_TEST(dump_named_sets)
{
	NETNS_TEST(rs_named, check_named);
}

/* family filter */

static const char rs_families[] =
	"table ip a { set s { type ipv4_addr; }; chain c { }; }\n"
	"table ip6 b { set s { type ipv6_addr; }; chain c { }; }\n"
	"table inet c { chain c { }; }\n";

static void check_families(struct nftj_ruleset *rs)
{
	struct nftj_ruleset rs6;
	size_t ntables, nchains, nsets;
	uint32_t family = 0;
	int ret;

	CHECK_EQ(tables_count(rs), 3);
	CHECK_EQ(rs->nsets, 2);

	ret = nftj_ruleset_dump(&rs6, NFPROTO_IPV6);
	CHECK_EQ(ret, 0);
	ntables = tables_count(&rs6);
	nchains = chains_count(&rs6);
	nsets = rs6.nsets;
	if (nsets)
		family = rs6.sets[0].family;
	nftj_ruleset_free(&rs6);
	CHECK_EQ(ntables, 1);
	CHECK_EQ(nchains, 1);
	CHECK_EQ(nsets, 1);
	CHECK_EQ(family, NFPROTO_IPV6);
}

UNIT_TEST(dump_family_filter)
{
	NETNS_TEST(rs_families, check_families);
}

/* generation id */

static const char rs_gen[] =
	"table ip t { chain c { counter; }; }\n";

static void check_genid(struct nftj_ruleset *rs)
{
	struct nftj_ruleset rs2;
	uint32_t genid = 0;
	size_t nrules;
	int ret;

	CHECK_EQ(rules_count(rs), 1);
	CHECK_EQ(nft_load("add rule ip t c counter accept\n"), 0);
	ret = nftj_ruleset_dump(&rs2, NFPROTO_UNSPEC);
	CHECK_EQ(ret, 0);
	nrules = rules_count(&rs2);
	genid = rs2.genid;
	nftj_ruleset_free(&rs2);
	CHECK_EQ(nrules, 2);
	CHECK(genid != rs->genid);
	CHECK_EQ(nftj_genid_get(&genid), 0);
	CHECK(genid != rs->genid);
}

UNIT_TEST(dump_genid_changes)
{
	NETNS_TEST(rs_gen, check_genid);
}

/*
 * Commits racing with dumps: a writer adds one rule per commit (one
 * generation each) while we dump; every dump that succeeds must hold
 * exactly as many rules as generations went by.
 */
#define RACE_RULES	100

static void race_writer(struct nftj_ruleset *rs)
{
	int i;

	nftj_ruleset_free(rs);		/* the parent's copy */

	for (i = 0; i < RACE_RULES; i++)
		if (system("nft add rule ip t c counter") != 0)
			_exit(1);
	_exit(0);
}

/* One dump during the race: 0 consistent, 1 gave up (-EAGAIN), -1 bad. */
static int race_dump(uint32_t genid0, size_t *nrules)
{
	struct nftj_ruleset rs;
	int ret;

	ret = nftj_ruleset_dump(&rs, NFPROTO_UNSPEC);
	if (ret == -EAGAIN)
		return 1;
	if (ret) {
		fprintf(stderr, "  nftj_ruleset_dump: %s\n", strerror(-ret));
		return -1;
	}
	*nrules = rules_count(&rs);
	ret = 0;
	if (*nrules != rs.genid - genid0 || rs.nsets != 1 ||
	    rs.sets[0].nelems != 500) {
		fprintf(stderr, "  generation +%u: %zu rules, %zu sets\n",
			rs.genid - genid0, *nrules, rs.nsets);
		ret = -1;
	}
	nftj_ruleset_free(&rs);
	return ret;
}

static void check_race(struct nftj_ruleset *rs)
{
	int status = 0, ret = 0;
	uint32_t genid0 = rs->genid;
	size_t nrules = 0;
	pid_t pid;

	CHECK_EQ(rules_count(rs), 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		race_writer(rs);
	while (ret >= 0 && waitpid(pid, &status, WNOHANG) == 0)
		ret = race_dump(genid0, &nrules);
	if (ret < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	CHECK(ret >= 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* quiet now: this one must succeed, with every rule */
	CHECK_EQ(race_dump(genid0, &nrules), 0);
	CHECK_EQ(nrules, RACE_RULES);
}

static char *race_ruleset(void)
{
	size_t size = 64 + 500 * 16, off;
	char *buf = malloc(size);
	int i;

	if (!buf)
		return NULL;
	off = snprintf(buf, size,
		       "table ip t { chain c { }; set s { type inet_service;"
		       " elements = { ");
	for (i = 1; i <= 500; i++)
		off += snprintf(buf + off, size - off, "%d%s", i,
				i < 500 ? ", " : " }; }; }\n");
	return buf;
}

UNIT_TEST(dump_race_consistent)
{
	NETNS_TEST_MADE(race_ruleset(), check_race);
}

/* multi-part dumps */

#define BIG_RULES	2000
#define BIG_ELEMS	20000

static char *big_ruleset(void)
{
	size_t size = 256 + BIG_RULES * 48 + BIG_ELEMS * 20, off;
	char *buf = malloc(size);
	int i;

	if (!buf)
		return NULL;
	off = snprintf(buf, size, "add table ip t\nadd chain ip t c\n");
	for (i = 1; i <= BIG_RULES; i++)
		off += snprintf(buf + off, size - off,
				"add rule ip t c tcp dport %d accept\n", i);
	off += snprintf(buf + off, size - off,
			"add set ip t s { type ipv4_addr; }\n"
			"add element ip t s { ");
	for (i = 0; i < BIG_ELEMS; i++)
		off += snprintf(buf + off, size - off, "10.%d.%d.%d%s",
				i >> 16, (i >> 8) & 255, i & 255,
				i < BIG_ELEMS - 1 ? ", " : " }\n");
	return buf;
}

static void check_big(struct nftj_ruleset *rs)
{
	const struct nftj_set *s;
	int i;

	CHECK_EQ(rules_count(rs), BIG_RULES);
	for (i = 0; i < BIG_RULES; i += 97)
		CHECK_EQ(rule_dport(rule_nth(rs, "t", "c", i)), i + 1);
	s = nftj_set_find(rs, NFPROTO_IPV4, "t", "s");
	CHECK(s);
	CHECK_EQ(s->nelems, BIG_ELEMS);
	CHECK(elem_ip(s, "10.0.0.0", 0));
	CHECK(elem_ip(s, "10.0.78.31", 0));
}

UNIT_TEST(dump_multipart)
{
	NETNS_TEST_MADE(big_ruleset(), check_big);
}

/* errors */

static void check_eperm(struct nftj_ruleset *rs)
{
	struct nftj_ruleset rs2;
	uint32_t genid;

	(void)rs;
	CHECK_EQ(setresuid(65534, 65534, 65534), 0);
	CHECK_EQ(nftj_genid_get(&genid), -EPERM);
	CHECK_EQ(nftj_ruleset_dump(&rs2, NFPROTO_UNSPEC), -EPERM);
	CHECK(!rs2.tables && !rs2.sets);
}

UNIT_TEST(dump_eperm)
{
	if (geteuid() != 0)
		UNIT_SKIP("needs root to drop privileges");
	NETNS_TEST(NULL, check_eperm);
}
