// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit attach / detach: hand a base chain's program to the kernel part
 * (generic netlink family nft_jit), or take it back.  Debug commands: a
 * daemon will do this on every ruleset change.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <linux/netfilter.h>

#include "cli.h"
#include "jit.h"
#include "kctl.h"
#include "opt.h"
#include "report.h"

#define ATTACH_TRIES	5	/* dumps when commits keep landing */
#define STR(x)		#x
#define XSTR(x)		STR(x)

struct attach_opts {
	uint32_t family;
	const char *table, *chain;
	bool json;
	bool force_genid;
	uint32_t genid;
	unsigned int no_opt;	/* optimizer passes off: --no-opt */
};

static const char attach_usage[] =
"Usage: nft-jit attach [-n NETNS] [-j] [--genid N] [--no-opt PASS[,PASS...]]\n"
"                      FAMILY TABLE CHAIN\n"
"\n"
"Compile base chain CHAIN of table TABLE (family ip, ip6 or inet) for the\n"
"kernel target, load it and attach it to the chain: from then on\n"
"nft_do_chain() runs the program for this chain and the interpreter only\n"
"where the program hands over.  The program is bound to the ruleset\n"
"generation it was compiled from; the first commit that changes a chain\n"
"it covers detaches it.  When a commit lands between the dump and the\n"
"attach (the kernel answers ESTALE), attach dumps and compiles again, at\n"
"most " XSTR(ATTACH_TRIES) " times.\n"
"\n"
"This is a debug command: `nft-jit daemon` does the same for every base\n"
"chain after every ruleset change.  It needs the kernel part (nf_tables\n"
"built with the JIT, tools/kbuild), CAP_NET_ADMIN and CAP_SYS_ADMIN (BPF).\n"
"\n"
"Prints the program id, its instructions, how many rules it runs and how\n"
"many it leaves to the interpreter, the services (expressions the kernel\n"
"evaluates for it) and the first rule the interpreter runs, and why.\n"
"\n"
"  -j, --json           JSON output\n"
"      --genid N        attach as compiled from generation N, without\n"
"                       retrying (tests of the kernel's stale refusal)\n"
"      --no-opt PASSES  switch optimizer passes off (dead, shadow, fuse,\n"
"                       tree, lookup, all): verdicts, counters and deciding rules are the\n"
"                       same with every pass on or off\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 attached, 1 failure (kernel part not loaded, no such\n"
"chain, a chain that cannot be compiled, the verifier or the kernel part\n"
"refused), 2 usage.\n";

static const char detach_usage[] =
"Usage: nft-jit detach [-n NETNS] FAMILY TABLE CHAIN\n"
"\n"
"Detach the program attached to base chain CHAIN of table TABLE (family\n"
"ip, ip6 or inet): the interpreter runs the chain again.  A debug command,\n"
"like attach.\n"
"\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 detached, 1 failure (kernel part not loaded, nothing\n"
"attached to that chain), 2 usage.\n";

/* FAMILY TABLE CHAIN from argv[optind..] */
static int chain_args(const char *cmd, int argc, char **argv,
		      uint32_t *family, const char **table,
		      const char **chain)
{
	if (argc - optind != 3) {
		cli_errmsg("%s: %s FAMILY TABLE CHAIN", cmd,
			   argc - optind < 3 ? "missing arguments, expected" :
			   "too many arguments, expected");
		return EXIT_USAGE;
	}
	if (cli_family_parse(argv[optind], family) ||
	    (*family != NFPROTO_IPV4 && *family != NFPROTO_IPV6 &&
	     *family != NFPROTO_INET)) {
		cli_errmsg("%s: family %s: ip, ip6 or inet", cmd, argv[optind]);
		return EXIT_USAGE;
	}
	*table = argv[optind + 1];
	*chain = argv[optind + 2];
	return 0;
}

/* "attach inet filter input: Stale file handle: <kernel's message>" */
static void kerr(const char *what, uint32_t family, const char *table,
		 const char *chain, int err, const struct nftj_kctl *k)
{
	cli_errmsg("%s %s %s %s: %s%s%s", what, cli_family_name(family), table, chain,
		   strerror(-err), k->ext_msg[0] ? ": " : "", k->ext_msg);
}

static json_t *attach_json(const struct attach_opts *o,
			   const struct nftj_prog *jp, uint32_t genid,
			   int attempts)
{
	const struct imr_chain *ch = &jp->imr.chains[0];
	json_t *first = json_null();

	if (ch->first_unsupported >= 0) {
		const struct imr_rule *u = &ch->rules[ch->first_unsupported];

		first = json_pack("{s:I, s:i, s:s}", "handle",
				  (json_int_t)u->handle, "index",
				  (int)u->pos, "reason", u->reason);
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:i, s:{s:I, s:s, s:I, s:I},"
			 " s:I, s:I, s:I, s:I, s:o, s:o}",
			 "family", cli_family_name(o->family), "table", o->table,
			 "chain", o->chain, "generation", (json_int_t)genid,
			 "attempts", attempts,
			 "program", "id", (json_int_t)jp->prog_id,
			 "name", jp->name, "insns", (json_int_t)jp->insns,
			 "programs", (json_int_t)jp->nseg,
			 "rules", (json_int_t)nftj_prog_rules(jp),
			 "compiled", (json_int_t)nftj_prog_compiled(jp),
			 "interpreted", (json_int_t)(nftj_prog_rules(jp) -
						     nftj_prog_compiled(jp)),
			 "services", (json_int_t)jp->nsvc,
			 "first_interpreted", first,
			 "fallback", report_fallback(jp));
}

static void attach_print(json_t *r)
{
	json_t *prog = json_object_get(r, "program");
	json_t *first = json_object_get(r, "first_interpreted");

	printf("attached %s %s %s: program id %lld (%s), %lld insns in %lld program%s, generation %lld\n",
	       json_string_value(json_object_get(r, "family")),
	       json_string_value(json_object_get(r, "table")),
	       json_string_value(json_object_get(r, "chain")),
	       json_integer_value(json_object_get(prog, "id")),
	       json_string_value(json_object_get(prog, "name")),
	       json_integer_value(json_object_get(prog, "insns")),
	       json_integer_value(json_object_get(prog, "programs")),
	       json_integer_value(json_object_get(prog, "programs")) == 1 ?
	       "" : "s",
	       json_integer_value(json_object_get(r, "generation")));
	printf("  %lld of %lld rules compiled, %lld left to the interpreter, %lld services\n",
	       json_integer_value(json_object_get(r, "compiled")),
	       json_integer_value(json_object_get(r, "rules")),
	       json_integer_value(json_object_get(r, "interpreted")),
	       json_integer_value(json_object_get(r, "services")));
	if (json_is_object(first))
		printf("  interpreter from rule handle %lld (#%lld): %s\n",
		       json_integer_value(json_object_get(first, "handle")),
		       json_integer_value(json_object_get(first, "index")),
		       json_string_value(json_object_get(first, "reason")));
}

/* dump, compile, load; prints the error; 0 or 1 */
static int build(const struct attach_opts *o, struct nftj_ruleset *rs,
		 struct nftj_prog *jp)
{
	NFTJ_BUILD_OPTS(bo, .target = NFTJ_TARGET_KERNEL,
			.no_opt = o->no_opt);
	int err;

	err = nftj_ruleset_dump(rs, o->family);
	if (err) {
		cli_errmsg("cannot read the nf_tables ruleset: %s%s",
			   strerror(-err), err == -EPERM ?
			   " (CAP_NET_ADMIN is needed)" : "");
		return 1;
	}
	err = nftj_prog_build(jp, rs, o->family, o->table, o->chain, &bo);
	if (!err)
		return 0;
	if (err == -ENOENT && !jp->why[0])
		cli_errmsg("no chain %s in table %s %s", o->chain,
			   cli_family_name(o->family), o->table);
	else if (err == -EOPNOTSUPP)
		cli_errmsg("chain %s %s %s cannot be compiled: %s",
			   cli_family_name(o->family), o->table, o->chain,
			   jp->why);
	else if (jp->log)
		cli_errmsg("the verifier rejected the program of %s %s %s:\n%s",
			   cli_family_name(o->family), o->table, o->chain,
			   jp->log);
	else
		cli_errmsg("%s", jp->why[0] ? jp->why : strerror(-err));
	return 1;
}

static int attach_run(const struct attach_opts *o)
{
	struct nftj_kattach a = {};
	struct nftj_ruleset rs;
	struct nftj_kctl k;
	struct nftj_prog jp;
	int attempt, err, rc = 1;
	json_t *r;

	if (cli_kctl_open(&k))
		return 1;
	for (attempt = 1; attempt <= ATTACH_TRIES; attempt++) {
		memset(&rs, 0, sizeof(rs));
		nftj_prog_init(&jp);
		if (build(o, &rs, &jp)) {
			nftj_prog_free(&jp);
			nftj_ruleset_free(&rs);
			break;
		}
		a.family = o->family;
		a.table = o->table;
		a.chain = o->chain;
		a.genid = o->force_genid ? o->genid : rs.genid;
		a.prog_fd = jp.prog_fd;
		a.svc = jp.svc;
		a.nsvc = jp.nsvc;
		err = nftj_kctl_attach(&k, &a);
		if (err == -ESTALE && !o->force_genid &&
		    attempt < ATTACH_TRIES) {
			nftj_prog_free(&jp);
			nftj_ruleset_free(&rs);
			continue;
		}
		if (err == -ESTALE && !o->force_genid)
			cli_errmsg("attach %s %s %s: the ruleset changed during each of %d attempts",
				   cli_family_name(o->family), o->table,
				   o->chain, ATTACH_TRIES);
		else if (err)
			kerr("attach", o->family, o->table, o->chain, err, &k);
		if (!err) {
			r = attach_json(o, &jp, a.genid, attempt);
			if (o->json) {
				json_t *out = json_pack("{s:o}", "attach", r);

				json_dumpf(out, stdout, JSON_COMPACT);
				putchar('\n');
				json_decref(out);
			} else {
				attach_print(r);
				json_decref(r);
			}
			rc = 0;
		}
		nftj_prog_free(&jp);
		nftj_ruleset_free(&rs);
		break;
	}
	nftj_kctl_close(&k);
	return rc;
}

static int parse_genid(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || !*s || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

static int attach_kernel(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "genid", required_argument, NULL, 'G' },
		{ "no-opt", required_argument, NULL, 'O' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct attach_opts o = {};
	char why[256];
	int c, rc;

	while ((c = getopt_long(argc, argv, "jn:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'n': netns = optarg; break;
		case 'G':
			if (parse_genid(optarg, &o.genid)) {
				cli_errmsg("attach: bad generation %s", optarg);
				return EXIT_USAGE;
			}
			o.force_genid = true;
			break;
		case 'O':
			if (opt_parse_passes(optarg, &o.no_opt, why,
					     sizeof(why))) {
				cli_errmsg("attach: --no-opt: %s", why);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(attach_usage, stdout);
			return 0;
		default:
			fputs(attach_usage, stderr);
			return EXIT_USAGE;
		}
	}
	rc = chain_args("attach", argc, argv, &o.family, &o.table, &o.chain);
	if (rc)
		return rc;
	if (netns && cli_netns_enter(netns))
		return 1;
	return attach_run(&o);
}

/* is opt among the command's arguments (before a "--")? */
static bool has_opt(int argc, char **argv, const char *opt)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], opt))
			return true;
	return false;
}

/* attach --link is another command with its own options and help */
int cmd_attach(int argc, char **argv, const char *netns)
{
	if (has_opt(argc, argv, "--link"))
		return cmd_attach_link(argc, argv, netns);
	return attach_kernel(argc, argv, netns);
}

int cmd_detach(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *table, *chain;
	struct nftj_kctl k;
	uint32_t family;
	int c, rc, err;

	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': netns = optarg; break;
		case 'h':
			fputs(detach_usage, stdout);
			return 0;
		default:
			fputs(detach_usage, stderr);
			return EXIT_USAGE;
		}
	}
	rc = chain_args("detach", argc, argv, &family, &table, &chain);
	if (rc)
		return rc;
	if (netns && cli_netns_enter(netns))
		return 1;
	if (cli_kctl_open(&k))
		return 1;
	err = nftj_kctl_detach(&k, family, table, chain);
	if (err)
		kerr("detach", family, table, chain, err, &k);
	else
		printf("detached %s %s %s\n", cli_family_name(family), table,
		       chain);
	nftj_kctl_close(&k);
	return err ? 1 : 0;
}
