// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static struct unit_test *tests;
static int cur_failed, cur_skipped;

void unit_register(struct unit_test *t)
{
	struct unit_test **p = &tests;

	while (*p)		/* keep registration (file) order */
		p = &(*p)->next;
	*p = t;
}

void unit_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", file, line, expr);
	cur_failed = 1;
}

void unit_skip(const char *why)
{
	fprintf(stderr, "  skipped: %s\n", why);
	cur_skipped = 1;
}

int unit_failed(void)
{
	return cur_failed;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;
	struct unit_test *t;

	for (t = tests; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		cur_failed = 0;
		cur_skipped = 0;
		t->fn();
		if (cur_failed) {
			failed++;
			printf("FAIL %s\n", t->name);
		} else if (cur_skipped) {
			skipped++;
			printf("SKIP %s\n", t->name);
		} else {
			passed++;
			printf("ok   %s\n", t->name);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
