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

/* the commands, bpftool's cmds[]: cmd_*.c, one file each */
static const struct cmd {
	const char *name;
	int (*run)(int argc, char **argv, const char *netns);
} cmds[] = {
	{ "compile",	cmd_compile },
	{ "eval",	cmd_eval },
	{ "attach",	cmd_attach },	/* and attach --link */
	{ "detach",	cmd_detach },
	{ "kstatus",	cmd_kstatus },
	{ "bench",	cmd_bench },
	{ "daemon",	cmd_daemon },
	{ "status",	cmd_status },
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *netns = NULL;
	size_t i;
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
	argc -= optind;
	argv += optind;
	optind = 1;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].run(argc, argv, netns);
	cli_errmsg("unknown command %s (try --help)", argv[0]);
	return EXIT_USAGE;
}
