// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit status: per base chain, JIT, partly JIT or interpreter and why,
 * the program, its generation and the kernel's statistics (status.c has
 * the data; this file the command line and the text output).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <linux/netfilter.h>

#include "cli.h"
#include "report.h"
#include "status.h"

static const char usage[] =
"Usage: nft-jit status [-n NETNS] [-j] [-v] [FAMILY [TABLE [CHAIN]]]\n"
"\n"
"Show what runs each base chain of the nf_tables ruleset in this network\n"
"namespace (or only those of family FAMILY, table TABLE, chain CHAIN):\n"
"\n"
"  family, table, chain, hook, priority, policy and the number of rules;\n"
"  state        jit          a program runs every rule of the chain\n"
"               partial      a program runs the rules up to the first one\n"
"                            it cannot compile, the interpreter the rest:\n"
"                            that rule (handle, position) and why\n"
"               interpreter  no program: the reason (not compilable, the\n"
"                            verifier rejected it, the kernel part is not\n"
"                            loaded, no daemon attached one)\n"
"               pending      the daemon runs and has not compiled the\n"
"                            chain's current rules yet\n"
"  program      BPF program id and name, instructions (as the kernel runs\n"
"               them, after the verifier) and JIT-compiled size in bytes,\n"
"               summed over the tail-called segments of a long chain;\n"
"               services (expressions the kernel evaluates for it)\n"
"  generation   the ruleset generation the program was compiled from, and\n"
"               the ruleset's current one; a program stays attached across\n"
"               commits that do not touch the chains it covers\n"
"  runs         packets the program ran for; resumes, of those handed to\n"
"               the interpreter at a rule (the policy included);\n"
"               fallbacks, packets the interpreter ran whole instead\n"
"  last build   compile and attach time in milliseconds, from the daemon\n"
"\n"
"The kernel part's attachments are the truth about what runs; the daemon's\n"
"state file ($NFTJ_STATE_DIR, default " NFTJ_STATE_DIR_DEFAULT ",\n"
"netns-INODE.json) adds the reasons and build times.  Without a running\n"
"daemon, chains without a program say \"no program attached (daemon not\n"
"running)\"; the rules an attached program leaves to the interpreter are\n"
"found by compiling the current ruleset again (without loading it).  On a\n"
"kernel without the kernel part, every chain is listed with state\n"
"interpreter, reason \"kernel part not loaded\", and the exit status is 0.\n"
"\n"
"  -v, --verbose        add the annotated BPF code of every chain with a\n"
"                       program (as compile -d shows it), compiled again\n"
"                       from the current ruleset without loading\n"
"  -j, --json           JSON output, keys described in docs/status.md\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 ok (also when the kernel part is not loaded or no daemon\n"
"runs), 1 failure (the ruleset cannot be read; the table or chain named\n"
"does not exist or is not a base chain), 2 usage.\n";

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* "3 s ago" for recent times, else the local date and time */
static void when(double t, char *buf, size_t size)
{
	double age = (double)time(NULL) - t;
	time_t tt = (time_t)t;
	struct tm tm;

	if (age >= -1 && age < 120)
		snprintf(buf, size, "%.0f s ago", age < 0 ? 0 : age);
	else if (localtime_r(&tt, &tm))
		strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	else
		snprintf(buf, size, "%.0f", t);
}

static void print_header(json_t *out)
{
	json_t *d = json_object_get(out, "daemon");
	char t[64];

	if (json_is_true(json_object_get(out, "kernel_part")))
		printf("kernel part: loaded\n");
	else
		printf("kernel part: not loaded (%s): every base chain runs in the interpreter;\n"
		       "  `nft-jit compile --target kernel --no-load` shows what would be compiled\n",
		       jstr(out, "kernel_part_reason"));
	if (!json_is_object(d)) {
		printf("daemon: not running (no state file %s)\n",
		       jstr(out, "state_file"));
	} else if (json_is_string(json_object_get(d, "error"))) {
		printf("daemon: not running (%s: %s)\n",
		       jstr(out, "state_file"), jstr(d, "error"));
	} else {
		when(json_number_value(json_object_get(d, "updated")), t,
		     sizeof(t));
		if (json_is_true(json_object_get(d, "running")))
			printf("daemon: running, pid %lld; last sync at generation %lld, %s (syncs %lld, resyncs after event loss %lld, stale retries %lld)\n",
			       jint(d, "pid"), jint(d, "generation"), t,
			       jint(d, "syncs"), jint(d, "resyncs"),
			       jint(d, "stale_retries"));
		else
			printf("daemon: not running (state file %s left by pid %lld, updated %s)\n",
			       jstr(out, "state_file"), jint(d, "pid"), t);
	}
	printf("ruleset generation: %lld\n", jint(out, "generation"));
}

static void print_indented(const char *prefix, const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl) {
			printf("%s%s\n", prefix, p);
			break;
		}
		printf("%s%.*s\n", prefix, (int)(nl - p), p);
		p = nl + 1;
	}
}

static void print_chain(json_t *r, long long genid)
{
	json_t *first = json_object_get(r, "first_interpreted");
	json_t *prog = json_object_get(r, "program"), *v;
	const char *state = jstr(r, "state");
	char t[64];
	size_t i;

	printf("\n%s %s %s: type %s hook %s priority %lld, policy %s, %lld rule%s\n",
	       jstr(r, "family"), jstr(r, "table"), jstr(r, "chain"),
	       jstr(r, "type"), jstr(r, "hook"), jint(r, "priority"),
	       jstr(r, "policy"), jint(r, "rules"),
	       jint(r, "rules") == 1 ? "" : "s");
	printf("  state: %s", state);
	if (json_is_integer(json_object_get(r, "compiled")) &&
	    (!strcmp(state, "jit") || !strcmp(state, "partial")))
		printf(" (%lld of %lld rules compiled)", jint(r, "compiled"),
		       jint(r, "rules"));
	if (json_is_object(first))
		printf("\n  interpreter from rule handle %lld (#%lld): %s\n",
		       jint(first, "handle"), jint(first, "index"),
		       jstr(first, "reason"));
	else if (json_is_string(json_object_get(r, "reason")))
		printf(": %s\n", jstr(r, "reason"));
	else
		putchar('\n');
	if (json_is_object(prog)) {
		printf("  program: id %lld (%s), ", jint(prog, "id"),
		       jstr(prog, "name"));
		if (json_is_integer(json_object_get(prog, "insns")))
			printf("%lld insns, %lld bytes JIT-compiled",
			       jint(prog, "insns"), jint(prog, "jited_len"));
		else
			printf("size unknown");
		if (jint(prog, "programs") > 1)
			printf(" in %lld programs (tail calls)",
			       jint(prog, "programs"));
		printf(", %lld service%s, ", jint(prog, "services"),
		       jint(prog, "services") == 1 ? "" : "s");
		if (jint(prog, "chains"))
			printf("covers %lld chain%s\n", jint(prog, "chains"),
			       jint(prog, "chains") == 1 ? "" : "s");
		else
			printf("covers every chain of the table\n");
		printf("  generation: %lld", jint(r, "generation"));
		if (jint(r, "generation") != genid)
			printf(" (ruleset at %lld: the chains the program covers did not change since)",
			       genid);
		printf("\n  packets: runs %lld, resumes %lld, fallbacks %lld\n",
		       jint(r, "runs"), jint(r, "resumes"),
		       jint(r, "fallbacks"));
	}
	if (json_is_number(json_object_get(r, "compile_ms"))) {
		printf("  last build: compile %.1f ms",
		       json_number_value(json_object_get(r, "compile_ms")));
		if (json_is_number(json_object_get(r, "attach_ms")))
			printf(", attach %.1f ms", json_number_value(
				json_object_get(r, "attach_ms")));
		if (json_is_number(json_object_get(r, "attached_at"))) {
			when(json_number_value(json_object_get(r,
							       "attached_at")),
			     t, sizeof(t));
			printf(", attached %s", t);
		}
		putchar('\n');
	}
	if (json_is_string(json_object_get(r, "verifier_log"))) {
		printf("  verifier log:\n");
		print_indented("    ", jstr(r, "verifier_log"));
	}
	report_opt_print(stdout, json_object_get(r, "optimizer"), "  ");
	if (json_is_string(json_object_get(r, "disassembly_error")))
		printf("  no disassembly: %s\n", jstr(r, "disassembly_error"));
	if (json_is_array(json_object_get(r, "disassembly"))) {
		if (jint(r, "generation") != jint(r, "disassembly_generation"))
			printf("  code compiled again from generation %lld (the program is from generation %lld):\n",
			       jint(r, "disassembly_generation"),
			       jint(r, "generation"));
		else
			printf("  code (compiled again from generation %lld):\n",
			       jint(r, "disassembly_generation"));
		json_array_foreach(json_object_get(r, "disassembly"), i, v)
			printf("    %s\n", json_string_value(v));
	}
}

int cmd_status(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct status_opts o = {};
	bool json = false;
	json_t *out, *r;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "jvn:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'v': o.verbose = true; break;
		case 'n': netns = optarg; break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 3) {
		cli_errmsg("status: too many arguments, expected [FAMILY [TABLE [CHAIN]]]");
		return EXIT_USAGE;
	}
	if (argc - optind >= 1 && cli_family_parse(argv[optind], &o.family)) {
		cli_errmsg("status: unknown family %s", argv[optind]);
		return EXIT_USAGE;
	}
	if (argc - optind >= 2)
		o.table = argv[optind + 1];
	if (argc - optind >= 3)
		o.chain = argv[optind + 2];
	o.state_dir = getenv("NFTJ_STATE_DIR");
	if (!o.state_dir || !*o.state_dir)
		o.state_dir = NFTJ_STATE_DIR_DEFAULT;
	if (netns && cli_netns_enter(netns))
		return 1;
	if (status_collect(&o, &out))
		return 1;
	if (json) {
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_header(out);
		json_array_foreach(json_object_get(out, "chains"), i, r)
			print_chain(r, jint(out, "generation"));
		if (!json_array_size(json_object_get(out, "chains")))
			printf("\nno base chains%s%s\n",
			       o.family ? " in family " : "",
			       o.family ? cli_family_name(o.family) : "");
	}
	json_decref(out);
	return 0;
}
