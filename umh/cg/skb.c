// SPDX-License-Identifier: GPL-2.0
/*
 * What the test and kernel targets share: programs of type
 * BPF_PROG_TYPE_SCHED_CLS with a struct __sk_buff context, direct packet
 * access (R7 the network header, R8 data_end) and bpf_skb_load_bytes()
 * for what is not linear; hook metadata in cb[] (the uapi header's
 * NFTJ_CB_* layout).
 */
#include <stddef.h>

#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cg.h"

void cg_skb_pkt_ptrs(struct cg *c)
{
	E(c, I_LDX(BPF_W, R_NH, R_CTX, SKB(data)));
	E(c, I_LDX(BPF_W, R_END, R_CTX, SKB(data_end)));
	if (c->nh_off)
		E(c, I_ALU64_IMM(BPF_ADD, R_NH, c->nh_off));
}

/* ---- packet and metadata --------------------------------------------- */

void cg_skb_payload(struct cg *c, const struct imr_expr *e, int fail)
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
		cg_th_checks(c, e, fail);
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
	cg_load_value(c, R3, 0, len);
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
			cg_test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
			BIND(c, linear);
		} else {
			cg_test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
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
	cg_load_value(c, R_FP, FP_SCRATCH, len);
	BIND(c, done);
}

void cg_skb_meta(struct cg *c, const struct imr_expr *e, int fail)
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
		cg_meta_l4proto(c, fail);
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
		bbuf_emit_ld_map_fd(c->b, R1, c->maps->meta_fd);
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

/* ---- pktinfo: the headers by direct packet access ---------------------- */

static void skb_window(struct cg *c, int len, int short_pkt)
{
	E(c, I_MOV64_REG(R3, R_NH));
	E(c, I_ALU64_IMM(BPF_ADD, R3, len));
	JX(c, BPF_JGT, R3, R_END, short_pkt);
}

/* R4 = network header + off_reg, its len bytes in the linear data */
static int skb_read(struct cg *c, int off_reg, int len, int fail)
{
	E(c, I_MOV64_REG(R4, R_NH));
	E(c, I_ALU64_REG(BPF_ADD, R4, off_reg));
	E(c, I_MOV64_REG(R5, R4));
	E(c, I_ALU64_IMM(BPF_ADD, R5, len));
	JX(c, BPF_JGT, R5, R_END, fail);
	return R4;
}

static void skb_pkt_len(struct cg *c, int reg)
{
	E(c, I_LDX(BPF_W, reg, R_CTX, SKB(len)));
	if (c->nh_off)
		E(c, I_ALU32_IMM(BPF_SUB, reg, c->nh_off));
}

static void skb_nfproto(struct cg *c, int reg)
{
	E(c, I_LDX(BPF_W, reg, R_CTX, SKB_CB(NFTJ_CB_HOOK)));
	E(c, I_ALU32_IMM(BPF_RSH, reg, 8));
	E(c, I_ALU32_IMM(BPF_AND, reg, 0xff));
}

/* R8 is data_end: the walk keeps its state in R9 (free until pktinfo
 * is set) and R2 (direct reads use R4 and R5 only) */
static const struct cg_hdr_ops skb_hdr_ops = {
	.nh_reg = R_PKT, .off_reg = R2,
	.window = skb_window, .read = skb_read, .pkt_len = skb_pkt_len,
	.nfproto = skb_nfproto,
};

/* the test target: pktinfo computed as the kernel does */
void cg_skb_pktinfo(struct cg *c)
{
	cg_pktinfo(c, &skb_hdr_ops);
}
