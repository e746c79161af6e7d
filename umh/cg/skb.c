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
		if (!c->l4_ok)
			cg_test_flag(c, NFTJ_PKTINFO_L4, true, fail);
		c->l4_ok = true;
		if (!e->payload.fast && !c->nofrag_ok) {
			cg_test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
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

/* ---- pktinfo: nft_set_pktinfo_*() ------------------------------------- */

void cg_pktinfo_set(struct cg *c, int thoff_reg, int proto_reg,
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
	cg_pktinfo_set(c, R1, R5, NFTJ_PKTINFO_L4, done);
	BIND(c, frag);
	cg_pktinfo_set(c, R1, R5, NFTJ_PKTINFO_L4 | NFTJ_PKTINFO_FRAG, done);
}

#define IP6_EXT_HDRS_MAX	8

void cg_jump_if_ext(struct cg *c, int reg, int label)
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

		cg_jump_if_ext(c, R3, ext);
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
		cg_jump_if_ext(c, R3, unspec);
		BIND(c, frag_ok);
		cg_pktinfo_set(c, -1, R3, NFTJ_PKTINFO_L4 | NFTJ_PKTINFO_FRAG,
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
	cg_pktinfo_set(c, R2, R3, NFTJ_PKTINFO_L4, done);
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

/* the test target: pktinfo computed as the kernel does */
void cg_skb_pktinfo(struct cg *c)
{
	int unspec = L(c), done = L(c), v6 = L(c);

	if (c->p->family == NFPROTO_IPV4) {
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
