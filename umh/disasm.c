// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdint.h>

#include "disasm.h"

static const char *const alu_op[16] = {
	"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=",
	"neg", "%=", "^=", "=", "s>>=", "endian",
};

static const char *const jmp_op[16] = {
	"ja", "==", ">", ">=", "&", "!=", "s>", "s>=",
	"call", "exit", "<", "<=", "s<", "s<=",
};

static const char *const size_name[4] = { "u32", "u16", "u8", "u64" };

int nftj_insn_str(const struct bpf_insn *in, size_t idx, size_t n,
		  char *buf, size_t size)
{
	uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	const char *w = cls == BPF_ALU || cls == BPF_JMP32 ? "w" : "r";
	char src[32];

	if (BPF_SRC(in->code) == BPF_X)
		snprintf(src, sizeof(src), "%s%u", w, in->src_reg);
	else
		snprintf(src, sizeof(src), "%d", in->imm);

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (op == BPF_END)
			snprintf(buf, size, "r%u = be%d r%u", in->dst_reg,
				 in->imm, in->dst_reg);
		else if (op == BPF_NEG)
			snprintf(buf, size, "%s%u = -%s%u", w, in->dst_reg, w,
				 in->dst_reg);
		else
			snprintf(buf, size, "%s%u %s %s", w, in->dst_reg,
				 alu_op[op >> 4], src);
		return 1;
	case BPF_LDX:
		snprintf(buf, size, "r%u = *(%s *)(r%u %+d)", in->dst_reg,
			 size_name[BPF_SIZE(in->code) >> 3], in->src_reg,
			 in->off);
		return 1;
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC)
			snprintf(buf, size, "lock *(%s *)(r%u %+d) += r%u",
				 size_name[BPF_SIZE(in->code) >> 3],
				 in->dst_reg, in->off, in->src_reg);
		else
			snprintf(buf, size, "*(%s *)(r%u %+d) = r%u",
				 size_name[BPF_SIZE(in->code) >> 3],
				 in->dst_reg, in->off, in->src_reg);
		return 1;
	case BPF_ST:
		snprintf(buf, size, "*(%s *)(r%u %+d) = %d",
			 size_name[BPF_SIZE(in->code) >> 3], in->dst_reg,
			 in->off, in->imm);
		return 1;
	case BPF_LD:
		if (in->code == (BPF_LD | BPF_DW | BPF_IMM) && idx + 1 < n) {
			uint64_t v = (uint32_t)in->imm |
				     (uint64_t)(uint32_t)in[1].imm << 32;

			if (in->src_reg == BPF_PSEUDO_MAP_FD)
				snprintf(buf, size, "r%u = map[fd:%d]",
					 in->dst_reg, in->imm);
			else if (in->src_reg == BPF_PSEUDO_MAP_VALUE)
				snprintf(buf, size, "r%u = map[fd:%d] value %+d",
					 in->dst_reg, in->imm, in[1].imm);
			else
				snprintf(buf, size, "r%u = 0x%llx ll",
					 in->dst_reg, (unsigned long long)v);
			return 2;
		}
		break;
	case BPF_JMP:
	case BPF_JMP32:
		if (op == BPF_JA) {
			snprintf(buf, size, "goto %+d", in->off);
		} else if (op == BPF_EXIT) {
			snprintf(buf, size, "exit");
		} else if (op == BPF_CALL) {
			if (in->src_reg == BPF_PSEUDO_CALL)
				snprintf(buf, size, "call pc%+d", in->imm);
			else if (in->src_reg == BPF_PSEUDO_KFUNC_CALL && in->off)
				snprintf(buf, size, "call kfunc#%d (btf fd_array[%d])",
					 in->imm, in->off);
			else if (in->src_reg == BPF_PSEUDO_KFUNC_CALL)
				snprintf(buf, size, "call kfunc#%d", in->imm);
			else
				snprintf(buf, size, "call helper#%d", in->imm);
		} else {
			snprintf(buf, size, "if %s%u %s %s goto %+d", w,
				 in->dst_reg, jmp_op[op >> 4], src, in->off);
		}
		return 1;
	}
	snprintf(buf, size, "(code 0x%02x)", in->code);
	return 1;
}
