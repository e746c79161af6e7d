/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code generation: IMR program -> eBPF, for one of the targets (struct
 * cg_target: test and kernel BPF_PROG_TYPE_SCHED_CLS, link
 * BPF_PROG_TYPE_NETFILTER), in umh/cg/: emit.c (what every target
 * shares), plan.c (segments), skb.c (struct __sk_buff programs), one
 * file per target with its ops (test.c, kernel.c, link.c) and target.c
 * (the table of targets).
 *
 * Register roles in every frame:
 *   R6 ctx (struct __sk_buff *), R7 network header, R8 data_end,
 *   R9 pktinfo (the NFTJ_CB_PKTINFO layout of the uapi header),
 *   R0..R5 scratch; values of up to 16 bytes live in R1 (bytes 0..7, in
 *   memory order) and R2 (bytes 8..15).
 * Stack of every frame (CG_FRAME bytes):
 *   fp-8   statistics map value pointer (test target)
 *   fp-84  set lookups (test and link targets): u32 LPM prefix length,
 *          written after the key is built (it is in the scratch), then
 *          the set's u32 tag at fp-80 and the key at fp-76 (setmap.h)
 *   fp-20  u32, main frame: R9 on its way through the stack where the
 *          header walk ends (pktinfo.c: the verifier forgets the walk's
 *          constants); in tree runs the best rule so far (forest.c)
 *   fp-96  scratch for bpf_skb_load_bytes() on non-linear packets
 *   fp-96  kernel target, frames with services: the register file
 *          (struct nft_regs, NFTJ_REGS_SIZE bytes, up to fp-17) passed to
 *          the nftj_svc_eval() kfunc; NFT_REG_r at fp-96 + 16 * r,
 *          NFT_REG32_r at fp-80 + 4 * r.  The scratch is its verdict
 *          register, which the kfunc ignores on input.
 * Regular chains are BPF subprograms: R1 ctx, R2 pktinfo, R3 statistics;
 * they return CG_RET_RETURN to continue in the caller, or the verdict.
 *
 * The link target (BPF_PROG_TYPE_NETFILTER, link.c) has no
 * direct packet access: R6 is struct bpf_nf_ctx *, R7 a read-only window
 * on the network header (bpf_dynptr_slice() of the fixed IPv4 or IPv6
 * header, always linear at these hooks), R8 a window on the transport
 * header or NULL (then every transport read is a slice of its own);
 * fp-8 holds a pointer to the skb dynptr, which lives in the main frame
 * at fp-112.  Subprograms get R1 ctx, R2 pktinfo, R3 the dynptr pointer,
 * R4 and R5 the two windows.  Counters and the unhandled-packet count
 * are addressed directly in the statistics map value.
 */
#ifndef NFTJ_CODEGEN_H
#define NFTJ_CODEGEN_H

#include "bpfbuf.h"
#include "imr.h"

enum nftj_target {
	NFTJ_TARGET_TEST,	/* BPF_PROG_TEST_RUN, Ethernet header first */
	NFTJ_TARGET_KERNEL,	/* run by nf_tables_jit from nft_do_chain */
	NFTJ_TARGET_LINK,	/* BPF_PROG_TYPE_NETFILTER at a hook, by link */
	NFTJ_TARGETS,
};

/* what the jit needs to know of a target: everything else is its ops */
#define CG_T_STATS_MAP		0x01	/* counters (and decider) map */
#define CG_T_META_MAP		0x02	/* struct nftj_test_meta map */
#define CG_T_SET_MAPS		0x04	/* BPF copies of the sets */
#define CG_T_WHOLE_CHAIN	0x08	/* cannot leave rules to the
					 * interpreter: all or nothing */
#define CG_T_LINK_BTF		0x10	/* needs linkbtf_get() */
#define CG_T_DECIDER		0x20	/* the program reports the deciding
					 * rule (ops->decided emits code) */

struct cg_target_ops;

struct cg_target {
	const char *name;		/* --target NAME */
	unsigned int caps;		/* IMR_CAP_* the builder may use */
	uint32_t prog_type;		/* enum bpf_prog_type */
	uint32_t attach_type;		/* expected_attach_type, 0 none */
	int nh_off;			/* network header's offset in the
					 * packet data the program sees */
	unsigned int flags;		/* CG_T_* */
	const struct cg_target_ops *ops;	/* cg.h */
};

/* the target's descriptor; NULL for none */
const struct cg_target *cg_target_get(enum nftj_target t);
/* by name: 0 or -EINVAL */
int cg_target_parse(const char *name, enum nftj_target *t);

struct linkbtf;

#define CG_RET_RETURN	2	/* subprogram: back to the calling chain */
/*
 * Kernel target: a service returned what it cannot return at that point
 * (NFTJ_SVC_ERROR) after the rule had a side effect, or inside a regular
 * chain: no rule of the base chain can be resumed without repeating a
 * side effect.  Not a verdict, not NFTJ_RET_RESUME(): the runner counts
 * a fallback and interprets the whole chain.
 */
#define CG_RET_FALLBACK	0x7fffffffU

/* kernel target: where the register file sits in every frame */
#define CG_FP_REGS	(-96)

/* what the code depends on besides the IMR and the maps */
struct cg_opts {
	bool slow_loads;	/* testing: every packet read takes the
				 * bpf_skb_load_bytes() path of non-linear
				 * packets */
	const struct linkbtf *btf;	/* borrowed from linkbtf_get()'s
					 * per-process cache (link target):
					 * kfuncs, struct offsets of the
					 * running kernel */
	size_t forest_insns;	/* instructions of forests in one program
				 * at most; 0: CG_FOREST_INSNS */
};

/*
 * The default: on a generated 10,000-rule ACL one forest of 4 trees in
 * one program, 190,000 instructions that the verifier walks in about
 * 480,000 of its 1,000,000.  A segment the verifier refuses as too
 * complex is planned again with forests half as long as its largest
 * (nftj_prog_build()), down to CG_FOREST_INSNS_MIN, before any rule is
 * given up.
 */
#define CG_FOREST_INSNS		250000
#define CG_FOREST_INSNS_MIN	4000

/* the BPF maps the code refers to; -1 (set_fd NULL) for none */
struct cg_maps {
	int prog_array_fd;	/* segments of a long base chain */
	int stats_fd;		/* test target: counters and decision */
	int meta_fd;		/* test target: struct nftj_test_meta */
	int *set_fd;		/* owned array: per set map
				 * (imr_set.map, setmap.h) */
	int *lookup_fd;		/* owned array: per cg_plan.lookups */
};

/*
 * A lookup run of the base chain (imr_chain.lookups, the optimizer's
 * lookup pass) as one BPF_MAP_TYPE_HASH lookup (cg/lookup.c): the key is
 * the values of its key fields (pred.h fields of at most 4 bytes, in
 * increasing field index), one u32 each in host order; the value the
 * index + 1 of the first rule of the run with that key, with
 * CG_LOOKUP_DROP set when its verdict is drop.  A run of prefixes of one
 * field is an LPM trie instead, without the prefixes an earlier one
 * covers (they can never decide), so that the longest match is the
 * first.  The loader
 * creates the map from keys[] and rule[] (jit.c).
 */
#define CG_LOOKUP_KEYS		8
#define CG_LOOKUP_DROP		0x80000000U
/*
 * Maps one program may use (the verifier's MAX_USED_MAPS): lookups are
 * made only while the statistics, meta and segment maps, every set and
 * the lookups fit.
 */
#define CG_MAX_MAPS		64

struct cg_lookup {
	uint32_t from, to;		/* base chain rules [from, to) */
	uint32_t nkeys;
	uint32_t field[CG_LOOKUP_KEYS];	/* pred field per key word */
	uint32_t nelems;		/* distinct keys */
	uint32_t *keys;			/* nelems * nkeys */
	uint32_t *rule;			/* per element: its first rule's index */
	uint32_t *value;		/* per element: the map's value, rule
					 * + 1, CG_LOOKUP_DROP for a drop */
	/*
	 * BPF_MAP_TYPE_LPM_TRIE: one key field of prefixes; the key is
	 * struct bpf_lpm_trie_key with a u32 prefix length (bits[i]) and
	 * the value shifted left by `shift` bits (to 32), big-endian
	 */
	bool lpm;
	uint32_t shift;
	uint8_t *bits;
	unsigned int cost;		/* planning: branches */
	size_t insns;			/* planning: its code's length */
};

/*
 * A long base chain is split into segments, one program each, chained by
 * bpf_tail_call(): the verifier limits how many branches one program may
 * leave pending (8192), and every program is verified on its own.
 */
#define CG_MAX_SEGS		32	/* below MAX_TAIL_CALL_CNT (33) */
#define CG_SEG_BUDGET		4000	/* conditional jumps per segment */
/*
 * BPF functions per program (the verifier's BPF_MAX_SUBPROGS): the main
 * function and one per chain the segment calls, directly or not.
 */
#define CG_MAX_FUNCS		256

struct cg_plan {
	size_t nseg;
	size_t first[CG_MAX_SEGS + 1];	/* base chain rule index */
	/*
	 * The first base chain rule no program can hold (a huge regular
	 * chain behind it, too many chains, beyond CG_MAX_SEGS segments),
	 * -1 if none, and why: the caller cuts the IMR there (imr_cut())
	 * before it emits, or reports it.
	 */
	int cut;
	char cut_reason[IMR_REASON_MAX];
	/*
	 * The tree runs of the base chain (imr_chain.runs) as the planner
	 * cut them into forests that fit a program (cg/forest.c), in rule
	 * order, with the predicates they were built from: owned, freed by
	 * cg_plan_free().  A segment never splits a forest.
	 */
	struct cg_forest *forests;
	size_t nforests;
	struct pred_chain *pc;
	/*
	 * The tree runs of regular chains as forests (forests_chain[k]: the
	 * chain of cforests[k]), with the predicates of each such chain
	 * (cpc[chain], NULL where none; ncpc entries): planned once, the
	 * same code wherever the chain's function is emitted.
	 */
	struct cg_forest *cforests;
	size_t *forests_chain;
	size_t ncforests;
	struct pred_chain **cpc;
	size_t ncpc;
	uint32_t tree_rules;	/* rules in forests */
	uint32_t trees;		/* trees in them, */
	uint32_t tree_depth;	/*   the deepest leaf, */
	uint32_t tree_leaves;	/*   their leaves, */
	uint32_t tree_max_leaf;	/*   the most candidates in one, */
	uint32_t tree_cand;	/*   candidates in all leaves */
	/*
	 * The lookup runs the target can take as maps (maps->lookup_fd[k]
	 * for lookups[k]), in rule order, outside the forests: owned.
	 */
	struct cg_lookup *lookups;
	size_t nlookups;
	uint32_t lookup_rules;	/* rules in them */
	uint32_t lookup_elems;	/* their maps' elements */
	uint32_t lookup_lpm;	/* lookups that are LPM tries */
};

/*
 * Plan the segments of the program: reads p, changes nothing in it.
 * The code is laid out as cg_emit() will lay it out, without maps.
 * 0 or -ENOMEM.
 */
int cg_plan(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_opts *opts, struct cg_plan *plan);
void cg_plan_free(struct cg_plan *plan);
/* the forest of regular chain `chain` that starts at `rule`, or NULL */
const struct cg_forest *cg_plan_chain_forest(const struct cg_plan *plan,
					     size_t chain, size_t rule);
/*
 * instructions of the largest forest segment seg holds or a regular
 * chain holds, 0: none
 */
size_t cg_plan_seg_forest_insns(const struct cg_plan *plan, size_t seg);

/*
 * Emit segment seg of an IMR cut where plan says.  The buffer's
 * per-instruction source tag is the rule id + 1 (0: prologue and glue),
 * for annotated disassembly.
 */
int cg_emit(const struct imr_prog *p, enum nftj_target target,
	    const struct cg_opts *opts, const struct cg_maps *maps,
	    const struct cg_plan *plan, size_t seg, struct bbuf *b);

#endif /* NFTJ_CODEGEN_H */
