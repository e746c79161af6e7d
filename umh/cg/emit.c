// SPDX-License-Identifier: GPL-2.0
/*
 * IMR -> eBPF, what every target shares: rules, values, relations, sets,
 * services, verdicts and the frames of the main program and the chains'
 * subprograms.  What a target does differently is its struct
 * cg_target_ops (test.c, kernel.c, link.c); see codegen.h for register
 * and stack roles.
 *
 * Every rule is a straight line of tests that jump to the rule's end
 * ("next rule", a short forward jump) when they fail, so no jump ever
 * spans more than one rule; verdicts and the policy are emitted in place
 * (a few instructions) instead of jumping to a shared exit; regular
 * chains are subprograms, reached by calls with 32-bit reach.  A base
 * chain of any length therefore never needs a jump beyond 16 bits.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cg.h"
#include "model.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the code generator assumes a little-endian BPF target"
#endif

/* ---- exits ---------------------------------------------------------- */

void cg_final(struct cg *c, uint32_t verdict, uint32_t decider)
{
	c->t->ops->decided(c, decider);
	E(c, I_MOV64_IMM(R0, (int32_t)verdict));
	E(c, I_EXIT());
}

void cg_policy_verdict(struct cg *c)
{
	cg_final(c, c->p->chains[0].policy == NF_DROP ? NF_DROP : NF_ACCEPT,
		 NFTJ_RULE_POLICY);
}

/* rule: an IMR index of the base chain; the kernel resumes at its position */
void cg_resume(struct cg *c, size_t rule)
{
	E(c, I_MOV32_IMM(R0, (int32_t)NFTJ_RET_RESUME(
		imr_rule_pos(&c->p->chains[0], rule))));
	E(c, I_EXIT());
}

/* leave the current chain towards its caller (return, or chain end) */
static void emit_chain_return(struct cg *c)
{
	if (c->in_main) {
		c->t->ops->policy(c);
		return;
	}
	E(c, I_MOV64_IMM(R0, CG_RET_RETURN));
	E(c, I_EXIT());
}

static void emit_call_chain(struct cg *c, int chain)
{
	E(c, I_MOV64_REG(R1, R_CTX));
	E(c, I_MOV64_REG(R2, R_PKT));
	c->t->ops->call_args(c);
	if (c->chain_label[chain] < 0)
		c->chain_label[chain] = L(c);
	bbuf_emit_call_label(c->b, c->chain_label[chain]);
}

/*
 * A verdict of the current rule.  `next` is the rule's end, where a
 * jumped-to chain that returns continues.
 */
static void emit_verdict(struct cg *c, enum imr_verdict v, int chain,
			 int next, int cont)
{
	int pol;

	switch (v) {
	case IMR_V_ACCEPT:
		cg_final(c, NF_ACCEPT, c->rule_id);
		break;
	case IMR_V_DROP:
		cg_final(c, NF_DROP, c->rule_id);
		break;
	case IMR_V_CONTINUE:
		JA(c, cont);
		break;
	case IMR_V_RETURN:
		emit_chain_return(c);
		break;
	case IMR_V_JUMP:
		emit_call_chain(c, chain);
		J(c, BPF_JEQ, R0, CG_RET_RETURN, next);
		E(c, I_EXIT());
		break;
	case IMR_V_GOTO:
		emit_call_chain(c, chain);
		if (c->in_main) {
			pol = L(c);
			J(c, BPF_JEQ, R0, CG_RET_RETURN, pol);
			E(c, I_EXIT());
			BIND(c, pol);
			c->t->ops->policy(c);
		} else {
			E(c, I_EXIT());
		}
		break;
	}
}

/* ---- values ----------------------------------------------------------- */

/* load len (1..8) bytes at [ptr + off] into dst, memory order; uses R4 */
static void load_le(struct cg *c, int dst, int ptr, int off, int len)
{
	static const uint8_t sz[] = { 0, BPF_B, BPF_H, 0, BPF_W };
	int done = 0, first = 1;

	if (len == 8) {
		E(c, I_LDX(BPF_DW, dst, ptr, off));
		return;
	}
	while (done < len) {
		int n = len - done >= 4 ? 4 : len - done >= 2 ? 2 : 1;
		int reg = first ? dst : R4;

		E(c, I_LDX(sz[n], reg, ptr, (int16_t)(off + done)));
		if (!first) {
			E(c, I_ALU64_IMM(BPF_LSH, R4, done * 8));
			E(c, I_ALU64_REG(BPF_OR, dst, R4));
		}
		first = 0;
		done += n;
	}
}

void cg_load_value(struct cg *c, int ptr, int off, int len)
{
	load_le(c, R1, ptr, off, len > 8 ? 8 : len);
	if (len > 8)
		load_le(c, R2, ptr, off + 8, len - 8);
}

void cg_test_flag(struct cg *c, uint32_t flag, bool want, int fail)
{
	E(c, I_MOV64_REG(R4, R_PKT));
	E(c, I_ALU64_IMM(BPF_AND, R4, (int32_t)flag));
	J(c, want ? BPF_JEQ : BPF_JNE, R4, 0, fail);
}

/* no transport header: the rule breaks (once per rule) */
static void need_l4(struct cg *c, int fail)
{
	if (!c->l4_ok)
		cg_test_flag(c, NFTJ_PKTINFO_L4, true, fail);
	c->l4_ok = true;
}

void cg_th_checks(struct cg *c, const struct imr_expr *e, int fail)
{
	need_l4(c, fail);
	if (!e->payload.fast && !c->nofrag_ok) {
		cg_test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
		c->nofrag_ok = true;
	}
}

/* meta l4proto: pktinfo's, every target keeps it in R9 */
void cg_meta_l4proto(struct cg *c, int fail)
{
	need_l4(c, fail);
	E(c, I_MOV64_REG(R1, R_PKT));
	E(c, I_ALU32_IMM(BPF_RSH, R1, 16));
	E(c, I_ALU32_IMM(BPF_AND, R1, 0xff));
}

static uint64_t le64(const uint8_t *v, int len)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < len && i < 8; i++)
		x |= (uint64_t)v[i] << (8 * i);
	return x;
}

/* reg op= imm, for a value of len bytes (32-bit ALU keeps upper zero) */
static void alu_const(struct cg *c, uint8_t op, int reg, uint64_t v, int len)
{
	if (len <= 4) {
		E(c, I_ALU32_IMM(op, reg, (int32_t)(uint32_t)v));
		return;
	}
	if (v <= 0x7fffffff) {
		E(c, I_ALU64_IMM(op, reg, (int32_t)v));
		return;
	}
	bbuf_emit_ld_imm64(c->b, R3, v);
	E(c, I_ALU64_REG(op, reg, R3));
}

static void eval(struct cg *c, const struct imr_expr *e, int fail);

/*
 * R1 (bytes 0..7) and R2 (8..15) = up to 16 bytes of the register file
 * from word w, in memory order; uses R4.  The stack is accessed aligned:
 * 8-byte loads only at even words.
 */
static void load_regs(struct cg *c, int w, int len)
{
	int i, n = (len > 16 ? 16 : len) / 4;

	for (i = 0; i < n; i++) {
		int dst = i < 2 ? R1 : R2;
		int16_t off = (int16_t)(FP_REGS + 4 * (w + i));

		if (i % 2 == 0 && i + 1 < n && (w + i) % 2 == 0) {
			E(c, I_LDX(BPF_DW, dst, R_FP, off));
			i++;
		} else if (i % 2 == 0) {
			E(c, I_LDX(BPF_W, dst, R_FP, off));
		} else {
			E(c, I_LDX(BPF_W, R4, R_FP, off));
			E(c, I_ALU64_IMM(BPF_LSH, R4, 32));
			E(c, I_ALU64_REG(BPF_OR, dst, R4));
		}
	}
}

static void eval_maskxor(struct cg *c, const struct imr_expr *e, int fail)
{
	int lo = e->len > 8 ? 8 : e->len, hi = e->len - lo;
	uint64_t m;

	eval(c, e->child, fail);
	m = le64(e->maskxor.mask, lo);
	if (m != (lo == 8 ? ~0ULL : (1ULL << (8 * lo)) - 1) || e->child->len > lo)
		alu_const(c, BPF_AND, R1, m, lo);
	if (le64(e->maskxor.xor, lo))
		alu_const(c, BPF_XOR, R1, le64(e->maskxor.xor, lo), lo);
	if (!hi)
		return;
	alu_const(c, BPF_AND, R2, le64(e->maskxor.mask + 8, hi), hi);
	if (le64(e->maskxor.xor + 8, hi))
		alu_const(c, BPF_XOR, R2, le64(e->maskxor.xor + 8, hi), hi);
}

static void eval(struct cg *c, const struct imr_expr *e, int fail)
{
	switch (e->type) {
	case IMR_E_PAYLOAD:
		c->t->ops->payload(c, e, fail);
		break;
	case IMR_E_META:
		c->t->ops->meta(c, e, fail);
		break;
	case IMR_E_MASKXOR:
		eval_maskxor(c, e, fail);
		break;
	case IMR_E_SHIFT:
		eval(c, e->child, fail);
		E(c, I_ALU32_IMM(e->shift.left ? BPF_LSH : BPF_RSH, R1,
				 e->shift.bits));
		break;
	case IMR_E_BSWAP:
		eval(c, e->child, fail);
		E(c, I_BSWAP(R1, e->bswap.size * 8));
		break;
	case IMR_E_CONCAT:
		/* the builder only lets concatenations into set keys */
		c->b->err = -EINVAL;
		break;
	case IMR_E_SVC:
		/* the service ran before: its output is in the register file */
		load_regs(c, e->svc.word, e->len);
		break;
	}
}

/* ---- relations -------------------------------------------------------- */

/* v (memory order bytes) -> the number memcmp() orders by */
static uint64_t be_num(const uint8_t *v, int len)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < len; i++)
		x = (x << 8) | v[i];
	return x;
}

static void mask_len(struct cg *c, int reg, int len, int vlen);

/*
 * The first len bytes of reg (memory order) as a big-endian number.  A
 * byte is itself; be16 and be32 keep only the bytes they swap.
 */
static void to_be_num(struct cg *c, int reg, int len, int vlen)
{
	if (len == 2 || len == 4) {
		E(c, I_BSWAP(reg, 8 * len));
		return;
	}
	mask_len(c, reg, len, vlen);	/* drop bytes beyond the compared */
	if (len == 1)
		return;
	E(c, I_BSWAP(reg, 64));
	if (len < 8)
		E(c, I_ALU64_IMM(BPF_RSH, reg, 64 - 8 * len));
}

/* if (reg jop k) goto label, unsigned */
static void jcmp(struct cg *c, uint8_t jop, int reg, uint64_t k, int label)
{
	if (k <= 0x7fffffff) {
		J(c, jop, reg, (int32_t)k, label);
		return;
	}
	bbuf_emit_ld_imm64(c->b, R3, k);
	JX(c, jop, reg, R3, label);
}

static const uint8_t jop_of[] = {
	[IMR_EQ] = BPF_JEQ, [IMR_NE] = BPF_JNE, [IMR_LT] = BPF_JLT,
	[IMR_LE] = BPF_JLE, [IMR_GT] = BPF_JGT, [IMR_GE] = BPF_JGE,
};

/*
 * Jump to `yes` if (value op k), else fall through.  R1 holds bytes
 * 0..7, R2 bytes 8..15: converted by to_be_num() for ordered compares,
 * in memory order (mem) for == and != only.
 */
static void cond_jump(struct cg *c, enum imr_cmp_op op, const uint8_t *k,
		      int len, bool mem, int yes)
{
	int lo = len > 8 ? 8 : len, skip;
	uint64_t k1 = mem ? le64(k, lo) : be_num(k, lo), k2;

	if (len <= 8) {
		jcmp(c, jop_of[op], R1, k1, yes);
		return;
	}
	k2 = mem ? le64(k + 8, len - 8) : be_num(k + 8, len - 8);
	skip = L(c);
	switch (op) {
	case IMR_EQ:
		jcmp(c, BPF_JNE, R1, k1, skip);
		jcmp(c, BPF_JEQ, R2, k2, yes);
		break;
	case IMR_NE:
		jcmp(c, BPF_JNE, R1, k1, yes);
		jcmp(c, BPF_JNE, R2, k2, yes);
		break;
	default:
		/* lexicographic: first word decides unless equal */
		jcmp(c, op == IMR_LT || op == IMR_LE ? BPF_JLT : BPF_JGT,
		     R1, k1, yes);
		jcmp(c, BPF_JNE, R1, k1, skip);
		jcmp(c, jop_of[op], R2, k2, yes);
		break;
	}
	BIND(c, skip);
}

static enum imr_cmp_op negate(enum imr_cmp_op op)
{
	static const enum imr_cmp_op n[] = {
		[IMR_EQ] = IMR_NE, [IMR_NE] = IMR_EQ, [IMR_LT] = IMR_GE,
		[IMR_LE] = IMR_GT, [IMR_GT] = IMR_LE, [IMR_GE] = IMR_LT,
	};

	return n[op];
}

/* keep the compared bytes of a value in memory order: clear the rest */
static void mask_len(struct cg *c, int reg, int len, int vlen)
{
	if (vlen > len && len < 8)
		alu_const(c, BPF_AND, reg, (1ULL << (8 * len)) - 1, len);
}

/* pktinfo bits 16..24: the transport protocol and NFTJ_PKTINFO_L4 */
#define L4PROTO_SHIFT	16
#define L4PROTO_SET	(NFTJ_PKTINFO_L4 >> L4PROTO_SHIFT)
_Static_assert(NFTJ_PKTINFO_L4 == 1U << 24, "pktinfo layout");

/*
 * meta l4proto == k, != k: whether there is a transport header and the
 * protocol in one compare (without one the expression breaks the rule,
 * for == and != alike): 4 instructions (5 for !=) where the flag test,
 * the extraction and the compare's mask took 8.
 */
static bool l4proto_relation(struct cg *c, const struct imr_stmt *s,
			     int fail)
{
	const struct imr_expr *e = s->expr;
	int32_t want;

	if (s->type != IMR_S_CMP || e->type != IMR_E_META ||
	    e->meta != IMR_META_L4PROTO || s->len != 1 ||
	    (s->op != IMR_EQ && s->op != IMR_NE))
		return false;
	want = L4PROTO_SET | s->val[0];
	E(c, I_MOV64_REG(R1, R_PKT));
	E(c, I_ALU32_IMM(BPF_RSH, R1, L4PROTO_SHIFT));
	E(c, I_ALU32_IMM(BPF_AND, R1, L4PROTO_SET | 0xff));
	if (s->op == IMR_EQ) {
		J(c, BPF_JNE, R1, want, fail);
	} else {
		J(c, BPF_JLT, R1, L4PROTO_SET, fail);
		J(c, BPF_JEQ, R1, want, fail);
	}
	c->l4_ok = true;
	return true;
}

static void emit_relation(struct cg *c, const struct imr_stmt *s, int fail)
{
	int len = s->len, vlen = s->expr->len, ok;
	int lo = len > 8 ? 8 : len, vlo = vlen > 8 ? 8 : vlen;

	if (l4proto_relation(c, s, fail))
		return;
	eval(c, s->expr, fail);
	if (s->type == IMR_S_CMP && (s->op == IMR_EQ || s->op == IMR_NE)) {
		/* equality needs no byte order: compare memory images */
		mask_len(c, R1, lo, vlo);
		if (len > 8)
			mask_len(c, R2, len - 8, vlen - 8);
		cond_jump(c, negate(s->op), s->val, len, true, fail);
		return;
	}
	to_be_num(c, R1, lo, vlo);
	if (len > 8)
		to_be_num(c, R2, len - 8, vlen - 8);
	if (s->type == IMR_S_CMP) {
		cond_jump(c, negate(s->op), s->val, len, false, fail);
		return;
	}
	if (s->op == IMR_EQ) {		/* lo <= v <= hi */
		cond_jump(c, IMR_LT, s->val, len, false, fail);
		cond_jump(c, IMR_GT, s->hi, len, false, fail);
		return;
	}
	ok = L(c);
	cond_jump(c, IMR_LT, s->val, len, false, ok);
	cond_jump(c, IMR_GT, s->hi, len, false, ok);
	JA(c, fail);
	BIND(c, ok);
}

void cg_eval_num(struct cg *c, const struct imr_expr *e, int len, int fail)
{
	eval(c, e, fail);
	to_be_num(c, R1, len, e->len > 8 ? 8 : e->len);
}

/* ---- sets ------------------------------------------------------------- */

static void store_words(struct cg *c, int off, int len)
{
	int w;

	for (w = 0; w < len / 4; w++) {
		int reg = w < 2 ? R1 : R2;

		if (w == 1 || w == 3)
			E(c, I_ALU64_IMM(BPF_RSH, reg, 32));
		E(c, I_STX(BPF_W, R_FP, reg, (int16_t)(off + 4 * w)));
	}
}

static void build_key(struct cg *c, const struct imr_expr *key, int fail)
{
	int off = FP_KEYDATA;
	unsigned int i;

	if (key->type != IMR_E_CONCAT) {
		eval(c, key, fail);
		store_words(c, off, key->len);
		return;
	}
	for (i = 0; i < key->ncomp; i++) {
		eval(c, key->comp[i], fail);
		store_words(c, off, key->comp[i]->len);
		off += key->comp[i]->len;
	}
}

static int catchall_elem(const struct nftj_set *set)
{
	size_t i;

	for (i = 0; i < set->nelems; i++)
		if (set->elems[i].flags & NFT_SET_ELEM_CATCHALL)
			return (int)i;
	return -1;
}

/*
 * look the key up; R0 = element value or NULL.  The set's map is shared
 * with the sets of its layout: the key is prefixed by the set's tag
 * (setmap.h), which is written after build_key() as its loads may use
 * the scratch around FP_KEYLEN.
 */
static void emit_set_lookup(struct cg *c, const struct imr_stmt *s, int fail)
{
	const struct imr_set *is = &c->p->sets[s->set];
	bool lpm = is->nset->flags & NFT_SET_INTERVAL;

	build_key(c, s->expr, fail);
	E(c, I_ST(BPF_W, R_FP, FP_KEY, (int32_t)is->tag));
	bbuf_emit_ld_map_fd(c->b, R1, c->maps->set_fd ?
			    c->maps->set_fd[is->map] : -1);
	E(c, I_MOV64_REG(R2, R_FP));
	if (lpm) {
		E(c, I_ST(BPF_W, R_FP, FP_KEYLEN,
			  (int32_t)(32 + is->nset->key_len * 8)));
		E(c, I_ALU64_IMM(BPF_ADD, R2, FP_KEYLEN));
	} else {
		E(c, I_ALU64_IMM(BPF_ADD, R2, FP_KEY));
	}
	E(c, I_CALL(BPF_FUNC_map_lookup_elem));
}

static void emit_lookup(struct cg *c, const struct imr_stmt *s, int fail)
{
	bool catchall = catchall_elem(c->p->sets[s->set].nset) >= 0;

	/* nft_lookup_eval(): found = lookup || catch-all; found ^= invert */
	if (catchall) {
		if (s->invert)
			JA(c, fail);
		return;
	}
	emit_set_lookup(c, s, fail);
	J(c, s->invert ? BPF_JNE : BPF_JEQ, R0, 0, fail);
}

static void emit_vmap(struct cg *c, const struct imr_stmt *s, int next)
{
	const struct imr_set *is = &c->p->sets[s->set];
	int ca = catchall_elem(is->nset), dispatch = L(c), cont = L(c);
	int *act = calloc(is->nactions ? is->nactions : 1, sizeof(int));
	size_t i;

	if (!act) {
		c->b->err = -ENOMEM;
		return;
	}
	emit_set_lookup(c, s, next);
	if (ca >= 0) {
		int found = L(c);

		J(c, BPF_JNE, R0, 0, found);
		E(c, I_MOV64_IMM(R1, is->elem_action[ca]));
		JA(c, dispatch);
		BIND(c, found);
	} else {
		J(c, BPF_JEQ, R0, 0, next);
	}
	E(c, I_LDX(BPF_W, R1, R0, 0));
	BIND(c, dispatch);
	for (i = 0; i < is->nactions; i++) {
		act[i] = L(c);
		J(c, BPF_JEQ, R1, (int32_t)i, act[i]);
	}
	JA(c, next);	/* not reached: every element has an action */
	for (i = 0; i < is->nactions; i++) {
		BIND(c, act[i]);
		emit_verdict(c, is->actions[i].verdict, is->actions[i].chain,
			     next, cont);
	}
	free(act);
	BIND(c, cont);
}

/* ---- services (kernel target) ------------------------------------------ */

/* memmove() of n words inside the register file */
static void copy_regs(struct cg *c, int from, int to, int n)
{
	int i, k;

	for (i = 0; i < n; i++) {
		k = to > from ? n - 1 - i : i;
		E(c, I_LDX(BPF_W, R1, R_FP, (int16_t)(FP_REGS + 4 * (from + k))));
		E(c, I_STX(BPF_W, R_FP, R1, (int16_t)(FP_REGS + 4 * (to + k))));
	}
}

/*
 * Write a lookup's key where the kernel reads it: the register file from
 * word w, component by component (each padded to 32 bits), as the rule's
 * expressions left it.  A service output already in place stays (the
 * builder's svc_key_store() makes the same decision).
 */
static void store_key(struct cg *c, const struct imr_expr *key, int w,
		      int fail)
{
	const struct imr_expr *one = key;
	const struct imr_expr *const *comp = &one;
	unsigned int n = 1, i;

	if (key->type == IMR_E_CONCAT) {
		comp = (const struct imr_expr *const *)key->comp;
		n = key->ncomp;
	}
	for (i = 0; i < n; i++) {
		const struct imr_expr *e = comp[i];

		if (e->type == IMR_E_SVC) {
			if (e->svc.word != w)
				copy_regs(c, e->svc.word, w, e->len / 4);
		} else {
			eval(c, e, fail);
			store_words(c, FP_REGS + 4 * w, e->len);
		}
		w += e->len / 4;
	}
}

/*
 * r0 = nftj_svc_eval(ctx, svc, fp + FP_REGS, NFTJ_REGS_SIZE).  R2 is set
 * last, right before the call: the disassembly reads the service there.
 * The call's BTF id and fd_array index are the running kernel's: filled
 * in at load time (nftj_kfunc_patch()), 0 until then.
 */
static void emit_svc_call(struct cg *c, uint32_t svc)
{
	E(c, I_MOV64_REG(R1, R_CTX));
	E(c, I_MOV64_REG(R3, R_FP));
	E(c, I_ALU64_IMM(BPF_ADD, R3, FP_REGS));
	E(c, I_MOV64_IMM(R4, NFTJ_REGS_SIZE));
	E(c, I_MOV64_IMM(R2, (int32_t)svc));
	E(c, BPF_I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 0));
	/* as after a helper that may change the packet: verifiers differ */
	cg_skb_pkt_ptrs(c);
}

/*
 * The kernel returned what the program cannot take at this point: let
 * the interpreter redo this rule if nothing of it has happened yet, else
 * fall back (see CG_RET_FALLBACK).
 */
static void emit_svc_unexpected(struct cg *c)
{
	if (c->in_main && !c->side_effect)
		E(c, I_MOV32_IMM(R0, (int32_t)NFTJ_RET_RESUME(
			imr_rule_pos(&c->p->chains[0], c->rule_idx))));
	else
		E(c, I_MOV32_IMM(R0, (int32_t)CG_RET_FALLBACK));
	E(c, I_EXIT());
}

static void emit_service(struct cg *c, const struct imr_stmt *s, int next)
{
	const struct imr_svc *v = &c->p->svcs[s->svc];
	int ok = L(c), final;

	if (s->expr)
		store_key(c, s->expr, v->key_word, next);
	emit_svc_call(c, s->svc);
	switch (v->kind) {
	case IMR_SVC_COUNTER:
		J32(c, BPF_JEQ, R0, NFT_CONTINUE, ok);
		emit_svc_unexpected(c);
		break;
	case IMR_SVC_VMAP:
		final = L(c);
		J32(c, BPF_JEQ, R0, NFT_BREAK, next);	/* no element */
		J32(c, BPF_JEQ, R0, NFT_CONTINUE, ok);	/* continue */
		J32(c, BPF_JLE, R0, NF_ACCEPT, final);	/* drop, accept */
		/* jump, goto, return, queue: the interpreter from here */
		emit_svc_unexpected(c);
		BIND(c, final);
		E(c, I_ALU32_REG(BPF_MOV, R0, R0));
		E(c, I_EXIT());
		break;
	case IMR_SVC_LOOKUP:
	case IMR_SVC_MAP:
	case IMR_SVC_CT:
	case IMR_SVC_META:
		J32(c, BPF_JEQ, R0, NFT_CONTINUE, ok);
		J32(c, BPF_JEQ, R0, NFT_BREAK, next);
		emit_svc_unexpected(c);
		break;
	}
	BIND(c, ok);
	if (v->side_effect)
		c->side_effect = true;
}

bool cg_chain_has_svc(const struct imr_chain *ch, size_t first,
			  size_t end)
{
	size_t i, j;

	for (i = first; i < end && i < ch->nrules; i++) {
		if (ch->rules[i].unsupported)
			break;
		for (j = 0; j < ch->rules[i].nstmts; j++)
			if (ch->rules[i].stmts[j].type == IMR_S_SERVICE)
				return true;
	}
	return false;
}

/* the verifier wants all NFTJ_REGS_SIZE bytes written before the call */
void cg_zero_regs(struct cg *c)
{
	int i;

	for (i = 0; i < NFTJ_REGS_SIZE / 8; i++)
		E(c, I_ST(BPF_DW, R_FP, (int16_t)(FP_REGS + 8 * i), 0));
}

/* ---- rules ------------------------------------------------------------ */

/* a new rule: what earlier rules proved does not carry over */
static void rule_start(struct cg *c, const struct imr_rule *r)
{
	c->rule_id = r->id;
	c->b->cur_src = r->id + 1;
	c->l4_ok = false;
	c->nofrag_ok = false;
	c->side_effect = false;
}

void cg_emit_tests(struct cg *c, const struct imr_rule *r, int fail)
{
	size_t i;

	rule_start(c, r);
	for (i = 0; i + 1 < r->nstmts; i++)
		emit_relation(c, &r->stmts[i], fail);
}

void cg_rule_start(struct cg *c, const struct imr_rule *r)
{
	rule_start(c, r);
}

void cg_emit_test(struct cg *c, const struct imr_stmt *s, int fail)
{
	emit_relation(c, s, fail);
}

void cg_emit_rule(struct cg *c, const struct imr_rule *r)
{
	int next = L(c), cont;
	size_t i;

	rule_start(c, r);
	for (i = 0; i < r->nstmts; i++) {
		const struct imr_stmt *s = &r->stmts[i];

		switch (s->type) {
		case IMR_S_CMP:
		case IMR_S_RANGE:
			emit_relation(c, s, next);
			break;
		case IMR_S_LOOKUP:
			emit_lookup(c, s, next);
			break;
		case IMR_S_VMAP:
			emit_vmap(c, s, next);
			break;
		case IMR_S_COUNTER:
			c->t->ops->counter(c, s->counter_id);
			break;
		case IMR_S_SERVICE:
			emit_service(c, s, next);
			break;
		case IMR_S_VERDICT:
			cont = L(c);
			emit_verdict(c, s->verdict, s->chain, next, cont);
			BIND(c, cont);
			break;
		}
	}
	BIND(c, next);
	c->b->cur_src = 0;
}

/* ---- frames ------------------------------------------------------------ */

static void emit_tail_call(struct cg *c, size_t next_rule)
{
	E(c, I_MOV64_REG(R1, R_CTX));
	bbuf_emit_ld_map_fd(c->b, R2, c->maps->prog_array_fd);
	E(c, I_MOV64_IMM(R3, (int32_t)(c->seg + 1)));
	E(c, I_CALL(BPF_FUNC_tail_call));
	/* only if the tail call failed: the interpreter goes on */
	c->t->ops->resume(c, next_rule);
}

static void emit_main(struct cg *c)
{
	const struct imr_chain *ch = &c->p->chains[0];
	size_t i, first = c->plan->first[c->seg];
	size_t end = c->plan->first[c->seg + 1], fi = 0;
	const struct cg_forest *fo = c->plan->forests;
	const struct cg_lookup *lk = c->plan->lookups;
	size_t li = 0;
	int body = L(c);

	c->in_main = true;
	c->resume0 = L(c);
	c->t->ops->main_prologue(c);
	JA(c, body);
	BIND(c, c->resume0);
	c->t->ops->resume(c, first);
	BIND(c, body);

	while (fi < c->plan->nforests && fo[fi].from < first)
		fi++;
	while (li < c->plan->nlookups && lk[li].from < first)
		li++;
	for (i = first; i < end; i++) {
		c->rule_idx = i;
		if ((int)i == ch->first_unsupported) {
			c->b->cur_src = ch->rules[i].id + 1;
			c->t->ops->resume(c, i);
			c->b->cur_src = 0;
			return;
		}
		if (fi < c->plan->nforests && fo[fi].from == i) {
			cg_emit_forest(c, c->plan->pc, &fo[fi]);
			i = fo[fi++].to - 1;
			continue;
		}
		if (li < c->plan->nlookups && lk[li].from == i) {
			cg_emit_lookup(c, c->plan->pc, &lk[li], li);
			i = lk[li++].to - 1;
			continue;
		}
		cg_emit_rule(c, &ch->rules[i]);
	}
	if (c->seg + 1 < c->plan->nseg)
		emit_tail_call(c, end);
	else
		c->t->ops->policy(c);
}

static void emit_subprog(struct cg *c, int chain)
{
	const struct imr_chain *ch = &c->p->chains[chain];
	size_t i;

	c->in_main = false;
	BIND(c, c->chain_label[chain]);
	E(c, I_MOV64_REG(R_CTX, R1));
	E(c, I_MOV64_REG(R_PKT, R2));
	c->t->ops->subprog_prologue(c, ch);
	for (i = 0; i < ch->nrules; i++) {
		const struct cg_forest *f = c->plan ?
			cg_plan_chain_forest(c->plan, (size_t)chain, i) : NULL;

		if (f) {
			cg_emit_forest(c, c->plan->cpc[chain], f);
			i = f->to - 1;
			continue;
		}
		cg_emit_rule(c, &ch->rules[i]);
	}
	emit_chain_return(c);
}

int cg_init(struct cg *c, const struct imr_prog *p, const struct cg_target *t,
	    const struct cg_opts *opts, const struct cg_maps *maps,
	    struct bbuf *b)
{
	size_t i;
	int err;

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->t = t;
	c->opts = opts;
	c->maps = maps;
	c->b = b;
	c->nh_off = t->nh_off;
	c->chain_label = malloc((p->nchains ? p->nchains : 1) * sizeof(int));
	if (!c->chain_label)
		return -ENOMEM;
	for (i = 0; i < p->nchains; i++)
		c->chain_label[i] = -1;
	err = t->ops->init(c);
	if (err)
		free(c->chain_label);
	return err;
}

int cg_emit(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_opts *opts, const struct cg_maps *maps,
	    const struct cg_plan *plan, size_t seg, struct bbuf *b)
{
	struct cg c;
	bool *done;
	size_t i;
	int again, err;

	err = cg_init(&c, p, cg_target_get(target), opts, maps, b);
	if (err)
		return err;
	c.plan = plan;
	c.seg = seg;
	done = calloc(p->nchains ? p->nchains : 1, sizeof(bool));
	if (!done) {
		free(c.chain_label);
		return -ENOMEM;
	}
	emit_main(&c);
	/* subprograms for every chain a call refers to, transitively */
	do {
		again = 0;
		for (i = 1; i < p->nchains; i++) {
			if (c.chain_label[i] < 0 || done[i])
				continue;
			done[i] = true;
			emit_subprog(&c, (int)i);
			again = 1;
		}
	} while (again);
	free(c.chain_label);
	free(done);
	return bbuf_finish(b);
}
