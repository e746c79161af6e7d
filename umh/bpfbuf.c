// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfbuf.h"

struct bbuf_fixup {
	size_t at;		/* instruction index */
	int label;
	int is_call;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*p, ncap * elem);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = ncap;
	return 0;
}

void bbuf_init(struct bbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void bbuf_free(struct bbuf *b)
{
	free(b->insn);
	free(b->label_pos);
	free(b->label_refs);
	free(b->fix);
	free(b->src);
	memset(b, 0, sizeof(*b));
}

int bbuf_label_new(struct bbuf *b)
{
	size_t cap = b->label_cap;

	if (!b->err)
		b->err = grow((void **)&b->label_pos, &b->label_cap,
			      b->nlabels + 1, sizeof(int));
	if (!b->err)
		b->err = grow((void **)&b->label_refs, &cap, b->nlabels + 1,
			      sizeof(*b->label_refs));
	if (b->err)
		return 0;
	b->label_pos[b->nlabels] = -1;
	b->label_refs[b->nlabels] = 0;
	return (int)b->nlabels++;
}

void bbuf_label_bind(struct bbuf *b, int label)
{
	if (b->err)
		return;
	if (b->label_refs[label])
		b->dead = false;
	if (!b->dead)
		b->label_pos[label] = (int)b->len;
}

void bbuf_emit(struct bbuf *b, struct bpf_insn insn)
{
	size_t cap = b->cap;

	if (b->err || b->dead)
		return;
	b->err = grow((void **)&b->insn, &b->cap, b->len + 1, sizeof(insn));
	if (!b->err)
		b->err = grow((void **)&b->src, &cap, b->len + 1,
			      sizeof(*b->src));
	if (b->err)
		return;
	b->src[b->len] = b->cur_src;
	b->insn[b->len++] = insn;
	if (insn.code == (BPF_JMP | BPF_EXIT) || insn.code == (BPF_JMP | BPF_JA))
		b->dead = true;
}

static void add_fixup(struct bbuf *b, int label, int is_call)
{
	if (b->dead)
		return;
	b->label_refs[label]++;
	if (!b->err)
		b->err = grow((void **)&b->fix, &b->fix_cap, b->nfix + 1,
			      sizeof(*b->fix));
	if (b->err)
		return;
	b->fix[b->nfix].at = b->len;
	b->fix[b->nfix].label = label;
	b->fix[b->nfix].is_call = is_call;
	b->nfix++;
}

void bbuf_emit_jmp(struct bbuf *b, uint8_t code, uint8_t dst, uint8_t src,
		   int32_t imm, int label)
{
	if (!b->dead && BPF_OP(code) != BPF_JA)
		b->ncond++;
	add_fixup(b, label, 0);
	bbuf_emit(b, BPF_I(code, dst, src, 0, imm));
}

void bbuf_emit_call_label(struct bbuf *b, int label)
{
	add_fixup(b, label, 1);
	bbuf_emit(b, BPF_I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0));
}

void bbuf_emit_ld_imm64(struct bbuf *b, uint8_t dst, uint64_t imm)
{
	bbuf_emit(b, BPF_I(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0,
			   (int32_t)(uint32_t)imm));
	bbuf_emit(b, BPF_I(0, 0, 0, 0, (int32_t)(uint32_t)(imm >> 32)));
}

void bbuf_emit_ld_map_fd(struct bbuf *b, uint8_t dst, int fd)
{
	bbuf_emit(b, BPF_I(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD,
			   0, fd));
	bbuf_emit(b, BPF_I(0, 0, 0, 0, 0));
}

int bbuf_finish(struct bbuf *b)
{
	size_t i;

	if (b->err)
		return b->err;
	for (i = 0; i < b->nfix; i++) {
		const struct bbuf_fixup *f = &b->fix[i];
		long target = b->label_pos[f->label];
		long off = target - (long)f->at - 1;

		if (target < 0)
			return -EINVAL;
		if (f->is_call) {
			b->insn[f->at].imm = (int32_t)off;
			continue;
		}
		if (off < INT16_MIN || off > INT16_MAX)
			return -E2BIG;
		b->insn[f->at].off = (int16_t)off;
	}
	return 0;
}
