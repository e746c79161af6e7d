// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "cli.h"
#include "ruletext.h"

struct rt_line {
	char *chain;
	uint64_t handle;
	char *text;
};

struct ruletext {
	struct rt_line *l;
	size_t n;
};

static int add(struct ruletext *rt, const char *chain, uint64_t handle,
	       const char *text, size_t len)
{
	struct rt_line *n = realloc(rt->l, (rt->n + 1) * sizeof(*n));

	if (!n)
		return -1;
	rt->l = n;
	n[rt->n].chain = strdup(chain);
	n[rt->n].text = strndup(text, len);
	n[rt->n].handle = handle;
	if (!n[rt->n].chain || !n[rt->n].text) {
		free(n[rt->n].chain);
		free(n[rt->n].text);
		return -1;
	}
	rt->n++;
	return 0;
}

/* lines "\tchain NAME {" and "\t\tRULE # handle N" */
static void parse(struct ruletext *rt, const char *out)
{
	char chain[256] = "";
	const char *p = out;

	while (*p) {
		const char *eol = strchr(p, '\n'), *h, *s;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		s = p;
		while (s < p + len && isspace((unsigned char)*s))
			s++;
		if (!strncmp(s, "chain ", 6)) {
			sscanf(s + 6, "%255s", chain);
		} else if (chain[0]) {
			h = strstr(s, " # handle ");
			if (h && h < p + len)
				add(rt, chain, strtoull(h + 10, NULL, 10), s,
				    (size_t)(h - s));
		}
		p += len + (eol ? 1 : 0);
	}
}

struct ruletext *ruletext_load(uint32_t family, const char *table)
{
	struct ruletext *rt;
	struct nft_ctx *nft;
	char cmd[512];

	rt = calloc(1, sizeof(*rt));
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!rt || !nft)
		goto err;
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_HANDLE |
				 NFT_CTX_OUTPUT_STATELESS);
	if (nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft))
		goto err;
	snprintf(cmd, sizeof(cmd), "list table %s %s", cli_family_name(family),
		 table);
	if (nft_run_cmd_from_buffer(nft, cmd))
		goto err;
	parse(rt, nft_ctx_get_output_buffer(nft));
	nft_ctx_free(nft);
	return rt;
err:
	if (nft)
		nft_ctx_free(nft);
	free(rt);
	return NULL;
}

const char *ruletext_get(const struct ruletext *rt, const char *chain,
			 uint64_t handle)
{
	size_t i;

	for (i = 0; rt && i < rt->n; i++)
		if (rt->l[i].handle == handle && !strcmp(rt->l[i].chain, chain))
			return rt->l[i].text;
	return "";
}

void ruletext_free(struct ruletext *rt)
{
	size_t i;

	if (!rt)
		return;
	for (i = 0; i < rt->n; i++) {
		free(rt->l[i].chain);
		free(rt->l[i].text);
	}
	free(rt->l);
	free(rt);
}
