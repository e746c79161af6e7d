/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal unit-test harness: tests register themselves with UNIT_TEST(),
 * the runner (unit_main.c) runs them all, one line per test, and ends with
 * "N passed, N failed, N skipped".  A test fails on the first CHECK that
 * does not hold; it skips with UNIT_SKIP("why") when the machine lacks
 * what it needs (never to hide a failure).
 */
#ifndef NFTJ_UNIT_H
#define NFTJ_UNIT_H

#include <stdio.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *expr);
void unit_skip(const char *why);
int unit_failed(void);

#define UNIT_TEST(tname)						\
	static void tname(void);					\
	static struct unit_test unit_##tname = { #tname, tname, NULL };	\
	__attribute__((constructor)) static void unit_reg_##tname(void)	\
	{ unit_register(&unit_##tname); }				\
	static void tname(void)

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			unit_fail(__FILE__, __LINE__, #cond);		\
			return;						\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b) {						\
			fprintf(stderr, "  %s = %lld, %s = %lld\n",	\
				#a, _a, #b, _b);			\
			unit_fail(__FILE__, __LINE__, #a " == " #b);	\
			return;						\
		}							\
	} while (0)

#define UNIT_SKIP(why)							\
	do {								\
		unit_skip(why);						\
		return;							\
	} while (0)

#endif /* NFTJ_UNIT_H */
