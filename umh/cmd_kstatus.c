// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit kstatus: what the kernel part runs in this network namespace
 * (NFTJ_CMD_GET), with its statistics.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <linux/netfilter.h>

#include "cli.h"
#include "kctl.h"

static const char usage[] =
"Usage: nft-jit kstatus [-n NETNS] [-j] [FAMILY TABLE CHAIN]\n"
"\n"
"List the programs the kernel part runs in this network namespace, one\n"
"line per base chain (or only CHAIN of table TABLE, family ip, ip6 or\n"
"inet):\n"
"\n"
"  genid      the ruleset generation the program was compiled from\n"
"  prog_id    its BPF program id (bpftool prog show id N)\n"
"  nrules     rules of the base chain\n"
"  nchains    chains the program covers; \"all\" when a verdict map can\n"
"             send packets to any chain of the table\n"
"  nservices  expressions the kernel evaluates for the program\n"
"  runs       packets the program ran for\n"
"  resumes    of those, handed to the interpreter at some rule (this\n"
"             includes the policy, which the interpreter applies)\n"
"  fallbacks  packets the interpreter ran whole instead: an unexpected\n"
"             return value, or a packet the program cannot see\n"
"  recounts   of those, packets whose counters the program had already\n"
"             counted: the interpreter counted them again (0 unless a\n"
"             program counted more than the kernel defers)\n"
"\n"
"and, for the namespace, detaches, the programs commits detached, and\n"
"destroyed, the programs released because a chain they covered was\n"
"freed outside a commit (its device or its owner's socket went away)\n"
"(left out when the kernel part reports them only with attachments and\n"
"there is none).\n"
"\n"
"JSON: {\"attachments\": [{\"family\", \"table\", \"chain\", \"genid\",\n"
"\"prog_id\", \"nrules\", \"nchains\", \"nservices\", \"runs\", \"resumes\",\n"
"\"fallbacks\", \"recounts\"}...], \"detaches\", \"destroyed\"}.\n"
"\n"
"  -j, --json           JSON output\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 ok, 1 failure (kernel part not loaded; nothing attached\n"
"to the chain named), 2 usage.\n";

struct kstatus {
	json_t *all;
	uint64_t detaches, destroyed;
	bool any;		/* attachments reported */
	bool known;		/* detaches reported */
};

static int collect(const struct nftj_kstat *st, void *data)
{
	struct kstatus *ks = data;
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		      "family", cli_family_name(st->family), "table", st->table,
		      "chain", st->chain,
		      "genid", (json_int_t)st->genid,
		      "prog_id", (json_int_t)st->prog_id,
		      "nrules", (json_int_t)st->nrules,
		      "nchains", (json_int_t)st->nchains,
		      "nservices", (json_int_t)st->nservices,
		      "runs", (json_int_t)st->runs,
		      "resumes", (json_int_t)st->resumes,
		      "fallbacks", (json_int_t)st->fallbacks,
		      "recounts", (json_int_t)st->recounts);
	if (!o)
		return -ENOMEM;
	json_array_append_new(ks->all, o);
	ks->detaches = st->detaches;
	ks->destroyed = st->destroyed;
	ks->any = true;
	ks->known = true;
	return 0;
}

static void print_table(const struct kstatus *ks)
{
	static const char *const col[] = {
		"family", "table", "chain", "genid", "prog_id", "nrules",
		"nchains", "nservices", "runs", "resumes", "fallbacks",
		"recounts",
	};
	const size_t ncol = sizeof(col) / sizeof(col[0]);
	size_t w[sizeof(col) / sizeof(col[0])], i, j;
	char cell[64];
	json_t *o;

	for (j = 0; j < ncol; j++)
		w[j] = strlen(col[j]);
	for (i = 0; i < 2; i++) {
		if (i) {
			for (j = 0; j + 1 < ncol; j++)
				printf("%-*s  ", (int)w[j], col[j]);
			printf("%s\n", col[ncol - 1]);
		}
		json_array_foreach(ks->all, j, o) {
			size_t c;

			for (c = 0; c < ncol; c++) {
				json_t *v = json_object_get(o, col[c]);

				if (json_is_string(v))
					snprintf(cell, sizeof(cell), "%s",
						 json_string_value(v));
				else if (!strcmp(col[c], "nchains") &&
					 !json_integer_value(v))
					snprintf(cell, sizeof(cell), "all");
				else
					snprintf(cell, sizeof(cell), "%lld",
						 json_integer_value(v));
				if (!i && strlen(cell) > w[c])
					w[c] = strlen(cell);
				if (i && c + 1 < ncol)
					printf("%-*s  ", (int)w[c], cell);
				else if (i)
					printf("%s\n", cell);
			}
		}
	}
}

int cmd_kstatus(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *table = NULL, *chain = NULL;
	struct kstatus ks = {};
	struct nftj_kctl k;
	uint32_t family = 0;
	bool json = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "jn:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': netns = optarg; break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 0 && argc - optind != 3) {
		cli_errmsg("kstatus: expected no arguments or FAMILY TABLE CHAIN");
		return EXIT_USAGE;
	}
	if (argc - optind == 3) {
		if (cli_family_parse(argv[optind], &family) ||
		    (family != NFPROTO_IPV4 && family != NFPROTO_IPV6 &&
		     family != NFPROTO_INET)) {
			cli_errmsg("kstatus: family %s: ip, ip6 or inet",
				   argv[optind]);
			return EXIT_USAGE;
		}
		table = argv[optind + 1];
		chain = argv[optind + 2];
	}
	if (netns && cli_netns_enter(netns))
		return 1;
	if (cli_kctl_open(&k))
		return 1;
	ks.all = json_array();
	err = nftj_kctl_get(&k, family, table, chain, collect, &ks);
	/* nothing attached carried DETACHES: ask for the namespace's */
	if (!err && !ks.any &&
	    !nftj_kctl_detaches(&k, &ks.detaches, &ks.destroyed))
		ks.known = true;
	nftj_kctl_close(&k);
	if (err) {
		cli_errmsg("kstatus%s%s%s%s%s%s: %s%s%s", table ? " " : "",
			   table ? cli_family_name(family) : "", table ? " " : "",
			   table ? table : "", table ? " " : "",
			   table ? chain : "", strerror(-err),
			   k.ext_msg[0] ? ": " : "", k.ext_msg);
		json_decref(ks.all);
		return 1;
	}
	if (json) {
		json_t *out = json_pack("{s:o}", "attachments", ks.all);

		if (ks.known) {
			json_object_set_new(out, "detaches", json_integer(
					(json_int_t)ks.detaches));
			json_object_set_new(out, "destroyed", json_integer(
					(json_int_t)ks.destroyed));
		}
		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
		return 0;
	}
	if (!ks.any)
		printf("no programs attached\n");
	else
		print_table(&ks);
	if (ks.known) {
		printf("detaches: %llu (programs detached by commits)\n",
		       (unsigned long long)ks.detaches);
		printf("destroyed: %llu (programs released with a chain freed outside a commit)\n",
		       (unsigned long long)ks.destroyed);
	}
	json_decref(ks.all);
	return 0;
}
