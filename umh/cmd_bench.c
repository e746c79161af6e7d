// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit bench: the per-packet cost of the nf_tables interpreter and of
 * the chain's link-target program on the same hook of the same kernel,
 * measured in one run with the same packets.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <linux/netfilter.h>

#include "bench_send.h"
#include "bench_testrun.h"
#include "cli.h"
#include "jit.h"
#include "kctl.h"
#include "linkstats.h"
#include "opt.h"
#include "nflink.h"
#include "pkt.h"

enum mode { M_FLOOR, M_INTERP, M_JIT, M_NUM };

static const char *const mode_name[M_NUM] = { "floor", "interp", "jit" };

#define MAX_REPS	100
#define MAX_PASSES	1000000

struct bench_opts {
	const char *table, *chain, *pcap, *dst4, *dst6, *oif;
	uint32_t family;
	unsigned int reps, min_time_ms, tr_repeat, tr_budget_ms;
	bool no_check, check_only;
	unsigned int no_opt;		/* optimizer passes off */
	enum nftj_target target;	/* of the timed program: link, kernel */
};

struct bench {
	struct bench_opts *o;
	struct nftj_ruleset rs;
	struct nftj_prog lp, tp;	/* link and test target */
	int lerr, terr;
	uint32_t family, oif;
	struct pkt_list pl;
	struct bench_send snd;
	struct nftj_links links;
	struct nftj_kctl kctl;		/* kernel target: the kernel part */
	bool kattached;
	bool dormant;
	uint8_t *drop;			/* kernel verdicts: 1 drop */
	uint64_t ndrop;
	double ns[M_NUM][MAX_REPS];	/* CPU time per packet, per repetition */
	double wall[M_NUM][MAX_REPS];	/* elapsed time per packet */
	uint64_t passes[M_NUM][MAX_REPS];
	double switch_ms;		/* spent changing modes */
	bool drops_ok;			/* every pass dropped what it should */
};

static const char usage[] =
"Usage: nft-jit bench [-n NETNS] -t TABLE -c CHAIN [--family F] -r FILE.pcap\n"
"                     [--dst4 ADDR] [--dst6 ADDR] [--oif NAME] [--reps N]\n"
"                     [--min-time MS] [--testrun-repeat N]\n"
"                     [--no-opt PASS[,PASS...]] [--target link|kernel] [-j]\n"
"\n"
"Measure the per-packet cost of base chain CHAIN at its hook: the packets\n"
"of FILE.pcap (from the IP header) are sent with sendmmsg() on raw sockets\n"
"(IP_HDRINCL) in the network namespace, so each crosses the output hook\n"
"inside the syscall.  Three modes, on the same hook with the same packets:\n"
"\n"
"  interp  the table active: nf_tables' interpreter runs the chain\n"
"  jit     the table dormant, the chain's link-target program attached\n"
"          with BPF_LINK_CREATE at the chain's hook and priority; with\n"
"          --target kernel the table active and the kernel-target program\n"
"          attached through the kernel part (nf_tables_jit), which runs it\n"
"          from nft_do_chain()\n"
"  floor   the table dormant, nothing attached\n"
"\n"
"Before any timing, every packet is sent alone in interp and jit mode:\n"
"the verdicts must be equal.  Then each repetition times every mode (in\n"
"rotating order) for at least --min-time of the sending thread's CPU time\n"
"(the hook runs in its system calls; waiting for a CPU is not counted),\n"
"after one untimed pass.  cost = (time - floor) / packets, per\n"
"repetition.  Also BPF_PROG_TEST_RUN time\n"
"per packet of the test-target and link-target programs.  The table must\n"
"be active at the start and is active again at the end.  Meant for a\n"
"network namespace made for it (tools/bench): it sends real packets.\n"
"\n"
"  -t, --table TABLE      table name\n"
"  -c, --chain CHAIN      base chain name (hook output)\n"
"      --family F         ip, ip6 or inet (needed if TABLE exists twice)\n"
"  -r, --read FILE        the packets (pcap)\n"
"      --dst4/--dst6 A    route the packets by this address (they keep\n"
"                         their own); default: their destination\n"
"      --oif NAME         output interface for the test-target metadata\n"
"      --reps N           repetitions (default 15)\n"
"      --min-time MS      minimum CPU time of one measurement (default 50)\n"
"      --testrun-repeat N BPF_PROG_TEST_RUN runs per packet (default 1000),\n"
"                         fewer if a program would take more than\n"
"      --testrun-budget MS  in all (default 1000)\n"
"      --no-check         time even if the verdicts differ (not recommended)\n"
"      --check-only       the verdict comparison alone, no timing\n"
"      --target T         link (default) or kernel: the program timed;\n"
"                         kernel needs the kernel part (in the VM: make\n"
"                         bench-vm) and has no BPF_PROG_TEST_RUN time\n"
"      --no-opt PASSES    both programs without these optimizer passes\n"
"                         (see nft-jit compile --help), to measure a\n"
"                         pass's share\n"
"  -j, --json           JSON output\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 ok, 1 failure (including different verdicts), 2 usage.\n";

static double clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * The kernel target's program through the kernel part, at the ruleset's
 * generation now: switching the table dormant and back is a commit, so
 * the program is attached again each time the jit mode starts.
 */
static int kernel_attach(struct bench *b)
{
	struct nftj_kattach a = {
		.family = b->family, .table = b->o->table,
		.chain = b->o->chain, .prog_fd = b->lp.prog_fd,
		.svc = b->lp.svc, .nsvc = b->lp.nsvc,
	};
	int err;

	if (b->kattached)
		return 0;
	err = nftj_genid_get(&a.genid);
	if (!err)
		err = nftj_kctl_attach(&b->kctl, &a);
	if (err) {
		cli_errmsg("attach: %s%s%s", strerror(-err),
			   b->kctl.ext_msg[0] ? ": " : "", b->kctl.ext_msg);
		return err;
	}
	b->kattached = true;
	return 0;
}

static int set_mode(struct bench *b, enum mode m)
{
	const struct imr_chain *ch = &b->lp.imr.chains[0];
	bool dormant = m == M_FLOOR ||
		       (m == M_JIT && b->o->target == NFTJ_TARGET_LINK);
	double t0 = clock_ns(CLOCK_MONOTONIC);
	int err = 0;

	if (m != M_JIT && b->links.n)
		nftj_links_detach(&b->links);
	if (m != M_JIT && b->kattached) {
		err = nftj_kctl_detach(&b->kctl, b->family, b->o->table,
				       b->o->chain);
		if (err && err != -ENOENT) {
			cli_errmsg("detach: %s", strerror(-err));
			return err;
		}
		b->kattached = false;
		err = 0;
	}
	if (b->dormant != dormant) {
		err = nftj_table_set_dormant(b->family, b->o->table, dormant);
		if (err) {
			cli_errmsg("table %s: dormant %d: %s", b->o->table, dormant,
				   strerror(-err));
			return err;
		}
		b->dormant = dormant;
	}
	if (m == M_JIT && b->o->target == NFTJ_TARGET_KERNEL)
		err = kernel_attach(b);
	else if (m == M_JIT && !b->links.n) {
		err = nftj_links_attach(&b->links, b->lp.prog_fd, b->family,
					ch->hook, ch->prio);
		if (err)
			cli_errmsg("BPF_LINK_CREATE: %s", strerror(-err));
	}
	b->switch_ms += (clock_ns(CLOCK_MONOTONIC) - t0) / 1e6;
	return err;
}

/* the per-packet verdicts of interp and jit must agree */
static int check_verdicts(struct bench *b)
{
	uint8_t *jd = calloc(b->pl.n ? b->pl.n : 1, 1);
	uint64_t unhandled = 0;
	size_t i, bad = 0;
	int err;

	if (!jd)
		return -ENOMEM;
	err = set_mode(b, M_INTERP);
	if (!err)
		err = bench_send_verdicts(&b->snd, b->drop);
	if (!err && !b->lerr) {
		err = set_mode(b, M_JIT);
		if (!err)
			err = bench_send_verdicts(&b->snd, jd);
		if (!err && b->o->target == NFTJ_TARGET_LINK)
			err = linkstats_unhandled(&b->lp, &unhandled);
	}
	if (err) {
		cli_errmsg("sending: %s", strerror(-err));
		free(jd);
		return err;
	}
	for (i = 0; i < b->pl.n; i++) {
		b->ndrop += b->drop[i];
		if (b->lerr || jd[i] == b->drop[i])
			continue;
		if (bad++ < 5)
			cli_errmsg("packet %zu: interpreter %s, link program %s", i,
				   b->drop[i] ? "drop" : "accept",
				   jd[i] ? "drop" : "accept");
	}
	free(jd);
	if (unhandled) {
		cli_errmsg("the link program left %llu packets unhandled",
			   (unsigned long long)unhandled);
		bad++;
	}
	if (bad) {
		cli_errmsg("%zu packets differ: no timing", bad);
		return -EPROTO;
	}
	return 0;
}

/*
 * Passes over all packets until min_time of this thread's CPU time: the
 * hook runs inside the sender's system calls, and time spent waiting
 * for a CPU (the machine may be shared) is not counted.  ns per packet.
 */
static int measure(struct bench *b, enum mode m, unsigned int rep)
{
	double min = b->o->min_time_ms * 1e6, t0, w0, t, w;
	uint64_t passes = 0, drops = 0, warm = 0;
	int err;

	err = set_mode(b, m);
	if (!err)
		err = bench_send_pass(&b->snd, &warm);	/* warm up, untimed */
	w0 = clock_ns(CLOCK_MONOTONIC);
	t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	do {
		if (!err)
			err = bench_send_pass(&b->snd, &drops);
		passes++;
		t = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		w = clock_ns(CLOCK_MONOTONIC) - w0;
	} while (!err && t < min && w < 50 * min && passes < MAX_PASSES);
	if (err) {
		cli_errmsg("sending: %s", strerror(-err));
		return err;
	}
	if (drops != passes * (m == M_FLOOR ? 0 : b->ndrop))
		b->drops_ok = false;
	b->ns[m][rep] = t / (double)(passes * b->pl.n);
	b->wall[m][rep] = w / (double)(passes * b->pl.n);
	b->passes[m][rep] = passes;
	return 0;
}

static json_t *series(const double *v, unsigned int n)
{
	json_t *a = json_array();
	unsigned int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *program_json(const struct nftj_prog *jp, int err)
{
	if (err)
		return json_pack("{s:s, s:s}", "status", "refused", "reason",
				 jp->why[0] ? jp->why : strerror(-err));
	return json_pack("{s:s, s:i, s:i, s:i, s:i, s:f, s:f}", "status",
			 nftj_prog_compiled(jp) == nftj_prog_rules(jp) ?
			 "jit" : "partial", "compiled",
			 (int)nftj_prog_compiled(jp), "insns", (int)jp->insns,
			 "programs", (int)jp->nseg, "jited_bytes",
			 (int)jp->jited_len, "compile_ms", jp->compile_ms,
			 "load_ms", jp->load_ms);
}

static void report(struct bench *b, const struct bench_testrun_result *tt,
		   const struct bench_testrun_result *lt, bool json)
{
	const struct imr_chain *ch = &b->tp.imr.chains[0];
	unsigned int n = b->o->reps, m;
	char *verd = calloc(b->pl.n + 1, 1);
	json_t *modes = json_object(), *wall = json_object(), *out;
	size_t i;

	for (i = 0; verd && i < b->pl.n; i++)
		verd[i] = b->drop[i] ? 'd' : 'a';
	for (m = 0; m < M_NUM; m++) {
		if (m == M_JIT && b->lerr)
			continue;
		json_object_set_new(modes, mode_name[m], series(b->ns[m], n));
		json_object_set_new(wall, mode_name[m], series(b->wall[m], n));
	}
	out = json_pack("{s:{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:o, s:s, s:o, s:o, s:b, s:o, s:f, s:{s:f, s:i, s:f, s:i, s:i}}}",
		"bench", "family", cli_family_name(b->family),
		"table", b->o->table, "chain", b->o->chain,
		"hook", cli_hook_name(ch->hook),
		"rules", (int)nftj_prog_rules(&b->tp),
		"packets", (int)b->pl.n, "drops", (int)b->ndrop,
		"reps", (int)n, "min_time_ms", (int)b->o->min_time_ms,
		"verdicts", verd ? verd : "",
		"ns_per_packet", modes,
		"target", nftj_target_name(b->o->target),
		"link", program_json(&b->lp, b->lerr),
		"test", program_json(&b->tp, b->terr),
		"drops_consistent", b->drops_ok,
		"wall_ns_per_packet", wall, "switch_ms", b->switch_ms,
		"testrun", "test_ns", tt->ns, "test_resumed", (int)tt->resumed,
		"link_ns", lt->ns, "test_repeat", (int)tt->repeat,
		"link_repeat", (int)lt->repeat);
	free(verd);
	if (json) {
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("%s %s %s: %d rules, %zu packets (%llu dropped)\n",
		       cli_family_name(b->family), b->o->table, b->o->chain,
		       (int)nftj_prog_rules(&b->tp), b->pl.n,
		       (unsigned long long)b->ndrop);
		for (m = 0; m < M_NUM; m++) {
			unsigned int r;

			if (m == M_JIT && b->lerr) {
				printf("  jit: %s\n", b->lp.why);
				continue;
			}
			printf("  %-6s ns/packet:", mode_name[m]);
			for (r = 0; r < n; r++)
				printf(" %.0f", b->ns[m][r]);
			putchar('\n');
		}
		printf("  BPF_PROG_TEST_RUN ns/packet: test target %.1f, link target %.1f\n",
		       tt->ns, lt->ns);
		if (!b->drops_ok)
			printf("  warning: a timed pass dropped other packets than the verdict check\n");
	}
	json_decref(out);
}

static int compile_both(struct bench *b)
{
	struct bench_opts *o = b->o;
	NFTJ_BUILD_OPTS(to, .target = NFTJ_TARGET_TEST, .no_opt = o->no_opt);
	NFTJ_BUILD_OPTS(lo, .target = o->target, .no_opt = o->no_opt);
	bool dormant;
	int err;

	if (cli_ruleset_load(&b->rs))
		return -EIO;
	err = cli_table_family(&b->rs, o->table, o->family, &b->family);
	if (err)
		return err;
	err = nftj_table_dormant(&b->rs, b->family, o->table, &dormant);
	if (!err && dormant) {
		cli_errmsg("table %s is dormant: load it active", o->table);
		err = -EINVAL;
	}
	if (err)
		return err;
	b->terr = nftj_prog_build(&b->tp, &b->rs, b->family, o->table,
				  o->chain, &to);
	if (b->terr == -ENOENT) {
		cli_errmsg("no chain %s in table %s", o->chain, o->table);
		return -ENOENT;
	}
	b->lerr = nftj_prog_build(&b->lp, &b->rs, b->family, o->table,
				  o->chain, &lo);
	if (b->lerr && b->lerr != -EOPNOTSUPP) {
		cli_errmsg("%s target: %s", nftj_target_name(o->target),
			   b->lp.log ? b->lp.log : b->lp.why);
		return b->lerr;
	}
	if (!b->tp.imr.nchains || b->tp.imr.chains[0].hook != NF_INET_LOCAL_OUT) {
		cli_errmsg("chain %s: the bench sends through the output hook only",
			   o->chain);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int run(struct bench_opts *o, bool json)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct bench_testrun_result tt = {}, lt = {};
	char ebuf[512];
	unsigned int r, k;
	int err;

	if (!b)
		return 1;
	b->o = o;
	b->drops_ok = true;
	nftj_prog_init(&b->lp);
	nftj_prog_init(&b->tp);
	err = pkt_add_pcap(&b->pl, o->pcap, ebuf, sizeof(ebuf));
	if (err) {
		cli_errmsg("%s", ebuf);
		goto out;
	}
	if (o->oif) {
		uint16_t type;

		err = cli_iface_lookup(o->oif, &b->oif, &type, NULL);
		if (err) {
			cli_errmsg("interface %s: %s", o->oif, strerror(-err));
			goto out;
		}
	}
	if (o->target == NFTJ_TARGET_KERNEL && cli_kctl_open(&b->kctl)) {
		err = -ENOENT;
		goto out;
	}
	err = compile_both(b);
	if (err)
		goto out;
	err = bench_send_init(&b->snd, &b->pl, o->dst4, o->dst6);
	if (err) {
		cli_errmsg("raw sockets: %s", strerror(-err));
		goto out;
	}
	b->drop = calloc(b->pl.n ? b->pl.n : 1, 1);
	if (!b->drop) {
		err = -ENOMEM;
		goto out;
	}
	err = check_verdicts(b);
	if (err && !(o->no_check && err == -EPROTO))
		goto restore;
	err = 0;
	if (o->check_only)
		o->reps = 0;
	for (r = 0; r < o->reps; r++) {
		for (k = 0; k < M_NUM; k++) {
			enum mode m = (enum mode)((k + r) % M_NUM);

			if (m == M_JIT && b->lerr)
				continue;
			err = measure(b, m, r);
			if (err)
				goto restore;
		}
	}
	if (!b->terr && !o->check_only)
		err = bench_testrun_time(&b->tp, &b->pl, NF_INET_LOCAL_OUT,
					 b->oif, o->tr_repeat, o->tr_budget_ms,
					 &tt);
	if (!err && !b->lerr && !o->check_only &&
	    o->target == NFTJ_TARGET_LINK)
		err = bench_testrun_time(&b->lp, &b->pl, NF_INET_LOCAL_OUT, 0,
					 o->tr_repeat, o->tr_budget_ms, &lt);
	if (err)
		cli_errmsg("BPF_PROG_TEST_RUN: %s", strerror(-err));
	else
		report(b, &tt, &lt, json);
restore:
	if (set_mode(b, M_INTERP) && !err)
		err = -EIO;
out:
	bench_send_free(&b->snd);
	if (o->target == NFTJ_TARGET_KERNEL)
		nftj_kctl_close(&b->kctl);
	nftj_prog_free(&b->lp);
	nftj_prog_free(&b->tp);
	nftj_ruleset_free(&b->rs);
	pkt_list_free(&b->pl);
	free(b->drop);
	free(b);
	return err ? 1 : 0;
}

static int parse_uint(const char *s, unsigned int lo, unsigned int hi,
		      unsigned int *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);

	if (*end || !*s || x < lo || x > hi)
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}

int cmd_bench(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "table", required_argument, NULL, 't' },
		{ "chain", required_argument, NULL, 'c' },
		{ "family", required_argument, NULL, 'f' },
		{ "read", required_argument, NULL, 'r' },
		{ "dst4", required_argument, NULL, '4' },
		{ "dst6", required_argument, NULL, '6' },
		{ "oif", required_argument, NULL, 'O' },
		{ "reps", required_argument, NULL, 'R' },
		{ "min-time", required_argument, NULL, 'M' },
		{ "testrun-repeat", required_argument, NULL, 'T' },
		{ "testrun-budget", required_argument, NULL, 'B' },
		{ "no-check", no_argument, NULL, 'C' },
		{ "check-only", no_argument, NULL, 'K' },
		{ "no-opt", required_argument, NULL, 'N' },
		{ "target", required_argument, NULL, 'G' },
		{ "json", no_argument, NULL, 'j' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct bench_opts o = { .reps = 15, .min_time_ms = 50,
				.tr_repeat = 1000, .tr_budget_ms = 1000,
				.target = NFTJ_TARGET_LINK };
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "t:c:r:jn:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o.table = optarg; break;
		case 'c': o.chain = optarg; break;
		case 'r': o.pcap = optarg; break;
		case '4': o.dst4 = optarg; break;
		case '6': o.dst6 = optarg; break;
		case 'O': o.oif = optarg; break;
		case 'C': o.no_check = true; break;
		case 'K': o.check_only = true; break;
		case 'G':
			if (nftj_target_parse(optarg, &o.target) ||
			    o.target == NFTJ_TARGET_TEST) {
				cli_errmsg("bench: --target: link or kernel");
				return EXIT_USAGE;
			}
			break;
		case 'N': {
			char why[160];

			if (opt_parse_passes(optarg, &o.no_opt, why,
					     sizeof(why))) {
				cli_errmsg("bench: --no-opt: %s", why);
				return EXIT_USAGE;
			}
			break;
		}
		case 'j': json = true; break;
		case 'n': netns = optarg; break;
		case 'f':
			if (cli_family_parse(optarg, &o.family))
				goto bad;
			break;
		case 'R':
			if (parse_uint(optarg, 1, MAX_REPS, &o.reps))
				goto bad;
			break;
		case 'M':
			if (parse_uint(optarg, 1, 60000, &o.min_time_ms))
				goto bad;
			break;
		case 'T':
			if (parse_uint(optarg, 1, 10000000, &o.tr_repeat))
				goto bad;
			break;
		case 'B':
			if (parse_uint(optarg, 1, 600000, &o.tr_budget_ms))
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
	if (!o.table || !o.chain || !o.pcap) {
		cli_errmsg("bench: -t TABLE, -c CHAIN and -r FILE are required");
		return EXIT_USAGE;
	}
	if (optind < argc) {
		cli_errmsg("bench: unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}
	if (netns && cli_netns_enter(netns))
		return 1;
	return run(&o, json);
bad:
	cli_errmsg("bench: bad value: %s", optarg);
	return EXIT_USAGE;
}
