// SPDX-License-Identifier: GPL-2.0
/*
 * Code generation tests: small rulesets loaded with nft in a fresh
 * network namespace are compiled (nftj_prog_build), loaded through the
 * verifier and run on hand-made packets with BPF_PROG_TEST_RUN; the
 * verdict and the deciding rule must be what nf_tables would give.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "jit.h"
#include "netns_util.h"
#include "opt.h"
#include "testrun.h"
#include "unit.h"

/* ---- packets --------------------------------------------------------- */

#define PKT_BUF		256

static char pkt_desc[160];	/* the last packet built, for messages */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* TCP (20 bytes, SYN) or UDP (8 bytes) header at p; returns its length */
static size_t l4_header(uint8_t *p, uint8_t proto, uint16_t sport,
			uint16_t dport)
{
	put16(p, sport);
	put16(p + 2, dport);
	if (proto == IPPROTO_UDP) {
		put16(p + 4, 8);
		return 8;
	}
	memset(p + 4, 0, 16);
	p[12] = 5 << 4;		/* data offset */
	p[13] = 0x02;		/* SYN */
	put16(p + 14, 65535);
	return 20;
}

/* IPv4 + TCP/UDP; returns the packet length */
static size_t pkt4(uint8_t *p, uint8_t proto, const char *src,
		   const char *dst, uint16_t sport, uint16_t dport)
{
	size_t len;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	len = 20 + l4_header(p + 20, proto, sport, dport);
	snprintf(pkt_desc, sizeof(pkt_desc), "%s %s:%u > %s:%u",
		 proto == IPPROTO_UDP ? "udp" : "tcp", src, sport, dst, dport);
	put16(p + 2, (uint16_t)len);
	put16(p + 10, csum(p, 20));
	return len;
}

/* IPv6 (+ a hop-by-hop header if hbh) + TCP/UDP */
static size_t pkt6(uint8_t *p, uint8_t proto, const char *src,
		   const char *dst, uint16_t sport, uint16_t dport, bool hbh)
{
	size_t off = 40, len;

	memset(p, 0, 40);
	p[0] = 0x60;
	p[6] = hbh ? 0 : proto;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	if (hbh) {
		memset(p + 40, 0, 8);
		p[40] = proto;		/* next header */
		p[41] = 0;		/* 8 bytes */
		p[42] = 1;		/* PadN */
		p[43] = 4;
		off = 48;
	}
	len = off + l4_header(p + off, proto, sport, dport);
	snprintf(pkt_desc, sizeof(pkt_desc), "%s%s [%s]:%u > [%s]:%u",
		 proto == IPPROTO_UDP ? "udp" : "tcp", hbh ? " (hbh)" : "",
		 src, sport, dst, dport);
	put16(p + 4, (uint16_t)(len - 40));
	return len;
}

/* ---- programs -------------------------------------------------------- */

static struct nftj_prog jp;
static struct testrun_stats st;
static struct testrun_meta meta;

static void print_log_tail(const char *log)
{
	size_t n = strlen(log);

	fprintf(stderr, "  verifier log (end):\n%s\n",
		n > 1500 ? log + n - 1500 : log);
}

/* compile and load base chain t/chain; skip the test without BPF */
/* optimizer passes off in prog_build() (OPT_*), for one test at a time */
static unsigned int build_no_opt;

static int prog_build(const struct nftj_ruleset *rs, uint32_t family,
		      const char *chain, enum nftj_target target)
{
	NFTJ_BUILD_OPTS(o, .target = target, .no_opt = build_no_opt);
	int err;

	err = nftj_prog_build(&jp, rs, family, "t", chain, &o);
	if (err == -EPERM)
		netns_skip_bpf();
	if (err) {
		fprintf(stderr, "  nftj_prog_build(%s): %s: %s\n", chain,
			strerror(-err), jp.why);
		if (jp.log)
			print_log_tail(jp.log);
		return err;
	}
	if (target == NFTJ_TARGET_TEST && testrun_stats_init(&st, &jp))
		return -ENOMEM;
	memset(&meta, 0, sizeof(meta));
	meta.hook = jp.imr.chains[0].hook;
	meta.nfproto = family == NFPROTO_IPV6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	return 0;
}

static void prog_free(void)
{
	testrun_stats_free(&st);
	nftj_prog_free(&jp);
}

/* the program-wide id of rule n of chain `chain` */
static uint32_t id_of(const char *chain, size_t n)
{
	size_t i;

	for (i = 0; i < jp.imr.nchains; i++)
		if (!strcmp(jp.imr.chains[i].name, chain) &&
		    n < jp.imr.chains[i].nrules)
			return jp.imr.chains[i].rules[n].id;
	return 0xdeadbeef;
}

static uint64_t counter_delta(uint32_t id, bool bytes)
{
	const struct nftj_counter *now = testrun_counter(&st, false, id);
	const struct nftj_counter *was = testrun_counter(&st, true, id);

	return bytes ? now->bytes - was->bytes : now->packets - was->packets;
}

/* run pkt[len]; the verdict and the deciding rule id must match */
static bool run_is(const uint8_t *pkt, size_t len, uint32_t verdict,
		   uint32_t decider)
{
	uint32_t ret = 0, dec = 0;
	int err;

	err = testrun_run(&jp, &meta, pkt, len, &st, &ret, &dec);
	if (err) {
		fprintf(stderr, "  %s: %s: testrun_run: %s\n", jp.name, pkt_desc,
			strerror(-err));
		return false;
	}
	if (ret != verdict || dec != decider) {
		fprintf(stderr, "  %s: %s (%zu bytes): verdict %#x by rule "
			"%#x, expected %#x by %#x\n", jp.name, pkt_desc, len,
			ret, dec, verdict, decider);
		return false;
	}
	return true;
}

#define CHECK_RUN(pkt, len, verdict, decider)				\
	CHECK(run_is(pkt, len, verdict, decider))

#define POLICY	NFTJ_RULE_POLICY

/* ---- verdicts, policy, counters -------------------------------------- */

static const char rs_verdicts[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy drop;\n"
	"		ip saddr 1.1.1.1 accept\n"
	"		ip saddr 2.2.2.2 drop\n"
	"		ip saddr 3.3.3.3 counter accept\n"
	"		counter\n"
	"		ip saddr 4.4.4.4 tcp dport 22 accept\n"
	"		udp dport 53 accept\n"
	"	}\n"
	"	chain c2 {\n"
	"		type filter hook forward priority 0; policy accept;\n"
	"		ip saddr 1.1.1.1 drop\n"
	"		ip saddr 6.6.6.6 return\n"
	"		ip saddr 6.6.6.0/24 drop\n"
	"	}\n"
	"}\n";

/* the same with 4 bytes of IPv4 options (NOPs) */
static size_t with_options(uint8_t *p, size_t len)
{
	memmove(p + 24, p + 20, len - 20);
	memset(p + 20, 1, 4);
	p[0] = 0x46;
	put16(p + 2, (uint16_t)(len + 4));
	p[10] = p[11] = 0;
	put16(p + 10, csum(p, 24));
	return len + 4;
}

static void check_verdicts(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK(jp.prog_fd >= 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 6);

	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 0));
	CHECK_EQ(counter_delta(id_of("c", 2), false), 0);
	CHECK_EQ(counter_delta(id_of("c", 3), false), 0);

	n = pkt4(p, IPPROTO_TCP, "2.2.2.2", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 1));

	n = pkt4(p, IPPROTO_TCP, "3.3.3.3", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	CHECK_EQ(counter_delta(id_of("c", 2), false), 1);
	CHECK_EQ(counter_delta(id_of("c", 2), true), n);
	CHECK_EQ(counter_delta(id_of("c", 3), false), 0);

	/* nothing matches: the counter-only rule counts, the policy drops */
	n = pkt4(p, IPPROTO_TCP, "9.9.9.9", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	CHECK_EQ(counter_delta(id_of("c", 2), false), 0);
	CHECK_EQ(counter_delta(id_of("c", 3), false), 1);
	CHECK_EQ(counter_delta(id_of("c", 3), true), n);

	n = pkt4(p, IPPROTO_TCP, "4.4.4.4", "9.9.9.9", 1000, 22);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 4));
	CHECK_EQ(counter_delta(id_of("c", 3), false), 1);
	n = pkt4(p, IPPROTO_TCP, "4.4.4.4", "9.9.9.9", 1000, 23);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	/* the transport header after IPv4 options */
	n = with_options(p, pkt4(p, IPPROTO_TCP, "4.4.4.4", "9.9.9.9", 23,
				 22));
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 4));
	n = with_options(p, pkt4(p, IPPROTO_TCP, "4.4.4.4", "9.9.9.9", 22,
				 23));
	CHECK_RUN(p, n, NF_DROP, POLICY);
	/* right port, wrong protocol */
	n = pkt4(p, IPPROTO_UDP, "4.4.4.4", "9.9.9.9", 1000, 22);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	n = pkt4(p, IPPROTO_UDP, "5.5.5.5", "9.9.9.9", 1000, 53);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 5));
	n = pkt4(p, IPPROTO_TCP, "5.5.5.5", "9.9.9.9", 1000, 53);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	/* the counters add up over runs */
	CHECK_EQ(testrun_counter(&st, false, id_of("c", 3))->packets, 8);
	CHECK_EQ(testrun_counter(&st, false, id_of("c", 2))->packets, 1);
	prog_free();

	/* policy accept */
	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c2", NFTJ_TARGET_TEST), 0);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_DROP, id_of("c2", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.2", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	/* return in a base chain: the policy */
	n = pkt4(p, IPPROTO_TCP, "6.6.6.6", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_TCP, "6.6.6.7", "9.9.9.9", 1000, 80);
	CHECK_RUN(p, n, NF_DROP, id_of("c2", 2));
	prog_free();
}

UNIT_TEST(codegen_verdicts_policy_counter)
{
	NETNS_TEST(rs_verdicts, check_verdicts);
}

/* ---- interval sets (LPM) --------------------------------------------- */

static const char rs_lpm[] =
	"table ip t {\n"
	"	set s {\n"
	"		type ipv4_addr; flags interval;\n"
	"		elements = { 10.0.0.0/8, 192.168.1.10-192.168.1.20,\n"
	"			     240.0.0.0-255.255.255.255 }\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy drop;\n"
	"		ip saddr 7.7.7.7 ip daddr != @s drop\n"
	"		ip daddr @s accept\n"
	"		tcp dport { 1000-2000, 3000 } accept\n"
	"	}\n"
	"}\n";

static void check_lpm(struct nftj_ruleset *rs)
{
	static const struct {
		const char *addr;
		bool in;
	} a[] = {
		{ "0.0.0.0", false },
		{ "9.255.255.255", false },
		{ "10.0.0.0", true },
		{ "10.1.2.3", true },
		{ "10.255.255.255", true },
		{ "11.0.0.0", false },
		{ "192.168.1.9", false },
		{ "192.168.1.10", true },
		{ "192.168.1.15", true },
		{ "192.168.1.20", true },
		{ "192.168.1.21", false },
		{ "239.255.255.255", false },
		{ "240.0.0.0", true },
		{ "255.255.255.255", true },
	};
	static const struct {
		uint16_t port;
		bool in;
	} ports[] = {
		{ 999, false }, { 1000, true }, { 1500, true }, { 2000, true },
		{ 2001, false }, { 2999, false }, { 3000, true },
		{ 3001, false }, { 0, false }, { 65535, false },
	};
	uint8_t p[PKT_BUF];
	size_t i, n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 3);
	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		n = pkt4(p, IPPROTO_UDP, "1.2.3.4", a[i].addr, 1, 1);
		if (a[i].in)
			CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 1));
		else
			CHECK_RUN(p, n, NF_DROP, POLICY);
		/* the inverted lookup */
		n = pkt4(p, IPPROTO_UDP, "7.7.7.7", a[i].addr, 1, 1);
		if (a[i].in)
			CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 1));
		else
			CHECK_RUN(p, n, NF_DROP, id_of("c", 0));
	}
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		n = pkt4(p, IPPROTO_TCP, "1.2.3.4", "1.2.3.4", 1,
			 ports[i].port);
		if (ports[i].in)
			CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
		else
			CHECK_RUN(p, n, NF_DROP, POLICY);
	}
	prog_free();
}

UNIT_TEST(codegen_interval_set)
{
	NETNS_TEST(rs_lpm, check_lpm);
}

/* ---- relational operators on wide values ----------------------------- */

/* X = 2001:db8:0:5:8000::5 */
static const char rs_ops6[] =
	"table ip6 t {\n"
	"	chain op_eq { type filter hook input priority 0; policy drop;\n"
	"		ip6 saddr == 2001:db8:0:5:8000::5 accept; }\n"
	"	chain op_ne { type filter hook input priority 1; policy drop;\n"
	"		ip6 saddr != 2001:db8:0:5:8000::5 accept; }\n"
	"	chain op_lt { type filter hook input priority 2; policy drop;\n"
	"		ip6 saddr < 2001:db8:0:5:8000::5 accept; }\n"
	"	chain op_le { type filter hook input priority 3; policy drop;\n"
	"		ip6 saddr <= 2001:db8:0:5:8000::5 accept; }\n"
	"	chain op_gt { type filter hook input priority 4; policy drop;\n"
	"		ip6 saddr > 2001:db8:0:5:8000::5 accept; }\n"
	"	chain op_ge { type filter hook input priority 5; policy drop;\n"
	"		ip6 saddr >= 2001:db8:0:5:8000::5 accept; }\n"
	"	chain xh { type filter hook input priority 6; policy drop;\n"
	"		tcp dport 22 accept\n"
	"		ip6 saddr 2001:db8:0:5::/64 accept; }\n"
	"}\n";

/* the packet's address against X: -1 below, 0 equal, 1 above */
static const struct {
	const char *addr;
	int rel;
} addrs6[] = {
	{ "2001:db8:0:5:8000::5", 0 },
	{ "2001:db8:0:5:8000::4", -1 },		/* low half lower */
	{ "2001:db8:0:5:7fff:ffff:ffff:ffff", -1 }, /* ... signed higher */
	{ "2001:db8:0:4:ffff:ffff:ffff:ffff", -1 }, /* high lower, low higher */
	{ "2001:db8:0:4:8000::5", -1 },		/* high lower, low equal */
	{ "::", -1 },
	{ "2001:db8:0:5:8000::6", 1 },		/* low half higher */
	{ "2001:db8:0:5:ffff::", 1 },
	{ "2001:db8:0:6::", 1 },		/* high higher, low lower */
	{ "2001:db8:0:6:8000::5", 1 },		/* high higher, low equal */
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	{ "8000::", 1 },			/* high bit: unsigned */
};

static bool op_holds(const char *op, int rel)
{
	if (!strncmp(op, "op_", 3))
		op += 3;
	if (!strcmp(op, "eq"))
		return rel == 0;
	if (!strcmp(op, "ne"))
		return rel != 0;
	if (!strcmp(op, "lt"))
		return rel < 0;
	if (!strcmp(op, "le"))
		return rel <= 0;
	if (!strcmp(op, "gt"))
		return rel > 0;
	return rel >= 0;
}

static void check_ops6(struct nftj_ruleset *rs)
{
	static const char *const ops[] = {
		"op_eq", "op_ne", "op_lt", "op_le", "op_gt", "op_ge",
	};
	uint8_t p[PKT_BUF];
	size_t i, j, n;

	for (i = 0; i < 6; i++) {
		CHECK_EQ(prog_build(rs, NFPROTO_IPV6, ops[i],
				    NFTJ_TARGET_TEST), 0);
		for (j = 0; j < sizeof(addrs6) / sizeof(addrs6[0]); j++) {
			n = pkt6(p, IPPROTO_TCP, addrs6[j].addr, "2001:db8::1",
				 1, 1, false);
			if (op_holds(ops[i], addrs6[j].rel))
				CHECK_RUN(p, n, NF_ACCEPT, id_of(ops[i], 0));
			else
				CHECK_RUN(p, n, NF_DROP, POLICY);
		}
		prog_free();
	}

	/* transport header after an extension header; an 8-byte prefix */
	CHECK_EQ(prog_build(rs, NFPROTO_IPV6, "xh", NFTJ_TARGET_TEST), 0);
	n = pkt6(p, IPPROTO_TCP, "2001:db8::9", "2001:db8::1", 1, 22, false);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("xh", 0));
	n = pkt6(p, IPPROTO_TCP, "2001:db8::9", "2001:db8::1", 1, 22, true);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("xh", 0));
	n = pkt6(p, IPPROTO_TCP, "2001:db8::9", "2001:db8::1", 22, 1, true);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	n = pkt6(p, IPPROTO_UDP, "2001:db8::9", "2001:db8::1", 1, 22, true);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	n = pkt6(p, IPPROTO_UDP, "2001:db8:0:5:1::", "2001:db8::1", 1, 22,
		 false);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("xh", 1));
	n = pkt6(p, IPPROTO_UDP, "2001:db8:0:4:1::", "2001:db8::1", 1, 22,
		 false);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	prog_free();
}

UNIT_TEST(codegen_ip6_cmp_ops)
{
	NETNS_TEST(rs_ops6, check_ops6);
}

/* 4-byte values with the top bit clear (imm) and set (64-bit constant) */
static const char rs_ops4[] =
	"table ip t {\n"
	"	chain op_eq { type filter hook input priority 0; policy drop;\n"
	"		ip saddr == 128.0.0.5 accept;\n"
	"		ip daddr == 10.0.0.5 accept; }\n"
	"	chain op_ne { type filter hook input priority 1; policy drop;\n"
	"		ip saddr != 128.0.0.5 accept;\n"
	"		ip daddr != 10.0.0.5 accept; }\n"
	"	chain op_lt { type filter hook input priority 2; policy drop;\n"
	"		ip saddr < 128.0.0.5 accept;\n"
	"		ip daddr < 10.0.0.5 accept; }\n"
	"	chain op_le { type filter hook input priority 3; policy drop;\n"
	"		ip saddr <= 128.0.0.5 accept;\n"
	"		ip daddr <= 10.0.0.5 accept; }\n"
	"	chain op_gt { type filter hook input priority 4; policy drop;\n"
	"		ip saddr > 128.0.0.5 accept;\n"
	"		ip daddr > 10.0.0.5 accept; }\n"
	"	chain op_ge { type filter hook input priority 5; policy drop;\n"
	"		ip saddr >= 128.0.0.5 accept;\n"
	"		ip daddr >= 10.0.0.5 accept; }\n"
	"}\n";

static void check_ops4(struct nftj_ruleset *rs)
{
	static const char *const ops[] = {
		"op_eq", "op_ne", "op_lt", "op_le", "op_gt", "op_ge",
	};
	static const struct {
		const char *saddr;
		int rel;
	} s[] = {
		{ "128.0.0.5", 0 }, { "128.0.0.4", -1 },
		{ "127.255.255.255", -1 }, { "0.0.0.0", -1 },
		{ "128.0.0.6", 1 }, { "255.255.255.255", 1 },
		{ "128.1.0.0", 1 },
	};
	static const struct {
		const char *daddr;
		int rel;
	} d[] = {
		{ "10.0.0.5", 0 }, { "10.0.0.4", -1 }, { "9.255.255.255", -1 },
		{ "10.0.0.6", 1 }, { "200.0.0.0", 1 }, { "10.0.1.0", 1 },
	};
	uint8_t p[PKT_BUF];
	size_t i, j, n;

	for (i = 0; i < 6; i++) {
		CHECK_EQ(prog_build(rs, NFPROTO_IPV4, ops[i],
				    NFTJ_TARGET_TEST), 0);
		/* daddr 10.0.0.5 only matches eq/le/ge: use it for saddr */
		for (j = 0; j < sizeof(s) / sizeof(s[0]); j++) {
			n = pkt4(p, IPPROTO_TCP, s[j].saddr, "10.0.0.5", 1, 1);
			if (op_holds(ops[i], s[j].rel))
				CHECK_RUN(p, n, NF_ACCEPT, id_of(ops[i], 0));
			else if (op_holds(ops[i], 0))
				CHECK_RUN(p, n, NF_ACCEPT, id_of(ops[i], 1));
			else
				CHECK_RUN(p, n, NF_DROP, POLICY);
		}
		/* saddr 128.0.0.5 is equal: only eq/le/ge take rule 0 */
		for (j = 0; j < sizeof(d) / sizeof(d[0]); j++) {
			n = pkt4(p, IPPROTO_TCP, "128.0.0.5", d[j].daddr, 1, 1);
			if (op_holds(ops[i], 0))
				CHECK_RUN(p, n, NF_ACCEPT, id_of(ops[i], 0));
			else if (op_holds(ops[i], d[j].rel))
				CHECK_RUN(p, n, NF_ACCEPT, id_of(ops[i], 1));
			else
				CHECK_RUN(p, n, NF_DROP, POLICY);
		}
		prog_free();
	}
}

UNIT_TEST(codegen_ip4_cmp_ops)
{
	NETNS_TEST(rs_ops4, check_ops4);
}

/* ---- hash sets, wide and concatenated keys ---------------------------- */

static const char rs_keys[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy accept;\n"
	"		ip saddr . tcp dport { 1.1.1.1 . 22, 2.2.2.2 . 80 } drop\n"
	"		ip daddr . ip saddr vmap { 3.3.3.3 . 4.4.4.4 : drop,\n"
	"					   4.4.4.4 . 3.3.3.3 : accept }\n"
	"		ip saddr 9.9.9.9 drop\n"
	"		udp dport . ip daddr { 53 . 8.8.8.8 } accept\n"
	"		meta mark { 0x42, 0x10000 } drop\n"
	"	}\n"
	"}\n"
	"table ip6 t {\n"
	"	set h { type ipv6_addr; elements = { 2001:db8::1, ::ffff:1 } }\n"
	"	set i {\n"
	"		type ipv6_addr; flags interval;\n"
	"		elements = { 2001:db8::/32, fe80::1-fe80::ff }\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy drop;\n"
	"		ip6 saddr @h accept\n"
	"		ip6 daddr @i accept\n"
	"		ip6 saddr . tcp dport { 2001:db8::7 . 443 } accept\n"
	"	}\n"
	"}\n";

static void check_keys(struct nftj_ruleset *rs)
{
	static const struct {
		const char *addr;
		bool in;
	} h[] = {
		{ "2001:db8::1", true }, { "::ffff:1", true },
		{ "2001:db8::2", false }, { "2001:db8:0:1::1", false },
		{ "::1", false }, { "2001:db9::1", false },
	}, iv[] = {
		{ "2001:db8::", true },
		{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "2001:db8:1234::5", true },
		{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
		{ "2001:db9::", false },
		{ "fe80::", false }, { "fe80::1", true }, { "fe80::ff", true },
		{ "fe80::100", false }, { "fe80:0:0:1::1", false },
	};
	uint8_t p[PKT_BUF];
	size_t i, n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 5);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 22);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 0));
	n = pkt4(p, IPPROTO_TCP, "2.2.2.2", "5.5.5.5", 1, 80);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 80);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_TCP, "2.2.2.2", "5.5.5.5", 1, 22);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "5.5.5.5", 1, 22);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_UDP, "4.4.4.4", "3.3.3.3", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 1));
	n = pkt4(p, IPPROTO_UDP, "3.3.3.3", "4.4.4.4", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 1));
	n = pkt4(p, IPPROTO_UDP, "3.3.3.3", "3.3.3.3", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_UDP, "9.9.9.9", "3.3.3.3", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 2));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "8.8.8.8", 1, 53);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 3));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "8.8.8.8", 53, 54);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	meta.mark = 0x42;
	CHECK_RUN(p, n, NF_DROP, id_of("c", 4));
	meta.mark = 0x10000;
	CHECK_RUN(p, n, NF_DROP, id_of("c", 4));
	meta.mark = 0x4200;
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	meta.mark = 0;
	prog_free();

	CHECK_EQ(prog_build(rs, NFPROTO_IPV6, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 3);
	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		n = pkt6(p, IPPROTO_UDP, h[i].addr, "::2", 1, 1, false);
		if (h[i].in)
			CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 0));
		else
			CHECK_RUN(p, n, NF_DROP, POLICY);
	}
	for (i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		n = pkt6(p, IPPROTO_UDP, "::2", iv[i].addr, 1, 1, false);
		if (iv[i].in)
			CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 1));
		else
			CHECK_RUN(p, n, NF_DROP, POLICY);
	}
	n = pkt6(p, IPPROTO_TCP, "2001:db8::7", "::2", 1, 443, false);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	n = pkt6(p, IPPROTO_TCP, "2001:db8::7", "::2", 1, 443, true);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	n = pkt6(p, IPPROTO_TCP, "2001:db8::7", "::2", 1, 444, false);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	n = pkt6(p, IPPROTO_TCP, "2001:db8::8", "::2", 1, 443, false);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	prog_free();
}

UNIT_TEST(codegen_keys_wide_concat)
{
	NETNS_TEST(rs_keys, check_keys);
}

/* ---- inet, metadata -------------------------------------------------- */

static const char rs_inet[] =
	"table inet t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy drop;\n"
	"		tcp dport 22 accept\n"
	"		meta nfproto ipv6 udp dport 53 accept\n"
	"		meta l4proto udp drop\n"
	"	}\n"
	"}\n";

static void check_inet(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_INET, "c", NFTJ_TARGET_TEST), 0);
	meta.nfproto = NFPROTO_IPV4;
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 1, 22);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 0));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "2.2.2.2", 1, 53);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 2));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 1, 23);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	/* IPv4 total length beyond the packet: no transport header */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 1, 22);
	put16(p + 2, 1000);
	CHECK_RUN(p, n, NF_DROP, POLICY);

	meta.nfproto = NFPROTO_IPV6;
	n = pkt6(p, IPPROTO_TCP, "::1", "::2", 1, 22, false);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 0));
	n = pkt6(p, IPPROTO_TCP, "::1", "::2", 1, 22, true);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 0));
	n = pkt6(p, IPPROTO_UDP, "::1", "::2", 1, 53, true);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 1));
	n = pkt6(p, IPPROTO_UDP, "::1", "::2", 1, 54, false);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 2));
	/* IPv6 payload length beyond the packet */
	n = pkt6(p, IPPROTO_TCP, "::1", "::2", 1, 22, false);
	put16(p + 4, 1000);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	prog_free();
}

UNIT_TEST(codegen_inet)
{
	NETNS_TEST(rs_inet, check_inet);
}

static const char rs_meta[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy accept;\n"
	"		meta mark 0x42 accept\n"
	"		meta length 33-45 drop\n"
	"		iif \"lo\" accept\n"
	"		meta pkttype broadcast drop\n"
	"		meta pkttype multicast drop\n"
	"		meta pkttype other drop\n"
	"		udp dport 7 drop\n"
	"	}\n"
	"}\n";

static void check_meta(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 7);
	meta.mark = 0x42;
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 0));
	meta.mark = 0x43;
	/* tcp: 40 bytes, udp: 28 */
	CHECK_EQ(n, 40);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 1));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "2.2.2.2", 1, 1);
	CHECK_EQ(n, 28);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	meta.iif = 1;
	meta.iiftype = 772;		/* ARPHRD_LOOPBACK */
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	meta.iif = 2;
	meta.pkttype = PACKET_MULTICAST;
	CHECK_RUN(p, n, NF_DROP, id_of("c", 4));
	meta.pkttype = PACKET_OTHERHOST;
	CHECK_RUN(p, n, NF_DROP, id_of("c", 5));
	meta.pkttype = PACKET_HOST;
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "2.2.2.2", 1, 7);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 6));
	prog_free();
}

UNIT_TEST(codegen_meta)
{
	NETNS_TEST(rs_meta, check_meta);
}

/*
 * testrun_meta.pkttype PACKET_BROADCAST: the harness must deliver it, or
 * refuse it; it must not silently run the packet as something else.
 */
static void check_broadcast(struct nftj_ruleset *rs)
{
	uint32_t ret = 0, dec = 0;
	uint8_t p[PKT_BUF];
	size_t n;
	int err;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "2.2.2.2", 1, 1);
	meta.pkttype = PACKET_BROADCAST;
	err = testrun_run(&jp, &meta, p, n, &st, &ret, &dec);
	if (!err && (ret != NF_DROP || dec != id_of("c", 3)))
		fprintf(stderr, "  pkttype broadcast: verdict %#x by rule %#x; "
			"the broadcast rule is %#x, the multicast rule %#x\n",
			ret, dec, id_of("c", 3), id_of("c", 4));
	CHECK(err || (ret == NF_DROP && dec == id_of("c", 3)));
	prog_free();
}

UNIT_TEST(codegen_testrun_broadcast)
{
	NETNS_TEST(rs_meta, check_broadcast);
}

/* ---- jump, goto, return ---------------------------------------------- */

static const char rs_jump[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy accept;\n"
	"		ip saddr 1.1.1.0/24 jump sub\n"
	"		ip saddr 1.1.1.1 drop\n"
	"	}\n"
	"	chain sub {\n"
	"		ip daddr 2.2.2.2 accept\n"
	"		ip daddr 3.3.3.3 return\n"
	"		ip daddr 4.4.4.4 counter drop\n"
	"		ip daddr 3.3.3.3 accept\n"
	"	}\n"
	"}\n";

static void check_jump(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(jp.imr.nchains, 2);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "2.2.2.2", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("sub", 0));
	/* return: on with the rule after the jump */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "3.3.3.3", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 1));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.2", "3.3.3.3", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "4.4.4.4", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("sub", 2));
	CHECK_EQ(counter_delta(id_of("sub", 2), false), 1);
	CHECK_EQ(counter_delta(id_of("sub", 2), true), n);
	/* end of the regular chain: implicit return */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 1));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.2", "5.5.5.5", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	/* no jump */
	n = pkt4(p, IPPROTO_TCP, "9.9.9.9", "2.2.2.2", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	CHECK_EQ(counter_delta(id_of("sub", 2), false), 0);
	prog_free();
}

UNIT_TEST(codegen_jump_return)
{
	NETNS_TEST(rs_jump, check_jump);
}

static const char rs_goto[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy drop;\n"
	"		ip saddr 1.1.1.1 goto sub\n"
	"		ip saddr 1.1.1.2 jump sub1\n"
	"		accept\n"
	"	}\n"
	"	chain sub {\n"
	"		ip daddr 4.4.4.4 accept\n"
	"		ip daddr 5.5.5.5 return\n"
	"	}\n"
	"	chain sub1 {\n"
	"		ip daddr 6.6.6.6 goto sub2\n"
	"		drop\n"
	"	}\n"
	"	chain sub2 {\n"
	"		ip daddr 6.6.6.6 tcp dport 7 drop\n"
	"	}\n"
	"}\n";

static void check_goto(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "4.4.4.4", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("sub", 0));
	/* goto from the base chain, then return: the base policy */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 1);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "9.9.9.9", 1, 1);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	/* goto from a regular chain: its return goes to the jump's caller */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.2", "6.6.6.6", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.2", "6.6.6.6", 1, 7);
	CHECK_RUN(p, n, NF_DROP, id_of("sub2", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.2", "7.7.7.7", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("sub1", 1));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.3", "4.4.4.4", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	prog_free();
}

UNIT_TEST(codegen_goto)
{
	NETNS_TEST(rs_goto, check_goto);
}

/* c -> a1 -> a2 -> a3 -> a4: the deepest nesting the IMR allows */
static const char rs_deep[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy accept;\n"
	"		jump a1\n"
	"		drop\n"
	"	}\n"
	"	chain a1 { jump a2; }\n"
	"	chain a2 { ip saddr 2.2.2.2 accept; jump a3; }\n"
	"	chain a3 { jump a4; }\n"
	"	chain a4 { ip daddr 9.9.9.9 counter accept; }\n"
	"}\n";

static void check_deep(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 2);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "9.9.9.9", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("a4", 0));
	CHECK_EQ(counter_delta(id_of("a4", 0), false), 1);
	n = pkt4(p, IPPROTO_TCP, "2.2.2.2", "9.9.9.8", 1, 1);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("a2", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "9.9.9.8", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 1));
	prog_free();
}

UNIT_TEST(codegen_call_depth)
{
	NETNS_TEST(rs_deep, check_deep);
}

/* ---- verdict maps ---------------------------------------------------- */

static const char rs_vmap[] =
	"table ip t {\n"
	"	map m {\n"
	"		type inet_service : verdict;\n"
	"		elements = { 22 : accept, * : drop }\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy drop;\n"
	"		tcp dport vmap { 22 : accept, 23 : drop,\n"
	"				 24 : jump sub, 25 : goto sub,\n"
	"				 26 : continue }\n"
	"		ip saddr 8.8.8.8 udp dport vmap @m\n"
	"		udp dport vmap { 100-199 : accept, 200-299 : drop }\n"
	"		accept\n"
	"	}\n"
	"	chain sub {\n"
	"		ip daddr 4.4.4.4 drop\n"
	"	}\n"
	"}\n";

static void check_vmap(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 4);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 22);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 23);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "4.4.4.4", 1, 24);
	CHECK_RUN(p, n, NF_DROP, id_of("sub", 0));
	/* jump and return: the next rule */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 24);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 3));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "4.4.4.4", 1, 25);
	CHECK_RUN(p, n, NF_DROP, id_of("sub", 0));
	/* goto and return: the policy */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 25);
	CHECK_RUN(p, n, NF_DROP, POLICY);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 26);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 3));
	/* no element */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "5.5.5.5", 1, 27);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 3));

	/* named map with a catch-all element */
	n = pkt4(p, IPPROTO_UDP, "8.8.8.8", "5.5.5.5", 1, 22);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 1));
	n = pkt4(p, IPPROTO_UDP, "8.8.8.8", "5.5.5.5", 1, 23);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 1));

	/* interval map */
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "5.5.5.5", 1, 99);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 3));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "5.5.5.5", 1, 100);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "5.5.5.5", 1, 199);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 2));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "5.5.5.5", 1, 200);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 2));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "5.5.5.5", 1, 299);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 2));
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "5.5.5.5", 1, 300);
	CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 3));
	prog_free();
}

UNIT_TEST(codegen_verdict_map)
{
	NETNS_TEST(rs_vmap, check_vmap);
}

/* ---- the interpreter takes over -------------------------------------- */

static const char rs_resume[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy accept;\n"
	"		ip saddr 1.1.1.1 drop\n"
	"		ip saddr 2.2.2.2 counter\n"
	"		ip saddr 3.3.3.3 log drop\n"
	"		ip saddr 4.4.4.4 drop\n"
	"	}\n"
	"}\n";

static void check_resume(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK_EQ(nftj_prog_rules(&jp), 4);
	CHECK_EQ(nftj_prog_compiled(&jp), 2);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "9.9.9.9", 1, 1);
	CHECK_RUN(p, n, NF_DROP, id_of("c", 0));
	/* everything else stops before rule 2, with no decision */
	n = pkt4(p, IPPROTO_TCP, "2.2.2.2", "9.9.9.9", 1, 1);
	CHECK_RUN(p, n, NFTJ_RET_RESUME(2), NFTJ_DECIDED_NONE);
	CHECK_EQ(counter_delta(id_of("c", 1), false), 1);
	n = pkt4(p, IPPROTO_TCP, "4.4.4.4", "9.9.9.9", 1, 1);
	CHECK_RUN(p, n, NFTJ_RET_RESUME(2), NFTJ_DECIDED_NONE);
	CHECK_EQ(counter_delta(id_of("c", 1), false), 0);
	prog_free();
}

UNIT_TEST(codegen_resume_unsupported)
{
	NETNS_TEST(rs_resume, check_resume);
}

/* ---- kernel target --------------------------------------------------- */

static const char rs_kernel[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy accept;\n"
	"		ip saddr 1.2.3.4 tcp dport 22 accept\n"
	"		ip daddr 5.6.7.8 drop\n"
	"		ip saddr 9.9.9.9 log drop\n"
	"	}\n"
	"	chain c3 {\n"
	"		type filter hook input priority 1; policy drop;\n"
	"		ip saddr 1.2.3.4 accept\n"
	"	}\n"
	"}\n";

/* run a kernel-target program as nf_tables_jit would: data = IP header */
static int kernel_run(const uint8_t *pkt, size_t len, uint32_t flags,
		      uint32_t pktinfo, uint32_t *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct __sk_buff ctx = {};

	ctx.cb[NFTJ_CB_HOOK] = NFTJ_CB2(NF_INET_LOCAL_IN, NFPROTO_IPV4,
					flags);
	ctx.cb[NFTJ_CB_DEVTYPE] = NFTJ_NO_DEV | NFTJ_NO_DEV << 16;
	ctx.cb[NFTJ_CB_PKTINFO] = pktinfo;
	o.data_in = pkt;
	o.data_size_in = (uint32_t)len;
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(jp.prog_fd, &o))
		return -errno;
	*ret = o.retval;
	return 0;
}

static void check_kernel(struct nftj_ruleset *rs)
{
	const uint32_t tcp = 20 | IPPROTO_TCP << 16 | NFTJ_PKTINFO_L4;
	uint8_t p[PKT_BUF];
	uint32_t ret;
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_KERNEL), 0);
	CHECK(jp.prog_fd >= 0);
	CHECK_EQ(jp.target, NFTJ_TARGET_KERNEL);
	/* log stays with the interpreter */
	CHECK_EQ(nftj_prog_compiled(&jp), 2);
	CHECK(jp.imr.chains[0].rules[2].unsupported);

	n = pkt4(p, IPPROTO_TCP, "1.2.3.4", "9.9.9.9", 1, 22);
	CHECK_EQ(kernel_run(p, n, NFTJ_F_PKTINFO, tcp, &ret), 0);
	CHECK_EQ(ret, NF_ACCEPT);
	n = pkt4(p, IPPROTO_TCP, "1.2.3.4", "5.6.7.8", 1, 23);
	CHECK_EQ(kernel_run(p, n, NFTJ_F_PKTINFO, tcp, &ret), 0);
	CHECK_EQ(ret, NF_DROP);
	n = pkt4(p, IPPROTO_TCP, "1.2.3.4", "9.9.9.9", 1, 23);
	CHECK_EQ(kernel_run(p, n, NFTJ_F_PKTINFO, tcp, &ret), 0);
	CHECK_EQ(ret, NFTJ_RET_RESUME(2));
	/* the transport header as the runner's pktinfo says, not parsed */
	n = pkt4(p, IPPROTO_TCP, "1.2.3.4", "9.9.9.9", 1, 22);
	CHECK_EQ(kernel_run(p, n, NFTJ_F_PKTINFO, 20 | IPPROTO_UDP << 16 |
			    NFTJ_PKTINFO_L4, &ret), 0);
	CHECK_EQ(ret, NFTJ_RET_RESUME(2));
	/* without the runner's pktinfo: the interpreter from rule 0 */
	CHECK_EQ(kernel_run(p, n, 0, 0, &ret), 0);
	CHECK_EQ(ret, NFTJ_RET_RESUME(0));
	nftj_prog_free(&jp);

	/* the policy: the interpreter applies and counts it */
	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c3", NFTJ_TARGET_KERNEL), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 1);
	CHECK_EQ(jp.nsvc, 0);
	n = pkt4(p, IPPROTO_TCP, "1.2.3.4", "9.9.9.9", 1, 22);
	CHECK_EQ(kernel_run(p, n, NFTJ_F_PKTINFO, tcp, &ret), 0);
	CHECK_EQ(ret, NF_ACCEPT);
	n = pkt4(p, IPPROTO_TCP, "1.2.3.5", "9.9.9.9", 1, 22);
	CHECK_EQ(kernel_run(p, n, NFTJ_F_PKTINFO, tcp, &ret), 0);
	CHECK_EQ(ret, NFTJ_RET_RESUME(1));
	nftj_prog_free(&jp);
}

UNIT_TEST(codegen_kernel_target)
{
	NETNS_TEST(rs_kernel, check_kernel);
}

/* ---- long chains ----------------------------------------------------- */

#define LONG_RULES	5000

/* rule i: ip daddr 10.0.(i / 256).(i % 256) tcp dport 1000 + i drop */
static char *long_ruleset(bool regular)
{
	size_t size = 512 + LONG_RULES * 80, off;
	char *buf = malloc(size);
	int i;

	if (!buf)
		return NULL;
	off = snprintf(buf, size,
		       "add table ip t\n"
		       "add chain ip t c { type filter hook input priority 0;"
		       " policy accept; }\n");
	if (regular)
		off += snprintf(buf + off, size - off,
				"add chain ip t big\n"
				"add rule ip t c jump big\n"
				"add rule ip t c tcp dport 1 accept\n");
	for (i = 0; i < LONG_RULES; i++)
		off += snprintf(buf + off, size - off,
				"add rule ip t %s ip daddr 10.0.%d.%d "
				"tcp dport %d drop\n", regular ? "big" : "c",
				i / 256, i % 256, 1000 + i);
	return buf;
}

static void check_long(struct nftj_ruleset *rs, bool regular)
{
	const char *ch = regular ? "big" : "c";
	uint8_t p[PKT_BUF];
	size_t n;
	int err;

	err = prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST);
	/* the jumps resolve: bbuf_finish() is not -E2BIG */
	CHECK(err != -E2BIG);
	CHECK(!strstr(jp.why, "out of range"));
	/* and the verifier takes it */
	CHECK_EQ(err, 0);
	CHECK(jp.prog_fd >= 0);
	CHECK_EQ(jp.imr.nrule_ids, LONG_RULES + (regular ? 2 : 0));
	CHECK_EQ(jp.imr.chains[regular ? 1 : 0].nrules, LONG_RULES);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, -1);
	CHECK_EQ(nftj_prog_compiled(&jp), regular ? 2 : LONG_RULES);

	/* the last rule: 10.0.19.135 port 5999 */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.19.135", 1, 5999);
	CHECK_RUN(p, n, NF_DROP, id_of(ch, LONG_RULES - 1));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.0.0", 1, 1000);
	CHECK_RUN(p, n, NF_DROP, id_of(ch, 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.9.196", 1, 3500);
	CHECK_RUN(p, n, NF_DROP, id_of(ch, 2500));
	/* address of the last rule, port of another */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.19.135", 1, 5998);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	n = pkt4(p, IPPROTO_UDP, "1.1.1.1", "10.0.19.135", 1, 5999);
	CHECK_RUN(p, n, NF_ACCEPT, POLICY);
	if (regular) {
		/* back from the regular chain to the base chain */
		n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.19.135", 5999, 1);
		CHECK_RUN(p, n, NF_ACCEPT, id_of("c", 1));
	}
	prog_free();
}

static void check_long_base(struct nftj_ruleset *rs)
{
	check_long(rs, false);
}

static void check_long_regular(struct nftj_ruleset *rs)
{
	check_long(rs, true);
}

/*
 * A regular chain is one subprogram and cannot be split into tail-called
 * segments: without trees, one far beyond the verifier's branch budget
 * is left to the interpreter, cleanly, from the rule that jumps to it.
 */
static void check_long_regular_no_tree(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK(jp.prog_fd >= 0);
	CHECK_EQ(jp.imr.chains[1].nrules, LONG_RULES);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, 0);
	CHECK(strstr(jp.imr.chains[0].rules[0].reason, "too large"));
	CHECK_EQ(nftj_prog_compiled(&jp), 0);
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.19.135", 1, 5999);
	CHECK_RUN(p, n, NFTJ_RET_RESUME(0), NFTJ_DECIDED_NONE);
	prog_free();
}

UNIT_TEST(codegen_long_base_chain)
{
	NETNS_TEST_MADE(long_ruleset(false), check_long_base);
}

/* as decision trees, a long regular chain is one function */
UNIT_TEST(codegen_long_regular_chain)
{
	NETNS_TEST_MADE(long_ruleset(true), check_long_regular);
}

UNIT_TEST(codegen_long_regular_chain_no_tree)
{
	build_no_opt = 1u << OPT_TREE;
	NETNS_TEST_MADE(long_ruleset(true), check_long_regular_no_tree);
	build_no_opt = 0;
}

/* ---- many chains ----------------------------------------------------- */

#define FAN_DIRECT	400	/* base chain rules, a chain each */
#define FAN_WIDE	300	/* chains one rule reaches through "fan" */

/*
 * c: rule i < FAN_DIRECT jumps to l<i> (tcp dport 1000 + i); rule
 * FAN_DIRECT jumps to fan, which jumps to FAN_WIDE chains (meta mark 1 + i).
 */
static char *fan_ruleset(void)
{
	size_t size = 1024 + (FAN_DIRECT + FAN_WIDE) * 160, off;
	char *buf = malloc(size);
	int i;

	if (!buf)
		return NULL;
	off = snprintf(buf, size,
		       "add table ip t\n"
		       "add chain ip t c { type filter hook input priority 0;"
		       " policy accept; }\n"
		       "add chain ip t fan\n");
	for (i = 0; i < FAN_DIRECT; i++)
		off += snprintf(buf + off, size - off,
				"add chain ip t l%d\n"
				"add rule ip t l%d tcp sport 7 drop\n"
				"add rule ip t c tcp dport %d jump l%d\n",
				i, i, 1000 + i, i);
	for (i = 0; i < FAN_WIDE; i++)
		off += snprintf(buf + off, size - off,
				"add chain ip t f%d\n"
				"add rule ip t f%d accept\n"
				"add rule ip t fan meta mark %d jump f%d\n",
				i, i, 1 + i, i);
	snprintf(buf + off, size - off, "add rule ip t c jump fan\n");
	return buf;
}

/*
 * The verifier takes 256 BPF functions per program at most: the rules
 * that jump to 400 chains are split over segments, the rule that alone
 * reaches 301 chains is left to the interpreter with the reason.
 */
static void check_fan(struct nftj_ruleset *rs)
{
	const struct imr_rule *r;
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(prog_build(rs, NFPROTO_IPV4, "c", NFTJ_TARGET_TEST), 0);
	CHECK(jp.prog_fd >= 0);
	CHECK(jp.plan.nseg >= 2);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, FAN_DIRECT);
	r = &jp.imr.chains[0].rules[FAN_DIRECT];
	if (!strstr(r->reason, "reaches 301 chains"))
		fprintf(stderr, "  reason: %s\n", r->reason);
	CHECK(strstr(r->reason, "reaches 301 chains"));
	CHECK(strstr(r->reason, "256 functions"));
	CHECK_EQ(nftj_prog_compiled(&jp), FAN_DIRECT);

	/* a jump from each segment, and the rules after the split */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.0.1", 7, 1000);
	CHECK_RUN(p, n, NF_DROP, id_of("l0", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.0.1", 7, 1000 + 260);
	CHECK_RUN(p, n, NF_DROP, id_of("l260", 0));
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.0.1", 7, 1000 + 399);
	CHECK_RUN(p, n, NF_DROP, id_of("l399", 0));
	/* through every jump and back: the interpreter's turn */
	n = pkt4(p, IPPROTO_TCP, "1.1.1.1", "10.0.0.1", 8, 1000 + 399);
	CHECK_RUN(p, n, NFTJ_RET_RESUME(FAN_DIRECT), NFTJ_DECIDED_NONE);
	prog_free();
}

UNIT_TEST(codegen_many_chains)
{
	NETNS_TEST_MADE(fan_ruleset(), check_fan);
}
