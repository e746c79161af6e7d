/* SPDX-License-Identifier: GPL-2.0 */
/* eBPF instructions as text, in the kernel verifier's notation. */
#ifndef NFTJ_DISASM_H
#define NFTJ_DISASM_H

#include <stddef.h>
#include <linux/bpf.h>

/* one instruction; returns how many slots it takes (2 for ld_imm64) */
int nftj_insn_str(const struct bpf_insn *insn, size_t idx, size_t n,
		  char *buf, size_t size);

#endif /* NFTJ_DISASM_H */
