// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit eval: what would this chain do to these packets?  Compiles the
 * chain for the test target and runs every packet through it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cli.h"
#include "jit.h"
#include "pkt.h"
#include "opt.h"
#include "report.h"
#include "ruletext.h"
#include "testrun.h"

struct eval_opts {
	const char *table, *chain, *iif, *oif, *pcap;
	uint32_t family;
	struct testrun_meta m;
	bool json;
	unsigned int flags;
	unsigned int no_opt;	/* optimizer passes off */
};

static const char usage[] =
"Usage: nft-jit eval [-n NETNS] -t TABLE -c CHAIN [--family FAMILY]\n"
"                    [--iif NAME] [--oif NAME] [--mark N] [--skuid N --skgid N]\n"
"                    [--pkttype host|broadcast|multicast|otherhost]\n"
"                    [--no-opt PASS[,PASS...]] [-j] (PACKET_HEX... | -r FILE.pcap)\n"
"\n"
"Compile base chain CHAIN of table TABLE for the test target and run each\n"
"packet through it with BPF_PROG_TEST_RUN, as the chain's hook would see\n"
"it.  Packets start at the IP header (hex arguments, or a pcap file of\n"
"raw IP, Ethernet or Linux cooked frames).  For each packet print the\n"
"verdict, the rule that decided it (or the policy), the rules whose\n"
"counters it bumped, and where the interpreter would take over when the\n"
"program stops at a rule it does not compile.\n"
"\n"
"  -t, --table TABLE    table name\n"
"  -c, --chain CHAIN    base chain name\n"
"      --family F       ip, ip6 or inet (needed if TABLE exists twice)\n"
"      --iif NAME       input interface (prerouting, input, forward);\n"
"                       packets then have a link-layer header\n"
"      --oif NAME       output interface (forward, output, postrouting)\n"
"      --mark N         packet mark\n"
"      --skuid N        the packet has a local socket owned by user N\n"
"      --skgid N        ... and group N\n"
"      --pkttype T      link-layer packet type, default host\n"
"  -r, --read FILE      read packets from a pcap file\n"
"      --no-opt PASSES  switch optimizer passes off (dead, shadow, fuse,\n"
"                       tree, lookup, all): verdicts, counters and deciding\n"
"                       rules are the same with every pass on or off\n"
"  -j, --json           JSON output\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"      --slow-loads     testing: read every packet byte with\n"
"                       bpf_skb_load_bytes(), the path of non-linear packets\n"
"\n"
"Exit status: 0 ok, 1 failure, 2 usage.\n";

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || !*s || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

static int parse_pkttype(const char *s, uint8_t *t)
{
	static const struct { const char *n; uint8_t v; } tab[] = {
		{ "host", PACKET_HOST }, { "broadcast", PACKET_BROADCAST },
		{ "multicast", PACKET_MULTICAST },
		{ "otherhost", PACKET_OTHERHOST },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (!strcmp(s, tab[i].n)) {
			*t = tab[i].v;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *verdict_str(uint32_t r)
{
	if (NFTJ_RET_IS_RESUME(r))
		return "resume";
	if (r == NF_ACCEPT)
		return "accept";
	if (r == NF_DROP)
		return "drop";
	return "unexpected";
}

/* one packet, as JSON (also the source of the text output) */
static json_t *packet_result(const struct nftj_prog *jp,
			     const struct testrun_stats *st, size_t idx,
			     uint32_t ret, uint32_t decided)
{
	const struct imr_prog *p = &jp->imr;
	json_t *o, *counted = json_array();
	const struct imr_rule *r;
	uint32_t id;

	/* once per count: a chain entered twice counts its rules twice */
	for (id = 0; id < p->nrule_ids; id++) {
		uint64_t k = testrun_counter(st, false, id)->packets -
			     testrun_counter(st, true, id)->packets;

		while (k--)
			json_array_append_new(counted, report_rule_ref(jp, id));
	}
	o = json_pack("{s:I, s:s, s:o}", "index", (json_int_t)idx,
		      "verdict", verdict_str(ret), "counted", counted);
	if (!NFTJ_RET_IS_RESUME(ret) && decided < p->nrule_ids)
		json_object_set_new(o, "rule", report_rule_ref(jp, decided));
	else
		json_object_set_new(o, "rule", json_null());
	r = NFTJ_RET_IS_RESUME(ret) ?
	    imr_rule_at_pos(&p->chains[0], NFTJ_RET_RESUME_RULE(ret)) : NULL;
	if (r)
		json_object_set_new(o, "resume", report_rule_ref(jp, r->id));
	else
		json_object_set_new(o, "resume", json_null());
	return o;
}

static json_t *counters_json(const struct nftj_prog *jp,
			     const struct testrun_stats *st)
{
	const struct imr_prog *p = &jp->imr;
	json_t *a = json_array();
	uint32_t id;

	for (id = 0; id < p->nrule_ids; id++) {
		const struct imr_rule *r = p->rule_by_id[id];
		const struct nftj_counter *c = testrun_counter(st, false, id);
		json_t *o;

		if (!r->has_counter || r->unsupported)
			continue;
		o = report_rule_ref(jp, id);
		json_object_set_new(o, "packets", json_integer(c->packets));
		json_object_set_new(o, "bytes", json_integer(c->bytes));
		json_array_append_new(a, o);
	}
	return a;
}

static void print_text(const struct nftj_prog *jp, const struct ruletext *rt,
		       json_t *pk)
{
	json_t *rule = json_object_get(pk, "rule");
	json_t *res = json_object_get(pk, "resume");
	json_t *cnt = json_object_get(pk, "counted"), *v;
	size_t i;

	printf("packet %lld: %s", json_integer_value(json_object_get(pk,
								     "index")),
	       json_string_value(json_object_get(pk, "verdict")));
	if (json_is_object(rule)) {
		const char *ch = json_string_value(json_object_get(rule,
								   "chain"));
		json_int_t h = json_integer_value(json_object_get(rule,
								  "handle"));

		printf(" by rule %s handle %lld: %s", ch, h,
		       ruletext_get(rt, ch, (uint64_t)h));
	} else if (json_is_object(res)) {
		const char *ch = json_string_value(json_object_get(res,
								   "chain"));
		json_int_t h = json_integer_value(json_object_get(res,
								  "handle"));

		printf(" at rule %s handle %lld (interpreter from here): %s",
		       ch, h, ruletext_get(rt, ch, (uint64_t)h));
	} else {
		printf(" by policy");
	}
	printf("\n");
	json_array_foreach(cnt, i, v)
		printf("  counter: %s handle %lld\n",
		       json_string_value(json_object_get(v, "chain")),
		       json_integer_value(json_object_get(v, "handle")));
	(void)jp;
}

static int packet_nfproto(const struct nftj_prog *jp, const struct pkt *pk,
			  size_t idx, uint32_t *nfproto)
{
	uint8_t v = pk->data[0] >> 4;

	if (jp->imr.family != NFPROTO_INET) {
		*nfproto = jp->imr.family;
	} else if (v == 4 || v == 6) {
		*nfproto = v == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	} else {
		cli_errmsg("packet %zu: IP version %u: neither IPv4 nor IPv6",
			   idx, v);
		return -EINVAL;
	}
	/* no hook sees less; BPF_PROG_TEST_RUN refuses it too */
	if (pk->len < (*nfproto == NFPROTO_IPV6 ? 40U : 20U)) {
		cli_errmsg("packet %zu: %zu bytes, shorter than an %s header", idx,
			   pk->len, *nfproto == NFPROTO_IPV6 ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	return 0;
}

static int run(struct eval_opts *o, struct pkt_list *pl)
{
	NFTJ_BUILD_OPTS(bo, .flags = o->flags, .no_opt = o->no_opt);
	struct nftj_ruleset rs = {};
	struct nftj_prog jp;
	struct ruletext *rt = NULL;
	struct testrun_stats st = {};
	json_t *packets = json_array(), *out;
	uint32_t family, ret, decided;
	size_t i;
	int err;

	err = cli_ruleset_load(&rs);
	if (err)
		return 1;
	err = cli_table_family(&rs, o->table, o->family, &family);
	if (err) {
		nftj_ruleset_free(&rs);
		return 1;
	}
	err = nftj_prog_build(&jp, &rs, family, o->table, o->chain, &bo);
	if (err) {
		if (err == -ENOENT)
			cli_errmsg("no chain %s in table %s %s", o->chain,
				   cli_family_name(family), o->table);
		else if (jp.log)
			cli_errmsg("the verifier rejected the program:\n%s",
				   jp.log);
		else
			cli_errmsg("chain %s: %s", o->chain, jp.why[0] ? jp.why :
				   strerror(-err));
		goto out;
	}
	o->m.hook = jp.imr.chains[0].hook;
	err = testrun_stats_init(&st, &jp);
	if (err)
		goto out;
	if (!o->json)
		rt = ruletext_load(family, o->table);
	for (i = 0; i < pl->n; i++) {
		json_t *pk;

		err = packet_nfproto(&jp, &pl->p[i], i, &o->m.nfproto);
		if (err)
			goto out;
		err = testrun_run(&jp, &o->m, pl->p[i].data, pl->p[i].len, &st,
				  &ret, &decided);
		if (err) {
			cli_errmsg("packet %zu: BPF_PROG_TEST_RUN: %s", i,
				   strerror(-err));
			goto out;
		}
		pk = packet_result(&jp, &st, i, ret, decided);
		if (!o->json)
			print_text(&jp, rt, pk);
		json_array_append_new(packets, pk);
	}
	if (o->json) {
		out = json_pack("{s:{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o}}",
				"eval", "family", cli_family_name(family),
				"table", o->table, "chain", o->chain,
				"hook", cli_hook_name(jp.imr.chains[0].hook),
				"generation", (json_int_t)jp.imr.genid,
				"packets", packets,
				"counters", counters_json(&jp, &st),
				"fallback", report_fallback(&jp));
		packets = NULL;
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	}
out:
	json_decref(packets);
	ruletext_free(rt);
	testrun_stats_free(&st);
	nftj_prog_free(&jp);
	nftj_ruleset_free(&rs);
	return err ? 1 : 0;
}

static int iface(const char *name, uint32_t *idx, uint16_t *type,
		 uint8_t *addr)
{
	int err = cli_iface_lookup(name, idx, type, addr);

	if (err)
		cli_errmsg("interface %s: %s", name, strerror(-err));
	return err;
}

int cmd_eval(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "table", required_argument, NULL, 't' },
		{ "chain", required_argument, NULL, 'c' },
		{ "family", required_argument, NULL, 'f' },
		{ "iif", required_argument, NULL, 'I' },
		{ "oif", required_argument, NULL, 'O' },
		{ "mark", required_argument, NULL, 'm' },
		{ "skuid", required_argument, NULL, 'u' },
		{ "skgid", required_argument, NULL, 'g' },
		{ "pkttype", required_argument, NULL, 'p' },
		{ "read", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "netns", required_argument, NULL, 'n' },
		{ "slow-loads", no_argument, NULL, 'S' },
		{ "no-opt", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct eval_opts o = { .m.pkttype = PACKET_HOST };
	struct pkt_list pl = {};
	char ebuf[512];
	int c, err, rc;

	while ((c = getopt_long(argc, argv, "t:c:r:jn:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o.table = optarg; break;
		case 'c': o.chain = optarg; break;
		case 'r': o.pcap = optarg; break;
		case 'j': o.json = true; break;
		case 'n': netns = optarg; break;
		case 'I': o.iif = optarg; break;
		case 'S': o.flags |= NFTJ_F_SLOW_LOADS; break;
		case 'N':
			if (opt_parse_passes(optarg, &o.no_opt, ebuf,
					     sizeof(ebuf))) {
				cli_errmsg("eval: --no-opt: %s", ebuf);
				return EXIT_USAGE;
			}
			break;
		case 'O': o.oif = optarg; break;
		case 'f':
			if (cli_family_parse(optarg, &o.family))
				goto bad;
			break;
		case 'm':
			if (parse_u32(optarg, &o.m.mark))
				goto bad;
			break;
		case 'u':
			if (parse_u32(optarg, &o.m.skuid))
				goto bad;
			o.m.has_sk = true;
			break;
		case 'g':
			if (parse_u32(optarg, &o.m.skgid))
				goto bad;
			o.m.has_sk = true;
			break;
		case 'p':
			if (parse_pkttype(optarg, &o.m.pkttype))
				goto bad;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!o.table || !o.chain) {
		cli_errmsg("eval: -t TABLE and -c CHAIN are required");
		return EXIT_USAGE;
	}
	if (!o.pcap == (optind >= argc)) {
		cli_errmsg("eval: give packets as hex arguments or -r FILE, one of them");
		return EXIT_USAGE;
	}
	if (netns && cli_netns_enter(netns))
		return 1;
	if ((o.iif && iface(o.iif, &o.m.iif, &o.m.iiftype, o.m.dev_addr)) ||
	    (o.oif && iface(o.oif, &o.m.oif, &o.m.oiftype, NULL)))
		return 1;
	o.m.has_mac = o.iif != NULL;
	o.m.dev = o.m.iif;
	if (o.m.pkttype == PACKET_BROADCAST && o.m.iif <= 1) {
		cli_errmsg("eval: --pkttype broadcast needs --iif with a broadcast address (not lo)");
		return EXIT_USAGE;
	}
	for (; optind < argc; optind++) {
		err = pkt_add_hex(&pl, argv[optind]);
		if (err) {
			cli_errmsg("packet %zu: not a packet in hex: %s", pl.n,
				   argv[optind]);
			pkt_list_free(&pl);
			return EXIT_USAGE;
		}
	}
	if (o.pcap && pkt_add_pcap(&pl, o.pcap, ebuf, sizeof(ebuf))) {
		cli_errmsg("%s", ebuf);
		pkt_list_free(&pl);
		return 1;
	}
	rc = run(&o, &pl);
	pkt_list_free(&pl);
	return rc;
bad:
	cli_errmsg("eval: bad value: %s", optarg);
	return EXIT_USAGE;
}
