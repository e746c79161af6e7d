// SPDX-License-Identifier: GPL-2.0
/*
 * capture FILE: dump the ruleset of the current network namespace with
 * the front end (nftj_ruleset_dump()) and write the nf_tables messages it
 * received, back to back, to FILE: a seed for the fuzzer.  Then read FILE
 * back with nftj_ruleset_parse() and check that it gives the same
 * ruleset (counts, generation, every set element).
 *
 * The messages are taken where the front end hands each received buffer
 * to libmnl: this mnl_cb_run() replaces libmnl's for the objects linked
 * here, writes the buffer's nf_tables messages (not NLMSG_DONE nor the
 * acks) and runs libmnl's mnl_cb_run2(), which does the same without
 * control callbacks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>

#include "model.h"

static FILE *out;
static size_t nmsgs;

int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq,
	       unsigned int portid, mnl_cb_t cb_data, void *data)
{
	const struct nlmsghdr *nlh = buf;
	int len = (int)numbytes;

	for (; out && mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
			continue;
		if (fwrite(nlh, NLMSG_ALIGN(nlh->nlmsg_len), 1, out) != 1) {
			perror("capture: write");
			exit(1);
		}
		nmsgs++;
	}
	return mnl_cb_run2(buf, numbytes, seq, portid, cb_data, data, NULL, 0);
}

static size_t count_tables(const struct nftj_ruleset *rs)
{
	struct nftnl_table_list_iter *it = nftnl_table_list_iter_create(rs->tables);
	size_t n = 0;

	while (it && nftnl_table_list_iter_next(it))
		n++;
	if (it)
		nftnl_table_list_iter_destroy(it);
	return n;
}

static size_t count_chains(const struct nftj_ruleset *rs)
{
	struct nftnl_chain_list_iter *it = nftnl_chain_list_iter_create(rs->chains);
	size_t n = 0;

	while (it && nftnl_chain_list_iter_next(it))
		n++;
	if (it)
		nftnl_chain_list_iter_destroy(it);
	return n;
}

static size_t count_rules(const struct nftj_ruleset *rs)
{
	struct nftnl_rule_list_iter *it = nftnl_rule_list_iter_create(rs->rules);
	size_t n = 0;

	while (it && nftnl_rule_list_iter_next(it))
		n++;
	if (it)
		nftnl_rule_list_iter_destroy(it);
	return n;
}

static int elems_same(const struct nftj_set *a, const struct nftj_set *b)
{
	size_t i;

	if (a->nelems != b->nelems)
		return 0;
	for (i = 0; i < a->nelems; i++) {
		const struct nftj_set_elem *x = &a->elems[i], *y = &b->elems[i];

		if (x->key_len != y->key_len || x->data_len != y->data_len ||
		    x->key_end_len != y->key_end_len || x->flags != y->flags ||
		    x->verdict != y->verdict ||
		    memcmp(x->key, y->key, x->key_len) ||
		    memcmp(x->data, y->data, x->data_len) ||
		    memcmp(x->key_end, y->key_end, x->key_end_len) ||
		    !x->chain != !y->chain ||
		    (x->chain && strcmp(x->chain, y->chain)))
			return 0;
	}
	return 1;
}

static const char *compare(const struct nftj_ruleset *a,
			   const struct nftj_ruleset *b)
{
	size_t i;

	if (a->genid != b->genid)
		return "generation";
	if (count_tables(a) != count_tables(b))
		return "tables";
	if (count_chains(a) != count_chains(b))
		return "chains";
	if (count_rules(a) != count_rules(b))
		return "rules";
	if (a->nsets != b->nsets)
		return "sets";
	for (i = 0; i < a->nsets; i++)
		if (strcmp(a->sets[i].name, b->sets[i].name) ||
		    !elems_same(&a->sets[i], &b->sets[i]))
			return "set elements";
	return NULL;
}

int main(int argc, char **argv)
{
	struct nftj_ruleset live, parsed;
	const char *diff;
	char *buf;
	long size;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: capture FILE\n");
		return 2;
	}
	out = fopen(argv[1], "w+b");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	err = nftj_ruleset_dump(&live, NFPROTO_UNSPEC);
	if (err) {
		fprintf(stderr, "capture: dump: %s\n", strerror(-err));
		return 1;
	}
	size = ftell(out);
	buf = malloc(size > 0 ? (size_t)size : 1);
	rewind(out);
	if (!buf || fread(buf, 1, (size_t)size, out) != (size_t)size) {
		perror("capture: read back");
		return 1;
	}
	fclose(out);
	out = NULL;
	err = nftj_ruleset_parse(&parsed, buf, (size_t)size);
	if (err) {
		fprintf(stderr, "capture: %s: parse: %s\n", argv[1],
			strerror(-err));
		return 1;
	}
	diff = compare(&live, &parsed);
	if (diff) {
		fprintf(stderr, "capture: %s: parsed back, the %s differ\n",
			argv[1], diff);
		return 1;
	}
	printf("%s: %zu messages, %ld bytes: %zu tables, %zu chains, %zu rules, %zu sets, generation %u\n",
	       argv[1], nmsgs, size, count_tables(&live), count_chains(&live),
	       count_rules(&live), live.nsets, live.genid);
	nftj_ruleset_free(&live);
	nftj_ruleset_free(&parsed);
	free(buf);
	return 0;
}
