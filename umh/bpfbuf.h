/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An eBPF instruction buffer with labels and fixups.
 *
 * Jumps name a label; bbuf_finish() resolves every label to an
 * instruction index and patches the 16-bit offsets (jumps) and the
 * 32-bit immediates (BPF-to-BPF calls).  A jump whose distance does not
 * fit in 16 bits goes through islands: `ja` instructions placed where
 * nothing falls through (after an exit or unconditional jump), each
 * within reach of the last, shared by the jumps to the same label (branch
 * relaxation; 32-bit `gotol` needs Linux 6.6).  Where no such place is in
 * reach, bbuf_finish() fails with -E2BIG, never truncating an offset.
 *
 * The verifier rejects unreachable instructions, so the buffer drops
 * what it is given after an exit or unconditional jump until a label that
 * something jumps to is bound.  Every jump must therefore be emitted
 * before its label is bound (forward jumps; calls to subprograms that
 * come after the caller).
 */
#ifndef NFTJ_BPFBUF_H
#define NFTJ_BPFBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

struct bbuf {
	struct bpf_insn *insn;
	size_t len, cap;
	int *label_pos;		/* label id -> insn index, -1 if unbound */
	unsigned int *label_refs;	/* jumps and calls to the label */
	size_t nlabels, label_cap;
	struct bbuf_fixup *fix;
	size_t nfix, fix_cap;
	uint32_t *src;		/* per insn: caller-defined origin tag */
	uint32_t cur_src;
	bool dead;		/* after exit/ja: unreachable until a used label */
	size_t *gap;		/* indexes after an exit/ja: island places */
	size_t ngap, gap_cap;
	struct bbuf_island *isl;	/* islands placed by bbuf_finish() */
	size_t nisl, isl_cap;
	unsigned int ncond;	/* conditional jumps emitted */
	int err;		/* first allocation/emit error, sticky */
};

void bbuf_init(struct bbuf *b);
void bbuf_free(struct bbuf *b);

int bbuf_label_new(struct bbuf *b);
void bbuf_label_bind(struct bbuf *b, int label);

void bbuf_emit(struct bbuf *b, struct bpf_insn insn);
/* conditional or unconditional jump (code is BPF_JMP|op|BPF_K/X) */
void bbuf_emit_jmp(struct bbuf *b, uint8_t code, uint8_t dst, uint8_t src,
		   int32_t imm, int label);
/* BPF-to-BPF call of the subprogram starting at label */
void bbuf_emit_call_label(struct bbuf *b, int label);
/* 64-bit immediate (two instructions) */
void bbuf_emit_ld_imm64(struct bbuf *b, uint8_t dst, uint64_t imm);
void bbuf_emit_ld_map_fd(struct bbuf *b, uint8_t dst, int fd);

/* resolve labels; returns 0 or -errno (-E2BIG: jump out of range) */
int bbuf_finish(struct bbuf *b);

/* instruction constructors, as in the kernel's filter.h */
#define BPF_I(c, d, s, o, i)						\
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s),\
			    .off = (o), .imm = (i) })
#define I_ALU64_IMM(op, d, i)	BPF_I(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define I_ALU64_REG(op, d, s)	BPF_I(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define I_ALU32_IMM(op, d, i)	BPF_I(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define I_ALU32_REG(op, d, s)	BPF_I(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define I_MOV64_REG(d, s)	I_ALU64_REG(BPF_MOV, d, s)
#define I_MOV64_IMM(d, i)	I_ALU64_IMM(BPF_MOV, d, i)
#define I_MOV32_IMM(d, i)	I_ALU32_IMM(BPF_MOV, d, i)
#define I_LDX(sz, d, s, o)	BPF_I(BPF_LDX | (sz) | BPF_MEM, d, s, o, 0)
#define I_STX(sz, d, s, o)	BPF_I(BPF_STX | (sz) | BPF_MEM, d, s, o, 0)
#define I_ST(sz, d, o, i)	BPF_I(BPF_ST | (sz) | BPF_MEM, d, 0, o, i)
#define I_ATOMIC_ADD(sz, d, s, o) BPF_I(BPF_STX | (sz) | BPF_ATOMIC, d, s, o, BPF_ADD)
#define I_BSWAP(d, bits)	BPF_I(BPF_ALU | BPF_END | BPF_TO_BE, d, 0, 0, bits)
#define I_CALL(fn)		BPF_I(BPF_JMP | BPF_CALL, 0, 0, 0, fn)
#define I_EXIT()		BPF_I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#endif /* NFTJ_BPFBUF_H */
