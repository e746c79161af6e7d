// SPDX-License-Identifier: GPL-2.0
/*
 * The IMR passes after planning (pass.h): cut the base chain where the
 * planner says no program holds more, and prune the services of what
 * the program does not run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pass.h"

/* runs end where the program does */
static void cut_runs(struct imr_run *runs, size_t *nruns, size_t rule)
{
	size_t i, n = 0;

	for (i = 0; i < *nruns; i++) {
		if (runs[i].from >= rule)
			break;
		runs[n] = runs[i];
		if (runs[n].to > rule)
			runs[n].to = (uint32_t)rule;
		n++;
	}
	*nruns = n;
}

void imr_cut(struct imr_prog *p, size_t rule, const char *reason)
{
	struct imr_chain *ch = &p->chains[0];

	imr_unsupported(&ch->rules[rule], "%s", reason);
	if (ch->first_unsupported < 0 || (size_t)ch->first_unsupported > rule)
		ch->first_unsupported = (int)rule;
	cut_runs(ch->runs, &ch->nruns, rule);
	cut_runs(ch->lookups, &ch->nlookups, rule);
}

/* ---- services the program keeps ---------------------------------------- */

#define SVC_RENUMBERED	0x80000000U

static void mark_used(const struct imr_rule *r, bool *used)
{
	size_t i;

	for (i = 0; i < r->nstmts; i++)
		if (r->stmts[i].type == IMR_S_SERVICE)
			used[r->stmts[i].svc] = true;
}

/* new numbers, flagged so that shared values are renumbered once */
static void renumber_expr(struct imr_expr *e, const uint32_t *map)
{
	unsigned int i;

	if (!e)
		return;
	if (e->type == IMR_E_SVC && !(e->svc.index & SVC_RENUMBERED))
		e->svc.index = map[e->svc.index] | SVC_RENUMBERED;
	for (i = 0; i < e->ncomp; i++)
		renumber_expr(e->comp[i], map);
	renumber_expr(e->child, map);
}

static void unflag_expr(struct imr_expr *e)
{
	unsigned int i;

	if (!e)
		return;
	if (e->type == IMR_E_SVC)
		e->svc.index &= ~SVC_RENUMBERED;
	for (i = 0; i < e->ncomp; i++)
		unflag_expr(e->comp[i]);
	unflag_expr(e->child);
}

int imr_svc_prune(struct imr_prog *p)
{
	bool *reach, *used;
	uint32_t *map, n = 0;
	size_t i, j, k;

	if (!p->nsvcs || !p->nchains)
		return 0;
	reach = calloc(p->nchains, sizeof(*reach));
	used = calloc(p->nsvcs, sizeof(*used));
	map = calloc(p->nsvcs, sizeof(*map));
	if (!reach || !used || !map) {
		free(reach);
		free(used);
		free(map);
		return -ENOMEM;
	}
	imr_reached(p, reach);
	for (i = 0; i < p->nchains; i++)
		for (j = 0; j < p->chains[i].nrules; j++)
			if (imr_rule_runs(p, reach, (int)i, j))
				mark_used(&p->chains[i].rules[j], used);
	for (i = 0; i < p->nsvcs; i++) {
		map[i] = used[i] ? n : IMR_SVC_PRUNED;
		if (used[i])
			p->svcs[n++] = p->svcs[i];
	}
	p->nsvcs = n;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < p->nchains; i++) {
			for (j = 0; j < p->chains[i].nrules; j++) {
				struct imr_rule *r = &p->chains[i].rules[j];
				size_t m;

				for (m = 0; m < r->nstmts; m++) {
					struct imr_stmt *s = &r->stmts[m];

					if (k == 0 && s->type == IMR_S_SERVICE)
						s->svc = map[s->svc];
					if (k == 0)
						renumber_expr(s->expr, map);
					else
						unflag_expr(s->expr);
				}
			}
		}
	}
	free(reach);
	free(used);
	free(map);
	return 0;
}
