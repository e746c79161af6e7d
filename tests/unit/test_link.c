// SPDX-License-Identifier: GPL-2.0
/*
 * The link target: kernel BTF resolution (the running kernel's and a
 * synthetic one), code generation run with BPF_PROG_TEST_RUN on
 * BPF_PROG_TYPE_NETFILTER programs (verdicts, counters, the windows and
 * their slow paths, fragments, IPv6 extension headers, unhandled
 * packets, metadata, subprograms), the refusal of chains it cannot run
 * whole, netfilter links and the dormant flag, and the bench sender.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "bench_send.h"
#include "jit.h"
#include "linkbtf.h"
#include "nflink.h"
#include "netns_util.h"
#include "unit.h"

/* ---- BTF ------------------------------------------------------------- */

UNIT_TEST(link_btf_running_kernel)
{
	const struct linkbtf *b;
	char why[160];
	int err = linkbtf_get(&b, why, sizeof(why));

	if (err == -ENOENT)
		UNIT_SKIP(why);
	CHECK_EQ(err, 0);
	CHECK(b->kf_from_skb > 0 && b->kf_slice > 0);
	CHECK_EQ(b->ctx_state, 0);
	CHECK_EQ(b->ctx_skb, 8);
	CHECK_EQ(b->st_hook, 0);
	CHECK_EQ(b->st_pf, 1);
	CHECK(b->skb_len > 0 && b->skb_mark > 0 && b->skb_protocol > 0);
	CHECK(b->skb_pkt_type_shift < 8);
	CHECK(b->dev_ifindex > 0 && b->dev_type > 0);
}

/* a small BTF with what the link target reads; len_size: of sk_buff.len */
static struct btf *fake_btf(int len_size, bool kfuncs)
{
	struct btf *btf = btf__new_empty();
	int u8, u16, u32, i32, v, pv, st, skb, dev, pdev, anon, proto;

	if (!btf)
		return NULL;
	/* a type is complete once the next one starts: pointers first */
	u8 = btf__add_int(btf, "u8", 1, 0);
	u16 = btf__add_int(btf, "u16", 2, 0);
	u32 = btf__add_int(btf, "u32", 4, 0);
	i32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	v = btf__add_int(btf, "long", 8, BTF_INT_SIGNED);
	pv = btf__add_ptr(btf, v);
	dev = btf__add_struct(btf, "net_device", 16);
	btf__add_field(btf, "name", v, 0, 0);
	btf__add_field(btf, "ifindex", i32, 64, 0);
	btf__add_field(btf, "type", u16, 96, 0);
	pdev = btf__add_ptr(btf, dev);
	st = btf__add_struct(btf, "nf_hook_state", 24);
	btf__add_field(btf, "hook", u8, 0, 0);
	btf__add_field(btf, "pf", u8, 8, 0);
	btf__add_field(btf, "in", pdev, 64, 0);
	btf__add_field(btf, "out", pdev, 128, 0);
	/* mark in an anonymous union, pkt_type a bitfield at bit 3 */
	anon = btf__add_union(btf, NULL, 4);
	btf__add_field(btf, "mark", u32, 0, 0);
	btf__add_field(btf, "reserved_tailroom", u32, 0, 0);
	skb = btf__add_struct(btf, "sk_buff", 32);
	btf__add_field(btf, "next", pv, 0, 0);
	btf__add_field(btf, "len", len_size == 4 ? u32 : u16, 64, 0);
	btf__add_field(btf, NULL, anon, 128, 0);
	btf__add_field(btf, "cloned", u8, 160, 3);
	btf__add_field(btf, "pkt_type", u8, 163, 3);
	btf__add_field(btf, "protocol", u16, 192, 0);
	st = btf__add_ptr(btf, st);
	skb = btf__add_ptr(btf, skb);
	btf__add_struct(btf, "bpf_nf_ctx", 16);
	btf__add_field(btf, "state", st, 0, 0);
	btf__add_field(btf, "skb", skb, 64, 0);
	if (kfuncs) {
		proto = btf__add_func_proto(btf, i32);
		btf__add_func(btf, "bpf_dynptr_from_skb", BTF_FUNC_STATIC,
			      proto);
		btf__add_func(btf, "bpf_dynptr_slice", BTF_FUNC_STATIC,
			      proto);
	}
	return btf;
}

UNIT_TEST(link_btf_synthetic)
{
	struct linkbtf lb;
	struct btf *btf;
	char why[160];
	int err;

	btf = fake_btf(4, true);
	CHECK(btf);
	err = linkbtf_resolve(btf, &lb, why, sizeof(why));
	btf__free(btf);
	if (err)
		fprintf(stderr, "  %s\n", why);
	CHECK_EQ(err, 0);
	CHECK_EQ(lb.ctx_skb, 8);
	CHECK_EQ(lb.st_in, 8);
	CHECK_EQ(lb.st_out, 16);
	CHECK_EQ(lb.skb_len, 8);
	CHECK_EQ(lb.skb_mark, 16);	/* found in the anonymous union */
	CHECK_EQ(lb.skb_pkt_type, 20);
	CHECK_EQ(lb.skb_pkt_type_shift, 3);
	CHECK_EQ(lb.skb_protocol, 24);
	CHECK_EQ(lb.dev_ifindex, 8);
	CHECK_EQ(lb.dev_type, 12);
	CHECK(lb.kf_from_skb > 0 && lb.kf_slice > lb.kf_from_skb);

	/* a kernel without the kfuncs is too old */
	btf = fake_btf(4, false);
	err = linkbtf_resolve(btf, &lb, why, sizeof(why));
	btf__free(btf);
	CHECK_EQ(err, -ENOENT);
	CHECK(strstr(why, "bpf_dynptr_from_skb"));

	/* a field of another size is refused, not misread */
	btf = fake_btf(2, true);
	err = linkbtf_resolve(btf, &lb, why, sizeof(why));
	btf__free(btf);
	CHECK_EQ(err, -ENOENT);
	CHECK(strstr(why, "sk_buff member len"));
}

/* ---- packets ----------------------------------------------------------- */

#define PKT_BUF		512

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* IPv4 + UDP (8 bytes of header, then payload bytes of zeroes) */
static size_t udp4(uint8_t *p, const char *src, const char *dst,
		   uint16_t sport, uint16_t dport, size_t payload)
{
	size_t len = 28 + payload;

	memset(p, 0, len);
	p[0] = 0x45;
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	put16(p + 2, (uint16_t)len);
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	put16(p + 20, sport);
	put16(p + 22, dport);
	put16(p + 24, (uint16_t)(8 + payload));
	return len;
}

/* IPv6 + n hop-by-hop/destination headers (8 bytes each) + UDP */
static size_t udp6(uint8_t *p, unsigned int next, uint16_t dport)
{
	size_t off = 40, len;
	unsigned int i;

	memset(p, 0, PKT_BUF);
	p[0] = 0x60;
	p[6] = next ? 0 : IPPROTO_UDP;
	p[7] = 64;
	inet_pton(AF_INET6, "2001:db8::1", p + 8);
	inet_pton(AF_INET6, "2001:db8::2", p + 24);
	for (i = 0; i < next; i++, off += 8)
		p[off] = i + 1 < next ? 60 : IPPROTO_UDP;	/* DSTOPTS */
	put16(p + off, 1000);
	put16(p + off + 2, dport);
	put16(p + off + 4, 8);
	len = off + 8;
	put16(p + 4, (uint16_t)(len - 40));
	return len;
}

/* ---- programs ------------------------------------------------------------ */

static struct nftj_prog jp;

static int build(const struct nftj_ruleset *rs, uint32_t family)
{
	NFTJ_BUILD_OPTS(o, .target = NFTJ_TARGET_LINK);
	int err = nftj_prog_build(&jp, rs, family, "t", "c", &o);

	if (err == -EPERM)
		netns_skip_bpf();
	if (err)
		fprintf(stderr, "  nftj_prog_build: %s: %s\n%s\n",
			strerror(-err), jp.why, jp.log ? jp.log : "");
	return err;
}

/* BPF_PROG_TEST_RUN at the output hook: the verdict, or -1 */
static int run(const uint8_t *pkt, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct { uint8_t hook, pf, pad[6]; } st = {
		.hook = NF_INET_LOCAL_OUT,
		.pf = pkt[0] >> 4 == 6 ? NFPROTO_IPV6 : NFPROTO_IPV4,
	};

	o.data_in = pkt;
	o.data_size_in = (uint32_t)len;
	o.ctx_in = &st;
	o.ctx_size_in = sizeof(st);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(jp.prog_fd, &o)) {
		fprintf(stderr, "  test run: %s\n", strerror(errno));
		return -1;
	}
	return (int)o.retval;
}

static uint64_t stat_u64(size_t off)
{
	size_t size = sizeof(struct nftj_link_stats) +
		      jp.imr.nrule_ids * sizeof(struct nftj_counter);
	uint8_t *v = calloc(1, size);
	uint32_t key = 0;
	uint64_t x = ~0ULL;

	if (v && !bpf_map_lookup_elem(jp.maps.stats_fd, &key, v))
		memcpy(&x, v + off, sizeof(x));
	free(v);
	return x;
}

static uint64_t unhandled(void)
{
	return stat_u64(offsetof(struct nftj_link_stats, unhandled));
}

/* packets counted by the rule at position n of the base chain */
static uint64_t counted(size_t n)
{
	return stat_u64(sizeof(struct nftj_link_stats) +
			jp.imr.chains[0].rules[n].id *
			sizeof(struct nftj_counter));
}

#define CHECK_RUN(pkt, len, verdict)	CHECK_EQ(run(pkt, len), verdict)

/* ---- verdicts, windows, counters ---------------------------------------- */

static const char rs_basic[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook output priority 0; policy accept;\n"
	"		ip saddr 1.1.1.1 ip daddr 2.2.2.2 udp dport 53 counter drop\n"
	"		udp dport 1000-1010 counter drop\n"
	"		@nh,160,16 4242 drop\n"
	"		@th,64,32 0x01020304 drop\n"
	"		meta length 100 drop\n"
	"		meta protocol ip6 drop\n"
	"		meta oif 1 udp dport 7 drop\n"
	"		meta mark 5 drop\n"
	"		ip daddr 9.9.9.9 counter\n"
	"	}\n"
	"}\n";

static void check_basic(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(build(rs, NFPROTO_IPV4), 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 9);

	n = udp4(p, "1.1.1.1", "2.2.2.2", 9, 53, 16);
	CHECK_RUN(p, n, NF_DROP);
	n = udp4(p, "1.1.1.1", "2.2.2.3", 9, 53, 16);
	CHECK_RUN(p, n, NF_ACCEPT);
	CHECK_EQ(counted(0), 1);
	n = udp4(p, "3.3.3.3", "2.2.2.3", 9, 1005, 16);
	CHECK_RUN(p, n, NF_DROP);
	n = udp4(p, "3.3.3.3", "2.2.2.3", 9, 1011, 16);
	CHECK_RUN(p, n, NF_ACCEPT);
	CHECK_EQ(counted(1), 1);

	/* @nh,160,16: the bytes after the IPv4 header, a slice of its own */
	n = udp4(p, "3.3.3.3", "2.2.2.3", 4242, 1, 16);
	CHECK_RUN(p, n, NF_DROP);
	/* @th,64,32 in the transport window (12 bytes) */
	n = udp4(p, "3.3.3.3", "2.2.2.3", 9, 1, 16);
	memcpy(p + 28, "\x01\x02\x03\x04", 4);
	CHECK_RUN(p, n, NF_DROP);
	/* the same with too short a packet for the window: slices, fail */
	n = udp4(p, "3.3.3.3", "2.2.2.3", 9, 1, 2);
	CHECK_RUN(p, n, NF_ACCEPT);
	n = udp4(p, "3.3.3.3", "2.2.2.3", 9, 1005, 2);	/* dport: slice */
	CHECK_RUN(p, n, NF_DROP);

	n = udp4(p, "3.3.3.3", "2.2.2.3", 9, 1, 72);	/* 100 bytes */
	CHECK_RUN(p, n, NF_DROP);
	/* test_run's output device is loopback: meta oif 1 */
	n = udp4(p, "3.3.3.3", "2.2.2.3", 9, 7, 16);
	CHECK_RUN(p, n, NF_DROP);
	n = udp4(p, "3.3.3.3", "9.9.9.9", 9, 8, 16);
	CHECK_RUN(p, n, NF_ACCEPT);
	CHECK_EQ(counted(8), 1);
	CHECK_EQ(counted(0), 1);
	CHECK_EQ(unhandled(), 0);
	nftj_prog_free(&jp);
}

UNIT_TEST(link_verdicts_windows_counters)
{
	NETNS_TEST(rs_basic, check_basic);
}

/* ---- fragments: the kernel's payload fast path --------------------------- */

static const char rs_frag[] =
	"table ip t {\n"
	"	chain c {\n"
	"		type filter hook output priority 0; policy accept;\n"
	"		udp dport 53 drop\n"		/* fast: 2 bytes at 2 */
	"		@th,8,16 0x3600 drop\n"		/* unaligned: slow */
	"	}\n"
	"}\n";

static void check_frag(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(build(rs, NFPROTO_IPV4), 0);
	/* a later fragment whose payload looks like a UDP header */
	n = udp4(p, "1.1.1.1", "2.2.2.2", 9, 53, 16);
	put16(p + 6, 100);			/* fragment offset 800 */
	CHECK_RUN(p, n, NF_DROP);		/* fast path reads it */
	n = udp4(p, "1.1.1.1", "2.2.2.2", 0x36, 54, 16);
	put16(p + 6, 100);
	CHECK_RUN(p, n, NF_ACCEPT);		/* not the slow path */
	put16(p + 6, 0);
	CHECK_RUN(p, n, NF_DROP);		/* first fragment: it does */
	nftj_prog_free(&jp);
}

UNIT_TEST(link_fragments_fast_path)
{
	NETNS_TEST(rs_frag, check_frag);
}

/* ---- IPv6: extension headers, unhandled packets -------------------------- */

static const char rs_ip6[] =
	"table ip6 t {\n"
	"	chain c {\n"
	"		type filter hook output priority 0; policy accept;\n"
	"		udp dport 53 drop\n"
	"		ip6 daddr 2001:db8::2 udp dport 54 drop\n"
	"	}\n"
	"}\n";

static void check_ip6(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(build(rs, NFPROTO_IPV6), 0);
	n = udp6(p, 0, 53);
	CHECK_RUN(p, n, NF_DROP);
	n = udp6(p, 0, 54);			/* daddr beyond 20 bytes */
	CHECK_RUN(p, n, NF_DROP);
	n = udp6(p, 3, 53);			/* after 3 headers */
	CHECK_RUN(p, n, NF_DROP);
	n = udp6(p, 3, 55);
	CHECK_RUN(p, n, NF_ACCEPT);
	CHECK_EQ(unhandled(), 0);
	/* more headers than the walk unrolls: dropped, counted */
	n = udp6(p, 9, 55);
	CHECK_RUN(p, n, NF_DROP);
	CHECK_EQ(unhandled(), 1);
	/* a header longer than the packet */
	n = udp6(p, 1, 55);
	p[41] = 200;
	CHECK_RUN(p, n, NF_DROP);
	CHECK_EQ(unhandled(), 2);
	nftj_prog_free(&jp);
}

UNIT_TEST(link_ipv6_ext_headers_unhandled)
{
	NETNS_TEST(rs_ip6, check_ip6);
}

/* ---- inet: nfproto, validation, subprograms, sets, maps ------------------- */

static const char rs_inet[] =
	"table inet t {\n"
	"	set s { type ipv4_addr; flags interval;\n"
	"		elements = { 10.0.0.0/8, 192.168.1.1 } }\n"
	"	chain web {\n"
	"		ip saddr != 10.0.0.0/8 counter drop\n"
	"		udp sport 7 accept\n"
	"		return\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook output priority 0; policy accept;\n"
	"		meta nfproto ipv6 udp dport 53 drop\n"
"		ip6 daddr 2001:db8::2 udp dport 52 drop\n"
	"		ip daddr @s drop\n"
	"		udp dport vmap { 80 : jump web, 22 : drop }\n"
	"		udp dport 81 drop\n"
	"	}\n"
	"}\n";

static void check_inet(struct nftj_ruleset *rs)
{
	uint8_t p[PKT_BUF];
	size_t n;

	CHECK_EQ(build(rs, NFPROTO_INET), 0);
	n = udp6(p, 1, 53);
	CHECK_RUN(p, n, NF_DROP);
	/* bytes 24..39 of the IPv6 window, only where it is IPv6's */
	n = udp6(p, 0, 52);
	CHECK_RUN(p, n, NF_DROP);
	p[39] = 3;
	CHECK_RUN(p, n, NF_ACCEPT);
	n = udp4(p, "1.1.1.1", "2.2.2.2", 9, 53, 8);
	CHECK_RUN(p, n, NF_ACCEPT);
	n = udp4(p, "1.1.1.1", "10.1.2.3", 9, 1, 8);
	CHECK_RUN(p, n, NF_DROP);
	n = udp4(p, "1.1.1.1", "192.168.1.1", 9, 1, 8);
	CHECK_RUN(p, n, NF_DROP);
	n = udp4(p, "1.1.1.1", "192.168.1.2", 9, 22, 8);
	CHECK_RUN(p, n, NF_DROP);
	/* the regular chain: windows and dynptr passed to the subprogram */
	n = udp4(p, "1.1.1.1", "192.168.1.2", 9, 80, 8);
	CHECK_RUN(p, n, NF_DROP);
	n = udp4(p, "10.1.1.1", "192.168.1.2", 7, 80, 8);
	CHECK_RUN(p, n, NF_ACCEPT);
	n = udp4(p, "10.1.1.1", "192.168.1.2", 8, 80, 8);
	CHECK_RUN(p, n, NF_ACCEPT);		/* returned: the policy */
	/* validation: a total length beyond the packet, no transport */
	n = udp4(p, "10.1.1.1", "192.168.1.2", 8, 81, 8);
	CHECK_RUN(p, n, NF_DROP);
	put16(p + 2, 200);
	CHECK_RUN(p, n, NF_ACCEPT);
	nftj_prog_free(&jp);
}

UNIT_TEST(link_inet_subprograms_sets)
{
	NETNS_TEST(rs_inet, check_inet);
}

/* ---- all or nothing -------------------------------------------------------- */

static const char rs_refuse[] =
	"table ip t {\n"
	"	set tmo { type ipv4_addr; flags timeout; }\n"
	"	chain d {\n"
	"		type filter hook output priority 1; policy accept;\n"
	"		ip daddr @tmo drop\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook output priority 0; policy accept;\n"
	"		udp dport 53 drop\n"
	"		log prefix \"x\" drop\n"
	"	}\n"
	"}\n";

static void check_refuse(struct nftj_ruleset *rs)
{
	NFTJ_BUILD_OPTS(o, .target = NFTJ_TARGET_LINK);
	int err = nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "c", &o);

	CHECK_EQ(err, -EOPNOTSUPP);
	CHECK(jp.prog_fd < 0);
	CHECK(strstr(jp.why, "link target"));
	CHECK(strstr(jp.why, "(#1)"));
	CHECK(strstr(jp.why, "log"));
	nftj_prog_free(&jp);
	/* a set whose elements time out would go stale in the program */
	err = nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "d", &o);
	CHECK_EQ(err, -EOPNOTSUPP);
	CHECK(strstr(jp.why, "set tmo changes without a commit"));
	nftj_prog_free(&jp);
	/* the test target runs the first rule and resumes at the second */
	err = nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "c", NULL);
	if (err == -EPERM)
		netns_skip_bpf();
	CHECK_EQ(err, 0);
	CHECK_EQ(nftj_prog_compiled(&jp), 1);
	nftj_prog_free(&jp);
}

UNIT_TEST(link_refuses_partial_chains)
{
	NETNS_TEST(rs_refuse, check_refuse);
}

/* ---- links, the dormant flag, the bench sender ----------------------------- */

static const char rs_attach[] =
	"table inet t {\n"
	"	chain c {\n"
	"		type filter hook output priority 0; policy accept;\n"
	"		udp dport 53 drop\n"
	"	}\n"
	"}\n";

static bool dormant_now(void)
{
	struct nftj_ruleset rs = {};
	bool d = false;

	if (nftj_ruleset_dump(&rs, NFPROTO_UNSPEC) ||
	    nftj_table_dormant(&rs, NFPROTO_INET, "t", &d))
		d = false;
	nftj_ruleset_free(&rs);
	return d;
}

static void check_attach(struct nftj_ruleset *rs)
{
	struct pkt_list pl = {};
	struct nftj_links links;
	struct bench_send snd;
	uint8_t p[PKT_BUF], drop[3];
	uint64_t drops = 0;
	bool d = true;
	size_t i;

	CHECK(system("ip link set lo up") == 0);
	CHECK_EQ(nftj_table_dormant(rs, NFPROTO_INET, "t", &d), 0);
	CHECK(!d);
	CHECK_EQ(build(rs, NFPROTO_INET), 0);
	for (i = 0; i < 3; i++) {
		size_t n = udp4(p, "127.0.0.1", "127.0.0.1", 9,
				i == 1 ? 53 : 54, 8);
		char hex[2 * PKT_BUF + 1];
		size_t k;

		for (k = 0; k < n; k++)
			sprintf(hex + 2 * k, "%02x", p[k]);
		CHECK_EQ(pkt_add_hex(&pl, hex), 0);
	}
	CHECK_EQ(bench_send_init(&snd, &pl, NULL, NULL), 0);

	/* the interpreter */
	CHECK_EQ(bench_send_verdicts(&snd, drop), 0);
	CHECK(!drop[0] && drop[1] && !drop[2]);
	/* dormant: nothing filters */
	CHECK_EQ(nftj_table_set_dormant(NFPROTO_INET, "t", true), 0);
	CHECK(dormant_now());
	CHECK_EQ(bench_send_verdicts(&snd, drop), 0);
	CHECK(!drop[0] && !drop[1] && !drop[2]);
	/* the link program: one link per family for inet */
	CHECK_EQ(nftj_links_attach(&links, jp.prog_fd, NFPROTO_INET,
				   NF_INET_LOCAL_OUT, 0), 0);
	CHECK_EQ(links.n, 2);
	CHECK(links.id[0] && links.id[1] && links.id[0] != links.id[1]);
	CHECK_EQ(bench_send_verdicts(&snd, drop), 0);
	CHECK(!drop[0] && drop[1] && !drop[2]);
	CHECK_EQ(bench_send_pass(&snd, &drops), 0);
	CHECK_EQ(drops, 1);
	nftj_links_detach(&links);
	CHECK_EQ(links.n, 0);
	CHECK_EQ(bench_send_verdicts(&snd, drop), 0);
	CHECK(!drop[1]);
	CHECK_EQ(nftj_table_set_dormant(NFPROTO_INET, "t", false), 0);
	CHECK(!dormant_now());
	CHECK_EQ(bench_send_verdicts(&snd, drop), 0);
	CHECK(drop[1]);
	/* no such table */
	CHECK(nftj_table_set_dormant(NFPROTO_IPV4, "nope", true) < 0);
	bench_send_free(&snd);
	pkt_list_free(&pl);
	nftj_prog_free(&jp);
}

UNIT_TEST(link_attach_dormant_bench_send)
{
	NETNS_TEST(rs_attach, check_attach);
}
