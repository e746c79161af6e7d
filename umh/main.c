// SPDX-License-Identifier: GPL-2.0
/* nft-jit: a JIT compiler for nf_tables chains. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
"Usage: nft-jit [-n NETNS] COMMAND [OPTIONS]\n"
"\n"
"Compile nf_tables chains into eBPF programs.  Administrators keep using\n"
"nft; nft-jit reads the ruleset over netlink.\n"
"\n"
"Commands:\n"
"  daemon    follow ruleset changes: compile and attach every base chain\n"
"            after each commit (the kernel part runs the programs)\n"
"  status    per base chain: JIT, partly JIT or interpreter, and why;\n"
"            program, generation and the kernel's statistics\n"
"  compile   compile base chains and load them through the verifier\n"
"  eval      run packets through a chain's program: verdict, deciding rule\n"
"  attach    compile a base chain and attach it in the kernel (debug);\n"
"            attach --link: run it at the chain's hook instead of the\n"
"            chain, on a stock kernel (the link target)\n"
"  detach    detach a base chain's program (debug)\n"
"  kstatus   the kernel part's attached programs and their statistics\n"
"  bench     per-packet cost: interpreter vs link program on the same hook\n"
"\n"
"Options:\n"
"  -n, --netns NETNS   work in network namespace NETNS (/run/netns/NETNS)\n"
"  -h, --help          this help; `nft-jit COMMAND --help` for a command\n"
"  -V, --version       print the version\n";

/* is opt among the command's arguments (before a "--")? */
static bool has_opt(int argc, char **argv, const char *opt)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], opt))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *netns = NULL, *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "+n:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			netns = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			puts("nft-jit " NFTJ_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 1;
	if (!strcmp(cmd, "compile"))
		return cmd_compile(argc, argv, netns);
	if (!strcmp(cmd, "eval"))
		return cmd_eval(argc, argv, netns);
	if (!strcmp(cmd, "attach"))
		return has_opt(argc, argv, "--link") ?
		       cmd_attach_link(argc, argv, netns) :
		       cmd_attach(argc, argv, netns);
	if (!strcmp(cmd, "detach"))
		return cmd_detach(argc, argv, netns);
	if (!strcmp(cmd, "kstatus"))
		return cmd_kstatus(argc, argv, netns);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc, argv, netns);
	if (!strcmp(cmd, "daemon"))
		return cmd_daemon(argc, argv, netns);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv, netns);
	errmsg("unknown command %s (try --help)", cmd);
	return EXIT_USAGE;
}
