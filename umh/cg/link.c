// SPDX-License-Identifier: GPL-2.0
/*
 * The link target: what BPF_PROG_TYPE_NETFILTER programs do differently.
 *
 * Such a program runs at a netfilter hook (attached with BPF_LINK_CREATE)
 * with a struct bpf_nf_ctx { state, skb } as its context.  It has no
 * direct packet access: packet bytes come from bpf_dynptr_slice() on a
 * dynptr made by bpf_dynptr_from_skb() (kfuncs, ids from the kernel's
 * BTF), hook metadata from struct nf_hook_state and struct sk_buff read
 * through BTF pointers.  It can only return NF_DROP or NF_ACCEPT: there
 * is no interpreter to resume in.
 *
 * A slice is a kfunc call (about 3 ns on the machine this was written
 * on), so the prologue takes two windows once per packet:
 *
 *   R7  the fixed network header, 20 bytes (IPv4) or 40 (IPv6), without
 *       a copy buffer: the IP stack keeps that header linear at these
 *       hooks; if it is not, the packet is "unhandled" (below);
 *   R8  the first th_win bytes of the transport header when they are
 *       linear, else NULL.
 *
 * A load inside a window is one instruction; any other load is a slice
 * of its own with the scratch buffer, which reads non-linear data like
 * the kernel's skb_copy_bits() and fails past the end of the packet.
 * The kernel's payload fast path reads linear transport bytes even of
 * non-first fragments; a window (or a slice without buffer) succeeds
 * exactly when the bytes are linear, so the fragment check happens where
 * the kernel does it.
 *
 * Unhandled packets: the few shapes the test target leaves to the
 * interpreter (an IPv6 extension header longer than the packet, more
 * extension headers than the unrolled walk, a header that is not linear,
 * a failed tail call) are dropped - the program fails closed - and
 * counted in struct nftj_link_stats.unhandled.
 */
#include <errno.h>
#include <stddef.h>

#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "build.h"
#include "cg.h"
#include "linkbtf.h"
#include "nflink.h"

#define R_WNH		BPF_REG_7	/* network header window */
#define R_WTH		BPF_REG_8	/* transport header window or NULL */

#define FP_DYNP		(-8)	/* every frame: pointer to the dynptr */
#define FP_DYNPTR	(-112)	/* main frame: struct bpf_dynptr */

#define NH_WIN4		20
#define NH_WIN6		40
/*
 * inet: R9 bit 32 (above the pktinfo layout) is set when R7 is the
 * 40-byte IPv6 window; the verifier tracks it per path, so a load from
 * bytes 20..39 of the window is only explored where the window has them
 */
#define PKT_NH_WIN6	32
#define TH_WIN_MAX	20	/* a TCP header without options */

#define IP6_EXT_HDRS_MAX	8

/* counters sit where the test target's do */
_Static_assert(sizeof(struct nftj_link_stats) ==
	       sizeof(struct nftj_test_stats), "statistics header size");

static const struct link_btf *B(const struct cg *c)
{
	return c->opts->btf;
}

static void kfunc(struct cg *c, int32_t btf_id)
{
	E(c, BPF_I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, btf_id));
}

/* dst = &map_value(stats)[off], resolved by the verifier: no lookup */
static void stats_addr(struct cg *c, int dst, uint32_t off)
{
	E(c, BPF_I(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_VALUE, 0,
		   c->maps->stats_fd));
	E(c, BPF_I(0, 0, 0, 0, (int32_t)off));
}

static void load_skb(struct cg *c, int dst)
{
	E(c, I_LDX(BPF_DW, dst, R_CTX, B(c)->ctx_skb));
}

static void load_state(struct cg *c, int dst)
{
	E(c, I_LDX(BPF_DW, dst, R_CTX, B(c)->ctx_state));
}

/*
 * R0 = bpf_dynptr_slice(dynptr, offset, buffer, len): the offset is in
 * R2 already (off_in_r2) or the constant off; the buffer is the scratch
 * area or NULL (then only linear bytes are returned).
 */
static void slice(struct cg *c, bool off_in_r2, int off, bool buf, int len)
{
	if (!off_in_r2)
		E(c, I_MOV64_IMM(R2, off));
	E(c, I_LDX(BPF_DW, R1, R_FP, FP_DYNP));
	if (buf) {
		E(c, I_MOV64_REG(R3, R_FP));
		E(c, I_ALU64_IMM(BPF_ADD, R3, FP_SCRATCH));
	} else {
		E(c, I_MOV64_IMM(R3, 0));
	}
	E(c, I_MOV64_IMM(R4, len));
	kfunc(c, B(c)->kf_slice);
}

/* R2 = thoff + off */
static void th_offset(struct cg *c, int off)
{
	E(c, I_MOV64_REG(R2, R_PKT));
	E(c, I_ALU64_IMM(BPF_AND, R2, 0xffff));
	if (off)
		E(c, I_ALU64_IMM(BPF_ADD, R2, off));
}

/* ---- packet and metadata --------------------------------------------- */

static void link_payload(struct cg *c, const struct imr_expr *e, int fail)
{
	int off = e->payload.offset, len = e->payload.len;
	bool win = !c->opts->slow_loads;
	int slow = L(c), done = L(c), copy;

	switch (e->payload.base) {
	case IMR_BASE_LL:
		/* no IMR_CAP_LL: the builder refuses these rules */
		c->b->err = -EINVAL;
		return;
	case IMR_BASE_NH:
		if (win && off + len <= (c->p->family == NFPROTO_IPV6 ?
					 NH_WIN6 : NH_WIN4)) {
			cg_load_value(c, R_WNH, off, len);
			return;
		}
		if (win && off + len <= NH_WIN6 &&
		    c->p->family == NFPROTO_INET) {
			E(c, I_MOV64_REG(R4, R_PKT));
			E(c, I_ALU64_IMM(BPF_RSH, R4, PKT_NH_WIN6));
			J(c, BPF_JEQ, R4, 0, slow);
			cg_load_value(c, R_WNH, off, len);
			JA(c, done);
		}
		BIND(c, slow);
		slice(c, false, off, true, len);
		J(c, BPF_JEQ, R0, 0, fail);
		cg_load_value(c, R0, 0, len);
		BIND(c, done);
		return;
	case IMR_BASE_TH:
		break;
	}
	if (!c->l4_ok)
		cg_test_flag(c, NFTJ_PKTINFO_L4, true, fail);
	c->l4_ok = true;
	if (!e->payload.fast && !c->nofrag_ok) {
		cg_test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
		c->nofrag_ok = true;
	}
	if (win && off + len <= (int)c->th_win) {
		J(c, BPF_JEQ, R_WTH, 0, slow);
		cg_load_value(c, R_WTH, off, len);
		JA(c, done);
	}
	BIND(c, slow);
	if (e->payload.fast && !c->nofrag_ok) {
		/* the fast path: linear bytes, fragment or not */
		copy = L(c);
		th_offset(c, off);
		slice(c, true, 0, false, len);
		J(c, BPF_JEQ, R0, 0, copy);
		cg_load_value(c, R0, 0, len);
		JA(c, done);
		BIND(c, copy);
		cg_test_flag(c, NFTJ_PKTINFO_FRAG, false, fail);
	}
	th_offset(c, off);
	slice(c, true, 0, true, len);
	J(c, BPF_JEQ, R0, 0, fail);
	cg_load_value(c, R0, 0, len);
	BIND(c, done);
}

/* R1 = dev->ifindex of state->in/out, 0 without a device (nft_meta) */
static void meta_ifindex(struct cg *c, int16_t dev_off)
{
	int have = L(c), done = L(c);

	load_state(c, R1);
	E(c, I_LDX(BPF_DW, R1, R1, dev_off));
	J(c, BPF_JNE, R1, 0, have);
	E(c, I_MOV64_IMM(R1, 0));
	JA(c, done);
	BIND(c, have);
	E(c, I_LDX(BPF_W, R1, R1, B(c)->dev_ifindex));
	BIND(c, done);
}

/* nft_meta_get_eval_pkttype_lo() for looped-back packets */
static void meta_pkttype(struct cg *c, int fail)
{
	const struct link_btf *b = B(c);
	int done = L(c);

	load_skb(c, R1);
	E(c, I_LDX(BPF_B, R1, R1, b->skb_pkt_type));
	if (b->skb_pkt_type_shift)
		E(c, I_ALU32_IMM(BPF_RSH, R1, b->skb_pkt_type_shift));
	E(c, I_ALU32_IMM(BPF_AND, R1, 7));
	J(c, BPF_JNE, R1, PACKET_LOOPBACK, done);
	load_state(c, R4);
	E(c, I_LDX(BPF_B, R4, R4, b->st_pf));
	E(c, I_MOV64_IMM(R1, PACKET_MULTICAST));
	J(c, BPF_JEQ, R4, NFPROTO_IPV6, done);
	J(c, BPF_JNE, R4, NFPROTO_IPV4, fail);
	E(c, I_LDX(BPF_B, R4, R_WNH, 16));
	E(c, I_ALU32_IMM(BPF_AND, R4, 0xf0));
	J(c, BPF_JEQ, R4, 0xe0, done);
	E(c, I_MOV64_IMM(R1, PACKET_BROADCAST));
	BIND(c, done);
}

static void link_meta(struct cg *c, const struct imr_expr *e, int fail)
{
	const struct link_btf *b = B(c);

	switch (e->meta) {
	case IMR_META_LEN:
		load_skb(c, R1);
		E(c, I_LDX(BPF_W, R1, R1, b->skb_len));
		return;
	case IMR_META_PROTOCOL:
		load_skb(c, R1);
		E(c, I_LDX(BPF_H, R1, R1, b->skb_protocol));
		return;
	case IMR_META_MARK:
		load_skb(c, R1);
		E(c, I_LDX(BPF_W, R1, R1, b->skb_mark));
		return;
	case IMR_META_NFPROTO:
		load_state(c, R1);
		E(c, I_LDX(BPF_B, R1, R1, b->st_pf));
		return;
	case IMR_META_IIF:
		meta_ifindex(c, b->st_in);
		return;
	case IMR_META_OIF:
		meta_ifindex(c, b->st_out);
		return;
	case IMR_META_IIFTYPE:
	case IMR_META_OIFTYPE:
		load_state(c, R1);
		E(c, I_LDX(BPF_DW, R1, R1, e->meta == IMR_META_IIFTYPE ?
			   b->st_in : b->st_out));
		J(c, BPF_JEQ, R1, 0, fail);
		E(c, I_LDX(BPF_H, R1, R1, b->dev_type));
		return;
	case IMR_META_PKTTYPE:
		meta_pkttype(c, fail);
		return;
	case IMR_META_L4PROTO:
		cg_meta_l4proto(c, fail);	/* pktinfo, as every target */
		return;
	case IMR_META_SKUID:
	case IMR_META_SKGID:
		/* no IMR_CAP_SOCKET: the builder refuses these rules */
		c->b->err = -EINVAL;
		return;
	}
}

/* ---- statistics and exits ---------------------------------------------- */

static void link_counter(struct cg *c, uint32_t id)
{
	stats_addr(c, R1, (uint32_t)(sizeof(struct nftj_link_stats) +
				     id * sizeof(struct nftj_counter)));
	E(c, I_MOV64_IMM(R2, 1));
	E(c, I_ATOMIC_ADD(BPF_DW, R1, R2, 0));
	load_skb(c, R2);
	E(c, I_LDX(BPF_W, R2, R2, B(c)->skb_len));
	E(c, I_ATOMIC_ADD(BPF_DW, R1, R2, 8));
}

static void link_unhandled(struct cg *c)
{
	stats_addr(c, R1, offsetof(struct nftj_link_stats, unhandled));
	E(c, I_MOV64_IMM(R2, 1));
	E(c, I_ATOMIC_ADD(BPF_DW, R1, R2, 0));
	E(c, I_MOV64_IMM(R0, NF_DROP));
	E(c, I_EXIT());
}

/* ---- pktinfo: nft_set_pktinfo_*() from the windows ----------------------- */

/* R_WNH = the fixed header, or the packet is unhandled */
static void nh_window(struct cg *c, int len)
{
	slice(c, false, 0, false, len);
	J(c, BPF_JEQ, R0, 0, c->resume0);
	E(c, I_MOV64_REG(R_WNH, R0));
}

/* IPv4; validate: __nft_set_pktinfo_ipv4_validate(), else the plain one */
static void pktinfo_ipv4(struct cg *c, bool validate, int unspec, int done)
{
	int frag = L(c);

	nh_window(c, NH_WIN4);
	E(c, I_LDX(BPF_B, R1, R_WNH, 0));
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
		E(c, I_LDX(BPF_H, R2, R_WNH, 2));	/* tot_len */
		E(c, I_BSWAP(R2, 16));
		load_skb(c, R3);
		E(c, I_LDX(BPF_W, R3, R3, B(c)->skb_len));
		JX(c, BPF_JLT, R3, R2, unspec);
		JX(c, BPF_JLT, R2, R1, unspec);
	}
	E(c, I_LDX(BPF_B, R5, R_WNH, 9));		/* protocol */
	E(c, I_LDX(BPF_H, R2, R_WNH, 6));
	E(c, I_BSWAP(R2, 16));
	E(c, I_ALU32_IMM(BPF_AND, R2, 0x1fff));
	J(c, BPF_JNE, R2, 0, frag);
	cg_pktinfo_set(c, R1, R5, NFTJ_PKTINFO_L4, done);
	BIND(c, frag);
	cg_pktinfo_set(c, R1, R5, NFTJ_PKTINFO_L4 | NFTJ_PKTINFO_FRAG, done);
}

/*
 * ipv6_find_hdr(skb, &thoff, -1, &fragoff, IP6_FH_F_AUTH), as the test
 * target's walk, each header read by a slice: R9 the next header, R8
 * the offset of the current one (both free until pktinfo is set).
 */
static void find_hdr_ipv6(struct cg *c, int unspec, int done)
{
	int found = L(c), i;

	E(c, I_LDX(BPF_B, R_PKT, R_WNH, 6));	/* nexthdr */
	E(c, I_MOV64_IMM(R_WTH, 40));		/* start */
	for (i = 0; i < IP6_EXT_HDRS_MAX; i++) {
		int ext = L(c), four = L(c), got = L(c), frag = L(c);
		int hdrlen = L(c), fragfirst = L(c), frag_ok = L(c);

		cg_jump_if_ext(c, R_PKT, ext);
		JA(c, found);
		BIND(c, ext);
		J(c, BPF_JEQ, R_PKT, 59, found);	/* NEXTHDR_NONE */
		J(c, BPF_JEQ, R_PKT, 44, frag);
		/* hp: 2 bytes; the routing header is read as 4 */
		J(c, BPF_JEQ, R_PKT, 43, four);
		E(c, I_MOV64_REG(R2, R_WTH));
		slice(c, true, 0, true, 2);
		JA(c, got);
		BIND(c, four);
		E(c, I_MOV64_REG(R2, R_WTH));
		slice(c, true, 0, true, 4);
		BIND(c, got);
		J(c, BPF_JEQ, R0, 0, unspec);		/* -EBADMSG */
		E(c, I_LDX(BPF_B, R3, R0, 0));		/* hp->nexthdr */
		J(c, BPF_JEQ, R_PKT, 51, found);	/* AUTH ends the walk */
		E(c, I_LDX(BPF_B, R5, R0, 1));
		E(c, I_ALU64_IMM(BPF_ADD, R5, 1));
		E(c, I_ALU64_IMM(BPF_LSH, R5, 3));
		JA(c, hdrlen);

		BIND(c, frag);				/* fragment header */
		E(c, I_MOV64_REG(R2, R_WTH));
		slice(c, true, 0, true, 4);
		J(c, BPF_JEQ, R0, 0, unspec);
		E(c, I_LDX(BPF_B, R3, R0, 0));
		E(c, I_LDX(BPF_H, R5, R0, 2));
		E(c, I_BSWAP(R5, 16));
		E(c, I_ALU32_IMM(BPF_AND, R5, 0xfff8));
		J(c, BPF_JEQ, R5, 0, fragfirst);
		/* non-first fragment: protocol after it, thoff stays 0 */
		J(c, BPF_JEQ, R3, 59, frag_ok);		/* NONE: ok */
		cg_jump_if_ext(c, R3, unspec);
		BIND(c, frag_ok);
		cg_pktinfo_set(c, -1, R3, NFTJ_PKTINFO_L4 | NFTJ_PKTINFO_FRAG,
			    done);
		BIND(c, fragfirst);
		E(c, I_MOV64_IMM(R5, 8));

		BIND(c, hdrlen);
		/* longer than the rest of the packet: see the test target */
		load_skb(c, R1);
		E(c, I_LDX(BPF_W, R1, R1, B(c)->skb_len));
		E(c, I_ALU32_REG(BPF_SUB, R1, R_WTH));
		bpf_emit_jmp(c->b, BPF_JMP32 | BPF_JLT | BPF_X, R1, R5, 0,
			     c->resume0);
		E(c, I_MOV64_REG(R_PKT, R3));
		E(c, I_ALU64_REG(BPF_ADD, R_WTH, R5));
	}
	JA(c, c->resume0);	/* more headers than unrolled: unhandled */
	BIND(c, found);
	cg_pktinfo_set(c, R_WTH, R_PKT, NFTJ_PKTINFO_L4, done);
}

static void pktinfo_ipv6(struct cg *c, bool validate, int unspec, int done)
{
	int walked = validate ? L(c) : done;

	nh_window(c, NH_WIN6);
	if (validate) {
		E(c, I_LDX(BPF_B, R1, R_WNH, 0));
		E(c, I_ALU32_IMM(BPF_RSH, R1, 4));
		J(c, BPF_JNE, R1, 6, unspec);
		E(c, I_LDX(BPF_H, R1, R_WNH, 4));
		E(c, I_BSWAP(R1, 16));
		E(c, I_ALU64_IMM(BPF_ADD, R1, 40));
		load_skb(c, R3);
		E(c, I_LDX(BPF_W, R3, R3, B(c)->skb_len));
		JX(c, BPF_JGT, R1, R3, unspec);
	}
	find_hdr_ipv6(c, unspec, walked);
	if (!validate)
		return;
	/* inet: R9 tells that R7 is the 40-byte window */
	BIND(c, walked);
	E(c, I_MOV64_IMM(R1, 1));
	E(c, I_ALU64_IMM(BPF_LSH, R1, PKT_NH_WIN6));
	E(c, I_ALU64_REG(BPF_OR, R_PKT, R1));
	JA(c, done);
}

/* ---- frames ------------------------------------------------------------ */

/*
 * Main program (every segment): the dynptr, pktinfo with the network
 * header window, then the transport header window.
 */
static void link_main_prologue(struct cg *c)
{
	const struct link_btf *b = B(c);
	int unspec = L(c), done = L(c), v6 = L(c), nowin = L(c);

	E(c, I_MOV64_REG(R_CTX, R1));
	E(c, I_LDX(BPF_DW, R1, R_CTX, b->ctx_skb));
	E(c, I_MOV64_IMM(R2, 0));
	E(c, I_MOV64_REG(R3, R_FP));
	E(c, I_ALU64_IMM(BPF_ADD, R3, FP_DYNPTR));
	E(c, I_STX(BPF_DW, R_FP, R3, FP_DYNP));
	kfunc(c, b->kf_from_skb);
	J(c, BPF_JNE, R0, 0, c->resume0);

	switch (c->p->family) {
	case NFPROTO_IPV4:
		pktinfo_ipv4(c, false, unspec, done);
		break;
	case NFPROTO_IPV6:
		pktinfo_ipv6(c, false, unspec, done);
		break;
	default:
		/* inet: one link per family, state->pf says which */
		load_state(c, R1);
		E(c, I_LDX(BPF_B, R1, R1, b->st_pf));
		J(c, BPF_JEQ, R1, NFPROTO_IPV6, v6);
		J(c, BPF_JNE, R1, NFPROTO_IPV4, c->resume0);
		pktinfo_ipv4(c, true, unspec, done);
		BIND(c, v6);
		pktinfo_ipv6(c, true, unspec, done);
		break;
	}
	BIND(c, unspec);
	E(c, I_MOV64_IMM(R_PKT, 0));
	BIND(c, done);

	E(c, I_MOV64_IMM(R_WTH, 0));
	if (!c->th_win || c->opts->slow_loads)
		return;
	E(c, I_MOV64_REG(R1, R_PKT));
	E(c, I_ALU64_IMM(BPF_AND, R1, (int32_t)NFTJ_PKTINFO_L4));
	J(c, BPF_JEQ, R1, 0, nowin);
	th_offset(c, 0);
	slice(c, true, 0, false, (int)c->th_win);
	E(c, I_MOV64_REG(R_WTH, R0));
	BIND(c, nowin);
}

/* after R6 = R1 (ctx), R9 = R2 (pktinfo) */
static void link_subprog_prologue(struct cg *c, const struct imr_chain *ch)
{
	E(c, I_STX(BPF_DW, R_FP, R3, FP_DYNP));
	E(c, I_MOV64_REG(R_WNH, R4));
	E(c, I_MOV64_REG(R_WTH, R5));
}

/* after R1 = ctx, R2 = pktinfo */
static void link_call_args(struct cg *c)
{
	E(c, I_LDX(BPF_DW, R3, R_FP, FP_DYNP));
	E(c, I_MOV64_REG(R4, R_WNH));
	E(c, I_MOV64_REG(R5, R_WTH));
}

/* ---- planning ------------------------------------------------------------ */

static unsigned int th_need(const struct imr_expr *e)
{
	unsigned int n = 0, m, i;

	if (!e)
		return 0;
	if (e->type == IMR_E_PAYLOAD && e->payload.base == IMR_BASE_TH) {
		n = (unsigned int)e->payload.offset + e->payload.len;
		return n <= TH_WIN_MAX ? n : 0;
	}
	n = th_need(e->child);
	for (i = 0; i < e->ncomp; i++) {
		m = th_need(e->comp[i]);
		if (m > n)
			n = m;
	}
	return n;
}

/* bytes of the transport header window: what the program's loads reach */
static unsigned int link_th_window(const struct imr_prog *p)
{
	unsigned int win = 0, n;
	size_t i, j, k;

	for (i = 0; i < p->nchains; i++) {
		const struct imr_chain *ch = &p->chains[i];

		for (j = 0; j < ch->nrules; j++) {
			const struct imr_rule *r = &ch->rules[j];

			for (k = 0; k < r->nstmts; k++) {
				n = th_need(r->stmts[k].expr);
				if (n > win)
					win = n;
			}
		}
	}
	return win;
}

static int link_init(struct cg *c)
{
	c->th_win = link_th_window(c->p);
	return 0;
}

/* no interpreter to report the deciding rule to */
static void link_decided(struct cg *c, uint32_t id)
{
}

static void link_policy(struct cg *c)
{
	cg_final(c, c->p->chains[0].policy == NF_DROP ? NF_DROP : NF_ACCEPT,
		 NFTJ_RULE_POLICY);
}

/*
 * No interpreter to resume in: the packet is unhandled (dropped and
 * counted).  Only for packets the program cannot parse and failed tail
 * calls: a chain with rules left to the interpreter is refused whole.
 */
static void link_resume(struct cg *c, size_t rule)
{
	link_unhandled(c);
}

static const struct cg_target_ops link_ops = CG_TARGET_OPS(
	link_init, link_main_prologue, link_subprog_prologue, link_call_args,
	link_payload, link_meta, link_counter, link_decided, link_policy,
	link_resume);

const struct cg_target cg_target_link = {
	.name = "link",
	/*
	 * BPF maps, but no socket owner (nf_tables reads it under the
	 * socket's callback lock) and no link-layer header (a dynptr starts
	 * at the network header)
	 */
	.caps = IMR_CAP_SETS | IMR_CAP_COUNTERS,
	.prog_type = NFTJ_PROG_TYPE_NETFILTER,
	.attach_type = NFTJ_ATTACH_NETFILTER,
	.nh_off = 0,
	.flags = CG_T_STATS_MAP | CG_T_SET_MAPS | CG_T_WHOLE_CHAIN |
		 CG_T_LINK_BTF,
	.ops = &link_ops,
};
