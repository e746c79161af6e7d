/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One compiled chain: IMR, maps, instructions and the loaded program.
 * This is the pipeline of the design, in order: the dumped ruleset ->
 * imr_build() -> maps (test target) -> cg_emit() -> the kernel verifier.
 */
#ifndef NFTJ_JIT_H
#define NFTJ_JIT_H

#include <stddef.h>
#include <string.h>

#include "bpfbuf.h"
#include "cg/codegen.h"
#include "imr.h"
#include "opt.h"
#include "kfunc.h"
#include "model.h"

/*
 * Kernel target: one service of the program, as NFTJ_CMD_ATTACH names it
 * in NFTJ_A_SERVICES (uapi nf_tables_jit.h).  The program passes the
 * entry's index to nftj_svc_eval(); the kernel evaluates expression
 * `index` (0-based, netlink order) of rule `handle` of chain `chain`.
 */
struct nftj_service {
	const char *chain;		/* borrowed from the program's IMR
					 * (imr_chain.name): chain of the rule */
	uint64_t handle;		/* rule handle */
	uint32_t index;			/* position of the expression */
	enum imr_svc_kind kind;
	const char *expr;		/* borrowed from the IMR (imr_svc.text):
					 * as `nft --debug=netlink` shows it */
};

/* one program of a chain: long chains are split into tail-called segments */
struct nftj_seg {
	struct bbuf buf;
	int fd;
	uint32_t id;
	uint32_t jited_len;
	uint32_t verified_insns;	/* the verifier's work (Linux >= 5.16) */
};

struct nftj_prog {
	struct imr_prog imr;
	enum nftj_target target;
	struct cg_plan plan;
	struct nftj_seg seg[CG_MAX_SEGS];
	size_t nseg;			/* segments emitted */
	struct cg_maps maps;
	int prog_fd;			/* the entry: segment 0 */
	uint32_t prog_id;
	uint32_t jited_len;		/* all segments */
	size_t insns;			/* all segments */
	uint64_t verified_insns;	/* all segments; 0: not reported */
	char name[16];		/* BPF_OBJ_NAME_LEN: "<table>.<chain>" */
	char why[256];		/* why the chain is not compiled at all */
	char *log;		/* owned: verifier log when it rejected the
				 * program */
	double compile_ms, load_ms;
	struct nftj_service *svc;	/* owned array: the service table, in
					 * order; its strings are the IMR's */
	size_t nsvc;
	struct nftj_kfunc kfunc;	/* services: the kfunc, its BTF */
	struct opt_report opt;		/* what the optimizer did */
	bool no_load;			/* NFTJ_F_NO_LOAD: emitted only */
	bool fault_verifier;		/* NFTJ_F_FAULT_VERIFIER (testing) */
	size_t fault_forest_insns;	/* testing: nftj_build_opts */
};

#define NFTJ_F_SLOW_LOADS	0x1	/* testing: all reads by helper */
#define NFTJ_F_NO_LOAD		0x2	/* emit only: no verifier, no kfunc */
/*
 * Testing only (the daemon's NFTJ_FAULT_VERIFIER): the entry program
 * starts with an instruction reading an uninitialised register, so that
 * the verifier really rejects it.
 */
#define NFTJ_F_FAULT_VERIFIER	0x4
/*
 * The IMR stages only (build to prune): no maps, no code, nothing in the
 * kernel, no privileges needed (the golden tests).
 */
#define NFTJ_F_IMR_ONLY		0x8

/*
 * The stages of nftj_prog_build(), in order (docs/imr.md, "The
 * pipeline").  Build to prune make and change the IMR; imr_check() tests
 * its invariants after each.  Emit and load only read it.
 */
enum nftj_stage {
	NFTJ_STAGE_BUILD,	/* the dump -> IMR (build.c) */
	NFTJ_STAGE_OPTIMIZE,	/* IMR -> IMR (optimize.c): empty for now */
	NFTJ_STAGE_CUT,		/* cg_plan(); imr_cut() where it stops */
	NFTJ_STAGE_PRUNE,	/* imr_svc_prune() */
	NFTJ_STAGE_EMIT,	/* maps, service table, cg_emit() */
	NFTJ_STAGE_LOAD,	/* the kfunc, the verifier */
	NFTJ_STAGES,
};
#define NFTJ_STAGE_IMR_LAST	NFTJ_STAGE_PRUNE

const char *nftj_stage_name(enum nftj_stage st);
int nftj_stage_parse(const char *s, enum nftj_stage *st);

/*
 * Options of nftj_prog_build(), in the shape of libbpf's opts: declare
 * them with NFTJ_BUILD_OPTS(name, .field = value, ...), which zeroes the
 * rest and sets sz; a field beyond sz counts as zero.
 */
struct nftj_build_opts {
	size_t sz;			/* sizeof(struct nftj_build_opts) */
	enum nftj_target target;	/* default: NFTJ_TARGET_TEST */
	unsigned int flags;		/* NFTJ_F_* */
	/*
	 * The services kfunc found already (nftj_kfunc_find(), which reads
	 * the kernel's whole BTF: the longest step of building a small
	 * chain).  Copied, its BTF fd duplicated; NULL: found when needed.
	 */
	const struct nftj_kfunc *kfunc;
	unsigned int no_opt;		/* optimizer passes off (OPT_*, opt.h) */
	/*
	 * imr_cb(stage, IMR, imr_ctx) after each IMR stage whose bit
	 * (1u << NFTJ_STAGE_*) is in imr_stages, once the IMR passed
	 * imr_check(): `compile --dump-imr`, the golden tests.
	 */
	unsigned int imr_stages;
	void (*imr_cb)(enum nftj_stage st, const struct imr_prog *p,
		       void *ctx);
	void *imr_ctx;
	/*
	 * Testing only: the verifier is made to refuse as too complex every
	 * segment with a forest longer than this (0: never), as it would a
	 * forest beyond its limit (`compile`: NFTJ_FAULT_FOREST_INSNS).
	 */
	size_t fault_forest_insns;
	size_t :0;
};

#define NFTJ_BUILD_OPTS(name, ...)					\
	struct nftj_build_opts name = ({				\
		memset(&name, 0, sizeof(name));				\
		(struct nftj_build_opts){ .sz = sizeof(name),		\
					  __VA_ARGS__ };		\
	})

/*
 * Compile and load base chain family/table/chain; opts may be NULL (the
 * test target, no flags).  Returns 0 (program loaded; rules from
 * imr.chains[0].first_unsupported on are left to the interpreter),
 * -ENOENT, -EOPNOTSUPP (the whole chain stays with the interpreter:
 * jp->why), -ENOPKG (kernel target: the program needs services and the
 * kernel has no services kfunc; jp->why says "kernel part not loaded:
 * ..."; the code is emitted all the same), or another -errno: the
 * verifier's rejection has its log in jp->log, anything else a message
 * in jp->why.  jp is made here (nftj_prog_init() first: a program built
 * before must have been freed); whatever the result, nftj_prog_free()
 * it.  The IMR borrows the sets of rs: keep rs until then.
 */
int nftj_prog_build(struct nftj_prog *jp, const struct nftj_ruleset *rs,
		    uint32_t family, const char *table, const char *chain,
		    const struct nftj_build_opts *opts);
/*
 * An empty program: no IMR, no code, every file descriptor -1.  A zeroed
 * struct nftj_prog is not one (it "owns" fd 0 several times over): every
 * nftj_prog is made by nftj_prog_init() or by nftj_prog_build(),
 * which starts with it.  nftj_prog_free() closes what the program owns and
 * leaves it empty again, so freeing twice is harmless.
 */
void nftj_prog_init(struct nftj_prog *jp);
void nftj_prog_free(struct nftj_prog *jp);

/* the chain's rule count, and how many the program runs itself */
size_t nftj_prog_rules(const struct nftj_prog *jp);
size_t nftj_prog_compiled(const struct nftj_prog *jp);

const char *nftj_target_name(enum nftj_target t);
int nftj_target_parse(const char *s, enum nftj_target *t);

#endif /* NFTJ_JIT_H */
