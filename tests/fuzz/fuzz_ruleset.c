// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzz target: one input is an nf_tables dump, the messages the front
 * end receives (tests/fuzz/README.md).  It goes through the real front
 * end (nftj_ruleset_parse(), libnftnl's parsers included), then every
 * base chain through the IMR builder and the code generator for every
 * target, as `nft-jit compile --no-load [-d]` does: report, service
 * table, annotated disassembly.  Nothing is loaded (fake_kernel.c).
 *
 * NFTJ_FUZZ_VERBOSE=1 prints one line per chain and target (what the
 * seeds reach); NFTJ_FUZZ_RAW=1 uses libFuzzer's byte mutations only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "annotate.h"
#include "fuzz.h"
#include "jit.h"
#include "report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			       unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1,
				 const uint8_t *d2, size_t s2, uint8_t *out,
				 size_t max, unsigned int seed);

struct variant {
	enum nftj_target target;
	unsigned int flags;
	const char *name;
};

static const struct variant variants[] = {
	{ NFTJ_TARGET_TEST, NFTJ_F_NO_LOAD, "test" },
	{ NFTJ_TARGET_TEST, NFTJ_F_NO_LOAD | NFTJ_F_SLOW_LOADS, "test-slow" },
	{ NFTJ_TARGET_KERNEL, NFTJ_F_NO_LOAD, "kernel" },
	{ NFTJ_TARGET_LINK, NFTJ_F_NO_LOAD, "link" },
};

/* what nftj_kfunc_find() would find where the kernel part runs */
static const struct nftj_kfunc fake_kfunc = {
	.btf_id = 0x7ff0, .off = NFTJ_KFUNC_FD_IDX, .btf_fd = -1,
	.fd_array = { -1, -1 },
};

static bool verbose, raw;

/* the pieces of `nft-jit compile -j -d`'s report that read the program */
static void report(const struct nftj_prog *jp)
{
	json_t *j;
	size_t i;

	(void)nftj_prog_rules(jp);
	(void)nftj_prog_compiled(jp);
	if (jp->imr.nchains && jp->imr.rule_by_id) {
		j = report_fallback(jp);
		json_decref(j);
	}
	for (i = 0; i < jp->nsvc; i++) {
		j = json_pack("{s:s, s:I, s:I, s:s, s:s}",
			      "chain", jp->svc[i].chain,
			      "handle", (json_int_t)jp->svc[i].handle,
			      "position", (json_int_t)jp->svc[i].index,
			      "kind", imr_svc_kind_name(jp->svc[i].kind),
			      "expr", jp->svc[i].expr);
		if (!j) {
			fprintf(stderr, "fuzz: service %zu has no text\n", i);
			abort();
		}
		json_decref(j);
	}
	if (jp->insns) {
		j = nftj_annotate_json(jp, NULL);
		json_decref(j);
	}
}

static void compile(const struct nftj_ruleset *rs, uint32_t family,
		    const char *table, const char *chain,
		    const struct variant *v)
{
	NFTJ_BUILD_OPTS(bo, .target = v->target, .flags = v->flags);
	struct nftj_prog jp;
	size_t i;
	int err;

	err = nftj_prog_build(&jp, rs, family, table, chain, &bo);
	if (!err && jp.nsvc)
		for (i = 0; i < jp.nseg; i++)
			nftj_kfunc_patch(&jp.seg[i].buf, &fake_kfunc);
	report(&jp);
	/*
	 * Never fail silently: a chain left to the interpreter has its
	 * reason shown (`nft-jit compile`, `nft-jit status`).
	 */
	if (err && err != -ENOMEM && !jp.why[0]) {
		fprintf(stderr, "fuzz: %s %s %s: error %d (%s) without a reason\n",
			table, chain, v->name, err, strerror(-err));
		abort();
	}
	if (verbose)
		fprintf(stderr, "fuzz: %u %s %s %s: %d, %zu of %zu rules, %zu insns, %zu programs, %zu services%s%s\n",
			family, table, chain, v->name, err,
			nftj_prog_compiled(&jp), nftj_prog_rules(&jp),
			jp.insns, jp.nseg, jp.nsvc, jp.why[0] ? ": " : "",
			jp.why);
	nftj_prog_free(&jp);
	fake_maps_check();
}

/* every base chain, as `nft-jit compile` walks them */
static void compile_all(const struct nftj_ruleset *rs)
{
	struct nftnl_chain_list_iter *it;
	struct nftnl_chain *nc;
	size_t i;

	it = nftnl_chain_list_iter_create(rs->chains);
	while (it && (nc = nftnl_chain_list_iter_next(it))) {
		if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM))
			continue;
		for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
			compile(rs, nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY),
				nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE),
				nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME),
				&variants[i]);
	}
	if (it)
		nftnl_chain_list_iter_destroy(it);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	verbose = getenv("NFTJ_FUZZ_VERBOSE") != NULL;
	raw = getenv("NFTJ_FUZZ_RAW") != NULL;
	if (fake_kernel_guard() || nftnl_guard_init())
		exit(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nftj_ruleset rs;
	uint8_t *buf;
	int err;

	/*
	 * A NUL after the input: libnftnl strdup()s string attributes
	 * without checking that they are terminated, as the kernel always
	 * terminates them.
	 */
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	err = nftj_ruleset_parse(&rs, buf, size);
	if (verbose)
		fprintf(stderr, "fuzz: %zu bytes: front end %d (%s)%s\n",
			size, err, err ? strerror(-err) : "ok",
			nftnl_guard_trips ? ", libnftnl gave up" : "");
	nftnl_guard_trips = 0;
	if (!err) {
		compile_all(&rs);
		nftj_ruleset_free(&rs);
	}
	free(buf);
	return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
			       unsigned int seed)
{
	if (raw)
		return LLVMFuzzerMutate(data, size, max);
	return nl_mutate(data, size, max, seed);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1,
				 const uint8_t *d2, size_t s2, uint8_t *out,
				 size_t max, unsigned int seed)
{
	return nl_crossover(d1, s1, d2, s2, out, max, seed);
}
