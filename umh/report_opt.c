// SPDX-License-Identifier: GPL-2.0
/*
 * What the optimizer did, and the canonical predicates it worked from, as
 * JSON for `nft-jit compile -j` and `nft-jit status -v -j`, and as text.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "jit.h"
#include "opt.h"
#include "pred.h"
#include "report.h"

/*
 * What the tree pass's runs became in the code generator (cg_plan()):
 * forests (of the base chain and of regular chains), their trees, the
 * deepest leaf, the leaves and the most candidate rules a leaf holds.
 */
static void tree_stats(const struct cg_plan *plan, json_t *o)
{
	json_object_set_new(o, "forests",
			    json_integer(plan->nforests + plan->ncforests));
	json_object_set_new(o, "tree_rules", json_integer(plan->tree_rules));
	json_object_set_new(o, "trees", json_integer(plan->trees));
	json_object_set_new(o, "depth", json_integer(plan->tree_depth));
	json_object_set_new(o, "leaves", json_integer(plan->tree_leaves));
	json_object_set_new(o, "max_leaf", json_integer(plan->tree_max_leaf));
	json_object_set_new(o, "leaf_rules", json_integer(plan->tree_cand));
}

/* what the lookup pass's runs became: maps, their rules and elements */
static void lookup_stats(const struct cg_plan *plan, json_t *o)
{
	json_object_set_new(o, "maps", json_integer(plan->nlookups));
	json_object_set_new(o, "map_rules", json_integer(plan->lookup_rules));
	json_object_set_new(o, "elements", json_integer(plan->lookup_elems));
	json_object_set_new(o, "lpm_maps", json_integer(plan->lookup_lpm));
}

json_t *report_opt(const struct nftj_prog *jp)
{
	const struct opt_report *rep = &jp->opt;
	json_t *passes = json_array(), *lint = json_array();
	unsigned int id;
	size_t i;

	for (id = 0; id < OPT_NPASSES; id++) {
		const struct opt_pass_stats *st = &rep->pass[id];
		json_t *o = json_pack("{s:s, s:b, s:I, s:f}",
				      "name", opt_pass_name(id),
				      "ran", !!(rep->ran & (1u << id)),
				      "rules_removed",
				      (json_int_t)st->rules_removed,
				      "ms", st->ms);

		if (id == OPT_FUSE) {
			json_object_set_new(o, "tests_before",
					    json_integer(st->tests_before));
			json_object_set_new(o, "tests_after",
					    json_integer(st->tests_after));
		}
		if (id == OPT_TREE) {
			json_object_set_new(o, "runs", json_integer(st->runs));
			json_object_set_new(o, "run_rules",
					    json_integer(st->run_rules));
			tree_stats(&jp->plan, o);
		}
		if (id == OPT_LOOKUP) {
			json_object_set_new(o, "runs", json_integer(st->runs));
			json_object_set_new(o, "run_rules",
					    json_integer(st->run_rules));
			lookup_stats(&jp->plan, o);
		}
		json_array_append_new(passes, o);
	}
	for (i = 0; i < rep->nnotes; i++) {
		const struct opt_note *n = &rep->notes[i];
		char text[512];
		json_t *o;

		opt_note_print(&jp->imr, n, text, sizeof(text));
		o = json_pack("{s:s, s:s, s:I, s:s}",
			      "pass", opt_pass_name(n->pass),
			      "chain", n->chain < jp->imr.nchains ?
				       jp->imr.chains[n->chain].name : "?",
			      "handle", (json_int_t)n->handle, "text", text);
		if (n->pass == OPT_SHADOW)
			json_object_set_new(o, "by", json_integer(n->by));
		json_array_append_new(lint, o);
	}
	return json_pack("{s:o, s:f, s:o}", "passes", passes,
			 "analyze_ms", rep->analyze_ms, "lint", lint);
}

static json_int_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* "1 run of 999 rules: 3 trees (999 rules), depth 12, 310 leaves of <= 4" */
static void print_tree(FILE *f, json_t *p)
{
	json_int_t runs = jint(p, "runs"), trees = jint(p, "trees");

	fprintf(f, " %lld run%s of %lld rules", runs, runs == 1 ? "" : "s",
		jint(p, "run_rules"));
	if (!trees)
		return;
	fprintf(f, ": %lld tree%s (%lld rules), depth %lld, %lld leaves of <= %lld",
		trees, trees == 1 ? "" : "s", jint(p, "tree_rules"),
		jint(p, "depth"), jint(p, "leaves"), jint(p, "max_leaf"));
}

/* "1 run of 999 rules: 1 map (999 rules, 998 elements)" */
static void print_lookup(FILE *f, json_t *p)
{
	json_int_t runs = jint(p, "runs"), maps = jint(p, "maps");

	fprintf(f, " %lld run%s of %lld rules", runs, runs == 1 ? "" : "s",
		jint(p, "run_rules"));
	if (!maps)
		return;
	fprintf(f, ": %lld map%s (%lld rules, %lld elements", maps,
		maps == 1 ? "" : "s", jint(p, "map_rules"),
		jint(p, "elements"));
	if (jint(p, "lpm_maps"))
		fprintf(f, ", %lld LPM", jint(p, "lpm_maps"));
	fputc(')', f);
}

/* "  optimizer: dead -1 rule, shadow -3 rules, fuse 12 tests -> 7" */
void report_opt_print(FILE *f, json_t *opt, const char *indent)
{
	json_t *p, *n;
	size_t i;
	int any = 0;

	if (!json_is_object(opt))
		return;
	fprintf(f, "%soptimizer:", indent);
	json_array_foreach(json_object_get(opt, "passes"), i, p) {
		const char *name = json_string_value(json_object_get(p,
								     "name"));
		json_int_t rm = json_integer_value(json_object_get(
						p, "rules_removed"));

		fprintf(f, "%s %s", any++ ? "," : "", name);
		if (!json_is_true(json_object_get(p, "ran")))
			fprintf(f, " off");
		else if (json_object_get(p, "tests_before"))
			fprintf(f, " %lld tests -> %lld",
				json_integer_value(json_object_get(
					p, "tests_before")),
				json_integer_value(json_object_get(
					p, "tests_after")));
		else if (json_object_get(p, "maps"))
			print_lookup(f, p);
		else if (json_object_get(p, "runs"))
			print_tree(f, p);
		else
			fprintf(f, " %lld rule%s removed", rm,
				rm == 1 ? "" : "s");
	}
	fputc('\n', f);
	json_array_foreach(json_object_get(opt, "lint"), i, n)
		fprintf(f, "%s  %s\n", indent,
			json_string_value(json_object_get(n, "text")));
}

static json_t *field_json(const struct pred_field *f)
{
	json_t *o = json_pack("{s:s, s:i, s:i}",
			      "src", f->src == PRED_SRC_META ? "meta" :
				     "payload",
			      "bswap", f->bswap, "width", f->width);

	if (f->src == PRED_SRC_META) {
		json_object_set_new(o, "meta",
				    json_string(imr_meta_name(f->meta)));
	} else {
		json_object_set_new(o, "base",
				    json_string(imr_base_name(f->base)));
		json_object_set_new(o, "offset", json_integer(f->offset));
		json_object_set_new(o, "len", json_integer(f->len));
		json_object_set_new(o, "fast", json_boolean(f->fast));
	}
	return o;
}

static json_t *rule_json(const struct pred_chain *pc,
			 const struct imr_rule *ir, const struct pred_rule *r)
{
	json_t *terms = json_array();
	uint32_t i, j;

	for (i = 0; i < r->nterms; i++) {
		const struct pred_term *t = &r->terms[i];
		const struct pred_field *f = &pc->fields[t->field];
		json_t *ivs = json_array();

		for (j = 0; j < t->nivs; j++) {
			char lo[40], hi[40];

			pred_val_print(t->ivs[j].lo, f->width, lo, sizeof(lo));
			pred_val_print(t->ivs[j].hi, f->width, hi, sizeof(hi));
			json_array_append_new(ivs, json_pack("[s, s]", lo,
							     hi));
		}
		json_array_append_new(terms, json_pack("{s:o, s:o}",
						       "field", field_json(f),
						       "intervals", ivs));
	}
	return json_pack("{s:I, s:b, s:b, s:o}", "handle",
			 (json_int_t)ir->handle, "exact", r->exact, "empty",
			 r->empty, "terms", terms);
}

json_t *report_predicates(const struct nftj_prog *jp)
{
	json_t *chains = json_array();
	size_t c, i;

	for (c = 0; c < jp->imr.nchains; c++) {
		const struct imr_chain *ch = &jp->imr.chains[c];
		struct pred_chain pc;
		json_t *rules = json_array();
		size_t end = ch->first_unsupported < 0 ? ch->nrules :
			     (size_t)ch->first_unsupported;

		if (pred_chain_analyze(&jp->imr, c, &pc)) {
			json_decref(rules);
			json_decref(chains);
			return json_null();
		}
		/* the rules the program runs: the optimizer's world */
		for (i = 0; i < end && i < pc.nrules; i++)
			json_array_append_new(rules, rule_json(&pc,
							&ch->rules[i],
							&pc.rules[i]));
		pred_chain_free(&pc);
		json_array_append_new(chains, json_pack("{s:s, s:o}", "chain",
							ch->name, "rules",
							rules));
	}
	return chains;
}
