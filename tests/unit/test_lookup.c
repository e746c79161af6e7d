// SPDX-License-Identifier: GPL-2.0
/*
 * Lookup runs (the optimizer's lookup pass, umh/cg/lookup.c): generated
 * chains of (ip daddr, udp or tcp dport) pairs from small pools, so that
 * keys repeat with other verdicts, are compiled with the pass and
 * without it (--no-opt=lookup: the trees and straight code the
 * differential suite proves against the kernel), both with the shadow
 * pass off so that the repeated keys stay in the run; both programs run
 * on the same random packets (UDP, TCP, ICMP, non-first fragments,
 * transport headers cut short): the verdict and the deciding rule must
 * be the same for every packet.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "cg/codegen.h"
#include "jit.h"
#include "netns_util.h"
#include "opt.h"
#include "testrun.h"
#include "unit.h"

#define LOOKUP_PACKETS	3000

static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static const uint16_t ports[] = { 22, 53, 80, 443, 1000, 8080 };

/*
 * n pair rules over 8 addresses and 6 ports of 2 protocols: about one in
 * three keys repeats; every 40th rule tests the port first; a counter
 * rule after 60 ends the first run.
 */
static char *make_pairs(uint32_t seed, unsigned int n)
{
	size_t size = 256 + n * 100, len;
	char *rs = malloc(size);
	const char *proto;
	unsigned int i, a;
	uint16_t pt;

	if (!rs)
		return NULL;
	rnd_state = seed;
	len = snprintf(rs, size, "table ip t {\n chain c {\n  type filter hook output priority 0; policy accept;\n");
	for (i = 0; i < n; i++) {
		proto = rnd(4) ? "udp" : "tcp";
		a = rnd(8);
		pt = ports[rnd(6)];
		if (i == 60)
			len += snprintf(rs + len, size - len,
					"  counter ip daddr 172.16.0.1 accept\n");
		if (i % 40 == 39)
			len += snprintf(rs + len, size - len,
					"  %s dport %u ip daddr 172.16.%u.%u %s\n",
					proto, pt, a / 4, a % 4,
					rnd(2) ? "accept" : "drop");
		else
			len += snprintf(rs + len, size - len,
					"  ip daddr 172.16.%u.%u %s dport %u %s\n",
					a / 4, a % 4, proto, pt,
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
	static const uint8_t protos[] = { 17, 17, 6, 1 };
	uint8_t proto = protos[rnd(4)];
	size_t len = 20, l4;

	memset(p, 0, 64);
	p[0] = 0x45;
	p[8] = 64;
	p[9] = proto;
	p[12] = 10;
	p[15] = 1;
	p[16] = 172;
	p[17] = 16;
	p[18] = rnd(3);
	p[19] = rnd(5);
	if (rnd(10) == 0)
		put16(p + 6, 1 + rnd(100));	/* a non-first fragment */
	l4 = proto == 6 ? 20 : 8;
	put16(p + 20, 1234);
	put16(p + 22, ports[rnd(6)] + (rnd(8) ? 0 : 1));
	if (proto == 6)
		p[32] = 5 << 4;
	len += rnd(12) ? l4 : 3;		/* or cut short */
	put16(p + 2, (uint16_t)len);
	return len;
}

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
	struct nftj_prog on, off;
	struct testrun_stats son, soff;
	uint32_t r1, r2, d1, d2;
	unsigned int i, bad = 0, hits = 0;
	uint8_t pkt[64];
	size_t len;

	CHECK_EQ(build(rs, &on, 1u << OPT_SHADOW), 0);
	CHECK_EQ(build(rs, &off, (1u << OPT_SHADOW) | (1u << OPT_LOOKUP)), 0);
	CHECK_EQ(on.plan.nlookups, 2);
	CHECK(on.plan.lookup_elems < on.plan.lookup_rules);
	CHECK_EQ(off.plan.nlookups, 0);
	CHECK_EQ(testrun_stats_init(&son, &on), 0);
	CHECK_EQ(testrun_stats_init(&soff, &off), 0);
	rnd_state = 7;
	for (i = 0; i < LOOKUP_PACKETS; i++) {
		len = make_pkt(pkt);
		CHECK_EQ(testrun_run(&on, &m, pkt, len, &son, &r1, &d1), 0);
		CHECK_EQ(testrun_run(&off, &m, pkt, len, &soff, &r2, &d2), 0);
		if (d1 != d2 && bad++ < 5)
			fprintf(stderr, "  packet %u: lookups: %#x by rule %u, without: %#x by rule %u\n",
				i, r1, d1, r2, d2);
		else if (r1 != r2 && bad++ < 5)
			fprintf(stderr, "  packet %u: lookups: %#x, without: %#x\n",
				i, r1, r2);
		hits += d1 < 60;
	}
	CHECK_EQ(bad, 0);
	/* the packets reach the rules of the runs */
	CHECK(hits > LOOKUP_PACKETS / 10);
	testrun_stats_free(&son);
	testrun_stats_free(&soff);
	nftj_prog_free(&on);
	nftj_prog_free(&off);
}

UNIT_TEST(lookup_pairs_same_decisions)
{
	NETNS_TEST_MADE(make_pairs(1, 160), same_decisions);
}
