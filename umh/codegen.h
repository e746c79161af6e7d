/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code generation: IMR program -> eBPF (BPF_PROG_TYPE_SCHED_CLS).
 *
 * Register roles in every frame:
 *   R6 ctx (struct __sk_buff *), R7 network header, R8 data_end,
 *   R9 pktinfo (the NFTJ_CB_PKTINFO layout of the uapi header),
 *   R0..R5 scratch; values of up to 16 bytes live in R1 (bytes 0..7, in
 *   memory order) and R2 (bytes 8..15).
 * Stack of every frame (CG_FRAME bytes):
 *   fp-8   statistics map value pointer (test target)
 *   fp-80  set key buffer: u32 prefix length (LPM) then the key at fp-76
 *   fp-96  scratch for bpf_skb_load_bytes() on non-linear packets
 * Regular chains are BPF subprograms: R1 ctx, R2 pktinfo, R3 statistics;
 * they return CG_RET_RETURN to continue in the caller, or the verdict.
 */
#ifndef NFTJ_CODEGEN_H
#define NFTJ_CODEGEN_H

#include "bpfbuf.h"
#include "imr.h"

enum nftj_target {
	NFTJ_TARGET_TEST,	/* BPF_PROG_TEST_RUN, Ethernet header first */
	NFTJ_TARGET_KERNEL,	/* run by nf_tables_jit from nft_do_chain */
};

#define CG_RET_RETURN	2	/* subprogram: back to the calling chain */

struct cg_maps {
	bool slow_loads;	/* testing: every packet read takes the
				 * bpf_skb_load_bytes() path of non-linear
				 * packets */
	int stats_fd;		/* test target: counters and decision */
	int meta_fd;		/* test target: struct nftj_test_meta */
	int *set_fd;		/* per IMR set */
};

/*
 * Where each rule's code starts, for annotated disassembly: the buffer's
 * per-instruction source tag is the rule id + 1 (0: prologue/glue).
 */
int cg_emit(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_maps *maps, struct bpf_buf *b);

/* the NH offset from __sk_buff.data for a target */
int cg_nh_offset(enum nftj_target target);

#endif /* NFTJ_CODEGEN_H */
