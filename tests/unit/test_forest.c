// SPDX-License-Identifier: GPL-2.0
/*
 * Tree runs (the optimizer's tree pass, umh/cg/forest.c): generated
 * ACL-like chains with nested prefixes and overlapping port ranges are
 * compiled with the pass and without it (--no-opt=tree: the straight
 * code the differential suite proves against the kernel), and both
 * programs run on the same random packets (TCP, UDP, ICMP, non-first
 * fragments, transport headers cut short): the verdict and the deciding
 * rule must be the same for every packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "cg/cg.h"
#include "pred.h"
#include "cg/codegen.h"
#include "jit.h"
#include "netns_util.h"
#include "opt.h"
#include "testrun.h"
#include "unit.h"

#define FOREST_PACKETS	3000

static uint32_t rnd_state;
static bool edge_ports;		/* port tests the absent value decides */

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static const uint16_t ports[] = { 22, 53, 80, 443, 1000, 1500, 2000, 8080 };

static void port_spec(char *buf, size_t size)
{
	uint16_t a = ports[rnd(8)], b = ports[rnd(8)];

	if (edge_ports && rnd(3) == 0) {
		/* every port, or all but one: true for every value the
		 * field loads, false where it does not load
		 */
		if (rnd(2))
			snprintf(buf, size, "0-65535");
		else
			snprintf(buf, size, "!= %u", a);
		return;
	}
	if (rnd(2) || a == b)
		snprintf(buf, size, "%u", a);
	else
		snprintf(buf, size, "%u-%u", a < b ? a : b, a < b ? b : a);
}

/* n rules over small address and port pools: they overlap a lot */
static char *make_acl(uint32_t seed, unsigned int n, bool mixed)
{
	static const char *const pl[] = { "/16", "/24", "" };
	size_t size = 256 + n * 200, len;
	char *rs = malloc(size), sp[32], dp[32];
	const char *proto;
	unsigned int i;

	if (!rs)
		return NULL;
	rnd_state = seed;
	len = snprintf(rs, size, "table ip t {\n chain c {\n  type filter hook output priority 0; policy %s;\n",
		       mixed ? "drop" : "accept");
	for (i = 0; i < n; i++) {
		proto = rnd(3) == 0 ? NULL : rnd(2) ? "tcp" : "udp";
		len += snprintf(rs + len, size - len, "  ");
		if (rnd(4))
			len += snprintf(rs + len, size - len,
					"ip saddr 10.%u.%u.%u%s ", rnd(4),
					rnd(4), rnd(3) ? 0 : 1, pl[rnd(3)]);
		if (rnd(3))
			len += snprintf(rs + len, size - len,
					"ip daddr 172.16.%u.0/%u ", rnd(4),
					rnd(2) ? 24 : 23);
		if (proto) {
			port_spec(sp, sizeof(sp));
			port_spec(dp, sizeof(dp));
			if (rnd(3) == 0)
				len += snprintf(rs + len, size - len,
						"%s sport %s ", proto, sp);
			len += snprintf(rs + len, size - len, "%s dport %s ",
					proto, dp);
		} else if (rnd(2)) {
			len += snprintf(rs + len, size - len,
					"ip protocol icmp ");
		}
		if (mixed && i % 23 == 22)
			len += snprintf(rs + len, size - len, "counter ");
		len += snprintf(rs + len, size - len, "%s\n",
				rnd(2) ? "accept" : "drop");
	}
	snprintf(rs + len, size - len, " }\n}\n");
	return rs;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* a random IPv4 packet aimed at the pools above; its length */
static size_t make_pkt(uint8_t *p)
{
	static const uint8_t protos[] = { 6, 17, 1, 6, 17, 47 };
	uint8_t proto = protos[rnd(6)];
	size_t len = 20, l4;
	uint16_t pt;

	memset(p, 0, 64);
	p[0] = 0x45;
	p[8] = 64;
	p[9] = proto;
	p[12] = 10;
	p[13] = rnd(5);
	p[14] = rnd(5);
	p[15] = rnd(3);
	p[16] = 172;
	p[17] = 16;
	p[18] = rnd(5);
	p[19] = rnd(2);
	if (rnd(10) == 0)
		put16(p + 6, 1 + rnd(100));	/* a non-first fragment */
	l4 = proto == 6 ? 20 : 8;
	pt = ports[rnd(8)] + rnd(3) - 1;
	put16(p + 20, rnd(2) ? pt : ports[rnd(8)]);
	put16(p + 22, ports[rnd(8)] + rnd(3) - 1);
	if (proto == 6)
		p[32] = 5 << 4;
	len += rnd(12) ? l4 : 2;		/* or cut short */
	put16(p + 2, (uint16_t)len);
	return len;
}

struct pair {
	struct nftj_prog on, off;
	struct testrun_stats son, soff;
};

static int build(struct nftj_ruleset *rs, struct nftj_prog *jp,
		 unsigned int no_opt)
{
	NFTJ_BUILD_OPTS(o, .no_opt = no_opt);
	int err = nftj_prog_build(jp, rs, NFPROTO_IPV4, "t", "c", &o);

	if (err == -EPERM)
		netns_skip_bpf();
	if (err)
		fprintf(stderr, "  nftj_prog_build: %s: %s\n", strerror(-err),
			jp->why);
	return err;
}

static void same_decisions(struct nftj_ruleset *rs)
{
	struct testrun_meta m = { .hook = NF_INET_LOCAL_OUT,
				  .nfproto = NFPROTO_IPV4 };
	uint32_t r1, r2, d1, d2;
	unsigned int i, bad = 0;
	struct pair x;
	uint8_t pkt[64];
	size_t len;

	CHECK_EQ(build(rs, &x.on, 0), 0);
	CHECK_EQ(build(rs, &x.off, 1u << OPT_TREE), 0);
	CHECK(x.on.plan.nforests >= 1);
	CHECK(x.on.plan.trees >= 2);
	CHECK_EQ(x.off.plan.nforests, 0);
	CHECK_EQ(testrun_stats_init(&x.son, &x.on), 0);
	CHECK_EQ(testrun_stats_init(&x.soff, &x.off), 0);
	rnd_state = 99;
	for (i = 0; i < FOREST_PACKETS; i++) {
		len = make_pkt(pkt);
		CHECK_EQ(testrun_run(&x.on, &m, pkt, len, &x.son, &r1, &d1), 0);
		CHECK_EQ(testrun_run(&x.off, &m, pkt, len, &x.soff, &r2, &d2),
			 0);
		if ((r1 != r2 || d1 != d2) && bad++ < 5)
			fprintf(stderr, "  packet %u: trees: %#x by rule %u, straight: %#x by rule %u\n",
				i, r1, d1, r2, d2);
	}
	CHECK_EQ(bad, 0);
	testrun_stats_free(&x.son);
	testrun_stats_free(&x.soff);
	nftj_prog_free(&x.on);
	nftj_prog_free(&x.off);
}

UNIT_TEST(forest_acl_same_decisions)
{
	NETNS_TEST_MADE(make_acl(1, 160, false), same_decisions);
}

/* runs broken by counters: several forests, rules between them */
UNIT_TEST(forest_mixed_same_decisions)
{
	NETNS_TEST_MADE(make_acl(2, 200, true), same_decisions);
}

/* exact port tests that hold for every value loaded: only the load decides */
UNIT_TEST(forest_edge_ports_same_decisions)
{
	edge_ports = true;
	NETNS_TEST_MADE(make_acl(3, 200, false), same_decisions);
	edge_ports = false;
}

/* the decided-test logic of a leaf: th[2:2] (a port), absent 0x10000 */
UNIT_TEST(forest_leaf_test)
{
	struct pred_field fd = { .src = PRED_SRC_PAYLOAD, .base = IMR_BASE_TH,
				 .offset = 2, .len = 2, .width = 2,
				 .dom = { .kind = PRED_DOM_TH, .end = 4 } };
	struct pred_iv r[2] = { { 1000, 2000 }, { 3000, 3000 } };
	struct pred_iv all = { 0, 0xffff };
	struct pred_stmt st = { .field = 0, .ivs = r, .nivs = 1,
				.exact = true };
	struct cg_leaf_ivs p;

	/* the cell inside the values: skipped */
	CHECK_EQ(cg_leaf_test(&st, &fd, 1200, 1500, &p), CG_LEAF_DECIDED);
	CHECK_EQ(cg_leaf_test(&st, &fd, 1000, 2000, &p), CG_LEAF_DECIDED);
	/* one value more: tested, on the slot, only the upper bound */
	CHECK_EQ(cg_leaf_test(&st, &fd, 1200, 2001, &p), CG_LEAF_SLOT);
	CHECK_EQ(p.n, 1);
	CHECK(p.lo[0] == 1200 && p.hi[0] == 2000);
	/* no value of the cell passes */
	CHECK_EQ(cg_leaf_test(&st, &fd, 2001, 2999, &p), CG_LEAF_FAILS);
	/* two intervals meet the cell */
	st.nivs = 2;
	CHECK_EQ(cg_leaf_test(&st, &fd, 1500, 0x10000, &p), CG_LEAF_SLOT);
	CHECK_EQ(p.n, 2);
	CHECK(p.lo[1] == 3000 && p.hi[1] == 3000);
	/* every port, but the cell holds the absent value: the failed
	 * load must still fail the test
	 */
	st.ivs = &all;
	st.nivs = 1;
	CHECK_EQ(cg_leaf_test(&st, &fd, 0, 0x10000, &p), CG_LEAF_SLOT);
	CHECK(p.n == 1 && p.hi[0] == 0xffff);
	CHECK_EQ(cg_leaf_test(&st, &fd, 0, 0xffff, &p), CG_LEAF_DECIDED);
	/* not exact (a set, a mask that is no prefix): never skipped */
	st.exact = false;
	CHECK_EQ(cg_leaf_test(&st, &fd, 1200, 1500, &p), CG_LEAF_EMIT);
	st.exact = true;
	/* no field, or wider than a slot's cut fields */
	st.field = UINT32_MAX;
	CHECK_EQ(cg_leaf_test(&st, &fd, 1200, 1500, &p), CG_LEAF_EMIT);
	st.field = 0;
	fd.width = 16;
	CHECK_EQ(cg_leaf_test(&st, &fd, 1200, 1500, &p), CG_LEAF_EMIT);
}
