// SPDX-License-Identifier: GPL-2.0
/*
 * The pipeline (jit.c, docs/imr.md "The pipeline"): its IMR stages run
 * in order without BPF (NFTJ_F_IMR_ONLY), each hands the next an IMR that
 * passes imr_check(), and imr_check() finds each invariant broken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "build.h"
#include "jit.h"
#include "netns_util.h"
#include "unit.h"

/*
 * Kernel target: services in rules 0, 1 and 4 and in chain sub; rule 2
 * (log) stays with the interpreter, so pruning keeps the services of
 * rules 0 and 1 only (sub is reached from rule 3 alone).
 */
static const char rs_pipe[] =
	"table ip t {\n"
	"	set s { type ipv4_addr; elements = { 10.0.0.1 } }\n"
	"	chain sub {\n"
	"		ip daddr @s counter return\n"
	"	}\n"
	"	chain c {\n"
	"		type filter hook input priority 0;\n"
	"		ip saddr @s counter accept\n"
	"		ct state established accept\n"
	"		log\n"
	"		ip saddr 1.1.1.1 jump sub\n"
	"		counter drop\n"
	"	}\n"
	"}\n";

struct seen {
	int n;
	enum nftj_stage st[NFTJ_STAGES];
	size_t nsvcs[NFTJ_STAGES];
	int check[NFTJ_STAGES];
	char *print[NFTJ_STAGES];	/* imr_prog_print() */
};

static void record(enum nftj_stage st, const struct imr_prog *p, void *ctx)
{
	struct seen *s = ctx;
	char why[200];
	size_t len;
	FILE *f;

	if (s->n >= NFTJ_STAGES)
		return;
	s->st[s->n] = st;
	s->nsvcs[s->n] = p->nsvcs;
	s->check[s->n] = imr_check(p, NULL, why, sizeof(why));
	f = open_memstream(&s->print[s->n], &len);
	if (f) {
		imr_prog_print(p, f);
		fclose(f);
	}
	s->n++;
}

static void stages_in_order(struct nftj_ruleset *rs)
{
	struct seen s = {};
	NFTJ_BUILD_OPTS(o, .target = NFTJ_TARGET_KERNEL,
			.flags = NFTJ_F_IMR_ONLY,
			.imr_stages = ~0u, .imr_cb = record, .imr_ctx = &s);
	struct nftj_prog jp;
	int i;

	CHECK_EQ(nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "c", &o), 0);
	/* the IMR stages, in order, nothing after them */
	CHECK_EQ(s.n, NFTJ_STAGE_IMR_LAST + 1);
	for (i = 0; i < s.n; i++) {
		CHECK_EQ(s.st[i], i);
		CHECK_EQ(s.check[i], 0);
	}
	CHECK_EQ(s.nsvcs[NFTJ_STAGE_BUILD], 6);
	CHECK_EQ(s.nsvcs[NFTJ_STAGE_CUT], 6);
	CHECK_EQ(s.nsvcs[NFTJ_STAGE_PRUNE], 3);
	CHECK_EQ(jp.imr.chains[0].first_unsupported, 2);
	/* rules 3 and 4 (and sub) do not run: their services are pruned,
	 * and printing them (compile --dump-imr prune) says so */
	CHECK(s.print[NFTJ_STAGE_PRUNE]);
	CHECK(strstr(s.print[NFTJ_STAGE_PRUNE], ": svc-: pruned; drop\n"));
	CHECK(strstr(s.print[NFTJ_STAGE_BUILD], "svc5: counter"));
	for (i = 0; i < s.n; i++)
		free(s.print[i]);
	/* no code, no maps, nothing loaded */
	CHECK_EQ(jp.nseg, 0);
	CHECK_EQ(jp.insns, 0);
	CHECK_EQ(jp.prog_fd, -1);
	CHECK(!jp.maps.set_fd);
	CHECK_STR(nftj_stage_name(NFTJ_STAGE_CUT), "cut");
	nftj_prog_free(&jp);
}

UNIT_TEST(pipeline_imr_stages)
{
	NETNS_TEST(rs_pipe, stages_in_order);
}

/* the check fails, and says `what` */
#define CHECK_BROKEN(p, ids, what)					\
	do {								\
		char _why[200];						\
		CHECK_EQ(imr_check(p, ids, _why, sizeof(_why)), -EINVAL); \
		if (!strstr(_why, what)) {				\
			fprintf(stderr, "  imr_check: %s\n", _why);	\
			CHECK(strstr(_why, what));			\
		}							\
	} while (0)

#define CHECK_OK(p, ids)						\
	do {								\
		char _why[200];						\
		int _e = imr_check(p, ids, _why, sizeof(_why));		\
		if (_e)							\
			fprintf(stderr, "  imr_check: %s\n", _why);	\
		CHECK_EQ(_e, 0);					\
	} while (0)

static void kernel_broken(struct nftj_ruleset *rs)
{
	NFTJ_BUILD_OPTS(o, .target = NFTJ_TARGET_KERNEL,
			.flags = NFTJ_F_IMR_ONLY);
	struct imr_rule *r0, *r1;
	struct imr_stmt *jump;
	struct imr_ids ids;
	struct imr_prog *p;
	struct nftj_prog jp;
	uint32_t v;
	int i;

	CHECK_EQ(nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "c", &o), 0);
	p = &jp.imr;
	r0 = &p->chains[0].rules[0];
	r1 = &p->chains[0].rules[1];
	CHECK_EQ(imr_ids_save(p, &ids), 0);
	CHECK_OK(p, &ids);

	/* a rule id another rule had */
	r0->handle++;
	CHECK_BROKEN(p, &ids, "another rule's");
	r0->handle--;
	/* an index that does not lead to the rule */
	p->rule_by_id[r0->id] = r1;
	CHECK_BROKEN(p, NULL, "not indexed");
	p->rule_by_id[r0->id] = r0;
	/* first_unsupported that is not the first unsupported rule */
	p->chains[0].first_unsupported = 3;
	CHECK_BROKEN(p, NULL, "first_unsupported");
	p->chains[0].first_unsupported = 2;
	/* a reference nothing holds */
	imr_expr_get(r0->stmts[0].expr);
	CHECK_BROKEN(p, NULL, "references");
	imr_expr_put(r0->stmts[0].expr);
	/* a service statement naming another rule's service */
	for (i = 0; r1->stmts[i].type != IMR_S_SERVICE; i++)
		;
	v = r1->stmts[i].svc;
	r1->stmts[i].svc = 0;
	CHECK_BROKEN(p, NULL, "belongs to rule id 0");
	/* a dropped service in a rule the program runs */
	r1->stmts[i].svc = 0x7fffffff;
	CHECK_BROKEN(p, NULL, "service 2147483647");
	r1->stmts[i].svc = v;
	/* a jump into the base chain */
	jump = &p->chains[0].rules[3].stmts[p->chains[0].rules[3].nstmts - 1];
	CHECK_EQ(jump->type, IMR_S_VERDICT);
	jump->chain = 0;
	CHECK_BROKEN(p, NULL, "jump to chain 0");
	jump->chain = 1;
	CHECK_OK(p, &ids);
	imr_ids_free(&ids);
	nftj_prog_free(&jp);
}

UNIT_TEST(imr_check_kernel_target)
{
	NETNS_TEST(rs_pipe, kernel_broken);
}

static void test_broken(struct nftj_ruleset *rs)
{
	NFTJ_BUILD_OPTS(o, .flags = NFTJ_F_IMR_ONLY);
	struct imr_stmt *cnt;
	struct imr_prog *p;
	struct nftj_prog jp;
	unsigned int caps;

	CHECK_EQ(nftj_prog_build(&jp, rs, NFPROTO_IPV4, "t", "c", &o), 0);
	p = &jp.imr;
	CHECK_OK(p, NULL);
	/* rule 0: ip saddr @s counter accept */
	cnt = &p->chains[0].rules[0].stmts[1];
	CHECK_EQ(cnt->type, IMR_S_COUNTER);
	cnt->counter_id = 4;
	CHECK_BROKEN(p, NULL, "counter #4 in rule id 0");
	cnt->counter_id = 0;
	/* a statement the target's capabilities do not allow */
	caps = p->caps;
	p->caps &= ~IMR_CAP_COUNTERS;
	CHECK_BROKEN(p, NULL, "IMR_CAP_COUNTERS");
	p->caps = caps;
	/* a value of the wrong length */
	p->chains[0].rules[0].stmts[0].expr->len = 3;
	CHECK_BROKEN(p, NULL, "a value of 3 bytes");
	p->chains[0].rules[0].stmts[0].expr->len = 4;
	CHECK_OK(p, NULL);
	nftj_prog_free(&jp);
}

UNIT_TEST(imr_check_test_target)
{
	NETNS_TEST(rs_pipe, test_broken);
}
