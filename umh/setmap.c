// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/netfilter/nf_tables.h>

#include "model.h"
#include "setmap.h"

#define KEY_MAX 16	/* LPM keys: ranges are compared as 128-bit numbers */

typedef unsigned __int128 u128;

static u128 to_num(const uint8_t *v, unsigned int len)
{
	u128 x = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		x = (x << 8) | v[i];
	return x;
}

static void from_num(u128 x, uint8_t *v, unsigned int len)
{
	unsigned int i;

	for (i = len; i-- > 0; x >>= 8)
		v[i] = (uint8_t)x;
}

int setmap_range_prefixes(const uint8_t *lo, const uint8_t *hi,
			  unsigned int len,
			  int (*fn)(const uint8_t *pfx, unsigned int bits,
				    void *arg), void *arg)
{
	unsigned int nbits = len * 8;
	u128 a = to_num(lo, len), b = to_num(hi, len);
	uint8_t pfx[KEY_MAX];
	int err;

	if (len == 0 || len > KEY_MAX || a > b)
		return -EINVAL;
	for (;;) {
		unsigned int k = 0;
		u128 span;

		/* largest aligned block at a that stays within [a, b] */
		while (k < nbits) {
			unsigned int k1 = k + 1;

			span = k1 >= 128 ? ~(u128)0 : ((u128)1 << k1) - 1;
			if ((a & span) || a + span > b || a + span < a)
				break;
			k++;
		}
		from_num(a, pfx, len);
		err = fn(pfx, nbits - k, arg);
		if (err)
			return err;
		span = k == 128 ? ~(u128)0 : ((u128)1 << k) - 1;
		if (a + span >= b)
			return 0;
		a += span + 1;
	}
}

struct lpm_ctx {
	int fd;
	unsigned int len;
	uint32_t tag;
	uint32_t value;
	size_t n;
};

/* the key: prefix length, the set's tag (always matched), the prefix */
static int lpm_insert(const uint8_t *pfx, unsigned int bits, void *arg)
{
	struct lpm_ctx *l = arg;
	uint8_t key[8 + KEY_MAX];
	uint32_t b = 32 + bits;

	memcpy(key, &b, 4);
	memcpy(key + 4, &l->tag, 4);
	memcpy(key + 8, pfx, l->len);
	l->n++;
	if (l->fd < 0)		/* counting pass */
		return 0;
	return bpf_map_update_elem(l->fd, key, &l->value, BPF_ANY) ? -errno : 0;
}

static int elem_cmp(const void *a, const void *b, void *len)
{
	const struct nftj_set_elem *x = *(struct nftj_set_elem * const *)a;
	const struct nftj_set_elem *y = *(struct nftj_set_elem * const *)b;
	int r = memcmp(x->key, y->key, *(unsigned int *)len);

	if (r)
		return r;
	/* an interval's end sorts before the next interval's start */
	return !!(y->flags & NFT_SET_ELEM_INTERVAL_END) -
	       !!(x->flags & NFT_SET_ELEM_INTERVAL_END);
}

static uint32_t elem_value(const struct imr_set *is, size_t i)
{
	return is->elem_action ? (uint32_t)is->elem_action[i] : 1;
}

/*
 * Walk the sorted elements like nft_rbtree_lookup(): the greatest
 * element <= key decides; an interval end means no match.  Each start
 * covers up to the next element (exclusive), or to the end of the key
 * space when nothing follows.
 */
static int lpm_fill(const struct imr_set *is, struct lpm_ctx *l)
{
	const struct nftj_set *set = is->nset;
	const struct nftj_set_elem **v;
	uint8_t hi[KEY_MAX];
	size_t n = 0, i;
	int err = 0;

	v = calloc(set->nelems ? set->nelems : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < set->nelems; i++)
		if (!(set->elems[i].flags & NFT_SET_ELEM_CATCHALL))
			v[n++] = &set->elems[i];
	qsort_r(v, n, sizeof(*v), elem_cmp, &l->len);
	l->tag = is->tag;
	for (i = 0; i < n && !err; i++) {
		const struct nftj_set_elem *e = v[i];
		u128 end;

		if (e->flags & NFT_SET_ELEM_INTERVAL_END)
			continue;
		if (e->key_end_len) {
			memcpy(hi, e->key_end, l->len);
		} else if (i + 1 < n) {
			end = to_num(v[i + 1]->key, l->len);
			if (end == to_num(e->key, l->len))
				continue;	/* empty */
			from_num(end - 1, hi, l->len);
		} else {
			memset(hi, 0xff, l->len);
		}
		l->value = elem_value(is, (size_t)(e - set->elems));
		err = setmap_range_prefixes(e->key, hi, l->len, lpm_insert, l);
	}
	free(v);
	return err;
}

/* every set of map `map` into l (counting when l->fd < 0) */
static int lpm_fill_all(const struct imr_prog *p, unsigned int map,
			struct lpm_ctx *l, const char **name)
{
	size_t i;
	int err;

	for (i = 0; i < p->nsets; i++) {
		if (p->sets[i].map != map)
			continue;
		*name = p->sets[i].nset->name;
		err = lpm_fill(&p->sets[i], l);
		if (err)
			return err;
	}
	return 0;
}

static int create_lpm(const struct imr_prog *p, unsigned int map,
		      const struct nftj_set *first, char *errbuf,
		      size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	struct lpm_ctx l = { .fd = -1, .len = first->key_len };
	const char *name = first->name;
	int err;

	if (first->key_len > KEY_MAX) {
		snprintf(errbuf, errlen, "set %s: interval key of %u bytes",
			 first->name, first->key_len);
		return -EOPNOTSUPP;
	}
	err = lpm_fill_all(p, map, &l, &name);	/* count the prefixes */
	if (err) {
		snprintf(errbuf, errlen, "set %s: LPM prefixes: %s", name,
			 strerror(-err));
		return err;
	}
	l.fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "nftj_set", 8 + l.len, 4,
			      l.n ? (uint32_t)l.n : 1, &o);
	if (l.fd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "set %s: LPM map: %s", first->name,
			 strerror(errno));
		return err;
	}
	l.n = 0;
	err = lpm_fill_all(p, map, &l, &name);
	if (err) {
		snprintf(errbuf, errlen, "set %s: filling LPM map: %s",
			 name, strerror(-err));
		close(l.fd);
		return err;
	}
	return l.fd;
}

/* the key: the set's tag, the set key */
static int hash_fill(int fd, const struct imr_set *is, char *errbuf,
		     size_t errlen)
{
	const struct nftj_set *set = is->nset;
	uint8_t key[4 + IMR_VAL_MAX];
	size_t i;
	uint32_t v;

	memcpy(key, &is->tag, 4);
	for (i = 0; i < set->nelems; i++) {
		if (set->elems[i].flags & NFT_SET_ELEM_CATCHALL)
			continue;
		v = elem_value(is, i);
		memcpy(key + 4, set->elems[i].key, set->key_len);
		if (bpf_map_update_elem(fd, key, &v, BPF_ANY)) {
			int err = -errno;

			snprintf(errbuf, errlen, "set %s: element: %s",
				 set->name, strerror(errno));
			return err;
		}
	}
	return 0;
}

static int create_hash(const struct imr_prog *p, unsigned int map,
		       const struct nftj_set *first, char *errbuf,
		       size_t errlen)
{
	size_t i, j, n = 0;
	int fd, err;

	if (first->key_len > IMR_VAL_MAX) {
		snprintf(errbuf, errlen, "set %s: key of %u bytes",
			 first->name, first->key_len);
		return -EOPNOTSUPP;
	}
	for (i = 0; i < p->nsets; i++) {
		const struct nftj_set *set = p->sets[i].nset;

		for (j = 0; p->sets[i].map == map && j < set->nelems; j++)
			if (!(set->elems[j].flags & NFT_SET_ELEM_CATCHALL))
				n++;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "nftj_set", 4 + first->key_len,
			    4, n ? (uint32_t)n : 1, NULL);
	if (fd < 0) {
		fd = -errno;
		snprintf(errbuf, errlen, "set %s: hash map: %s", first->name,
			 strerror(-fd));
		return fd;
	}
	for (i = 0; i < p->nsets; i++) {
		if (p->sets[i].map != map)
			continue;
		err = hash_fill(fd, &p->sets[i], errbuf, errlen);
		if (err) {
			close(fd);
			return err;
		}
	}
	return fd;
}

int setmap_create(const struct imr_prog *p, unsigned int map, char *err,
		  size_t errlen)
{
	const struct nftj_set *first = NULL;
	size_t i;

	for (i = 0; i < p->nsets && !first; i++)
		if (p->sets[i].map == map)
			first = p->sets[i].nset;
	if (!first) {
		snprintf(err, errlen, "set map %u has no set", map);
		return -EINVAL;
	}
	if (first->flags & NFT_SET_INTERVAL)
		return create_lpm(p, map, first, err, errlen);
	return create_hash(p, map, first, err, errlen);
}
