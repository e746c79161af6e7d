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

#define NH_WIN4		20	/* the windows cg_pktinfo() takes */
#define NH_WIN6		40
/*
 * inet: R9 bit 32 (above the pktinfo layout) is set when R7 is the
 * 40-byte IPv6 window; the verifier tracks it per path, so a load from
 * bytes 20..39 of the window is only explored where the window has them
 */
#define PKT_NH_WIN6	32
#define TH_WIN_MAX	20	/* a TCP header without options */

/* counters sit where the test target's do */
_Static_assert(sizeof(struct nftj_link_stats) ==
	       sizeof(struct nftj_test_stats), "statistics header size");

static const struct linkbtf *B(const struct cg *c)
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
	cg_th_checks(c, e, fail);
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
	const struct linkbtf *b = B(c);
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
	const struct linkbtf *b = B(c);

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

/* ---- pktinfo: the headers by slices ------------------------------------- */

/*
 * R_WNH = the fixed header, without a copy: the IP stack keeps it linear
 * at these hooks.  A slice fails alike for a short packet and for a
 * non-linear header: the packet is unhandled either way.
 */
static void link_window(struct cg *c, int len, int short_pkt)
{
	slice(c, false, 0, false, len);
	J(c, BPF_JEQ, R0, 0, c->resume0);
	E(c, I_MOV64_REG(R_WNH, R0));
}

/* R0 = a slice (copied if need be) of len bytes at off_reg */
static int link_read(struct cg *c, int off_reg, int len, int fail)
{
	E(c, I_MOV64_REG(R2, off_reg));
	slice(c, true, 0, true, len);
	J(c, BPF_JEQ, R0, 0, fail);		/* -EBADMSG */
	return R0;
}

static void link_pkt_len(struct cg *c, int reg)
{
	load_skb(c, reg);
	E(c, I_LDX(BPF_W, reg, reg, B(c)->skb_len));
}

/* inet: one link per family, state->pf says which */
static void link_nfproto(struct cg *c, int reg)
{
	load_state(c, reg);
	E(c, I_LDX(BPF_B, reg, reg, B(c)->st_pf));
}

/* inet: R9 tells that R7 is the 40-byte window */
static void link_inet_v6(struct cg *c)
{
	E(c, I_MOV64_IMM(R1, 1));
	E(c, I_ALU64_IMM(BPF_LSH, R1, PKT_NH_WIN6));
	E(c, I_ALU64_REG(BPF_OR, R_PKT, R1));
}

/* slices clobber R0..R5: the walk's state is in R9 and R8, both free
 * until pktinfo and the transport window are set */
static const struct cg_hdr_ops link_hdr_ops = {
	.nh_reg = R_PKT, .off_reg = R_WTH,
	.window = link_window, .read = link_read, .pkt_len = link_pkt_len,
	.nfproto = link_nfproto, .inet_v6 = link_inet_v6,
	.other_unhandled = true,
};

/* ---- frames ------------------------------------------------------------ */

/*
 * Main program (every segment): the dynptr, pktinfo with the network
 * header window, then the transport header window.
 */
static void link_main_prologue(struct cg *c)
{
	const struct linkbtf *b = B(c);
	int nowin = L(c);

	E(c, I_MOV64_REG(R_CTX, R1));
	E(c, I_LDX(BPF_DW, R1, R_CTX, b->ctx_skb));
	E(c, I_MOV64_IMM(R2, 0));
	E(c, I_MOV64_REG(R3, R_FP));
	E(c, I_ALU64_IMM(BPF_ADD, R3, FP_DYNPTR));
	E(c, I_STX(BPF_DW, R_FP, R3, FP_DYNP));
	kfunc(c, b->kf_from_skb);
	J(c, BPF_JNE, R0, 0, c->resume0);
	cg_pktinfo(c, &link_hdr_ops);

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
	link_payload, link_meta, link_counter, link_decided,
	cg_policy_verdict, link_resume);

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
