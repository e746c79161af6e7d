/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One compiled chain: IMR, maps, instructions and the loaded program.
 * This is the pipeline of the design, in order: the dumped ruleset ->
 * imr_build() -> maps (test target) -> cg_emit() -> the kernel verifier.
 */
#ifndef NFTJ_JIT_H
#define NFTJ_JIT_H

#include "bpfbuf.h"
#include "codegen.h"
#include "imr.h"
#include "model.h"

/* one program of a chain: long chains are split into tail-called segments */
struct nftj_seg {
	struct bpf_buf buf;
	int fd;
	uint32_t id;
	uint32_t jited_len;
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
	char name[16];		/* BPF_OBJ_NAME_LEN: "<table>.<chain>" */
	char why[256];		/* why the chain is not compiled at all */
	char *log;		/* verifier log when it rejected the program */
	double compile_ms, load_ms;
};

/*
 * Compile and load base chain family/table/chain.  Returns 0 (program
 * loaded; rules from imr.chains[0].first_unsupported on are left to the
 * interpreter), -ENOENT, -EOPNOTSUPP (the whole chain stays with the
 * interpreter: jp->why), or another -errno: the verifier's rejection has
 * its log in jp->log, anything else a message in jp->why.
 */
int nftj_prog_build(struct nftj_prog *jp, const struct nftj_ruleset *rs,
		    uint32_t family, const char *table, const char *chain,
		    enum nftj_target target);
/* the same with NFTJ_F_* options */
#define NFTJ_F_SLOW_LOADS	0x1	/* testing: all reads by helper */
int nftj_prog_build_opts(struct nftj_prog *jp, const struct nftj_ruleset *rs,
			 uint32_t family, const char *table, const char *chain,
			 enum nftj_target target, unsigned int flags);
void nftj_prog_free(struct nftj_prog *jp);

/* the chain's rule count, and how many the program runs itself */
size_t nftj_prog_rules(const struct nftj_prog *jp);
size_t nftj_prog_compiled(const struct nftj_prog *jp);

const char *nftj_target_name(enum nftj_target t);
int nftj_target_parse(const char *s, enum nftj_target *t);

#endif /* NFTJ_JIT_H */
