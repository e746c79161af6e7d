// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit compile: dump, build IMR, emit, and load through the verifier
 * (not attached), reporting per base chain what was compiled and why not.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <linux/netfilter.h>

#include <linux/netfilter/nf_tables_jit.h>

#include "annotate.h"
#include "cli.h"
#include "jit.h"
#include "opt.h"
#include "report.h"
#include "ruletext.h"

struct compile_opts {
	const char *table, *chain;
	uint32_t family;
	enum nftj_target target;
	bool json, disasm, no_load, predicates;
	unsigned int no_opt;	/* optimizer passes off: --no-opt */
	unsigned int dump_imr;	/* 1u << NFTJ_STAGE_*: --dump-imr */
	size_t fault_forest_insns;	/* testing: NFTJ_FAULT_FOREST_INSNS */
	int failed;		/* chains whose program was rejected */
	int matched;
	char kernel_missing[256];	/* services but no kfunc: why */
};

static const char usage[] =
"Usage: nft-jit compile [-n NETNS] [-t TABLE] [-c CHAIN] [--family F]\n"
"                       [--target kernel|test|link] [--no-load] [-j] [-d]\n"
"                       [--dump-imr STAGE[,STAGE...]] [--no-opt PASS[,PASS...]]\n"
"                       [--predicates]\n"
"\n"
"Read the nf_tables ruleset, compile every selected base chain (and the\n"
"chains it jumps to) into eBPF and load it through the kernel verifier,\n"
"without attaching it.  Report per chain: rules, rules compiled, the\n"
"first rule left to the interpreter and why, instruction count and the\n"
"verifier's result (its log when it rejects the program).\n"
"\n"
"For the kernel target, counters, set and map lookups, ct and the meta\n"
"keys a program cannot read itself are services: the program asks the\n"
"kernel part (the nftj_svc_eval kfunc of nf_tables) to evaluate the\n"
"rule's own expression.  Such a program loads only where that kernel\n"
"part runs; --no-load shows it anywhere.\n"
"\n"
"  -t, --table TABLE    only this table\n"
"  -c, --chain CHAIN    only this base chain\n"
"      --family F       only tables of family ip, ip6 or inet\n"
"      --target T       test (default; runs with BPF_PROG_TEST_RUN),\n"
"                       kernel (run by nf_tables_jit from nft_do_chain) or\n"
"                       link (BPF_PROG_TYPE_NETFILTER for `nft-jit attach\n"
"                       --link`: the whole chain or nothing)\n"
"      --no-load        compile only: no verifier, no kernel part needed\n"
"  -d, --disasm         print the BPF code annotated with its nft rules,\n"
"                       and the services (chain, rule handle, position\n"
"                       of the expression in the rule, expression)\n"
"      --dump-imr STAGES  print the intermediate representation after\n"
"                       each stage named: build, optimize, cut (where the\n"
"                       program stops), prune (the services it keeps);\n"
"                       all for every one\n"
"      --no-opt PASSES  switch optimizer passes off: dead (rules that can\n"
"                       never match), shadow (rules an earlier rule\n"
"                       decides for whole), fuse (a rule's tests of one\n"
"                       field as one test), tree (runs of plain accept or\n"
"                       drop rules as decision trees), lookup (runs of\n"
"                       rules testing the same fields for equality, or\n"
"                       one field for a prefix, as one hash map or LPM\n"
"                       trie lookup); all for every pass\n"
"      --predicates     print what packets each compiled rule can match:\n"
"                       per header field or meta key, intervals of its\n"
"                       value (the optimizer's canonical predicates)\n"
"  -j, --json           JSON output\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 ok, 1 failure (a program the verifier rejected, a kernel\n"
"target program with services where the kernel part is not loaded, or no\n"
"such table or chain), 2 usage.\n"
"\n"
"Testing only: NFTJ_FAULT_FOREST_INSNS=N makes the verifier refuse as too\n"
"complex every program with a decision-tree forest of more than N\n"
"instructions; such a program is planned again with smaller forests.\n";

static json_t *services_json(const struct nftj_prog *jp)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < jp->nsvc; i++)
		json_array_append_new(a, json_pack(
			"{s:I, s:s, s:I, s:I, s:s, s:s}",
			"index", (json_int_t)i, "chain", jp->svc[i].chain,
			"handle", (json_int_t)jp->svc[i].handle,
			"position", (json_int_t)jp->svc[i].index,
			"kind", imr_svc_kind_name(jp->svc[i].kind),
			"expr", jp->svc[i].expr));
	return a;
}

/* the IMR after a stage, as lines of r["imr"][stage] */
static void imr_dump(enum nftj_stage st, const struct imr_prog *p, void *ctx)
{
	json_t *imr = ctx, *lines = json_array();
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (f) {
		imr_prog_print(p, f);
		fclose(f);
	}
	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		json_array_append_new(lines, json_string(line));
	free(buf);
	json_object_set_new(imr, nftj_stage_name(st), lines);
}

/* --dump-imr build,cut: a mask of stages; -EINVAL */
static int stages_parse(char *s, unsigned int *mask)
{
	enum nftj_stage st;
	char *tok, *save = NULL;

	*mask = 0;
	for (tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all"))
			*mask |= (1u << (NFTJ_STAGE_IMR_LAST + 1)) - 1;
		else if (!nftj_stage_parse(tok, &st) &&
			 st <= NFTJ_STAGE_IMR_LAST)
			*mask |= 1u << st;
		else
			return -EINVAL;
	}
	return *mask ? 0 : -EINVAL;
}

static const char *status_of(const struct nftj_prog *jp, int err)
{
	if (err)
		return "interpreter";
	if (nftj_prog_compiled(jp) == nftj_prog_rules(jp))
		return "jit";
	return nftj_prog_compiled(jp) ? "partial" : "interpreter";
}

static json_t *chain_report(struct compile_opts *o,
			    const struct nftnl_chain *nc,
			    const struct nftj_ruleset *rs)
{
	uint32_t family = nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY);
	const char *table = nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE);
	const char *chain = nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME);
	uint32_t policy = nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY) ?
			  nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY) :
			  NF_ACCEPT;
	const struct imr_chain *ch;
	struct ruletext *rt = NULL;
	json_t *r, *first = json_null(), *imr = json_object();
	NFTJ_BUILD_OPTS(bo, .target = o->target,
			.flags = o->no_load ? NFTJ_F_NO_LOAD : 0,
			.no_opt = o->no_opt,
			.imr_stages = o->dump_imr, .imr_cb = imr_dump,
			.imr_ctx = imr,
			.fault_forest_insns = o->fault_forest_insns);
	struct nftj_prog jp;
	int err;

	err = nftj_prog_build(&jp, rs, family, table, chain, &bo);
	r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I}",
		      "family", cli_family_name(family), "table", table,
		      "chain", chain,
		      "hook", cli_hook_name(nftnl_chain_get_u32(nc,
						NFTNL_CHAIN_HOOKNUM)),
		      "priority", (int)nftnl_chain_get_u32(nc,
						NFTNL_CHAIN_PRIO),
		      "policy", policy == NF_DROP ? "drop" : "accept",
		      "target", nftj_target_name(o->target),
		      "generation", (json_int_t)rs->genid);
	json_object_set_new(r, "status", json_string(status_of(&jp, err)));
	json_object_set_new(r, "rules", json_integer(nftj_prog_rules(&jp)));
	json_object_set_new(r, "compiled",
			    json_integer(nftj_prog_compiled(&jp)));
	if (err && err != -EOPNOTSUPP && !jp.imr.nchains)
		json_object_set_new(r, "reason", json_string(jp.why));
	else if (err == -EOPNOTSUPP)
		json_object_set_new(r, "reason", json_string(jp.why));
	if (jp.imr.nchains && jp.imr.rule_by_id) {
		ch = &jp.imr.chains[0];
		if (ch->first_unsupported >= 0) {
			const struct imr_rule *u =
				&ch->rules[ch->first_unsupported];

			first = json_pack("{s:I, s:i, s:s}", "handle",
					  (json_int_t)u->handle, "index",
					  (int)u->pos, "reason", u->reason);
		}
		json_object_set_new(r, "fallback", report_fallback(&jp));
		json_object_set_new(r, "insns", json_integer(jp.insns));
		json_object_set_new(r, "programs", json_integer(jp.nseg));
		json_object_set_new(r, "optimizer", report_opt(&jp));
		if (o->predicates)
			json_object_set_new(r, "predicates",
					    report_predicates(&jp));
		if (o->target == NFTJ_TARGET_KERNEL)
			json_object_set_new(r, "services", services_json(&jp));
	}
	json_object_set_new(r, "first_interpreted", first);
	if (jp.prog_fd >= 0) {
		json_object_set_new(r, "program", json_pack(
			"{s:s, s:i, s:i, s:I}", "name", jp.name, "id",
			jp.prog_id, "jited_bytes", jp.jited_len,
			"verified_insns", (json_int_t)jp.verified_insns));
		json_object_set_new(r, "verifier", json_string("ok"));
	} else if (jp.log) {
		json_object_set_new(r, "verifier", json_string("rejected"));
		json_object_set_new(r, "verifier_log", json_string(jp.log));
		o->failed++;
	} else if (err == -ENOPKG) {
		/* services, but no kernel part to serve them */
		json_object_set_new(r, "verifier", json_string("not run"));
		json_object_set_new(r, "load_error", json_string(jp.why));
		snprintf(o->kernel_missing, sizeof(o->kernel_missing), "%s",
			 jp.why);
		o->failed++;
	} else if (!err && o->no_load) {
		json_object_set_new(r, "verifier", json_string("not run"));
	} else if (err && err != -EOPNOTSUPP) {
		json_object_set_new(r, "reason", json_string(jp.why));
		o->failed++;
	}
	if (o->dump_imr)
		json_object_set_new(r, "imr", imr);
	else
		json_decref(imr);
	json_object_set_new(r, "compile_ms", json_real(jp.compile_ms));
	json_object_set_new(r, "load_ms", json_real(jp.load_ms));
	if (o->disasm && jp.insns) {
		rt = ruletext_load(family, table);
		json_object_set_new(r, "disassembly", nftj_annotate_json(&jp, rt));
		ruletext_free(rt);
	}
	nftj_prog_free(&jp);
	return r;
}

/* "  chain c rule handle 4: th[2:2] in 0x0016, meta mark in 0x01-0x0f" */
static void print_predicates(json_t *pred)
{
	json_t *ch, *rule, *term, *iv;
	size_t i, j, k, m;

	json_array_foreach(pred, i, ch) {
		json_array_foreach(json_object_get(ch, "rules"), j, rule) {
			printf("  chain %s rule handle %lld%s:",
			       json_string_value(json_object_get(ch, "chain")),
			       json_integer_value(json_object_get(rule,
								  "handle")),
			       json_is_true(json_object_get(rule, "exact")) ?
			       "" : " (at most)");
			if (json_is_true(json_object_get(rule, "empty"))) {
				printf(" nothing\n");
				continue;
			} else if (!json_array_size(json_object_get(rule,
								  "terms")))
				printf(" every packet");
			json_array_foreach(json_object_get(rule, "terms"), k,
					   term) {
				json_t *f = json_object_get(term, "field");

				if (json_object_get(f, "meta"))
					printf("%s meta %s", k ? "," : "",
					       json_string_value(json_object_get(
							f, "meta")));
				else
					printf("%s %s[%lld:%lld]", k ? "," : "",
					       json_string_value(json_object_get(
							f, "base")),
					       json_integer_value(json_object_get(
							f, "offset")),
					       json_integer_value(json_object_get(
							f, "len")));
				printf(" in");
				json_array_foreach(json_object_get(term,
							"intervals"), m, iv)
					printf("%s %s-%s", m ? "," : "",
					       json_string_value(json_array_get(iv, 0)),
					       json_string_value(json_array_get(iv, 1)));
				if (!json_array_size(json_object_get(term,
							"intervals")))
					printf(" nothing");
			}
			putchar('\n');
		}
	}
}

static void print_text(json_t *r)
{
	json_t *first = json_object_get(r, "first_interpreted");
	json_t *prog = json_object_get(r, "program"), *v;
	const char *reason = json_string_value(json_object_get(r, "reason"));
	const char *stage;
	json_t *lines;
	size_t i;

	printf("%s %s %s: hook %s priority %lld policy %s, target %s\n",
	       json_string_value(json_object_get(r, "family")),
	       json_string_value(json_object_get(r, "table")),
	       json_string_value(json_object_get(r, "chain")),
	       json_string_value(json_object_get(r, "hook")),
	       json_integer_value(json_object_get(r, "priority")),
	       json_string_value(json_object_get(r, "policy")),
	       json_string_value(json_object_get(r, "target")));
	printf("  %s: %lld of %lld rules compiled\n",
	       json_string_value(json_object_get(r, "status")),
	       json_integer_value(json_object_get(r, "compiled")),
	       json_integer_value(json_object_get(r, "rules")));
	if (reason)
		printf("  not compiled: %s\n", reason);
	if (json_is_object(first))
		printf("  interpreter from rule handle %lld (#%lld): %s\n",
		       json_integer_value(json_object_get(first, "handle")),
		       json_integer_value(json_object_get(first, "index")),
		       json_string_value(json_object_get(first, "reason")));
	if (json_is_object(prog))
		printf("  program %s id %lld: %lld insns, %lld bytes jited, verifier ok (%lld insns processed, %.1f s)\n",
		       json_string_value(json_object_get(prog, "name")),
		       json_integer_value(json_object_get(prog, "id")),
		       json_integer_value(json_object_get(r, "insns")),
		       json_integer_value(json_object_get(prog,
							  "jited_bytes")),
		       json_integer_value(json_object_get(prog,
							  "verified_insns")),
		       json_number_value(json_object_get(r, "load_ms")) /
		       1000);
	if (json_array_size(json_object_get(r, "services")))
		printf("  services: %zu (kfunc %s)\n",
		       json_array_size(json_object_get(r, "services")),
		       NFTJ_SVC_KFUNC);
	if (json_object_get(r, "load_error"))
		printf("  not loaded: %s\n", json_string_value(
			json_object_get(r, "load_error")));
	else if (!json_is_object(prog) &&
		 json_integer_value(json_object_get(r, "insns")) &&
		 !strcmp(json_string_value(json_object_get(r, "verifier")) ?
			 json_string_value(json_object_get(r, "verifier")) : "",
			 "not run"))
		printf("  not loaded (--no-load): %lld insns, %lld program%s\n",
		       json_integer_value(json_object_get(r, "insns")),
		       json_integer_value(json_object_get(r, "programs")),
		       json_integer_value(json_object_get(r, "programs")) == 1 ?
		       "" : "s");
	if (json_object_get(r, "verifier_log"))
		printf("  verifier rejected the program (%lld insns):\n%s\n",
		       json_integer_value(json_object_get(r, "insns")),
		       json_string_value(json_object_get(r,
							 "verifier_log")));
	report_opt_print(stdout, json_object_get(r, "optimizer"), "  ");
	print_predicates(json_object_get(r, "predicates"));
	json_object_foreach(json_object_get(r, "imr"), stage, lines) {
		printf("; imr after %s\n", stage);
		json_array_foreach(lines, i, v)
			printf("%s\n", json_string_value(v));
	}
	json_array_foreach(json_object_get(r, "disassembly"), i, v)
		printf("%s\n", json_string_value(v));
}

static int run(struct compile_opts *o)
{
	struct nftnl_chain_list_iter *it;
	struct nftj_ruleset rs = {};
	struct nftnl_chain *nc;
	json_t *all = json_array();

	if (cli_ruleset_load(&rs))
		return 1;
	it = nftnl_chain_list_iter_create(rs.chains);
	while (it && (nc = nftnl_chain_list_iter_next(it))) {
		uint32_t family = nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY);
		json_t *r;

		if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM))
			continue;
		if ((o->family && family != o->family) ||
		    (o->table && strcmp(o->table,
				nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE))) ||
		    (o->chain && strcmp(o->chain,
				nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME))))
			continue;
		o->matched++;
		r = chain_report(o, nc, &rs);
		if (!o->json)
			print_text(r);
		json_array_append_new(all, r);
	}
	if (it)
		nftnl_chain_list_iter_destroy(it);
	if (o->json) {
		json_t *out = json_pack("{s:o}", "compile", all);

		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
	} else {
		json_decref(all);
	}
	nftj_ruleset_free(&rs);
	if (o->kernel_missing[0])
		cli_errmsg("%s (compile --no-load shows the code)",
			   o->kernel_missing);
	if (!o->matched && (o->table || o->chain)) {
		cli_errmsg("no base chain matches%s%s%s%s", o->table ? " table " : "",
			   o->table ? o->table : "", o->chain ? " chain " : "",
			   o->chain ? o->chain : "");
		return 1;
	}
	return o->failed ? 1 : 0;
}

int cmd_compile(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "table", required_argument, NULL, 't' },
		{ "chain", required_argument, NULL, 'c' },
		{ "family", required_argument, NULL, 'f' },
		{ "target", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "disasm", no_argument, NULL, 'd' },
		{ "no-load", no_argument, NULL, 'L' },
		{ "dump-imr", required_argument, NULL, 'I' },
		{ "no-opt", required_argument, NULL, 'O' },
		{ "predicates", no_argument, NULL, 'P' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *fault = getenv("NFTJ_FAULT_FOREST_INSNS");
	struct compile_opts o = { .target = NFTJ_TARGET_TEST,
		.fault_forest_insns = fault ? strtoul(fault, NULL, 10) : 0 };
	int c;

	while ((c = getopt_long(argc, argv, "t:c:jdn:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o.table = optarg; break;
		case 'c': o.chain = optarg; break;
		case 'j': o.json = true; break;
		case 'd': o.disasm = true; break;
		case 'L': o.no_load = true; break;
		case 'I':
			if (stages_parse(optarg, &o.dump_imr)) {
				cli_errmsg("compile: --dump-imr: stages are build, optimize, cut, prune or all");
				return EXIT_USAGE;
			}
			break;
		case 'O': {
			char why[128];

			if (opt_parse_passes(optarg, &o.no_opt, why,
					     sizeof(why))) {
				cli_errmsg("compile: --no-opt: %s", why);
				return EXIT_USAGE;
			}
			break;
		}
		case 'P': o.predicates = true; break;
		case 'n': netns = optarg; break;
		case 'f':
			if (cli_family_parse(optarg, &o.family)) {
				cli_errmsg("compile: unknown family %s", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			if (nftj_target_parse(optarg, &o.target)) {
				cli_errmsg("compile: unknown target %s", optarg);
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
	if (optind < argc) {
		cli_errmsg("compile: unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}
	if (netns && cli_netns_enter(netns))
		return 1;
	return run(&o);
}
