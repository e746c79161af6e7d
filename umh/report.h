/* SPDX-License-Identifier: GPL-2.0 */
/* JSON pieces shared by the subcommands' reports. */
#ifndef NFTJ_REPORT_H
#define NFTJ_REPORT_H

#include <jansson.h>

#include "jit.h"

/* {"chain": NAME, "handle": H} of rule id */
json_t *report_rule_ref(const struct nftj_prog *jp, uint32_t id);
/* every rule left to the interpreter: [{"chain","handle","reason"}] */
json_t *report_fallback(const struct nftj_prog *jp);

#endif /* NFTJ_REPORT_H */
