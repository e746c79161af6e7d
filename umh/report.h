/* SPDX-License-Identifier: GPL-2.0 */
/* JSON pieces shared by the subcommands' reports. */
#ifndef NFTJ_REPORT_H
#define NFTJ_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "jit.h"

/* {"chain": NAME, "handle": H} of rule id */
json_t *report_rule_ref(const struct nftj_prog *jp, uint32_t id);
/* every rule left to the interpreter: [{"chain","handle","reason"}] */
json_t *report_fallback(const struct nftj_prog *jp);

/*
 * What each optimizer pass did and the lint of the rules it removed:
 * {"passes": [{"name","ran","rules_removed","ms"[,"tests_before",
 * "tests_after"]}], "analyze_ms", "lint": [{"pass","chain","handle"[,"by"],
 * "text"}]}
 */
json_t *report_opt(const struct nftj_prog *jp);
/* the same as text lines, each starting with indent */
void report_opt_print(FILE *f, json_t *opt, const char *indent);
/*
 * The canonical predicates of the rules the program runs (pred.h):
 * [{"chain", "rules": [{"handle","exact","empty","terms": [{"field":
 * {"src","base","offset","len","fast" | "meta","bswap","width"},
 * "intervals": [["0x..","0x.."]]}]}]}]
 */
json_t *report_predicates(const struct nftj_prog *jp);

#endif /* NFTJ_REPORT_H */
