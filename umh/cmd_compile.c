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

#include "cli.h"
#include "disasm.h"
#include "jit.h"
#include "report.h"
#include "ruletext.h"

struct compile_opts {
	const char *table, *chain;
	uint32_t family;
	enum nftj_target target;
	bool json, disasm;
	int failed;		/* chains whose program was rejected */
	int matched;
};

static const char usage[] =
"Usage: nft-jit compile [-n NETNS] [-t TABLE] [-c CHAIN] [--family F]\n"
"                       [--target kernel|test] [-j] [-d]\n"
"\n"
"Read the nf_tables ruleset, compile every selected base chain (and the\n"
"chains it jumps to) into eBPF and load it through the kernel verifier,\n"
"without attaching it.  Report per chain: rules, rules compiled, the\n"
"first rule left to the interpreter and why, instruction count and the\n"
"verifier's result (its log when it rejects the program).\n"
"\n"
"  -t, --table TABLE    only this table\n"
"  -c, --chain CHAIN    only this base chain\n"
"      --family F       only tables of family ip, ip6 or inet\n"
"      --target T       test (default; runs with BPF_PROG_TEST_RUN) or\n"
"                       kernel (run by nf_tables_jit from nft_do_chain)\n"
"  -d, --disasm         print the BPF code annotated with its nft rules\n"
"  -j, --json           JSON output\n"
"  -n, --netns NETNS    work in network namespace NETNS\n"
"\n"
"Exit status: 0 ok, 1 failure (a program the verifier rejected, or no\n"
"such table or chain), 2 usage.\n";

static const char *status_of(const struct nftj_prog *jp, int err)
{
	if (err)
		return "interpreter";
	if (nftj_prog_compiled(jp) == nftj_prog_rules(jp))
		return "jit";
	return nftj_prog_compiled(jp) ? "partial" : "interpreter";
}

static json_t *disasm_json(const struct nftj_prog *jp,
			   const struct ruletext *rt)
{
	const struct imr_prog *p = &jp->imr;
	json_t *a = json_array();
	char line[768], ins[512];
	size_t s, i;

	for (s = 0; s < jp->nseg; s++) {
		const struct bpf_buf *b = &jp->seg[s].buf;
		uint32_t last = UINT32_MAX;

		if (jp->nseg > 1) {
			snprintf(line, sizeof(line),
				 "; segment %zu (tail call %zu), rules from #%zu",
				 s, s, jp->plan.first[s]);
			json_array_append_new(a, json_string(line));
		}
		for (i = 0; i < b->len; ) {
			uint32_t src = b->src[i];

			if (src != last && src) {
				const struct imr_rule *r = p->rule_by_id[src - 1];
				const char *ch =
					p->chains[p->chain_of_id[src - 1]].name;

				snprintf(line, sizeof(line),
					 "; %s handle %llu: %s", ch,
					 (unsigned long long)r->handle,
					 ruletext_get(rt, ch, r->handle));
				json_array_append_new(a, json_string(line));
				imr_rule_print(p, r, ins, sizeof(ins));
				snprintf(line, sizeof(line), ";   imr: %s", ins);
				json_array_append_new(a, json_string(line));
			}
			last = src;
			snprintf(line, sizeof(line), "%5zu: ", i);
			i += bpf_insn_str(&b->insn[i], i, b->len,
					  line + strlen(line),
					  sizeof(line) - strlen(line));
			json_array_append_new(a, json_string(line));
		}
	}
	return a;
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
	struct nftj_prog jp;
	json_t *r, *first = json_null();
	int err;

	err = nftj_prog_build(&jp, rs, family, table, chain, o->target);
	r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I}",
		      "family", family_name(family), "table", table,
		      "chain", chain,
		      "hook", hook_name(nftnl_chain_get_u32(nc,
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
					  ch->first_unsupported, "reason",
					  u->reason);
		}
		json_object_set_new(r, "fallback", report_fallback(&jp));
		json_object_set_new(r, "insns", json_integer(jp.insns));
		json_object_set_new(r, "programs", json_integer(jp.nseg));
	}
	json_object_set_new(r, "first_interpreted", first);
	if (jp.prog_fd >= 0) {
		json_object_set_new(r, "program", json_pack(
			"{s:s, s:i, s:i}", "name", jp.name, "id", jp.prog_id,
			"jited_bytes", jp.jited_len));
		json_object_set_new(r, "verifier", json_string("ok"));
	} else if (jp.log) {
		json_object_set_new(r, "verifier", json_string("rejected"));
		json_object_set_new(r, "verifier_log", json_string(jp.log));
		o->failed++;
	} else if (err && err != -EOPNOTSUPP) {
		json_object_set_new(r, "reason", json_string(jp.why));
		o->failed++;
	}
	json_object_set_new(r, "compile_ms", json_real(jp.compile_ms));
	json_object_set_new(r, "load_ms", json_real(jp.load_ms));
	if (o->disasm && jp.insns) {
		rt = ruletext_load(family, table);
		json_object_set_new(r, "disassembly", disasm_json(&jp, rt));
		ruletext_free(rt);
	}
	nftj_prog_free(&jp);
	return r;
}

static void print_text(json_t *r)
{
	json_t *first = json_object_get(r, "first_interpreted");
	json_t *prog = json_object_get(r, "program"), *v;
	const char *reason = json_string_value(json_object_get(r, "reason"));
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
		printf("  program %s id %lld: %lld insns, %lld bytes jited, verifier ok\n",
		       json_string_value(json_object_get(prog, "name")),
		       json_integer_value(json_object_get(prog, "id")),
		       json_integer_value(json_object_get(r, "insns")),
		       json_integer_value(json_object_get(prog,
							  "jited_bytes")));
	if (json_object_get(r, "verifier_log"))
		printf("  verifier rejected the program (%lld insns):\n%s\n",
		       json_integer_value(json_object_get(r, "insns")),
		       json_string_value(json_object_get(r,
							 "verifier_log")));
	json_array_foreach(json_object_get(r, "disassembly"), i, v)
		printf("%s\n", json_string_value(v));
}

static int run(struct compile_opts *o)
{
	struct nftnl_chain_list_iter *it;
	struct nftj_ruleset rs = {};
	struct nftnl_chain *nc;
	json_t *all = json_array();

	if (ruleset_load(&rs))
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
	if (!o->matched && (o->table || o->chain)) {
		errmsg("no base chain matches%s%s%s%s", o->table ? " table " : "",
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
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct compile_opts o = { .target = NFTJ_TARGET_TEST };
	int c;

	while ((c = getopt_long(argc, argv, "t:c:jdn:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o.table = optarg; break;
		case 'c': o.chain = optarg; break;
		case 'j': o.json = true; break;
		case 'd': o.disasm = true; break;
		case 'n': netns = optarg; break;
		case 'f':
			if (family_parse(optarg, &o.family)) {
				errmsg("compile: unknown family %s", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			if (nftj_target_parse(optarg, &o.target)) {
				errmsg("compile: unknown target %s", optarg);
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
		errmsg("compile: unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}
	if (netns && cli_netns_enter(netns))
		return 1;
	return run(&o);
}
