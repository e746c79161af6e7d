// SPDX-License-Identifier: GPL-2.0
/*
 * nftj_ruleset_parse(): the front end fed from a buffer of dump messages
 * (the fuzzer's entry, tests/fuzz), built here with libnftnl as the
 * kernel would send them.  No namespace needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>

#include "model.h"
#include "unit.h"

struct msgbuf {
	char buf[1 << 16];
	size_t len;
};

static struct nlmsghdr *msg_new(struct msgbuf *m, uint16_t type,
				uint8_t family)
{
	return nftnl_nlmsg_build_hdr(m->buf + m->len, type, family,
				     NLM_F_MULTI, 1);
}

static void msg_end(struct msgbuf *m, struct nlmsghdr *nlh)
{
	m->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void put_gen(struct msgbuf *m, uint32_t id)
{
	struct nlmsghdr *nlh = msg_new(m, NFT_MSG_NEWGEN, AF_UNSPEC);

	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(id));
	msg_end(m, nlh);
}

static void put_table(struct msgbuf *m, const char *name)
{
	struct nlmsghdr *nlh = msg_new(m, NFT_MSG_NEWTABLE, NFPROTO_IPV4);
	struct nftnl_table *t = nftnl_table_alloc();

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	msg_end(m, nlh);
}

static void put_chain(struct msgbuf *m, const char *table, const char *name)
{
	struct nlmsghdr *nlh = msg_new(m, NFT_MSG_NEWCHAIN, NFPROTO_IPV4);
	struct nftnl_chain *c = nftnl_chain_alloc();

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	msg_end(m, nlh);
}

static void put_rule(struct msgbuf *m, const char *table, const char *chain)
{
	struct nlmsghdr *nlh = msg_new(m, NFT_MSG_NEWRULE, NFPROTO_IPV4);
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e = nftnl_expr_alloc("counter");

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, 2);
	nftnl_rule_add_expr(r, e);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	msg_end(m, nlh);
}

static void put_set(struct msgbuf *m, const char *table, const char *name)
{
	struct nlmsghdr *nlh = msg_new(m, NFT_MSG_NEWSET, NFPROTO_IPV4);
	struct nftnl_set *s = nftnl_set_alloc();

	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, 7);	/* ipv4_addr */
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	msg_end(m, nlh);
}

/*
 * n elements with keys first, first + 1, ... (host order, 4 bytes), one
 * NFTA_LIST_ELEM each as the kernel sends them (libnftnl's builder
 * numbers them 1, 2, ..., which its parser refuses)
 */
static void put_elems(struct msgbuf *m, uint8_t family, const char *table,
		      const char *set, uint32_t first, uint32_t n)
{
	struct nlmsghdr *nlh = msg_new(m, NFT_MSG_NEWSETELEM, family);
	struct nlattr *list, *elem, *key;
	uint32_t i;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (i = 0; i < n; i++) {
		uint32_t v = first + i;

		elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, sizeof(v), &v);
		mnl_attr_nest_end(nlh, key);
		mnl_attr_nest_end(nlh, elem);
	}
	mnl_attr_nest_end(nlh, list);
	msg_end(m, nlh);
}

static size_t rules_n(const struct nftj_ruleset *rs)
{
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(rs->rules);
	size_t n = 0;

	while (it && nftnl_rule_list_iter_next(it))
		n++;
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return n;
}

static uint32_t key_of(const struct nftj_set *s, size_t i)
{
	uint32_t k;

	memcpy(&k, s->elems[i].key, sizeof(k));
	return k;
}

/*
 * Elements of two sets interleaved, the first set's in two messages
 * around the other's: each goes to its own set, in order, and the
 * array keeps growing past its first allocation.
 */
UNIT_TEST(parse_dump_messages)
{
	static struct msgbuf m;
	struct nftj_ruleset rs;
	const struct nftj_set *a, *b;
	size_t i;

	m.len = 0;
	put_chain(&m, "t", "c");
	put_rule(&m, "t", "c");
	put_set(&m, "t", "a");
	put_set(&m, "t", "b");
	put_elems(&m, NFPROTO_IPV4, "t", "a", 0, 100);
	put_elems(&m, NFPROTO_IPV4, "t", "b", 1000, 3);
	put_elems(&m, NFPROTO_IPV4, "t", "a", 100, 100);
	put_gen(&m, 42);
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len), 0);
	CHECK_EQ(rs.genid, 42);
	CHECK_EQ(rules_n(&rs), 1);
	CHECK_EQ(rs.nsets, 2);
	a = nftj_set_find(&rs, NFPROTO_IPV4, "t", "a");
	b = nftj_set_find(&rs, NFPROTO_IPV4, "t", "b");
	CHECK(a && b);
	CHECK_EQ(a->nelems, 200);
	CHECK_EQ(b->nelems, 3);
	for (i = 0; i < a->nelems; i++)
		if (key_of(a, i) != i || a->elems[i].key_len != 4)
			break;
	CHECK_EQ(i, 200);
	CHECK_EQ(key_of(b, 2), 1002);
	nftj_ruleset_free(&rs);
}

UNIT_TEST(parse_dump_errors)
{
	static struct msgbuf m;
	struct nftj_ruleset rs;
	struct nlmsghdr *done;

	CHECK_EQ(nftj_ruleset_parse(NULL, m.buf, 0), -EINVAL);
	CHECK_EQ(nftj_ruleset_parse(&rs, NULL, 1), -EINVAL);
	CHECK_EQ(nftj_ruleset_parse(&rs, NULL, 0), 0);
	CHECK(rs.tables && rs.chains && rs.rules && !rs.nsets);
	nftj_ruleset_free(&rs);

	/* elements of a set the dump does not have, or of another family */
	m.len = 0;
	put_table(&m, "t");
	put_set(&m, "t", "a");
	put_elems(&m, NFPROTO_IPV6, "t", "a", 0, 1);
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len), -EPROTO);
	CHECK(!rs.tables && !rs.sets);

	/* not whole messages: cut short, or a length libmnl misreads */
	m.len = 0;
	put_table(&m, "t");
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len - 4), -EPROTO);
	((struct nlmsghdr *)m.buf)->nlmsg_len = 0x80000000u;
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len), -EPROTO);

	/* a commit between the generations read */
	m.len = 0;
	put_gen(&m, 1);
	put_table(&m, "t");
	put_gen(&m, 2);
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len), -EAGAIN);

	/* NLMSG_DONE ends the buffer: the table after it is not read */
	m.len = 0;
	put_gen(&m, 1);
	done = mnl_nlmsg_put_header(m.buf + m.len);
	done->nlmsg_type = NLMSG_DONE;
	msg_end(&m, done);
	put_table(&m, "t");
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len), 0);
	CHECK(nftnl_table_list_is_empty(rs.tables));
	nftj_ruleset_free(&rs);
}

/*
 * A message that ends before its nfgenmsg, right before a page the
 * process cannot read: libnftnl's parsers read the family from there.
 */
UNIT_TEST(parse_short_message)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct nftj_ruleset rs;
	struct nlmsghdr *nlh;
	char *map;
	int err;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(map != MAP_FAILED);
	CHECK_EQ(mprotect(map + pg, pg, PROT_NONE), 0);
	nlh = (struct nlmsghdr *)(map + pg - NLMSG_HDRLEN);
	memset(nlh, 0, NLMSG_HDRLEN);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE;
	err = nftj_ruleset_parse(&rs, nlh, NLMSG_HDRLEN);
	munmap(map, 2 * pg);
	CHECK_EQ(err, -EPROTO);
}

/*
 * Element attributes above NFTA_SET_ELEM_MAX (12 to NFTA_SET_MAX, which
 * a newer kernel could send): libnftnl 1.2.4 checks them against
 * NFTA_SET_MAX and stores them in an array of NFTA_SET_ELEM_MAX + 1 on
 * its stack ("stack smashing detected").  The front end refuses them
 * first; the regression input of the fuzzer is the same dump.
 */
UNIT_TEST(parse_elem_attr_beyond_max)
{
	static struct msgbuf m;
	struct nlattr *list, *elem, *key;
	struct nftj_ruleset rs;
	struct nlmsghdr *nlh;
	uint64_t ones = ~0ULL;
	uint32_t v = 1;
	int type;

	m.len = 0;
	put_table(&m, "t");
	put_set(&m, "t", "s");
	nlh = msg_new(&m, NFT_MSG_NEWSETELEM, NFPROTO_IPV4);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "t");
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "s");
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, sizeof(v), &v);
	mnl_attr_nest_end(nlh, key);
	for (type = NFTA_SET_ELEM_MAX + 1; type <= NFTA_SET_MAX; type++)
		mnl_attr_put(nlh, type, sizeof(ones), &ones);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	msg_end(&m, nlh);
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len), -EPROTO);

	/* the same element without them is read */
	m.len = 0;
	put_table(&m, "t");
	put_set(&m, "t", "s");
	put_elems(&m, NFPROTO_IPV4, "t", "s", 1, 1);
	CHECK_EQ(nftj_ruleset_parse(&rs, m.buf, m.len), 0);
	CHECK_EQ(rs.nsets, 1);
	CHECK_EQ(rs.sets[0].nelems, 1);
	nftj_ruleset_free(&rs);
}
