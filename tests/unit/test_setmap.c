// SPDX-License-Identifier: GPL-2.0
/*
 * setmap_range_prefixes(): the split of an interval into LPM prefixes,
 * checked against brute force and against the classic minimal count;
 * setmap_create(): sets of one layout in one map, told apart by tags.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/netfilter/nf_tables.h>

#include "setmap.h"
#include "unit.h"

typedef unsigned __int128 u128;

#define MAX_PFX		300	/* a 128-bit range needs at most 254 */

struct pfx {
	u128 start, last;	/* the block the prefix covers */
	unsigned int bits;
};

struct collect {
	unsigned int len;	/* key bytes */
	struct pfx p[MAX_PFX];
	size_t n;
	int bad;		/* malformed prefix seen */
	int fail_at;		/* return -EIO on this call, -1 never */
};

static u128 num(const uint8_t *v, unsigned int len)
{
	u128 x = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		x = (x << 8) | v[i];
	return x;
}

static void bytes(u128 x, uint8_t *v, unsigned int len)
{
	unsigned int i;

	for (i = len; i-- > 0; x >>= 8)
		v[i] = (uint8_t)x;
}

static u128 ones(unsigned int bits)
{
	return bits >= 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

static int collect_fn(const uint8_t *pfx, unsigned int bits, void *arg)
{
	struct collect *c = arg;
	unsigned int nbits = c->len * 8;
	u128 start, host;

	if (c->fail_at >= 0 && (size_t)c->fail_at == c->n)
		return -EIO;
	if (c->n == MAX_PFX || bits > nbits) {
		c->bad = 1;
		return 0;
	}
	start = num(pfx, c->len);
	host = ones(nbits - bits);
	if (start & host)	/* bits beyond the prefix must be zero */
		c->bad = 1;
	c->p[c->n].start = start;
	c->p[c->n].last = start | host;
	c->p[c->n].bits = bits;
	c->n++;
	return 0;
}

/*
 * The classic minimal prefix cover: walk the binary trie, a node fully
 * inside [lo, hi] is one prefix, a partial node splits in two.
 */
static size_t classic_count(u128 lo, u128 hi, u128 node, unsigned int k)
{
	u128 last = node | ones(k);

	if (last < lo || node > hi)
		return 0;
	if (lo <= node && last <= hi)
		return 1;
	return classic_count(lo, hi, node, k - 1) +
	       classic_count(lo, hi, node | ((u128)1 << (k - 1)), k - 1);
}

static int cmp_pfx(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int run(unsigned int len, u128 lo, u128 hi, struct collect *c)
{
	uint8_t l[16], h[16];

	memset(c, 0, sizeof(*c));
	c->len = len;
	c->fail_at = -1;
	bytes(lo, l, len);
	bytes(hi, h, len);
	return setmap_range_prefixes(l, h, len, collect_fn, c);
}

/*
 * Check that the prefixes tile [lo, hi] exactly (sorted, they must be
 * contiguous from lo to hi) and that there are as few as possible.
 */
static int tiles(unsigned int len, u128 lo, u128 hi)
{
	static struct collect c;
	u128 next = lo;
	size_t i;

	if (run(len, lo, hi, &c) != 0 || c.bad || c.n == 0)
		return 0;
	qsort(c.p, c.n, sizeof(c.p[0]), cmp_pfx);
	for (i = 0; i < c.n; i++) {
		if (c.p[i].start != next || c.p[i].last > hi)
			return 0;
		next = c.p[i].last + 1;	/* wraps only after the last */
	}
	if (c.p[c.n - 1].last != hi)
		return 0;
	return c.n == classic_count(lo, hi, 0, len * 8);
}

UNIT_TEST(setmap_prefixes_1byte_exhaustive)
{
	static struct collect c;
	unsigned int lo, hi, v;
	size_t i;

	for (lo = 0; lo < 256; lo++) {
		for (hi = lo; hi < 256; hi++) {
			uint8_t mark[256] = { 0 };

			CHECK_EQ(run(1, lo, hi, &c), 0);
			CHECK(!c.bad);
			for (i = 0; i < c.n; i++) {
				for (v = (unsigned int)c.p[i].start;
				     v <= (unsigned int)c.p[i].last; v++) {
					CHECK(v >= lo && v <= hi);
					CHECK(!mark[v]);	/* overlap */
					mark[v] = 1;
				}
			}
			for (v = 0; v < 256; v++)
				CHECK_EQ(mark[v], v >= lo && v <= hi);
			CHECK_EQ(c.n, classic_count(lo, hi, 0, 8));
		}
	}
}

UNIT_TEST(setmap_prefixes_1byte_known)
{
	static struct collect c;

	/* 0..255: one /0; 7..7: one /8; 1..254: 14 prefixes */
	CHECK_EQ(run(1, 0, 255, &c), 0);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.p[0].bits, 0);
	CHECK_EQ(run(1, 7, 7, &c), 0);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.p[0].bits, 8);
	CHECK_EQ((unsigned int)c.p[0].start, 7);
	CHECK_EQ(run(1, 1, 254, &c), 0);
	CHECK_EQ(c.n, 14);
	CHECK_EQ(run(1, 16, 31, &c), 0);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.p[0].bits, 4);
}

/* xorshift: deterministic pseudo-random numbers */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* random bounds, often near powers of two where splits happen */
static u128 rnd_val(unsigned int len)
{
	u128 x = ((u128)rnd() << 64) | rnd();
	unsigned int bits = len * 8, k;

	switch (rnd() % 4) {
	case 0:		/* 2^k + small */
		k = (unsigned int)(rnd() % bits);
		x = ((u128)1 << k) + (rnd() % 5) - 2;
		break;
	case 1:		/* 2^k - 1 aligned tail */
		k = (unsigned int)(rnd() % bits);
		x |= ones(k);
		break;
	}
	return x & ones(bits);
}

UNIT_TEST(setmap_prefixes_2byte_random)
{
	static uint8_t mark[65536];
	static struct collect c;
	unsigned int lo, hi, v;
	int iter;
	size_t i;

	for (iter = 0; iter < 400; iter++) {
		u128 a = rnd_val(2), b = rnd_val(2);

		lo = (unsigned int)(a < b ? a : b);
		hi = (unsigned int)(a < b ? b : a);
		if (iter == 0) {
			lo = 0;
			hi = 65535;
		} else if (iter == 1) {
			lo = 1;
			hi = 65534;
		} else if (iter == 2) {
			lo = hi;
		}
		memset(mark, 0, sizeof(mark));
		CHECK_EQ(run(2, lo, hi, &c), 0);
		CHECK(!c.bad);
		for (i = 0; i < c.n; i++) {
			for (v = (unsigned int)c.p[i].start;
			     v <= (unsigned int)c.p[i].last; v++) {
				CHECK(v >= lo && v <= hi);
				CHECK(!mark[v]);
				mark[v] = 1;
			}
		}
		for (v = 0; v < 65536; v++)
			CHECK_EQ(mark[v], v >= lo && v <= hi);
		CHECK_EQ(c.n, classic_count(lo, hi, 0, 16));
		if (iter == 0)
			CHECK(c.n == 1 && c.p[0].bits == 0);
		if (iter == 1)
			CHECK_EQ(c.n, 30);
		if (iter == 2)
			CHECK(c.n == 1 && c.p[0].bits == 16);
	}
}

UNIT_TEST(setmap_prefixes_4byte_random)
{
	int iter;

	CHECK(tiles(4, 0, 0xffffffff));
	CHECK(tiles(4, 1, 0xffffffff));
	CHECK(tiles(4, 0, 0xfffffffe));
	CHECK(tiles(4, 0x0a000000, 0x0affffff));
	CHECK(tiles(4, 0xc0a8010a, 0xc0a80114));
	for (iter = 0; iter < 2000; iter++) {
		u128 a = rnd_val(4), b = rnd_val(4);

		CHECK(tiles(4, a < b ? a : b, a < b ? b : a));
	}
}

UNIT_TEST(setmap_prefixes_16byte)
{
	static struct collect c;
	u128 max = ~(u128)0;
	int iter;

	/* the whole key space: exactly one prefix of length 0 */
	CHECK_EQ(run(16, 0, max, &c), 0);
	CHECK(!c.bad);
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.p[0].bits, 0);
	CHECK(c.p[0].start == 0);

	/* a single address: one /128 */
	CHECK_EQ(run(16, max, max, &c), 0);
	CHECK(c.n == 1 && c.p[0].bits == 128 && c.p[0].start == max);
	CHECK_EQ(run(16, 0, 0, &c), 0);
	CHECK(c.n == 1 && c.p[0].bits == 128);

	/* one off either end: 128 prefixes */
	CHECK(tiles(16, 1, max));
	CHECK_EQ(run(16, 1, max, &c), 0);
	CHECK_EQ(c.n, 128);
	CHECK_EQ(run(16, 0, max - 1, &c), 0);
	CHECK_EQ(c.n, 128);
	CHECK(tiles(16, 0, max - 1));
	CHECK(tiles(16, (u128)1 << 127, max));
	CHECK(tiles(16, 0, ((u128)1 << 127) - 1));
	CHECK(tiles(16, ((u128)1 << 127) - 1, (u128)1 << 127));
	for (iter = 0; iter < 2000; iter++) {
		u128 a = rnd_val(16), b = rnd_val(16);

		CHECK(tiles(16, a < b ? a : b, a < b ? b : a));
	}
	/* other key lengths the sets use: 1..16 bytes, full range */
	for (iter = 1; iter <= 16; iter++) {
		CHECK_EQ(run((unsigned int)iter, 0, ones(iter * 8), &c), 0);
		CHECK(c.n == 1 && c.p[0].bits == 0);
	}
}

UNIT_TEST(setmap_prefixes_errors)
{
	static struct collect c;
	uint8_t lo[17] = { 0 }, hi[17] = { 0 };

	CHECK_EQ(run(1, 5, 4, &c), -EINVAL);
	CHECK_EQ(c.n, 0);
	CHECK_EQ(run(2, 0x100, 0xff, &c), -EINVAL);
	CHECK_EQ(run(4, 0x80000000, 0x7fffffff, &c), -EINVAL);
	CHECK_EQ(run(16, ~(u128)0, ~(u128)0 - 1, &c), -EINVAL);
	CHECK_EQ(c.n, 0);

	/* key lengths out of range */
	memset(hi, 0xff, sizeof(hi));
	memset(&c, 0, sizeof(c));
	c.fail_at = -1;
	c.len = 17;
	CHECK_EQ(setmap_range_prefixes(lo, hi, 0, collect_fn, &c), -EINVAL);
	CHECK_EQ(setmap_range_prefixes(lo, hi, 17, collect_fn, &c), -EINVAL);
	CHECK_EQ(c.n, 0);

	/* the callback's error stops the walk and is returned */
	memset(&c, 0, sizeof(c));
	c.len = 1;
	c.fail_at = 2;
	lo[0] = 1;
	hi[0] = 254;
	CHECK_EQ(setmap_range_prefixes(lo, hi, 1, collect_fn, &c), -EIO);
	CHECK_EQ(c.n, 2);
}

/* ---- shared maps: the sets of one layout, told apart by their tags --- */

static void elem(struct nftj_set_elem *e, const void *key, uint32_t len,
		 uint32_t flags)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, len);
	e->key_len = len;
	e->flags = flags;
}

static void set_init(struct nftj_set *s, const char *name, uint32_t flags,
		     uint32_t key_len, struct nftj_set_elem *elems, size_t n)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->name, name);
	s->flags = flags;
	s->key_len = key_len;
	s->elems = elems;
	s->nelems = n;
}

/* found in map fd under tag: 1, not found: 0; LPM keys get a length */
static int shared_lookup(int fd, bool lpm, uint32_t tag, const void *key,
			 uint32_t len)
{
	uint8_t k[8 + 16];
	uint32_t v, plen = 32 + 8 * len;
	size_t off = 0;

	if (lpm) {
		memcpy(k, &plen, 4);
		off = 4;
	}
	memcpy(k + off, &tag, 4);
	memcpy(k + off + 4, key, len);
	return bpf_map_lookup_elem(fd, k, &v) ? 0 : (int)v;
}

UNIT_TEST(setmap_shared_tags)
{
	static const uint8_t p22[] = { 0, 22 }, p80[] = { 0, 80 },
		p443[] = { 1, 187 }, p8080[] = { 0x1f, 0x90 };
	static const uint8_t n10[] = { 10, 0, 0, 0 }, n11[] = { 11, 0, 0, 0 },
		n101[] = { 10, 1, 0, 0 }, n102[] = { 10, 2, 0, 0 },
		a1023[] = { 10, 1, 2, 3 }, a1201[] = { 10, 2, 0, 1 },
		a1101[] = { 11, 0, 0, 1 }, a905[] = { 9, 0, 0, 5 };
	struct nftj_set_elem ea[2], eb[3], ec[2], ed[2];
	struct nftj_set ns[4];
	struct imr_set is[4];
	struct imr_prog p;
	struct bpf_map_info info;
	uint32_t ilen = sizeof(info);
	char err[256];
	int h, l;

	/* a: { 22, 80 }; b: { 80, 443, * } (catch-all not stored) */
	elem(&ea[0], p22, 2, 0);
	elem(&ea[1], p80, 2, 0);
	elem(&eb[0], p80, 2, 0);
	elem(&eb[1], p443, 2, 0);
	elem(&eb[2], p8080, 2, NFT_SET_ELEM_CATCHALL);
	/* c: 10.0.0.0/8; d: 10.1.0.0/16 (interval starts and ends) */
	elem(&ec[0], n10, 4, 0);
	elem(&ec[1], n11, 4, NFT_SET_ELEM_INTERVAL_END);
	elem(&ed[0], n101, 4, 0);
	elem(&ed[1], n102, 4, NFT_SET_ELEM_INTERVAL_END);
	set_init(&ns[0], "a", 0, 2, ea, 2);
	set_init(&ns[1], "b", 0, 2, eb, 3);
	set_init(&ns[2], "c", NFT_SET_INTERVAL, 4, ec, 2);
	set_init(&ns[3], "d", NFT_SET_INTERVAL, 4, ed, 2);
	CHECK(setmap_same_layout(&ns[0], &ns[1]));
	CHECK(setmap_same_layout(&ns[2], &ns[3]));
	CHECK(!setmap_same_layout(&ns[0], &ns[2]));
	memset(is, 0, sizeof(is));
	memset(&p, 0, sizeof(p));
	is[0] = (struct imr_set){ .nset = &ns[0], .map = 0, .tag = 0 };
	is[1] = (struct imr_set){ .nset = &ns[1], .map = 0, .tag = 1 };
	is[2] = (struct imr_set){ .nset = &ns[2], .map = 1, .tag = 2 };
	is[3] = (struct imr_set){ .nset = &ns[3], .map = 1, .tag = 3 };
	p.sets = is;
	p.nsets = 4;
	p.nset_maps = 2;

	h = setmap_create(&p, 0, err, sizeof(err));
	if (h == -EPERM)
		UNIT_SKIP("creating BPF maps not permitted");
	CHECK(h >= 0);
	memset(&info, 0, sizeof(info));
	CHECK_EQ(bpf_obj_get_info_by_fd(h, &info, &ilen), 0);
	CHECK_EQ(info.type, BPF_MAP_TYPE_HASH);
	CHECK_EQ(info.key_size, 4 + 2);
	CHECK_EQ(info.max_entries, 4);	/* the elements of both sets */
	CHECK_EQ(shared_lookup(h, false, 0, p22, 2), 1);
	CHECK_EQ(shared_lookup(h, false, 0, p80, 2), 1);
	CHECK_EQ(shared_lookup(h, false, 0, p443, 2), 0);
	CHECK_EQ(shared_lookup(h, false, 1, p22, 2), 0);
	CHECK_EQ(shared_lookup(h, false, 1, p80, 2), 1);
	CHECK_EQ(shared_lookup(h, false, 1, p443, 2), 1);
	CHECK_EQ(shared_lookup(h, false, 1, p8080, 2), 0);
	CHECK_EQ(shared_lookup(h, false, 2, p80, 2), 0);
	close(h);

	l = setmap_create(&p, 1, err, sizeof(err));
	CHECK(l >= 0);
	ilen = sizeof(info);
	memset(&info, 0, sizeof(info));
	CHECK_EQ(bpf_obj_get_info_by_fd(l, &info, &ilen), 0);
	CHECK_EQ(info.type, BPF_MAP_TYPE_LPM_TRIE);
	CHECK_EQ(info.key_size, 4 + 4 + 4);
	CHECK_EQ(shared_lookup(l, true, 2, a1023, 4), 1);
	CHECK_EQ(shared_lookup(l, true, 2, a1201, 4), 1);
	CHECK_EQ(shared_lookup(l, true, 2, a1101, 4), 0);
	CHECK_EQ(shared_lookup(l, true, 3, a1023, 4), 1);
	CHECK_EQ(shared_lookup(l, true, 3, a1201, 4), 0);
	CHECK_EQ(shared_lookup(l, true, 3, a905, 4), 0);
	CHECK_EQ(shared_lookup(l, true, 0, a1023, 4), 0);
	close(l);

	CHECK_EQ(setmap_create(&p, 2, err, sizeof(err)), -EINVAL);
}
