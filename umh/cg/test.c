// SPDX-License-Identifier: GPL-2.0
/*
 * The test target: BPF_PROG_TYPE_SCHED_CLS programs run with
 * BPF_PROG_TEST_RUN by `nft-jit eval` and the differential tests.  The
 * packet starts with an Ethernet header; the hook metadata is in cb[];
 * sets are BPF maps, counters and the deciding rule go to the statistics
 * map, the socket's uid and gid come from the metadata map.
 */
#include <stddef.h>

#include <linux/bpf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "build.h"
#include "cg.h"

static int test_init(struct cg *c)
{
	return 0;
}

/* the statistics map's value at fp-8, then pktinfo */
static void test_main_prologue(struct cg *c)
{
	E(c, I_MOV64_REG(R_CTX, R1));
	cg_skb_pkt_ptrs(c);
	E(c, I_ST(BPF_W, R_FP, FP_KEY, 0));
	bbuf_emit_ld_map_fd(c->b, R1, c->maps->stats_fd);
	E(c, I_MOV64_REG(R2, R_FP));
	E(c, I_ALU64_IMM(BPF_ADD, R2, FP_KEY));
	E(c, I_CALL(BPF_FUNC_map_lookup_elem));
	J(c, BPF_JEQ, R0, 0, c->resume0);
	E(c, I_STX(BPF_DW, R_FP, R0, FP_STATS));
	cg_skb_pktinfo(c);
}

/* R3: the statistics map's value */
static void test_subprog_prologue(struct cg *c, const struct imr_chain *ch)
{
	E(c, I_STX(BPF_DW, R_FP, R3, FP_STATS));
	cg_skb_pkt_ptrs(c);
}

/*
 * R7 and R8 again before the call: the caller's frame then holds a
 * network header pointer with no range the verifier knows (the paths
 * to a call differ in how far earlier reads proved the packet to
 * reach), and the chain is verified once, not once per such range.
 * Every read after the call checks data_end itself.
 */
static void test_call_args(struct cg *c)
{
	cg_skb_pkt_ptrs(c);
	E(c, I_LDX(BPF_DW, R3, R_FP, FP_STATS));
}

static void test_counter(struct cg *c, uint32_t id)
{
	E(c, I_LDX(BPF_DW, R1, R_FP, FP_STATS));
	E(c, I_ALU64_IMM(BPF_ADD, R1, (int32_t)(sizeof(struct nftj_test_stats) +
				    id * sizeof(struct nftj_counter))));
	E(c, I_MOV64_IMM(R2, 1));
	E(c, I_ATOMIC_ADD(BPF_DW, R1, R2, 0));
	E(c, I_LDX(BPF_W, R2, R_CTX, SKB(len)));
	if (c->nh_off)
		E(c, I_ALU64_IMM(BPF_SUB, R2, c->nh_off));
	E(c, I_ATOMIC_ADD(BPF_DW, R1, R2, 8));
}

/* the deciding rule, for `eval` */
static void test_decided(struct cg *c, uint32_t id)
{
	E(c, I_LDX(BPF_DW, R1, R_FP, FP_STATS));
	E(c, I_ST(BPF_W, R1, 0, (int32_t)id));
}

static const struct cg_target_ops test_ops = CG_TARGET_OPS(
	test_init, test_main_prologue, test_subprog_prologue, test_call_args,
	cg_skb_payload, cg_skb_meta, test_counter, test_decided,
	cg_policy_verdict, cg_resume);

const struct cg_target cg_target_test = {
	.name = "test",
	/* sets as BPF maps, counters in a BPF map, sockets through the
	 * metadata map, link-layer payload */
	.caps = IMR_CAP_ALL,
	.prog_type = BPF_PROG_TYPE_SCHED_CLS,
	.nh_off = 14,		/* the Ethernet header comes first */
	.flags = CG_T_STATS_MAP | CG_T_META_MAP | CG_T_SET_MAPS |
		 CG_T_DECIDER,
	.ops = &test_ops,
};
