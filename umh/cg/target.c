// SPDX-License-Identifier: GPL-2.0
/*
 * The targets, as data: a descriptor and its ops per target, one file
 * each.  A new target is one file and one entry here.
 */
#include <errno.h>
#include <string.h>

#include "cg.h"

static const struct cg_target *const targets[] = {
	[NFTJ_TARGET_TEST]	= &cg_target_test,
	[NFTJ_TARGET_KERNEL]	= &cg_target_kernel,
	[NFTJ_TARGET_LINK]	= &cg_target_link,
};

_Static_assert(sizeof(targets) / sizeof(targets[0]) == NFTJ_TARGETS,
	       "every enum nftj_target has its descriptor");

const struct cg_target *cg_target_get(enum nftj_target t)
{
	return (unsigned int)t < NFTJ_TARGETS ? targets[t] : NULL;
}

int cg_target_parse(const char *name, enum nftj_target *t)
{
	unsigned int i;

	for (i = 0; i < NFTJ_TARGETS; i++) {
		if (!strcmp(name, targets[i]->name)) {
			*t = (enum nftj_target)i;
			return 0;
		}
	}
	return -EINVAL;
}
