// SPDX-License-Identifier: GPL-2.0
/*
 * Annotated disassembly of a compiled chain (annotate.h): shared by
 * `nft-jit compile -d` and `nft-jit status -v`.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter/nf_tables_jit.h>

#include "annotate.h"
#include "disasm.h"
#include "jit.h"
#include "ruletext.h"

/* codegen sets r2 = service right before the call */
static void kfunc_note(const struct nftj_prog *jp, const struct bbuf *b,
		       size_t i, char *line, size_t size)
{
	const struct bpf_insn *prev;
	size_t n = strlen(line);

	if (!i || !nftj_insn_is_kfunc_call(&b->insn[i]))
		return;
	prev = &b->insn[i - 1];
	if (prev->code != (BPF_ALU64 | BPF_MOV | BPF_K) ||
	    prev->dst_reg != BPF_REG_2 || prev->imm < 0 ||
	    (size_t)prev->imm >= jp->nsvc)
		return;
	snprintf(line + n, size - n, "   ; %s(svc %d: %s)", NFTJ_SVC_KFUNC,
		 prev->imm, jp->svc[prev->imm].expr);
}

/* what the program's return values mean to the runner */
static void ret_note(const struct bpf_insn *in, char *line, size_t size)
{
	uint32_t v = (uint32_t)in->imm;
	size_t n = strlen(line);

	if (in->code != (BPF_ALU | BPF_MOV | BPF_K) || in->dst_reg != BPF_REG_0)
		return;
	if (NFTJ_RET_IS_RESUME(v))
		snprintf(line + n, size - n, "   ; resume at rule #%u",
			 NFTJ_RET_RESUME_RULE(v));
	else if (v == CG_RET_FALLBACK)
		snprintf(line + n, size - n, "   ; fallback: whole chain");
}

json_t *nftj_annotate_json(const struct nftj_prog *jp,
			   const struct ruletext *rt)
{
	const struct imr_prog *p = &jp->imr;
	json_t *a = json_array();
	char line[768], ins[512];
	size_t s, i;
	int n;

	for (i = 0; i < jp->nsvc; i++) {
		const struct nftj_service *v = &jp->svc[i];

		snprintf(line, sizeof(line), "; svc %zu: %s handle %llu #%u: %s",
			 i, v->chain, (unsigned long long)v->handle, v->index,
			 v->expr);
		json_array_append_new(a, json_string(line));
	}
	for (s = 0; s < jp->nseg; s++) {
		const struct bbuf *b = &jp->seg[s].buf;
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
			n = nftj_insn_str(&b->insn[i], i, b->len,
					  line + strlen(line),
					  sizeof(line) - strlen(line));
			kfunc_note(jp, b, i, line, sizeof(line));
			ret_note(&b->insn[i], line, sizeof(line));
			i += n;
			json_array_append_new(a, json_string(line));
		}
	}
	return a;
}
