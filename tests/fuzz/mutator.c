// SPDX-License-Identifier: GPL-2.0
/*
 * Mutations that keep a dump a dump: libFuzzer's byte mutations break
 * the framing (a changed nlmsg_len or nla_len ends the parse at that
 * message), so most of its inputs would never reach past the front end.
 * Here an input is read as messages and, inside nf_tables messages,
 * attributes, nested where the payload is exactly a sequence of
 * attributes.  One mutation changes one thing and fixes the lengths of
 * everything around it:
 *
 *   - a leaf attribute's payload, through libFuzzer's own mutator (with
 *     the dictionary), in place or resized;
 *   - an attribute deleted, duplicated, or copied into another nest
 *     (an expression from another rule, a rule's expressions into a
 *     set element, ...), or given another type;
 *   - a message deleted, duplicated or moved; its type or family
 *     changed;
 *   - now and then the raw bytes, to try what the framing rules out.
 *
 * Cross-over splices a run of messages of one input into the other.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "fuzz.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

#define MAX_MSGS	2048
#define MAX_ATTRS	16384
#define MAX_DEPTH	10
#define NLA_HDR		4
#define MSG_HDR		(NLMSG_HDRLEN + 4)	/* nlmsghdr, nfgenmsg */
#define A4(x)		(((x) + 3) & ~(size_t)3)

struct msg {
	size_t off, len;		/* len: nlmsg_len */
};

struct attr {
	size_t off, len;		/* len: nla_len */
	int parent;			/* attribute index, -1: the message */
	int msg;
	bool nested;
};

struct layout {
	struct msg msg[MAX_MSGS];
	struct attr attr[MAX_ATTRS];
	size_t nmsg, nattr;
};

static struct layout lay, lay2;
static uint8_t tmp[1 << 16];
static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return n ? (uint32_t)(rnd_state % n) : 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* [off, end) is exactly a sequence of aligned attributes */
static bool fills(const uint8_t *d, size_t off, size_t end)
{
	if (off == end)
		return false;
	while (off < end) {
		size_t len;

		if (end - off < NLA_HDR)
			return false;
		len = rd16(d + off);
		if (len < NLA_HDR || A4(len) > end - off)
			return false;
		off += A4(len);
	}
	return true;
}

static void attrs(const uint8_t *d, size_t off, size_t end, int parent,
		  int msg, int depth, struct layout *l)
{
	while (end - off >= NLA_HDR && l->nattr < MAX_ATTRS) {
		size_t len = rd16(d + off);
		struct attr *a;
		int idx;

		if (len < NLA_HDR || A4(len) > end - off)
			return;
		idx = (int)l->nattr++;
		a = &l->attr[idx];
		a->off = off;
		a->len = len;
		a->parent = parent;
		a->msg = msg;
		a->nested = depth < MAX_DEPTH && len > NLA_HDR && !(len & 3) &&
			    fills(d, off + NLA_HDR, off + len);
		if (a->nested)
			attrs(d, off + NLA_HDR, off + len, idx, msg, depth + 1,
			      l);
		off += A4(len);
	}
}

static bool is_nft(const uint8_t *d, const struct msg *m)
{
	return m->len >= MSG_HDR &&
	       NFNL_SUBSYS_ID(rd16(d + m->off + 4)) == NFNL_SUBSYS_NFTABLES;
}

static void parse(const uint8_t *d, size_t size, struct layout *l)
{
	size_t off = 0;

	l->nmsg = 0;
	l->nattr = 0;
	while (size - off >= NLMSG_HDRLEN && l->nmsg < MAX_MSGS) {
		struct msg *m = &l->msg[l->nmsg];

		m->off = off;
		m->len = rd32(d + off);
		if (m->len < NLMSG_HDRLEN || m->len > size - off)
			return;
		if (is_nft(d, m))
			attrs(d, off + MSG_HDR, off + m->len, -1,
			      (int)l->nmsg, 0, l);
		l->nmsg++;
		off += NLMSG_ALIGN(m->len);
		if (off > size)
			return;
	}
}

/*
 * Replace [pos, pos + old) with n bytes of src (NULL: zeros) inside
 * attribute parent (-1: at the top of message msg; msg -1: between
 * messages) and fix the lengths around it.  Returns the new size, 0 if
 * it does not fit.
 */
static size_t replace(uint8_t *d, size_t size, size_t max,
		      const struct layout *l, int parent, int msg, size_t pos,
		      size_t old, const uint8_t *src, size_t n)
{
	long delta = (long)n - (long)old;
	int p;

	if (size - old + n > max || pos + old > size)
		return 0;
	for (p = parent; p >= 0; p = l->attr[p].parent)
		if ((long)l->attr[p].len + delta > UINT16_MAX ||
		    (long)l->attr[p].len + delta < NLA_HDR)
			return 0;
	memmove(d + pos + n, d + pos + old, size - pos - old);
	if (src)
		memmove(d + pos, src, n);
	else
		memset(d + pos, 0, n);
	for (p = parent; p >= 0; p = l->attr[p].parent)
		wr16(d + l->attr[p].off,
		     (uint16_t)((long)l->attr[p].len + delta));
	if (msg >= 0)
		wr32(d + l->msg[msg].off,
		     (uint32_t)((long)l->msg[msg].len + delta));
	return size - old + n;
}

static int pick_attr(const struct layout *l, int want_nested)
{
	int i, tries;

	if (!l->nattr)
		return -1;
	for (tries = 0; tries < 16; tries++) {
		i = (int)rnd((uint32_t)l->nattr);
		if (want_nested < 0 || l->attr[i].nested == want_nested)
			return i;
	}
	return -1;
}

static size_t leaf_mutate(uint8_t *d, size_t size, size_t max)
{
	int a = pick_attr(&lay, 0);
	const struct attr *at;
	size_t len, cap, n;

	if (a < 0)
		return 0;
	at = &lay.attr[a];
	len = at->len - NLA_HDR;
	cap = rnd(2) ? len : len + 1 + rnd(64);
	if (!cap)
		cap = 4;
	if (NLA_HDR + cap > UINT16_MAX || NLA_HDR + cap > sizeof(tmp))
		return 0;
	memcpy(tmp, d + at->off, NLA_HDR + len);
	if (len) {
		n = LLVMFuzzerMutate(tmp + NLA_HDR, len, cap);
	} else {
		for (n = 0; n < cap; n++)
			tmp[NLA_HDR + n] = (uint8_t)rnd(256);
	}
	wr16(tmp, (uint16_t)(NLA_HDR + n));
	memset(tmp + NLA_HDR + n, 0, A4(NLA_HDR + n) - NLA_HDR - n);
	return replace(d, size, max, &lay, at->parent, at->msg, at->off,
		       A4(at->len), tmp, A4(NLA_HDR + n));
}

static size_t attr_delete(uint8_t *d, size_t size, size_t max)
{
	int a = pick_attr(&lay, -1);
	const struct attr *at;

	if (a < 0)
		return 0;
	at = &lay.attr[a];
	return replace(d, size, max, &lay, at->parent, at->msg, at->off,
		       A4(at->len), NULL, 0);
}

static size_t attr_dup(uint8_t *d, size_t size, size_t max)
{
	int a = pick_attr(&lay, -1);
	const struct attr *at;

	if (a < 0)
		return 0;
	at = &lay.attr[a];
	memcpy(tmp, d + at->off, A4(at->len));
	return replace(d, size, max, &lay, at->parent, at->msg,
		       at->off + A4(at->len), 0, tmp, A4(at->len));
}

/* a copy of one attribute at the end of a nest, or of a message */
static size_t attr_transplant(uint8_t *d, size_t size, size_t max)
{
	int a = pick_attr(&lay, -1), n = pick_attr(&lay, 1);
	const struct attr *src;
	size_t pos;
	int msg;

	if (a < 0)
		return 0;
	src = &lay.attr[a];
	if (A4(src->len) > sizeof(tmp))
		return 0;
	memcpy(tmp, d + src->off, A4(src->len));
	if (n >= 0 && rnd(4)) {
		pos = lay.attr[n].off + lay.attr[n].len;
		msg = lay.attr[n].msg;
	} else {
		msg = (int)rnd((uint32_t)lay.nmsg);
		if (!is_nft(d, &lay.msg[msg]) || lay.msg[msg].len & 3)
			return 0;
		pos = lay.msg[msg].off + lay.msg[msg].len;
		n = -1;
	}
	return replace(d, size, max, &lay, n, msg, pos, 0, tmp,
		       A4(src->len));
}

static size_t attr_retype(uint8_t *d, size_t size)
{
	int a = pick_attr(&lay, -1);
	uint16_t type;

	if (a < 0)
		return 0;
	type = rd16(d + lay.attr[a].off + 2);
	type = (uint16_t)((type & ~NLA_TYPE_MASK) | rnd(24));
	wr16(d + lay.attr[a].off + 2, type);
	return size;
}

static size_t msg_extent(const struct msg *m, size_t size)
{
	size_t e = NLMSG_ALIGN(m->len);

	return m->off + e > size ? size - m->off : e;
}

static size_t msg_op(uint8_t *d, size_t size, size_t max)
{
	const struct msg *m = &lay.msg[rnd((uint32_t)lay.nmsg)];
	size_t ext = msg_extent(m, size), pos, out;

	if (ext > sizeof(tmp))
		return 0;
	switch (rnd(3)) {
	case 0:		/* delete */
		return replace(d, size, max, &lay, -1, -1, m->off, ext, NULL,
			       0);
	case 1:		/* duplicate */
		memcpy(tmp, d + m->off, ext);
		return replace(d, size, max, &lay, -1, -1, m->off + ext, 0,
			       tmp, ext);
	default:	/* move before another message */
		memcpy(tmp, d + m->off, ext);
		out = replace(d, size, max, &lay, -1, -1, m->off, ext, NULL,
			      0);
		parse(d, out, &lay);
		pos = lay.nmsg ? lay.msg[rnd((uint32_t)lay.nmsg)].off : 0;
		return replace(d, out, max, &lay, -1, -1, pos, 0, tmp, ext);
	}
}

static size_t msg_header(uint8_t *d, size_t size)
{
	static const uint8_t types[] = {
		NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE,
		NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_MSG_NEWGEN,
	};
	static const uint8_t families[] = { 0, 1, 2, 3, 5, 7, 10 };
	const struct msg *m = &lay.msg[rnd((uint32_t)lay.nmsg)];

	if (m->len < MSG_HDR)
		return 0;
	if (rnd(2))
		wr16(d + m->off + 4, (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 |
						types[rnd(sizeof(types))]));
	else
		d[m->off + NLMSG_HDRLEN] = families[rnd(sizeof(families))];
	return size;
}

size_t nl_mutate(uint8_t *d, size_t size, size_t max, unsigned int seed)
{
	size_t out = 0;
	int tries;

	rnd_state = seed ? seed : 1;
	for (tries = 0; !out && tries < 4; tries++) {
		parse(d, size, &lay);
		if (!lay.nmsg || !rnd(20))
			return LLVMFuzzerMutate(d, size, max);
		switch (rnd(16)) {
		case 0: case 1: case 2: case 3: case 4: case 5:
			out = leaf_mutate(d, size, max);
			break;
		case 6: case 7:
			out = attr_delete(d, size, max);
			break;
		case 8: case 9:
			out = attr_dup(d, size, max);
			break;
		case 10: case 11:
			out = attr_transplant(d, size, max);
			break;
		case 12:
			out = attr_retype(d, size);
			break;
		case 13: case 14:
			out = msg_op(d, size, max);
			break;
		default:
			out = msg_header(d, size);
			break;
		}
	}
	return out ? out : LLVMFuzzerMutate(d, size, max);
}

/* messages [0, i) of d1, a run of d2's, then the rest of d1 */
size_t nl_crossover(const uint8_t *d1, size_t s1, const uint8_t *d2,
		    size_t s2, uint8_t *out, size_t max, unsigned int seed)
{
	size_t at, from, to, n;
	uint32_t i, j, k;

	rnd_state = seed ? seed : 1;
	parse(d1, s1, &lay);
	parse(d2, s2, &lay2);
	if (!lay2.nmsg)
		return 0;
	i = rnd((uint32_t)lay.nmsg + 1);
	j = rnd(lay2.nmsg);
	k = j + 1 + rnd((uint32_t)(lay2.nmsg - j));
	at = i < lay.nmsg ? lay.msg[i].off : s1;
	from = lay2.msg[j].off;
	to = k < lay2.nmsg ? lay2.msg[k].off : s2;
	n = to - from;
	if (s1 + n > max)
		return 0;
	memcpy(out, d1, at);
	memcpy(out + at, d2 + from, n);
	memcpy(out + at + n, d1 + at, s1 - at);
	return s1 + n;
}
