// SPDX-License-Identifier: GPL-2.0
#include "report.h"

json_t *report_rule_ref(const struct nftj_prog *jp, uint32_t id)
{
	const struct imr_prog *p = &jp->imr;

	return json_pack("{s:s, s:I}", "chain",
			 p->chains[p->chain_of_id[id]].name,
			 "handle", (json_int_t)p->rule_by_id[id]->handle);
}

json_t *report_fallback(const struct nftj_prog *jp)
{
	const struct imr_prog *p = &jp->imr;
	json_t *a = json_array();
	uint32_t id;

	for (id = 0; id < p->nrule_ids; id++) {
		const struct imr_rule *r = p->rule_by_id[id];
		json_t *o;

		if (!r->unsupported)
			continue;
		o = report_rule_ref(jp, id);
		json_object_set_new(o, "reason", json_string(r->reason));
		json_array_append_new(a, o);
	}
	return a;
}
