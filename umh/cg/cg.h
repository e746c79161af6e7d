/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code generator internals shared by codegen.c (every target) and
 * codegen_link.c (what the link target, BPF_PROG_TYPE_NETFILTER, does
 * differently): register names, stack slots, the emitter state and the
 * short emit helpers.  See codegen.h for the register and stack roles.
 */
#ifndef NFTJ_CODEGEN_INT_H
#define NFTJ_CODEGEN_INT_H

#include <stddef.h>

#include <linux/bpf.h>

#include "codegen.h"

#define R0 BPF_REG_0
#define R1 BPF_REG_1
#define R2 BPF_REG_2
#define R3 BPF_REG_3
#define R4 BPF_REG_4
#define R5 BPF_REG_5
#define R_CTX BPF_REG_6
#define R_NH BPF_REG_7
#define R_END BPF_REG_8
#define R_PKT BPF_REG_9
#define R_FP BPF_REG_10

#define FP_STATS	(-8)
#define FP_KEY		(-80)	/* u32 prefix length */
#define FP_KEYDATA	(-76)
#define FP_SCRATCH	(-96)
#define FP_REGS		CG_FP_REGS	/* kernel target, see codegen.h */

#define SKB(f)		((int16_t)offsetof(struct __sk_buff, f))

/*
 * Largest transport offset the program handles itself: IPv4 gives at
 * most 60, the unrolled IPv6 walk 40 + 8 * 2048; the kernel runner's
 * value is checked in the prologue.  Masking with it bounds packet
 * offsets for the verifier without a branch.
 */
#define THOFF_MAX	0x7fff
#define SKB_CB(i)	((int16_t)(offsetof(struct __sk_buff, cb) + 4 * (i)))

/* the chains one chain calls directly (jump, goto, verdict map) */
struct cg_calls {
	int *v;
	size_t n;
};

struct cg {
	const struct imr_prog *p;	/* borrowed, like opts, maps, b */
	enum nftj_target target;
	const struct cg_opts *opts;
	const struct cg_maps *maps;	/* planning: no maps, fds -1 */
	struct bpf_buf *b;
	int nh_off;
	bool in_main;
	uint32_t rule_id;	/* the rule being emitted: the decider */
	size_t rule_idx;	/* main: its position in the base chain */
	bool side_effect;	/* a service with side effects completed in
				 * this rule (imr_svc.side_effect) */
	int *chain_label;	/* per chain: subprogram label, -1 unused */
	int resume0;		/* main: label returning "resume at the
				 * segment's first rule" (no side effects yet)
				 */
	const struct cg_plan *plan;
	size_t seg;
	/* tests already passed on the current rule's main line */
	bool l4_ok, nofrag_ok;
	unsigned int *chain_cost;	/* planning: per chain, 0 unknown */
	struct cg_calls *calls;	/* planning: per chain, once costed */
	int plan_err;		/* planning: -ENOMEM on the way */
	unsigned int th_win;	/* link: transport header window, bytes */
};

static inline void E(struct cg *c, struct bpf_insn i)
{
	bpf_emit(c->b, i);
}

static inline void J(struct cg *c, uint8_t op, uint8_t dst, int32_t imm,
		     int label)
{
	bpf_emit_jmp(c->b, BPF_JMP | op | BPF_K, dst, 0, imm, label);
}

static inline void JX(struct cg *c, uint8_t op, uint8_t dst, uint8_t src,
		      int label)
{
	bpf_emit_jmp(c->b, BPF_JMP | op | BPF_X, dst, src, 0, label);
}

/* 32-bit compare: a kfunc returning int leaves R0's upper half unset */
static inline void J32(struct cg *c, uint8_t op, uint8_t dst, int32_t imm,
		       int label)
{
	bpf_emit_jmp(c->b, BPF_JMP32 | op | BPF_K, dst, 0, imm, label);
}

static inline void JA(struct cg *c, int label)
{
	bpf_emit_jmp(c->b, BPF_JMP | BPF_JA, 0, 0, 0, label);
}

static inline int L(struct cg *c)
{
	return bpf_label_new(c->b);
}

static inline void BIND(struct cg *c, int label)
{
	bpf_label_bind(c->b, label);
}

/* codegen.c, for codegen_link.c */
void load_value(struct cg *c, int ptr, int off, int len);
void test_flag(struct cg *c, uint32_t flag, bool want, int fail);
void pktinfo_set(struct cg *c, int thoff_reg, int proto_reg,
		 uint32_t flags, int done);
void jump_if_ext(struct cg *c, int reg, int label);

/* codegen_link.c: the link target's versions */
void link_payload(struct cg *c, const struct imr_expr *e, int fail);
bool link_meta(struct cg *c, const struct imr_expr *e, int fail);
void link_counter(struct cg *c, uint32_t id);
void link_unhandled(struct cg *c);
void link_main_prologue(struct cg *c);
void link_subprog_prologue(struct cg *c);
void link_call_args(struct cg *c);
unsigned int link_th_window(const struct imr_prog *p);

#endif /* NFTJ_CODEGEN_INT_H */
