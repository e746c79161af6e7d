// SPDX-License-Identifier: GPL-2.0
/*
 * nf_tables on tape: the libmnl socket calls of umh/dump.c answered from
 * a captured dump instead of the kernel, so that nftj_ruleset_dump() runs
 * unchanged, unprivileged, anywhere.  The functions below take the place
 * of libmnl's (the executable's definitions come first); in capture mode
 * they pass every call on to libmnl and record what the kernel answered.
 *
 * A capture is the format of tests/fuzz/seeds (branch i11-fuzz): the
 * nf_tables messages of a dump (NEWGEN, NEWTABLE, NEWCHAIN, NEWRULE,
 * NEWSET, NEWSETELEM), back to back; an NLMSG_DONE ends it early.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "replay.h"

#define FAKE_PORTID	4242

static struct {
	const uint8_t *tape;		/* replay: the capture */
	size_t len;
	FILE *rec;			/* capture: where it goes */
	bool gen_seen;			/* capture: NEWGEN once */
	int err;			/* capture: the first error */
} tape;

/* the fake socket: the answer to the last request, not read yet */
struct fake {
	uint8_t *buf;
	size_t len, off, cap;
};

void replay_tape(const void *buf, size_t len)
{
	tape.tape = buf;
	tape.len = len;
	tape.rec = NULL;
}

void replay_record(FILE *f)
{
	tape.rec = f;
	tape.tape = NULL;
	tape.gen_seen = false;
	tape.err = 0;
}

int replay_record_err(void)
{
	return tape.err;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

/* ---- capture ------------------------------------------------------------ */

static bool nft_msg(const struct nlmsghdr *nlh, uint16_t type)
{
	return NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES &&
	       NFNL_MSG_TYPE(nlh->nlmsg_type) == type;
}

static int gen_attr_cb(const struct nlattr *a, void *data)
{
	/* the pid of the process that last changed the ruleset */
	if (mnl_attr_get_type(a) == NFTA_GEN_PROC_PID &&
	    mnl_attr_get_payload_len(a) == sizeof(uint32_t))
		memset(mnl_attr_get_payload(a), 0, sizeof(uint32_t));
	return MNL_CB_OK;
}

static int by_bytes(const void *a, const void *b)
{
	const struct nlattr *x = *(const struct nlattr *const *)a;
	const struct nlattr *y = *(const struct nlattr *const *)b;

	if (x->nla_len != y->nla_len)
		return x->nla_len < y->nla_len ? -1 : 1;
	return memcmp(x, y, x->nla_len);
}

/*
 * A hashed set dumps its elements in the order of a seeded hash: sort
 * the elements of each message so that a capture does not change from
 * one run to the next.
 */
static int sort_elems(struct nlmsghdr *m)
{
	struct nlattr *a, *list = NULL, *e, **v = NULL;
	size_t n = 0, i, off = 0;
	uint8_t *buf;

	mnl_attr_for_each(a, m, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			list = a;
	if (!list)
		return 0;
	mnl_attr_for_each_nested(e, list)
		n++;
	v = calloc(n ? n : 1, sizeof(*v));
	buf = malloc(mnl_attr_get_payload_len(list));
	if (!v || !buf) {
		free(v);
		free(buf);
		return -ENOMEM;
	}
	n = 0;
	mnl_attr_for_each_nested(e, list)
		v[n++] = e;
	qsort(v, n, sizeof(*v), by_bytes);
	for (i = 0; i < n; i++) {
		memcpy(buf + off, v[i], MNL_ALIGN(v[i]->nla_len));
		off += MNL_ALIGN(v[i]->nla_len);
	}
	memcpy(mnl_attr_get_payload(list), buf, off);
	free(v);
	free(buf);
	return 0;
}

/* the same ruleset captures to the same bytes: no pids, no sequence
 * numbers, elements in order */
static void record(const void *buf, ssize_t n)
{
	const struct nlmsghdr *nlh = buf;
	struct nlmsghdr *m;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
			continue;
		if (nft_msg(nlh, NFT_MSG_NEWGEN)) {
			if (tape.gen_seen)
				continue;
			tape.gen_seen = true;
		}
		m = malloc(MNL_ALIGN(nlh->nlmsg_len));
		if (!m) {
			tape.err = -ENOMEM;
			return;
		}
		memcpy(m, nlh, MNL_ALIGN(nlh->nlmsg_len));
		m->nlmsg_seq = 0;
		m->nlmsg_pid = 0;
		if (nft_msg(m, NFT_MSG_NEWGEN))
			mnl_attr_parse(m, sizeof(struct nfgenmsg), gen_attr_cb,
				       NULL);
		if (nft_msg(m, NFT_MSG_NEWSETELEM) && sort_elems(m))
			tape.err = -ENOMEM;
		if (fwrite(m, 1, MNL_ALIGN(m->nlmsg_len), tape.rec) !=
		    MNL_ALIGN(m->nlmsg_len))
			tape.err = -EIO;
		free(m);
	}
}

/* ---- replay ------------------------------------------------------------- */

static int put(struct fake *f, const struct nlmsghdr *src, uint16_t type,
	       uint16_t flags, uint32_t seq, const void *payload, size_t plen)
{
	size_t len = src ? MNL_ALIGN(src->nlmsg_len) :
		     MNL_ALIGN(sizeof(struct nlmsghdr) + plen);
	struct nlmsghdr *nlh;

	if (f->len + len > f->cap) {
		size_t cap = (f->len + len) * 2;
		uint8_t *b = realloc(f->buf, cap);

		if (!b)
			return -ENOMEM;
		f->buf = b;
		f->cap = cap;
	}
	nlh = (struct nlmsghdr *)(f->buf + f->len);
	if (src) {
		memcpy(nlh, src, len);
	} else {
		memset(nlh, 0, len);
		nlh->nlmsg_len = (uint32_t)(sizeof(*nlh) + plen);
		nlh->nlmsg_type = type;
		memcpy(nlh + 1, payload, plen);
	}
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = FAKE_PORTID;
	f->len += len;
	return 0;
}

struct elems_of {
	const char *table, *set;
};

static int list_attr_cb(const struct nlattr *a, void *data)
{
	struct elems_of *w = data;

	if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_TABLE)
		w->table = mnl_attr_get_str(a);
	else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
		w->set = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

/* does element message m belong to the set the request names? */
static bool elems_match(const struct nlmsghdr *req, const struct nlmsghdr *m)
{
	struct elems_of a = { 0 }, b = { 0 };

	mnl_attr_parse(req, sizeof(struct nfgenmsg), list_attr_cb, &a);
	mnl_attr_parse(m, sizeof(struct nfgenmsg), list_attr_cb, &b);
	return a.table && a.set && b.table && b.set &&
	       !strcmp(a.table, b.table) && !strcmp(a.set, b.set);
}

/* the kernel's answer to req, from the tape */
static int answer(struct fake *f, const struct nlmsghdr *req)
{
	const struct nfgenmsg *rg = mnl_nlmsg_get_payload(req);
	/* NFT_MSG_GETx is NFT_MSG_NEWx + 1, GETGEN too */
	uint16_t want = NFNL_MSG_TYPE(req->nlmsg_type) - 1;
	const struct nlmsghdr *m = (const void *)tape.tape;
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	int len = (int)tape.len, err = 0, zero = 0;
	struct nlmsgerr ack = { .msg = *req };

	for (; !err && mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(m);

		if (m->nlmsg_type == NLMSG_DONE)
			break;
		if (!nft_msg(m, want))
			continue;
		if (want != NFT_MSG_NEWGEN && rg->nfgen_family &&
		    g->nfgen_family != rg->nfgen_family)
			continue;
		if (want == NFT_MSG_NEWSETELEM && !elems_match(req, m))
			continue;
		err = put(f, m, 0, dump ? NLM_F_MULTI : 0, req->nlmsg_seq,
			  NULL, 0);
	}
	if (!err && dump)
		err = put(f, NULL, NLMSG_DONE, NLM_F_MULTI, req->nlmsg_seq,
			  &zero, sizeof(zero));
	else if (!err && (req->nlmsg_flags & NLM_F_ACK))
		err = put(f, NULL, NLMSG_ERROR, 0, req->nlmsg_seq, &ack,
			  sizeof(ack));
	return err;
}

/* ---- libmnl's socket calls ---------------------------------------------- */

struct mnl_socket *mnl_socket_open2(int bus, int flags)
{
	if (tape.rec)
		return REAL(mnl_socket_open2)(bus, flags);
	return calloc(1, sizeof(struct fake));
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
	if (tape.rec)
		return REAL(mnl_socket_bind)(nl, groups, pid);
	return 0;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
	if (tape.rec)
		return REAL(mnl_socket_get_portid)(nl);
	return FAKE_PORTID;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req,
			  size_t siz)
{
	struct fake *f = (struct fake *)nl;
	int err;

	if (tape.rec)
		return REAL(mnl_socket_sendto)(nl, req, siz);
	if (!tape.tape) {
		errno = ENOTCONN;
		return -1;
	}
	f->len = f->off = 0;
	err = answer(f, req);
	if (err) {
		errno = -err;
		return -1;
	}
	return (ssize_t)siz;
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf,
			    size_t siz)
{
	struct fake *f = (struct fake *)nl;
	const struct nlmsghdr *m;
	size_t n = 0;
	ssize_t r;

	if (tape.rec) {
		r = REAL(mnl_socket_recvfrom)(nl, buf, siz);
		if (r > 0)
			record(buf, r);
		return r;
	}
	/* whole messages, as many as fit: one skb */
	while (f->off + n < f->len) {
		m = (const void *)(f->buf + f->off + n);
		if (n + MNL_ALIGN(m->nlmsg_len) > siz)
			break;
		n += MNL_ALIGN(m->nlmsg_len);
	}
	if (!n && f->off < f->len) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(buf, f->buf + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

int mnl_socket_close(struct mnl_socket *nl)
{
	struct fake *f = (struct fake *)nl;

	if (tape.rec)
		return REAL(mnl_socket_close)(nl);
	if (f)
		free(f->buf);
	free(f);
	return 0;
}
