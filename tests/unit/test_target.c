// SPDX-License-Identifier: GPL-2.0
/*
 * The code generator's targets as data (umh/cg/target.c): every target
 * has its descriptor and every op, and is found by its name.
 */
#include <errno.h>
#include <string.h>

#include "build.h"
#include "cg/cg.h"
#include "unit.h"

UNIT_TEST(cg_targets_complete)
{
	void (*op[sizeof(struct cg_target_ops) / sizeof(void (*)(void))])(void);
	enum nftj_target t, back;
	size_t i;

	for (t = 0; t < NFTJ_TARGETS; t++) {
		const struct cg_target *d = cg_target_get(t);

		CHECK(d && d->name && d->ops && d->caps);
		CHECK_EQ(cg_target_parse(d->name, &back), 0);
		CHECK_EQ(back, t);
		memcpy(op, d->ops, sizeof(op));
		for (i = 0; i < sizeof(op) / sizeof(op[0]); i++)
			CHECK(op[i]);
		/* what a target cannot do it leaves to services or refuses */
		CHECK(!(d->caps & IMR_CAP_SERVICES) ||
		      !(d->flags & (CG_T_STATS_MAP | CG_T_SET_MAPS)));
	}
	CHECK(!cg_target_get(NFTJ_TARGETS));
	CHECK_EQ(cg_target_parse("nosuch", &back), -EINVAL);
}
