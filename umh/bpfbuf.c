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

struct bbuf_island {
	size_t at;		/* its ja */
	int self;		/* the label bound at it */
	int to;			/* the label it jumps to */
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
	free(b->gap);
	free(b->isl);
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
	/* `ja label` right before it: the jump falls through */
	if (b->dead && b->nfix && b->fix[b->nfix - 1].at == b->len - 1 &&
	    b->fix[b->nfix - 1].label == label && !b->fix[b->nfix - 1].is_call &&
	    b->insn[b->len - 1].code == (BPF_JMP | BPF_JA) &&
	    b->ngap && b->gap[b->ngap - 1] == b->len) {
		b->nfix--;
		b->label_refs[label]--;
		b->ngap--;
		b->len--;
		b->dead = false;
	}
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
	if (insn.code == (BPF_JMP | BPF_EXIT) ||
	    insn.code == (BPF_JMP | BPF_JA)) {
		b->dead = true;
		b->err = grow((void **)&b->gap, &b->gap_cap, b->ngap + 1,
			      sizeof(*b->gap));
		if (!b->err)
			b->gap[b->ngap++] = b->len;
	}
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

/* an island not in reach of its label is at least this much closer */
#define ISLAND_STEP	1024

static bool reach(long from, long to)
{
	long off = to - from - 1;

	return off >= INT16_MIN && off <= INT16_MAX;
}

/* one instruction more at index q: everything from q on moves down */
static int insert_at(struct bbuf *b, size_t q, struct bpf_insn insn)
{
	size_t i, cap = b->cap;

	b->err = grow((void **)&b->insn, &b->cap, b->len + 1, sizeof(insn));
	if (!b->err)
		b->err = grow((void **)&b->src, &cap, b->len + 1,
			      sizeof(*b->src));
	if (b->err)
		return b->err;
	memmove(b->insn + q + 1, b->insn + q, (b->len - q) * sizeof(insn));
	memmove(b->src + q + 1, b->src + q, (b->len - q) * sizeof(*b->src));
	b->insn[q] = insn;
	b->src[q] = 0;
	b->len++;
	for (i = 0; i < b->nlabels; i++)
		if (b->label_pos[i] >= (long)q)
			b->label_pos[i]++;
	for (i = 0; i < b->nfix; i++)
		if (b->fix[i].at >= q)
			b->fix[i].at++;
	for (i = 0; i < b->nisl; i++)
		if (b->isl[i].at >= q)
			b->isl[i].at++;
	for (i = 0; i < b->ngap; i++)
		if (b->gap[i] >= q)
			b->gap[i]++;	/* still after the island's ja */
	return 0;
}

/*
 * Fixup k jumps out of reach: through an island for its label in reach,
 * or a new one at the gap farthest towards the label.  Islands lie
 * between the jump and its label: inside the jump's subprogram.
 */
static int relax_one(struct bbuf *b, size_t k)
{
	long at = (long)b->fix[k].at, to = b->label_pos[b->fix[k].label];
	long best = -1, q;
	size_t i, fk;
	int self;

	for (i = 0; i < b->nisl; i++) {
		q = (long)b->isl[i].at;
		if (b->isl[i].to == b->fix[k].label && reach(at, q) &&
		    (to > at ? q > at && q <= to : q >= to && q < at)) {
			b->fix[k].label = b->isl[i].self;
			return 0;
		}
	}
	for (i = 0; i < b->ngap; i++) {
		q = (long)b->gap[i];
		if (to > at ? q <= at || q > to : q < to || q > at)
			continue;
		if (!reach(at, q + (to > at ? 0 : -1)))
			continue;
		/* progress: in reach of the label, or well on the way */
		if (!reach(q, to) && labs(to - q) + ISLAND_STEP > labs(to - at))
			continue;
		if (best < 0 || (to > at ? q > best : q < best))
			best = q;
	}
	if (best < 0)
		return -E2BIG;
	if (insert_at(b, (size_t)best, BPF_I(BPF_JMP | BPF_JA, 0, 0, 0, 0)))
		return b->err;
	self = bbuf_label_new(b);
	if (b->err)
		return b->err;
	b->label_pos[self] = (int)best;
	b->err = grow((void **)&b->isl, &b->isl_cap, b->nisl + 1,
		      sizeof(*b->isl));
	if (!b->err)
		b->err = grow((void **)&b->fix, &b->fix_cap, b->nfix + 1,
			      sizeof(*b->fix));
	if (b->err)
		return b->err;
	b->isl[b->nisl].at = (size_t)best;
	b->isl[b->nisl].self = self;
	b->isl[b->nisl++].to = b->fix[k].label;
	fk = b->nfix++;
	b->fix[fk].at = (size_t)best;
	b->fix[fk].label = b->fix[k].label;
	b->fix[fk].is_call = 0;
	b->label_refs[self]++;
	b->fix[k].label = self;
	return 0;
}

int bbuf_finish(struct bbuf *b)
{
	bool again = true;
	size_t i;
	int err;

	if (b->err)
		return b->err;
	while (again) {
		again = false;
		for (i = 0; i < b->nfix; i++) {
			const struct bbuf_fixup *f = &b->fix[i];
			long target = b->label_pos[f->label];

			if (target < 0)
				return -EINVAL;
			if (f->is_call || reach((long)f->at, target))
				continue;
			err = relax_one(b, i);
			if (err)
				return err;
			again = true;
		}
	}
	for (i = 0; i < b->nfix; i++) {
		const struct bbuf_fixup *f = &b->fix[i];
		long target = b->label_pos[f->label];
		long off = target - (long)f->at - 1;

		if (f->is_call) {
			b->insn[f->at].imm = (int32_t)off;
			continue;
		}
		b->insn[f->at].off = (int16_t)off;
	}
	return 0;
}
