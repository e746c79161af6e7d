// SPDX-License-Identifier: GPL-2.0
/*
 * The optimizer's slot in the pipeline, between the builder and the
 * planner (pass.h, docs/imr.md "The pipeline").  Empty: the IMR leaves
 * it as the builder made it.
 */
#include "pass.h"

int imr_optimize(struct imr_prog *p)
{
	(void)p;
	return 0;
}
