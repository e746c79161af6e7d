// SPDX-License-Identifier: GPL-2.0
/*
 * IMR -> eBPF.  See codegen.h for register and stack roles.
 *
 * Every rule is a straight line of tests that jump to the rule's end
 * ("next rule", a short forward jump) when they fail, so no jump ever
 * spans more than one rule; verdicts and the policy are emitted in place
 * (a few instructions) instead of jumping to a shared exit; regular
 * chains are subprograms, reached by calls with 32-bit reach.  A base
 * chain of any length therefore never needs a jump beyond 16 bits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cg.h"
#include "model.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the code generator assumes a little-endian BPF target"
#endif

int cg_nh_offset(enum nftj_target target)
{
	return target == NFTJ_TARGET_TEST ? 14 : 0;
}

/* ---- exits ---------------------------------------------------------- */

static void emit_decided(struct cg *c, uint32_t id)
{
	if (c->target != NFTJ_TARGET_TEST)
		return;
	E(c, I_LDX(BPF_DW, R1, R_FP, FP_STATS));
	E(c, I_ST(BPF_W, R1, 0, (int32_t)id));
}

static void emit_final(struct cg *c, uint32_t verdict, uint32_t decider)
{
	emit_decided(c, decider);
	E(c, I_MOV64_IMM(R0, (int32_t)verdict));
	E(c, I_EXIT());
}

/*
 * The base chain's end: its policy decides.  On the kernel target the
 * interpreter applies it (and counts it in the chain's counters): the
 * program resumes "before" the rule after the last.
 */
static void emit_policy(struct cg *c)
{
	if (c->target == NFTJ_TARGET_KERNEL) {
		E(c, I_MOV32_IMM(R0, (int32_t)NFTJ_RET_RESUME(
					c->p->chains[0].nrules)));
		E(c, I_EXIT());
		return;
	}
	emit_final(c, c->p->chains[0].policy == NF_DROP ? NF_DROP : NF_ACCEPT,
		   NFTJ_RULE_POLICY);
}

/* leave the current chain towards its caller (return, or chain end) */
static void emit_chain_return(struct cg *c)
{
	if (c->in_main) {
		emit_policy(c);
		return;
	}
	E(c, I_MOV64_IMM(R0, CG_RET_RETURN));
	E(c, I_EXIT());
}

static void emit_call_chain(struct cg *c, int chain)
{
	E(c, I_MOV64_REG(R1, R_CTX));
	E(c, I_MOV64_REG(R2, R_PKT));
	if (c->target == NFTJ_TARGET_LINK)
		link_call_args(c);
	else if (c->target == NFTJ_TARGET_TEST)
		E(c, I_LDX(BPF_DW, R3, R_FP, FP_STATS));
	else
		E(c, I_MOV64_IMM(R3, 0));
	if (c->chain_label[chain] < 0)
		c->chain_label[chain] = L(c);
	bpf_emit_call_label(c->b, c->chain_label[chain]);
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
		emit_final(c, NF_ACCEPT, c->rule_id);
		break;
	case IMR_V_DROP:
		emit_final(c, NF_DROP, c->rule_id);
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
			emit_policy(c);
		} else {
			E(c, I_EXIT());
		}
		break;
	}
}

/* ---- packet loads ----------------------------------------------------- */

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

void load_value(struct cg *c, int ptr, int off, int len)
{
	load_le(c, R1, ptr, off, len > 8 ? 8 : len);
	if (len > 8)
		load_le(c, R2, ptr, off + 8, len - 8);
}

void test_flag(struct cg *c, uint32_t flag, bool want, int fail)
{
	E(c, I_MOV64_REG(R4, R_PKT));
	E(c, I_ALU64_IMM(BPF_AND, R4, (int32_t)flag));
	J(c, want ? BPF_JEQ : BPF_JNE, R4, 0, fail);
}

static void eval_payload(struct cg *c, const struct imr_expr *e, int fail)
{
	int off = e->payload.offset, len = e->payload.len;
	int slow = L(c), done = L(c);

	switch (e->payload.base) {
	case IMR_BASE_LL:
		E(c, I_LDX(BPF_W, R4, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
		E(c, I_ALU64_IMM(BPF_AND, R4, NFTJ_F_HAS_MAC << 16));
		J(c, BPF_JEQ, R4, 0, fail);
		E(c, I_MOV64_REG(R3, R_NH));
		E(c, I_ALU64_IMM(BPF_ADD, R3, off - c->nh_off));
		break;
	case IMR_BASE_NH:
		E(c, I_MOV64_REG(R3, R_NH));
		if (off)
			E(c, I_ALU64_IMM(BPF_ADD, R3, off));
		break;
	case IMR_BASE_TH:
		if (!c->l4_ok)
			test_flag(c, NFTJ_PKTINFO_L4, true, fail);
		c->l4_ok = true;
		if (!e->payload.fast && !c->nofrag_ok) {
			test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
			c->nofrag_ok = true;
		}
		/* thoff <= THOFF_MAX (pktinfo): the verifier sees it bounded */
		E(c, I_MOV64_REG(R4, R_PKT));
		E(c, I_ALU64_IMM(BPF_AND, R4, THOFF_MAX));
		if (off)
			E(c, I_ALU64_IMM(BPF_ADD, R4, off));
		E(c, I_MOV64_REG(R3, R_NH));
		E(c, I_ALU64_REG(BPF_ADD, R3, R4));
		break;
	}
	if (c->opts->slow_loads)
		JA(c, slow);
	E(c, I_MOV64_REG(R5, R3));
	E(c, I_ALU64_IMM(BPF_ADD, R5, len));
	JX(c, BPF_JGT, R5, R_END, slow);
	load_value(c, R3, 0, len);
	JA(c, done);

	/*
	 * Beyond the linear area: bpf_skb_load_bytes() reads non-linear
	 * data like the kernel's skb_copy_bits(), and fails past skb->len.
	 */
	BIND(c, slow);
	switch (e->payload.base) {
	case IMR_BASE_LL:
		E(c, I_MOV64_IMM(R2, off));
		break;
	case IMR_BASE_NH:
		E(c, I_MOV64_IMM(R2, c->nh_off + off));
		break;
	case IMR_BASE_TH:
		if (e->payload.fast && c->opts->slow_loads) {
			/*
			 * Forced here although the bytes may be linear: the
			 * kernel's fast path reads linear bytes of fragments
			 */
			int linear = L(c);

			E(c, I_MOV64_REG(R4, R_PKT));
			E(c, I_ALU64_IMM(BPF_AND, R4, 0xffff));
			E(c, I_ALU64_IMM(BPF_ADD, R4, c->nh_off + off + len));
			E(c, I_LDX(BPF_W, R2, R_CTX, SKB(data_end)));
			E(c, I_LDX(BPF_W, R3, R_CTX, SKB(data)));
			E(c, I_ALU64_REG(BPF_SUB, R2, R3));
			JX(c, BPF_JLE, R4, R2, linear);
			test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
			BIND(c, linear);
		} else {
			test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
		}
		E(c, I_MOV64_REG(R2, R_PKT));
		E(c, I_ALU64_IMM(BPF_AND, R2, 0xffff));
		E(c, I_ALU64_IMM(BPF_ADD, R2, c->nh_off + off));
		break;
	}
	E(c, I_MOV64_REG(R1, R_CTX));
	E(c, I_MOV64_REG(R3, R_FP));
	E(c, I_ALU64_IMM(BPF_ADD, R3, FP_SCRATCH));
	E(c, I_MOV64_IMM(R4, len));
	E(c, I_CALL(BPF_FUNC_skb_load_bytes));
	J(c, BPF_JNE, R0, 0, fail);
	load_value(c, R_FP, FP_SCRATCH, len);
	BIND(c, done);
}

static void eval_meta(struct cg *c, const struct imr_expr *e, int fail)
{
	int done;

	switch (e->meta) {
	case IMR_META_LEN:
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB(len)));
		if (c->nh_off)
			E(c, I_ALU32_IMM(BPF_SUB, R1, c->nh_off));
		break;
	case IMR_META_PROTOCOL:
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB(protocol)));
		break;
	case IMR_META_NFPROTO:
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
		E(c, I_ALU32_IMM(BPF_RSH, R1, 8));
		E(c, I_ALU32_IMM(BPF_AND, R1, 0xff));
		break;
	case IMR_META_L4PROTO:
		if (!c->l4_ok)
			test_flag(c, NFTJ_PKTINFO_L4, true, fail);
		c->l4_ok = true;
		E(c, I_MOV64_REG(R1, R_PKT));
		E(c, I_ALU32_IMM(BPF_RSH, R1, 16));
		E(c, I_ALU32_IMM(BPF_AND, R1, 0xff));
		break;
	case IMR_META_MARK:
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB(mark)));
		break;
	case IMR_META_IIF:
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB_CB(NFTJ_CB_IIF)));
		break;
	case IMR_META_OIF:
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB_CB(NFTJ_CB_OIF)));
		break;
	case IMR_META_IIFTYPE:
	case IMR_META_OIFTYPE:
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB_CB(NFTJ_CB_DEVTYPE)));
		if (e->meta == IMR_META_OIFTYPE)
			E(c, I_ALU32_IMM(BPF_RSH, R1, 16));
		E(c, I_ALU32_IMM(BPF_AND, R1, 0xffff));
		J(c, BPF_JEQ, R1, NFTJ_NO_DEV, fail);
		break;
	case IMR_META_PKTTYPE:
		/* nft_meta_get_eval_pkttype_lo() for looped-back packets */
		done = L(c);
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB(pkt_type)));
		J(c, BPF_JNE, R1, PACKET_LOOPBACK, done);
		E(c, I_LDX(BPF_W, R4, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
		E(c, I_ALU32_IMM(BPF_RSH, R4, 8));
		E(c, I_ALU32_IMM(BPF_AND, R4, 0xff));
		E(c, I_MOV64_IMM(R1, PACKET_MULTICAST));
		J(c, BPF_JEQ, R4, NFPROTO_IPV6, done);
		J(c, BPF_JNE, R4, NFPROTO_IPV4, fail);
		E(c, I_MOV64_REG(R3, R_NH));
		E(c, I_ALU64_IMM(BPF_ADD, R3, 17));
		JX(c, BPF_JGT, R3, R_END, fail);
		E(c, I_LDX(BPF_B, R4, R_NH, 16));
		E(c, I_ALU32_IMM(BPF_AND, R4, 0xf0));
		J(c, BPF_JEQ, R4, 0xe0, done);
		E(c, I_MOV64_IMM(R1, PACKET_BROADCAST));
		BIND(c, done);
		break;
	case IMR_META_SKUID:
	case IMR_META_SKGID:
		E(c, I_LDX(BPF_W, R4, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
		E(c, I_ALU64_IMM(BPF_AND, R4, NFTJ_F_HAS_SK << 16));
		J(c, BPF_JEQ, R4, 0, fail);
		E(c, I_ST(BPF_W, R_FP, FP_SCRATCH, 0));
		bpf_emit_ld_map_fd(c->b, R1, c->maps->meta_fd);
		E(c, I_MOV64_REG(R2, R_FP));
		E(c, I_ALU64_IMM(BPF_ADD, R2, FP_SCRATCH));
		E(c, I_CALL(BPF_FUNC_map_lookup_elem));
		J(c, BPF_JEQ, R0, 0, fail);
		E(c, I_LDX(BPF_W, R1, R0, e->meta == IMR_META_SKUID ?
			   offsetof(struct nftj_test_meta, skuid) :
			   offsetof(struct nftj_test_meta, skgid)));
		break;
	}
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
	bpf_emit_ld_imm64(c->b, R3, v);
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
		if (c->target == NFTJ_TARGET_LINK)
			link_payload(c, e, fail);
		else
			eval_payload(c, e, fail);
		break;
	case IMR_E_META:
		if (c->target != NFTJ_TARGET_LINK || !link_meta(c, e, fail))
			eval_meta(c, e, fail);
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

static void to_be_num(struct cg *c, int reg, int len, int vlen)
{
	mask_len(c, reg, len, vlen);	/* drop bytes beyond the compared */
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
	bpf_emit_ld_imm64(c->b, R3, k);
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

static void emit_relation(struct cg *c, const struct imr_stmt *s, int fail)
{
	int len = s->len, vlen = s->expr->len, ok;
	int lo = len > 8 ? 8 : len, vlo = vlen > 8 ? 8 : vlen;

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

/* look the key up; R0 = element value or NULL */
static void emit_set_lookup(struct cg *c, const struct imr_stmt *s, int fail)
{
	const struct nftj_set *set = c->p->sets[s->set].nset;
	bool lpm = set->flags & NFT_SET_INTERVAL;

	build_key(c, s->expr, fail);
	bpf_emit_ld_map_fd(c->b, R1, c->maps->set_fd ?
			   c->maps->set_fd[s->set] : -1);
	E(c, I_MOV64_REG(R2, R_FP));
	if (lpm) {
		E(c, I_ST(BPF_W, R_FP, FP_KEY, (int32_t)(set->key_len * 8)));
		E(c, I_ALU64_IMM(BPF_ADD, R2, FP_KEY));
	} else {
		E(c, I_ALU64_IMM(BPF_ADD, R2, FP_KEYDATA));
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

static void load_pkt_ptrs(struct cg *c);

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
	load_pkt_ptrs(c);
}

/*
 * The kernel returned what the program cannot take at this point: let
 * the interpreter redo this rule if nothing of it has happened yet, else
 * fall back (see CG_RET_FALLBACK).
 */
static void emit_svc_unexpected(struct cg *c)
{
	if (c->in_main && !c->side_effect)
		E(c, I_MOV32_IMM(R0, (int32_t)NFTJ_RET_RESUME(c->rule_idx)));
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

static bool chain_has_svc(const struct imr_chain *ch, size_t first,
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
static void zero_regs(struct cg *c)
{
	int i;

	for (i = 0; i < NFTJ_REGS_SIZE / 8; i++)
		E(c, I_ST(BPF_DW, R_FP, (int16_t)(FP_REGS + 8 * i), 0));
}

static void emit_counter(struct cg *c, uint32_t id)
{
	if (c->target == NFTJ_TARGET_LINK) {
		link_counter(c, id);
		return;
	}
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

static void emit_rule(struct cg *c, const struct imr_rule *r)
{
	int next = L(c), cont;
	size_t i;

	c->rule_id = r->id;
	c->b->cur_src = r->id + 1;
	c->l4_ok = false;
	c->nofrag_ok = false;
	c->side_effect = false;
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
			emit_counter(c, s->counter_id);
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

/* ---- pktinfo: nft_set_pktinfo_*() for the test target ------------------ */

void pktinfo_set(struct cg *c, int thoff_reg, int proto_reg,
		 uint32_t flags, int done)
{
	E(c, I_MOV64_REG(R_PKT, proto_reg));
	E(c, I_ALU64_IMM(BPF_LSH, R_PKT, 16));
	if (thoff_reg >= 0)
		E(c, I_ALU64_REG(BPF_OR, R_PKT, thoff_reg));
	E(c, I_ALU64_IMM(BPF_OR, R_PKT, (int32_t)flags));
	JA(c, done);
}

/* IPv4; validate: __nft_set_pktinfo_ipv4_validate(), else the plain one */
static void pktinfo_ipv4(struct cg *c, bool validate, int unspec, int done)
{
	int short_pkt = validate ? unspec : c->resume0, frag = L(c);

	E(c, I_MOV64_REG(R3, R_NH));
	E(c, I_ALU64_IMM(BPF_ADD, R3, 20));
	JX(c, BPF_JGT, R3, R_END, short_pkt);
	E(c, I_LDX(BPF_B, R1, R_NH, 0));
	if (validate) {
		E(c, I_MOV64_REG(R2, R1));
		E(c, I_ALU32_IMM(BPF_RSH, R2, 4));
		J(c, BPF_JNE, R2, 4, unspec);
	}
	E(c, I_ALU32_IMM(BPF_AND, R1, 0xf));
	if (validate)
		J(c, BPF_JLT, R1, 5, unspec);
	E(c, I_ALU32_IMM(BPF_LSH, R1, 2));		/* thoff */
	if (validate) {
		E(c, I_LDX(BPF_H, R2, R_NH, 2));	/* tot_len */
		E(c, I_BSWAP(R2, 16));
		E(c, I_LDX(BPF_W, R3, R_CTX, SKB(len)));
		if (c->nh_off)
			E(c, I_ALU32_IMM(BPF_SUB, R3, c->nh_off));
		JX(c, BPF_JLT, R3, R2, unspec);
		JX(c, BPF_JLT, R2, R1, unspec);
	}
	E(c, I_LDX(BPF_B, R5, R_NH, 9));		/* protocol */
	E(c, I_LDX(BPF_H, R2, R_NH, 6));
	E(c, I_BSWAP(R2, 16));
	E(c, I_ALU32_IMM(BPF_AND, R2, 0x1fff));
	J(c, BPF_JNE, R2, 0, frag);
	pktinfo_set(c, R1, R5, NFTJ_PKTINFO_L4, done);
	BIND(c, frag);
	pktinfo_set(c, R1, R5, NFTJ_PKTINFO_L4 | NFTJ_PKTINFO_FRAG, done);
}

#define IP6_EXT_HDRS_MAX	8

void jump_if_ext(struct cg *c, int reg, int label)
{
	static const int ext[] = { 0, 43, 44, 51, 59, 60 };
	unsigned int i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		J(c, BPF_JEQ, reg, ext[i], label);
}

/* ipv6_find_hdr(skb, &thoff, -1, &fragoff, IP6_FH_F_AUTH) */
static void find_hdr_ipv6(struct cg *c, int unspec, int done)
{
	int found = L(c), i;

	E(c, I_LDX(BPF_B, R3, R_NH, 6));	/* nexthdr */
	E(c, I_MOV64_IMM(R2, 40));		/* start */
	for (i = 0; i < IP6_EXT_HDRS_MAX; i++) {
		int ext = L(c), notfrag = L(c), hdrlen = L(c);
		int next = L(c), fragfirst = L(c), frag_ok = L(c);

		jump_if_ext(c, R3, ext);
		JA(c, found);
		BIND(c, ext);
		J(c, BPF_JEQ, R3, 59, found);	/* NEXTHDR_NONE */
		/* hp = skb_header_pointer(start, 2); routing and fragment
		 * read 4 bytes
		 */
		E(c, I_MOV64_REG(R4, R_NH));
		E(c, I_ALU64_REG(BPF_ADD, R4, R2));
		E(c, I_MOV64_REG(R5, R4));
		E(c, I_ALU64_IMM(BPF_ADD, R5, 2));
		JX(c, BPF_JGT, R5, R_END, unspec);
		J(c, BPF_JEQ, R3, 43, next);
		J(c, BPF_JNE, R3, 44, notfrag);
		BIND(c, next);
		E(c, I_ALU64_IMM(BPF_ADD, R5, 2));
		JX(c, BPF_JGT, R5, R_END, unspec);
		J(c, BPF_JNE, R3, 44, notfrag);
		/* fragment header */
		E(c, I_LDX(BPF_H, R5, R4, 2));
		E(c, I_BSWAP(R5, 16));
		E(c, I_ALU32_IMM(BPF_AND, R5, 0xfff8));
		J(c, BPF_JEQ, R5, 0, fragfirst);
		/* non-first fragment: protocol after it, thoff stays 0 */
		E(c, I_LDX(BPF_B, R3, R4, 0));
		J(c, BPF_JEQ, R3, 59, frag_ok);		/* NONE: ok */
		jump_if_ext(c, R3, unspec);
		BIND(c, frag_ok);
		pktinfo_set(c, -1, R3, NFTJ_PKTINFO_L4 | NFTJ_PKTINFO_FRAG,
			    done);
		BIND(c, fragfirst);
		E(c, I_MOV64_IMM(R5, 8));
		JA(c, hdrlen);
		BIND(c, notfrag);
		J(c, BPF_JEQ, R3, 51, found);	/* AUTH ends the walk */
		E(c, I_LDX(BPF_B, R5, R4, 1));
		E(c, I_ALU64_IMM(BPF_ADD, R5, 1));
		E(c, I_ALU64_IMM(BPF_LSH, R5, 3));
		BIND(c, hdrlen);
		/*
		 * A header longer than the rest of the packet: Linux 6.1
		 * fails (-EBADMSG, no transport header), later kernels walk
		 * on past the end.  Leave such packets to the interpreter.
		 */
		E(c, I_LDX(BPF_W, R0, R_CTX, SKB(len)));
		if (c->nh_off)
			E(c, I_ALU32_IMM(BPF_SUB, R0, c->nh_off));
		E(c, I_ALU32_REG(BPF_SUB, R0, R2));
		bpf_emit_jmp(c->b, BPF_JMP32 | BPF_JLT | BPF_X, R0, R5, 0,
			     c->resume0);
		E(c, I_LDX(BPF_B, R3, R4, 0));
		E(c, I_ALU64_REG(BPF_ADD, R2, R5));
	}
	JA(c, c->resume0);	/* more headers than unrolled: interpreter */
	BIND(c, found);
	pktinfo_set(c, R2, R3, NFTJ_PKTINFO_L4, done);
}

static void pktinfo_ipv6(struct cg *c, bool validate, int unspec, int done)
{
	E(c, I_MOV64_REG(R3, R_NH));
	E(c, I_ALU64_IMM(BPF_ADD, R3, 40));
	JX(c, BPF_JGT, R3, R_END, validate ? unspec : c->resume0);
	if (validate) {
		E(c, I_LDX(BPF_B, R1, R_NH, 0));
		E(c, I_ALU32_IMM(BPF_RSH, R1, 4));
		J(c, BPF_JNE, R1, 6, unspec);
		E(c, I_LDX(BPF_H, R1, R_NH, 4));
		E(c, I_BSWAP(R1, 16));
		E(c, I_ALU64_IMM(BPF_ADD, R1, 40));
		E(c, I_LDX(BPF_W, R3, R_CTX, SKB(len)));
		if (c->nh_off)
			E(c, I_ALU64_IMM(BPF_SUB, R3, c->nh_off));
		JX(c, BPF_JGT, R1, R3, unspec);
	}
	find_hdr_ipv6(c, unspec, done);
}

static void emit_pktinfo(struct cg *c)
{
	int unspec = L(c), done = L(c), v6 = L(c);

	if (c->target == NFTJ_TARGET_KERNEL) {
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
		E(c, I_ALU64_IMM(BPF_AND, R1, NFTJ_F_PKTINFO << 16));
		J(c, BPF_JEQ, R1, 0, c->resume0);
		E(c, I_LDX(BPF_W, R_PKT, R_CTX, SKB_CB(NFTJ_CB_PKTINFO)));
		E(c, I_MOV64_REG(R1, R_PKT));
		E(c, I_ALU64_IMM(BPF_AND, R1, 0xffff));
		J(c, BPF_JGT, R1, THOFF_MAX, c->resume0);
		JA(c, done);
	} else if (c->p->family == NFPROTO_IPV4) {
		pktinfo_ipv4(c, false, unspec, done);
	} else if (c->p->family == NFPROTO_IPV6) {
		pktinfo_ipv6(c, false, unspec, done);
	} else {
		E(c, I_LDX(BPF_W, R1, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
		E(c, I_ALU32_IMM(BPF_RSH, R1, 8));
		E(c, I_ALU32_IMM(BPF_AND, R1, 0xff));
		J(c, BPF_JEQ, R1, NFPROTO_IPV6, v6);
		J(c, BPF_JNE, R1, NFPROTO_IPV4, unspec);
		pktinfo_ipv4(c, true, unspec, done);
		BIND(c, v6);
		pktinfo_ipv6(c, true, unspec, done);
	}
	BIND(c, unspec);
	E(c, I_MOV64_IMM(R_PKT, 0));
	BIND(c, done);
}

/* ---- frames ------------------------------------------------------------ */

static void load_pkt_ptrs(struct cg *c)
{
	E(c, I_LDX(BPF_W, R_NH, R_CTX, SKB(data)));
	E(c, I_LDX(BPF_W, R_END, R_CTX, SKB(data_end)));
	if (c->nh_off)
		E(c, I_ALU64_IMM(BPF_ADD, R_NH, c->nh_off));
}

static void emit_tail_call(struct cg *c, size_t next_rule)
{
	E(c, I_MOV64_REG(R1, R_CTX));
	bpf_emit_ld_map_fd(c->b, R2, c->maps->prog_array_fd);
	E(c, I_MOV64_IMM(R3, (int32_t)(c->seg + 1)));
	E(c, I_CALL(BPF_FUNC_tail_call));
	/* only if the tail call failed: the interpreter goes on */
	if (c->target == NFTJ_TARGET_LINK) {
		link_unhandled(c);
		return;
	}
	E(c, I_MOV32_IMM(R0, (int32_t)NFTJ_RET_RESUME(next_rule)));
	E(c, I_EXIT());
}

static void emit_main(struct cg *c)
{
	const struct imr_chain *ch = &c->p->chains[0];
	size_t i, first = c->plan->first[c->seg];
	size_t end = c->plan->first[c->seg + 1];
	int body = L(c);

	c->in_main = true;
	c->resume0 = L(c);
	if (c->target == NFTJ_TARGET_LINK) {
		link_main_prologue(c);	/* and pktinfo */
	} else {
		E(c, I_MOV64_REG(R_CTX, R1));
		load_pkt_ptrs(c);
		if (c->target == NFTJ_TARGET_KERNEL &&
		    chain_has_svc(ch, first, end))
			zero_regs(c);
		if (c->target == NFTJ_TARGET_TEST) {
			E(c, I_ST(BPF_W, R_FP, FP_KEY, 0));
			bpf_emit_ld_map_fd(c->b, R1, c->maps->stats_fd);
			E(c, I_MOV64_REG(R2, R_FP));
			E(c, I_ALU64_IMM(BPF_ADD, R2, FP_KEY));
			E(c, I_CALL(BPF_FUNC_map_lookup_elem));
			J(c, BPF_JEQ, R0, 0, c->resume0);
			E(c, I_STX(BPF_DW, R_FP, R0, FP_STATS));
		}
		emit_pktinfo(c);
	}
	JA(c, body);
	BIND(c, c->resume0);
	if (c->target == NFTJ_TARGET_LINK) {
		link_unhandled(c);	/* no interpreter to resume in */
	} else {
		E(c, I_MOV32_IMM(R0, (int32_t)NFTJ_RET_RESUME(first)));
		E(c, I_EXIT());
	}
	BIND(c, body);

	for (i = first; i < end; i++) {
		c->rule_idx = i;
		if ((int)i == ch->first_unsupported) {
			c->b->cur_src = ch->rules[i].id + 1;
			if (c->target == NFTJ_TARGET_LINK) {
				link_unhandled(c);	/* compile refuses */
			} else {
				E(c, I_MOV32_IMM(R0,
						 (int32_t)NFTJ_RET_RESUME(i)));
				E(c, I_EXIT());
			}
			c->b->cur_src = 0;
			return;
		}
		emit_rule(c, &ch->rules[i]);
	}
	if (c->seg + 1 < c->plan->nseg)
		emit_tail_call(c, end);
	else
		emit_policy(c);
}

static void emit_subprog(struct cg *c, int chain)
{
	const struct imr_chain *ch = &c->p->chains[chain];
	size_t i;

	c->in_main = false;
	BIND(c, c->chain_label[chain]);
	E(c, I_MOV64_REG(R_CTX, R1));
	E(c, I_MOV64_REG(R_PKT, R2));
	if (c->target == NFTJ_TARGET_LINK)
		link_subprog_prologue(c);
	else if (c->target == NFTJ_TARGET_TEST)
		E(c, I_STX(BPF_DW, R_FP, R3, FP_STATS));
	if (c->target != NFTJ_TARGET_LINK)
		load_pkt_ptrs(c);
	if (c->target == NFTJ_TARGET_KERNEL &&
	    chain_has_svc(ch, 0, ch->nrules))
		zero_regs(c);
	for (i = 0; i < ch->nrules; i++)
		emit_rule(c, &ch->rules[i]);
	emit_chain_return(c);
}

static int cg_init(struct cg *c, const struct imr_prog *p,
		   enum nftj_target target, const struct cg_opts *opts,
		   const struct cg_maps *maps, struct bpf_buf *b)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->target = target;
	c->opts = opts;
	c->maps = maps;
	c->b = b;
	c->nh_off = cg_nh_offset(target);
	c->chain_label = malloc((p->nchains ? p->nchains : 1) * sizeof(int));
	if (!c->chain_label)
		return -ENOMEM;
	for (i = 0; i < p->nchains; i++)
		c->chain_label[i] = -1;
	if (target == NFTJ_TARGET_LINK)
		c->th_win = link_th_window(p);
	return 0;
}

int cg_emit(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_opts *opts, const struct cg_maps *maps,
	    const struct cg_plan *plan, size_t seg, struct bpf_buf *b)
{
	struct cg c;
	bool *done;
	size_t i;
	int again, err;

	err = cg_init(&c, p, target, opts, maps, b);
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
	return bpf_buf_finish(b);
}

/* ---- planning ---------------------------------------------------------- */

static unsigned int chain_cost(struct cg *c, int chain);

/*
 * The branches the verifier may keep pending for one rule: its own
 * conditional jumps plus, for every call, the called chain's.  The
 * chains the rule calls directly are marked in `direct` (may be NULL).
 */
static unsigned int rule_cost(struct cg *c, const struct imr_rule *r,
			      bool *direct)
{
	struct bpf_buf scratch, *saved = c->b;
	int *labels = c->chain_label;
	unsigned int cost;
	size_t i;

	bpf_buf_init(&scratch);
	c->b = &scratch;
	c->chain_label = malloc(c->p->nchains * sizeof(int));
	if (!c->chain_label) {
		c->chain_label = labels;
		c->b = saved;
		c->plan_err = -ENOMEM;
		return UINT32_MAX / 2;
	}
	for (i = 0; i < c->p->nchains; i++)
		c->chain_label[i] = -1;
	emit_rule(c, r);
	cost = scratch.ncond + 1;
	for (i = 1; i < c->p->nchains; i++) {
		if (c->chain_label[i] < 0)
			continue;
		cost += chain_cost(c, (int)i);
		if (direct)
			direct[i] = true;
	}
	free(c->chain_label);
	c->chain_label = labels;
	c->b = saved;
	bpf_buf_free(&scratch);
	return cost;
}

/* the marked chains as a list: c->calls[chain] */
static void set_calls(struct cg *c, int chain, const bool *direct)
{
	struct cg_calls *k = &c->calls[chain];
	size_t i;

	k->v = malloc(c->p->nchains * sizeof(int));
	if (!k->v) {
		c->plan_err = -ENOMEM;
		return;
	}
	for (i = 1; i < c->p->nchains; i++)
		if (direct[i])
			k->v[k->n++] = (int)i;
}

static unsigned int chain_cost(struct cg *c, int chain)
{
	const struct imr_chain *ch = &c->p->chains[chain];
	unsigned int cost = 1;
	bool *direct;
	size_t i;

	if (c->chain_cost[chain])
		return c->chain_cost[chain];
	direct = calloc(c->p->nchains, sizeof(bool));
	if (!direct) {
		c->plan_err = -ENOMEM;
		return UINT32_MAX / 2;
	}
	for (i = 0; i < ch->nrules; i++)
		cost += rule_cost(c, &ch->rules[i], direct);
	set_calls(c, chain, direct);
	free(direct);
	c->chain_cost[chain] = cost;
	return cost;
}

/*
 * Collect into fn[] the chains reachable from `chain` (itself included)
 * that are not stamped `cur` yet, stamping them.  Depth is bounded by
 * IMR_MAX_CALL_DEPTH: the builder refuses deeper jumps and loops.
 */
static void reach(const struct cg *c, int chain, unsigned int *stamp,
		  unsigned int cur, int *fn, size_t *nfn)
{
	const struct cg_calls *k = &c->calls[chain];
	size_t i;

	if (stamp[chain] == cur)
		return;
	stamp[chain] = cur;
	fn[(*nfn)++] = chain;
	for (i = 0; i < k->n; i++)
		reach(c, k->v[i], stamp, cur, fn, nfn);
}

struct plan_ctx {
	unsigned int *stamp;	/* per chain: the walk that reached it */
	unsigned int cur;	/* the current walk */
	size_t *seg_of;		/* per chain: the last segment holding it,
				 * counted from 1; 0 none */
	int *fn;		/* the chains one rule reaches */
	bool *direct;		/* the chains one rule calls */
	size_t nfuncs;		/* functions of the current segment */
};

static void plan_ctx_free(struct plan_ctx *x)
{
	free(x->stamp);
	free(x->seg_of);
	free(x->fn);
	free(x->direct);
}

/*
 * The chains the rule whose direct calls x->direct marks reaches,
 * listed in x->fn: their number.
 */
static size_t rule_reach(const struct cg *c, struct plan_ctx *x)
{
	size_t ch, nfn = 0;

	x->cur++;
	for (ch = 1; ch < c->p->nchains; ch++)
		if (x->direct[ch])
			reach(c, (int)ch, x->stamp, x->cur, x->fn, &nfn);
	return nfn;
}

/* planning lays the code out without maps */
static const struct cg_maps no_maps = {
	.prog_array_fd = -1, .stats_fd = -1, .meta_fd = -1,
};

/* the rule at index i is where the program stops, and why */
static void plan_cut(struct cg_plan *plan, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void plan_cut(struct cg_plan *plan, size_t i, const char *fmt, ...)
{
	va_list ap;

	plan->cut = (int)i;
	va_start(ap, fmt);
	vsnprintf(plan->cut_reason, sizeof(plan->cut_reason), fmt, ap);
	va_end(ap);
}

int cg_plan(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_opts *opts, struct cg_plan *plan)
{
	const struct imr_chain *ch = &p->chains[0];
	size_t i, k, n, nfn, nch = p->nchains ? p->nchains : 1,
	       end = ch->first_unsupported < 0 ? ch->nrules :
			(size_t)ch->first_unsupported;
	struct plan_ctx x = { .nfuncs = 1 };
	unsigned int used = 0, cost;
	struct cg c;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->cut = -1;
	err = cg_init(&c, p, target, opts, &no_maps, NULL);
	if (err)
		return err;
	c.chain_cost = calloc(nch, sizeof(unsigned int));
	c.calls = calloc(nch, sizeof(*c.calls));
	x.stamp = calloc(nch, sizeof(*x.stamp));
	x.seg_of = calloc(nch, sizeof(*x.seg_of));
	x.fn = calloc(nch, sizeof(*x.fn));
	x.direct = calloc(nch, sizeof(*x.direct));
	if (!c.chain_cost || !c.calls || !x.stamp || !x.seg_of || !x.fn ||
	    !x.direct) {
		err = -ENOMEM;
		goto out;
	}
	plan->nseg = 1;
	for (i = 0; i < end; i++) {
		const struct imr_rule *r = &ch->rules[i];

		memset(x.direct, 0, nch * sizeof(*x.direct));
		cost = rule_cost(&c, r, x.direct);
		if (c.plan_err) {
			err = c.plan_err;
			goto out;
		}
		nfn = rule_reach(&c, &x);
		/* the functions the current segment does not have yet */
		for (k = 0, n = nfn; k < nfn; k++)
			if (x.seg_of[x.fn[k]] == plan->nseg)
				n--;
		if (used + cost <= CG_SEG_BUDGET &&
		    x.nfuncs + n <= CG_MAX_FUNCS) {
			used += cost;
		} else {
			if (cost > CG_SEG_BUDGET) {
				/* the chains it jumps to cannot be split */
				plan_cut(plan, i, "too large for one BPF program (%u branches, %d at most)",
					 cost, CG_SEG_BUDGET);
				break;
			}
			if (1 + nfn > CG_MAX_FUNCS) {
				plan_cut(plan, i, "reaches %zu chains: one BPF program holds %d functions at most, one per chain",
					 nfn, CG_MAX_FUNCS);
				break;
			}
			if (plan->nseg == CG_MAX_SEGS) {
				plan_cut(plan, i, "program size: beyond %d segments of %d branches or %d functions",
					 CG_MAX_SEGS, CG_SEG_BUDGET,
					 CG_MAX_FUNCS);
				break;
			}
			plan->first[plan->nseg++] = i;
			used = cost;
			x.nfuncs = 1;
			n = nfn;
		}
		for (k = 0; k < nfn; k++)
			x.seg_of[x.fn[k]] = plan->nseg;
		x.nfuncs += n;
	}
	plan->first[plan->nseg] = ch->nrules;
out:
	if (c.calls)
		for (k = 0; k < nch; k++)
			free(c.calls[k].v);
	free(c.calls);
	free(c.chain_cost);
	free(c.chain_label);
	plan_ctx_free(&x);
	return err;
}
