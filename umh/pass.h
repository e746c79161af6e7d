/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IMR passes after the builder, in pipeline order.  jit.c runs the
 * pipeline (build, optimize, cut, prune, emit, load) and checks the IMR's
 * invariants after each pass that may change it (imr_check()); what each
 * pass may read and write is in docs/imr.md, "The pipeline".
 */
#ifndef NFTJ_PASS_H
#define NFTJ_PASS_H

#include <stddef.h>

#include "imr.h"

/*
 * The optimizer, imr_optimize() (opt.h, docs/optimizer.md): rewrites rules
 * within what docs/imr.md allows and keeps every invariant imr_check()
 * tests.
 */

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
