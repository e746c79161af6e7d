// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel target: BPF_PROG_TYPE_SCHED_CLS programs the kernel part
 * runs from nft_do_chain(), the skb at its network header, pktinfo and
 * the hook metadata in cb[].  Counters, set lookups, ct and the meta keys
 * a program cannot read are services of the kernel (emit.c); whatever the
 * program does not do itself, including the policy, it leaves to the
 * interpreter by returning NFTJ_RET_RESUME(rule).
 */
#include <errno.h>
#include <stddef.h>

#include <linux/bpf.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "build.h"
#include "cg.h"

static int kernel_init(struct cg *c)
{
	return 0;
}

/* the runner's pktinfo (nft_pktinfo of nft_do_chain()) */
static void kernel_pktinfo(struct cg *c)
{
	int done = L(c);

	E(c, I_LDX(BPF_W, R1, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
	E(c, I_ALU64_IMM(BPF_AND, R1, NFTJ_F_PKTINFO << 16));
	J(c, BPF_JEQ, R1, 0, c->resume0);
	E(c, I_LDX(BPF_W, R_PKT, R_CTX, SKB_CB(NFTJ_CB_PKTINFO)));
	E(c, I_MOV64_REG(R1, R_PKT));
	E(c, I_ALU64_IMM(BPF_AND, R1, 0xffff));
	J(c, BPF_JGT, R1, THOFF_MAX, c->resume0);
	JA(c, done);	/* as every target's pktinfo ends (goto +0) */
	BIND(c, done);
}

static void kernel_main_prologue(struct cg *c)
{
	const struct imr_chain *ch = &c->p->chains[0];

	E(c, I_MOV64_REG(R_CTX, R1));
	cg_skb_pkt_ptrs(c);
	if (cg_chain_has_svc(ch, c->plan->first[c->seg],
			     c->plan->first[c->seg + 1]))
		cg_zero_regs(c);
	kernel_pktinfo(c);
}

static void kernel_subprog_prologue(struct cg *c, const struct imr_chain *ch)
{
	cg_skb_pkt_ptrs(c);
	if (cg_chain_has_svc(ch, 0, ch->nrules))
		cg_zero_regs(c);
}

/* R3 is not used; R7 and R8 again, as test.c's test_call_args() */
static void kernel_call_args(struct cg *c)
{
	cg_skb_pkt_ptrs(c);
	E(c, I_MOV64_IMM(R3, 0));
}

/* counters are services (IMR_CAP_SERVICES): never a COUNTER statement */
static void kernel_counter(struct cg *c, uint32_t id)
{
	c->b->err = -EINVAL;
}

/* the kernel knows the deciding rule from the verdict's place */
static void kernel_decided(struct cg *c, uint32_t id)
{
}

/*
 * The base chain's end: the interpreter applies the policy (and counts
 * it in the chain's counters): resume "before" the rule after the last.
 */
static void kernel_policy(struct cg *c)
{
	cg_resume(c, c->p->chains[0].nrules);
}

static const struct cg_target_ops kernel_ops = CG_TARGET_OPS(
	kernel_init, kernel_main_prologue, kernel_subprog_prologue,
	kernel_call_args, cg_skb_payload, cg_skb_meta, kernel_counter,
	kernel_decided, kernel_policy, cg_resume);

const struct cg_target cg_target_kernel = {
	.name = "kernel",
	/* the kernel evaluates sets, counters, ct and sockets: services */
	.caps = IMR_CAP_SERVICES,
	.prog_type = BPF_PROG_TYPE_SCHED_CLS,
	.nh_off = 0,
	.flags = 0,		/* no BPF maps at all */
	.ops = &kernel_ops,
};
