// SPDX-License-Identifier: GPL-2.0
/*
 * bbuf: labels, fixups, the 16-bit reach of jumps and the dropping of
 * unreachable code.
 */
#include <errno.h>
#include <stdint.h>

#include "bpfbuf.h"
#include "unit.h"

#define NOP(b, i)	bbuf_emit(b, I_MOV64_IMM(BPF_REG_1, i))
#define JA_TO(b, l)	bbuf_emit_jmp(b, BPF_JMP | BPF_JA, 0, 0, 0, l)

static void nops(struct bbuf *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		NOP(b, i);
}

/* a conditional jump to label, as the code generator emits them */
static void jeq(struct bbuf *b, int imm, int label)
{
	bbuf_emit_jmp(b, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, imm, label);
}

UNIT_TEST(bpfbuf_forward_jumps)
{
	struct bbuf b;
	int l1, l2, l3;

	bbuf_init(&b);
	l1 = bbuf_label_new(&b);
	l2 = bbuf_label_new(&b);
	l3 = bbuf_label_new(&b);
	CHECK(l1 != l2 && l2 != l3 && l1 != l3);

	jeq(&b, 7, l1);					/* 0 -> 4 */
	bbuf_emit_jmp(&b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_2, BPF_REG_3,
		      0, l2);				/* 1 -> 6 */
	jeq(&b, -5, l2);				/* 2 -> 6 */
	NOP(&b, 0);					/* 3 */
	bbuf_label_bind(&b, l1);
	NOP(&b, 1);					/* 4 */
	bbuf_emit_ld_imm64(&b, BPF_REG_4, 0x1122334455667788ULL); /* 5, 6 */
	bbuf_label_bind(&b, l3);			/* unused, live */
	bbuf_label_bind(&b, l2);
	bbuf_emit(&b, I_EXIT());				/* 7 */
	CHECK_EQ(b.len, 8);
	CHECK_EQ(bbuf_finish(&b), 0);

	CHECK_EQ(b.insn[0].off, 3);
	CHECK_EQ(b.insn[0].imm, 7);
	CHECK_EQ(b.insn[0].code, BPF_JMP | BPF_JEQ | BPF_K);
	CHECK_EQ(b.insn[0].dst_reg, BPF_REG_1);
	CHECK_EQ(b.insn[1].off, 5);
	CHECK_EQ(b.insn[1].dst_reg, BPF_REG_2);
	CHECK_EQ(b.insn[1].src_reg, BPF_REG_3);
	CHECK_EQ(b.insn[2].off, 4);
	CHECK_EQ(b.insn[2].imm, -5);
	/* the 64-bit immediate takes two slots */
	CHECK_EQ(b.insn[5].code, BPF_LD | BPF_DW | BPF_IMM);
	CHECK_EQ((uint32_t)b.insn[5].imm, 0x55667788u);
	CHECK_EQ((uint32_t)b.insn[6].imm, 0x11223344u);
	/* non-jumps untouched */
	CHECK_EQ(b.insn[3].off, 0);
	CHECK_EQ(b.insn[4].off, 0);
	/* a label bound while live gets its position even if unused */
	CHECK_EQ(b.label_pos[l3], 7);
	CHECK_EQ(b.label_refs[l3], 0);
	CHECK_EQ(b.label_refs[l2], 2);
	bbuf_free(&b);
}

UNIT_TEST(bpfbuf_jump_to_next_insn)
{
	struct bbuf b;
	int l;

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	jeq(&b, 0, l);
	bbuf_label_bind(&b, l);
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), 0);
	CHECK_EQ(b.insn[0].off, 0);
	bbuf_free(&b);
}

UNIT_TEST(bpfbuf_calls)
{
	struct bbuf b;
	int f, g;

	bbuf_init(&b);
	f = bbuf_label_new(&b);
	g = bbuf_label_new(&b);
	bbuf_emit_call_label(&b, f);			/* 0 -> 4 */
	bbuf_emit_call_label(&b, g);			/* 1 -> 6 */
	bbuf_emit(&b, I_MOV64_IMM(BPF_REG_0, 0));	/* 2 */
	bbuf_emit(&b, I_EXIT());				/* 3 */
	bbuf_label_bind(&b, f);
	bbuf_emit_call_label(&b, g);			/* 4 -> 6 */
	bbuf_emit(&b, I_EXIT());				/* 5 */
	bbuf_label_bind(&b, g);
	bbuf_emit(&b, I_MOV64_IMM(BPF_REG_0, 1));	/* 6 */
	bbuf_emit(&b, I_EXIT());				/* 7 */
	CHECK_EQ(b.len, 8);
	CHECK_EQ(bbuf_finish(&b), 0);

	CHECK_EQ(b.insn[0].code, BPF_JMP | BPF_CALL);
	CHECK_EQ(b.insn[0].src_reg, BPF_PSEUDO_CALL);
	CHECK_EQ(b.insn[0].imm, 3);
	CHECK_EQ(b.insn[0].off, 0);
	CHECK_EQ(b.insn[1].src_reg, BPF_PSEUDO_CALL);
	CHECK_EQ(b.insn[1].imm, 4);
	CHECK_EQ(b.insn[4].imm, 1);
	CHECK_EQ(b.label_pos[f], 4);
	CHECK_EQ(b.label_pos[g], 6);
	bbuf_free(&b);
}

/* calls have a 32-bit reach: far subprograms are fine */
UNIT_TEST(bpfbuf_far_call)
{
	struct bbuf b;
	int f;

	bbuf_init(&b);
	f = bbuf_label_new(&b);
	bbuf_emit_call_label(&b, f);
	nops(&b, 100000);
	bbuf_emit(&b, I_EXIT());
	bbuf_label_bind(&b, f);
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), 0);
	CHECK_EQ(b.insn[0].imm, 100001);
	bbuf_free(&b);
}

/* distance d (instructions skipped) of a forward jump; finish() result */
static int forward_jump(int d, int16_t *off)
{
	struct bbuf b;
	int l, ret;

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	NOP(&b, 0);
	jeq(&b, 1, l);
	nops(&b, d);
	bbuf_label_bind(&b, l);
	bbuf_emit(&b, I_EXIT());
	ret = bbuf_finish(&b);
	*off = b.len > 1 ? b.insn[1].off : -1;
	bbuf_free(&b);
	return ret;
}

UNIT_TEST(bpfbuf_jump_range)
{
	int16_t off = 0;

	CHECK_EQ(forward_jump(32767, &off), 0);
	CHECK_EQ(off, 32767);
	CHECK_EQ(forward_jump(32768, &off), -E2BIG);
	CHECK_EQ(forward_jump(40000, &off), -E2BIG);
	/* 65536 + 5 must not be truncated to 5 */
	CHECK_EQ(forward_jump(65541, &off), -E2BIG);
	CHECK_EQ(forward_jump(100000, &off), -E2BIG);
}

/* the unconditional jump has the same reach */
UNIT_TEST(bpfbuf_ja_range)
{
	struct bbuf b;
	int l, mid;

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	mid = bbuf_label_new(&b);
	jeq(&b, 0, mid);
	bbuf_emit_jmp(&b, BPF_JMP | BPF_JA, 0, 0, 0, l);
	bbuf_label_bind(&b, mid);
	nops(&b, 33000);
	bbuf_label_bind(&b, l);
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(b.len, 33003);
	CHECK_EQ(bbuf_finish(&b), -E2BIG);
	bbuf_free(&b);
}

/* backward jumps (label bound first) are range checked as well */
UNIT_TEST(bpfbuf_backward_range)
{
	struct bbuf b;
	int l;

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	bbuf_label_bind(&b, l);
	nops(&b, 32767);
	jeq(&b, 0, l);			/* off = -32768: fits */
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), 0);
	CHECK_EQ(b.insn[32767].off, -32768);
	bbuf_free(&b);

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	bbuf_label_bind(&b, l);
	nops(&b, 32768);
	jeq(&b, 0, l);			/* off = -32769 */
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), -E2BIG);
	bbuf_free(&b);
}

/*
 * Where jumps go after finish(): follow ja islands from the jump at
 * index i to the first instruction that is not an island; -1 if an
 * offset leaves the program.  *hops: islands passed.
 */
static long land(const struct bbuf *b, long i, int *hops)
{
	long t = i + b->insn[i].off + 1;

	*hops = 0;
	while (t >= 0 && t < (long)b->len &&
	       b->insn[t].code == (BPF_JMP | BPF_JA) && b->insn[t].off &&
	       b->src[t] == 0) {
		t = t + b->insn[t].off + 1;
		++*hops;
	}
	return t >= 0 && t < (long)b->len ? t : -1;
}

/* islands only where nothing falls through: after an exit or a ja */
static int islands_fenced(const struct bbuf *b)
{
	size_t i;

	for (i = 1; i < b->len; i++)
		if (b->src[i] == 0 && b->src[i - 1] != 0 &&
		    b->insn[i - 1].code != (BPF_JMP | BPF_JA) &&
		    b->insn[i - 1].code != (BPF_JMP | BPF_EXIT))
			return 0;
	return 1;
}

/*
 * blocks of n + 1 instructions: nops, a jump over an exit (a gap after
 * it); `ja` to the next instruction would be dropped
 */
static void blocks(struct bbuf *b, int nblocks, int n)
{
	int i, l;

	for (i = 0; i < nblocks; i++) {
		nops(b, n - 1);
		l = bbuf_label_new(b);
		jeq(b, 0, l);
		bbuf_emit(b, I_EXIT());
		bbuf_label_bind(b, l);
	}
}

/* a jump beyond 16 bits goes through islands placed in the gaps */
UNIT_TEST(bpfbuf_far_forward_islands)
{
	struct bbuf b;
	long target;
	int l, hops;

	bbuf_init(&b);
	b.cur_src = 0xfeed;
	l = bbuf_label_new(&b);
	jeq(&b, 1, l);
	jeq(&b, 2, l);			/* shares the first one's islands */
	blocks(&b, 5, 20000);		/* 100,005 instructions */
	bbuf_label_bind(&b, l);
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), 0);
	CHECK(islands_fenced(&b));
	/* islands of src 0: not the buffer's own */
	target = (long)b.len - 1;
	CHECK_EQ(b.insn[target].code, BPF_JMP | BPF_EXIT);
	CHECK_EQ(land(&b, 0, &hops), target);
	CHECK(hops >= 3 && hops <= 5);
	CHECK_EQ(land(&b, 1, &hops), target);
	/* 2 jumps + 5 blocks + exit, and only the islands of one chain */
	CHECK(b.len >= 100008 + 3 && b.len <= 100008 + 5);
	bbuf_free(&b);
}

UNIT_TEST(bpfbuf_far_backward_islands)
{
	struct bbuf b;
	int l, hops;

	bbuf_init(&b);
	b.cur_src = 0xfeed;
	l = bbuf_label_new(&b);
	bbuf_label_bind(&b, l);
	NOP(&b, 7);
	blocks(&b, 3, 20000);
	jeq(&b, 0, l);
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), 0);
	CHECK(islands_fenced(&b));
	CHECK_EQ(land(&b, (long)b.len - 2, &hops), 0);
	CHECK(hops >= 1);
	bbuf_free(&b);
}

/* no place for an island in reach: still an error, never truncated */
UNIT_TEST(bpfbuf_far_no_gap)
{
	struct bbuf b;
	int l;

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	jeq(&b, 1, l);
	blocks(&b, 1, 40000);		/* the only gap is out of reach */
	nops(&b, 10);
	bbuf_label_bind(&b, l);
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), -E2BIG);
	bbuf_free(&b);
}

UNIT_TEST(bpfbuf_unbound_label)
{
	struct bbuf b;
	int l;

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	jeq(&b, 0, l);
	bbuf_emit(&b, I_EXIT());
	CHECK(bbuf_finish(&b) < 0);
	bbuf_free(&b);
}

/* `ja l` right before l is dropped: the code falls through */
UNIT_TEST(bpfbuf_ja_to_next_dropped)
{
	struct bbuf b;
	int l, m, other;

	bbuf_init(&b);
	l = bbuf_label_new(&b);
	m = bbuf_label_new(&b);
	other = bbuf_label_new(&b);
	NOP(&b, 1);					/* 0 */
	JA_TO(&b, l);					/* dropped */
	bbuf_label_bind(&b, l);
	CHECK(!b.dead);
	CHECK_EQ(b.len, 1);
	CHECK_EQ(b.label_refs[l], 0);
	CHECK_EQ(b.ngap, 0);
	/* a ja to another label stays, and so does the gap after it */
	jeq(&b, 1, m);					/* 1 -> 4 */
	JA_TO(&b, other);				/* 2 -> 3 */
	bbuf_label_bind(&b, m);
	CHECK_EQ(b.len, 3);
	bbuf_label_bind(&b, other);			/* not dropped: */
	CHECK_EQ(b.len, 3);				/* m is at 3 */
	bbuf_emit(&b, I_EXIT());			/* 3 */
	CHECK_EQ(bbuf_finish(&b), 0);
	CHECK_EQ(b.insn[1].off, 1);
	CHECK_EQ(b.insn[2].off, 0);
	bbuf_free(&b);
}

UNIT_TEST(bpfbuf_dead_after_exit)
{
	struct bbuf b;
	int used, unused, l;

	bbuf_init(&b);
	used = bbuf_label_new(&b);
	unused = bbuf_label_new(&b);
	jeq(&b, 1, used);				/* 0 -> 3 */
	NOP(&b, 1);					/* 1 */
	bbuf_emit(&b, I_EXIT());				/* 2 */
	CHECK(b.dead);
	NOP(&b, 2);					/* dropped */
	bbuf_emit(&b, I_EXIT());				/* dropped */
	bbuf_emit_ld_imm64(&b, BPF_REG_1, 5);		/* dropped */
	bbuf_emit_call_label(&b, unused);		/* dropped, no ref */
	CHECK_EQ(b.len, 3);
	CHECK_EQ(b.label_refs[unused], 0);

	/* an unreferenced label bound while dead: still dead */
	bbuf_label_bind(&b, unused);
	CHECK(b.dead);
	CHECK_EQ(b.label_pos[unused], -1);
	NOP(&b, 3);					/* dropped */
	CHECK_EQ(b.len, 3);

	/* a referenced label revives the code */
	bbuf_label_bind(&b, used);
	CHECK(!b.dead);
	CHECK_EQ(b.label_pos[used], 3);
	NOP(&b, 4);					/* 3 */
	bbuf_emit(&b, I_EXIT());				/* 4 */
	CHECK_EQ(b.len, 5);
	CHECK_EQ(bbuf_finish(&b), 0);
	CHECK_EQ(b.insn[0].off, 2);
	CHECK_EQ(b.insn[3].imm, 4);
	CHECK_EQ(b.insn[1].imm, 1);
	bbuf_free(&b);

	/* a jump emitted in dead code does not keep its label alive */
	bbuf_init(&b);
	l = bbuf_label_new(&b);
	bbuf_emit(&b, I_EXIT());
	jeq(&b, 0, l);
	bbuf_emit_jmp(&b, BPF_JMP | BPF_JA, 0, 0, 0, l);
	CHECK_EQ(b.label_refs[l], 0);
	bbuf_label_bind(&b, l);
	CHECK(b.dead);
	NOP(&b, 0);
	CHECK_EQ(b.len, 1);
	CHECK_EQ(b.nfix, 0);
	CHECK_EQ(bbuf_finish(&b), 0);
	bbuf_free(&b);
}

UNIT_TEST(bpfbuf_dead_after_ja)
{
	struct bbuf b;
	int end, other;

	bbuf_init(&b);
	end = bbuf_label_new(&b);
	other = bbuf_label_new(&b);
	jeq(&b, 3, other);				/* 0 -> 3 */
	bbuf_emit_jmp(&b, BPF_JMP | BPF_JA, 0, 0, 0, end); /* 1 -> 5 */
	CHECK(b.dead);
	NOP(&b, 9);					/* dropped */
	CHECK_EQ(b.len, 2);
	bbuf_label_bind(&b, other);
	CHECK(!b.dead);
	NOP(&b, 1);					/* 2 */
	/* a conditional jump does not end the reachable code */
	jeq(&b, 4, end);				/* 3 -> 5 */
	CHECK(!b.dead);
	NOP(&b, 2);					/* 4 */
	bbuf_label_bind(&b, end);
	bbuf_emit(&b, I_EXIT());				/* 5 */
	CHECK_EQ(b.len, 6);
	CHECK_EQ(bbuf_finish(&b), 0);
	/* `other` was bound at 2: the jump at 0 skips the ja */
	CHECK_EQ(b.label_pos[other], 2);
	CHECK_EQ(b.insn[0].off, 1);
	CHECK_EQ(b.insn[1].off, 3);
	CHECK_EQ(b.insn[3].off, 1);
	bbuf_free(&b);
}

UNIT_TEST(bpfbuf_source_tags)
{
	struct bbuf b;

	bbuf_init(&b);
	b.cur_src = 0;
	NOP(&b, 0);
	b.cur_src = 7;
	NOP(&b, 1);
	bbuf_emit_ld_imm64(&b, BPF_REG_2, 1);
	b.cur_src = 0;
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(b.len, 5);
	CHECK_EQ(b.src[0], 0);
	CHECK_EQ(b.src[1], 7);
	CHECK_EQ(b.src[2], 7);
	CHECK_EQ(b.src[3], 7);
	CHECK_EQ(b.src[4], 0);
	bbuf_free(&b);
}

/* many labels and fixups: the arrays grow without losing anything */
UNIT_TEST(bpfbuf_many_labels)
{
	struct bbuf b;
	int i, l[1000];

	bbuf_init(&b);
	for (i = 0; i < 1000; i++) {
		l[i] = bbuf_label_new(&b);
		CHECK_EQ(l[i], i);
		jeq(&b, i, l[i]);
	}
	for (i = 999; i >= 0; i--) {
		NOP(&b, i);
		bbuf_label_bind(&b, l[i]);
	}
	bbuf_emit(&b, I_EXIT());
	CHECK_EQ(bbuf_finish(&b), 0);
	/* jump i at insn i; label i after (1000 - i) nops: at 2000 - i */
	for (i = 0; i < 1000; i++) {
		CHECK_EQ(b.insn[i].imm, i);
		CHECK_EQ(b.insn[i].off, 2000 - i - i - 1);
	}
	bbuf_free(&b);
}
