/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IMR passes after the builder and the planner, in pipeline order
 * (jit.c runs them).
 */
#ifndef NFTJ_PASS_H
#define NFTJ_PASS_H

#include <stddef.h>

#include "imr.h"

/*
 * The program stops before base chain rule `rule` (cg_plan()'s cut):
 * leave it to the interpreter with the planner's reason.  Nothing after
 * it runs in the program either.
 */
void imr_cut(struct imr_prog *p, size_t rule, const char *reason);

/*
 * Drop the services of rules the program does not run (unsupported rules,
 * base chain rules from the first unsupported one on, chains no compiled
 * rule reaches) and renumber the rest in order.  After the cut, which may
 * leave more rules to the interpreter.  0 or -ENOMEM.
 */
int imr_svc_prune(struct imr_prog *p);

#endif /* NFTJ_PASS_H */
