/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tests that need nf_tables: every test runs in a forked child that
 * enters a fresh network namespace, loads a ruleset with nft -f, dumps
 * it with nftj_ruleset_dump() and hands it to a check function.  The
 * child's exit status carries the outcome back to the runner process.
 */
#ifndef NFTJ_NETNS_UTIL_H
#define NFTJ_NETNS_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "unit.h"

enum {
	NETNS_OK = 0,
	NETNS_FAIL = 1,
	NETNS_SKIP_PERM = 77,
	NETNS_SKIP_NFT = 78,
	NETNS_SKIP_BPF = 79,
};

#define CHECK_STR(a, b)							\
	do {								\
		const char *_x = (a), *_y = (b);			\
		if (!_x || !_y || strcmp(_x, _y)) {			\
			fprintf(stderr, "  %s = \"%s\", %s = \"%s\"\n",	\
				#a, _x ? _x : "(null)",			\
				#b, _y ? _y : "(null)");		\
			unit_fail(__FILE__, __LINE__, #a " == " #b);	\
			return;						\
		}							\
	} while (0)

/* load a ruleset with `nft -f`; returns 0 or nonzero */
int nft_load(const char *ruleset);

/*
 * Fork; in the child enter a new network namespace, load `ruleset` (if
 * not NULL), dump it and call fn.  Returns NETNS_OK, NETNS_FAIL or one
 * of the NETNS_SKIP_* codes.
 */
int netns_run(const char *ruleset, void (*fn)(struct nftj_ruleset *rs));

/* from inside fn: end the child, the test skips (BPF not permitted) */
void netns_skip_bpf(void) __attribute__((noreturn));

#define NETNS_STATUS(st)						\
	do {								\
		int _st = (st);						\
		if (_st == NETNS_SKIP_PERM)				\
			UNIT_SKIP("unshare(CLONE_NEWNET): EPERM");	\
		if (_st == NETNS_SKIP_NFT)				\
			UNIT_SKIP("nft not installed");			\
		if (_st == NETNS_SKIP_BPF)				\
			UNIT_SKIP("BPF not permitted");			\
		CHECK_EQ(_st, NETNS_OK);				\
	} while (0)

#define NETNS_TEST(ruleset, fn)	NETNS_STATUS(netns_run(ruleset, fn))

/* NETNS_TEST with a ruleset made at run time (malloc'ed; freed here) */
#define NETNS_TEST_MADE(make, fn)					\
	do {								\
		char *_rs = (make);					\
		int _made_st;						\
									\
		CHECK(_rs);						\
		_made_st = netns_run(_rs, fn);				\
		free(_rs);						\
		NETNS_STATUS(_made_st);					\
	} while (0)

#endif /* NFTJ_NETNS_UTIL_H */
