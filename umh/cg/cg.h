/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code generator internals: register names, stack slots, the emitter
 * state, the short emit helpers, and what a target does differently
 * (struct cg_target_ops, one file per target: test.c, kernel.c, link.c).
 * See codegen.h for the register and stack roles.
 */
#ifndef NFTJ_CG_H
#define NFTJ_CG_H

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
#define FP_KEYLEN	(-84)	/* u32 LPM prefix length, in the scratch */
#define FP_KEY		(-80)	/* u32: array map key; a set's tag */
#define FP_KEYDATA	(-76)
#define FP_SCRATCH	(-96)
#define FP_REGS		CG_FP_REGS	/* kernel target, see codegen.h */
/*
 * Tree runs (forest.c) hold only tests and verdicts: the set key buffer
 * and the register file are free there.  Key fields at fp-80 + 8 * k
 * (64 bits each), the best rule so far as a u32 at fp-20: an offset
 * that is not a multiple of 8, so that the verifier keeps no constant
 * for it (states of different leaves stay equal).
 */
#define FP_TREE_KEY(k)	((int16_t)(-80 + 8 * (k)))
#define FP_TREE_KEYS	7
#define FP_TREE_BEST	(-20)
/* pktinfo_forget() (pktinfo.c), in the prologue: the same u32 slot */
#define FP_PKTINFO	FP_TREE_BEST

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
	const struct imr_prog *p;	/* borrowed, like t, opts, maps, b */
	const struct cg_target *t;
	const struct cg_opts *opts;
	const struct cg_maps *maps;	/* planning: no maps, fds -1 */
	struct bbuf *b;
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
	bbuf_emit(c->b, i);
}

static inline void J(struct cg *c, uint8_t op, uint8_t dst, int32_t imm,
		     int label)
{
	bbuf_emit_jmp(c->b, BPF_JMP | op | BPF_K, dst, 0, imm, label);
}

static inline void JX(struct cg *c, uint8_t op, uint8_t dst, uint8_t src,
		      int label)
{
	bbuf_emit_jmp(c->b, BPF_JMP | op | BPF_X, dst, src, 0, label);
}

/* 32-bit compare: a kfunc returning int leaves R0's upper half unset */
static inline void J32(struct cg *c, uint8_t op, uint8_t dst, int32_t imm,
		       int label)
{
	bbuf_emit_jmp(c->b, BPF_JMP32 | op | BPF_K, dst, 0, imm, label);
}

static inline void JA(struct cg *c, int label)
{
	bbuf_emit_jmp(c->b, BPF_JMP | BPF_JA, 0, 0, 0, label);
}

static inline int L(struct cg *c)
{
	return bbuf_label_new(c->b);
}

static inline void BIND(struct cg *c, int label)
{
	bbuf_label_bind(c->b, label);
}

/*
 * What a target does differently, in the shape of bpfilter's flavor ops.
 * Every target has every op: CG_TARGET_OPS() takes them all, in this
 * order, and the assertion below fails when the struct gains an op the
 * macro does not name.
 */
struct cg_target_ops {
	/* before planning or emitting a program: what the target derives
	 * from the IMR; 0 or -errno */
	int (*init)(struct cg *c);
	/* main program (every segment), from R1 = ctx: R6..R9 as codegen.h
	 * has them, pktinfo included; a packet it cannot take jumps to
	 * c->resume0 */
	void (*main_prologue)(struct cg *c);
	/* a chain's subprogram, after R6 = R1 (ctx), R9 = R2 (pktinfo) */
	void (*subprog_prologue)(struct cg *c, const struct imr_chain *ch);
	/* a call of a chain's subprogram: R3..R5, after R1 = ctx,
	 * R2 = pktinfo */
	void (*call_args)(struct cg *c);
	/* R1 (and R2) = the value, in memory order, or jump to fail */
	void (*payload)(struct cg *c, const struct imr_expr *e, int fail);
	void (*meta)(struct cg *c, const struct imr_expr *e, int fail);
	/* the rule's counter: packets and bytes */
	void (*counter)(struct cg *c, uint32_t id);
	/* rule id decides: before the verdict's return */
	void (*decided)(struct cg *c, uint32_t id);
	/* the base chain's end */
	void (*policy)(struct cg *c);
	/* leave the packet to the interpreter from base chain rule `rule`
	 * on, or what the target does instead */
	void (*resume)(struct cg *c, size_t rule);
};

#define CG_TARGET_OPS(init_, main_prologue_, subprog_prologue_,	\
		      call_args_, payload_, meta_, counter_, decided_,	\
		      policy_, resume_)					\
	{								\
		.init = init_, .main_prologue = main_prologue_,		\
		.subprog_prologue = subprog_prologue_,			\
		.call_args = call_args_, .payload = payload_,		\
		.meta = meta_, .counter = counter_,			\
		.decided = decided_, .policy = policy_,			\
		.resume = resume_,					\
	}

_Static_assert(sizeof(struct cg_target_ops) == 10 * sizeof(void (*)(void)),
	       "CG_TARGET_OPS() names every op of struct cg_target_ops");

/* the targets, one file each (target.c: cg_target_get()) */
extern const struct cg_target cg_target_test, cg_target_kernel,
	cg_target_link;

/* forest.c: a tree run's rules [from, to) of the base chain as trees */
struct pred_chain;
struct pred_field;
struct pred_stmt;
struct forest;

struct cg_forest {
	uint32_t from, to;
	struct forest *fo;		/* tree.h */
	uint32_t *order;		/* trees in emission order */
	uint32_t *key_slot;		/* per pred field: slot, or -1 */
	uint32_t *key_field;		/* per slot: its field */
	uint32_t nkeys;
	unsigned int cost;		/* planning: branches of its longest
					 * path */
	size_t insns;			/* planning: its code's length */
};

/* -E2BIG when it needs more than FP_TREE_KEYS key fields */
int cg_forest_make(const struct pred_chain *pc, uint32_t from, uint32_t to,
		   struct cg_forest *f);
void cg_forest_free(struct cg_forest *f);
/*
 * What a leaf does with one test of a candidate rule, given the cell's
 * interval [lo, hi] of the test's field (a key field: its slot value,
 * absent = max + 1): CG_LEAF_DECIDED, every value of the cell passes
 * (skip it); CG_LEAF_FAILS, none does; CG_LEAF_SLOT, the test is exactly
 * "slot value in ivs" (compare the slot, *pass = ivs within the cell,
 * at most CG_LEAF_SLOT_IVS intervals); CG_LEAF_EMIT, the test as usual.
 * Only a statement pred.c marks exact on a field of up to 4 bytes counts.
 */
enum cg_leaf_test {
	CG_LEAF_EMIT,
	CG_LEAF_DECIDED,
	CG_LEAF_FAILS,
	CG_LEAF_SLOT,
};

#define CG_LEAF_SLOT_IVS	2

struct cg_leaf_ivs {
	uint64_t lo[CG_LEAF_SLOT_IVS], hi[CG_LEAF_SLOT_IVS];
	uint32_t n;
};

enum cg_leaf_test cg_leaf_test(const struct pred_stmt *st,
			       const struct pred_field *fd, uint64_t lo,
			       uint64_t hi, struct cg_leaf_ivs *pass);
/* the run's code; falls through when no rule of it matches */
void cg_emit_forest(struct cg *c, const struct pred_chain *pc,
		    const struct cg_forest *f);

/*
 * lookup.c: a lookup run of the base chain's rules [from, to) (every one
 * opt_lookup_rule() of pc) as a hash map lookup; -EINVAL when one is not
 */
int cg_lookup_make(const struct pred_chain *pc, const struct imr_chain *ch,
		   uint32_t from, uint32_t to, struct cg_lookup *lk);
void cg_lookup_free(struct cg_lookup *lk);
/* conditional jumps on the longest path of its dispatch to a rule */
size_t cg_lookup_depth(const struct cg_lookup *lk);
/* the run's code, map maps->lookup_fd[map]; falls through when no rule
 * of it matches */
void cg_emit_lookup(struct cg *c, const struct pred_chain *pc,
		    const struct cg_lookup *lk, size_t map);

/* emit.c: what every target shares */
int cg_init(struct cg *c, const struct imr_prog *p, const struct cg_target *t,
	    const struct cg_opts *opts, const struct cg_maps *maps,
	    struct bbuf *b);
void cg_emit_rule(struct cg *c, const struct imr_rule *r);
/* the tests of a tree run's rule (imr_tree_rule_ok()): all but the
 * verdict, each jumping to fail when it fails */
void cg_emit_tests(struct cg *c, const struct imr_rule *r, int fail);
/* cg_emit_tests() piecewise: a rule's start (what earlier rules proved
 * is forgotten), then one cmp or range statement of it */
void cg_rule_start(struct cg *c, const struct imr_rule *r);
void cg_emit_test(struct cg *c, const struct imr_stmt *s, int fail);
/* R1 = the value of e as the number pred.h's fields hold (its first len
 * bytes, big-endian), or jump to fail where e cannot be loaded */
void cg_eval_num(struct cg *c, const struct imr_expr *e, int len, int fail);
/* R1 (R2) = len bytes at [ptr + off], memory order; uses R4 */
void cg_load_value(struct cg *c, int ptr, int off, int len);
/* jump to fail unless the pktinfo flag is set (want) or clear */
void cg_test_flag(struct cg *c, uint32_t flag, bool want, int fail);
/*
 * Before a transport header load: the rule breaks without a transport
 * header and, unless the kernel's fast path takes it (e->payload.fast),
 * on a non-first fragment; each test once per rule
 */
void cg_th_checks(struct cg *c, const struct imr_expr *e, int fail);
void cg_meta_l4proto(struct cg *c, int fail);
/* the verdict, after ops->decided(decider) */
void cg_final(struct cg *c, uint32_t verdict, uint32_t decider);
/* the policy as the verdict (targets that do not resume for it) */
void cg_policy_verdict(struct cg *c);
/* return NFTJ_RET_RESUME(rule) */
void cg_resume(struct cg *c, size_t rule);
/* services: is there one in rules [first, end) of the chain; zero the
 * register file the kfunc is given */
bool cg_chain_has_svc(const struct imr_chain *ch, size_t first, size_t end);
void cg_zero_regs(struct cg *c);

/* skb.c: struct __sk_buff programs (the test and kernel targets) */
void cg_skb_pkt_ptrs(struct cg *c);
void cg_skb_payload(struct cg *c, const struct imr_expr *e, int fail);
void cg_skb_meta(struct cg *c, const struct imr_expr *e, int fail);
void cg_skb_pktinfo(struct cg *c);

/*
 * pktinfo.c: how a target reads the headers pktinfo is computed from.
 * Scratch registers are R0..R5; the hooks may clobber them.
 */
struct cg_hdr_ops {
	/* the IPv6 walk's state, kept across read(): the type of the next
	 * header and its offset from the network header */
	int nh_reg, off_reg;
	/* R7 = the first len bytes of the network header, or jump to
	 * short_pkt (a target that cannot tell a short packet from a
	 * non-linear header goes to c->resume0) */
	void (*window)(struct cg *c, int len, int short_pkt);
	/* a register pointing to len bytes at the network header + off_reg,
	 * or jump to fail (they are not in the packet) */
	int (*read)(struct cg *c, int off_reg, int len, int fail);
	/* reg = the packet's length from the network header on (32 bits) */
	void (*pkt_len)(struct cg *c, int reg);
	/* reg = the hook's protocol family (inet chains) */
	void (*nfproto)(struct cg *c, int reg);
	/* after an inet chain's IPv6 walk, pktinfo set; NULL: nothing */
	void (*inet_v6)(struct cg *c);
	/* inet, neither IPv4 nor IPv6: c->resume0 instead of no pktinfo */
	bool other_unhandled;
};

/* R9 = pktinfo of the chain's family, as the kernel computes it */
void cg_pktinfo(struct cg *c, const struct cg_hdr_ops *h);

#endif /* NFTJ_CG_H */
