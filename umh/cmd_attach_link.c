// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit attach --link: run a chain's link-target program at the chain's
 * hook, instead of the chain, while this process runs in the foreground.
 * (nft-jit attach without --link, cmd_attach.c, hands a program to the
 * kernel part.)
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "genwatch.h"
#include "jit.h"
#include "linkstats.h"
#include "nflink.h"
#include "opt.h"

#define EXIT_CHANGED	3
#define ATTACH_TRIES	3

struct attach_opts {
	const char *table, *chain;
	uint32_t family;
	bool link, set_dormant, json;
	long timeout_s;		/* 0: none */
	unsigned int no_opt;	/* optimizer passes off: --no-opt */
};

static const char usage[] =
"Usage: nft-jit attach --link [-n NETNS] -t TABLE -c CHAIN [--family F]\n"
"                      [--set-dormant] [--timeout SEC]\n"
"                      [--no-opt PASS[,PASS...]] [-j]\n"
"\n"
"Compile base chain CHAIN for the link target (a BPF_PROG_TYPE_NETFILTER\n"
"program, Linux >= 6.4) and attach it with BPF_LINK_CREATE at the chain's\n"
"hook and priority (inet: one link for IPv4, one for IPv6).  nft-jit stays\n"
"in the foreground: the program runs as long as this process does.\n"
"SIGINT or SIGTERM detach it and print its counters.\n"
"\n"
"The program replaces the chain only while the table is dormant (its hooks\n"
"unregistered, its rules and sets kept).  nft-jit refuses to run next to\n"
"an active table; --set-dormant makes the table dormant and wakes it again\n"
"on exit (`nft add table FAMILY TABLE` wakes a dormant table by hand).\n"
"\n"
"The program is a snapshot of one ruleset generation, sets included.  Any\n"
"ruleset change (nft add element, add rule, ...) ends nft-jit: the table\n"
"is woken (with --set-dormant), the program detached, exit status 3.\n"
"\n"
"Every rule of the chain must compile: a link program cannot leave rules\n"
"to the interpreter.  Packets it cannot decide exactly (docs/link-target.md)\n"
"are dropped and counted as unhandled.\n"
"\n"
"  -t, --table TABLE    table name\n"
"  -c, --chain CHAIN    base chain name\n"
"      --family F       ip, ip6 or inet (needed if TABLE exists twice)\n"
"      --link           the link target (required: the only mode so far)\n"
"      --set-dormant    mark the table dormant while the program runs\n"
"      --timeout SEC    detach after SEC seconds\n"
"      --no-opt PASSES  switch optimizer passes off (dead, shadow, fuse,\n"
"                       tree, lookup, all): verdicts, counters and deciding rules are the\n"
"                       same with every pass on or off\n"
"  -j, --json           one JSON line when attached, one when detached\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 detached (signal or timeout), 1 failure, 2 usage,\n"
"3 the ruleset changed.\n";

struct session {
	struct attach_opts *o;
	struct nftj_ruleset rs;
	struct nftj_prog jp;
	struct nftj_links links;
	struct mnl_socket *watch;
	uint32_t family, genid;
	bool woke_needed;
};

static void session_free(struct session *s)
{
	nftj_prog_free(&s->jp);
	nftj_ruleset_free(&s->rs);
	memset(&s->rs, 0, sizeof(s->rs));
}

static int compile(struct session *s)
{
	struct attach_opts *o = s->o;
	NFTJ_BUILD_OPTS(bo, .target = NFTJ_TARGET_LINK, .no_opt = o->no_opt);
	int err;

	if (cli_ruleset_load(&s->rs))
		return -EIO;
	err = cli_table_family(&s->rs, o->table, o->family, &s->family);
	if (err)
		return err;
	err = nftj_prog_build(&s->jp, &s->rs, s->family, o->table, o->chain,
			      &bo);
	if (err == -ENOENT)
		cli_errmsg("no chain %s in table %s %s", o->chain,
			   cli_family_name(s->family), o->table);
	else if (err && s->jp.log)
		cli_errmsg("the verifier rejected the program:\n%s", s->jp.log);
	else if (err)
		cli_errmsg("chain %s: %s", o->chain, s->jp.why[0] ? s->jp.why :
			   strerror(-err));
	return err;
}

/*
 * Compile, make the table dormant if asked, and check that nothing was
 * committed in between: the program must be of the generation that runs.
 * 0, -EAGAIN (a commit raced us: try again) or another -errno.
 */
static int prepare(struct session *s)
{
	struct attach_opts *o = s->o;
	bool dormant;
	uint32_t now;
	int err;

	err = compile(s);
	if (err)
		return err;
	err = nftj_table_dormant(&s->rs, s->family, o->table, &dormant);
	if (err)
		return err;
	s->genid = s->rs.genid;
	if (!dormant && !o->set_dormant) {
		cli_errmsg("table %s %s is active: its chain and the program would both filter; "
			   "mark it dormant (nft add table %s %s '{ flags dormant; }') "
			   "or pass --set-dormant", cli_family_name(s->family),
			   o->table, cli_family_name(s->family), o->table);
		return -EBUSY;
	}
	if (!dormant) {
		err = nftj_table_set_dormant(s->family, o->table, true);
		if (err) {
			cli_errmsg("cannot make table %s dormant: %s", o->table,
				   strerror(-err));
			return err;
		}
		s->woke_needed = true;
		s->genid++;
	}
	err = nftj_genid_get(&now);
	if (err)
		return err;
	return now == s->genid ? 0 : -EAGAIN;
}

static void wake(struct session *s)
{
	int err;

	if (!s->woke_needed)
		return;
	err = nftj_table_set_dormant(s->family, s->o->table, false);
	if (err)
		cli_errmsg("cannot wake table %s %s: %s (nft add table %s %s)",
			   cli_family_name(s->family), s->o->table,
			   strerror(-err), cli_family_name(s->family),
			   s->o->table);
	s->woke_needed = false;
}

static void print_attached(struct session *s)
{
	const struct imr_chain *ch = &s->jp.imr.chains[0];
	json_t *links = json_array(), *out;
	size_t i;

	for (i = 0; i < s->links.n; i++)
		json_array_append_new(links, json_pack("{s:s, s:i}",
			"family", cli_family_name(s->links.pf[i]),
			"id", (int)s->links.id[i]));
	if (s->o->json) {
		out = json_pack("{s:{s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:i, s:i, s:o, s:b}}",
				"attached", "family", cli_family_name(s->family),
				"table", s->o->table, "chain", s->o->chain,
				"hook", cli_hook_name(ch->hook),
				"priority", (int)ch->prio,
				"generation", (json_int_t)s->genid,
				"program_id", (int)s->jp.prog_id,
				"insns", (int)s->jp.insns,
				"programs", (int)s->jp.nseg, "links", links,
				"set_dormant", s->woke_needed);
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	} else {
		printf("attached %s %s %s at hook %s priority %d: program id %u "
		       "(%zu insns, %zu programs), generation %u\n",
		       cli_family_name(s->family), s->o->table, s->o->chain,
		       cli_hook_name(ch->hook), (int)ch->prio, s->jp.prog_id,
		       s->jp.insns, s->jp.nseg, s->genid);
		printf("  table %s %s is dormant%s; the program decides alone\n",
		       cli_family_name(s->family), s->o->table,
		       s->woke_needed ? " (made so by nft-jit, woken on exit)" :
		       "");
		json_decref(links);
	}
	fflush(stdout);
}

static void print_detached(struct session *s, const char *why)
{
	json_t *st = linkstats_json(&s->jp), *v;
	size_t i;

	if (!st) {
		cli_errmsg("reading the program's counters: %s", strerror(errno));
		st = json_object();
	}
	json_object_set_new(st, "reason", json_string(why));
	if (s->o->json) {
		json_t *out = json_pack("{s:o}", "detached", st);

		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
		fflush(stdout);
		return;
	}
	printf("detached (%s): %lld packets unhandled (dropped)\n", why,
	       json_integer_value(json_object_get(st, "unhandled")));
	json_array_foreach(json_object_get(st, "counters"), i, v)
		printf("  counter %s handle %lld: packets %lld bytes %lld\n",
		       json_string_value(json_object_get(v, "chain")),
		       json_integer_value(json_object_get(v, "handle")),
		       json_integer_value(json_object_get(v, "packets")),
		       json_integer_value(json_object_get(v, "bytes")));
	json_decref(st);
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* until a signal, the timeout or a new generation; returns the exit code */
static int wait_loop(struct session *s, int sfd, const char **why)
{
	double end = s->o->timeout_s ? now_s() + s->o->timeout_s : 0;
	struct pollfd pfd[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = genwatch_fd(s->watch), .events = POLLIN },
	};
	uint32_t gen;
	bool seen;
	int tmo, err;

	for (;;) {
		tmo = -1;
		if (end) {
			double left = end - now_s();

			if (left <= 0) {
				*why = "timeout";
				return 0;
			}
			tmo = (int)(left * 1000) + 1;
		}
		if (poll(pfd, 2, tmo) < 0 && errno != EINTR) {
			*why = "poll failed";
			return 1;
		}
		if (pfd[0].revents) {
			*why = "signal";
			return 0;
		}
		if (!pfd[1].revents)
			continue;
		err = genwatch_read(s->watch, &gen, &seen);
		if (err || (seen && gen != s->genid)) {
			*why = "ruleset changed";
			return EXIT_CHANGED;
		}
	}
}

static int run(struct attach_opts *o)
{
	struct session s = { .o = o };
	const struct imr_chain *ch;
	const char *why = "";
	sigset_t set;
	int i, err, sfd, rc;

	nftj_prog_init(&s.jp);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sfd = sigprocmask(SIG_BLOCK, &set, NULL) ? -1 :
	      signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		cli_errmsg("signalfd: %s", strerror(errno));
		return 1;
	}
	/* subscribe first: no change may slip between check and watch */
	err = genwatch_open(&s.watch);
	if (err) {
		cli_errmsg("watching the ruleset: %s", strerror(-err));
		close(sfd);
		return 1;
	}
	for (i = 0; i < ATTACH_TRIES; i++) {
		err = prepare(&s);
		if (err != -EAGAIN)
			break;
		wake(&s);
		session_free(&s);
	}
	if (err) {
		if (err == -EAGAIN)
			cli_errmsg("the ruleset keeps changing: not attached");
		rc = 1;
		goto out;
	}
	ch = &s.jp.imr.chains[0];
	err = nftj_links_attach(&s.links, s.jp.prog_fd, s.family, ch->hook,
				ch->prio);
	if (err) {
		cli_errmsg("BPF_LINK_CREATE (netfilter, hook %s priority %d): %s%s",
			   cli_hook_name(ch->hook), (int)ch->prio,
			   strerror(-err),
			   err == -EINVAL ? " (Linux >= 6.4 is needed)" : "");
		rc = 1;
		goto out;
	}
	print_attached(&s);
	rc = wait_loop(&s, sfd, &why);
	/* the table first: a moment of both filtering, never of neither */
	if (!s.woke_needed)
		cli_errmsg("table %s %s stays dormant, as it was before nft-jit "
			   "started: nothing filters at its hooks now",
			   cli_family_name(s.family), o->table);
	wake(&s);
	nftj_links_detach(&s.links);
	print_detached(&s, why);
out:
	wake(&s);
	session_free(&s);
	genwatch_close(s.watch);
	close(sfd);
	return rc;
}

int cmd_attach_link(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "table", required_argument, NULL, 't' },
		{ "chain", required_argument, NULL, 'c' },
		{ "family", required_argument, NULL, 'f' },
		{ "link", no_argument, NULL, 'L' },
		{ "set-dormant", no_argument, NULL, 'D' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "no-opt", required_argument, NULL, 'O' },
		{ "json", no_argument, NULL, 'j' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct attach_opts o = {};
	char why[256];
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "t:c:jn:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o.table = optarg; break;
		case 'c': o.chain = optarg; break;
		case 'j': o.json = true; break;
		case 'n': netns = optarg; break;
		case 'L': o.link = true; break;
		case 'D': o.set_dormant = true; break;
		case 'f':
			if (cli_family_parse(optarg, &o.family)) {
				cli_errmsg("attach: unknown family %s", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			o.timeout_s = strtol(optarg, &end, 10);
			if (*end || o.timeout_s <= 0) {
				cli_errmsg("attach: bad timeout %s", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'O':
			if (opt_parse_passes(optarg, &o.no_opt, why,
					     sizeof(why))) {
				cli_errmsg("attach: --no-opt: %s", why);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!o.link) {		/* cmd_attach() sends only --link here */
		cli_errmsg("attach: --link expected");
		return EXIT_USAGE;
	}
	if (!o.table || !o.chain) {
		cli_errmsg("attach: -t TABLE and -c CHAIN are required");
		return EXIT_USAGE;
	}
	if (optind < argc) {
		cli_errmsg("attach: unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}
	if (netns && cli_netns_enter(netns))
		return 1;
	return run(&o);
}
