// SPDX-License-Identifier: GPL-2.0
/*
 * Services (kernel target): the IMR the builder makes of counters,
 * lookups, verdict maps, ct and meta loads; the instructions around every
 * nftj_svc_eval() call (register file offsets, the call's encoding, what
 * each return value leads to); and the programs run on this host with
 * each kfunc call replaced by a call to a stub subprogram that records
 * the register file it is given and answers what the test says.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <libnftnl/expr.h>
#include <linux/bpf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "build.h"
#include "jit.h"
#include "kctl.h"
#include "kfunc.h"
#include "netns_util.h"
#include "unit.h"

static struct nftj_prog jp;
/* the test target, emitted only */
static const struct nftj_build_opts test_noload = {
	.sz = sizeof(test_noload), .flags = NFTJ_F_NO_LOAD,
};

static int kbuild(const struct nftj_ruleset *rs, const char *chain)
{
	NFTJ_BUILD_OPTS(o, .target = NFTJ_TARGET_KERNEL,
			.flags = NFTJ_F_NO_LOAD);
	int err = nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", chain, &o);

	if (err)
		fprintf(stderr, "  build %s: %s: %s\n", chain, strerror(-err),
			jp.why);
	return err;
}

static const struct imr_rule *rule_of(const char *chain, size_t n)
{
	size_t i;

	for (i = 0; i < jp.imr.nchains; i++)
		if (!strcmp(jp.imr.chains[i].name, chain) &&
		    n < jp.imr.chains[i].nrules)
			return &jp.imr.chains[i].rules[n];
	return NULL;
}

/* the n-th service statement of a rule */
static const struct imr_stmt *svc_stmt_of(const struct imr_rule *r,
					  size_t n)
{
	size_t i;

	for (i = 0; r && i < r->nstmts; i++)
		if (r->stmts[i].type == IMR_S_SERVICE && !n--)
			return &r->stmts[i];
	return NULL;
}

static bool is_svc(size_t i, const char *chain, uint64_t handle,
		   uint32_t pos, enum imr_svc_kind kind)
{
	const struct nftj_service *v = &jp.svc[i];
	const struct imr_svc *s = &jp.imr.svcs[i];

	if (i >= jp.nsvc || strcmp(v->chain, chain) || v->handle != handle ||
	    v->index != pos || v->kind != kind || s->pos != pos ||
	    s->handle != handle) {
		fprintf(stderr, "  svc %zu: %s handle %llu #%u %s, expected %s handle %llu #%u %s\n",
			i, i < jp.nsvc ? v->chain : "-",
			i < jp.nsvc ? (unsigned long long)v->handle : 0ULL,
			i < jp.nsvc ? v->index : 0,
			i < jp.nsvc ? imr_svc_kind_name(v->kind) : "-",
			chain, (unsigned long long)handle, pos,
			imr_svc_kind_name(kind));
		return false;
	}
	return true;
}

/* ---- the ruleset ------------------------------------------------------- */

/*
 * Kernel expressions per rule of c (nft --debug=netlink), the services'
 * positions marked:
 *  0  payload, lookup s #1, counter #2, immediate
 *  1  meta, cmp, payload, payload, lookup cr #4, immediate
 *  2  ct state #0, bitwise, cmp, immediate
 *  3  meta iifname #0, cmp, immediate
 *  4  meta skuid #0, cmp, immediate
 *  5  meta, cmp, payload, lookup __map #3 (verdict map)
 *  6  counter #0, payload, lookup s (inverted) #2, immediate
 *  7  payload, cmp, immediate jump sub
 * sub: payload, lookup s #1, counter #2, immediate return
 */
static const char rs_svc[] =
	"table ip t {\n"
	"	set s { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 } }\n"
	"	set cr { type ipv4_addr . inet_service; flags interval;\n"
	"		 elements = { 10.0.0.0/8 . 20-30 } }\n"
	"	set sc { type ipv4_addr; counter; elements = { 10.0.0.1 } }\n"
	"	map vc { type inet_service : verdict; counter;\n"
	"		 elements = { 22 : accept } }\n"
	"	chain sub {\n"
	"		ip daddr @s counter return\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook input priority 0; policy drop;\n"
	"		ip saddr @s counter accept\n"
	"		ip saddr . tcp dport @cr drop\n"
	"		ct state established,related accept\n"
	"		iifname \"lo\" accept\n"
	"		meta skuid 0 accept\n"
	"		tcp dport vmap { 22 : accept, 23 : drop, 24 : jump sub }\n"
	"		counter ip saddr != @s drop\n"
	"		ip saddr 1.1.1.1 jump sub\n"
	"	}\n"
	"	chain r {\n"
	"		tcp dport vmap { 22 : accept }\n"
	"	}\n"
	"	chain c2 {\n"
	"		type filter hook output priority 0;\n"
	"		ip daddr 1.1.1.1 jump r\n"
	"		counter tcp dport vmap { 1 : accept }\n"
	"		ct state new ct direction original ct mark 3 accept\n"
	"	}\n"
	"	chain c4 {\n"
	"		type filter hook forward priority 0;\n"
	"		ip saddr @sc ip daddr @s accept\n"
	"		tcp dport vmap @vc\n"
	"	}\n"
	"}\n";

#define NRULES_C	8

static void check_imr(struct nftj_ruleset *rs)
{
	const struct imr_rule *r;
	const struct imr_stmt *s;
	uint64_t h[NRULES_C];
	size_t i;

	CHECK_EQ(kbuild(rs, "c"), 0);
	CHECK_EQ(jp.imr.caps, IMR_CAP_SERVICES);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, -1);
	CHECK_EQ(nftj_prog_compiled(&jp), NRULES_C);
	for (i = 0; i < NRULES_C; i++) {
		CHECK((r = rule_of("c", i)));
		h[i] = r->handle;
	}
	CHECK_EQ(jp.nsvc, 11);
	CHECK(is_svc(0, "c", h[0], 1, IMR_SVC_LOOKUP));
	CHECK(is_svc(1, "c", h[0], 2, IMR_SVC_COUNTER));
	CHECK(is_svc(2, "c", h[1], 4, IMR_SVC_LOOKUP));
	CHECK(is_svc(3, "c", h[2], 0, IMR_SVC_CT));
	CHECK(is_svc(4, "c", h[3], 0, IMR_SVC_META));
	CHECK(is_svc(5, "c", h[4], 0, IMR_SVC_META));
	CHECK(is_svc(6, "c", h[5], 3, IMR_SVC_VMAP));
	CHECK(is_svc(7, "c", h[6], 0, IMR_SVC_COUNTER));
	CHECK(is_svc(8, "c", h[6], 2, IMR_SVC_LOOKUP));
	CHECK(is_svc(9, "sub", rule_of("sub", 0)->handle, 1,
		     IMR_SVC_LOOKUP));
	CHECK(is_svc(10, "sub", rule_of("sub", 0)->handle, 2,
		     IMR_SVC_COUNTER));
	CHECK_STR(jp.svc[0].expr, "lookup reg 1 set s 0x0");
	CHECK_STR(jp.svc[1].expr, "counter");
	CHECK_STR(jp.svc[3].expr, "ct load state => reg 1");
	CHECK_STR(jp.svc[4].expr, "meta load iifname => reg 1");

	/* keys where the kernel reads them, values where it writes them */
	CHECK_EQ(jp.imr.svcs[0].key_word, 4);
	CHECK_EQ(jp.imr.svcs[2].key_word, 4);	/* reg 1, then reg 9 */
	s = svc_stmt_of(rule_of("c", 1), 0);
	CHECK(s && s->expr && s->expr->type == IMR_E_CONCAT);
	CHECK_EQ(s->expr->ncomp, 2);
	CHECK_EQ(s->expr->len, 8);
	CHECK_EQ(jp.imr.svcs[3].out_word, 4);
	CHECK_EQ(jp.imr.svcs[3].out_len, 4);
	CHECK_EQ(jp.imr.svcs[4].out_len, 16);		/* IFNAMSIZ */
	CHECK_EQ(jp.imr.svcs[0].out_word, -1);
	/* ct state & 6 != 0: the value is the service's output */
	r = rule_of("c", 2);
	CHECK_EQ(r->nstmts, 3);
	CHECK_EQ(r->stmts[1].type, IMR_S_CMP);
	CHECK_EQ(r->stmts[1].expr->type, IMR_E_MASKXOR);
	CHECK_EQ(r->stmts[1].expr->child->type, IMR_E_SVC);
	CHECK_EQ(r->stmts[1].expr->child->svc.index, 3);
	CHECK_EQ(r->stmts[1].expr->child->svc.word, 4);
	CHECK_STR(r->stmts[1].expr->child->svc.name, "ct.state");
	/* the inverted lookup: the kernel inverts, the IMR remembers */
	CHECK(svc_stmt_of(rule_of("c", 6), 1)->invert);
	CHECK(rule_of("c", 0)->has_counter);
	nftj_prog_free(&jp);

	/*
	 * c2: a verdict map in a regular chain, or after a counter, can
	 * need the interpreter where the program cannot resume.
	 */
	CHECK_EQ(kbuild(rs, "c2"), 0);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, 0);
	CHECK(strstr(rule_of("c2", 0)->reason, "regular chain r"));
	CHECK(strstr(rule_of("c2", 1)->reason, "after a counter"));
	CHECK(!rule_of("c2", 2)->unsupported);
	/* services of rules the program does not run are dropped */
	CHECK_EQ(jp.nsvc, 0);
	nftj_prog_free(&jp);

	/* the test target keeps its maps and its limits */
	CHECK_EQ(nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "c", &test_noload),
		 0);
	CHECK_EQ(jp.nsvc, 0);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, 1);
	CHECK_STR(rule_of("c", 1)->reason, "set cr: concatenated ranges");
	CHECK_STR(rule_of("c", 2)->reason, "ct");
	nftj_prog_free(&jp);

	/* element counters: a matching lookup is a side effect */
	CHECK_EQ(kbuild(rs, "c4"), 0);
	CHECK_EQ(jp.nsvc, 2);
	CHECK(jp.imr.svcs[0].side_effect);
	CHECK(!jp.imr.svcs[1].side_effect);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, 1);
	CHECK(strstr(rule_of("c4", 1)->reason, "element expressions"));
	nftj_prog_free(&jp);
}

UNIT_TEST(services_imr)
{
	NETNS_TEST(rs_svc, check_imr);
}

/* ---- instructions ------------------------------------------------------ */

static int find_kcall(const struct bbuf *b, int from)
{
	size_t i;

	for (i = (size_t)from; i < b->len; i++)
		if (nftj_insn_is_kfunc_call(&b->insn[i]))
			return (int)i;
	return -1;
}

static bool insn_is(const struct bpf_insn *in, uint8_t code, uint8_t dst,
		    uint8_t src, int16_t off, int32_t imm)
{
	return in->code == code && in->dst_reg == dst && in->src_reg == src &&
	       in->off == off && in->imm == imm;
}

/* *(u32 *)(r10 off) = rX somewhere in [from, to) */
static bool stores_word(const struct bbuf *b, int from, int to,
			int16_t off)
{
	int i;

	for (i = from; i < to; i++)
		if (b->insn[i].code == (BPF_STX | BPF_W | BPF_MEM) &&
		    b->insn[i].dst_reg == BPF_REG_10 && b->insn[i].off == off)
			return true;
	return false;
}

/* the value of "w0 = imm; exit" first reached from i */
static int64_t exit_value(const struct bbuf *b, int i)
{
	for (; (size_t)i + 1 < b->len; i++)
		if (b->insn[i].code == (BPF_ALU | BPF_MOV | BPF_K) &&
		    b->insn[i].dst_reg == BPF_REG_0 &&
		    b->insn[i + 1].code == (BPF_JMP | BPF_EXIT))
			return (uint32_t)b->insn[i].imm;
	return -1;
}

static void check_insns(struct nftj_ruleset *rs)
{
	struct nftj_kfunc kf = { .btf_id = 4242, .off = NFTJ_KFUNC_FD_IDX };
	const struct bbuf *b;
	int call, prev = 0, i, n = 0;

	CHECK_EQ(kbuild(rs, "c"), 0);
	CHECK_EQ(jp.nseg, 1);
	b = &jp.seg[0].buf;

	/* the prologue zeroes the register file, fp-96 .. fp-17 */
	for (i = 0; i < NFTJ_REGS_SIZE / 8; i++)
		CHECK(insn_is(&b->insn[3 + i], BPF_ST | BPF_DW | BPF_MEM,
			      BPF_REG_10, 0, (int16_t)(-96 + 8 * i), 0));

	/* every call: r1 = ctx, r3 = fp - 96, r4 = 80, r2 = service */
	for (call = find_kcall(b, 0); call >= 0;
	     call = find_kcall(b, call + 1)) {
		CHECK(call >= 5);
		CHECK(insn_is(&b->insn[call], BPF_JMP | BPF_CALL, 0,
			      BPF_PSEUDO_KFUNC_CALL, 0, 0));
		CHECK(insn_is(&b->insn[call - 5], BPF_ALU64 | BPF_MOV | BPF_X,
			      BPF_REG_1, BPF_REG_6, 0, 0));
		CHECK(insn_is(&b->insn[call - 4], BPF_ALU64 | BPF_MOV | BPF_X,
			      BPF_REG_3, BPF_REG_10, 0, 0));
		CHECK(insn_is(&b->insn[call - 3], BPF_ALU64 | BPF_ADD | BPF_K,
			      BPF_REG_3, 0, 0, CG_FP_REGS));
		CHECK(insn_is(&b->insn[call - 2], BPF_ALU64 | BPF_MOV | BPF_K,
			      BPF_REG_4, 0, 0, NFTJ_REGS_SIZE));
		CHECK(insn_is(&b->insn[call - 1], BPF_ALU64 | BPF_MOV | BPF_K,
			      BPF_REG_2, 0, 0, n));
		/* the return value is compared as 32 bits */
		CHECK_EQ(BPF_CLASS(b->insn[call + 3].code), BPF_JMP32);
		if (n == 0) {
			/* ip saddr @s: the key at NFT_REG_1 = word 4 */
			CHECK(stores_word(b, prev, call, -96 + 4 * 4));
			/* an error: the interpreter redoes rule 0 */
			CHECK_EQ(exit_value(b, call), NFTJ_RET_RESUME(0));
		}
		if (n == 2) {
			/* ip saddr . tcp dport @cr: reg 1 and reg 9 */
			CHECK(stores_word(b, prev, call, -80));
			CHECK(stores_word(b, prev, call, -76));
			CHECK_EQ(exit_value(b, call), NFTJ_RET_RESUME(1));
		}
		if (n == 3 || n == 4 || n == 5 || n == 7)
			CHECK(!stores_word(b, prev, call, -80));
		if (n == 8)	/* after the rule's counter: no resume */
			CHECK_EQ(exit_value(b, call), CG_RET_FALLBACK);
		prev = call;
		n++;
	}
	/* sub's two services are in its subprogram */
	CHECK_EQ(n, 11);
	/* the end of the base chain: the interpreter applies the policy */
	for (i = (int)b->len - 1; i > 0; i--)
		if (b->insn[i].code == (BPF_ALU | BPF_MOV | BPF_K) &&
		    b->insn[i].dst_reg == BPF_REG_0 &&
		    (uint32_t)b->insn[i].imm == NFTJ_RET_RESUME(NRULES_C))
			break;
	CHECK(i > 0);

	/* resolving the kfunc points every call at it */
	CHECK_EQ(nftj_kfunc_patch(&jp.seg[0].buf, &kf), 11);
	call = find_kcall(b, 0);
	CHECK(insn_is(&b->insn[call], BPF_JMP | BPF_CALL, 0,
		      BPF_PSEUDO_KFUNC_CALL, NFTJ_KFUNC_FD_IDX, 4242));
	nftj_prog_free(&jp);

	/* after a lookup that updated element counters: no resume */
	CHECK_EQ(kbuild(rs, "c4"), 0);
	b = &jp.seg[0].buf;
	call = find_kcall(b, 0);
	CHECK(call > 0);
	CHECK_EQ(exit_value(b, call), NFTJ_RET_RESUME(0));
	call = find_kcall(b, call + 1);
	CHECK(call > 0);
	CHECK_EQ(exit_value(b, call), CG_RET_FALLBACK);
	nftj_prog_free(&jp);

	/* the test target: no calls, the policy itself */
	CHECK_EQ(nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "c", &test_noload),
		 0);
	CHECK_EQ(find_kcall(&jp.seg[0].buf, 0), -1);
	nftj_prog_free(&jp);
}

UNIT_TEST(services_insns)
{
	NETNS_TEST(rs_svc, check_insns);
}

/* ---- running them: stubs in place of the kfunc ------------------------- */

struct stub_val {
	int32_t ret;		/* what the "kernel" returns */
	uint32_t calls;
	uint32_t out[4];	/* written at the service's output word */
	uint32_t regs[20];	/* the register file it was given */
};

static int stub_fd = -1, stub_prog = -1;

static void stub_set(uint32_t svc, int32_t ret, const void *out, size_t len)
{
	struct stub_val v = { .ret = ret };

	if (out)
		memcpy(v.out, out, len);
	bpf_map_update_elem(stub_fd, &svc, &v, BPF_ANY);
}

static struct stub_val stub_get(uint32_t svc)
{
	struct stub_val v = {};

	bpf_map_lookup_elem(stub_fd, &svc, &v);
	return v;
}

static void stub_reset(void)
{
	uint32_t i;

	for (i = 0; i < jp.nsvc; i++)
		stub_set(i, NFT_CONTINUE, NULL, 0);
}

#define EMIT(x)	(out[n++] = (x))

/*
 * Service i's stub, a subprogram called as the kfunc is: R1 ctx, R2 i,
 * R3 the register file, R4 its size.  It records the register file and
 * one more call, writes `out` at the output word and returns `ret`.
 */
static size_t stub_emit(struct bpf_insn *out, uint32_t svc)
{
	const struct imr_svc *v = &jp.imr.svcs[svc];
	size_t n = 0;
	int w;

	EMIT(I_MOV64_REG(BPF_REG_6, BPF_REG_3));
	EMIT(I_ST(BPF_W, BPF_REG_10, -4, (int32_t)svc));
	EMIT(BPF_I(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0,
		   stub_fd));
	EMIT(BPF_I(0, 0, 0, 0, 0));
	EMIT(I_MOV64_REG(BPF_REG_2, BPF_REG_10));
	EMIT(I_ALU64_IMM(BPF_ADD, BPF_REG_2, -4));
	EMIT(I_CALL(BPF_FUNC_map_lookup_elem));
	EMIT(BPF_I(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0));
	EMIT(I_MOV32_IMM(BPF_REG_0, NFTJ_SVC_ERROR));
	EMIT(I_EXIT());
	for (w = 0; w < 20; w++) {
		EMIT(I_LDX(BPF_W, BPF_REG_1, BPF_REG_6, (int16_t)(4 * w)));
		EMIT(I_STX(BPF_W, BPF_REG_0, BPF_REG_1, (int16_t)(
			offsetof(struct stub_val, regs) + 4 * w)));
	}
	EMIT(I_LDX(BPF_W, BPF_REG_1, BPF_REG_0,
		   offsetof(struct stub_val, calls)));
	EMIT(I_ALU64_IMM(BPF_ADD, BPF_REG_1, 1));
	EMIT(I_STX(BPF_W, BPF_REG_0, BPF_REG_1,
		   offsetof(struct stub_val, calls)));
	for (w = 0; v->out_word >= 0 && w < v->out_len / 4 && w < 4; w++) {
		EMIT(I_LDX(BPF_W, BPF_REG_1, BPF_REG_0, (int16_t)(
			offsetof(struct stub_val, out) + 4 * w)));
		EMIT(I_STX(BPF_W, BPF_REG_6, BPF_REG_1,
			   (int16_t)(4 * (v->out_word + w))));
	}
	EMIT(I_LDX(BPF_W, BPF_REG_0, BPF_REG_0,
		   offsetof(struct stub_val, ret)));
	EMIT(I_EXIT());
	return n;
}

/* load segment 0 with its kfunc calls turned into calls of stubs */
static int stub_load(void)
{
	const struct bbuf *b = &jp.seg[0].buf;
	size_t n = b->len, i, *start;
	struct bpf_insn *insn;
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	static char log[1 << 20];
	uint32_t s;

	stub_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nftj_stub", 4,
				 sizeof(struct stub_val),
				 jp.nsvc ? (uint32_t)jp.nsvc : 1, NULL);
	if (stub_fd < 0)
		return -errno;
	insn = calloc(n + jp.nsvc * 128, sizeof(*insn));
	start = calloc(jp.nsvc + 1, sizeof(*start));
	if (!insn || !start)
		return -ENOMEM;
	memcpy(insn, b->insn, n * sizeof(*insn));
	for (s = 0; s < jp.nsvc; s++) {
		start[s] = n;
		n += stub_emit(insn + n, s);
	}
	for (i = 0; i < b->len; i++) {
		if (!nftj_insn_is_kfunc_call(&insn[i]))
			continue;
		s = (uint32_t)insn[i - 1].imm;	/* r2 = service */
		insn[i] = BPF_I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0,
				(int32_t)(start[s] - i - 1));
	}
	o.log_buf = log;
	o.log_size = sizeof(log);
	o.log_level = 1;
	stub_prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "nftj_stub", "GPL",
				  insn, n, &o);
	free(insn);
	free(start);
	if (stub_prog < 0) {
		size_t l = strlen(log);

		fprintf(stderr, "  stub program: %s\n%s\n", strerror(errno),
			l > 2000 ? log + l - 2000 : log);
		return -errno;
	}
	stub_reset();
	return 0;
}

static void stub_free(void)
{
	if (stub_prog >= 0)
		close(stub_prog);
	if (stub_fd >= 0)
		close(stub_fd);
	stub_prog = stub_fd = -1;
	nftj_prog_free(&jp);
}

/* IPv4 + TCP SYN from src:1000 to dst:dport, from the IP header */
static size_t tcp4(uint8_t *p, const char *src, const char *dst,
		   uint16_t dport)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	p[20] = 1000 >> 8;
	p[21] = 1000 & 0xff;
	p[22] = dport >> 8;
	p[23] = dport & 0xff;
	p[32] = 5 << 4;
	p[33] = 0x02;
	return 40;
}

/* run as the runner would, with its pktinfo; the program's return value */
static uint32_t krun(const char *src, const char *dst, uint16_t dport)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct __sk_buff ctx = {};
	uint8_t p[64];

	ctx.cb[NFTJ_CB_HOOK] = NFTJ_CB2(NF_INET_LOCAL_IN, NFPROTO_IPV4,
					NFTJ_F_PKTINFO);
	ctx.cb[NFTJ_CB_DEVTYPE] = NFTJ_NO_DEV | NFTJ_NO_DEV << 16;
	ctx.cb[NFTJ_CB_PKTINFO] = 20 | IPPROTO_TCP << 16 | NFTJ_PKTINFO_L4;
	o.data_in = p;
	o.data_size_in = (uint32_t)tcp4(p, src, dst, dport);
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(stub_prog, &o)) {
		fprintf(stderr, "  test run: %s\n", strerror(errno));
		return 0xdeadbeef;
	}
	return o.retval;
}

static void check_run(struct nftj_ruleset *rs)
{
	static const uint8_t saddr[4] = { 10, 1, 2, 3 };
	static const uint8_t key2[8] = { 10, 1, 2, 3, 0, 22, 0, 0 };
	const uint32_t established = 2, new = 8, uid = 1000;
	const char lo[16] = "lo", eth0[16] = "eth0";
	struct stub_val v;
	int w, err;

	CHECK_EQ(kbuild(rs, "c"), 0);
	err = stub_load();
	if (err == -EPERM)
		netns_skip_bpf();
	CHECK_EQ(err, 0);

	/* rule 0: in @s, counted, accepted */
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 80), NF_ACCEPT);
	v = stub_get(0);
	CHECK_EQ(v.calls, 1);
	CHECK(!memcmp(&v.regs[4], saddr, 4));
	for (w = 5; w < 20; w++)		/* the rest still zero */
		CHECK_EQ(v.regs[w], 0);
	CHECK_EQ(stub_get(1).calls, 1);

	/* not in @s: on to the concatenated range, its key in reg 1, 9 */
	stub_set(0, NFT_BREAK, NULL, 0);
	stub_set(3, NFT_CONTINUE, &established, 4);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NF_DROP);
	CHECK_EQ(stub_get(1).calls, 1);
	v = stub_get(2);
	CHECK(!memcmp(&v.regs[4], key2, 8));
	CHECK_EQ(stub_get(3).calls, 0);

	/* no range: ct state established */
	stub_set(2, NFT_BREAK, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NF_ACCEPT);
	CHECK_EQ(stub_get(3).calls, 1);
	/* ct state new: on to iifname */
	stub_set(3, NFT_CONTINUE, &new, 4);
	stub_set(4, NFT_CONTINUE, lo, 16);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NF_ACCEPT);
	CHECK_EQ(stub_get(4).calls, 1);
	/* not lo: skuid 0 */
	stub_set(4, NFT_CONTINUE, eth0, 16);
	stub_set(5, NFT_CONTINUE, &uid, 4);
	stub_set(6, NF_DROP, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NF_DROP);
	CHECK_EQ(stub_get(5).calls, 1);
	CHECK_EQ(stub_get(6).calls, 1);
	/* no socket: the kernel says BREAK; the verdict map decides */
	stub_set(5, NFT_BREAK, NULL, 0);
	stub_set(6, NF_ACCEPT, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NF_ACCEPT);
	/* a jump from the verdict map: the interpreter redoes rule 5 */
	stub_set(6, NFT_JUMP, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 24), NFTJ_RET_RESUME(5));
	stub_set(6, NFT_RETURN, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 24), NFTJ_RET_RESUME(5));
	/* no element, or continue: rule 6 (counter, then not in @s) */
	stub_set(6, NFT_BREAK, NULL, 0);
	stub_set(8, NFT_CONTINUE, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NF_DROP);
	CHECK_EQ(stub_get(7).calls, 1);
	stub_set(6, NFT_CONTINUE, NULL, 0);
	stub_set(8, NFT_BREAK, NULL, 0);
	/* ... and nothing else matches: the interpreter's policy */
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22),
		 NFTJ_RET_RESUME(NRULES_C));
	CHECK_EQ(stub_get(7).calls, 2);

	/* errors: before the rule's side effects the rule is redone... */
	stub_set(8, NFTJ_SVC_ERROR, NULL, 0);
	stub_set(0, NFTJ_SVC_ERROR, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NFTJ_RET_RESUME(0));
	stub_set(0, NFT_CONTINUE, NULL, 0);
	stub_set(1, NFTJ_SVC_ERROR, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), NFTJ_RET_RESUME(0));
	/* ... after them, the whole chain falls back */
	stub_set(0, NFT_BREAK, NULL, 0);
	CHECK_EQ(krun("10.1.2.3", "9.9.9.9", 22), CG_RET_FALLBACK);

	/* 1.1.1.1 jumps to sub: daddr in @s, counted, returns */
	stub_reset();
	stub_set(0, NFT_BREAK, NULL, 0);
	stub_set(2, NFT_BREAK, NULL, 0);
	stub_set(3, NFT_CONTINUE, &new, 4);
	stub_set(4, NFT_CONTINUE, eth0, 16);
	stub_set(5, NFT_BREAK, NULL, 0);
	stub_set(6, NFT_BREAK, NULL, 0);
	stub_set(8, NFT_BREAK, NULL, 0);
	CHECK_EQ(krun("1.1.1.1", "10.9.9.9", 22), NFTJ_RET_RESUME(NRULES_C));
	v = stub_get(9);
	CHECK_EQ(v.calls, 1);
	CHECK_EQ(v.regs[4], htonl(0x0a090909));
	CHECK_EQ(stub_get(10).calls, 1);
	/* an error in a regular chain: no rule to resume at */
	stub_set(9, NFTJ_SVC_ERROR, NULL, 0);
	CHECK_EQ(krun("1.1.1.1", "10.9.9.9", 22), CG_RET_FALLBACK);
	stub_free();
}

UNIT_TEST(services_run)
{
	NETNS_TEST(rs_svc, check_run);
}

/* ---- crafted rules: register reuse and map values ----------------------- */

static struct nftnl_expr *x_new(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *x = nftnl_expr_alloc(name);

	nftnl_rule_add_expr(r, x);
	return x;
}

static void x_ct(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *x = x_new(r, "ct");

	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, dreg);
}

static void x_payload(struct nftnl_rule *r, uint32_t off, uint32_t len,
		      uint32_t dreg)
{
	struct nftnl_expr *x = x_new(r, "payload");

	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE,
			   NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void x_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t v)
{
	struct nftnl_expr *x = x_new(r, "cmp");

	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, &v, sizeof(v));
}

static void x_mask(struct nftnl_rule *r, uint32_t sreg, uint32_t dreg,
		   uint32_t mask)
{
	struct nftnl_expr *x = x_new(r, "bitwise");
	uint32_t zero = 0;

	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, sreg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, dreg);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
}

static void x_lookup(struct nftnl_rule *r, const char *set, uint32_t sreg,
		     int dreg)
{
	struct nftnl_expr *x = x_new(r, "lookup");

	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (dreg >= 0)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
}

static void x_accept(struct nftnl_rule *r)
{
	struct nftnl_expr *x = x_new(r, "immediate");

	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
}

/* an in-memory ruleset: table ip t, base chain c, sets m and k */
static void mem_ruleset(struct nftj_ruleset *rs)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	memset(rs, 0, sizeof(*rs));
	rs->tables = nftnl_table_list_alloc();
	rs->chains = nftnl_chain_list_alloc();
	rs->rules = nftnl_rule_list_alloc();
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "t");
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "c");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_IN);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_list_add_tail(c, rs->chains);
	rs->sets = calloc(2, sizeof(*rs->sets));
	rs->nsets = 2;
	/* m: ipv4_addr : mark; k: ipv4_addr . mark */
	rs->sets[0].family = rs->sets[1].family = NFPROTO_IPV4;
	snprintf(rs->sets[0].table, sizeof(rs->sets[0].table), "t");
	snprintf(rs->sets[1].table, sizeof(rs->sets[1].table), "t");
	snprintf(rs->sets[0].name, sizeof(rs->sets[0].name), "m");
	snprintf(rs->sets[1].name, sizeof(rs->sets[1].name), "k");
	rs->sets[0].flags = NFT_SET_MAP;
	rs->sets[0].key_len = 4;
	rs->sets[0].data_len = 4;
	rs->sets[1].key_len = 8;
}

static struct nftnl_rule *mem_rule(struct nftj_ruleset *rs, uint64_t h)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "t");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "c");
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, h);
	nftnl_rule_list_add_tail(r, rs->rules);
	return r;
}

UNIT_TEST(services_register_reuse)
{
	struct nftj_ruleset rs;
	struct imr_prog p;
	struct nftnl_rule *r;
	const struct imr_stmt *s;
	char why[256];

	mem_ruleset(&rs);
	/* 1: saddr map @m == 7: a map value, compared */
	r = mem_rule(&rs, 1);
	x_payload(r, 12, 4, NFT_REG_1);
	x_lookup(r, "m", NFT_REG_1, NFT_REG_2);
	x_cmp(r, NFT_REG_2, 7);
	x_accept(r);
	/* 2: ct mark in reg32 1, saddr in reg32 0, the pair in @k: the
	 * mark is where the key needs it
	 */
	r = mem_rule(&rs, 2);
	x_ct(r, NFT_CT_MARK, NFT_REG32_01);
	x_payload(r, 12, 4, NFT_REG32_00);
	x_lookup(r, "k", NFT_REG32_00, -1);
	x_accept(r);
	/* 3: ct mark & 0xff kept lazily in reg 2, ct state overwrites
	 * reg 1, then the masked mark is compared: gone
	 */
	r = mem_rule(&rs, 3);
	x_ct(r, NFT_CT_MARK, NFT_REG_1);
	x_mask(r, NFT_REG_1, NFT_REG_2, 0xff);
	x_ct(r, NFT_CT_STATE, NFT_REG_1);
	x_cmp(r, NFT_REG_2, 1);
	x_accept(r);
	/* 4: the same through a key written over the mark */
	r = mem_rule(&rs, 4);
	x_ct(r, NFT_CT_MARK, NFT_REG_1);
	x_mask(r, NFT_REG_1, NFT_REG_2, 0xff);
	x_payload(r, 12, 4, NFT_REG_1);
	x_lookup(r, "m", NFT_REG_1, -1);
	x_cmp(r, NFT_REG_2, 1);
	x_accept(r);

	CHECK_EQ(imr_build(&p, &rs, NFPROTO_IPV4, "t", "c", IMR_CAP_SERVICES,
			   why, sizeof(why)), 0);
	CHECK_EQ(p.chains[0].nrules, 4);
	CHECK(!p.chains[0].rules[0].unsupported);
	s = &p.chains[0].rules[0].stmts[0];
	CHECK_EQ(s->type, IMR_S_SERVICE);
	CHECK_EQ(p.svcs[s->svc].kind, IMR_SVC_MAP);
	CHECK_EQ(p.svcs[s->svc].key_word, 4);
	CHECK_EQ(p.svcs[s->svc].out_word, 8);
	CHECK_EQ(p.svcs[s->svc].pos, 1);
	s = &p.chains[0].rules[0].stmts[1];
	CHECK_EQ(s->type, IMR_S_CMP);
	CHECK_EQ(s->expr->type, IMR_E_SVC);
	CHECK_EQ(s->expr->svc.word, 8);

	CHECK(!p.chains[0].rules[1].unsupported);
	s = &p.chains[0].rules[1].stmts[1];
	CHECK_EQ(s->expr->type, IMR_E_CONCAT);
	CHECK_EQ(s->expr->comp[1]->type, IMR_E_SVC);
	CHECK_EQ(s->expr->comp[1]->svc.word, 5);	/* stays in place */

	CHECK(p.chains[0].rules[2].unsupported);
	CHECK(strstr(p.chains[0].rules[2].reason, "ct.mark"));
	CHECK(strstr(p.chains[0].rules[2].reason, "overwritten"));
	CHECK(p.chains[0].rules[3].unsupported);
	CHECK(strstr(p.chains[0].rules[3].reason, "overwritten"));
	imr_prog_free(&p);
	nftj_ruleset_free(&rs);
}

/* ---- this host: no kernel part ----------------------------------------- */

UNIT_TEST(services_kfunc_absent)
{
	struct nftj_kfunc kf;
	char why[256];
	int err;

	err = nftj_kfunc_find(&kf, NFTJ_KFUNC_MODULE, NFTJ_SVC_KFUNC, why,
			      sizeof(why));
	if (err == -EPERM || err == -EACCES)
		UNIT_SKIP("listing BTF objects not permitted");
	if (!err) {
		nftj_kfunc_release(&kf);
		UNIT_SKIP("the kernel part is loaded here");
	}
	CHECK_EQ(err, -ENOPKG);
	CHECK_STR(why, "kernel part not loaded: nf_tables has no nftj_svc_eval kfunc");
	CHECK_EQ(kf.btf_fd, -1);
}

UNIT_TEST(services_genl_absent)
{
	struct nftj_kctl k;
	int err = nftj_kctl_open(&k);

	if (!err) {
		nftj_kctl_close(&k);
		UNIT_SKIP("the kernel part is loaded here");
	}
	CHECK_EQ(err, -ENOENT);
}
