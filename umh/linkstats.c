// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "linkstats.h"
#include "report.h"

static void *stats_read(const struct nftj_prog *jp, size_t *size)
{
	uint32_t key = 0;
	void *v;

	*size = sizeof(struct nftj_link_stats) +
		jp->imr.nrule_ids * sizeof(struct nftj_counter);
	v = calloc(1, *size);
	if (!v)
		return NULL;
	if (bpf_map_lookup_elem(jp->maps.stats_fd, &key, v)) {
		free(v);
		return NULL;
	}
	return v;
}

int linkstats_unhandled(const struct nftj_prog *jp, uint64_t *n)
{
	size_t size;
	struct nftj_link_stats *st = stats_read(jp, &size);

	if (!st)
		return -errno;
	*n = st->unhandled;
	free(st);
	return 0;
}

json_t *linkstats_json(const struct nftj_prog *jp)
{
	const struct imr_prog *p = &jp->imr;
	const struct nftj_counter *cnt;
	json_t *a, *o;
	size_t size;
	uint8_t *v = stats_read(jp, &size);
	uint32_t id;

	if (!v)
		return NULL;
	cnt = (const struct nftj_counter *)(v + sizeof(struct nftj_link_stats));
	a = json_array();
	for (id = 0; id < p->nrule_ids; id++) {
		if (!p->rule_by_id[id]->has_counter)
			continue;
		o = report_rule_ref(jp, id);
		json_object_set_new(o, "packets", json_integer(cnt[id].packets));
		json_object_set_new(o, "bytes", json_integer(cnt[id].bytes));
		json_array_append_new(a, o);
	}
	o = json_pack("{s:I, s:o}", "unhandled", (json_int_t)
		      ((struct nftj_link_stats *)v)->unhandled, "counters", a);
	free(v);
	return o;
}
