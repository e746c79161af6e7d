// SPDX-License-Identifier: GPL-2.0
/*
 * pktinfo (R9, the NFTJ_CB_PKTINFO layout of the uapi header) as the
 * kernel computes it: nft_set_pktinfo_ipv4(), nft_set_pktinfo_ipv6()
 * (ipv6_find_hdr() unrolled) and their _validate variants for inet
 * chains.  One walk for every target that computes it; how a target
 * reads header bytes is its struct cg_hdr_ops (skb.c: direct packet
 * access, link.c: dynptr slices).
 */
#include <linux/bpf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "cg.h"

/* extension headers ipv6_find_hdr() follows before it gives up */
#define IP6_EXT_HDRS_MAX	8

#define NEXTHDR_HOP		0
#define NEXTHDR_ROUTING		43
#define NEXTHDR_FRAGMENT	44
#define NEXTHDR_AUTH		51
#define NEXTHDR_NONE		59
#define NEXTHDR_DEST		60

/* pktinfo = thoff_reg (-1: none) | proto_reg << 16 | flags; goto done */
static void pktinfo_set(struct cg *c, int thoff_reg, int proto_reg,
			uint32_t flags, int done)
{
	if (proto_reg != R_PKT)
		E(c, I_MOV64_REG(R_PKT, proto_reg));
	E(c, I_ALU64_IMM(BPF_LSH, R_PKT, 16));
	if (thoff_reg >= 0)
		E(c, I_ALU64_REG(BPF_OR, R_PKT, thoff_reg));
	E(c, I_ALU64_IMM(BPF_OR, R_PKT, (int32_t)flags));
	JA(c, done);
}

/*
 * Every path of the walk leaves its own constants in R9: the flags, and
 * thoff and the protocol where they are known (40 for the first header,
 * 40 + 8 after a fragment header, 59 for NEXTHDR_NONE, ...).  The rules'
 * tests of the flags decide their branch on such constants, the
 * verifier marks R9 precise, and the states where the walk ends never
 * compare equal: every later branch, and every chain the program jumps
 * to, was verified once per walk path (the verifier's complexity limit
 * after a few rules).  R9 goes through the stack instead: a 32-bit store
 * at an offset that is not a multiple of 8 is no register spill (6.1 to
 * 6.18: check_stack_write_fixed_off(), the bytes are STACK_MISC), and
 * reading it back gives a scalar of unknown value (0 stays 0: the
 * unspec path's STACK_ZERO).  Nothing after relies on R9's bounds: the
 * code masks what it takes from it (thoff with THOFF_MAX or 0xffff, the
 * protocol with 0xff, a flag with its bit).  The slot is free here (the
 * tree runs' FP_TREE_BEST).
 */
static void pktinfo_forget(struct cg *c)
{
	E(c, I_STX(BPF_W, R_FP, R_PKT, FP_PKTINFO));
	E(c, I_LDX(BPF_W, R_PKT, R_FP, FP_PKTINFO));
}

/* jump to label if reg holds an extension header ipv6_find_hdr() walks */
static void jump_if_ext(struct cg *c, int reg, int label)
{
	static const int ext[] = {
		NEXTHDR_HOP, NEXTHDR_ROUTING, NEXTHDR_FRAGMENT, NEXTHDR_AUTH,
		NEXTHDR_NONE, NEXTHDR_DEST,
	};
	unsigned int i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		J(c, BPF_JEQ, reg, ext[i], label);
}

/* IPv4; validate: __nft_set_pktinfo_ipv4_validate(), else the plain one */
static void pktinfo_ipv4(struct cg *c, const struct cg_hdr_ops *h,
			 bool validate, int unspec, int done)
{
	int frag = L(c);

	h->window(c, 20, validate ? unspec : c->resume0);
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
		h->pkt_len(c, R3);
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

/*
 * One extension header of ipv6_find_hdr(skb, &thoff, -1, &fragoff,
 * IP6_FH_F_AUTH): h->nh_reg is its type, h->off_reg its offset; on to
 * the next one, or to found (the transport header), unspec (the header
 * is not in the packet: -EBADMSG) or done (a non-first fragment).
 */
static void ipv6_ext_hdr(struct cg *c, const struct cg_hdr_ops *h,
			 int found, int unspec, int done)
{
	int nh = h->nh_reg, off = h->off_reg, ext = L(c), two = L(c);
	int got = L(c), frag = L(c), hdrlen = L(c), fragfirst = L(c);
	int frag_ok = L(c), p;

	jump_if_ext(c, nh, ext);
	JA(c, found);
	BIND(c, ext);
	J(c, BPF_JEQ, nh, NEXTHDR_NONE, found);
	J(c, BPF_JEQ, nh, NEXTHDR_FRAGMENT, frag);
	/* hp = skb_header_pointer(start, 2); the routing header reads 4 */
	J(c, BPF_JNE, nh, NEXTHDR_ROUTING, two);
	p = h->read(c, off, 4, unspec);
	JA(c, got);
	BIND(c, two);
	p = h->read(c, off, 2, unspec);
	BIND(c, got);
	E(c, I_LDX(BPF_B, R3, p, 0));			/* hp->nexthdr */
	J(c, BPF_JEQ, nh, NEXTHDR_AUTH, found);	/* AUTH ends the walk */
	E(c, I_LDX(BPF_B, R5, p, 1));
	E(c, I_ALU64_IMM(BPF_ADD, R5, 1));
	E(c, I_ALU64_IMM(BPF_LSH, R5, 3));
	JA(c, hdrlen);

	BIND(c, frag);					/* fragment header */
	p = h->read(c, off, 4, unspec);
	E(c, I_LDX(BPF_B, R3, p, 0));
	E(c, I_LDX(BPF_H, R5, p, 2));
	E(c, I_BSWAP(R5, 16));
	E(c, I_ALU32_IMM(BPF_AND, R5, 0xfff8));
	J(c, BPF_JEQ, R5, 0, fragfirst);
	/* non-first fragment: protocol after it, thoff stays 0 */
	J(c, BPF_JEQ, R3, NEXTHDR_NONE, frag_ok);
	jump_if_ext(c, R3, unspec);
	BIND(c, frag_ok);
	pktinfo_set(c, -1, R3, NFTJ_PKTINFO_L4 | NFTJ_PKTINFO_FRAG, done);
	BIND(c, fragfirst);
	E(c, I_MOV64_IMM(R5, 8));

	BIND(c, hdrlen);
	/*
	 * A header longer than the rest of the packet: Linux 6.1 fails
	 * (-EBADMSG, no transport header), later kernels walk on past the
	 * end.  Leave such packets to the interpreter.
	 */
	h->pkt_len(c, R0);
	E(c, I_ALU32_REG(BPF_SUB, R0, off));
	bbuf_emit_jmp(c->b, BPF_JMP32 | BPF_JLT | BPF_X, R0, R5, 0,
		      c->resume0);
	E(c, I_MOV64_REG(nh, R3));
	E(c, I_ALU64_REG(BPF_ADD, off, R5));
}

/*
 * IPv6; validate: __nft_set_pktinfo_ipv6_validate(), else the plain one.
 * The walk ends at set (pktinfo_forget(), then done), or where the
 * target marks an inet chain's IPv6 packet (h->inet_v6) after it.
 */
static void pktinfo_ipv6(struct cg *c, const struct cg_hdr_ops *h,
			 bool validate, int unspec, int set, int done)
{
	int walked = validate && h->inet_v6 ? L(c) : set, found = L(c), i;

	h->window(c, 40, validate ? unspec : c->resume0);
	if (validate) {
		E(c, I_LDX(BPF_B, R1, R_NH, 0));
		E(c, I_ALU32_IMM(BPF_RSH, R1, 4));
		J(c, BPF_JNE, R1, 6, unspec);
		E(c, I_LDX(BPF_H, R1, R_NH, 4));	/* payload_len */
		E(c, I_BSWAP(R1, 16));
		E(c, I_ALU64_IMM(BPF_ADD, R1, 40));
		h->pkt_len(c, R3);
		JX(c, BPF_JGT, R1, R3, unspec);
	}
	E(c, I_LDX(BPF_B, h->nh_reg, R_NH, 6));		/* nexthdr */
	E(c, I_MOV64_IMM(h->off_reg, 40));		/* start */
	for (i = 0; i < IP6_EXT_HDRS_MAX; i++)
		ipv6_ext_hdr(c, h, found, unspec, walked);
	JA(c, c->resume0);	/* more headers than unrolled: interpreter */
	BIND(c, found);
	pktinfo_set(c, h->off_reg, h->nh_reg, NFTJ_PKTINFO_L4, walked);
	if (walked == set)
		return;
	BIND(c, walked);
	pktinfo_forget(c);
	h->inet_v6(c);
	JA(c, done);
}

void cg_pktinfo(struct cg *c, const struct cg_hdr_ops *h)
{
	int unspec = L(c), set = L(c), done = L(c), v6 = L(c);

	switch (c->p->family) {
	case NFPROTO_IPV4:
		pktinfo_ipv4(c, h, false, unspec, set);
		break;
	case NFPROTO_IPV6:
		pktinfo_ipv6(c, h, false, unspec, set, done);
		break;
	default:
		/* inet: the hook's family says which */
		h->nfproto(c, R1);
		J(c, BPF_JEQ, R1, NFPROTO_IPV6, v6);
		J(c, BPF_JNE, R1, NFPROTO_IPV4,
		  h->other_unhandled ? c->resume0 : unspec);
		pktinfo_ipv4(c, h, true, unspec, set);
		BIND(c, v6);
		pktinfo_ipv6(c, h, true, unspec, set, done);
		break;
	}
	BIND(c, unspec);
	E(c, I_MOV64_IMM(R_PKT, 0));
	BIND(c, set);
	pktinfo_forget(c);
	BIND(c, done);
}
