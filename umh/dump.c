// SPDX-License-Identifier: GPL-2.0
/*
 * Front end: dump the nf_tables ruleset of the current network namespace
 * through libmnl + libnftnl, consistent with one generation id.
 *
 * Every attempt runs on a fresh NETLINK_NETFILTER socket: read the
 * generation, dump tables, chains, rules, sets and the elements of every
 * set, read the generation again.  An attempt whose generation moved, or
 * whose dump the kernel flagged as interrupted (NLM_F_DUMP_INTR, EINTR),
 * is thrown away and retried.  Every message goes through
 * dump_msg_cb(), which nftj_ruleset_parse() feeds from a buffer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>

#include "model.h"
#include "nl.h"

#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE	32768	/* libmnl >= 1.0.5 defines it */
#endif

#define NFTJ_DUMP_TRIES		10

struct nftj_nl {
	struct mnl_socket *sock;
	uint32_t seq;
	char *buf;			/* MNL_SOCKET_DUMP_SIZE bytes */
};

struct gen_reply {
	uint32_t id;
	bool seen;
};

struct set_import {
	struct nftj_nl *nl;
	struct nftj_ruleset *rs;
	size_t cap;
};

struct elem_cursor {
	struct nftj_set *set;
	size_t cap;
	struct nftj_ruleset *rs;	/* set: each message's set, by name */
};

/*
 * Where every message of a dump goes, from the socket
 * (nftj_ruleset_dump()) or from a buffer (nftj_ruleset_parse()): the
 * objects first, then, once the sets are copied into rs->sets, their
 * elements.
 */
struct dump_ctx {
	struct nftj_ruleset *rs;
	struct nftnl_set_list *sets;	/* NEWSET, until sets_import() */
	bool elems;			/* only NEWSETELEM: into cur */
	struct elem_cursor cur;
	struct gen_reply gen;		/* NEWGEN (buffers) */
};

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int cb_error(int err)
{
	errno = err;
	return MNL_CB_ERROR;
}

/*
 * libnftnl parsers return -1 both for malformed messages and for failed
 * allocations; callers clear errno first so that ENOMEM shows through.
 */
static int parse_error(void)
{
	return cb_error(errno == ENOMEM ? ENOMEM : EPROTO);
}

static bool msg_is(const struct nlmsghdr *nlh, uint16_t type)
{
	return NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES &&
	       NFNL_MSG_TYPE(nlh->nlmsg_type) == type;
}

/* netlink plumbing */

static void nl_close(struct nftj_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

static int nl_open(struct nftj_nl *nl)
{
	int ret;

	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(MNL_SOCKET_DUMP_SIZE);
	if (!nl->buf)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl->sock)
		goto err;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto err;
	return 0;
err:
	ret = neg_errno();
	nl_close(nl);
	return ret;
}

static struct nlmsghdr *nl_req(struct nftj_nl *nl, uint16_t type,
			       uint8_t family, uint16_t flags)
{
	if (++nl->seq == 0)	/* 0 would turn off mnl's sequence check */
		nl->seq = 1;
	return nftnl_nlmsg_build_hdr(nl->buf, type, family, flags, nl->seq);
}

/*
 * Send the request built in nl->buf and feed every answer to cb until
 * the dump ends (NLMSG_DONE) or the request is acknowledged.
 */
static int nl_talk(struct nftj_nl *nl, const struct nlmsghdr *nlh,
		   mnl_cb_t cb, void *data)
{
	struct nftj_nl_req r = {
		.buf = nl->buf, .size = MNL_SOCKET_DUMP_SIZE,
		.seq = nlh->nlmsg_seq, .cb = cb, .data = data,
	};

	return nftj_nl_talk(nl->sock, nlh, nlh->nlmsg_len, &r);
}

static int nl_dump(struct nftj_nl *nl, uint16_t type, uint8_t family,
		   mnl_cb_t cb, void *data)
{
	return nl_talk(nl, nl_req(nl, type, family, NLM_F_DUMP), cb, data);
}

/* generation id */

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct gen_reply *reply = data;
	struct nftnl_gen *gen;
	int ret = MNL_CB_OK;

	if (!msg_is(nlh, NFT_MSG_NEWGEN))
		return MNL_CB_OK;
	gen = nftnl_gen_alloc();
	if (!gen)
		return cb_error(ENOMEM);
	errno = 0;
	if (nftnl_gen_nlmsg_parse(nlh, gen) < 0) {
		ret = parse_error();
	} else if (!nftnl_gen_is_set(gen, NFTNL_GEN_ID)) {
		ret = cb_error(EPROTO);
	} else {
		reply->id = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
		reply->seen = true;
	}
	nftnl_gen_free(gen);
	return ret;
}

static int gen_get(struct nftj_nl *nl, uint32_t *genid)
{
	struct gen_reply reply = { 0 };
	struct nlmsghdr *nlh;
	int ret;

	nlh = nl_req(nl, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK);
	ret = nl_talk(nl, nlh, gen_cb, &reply);
	if (ret)
		return ret;
	if (!reply.seen)
		return -EPROTO;
	*genid = reply.id;
	return 0;
}

/*
 * tables, chains, rules: kept as libnftnl objects.  The kernel names
 * every object it dumps (nf_tables_fill_*_info()); libnftnl's chain and
 * set lists hash the names, and the builder, the daemon and the reports
 * compare names without checking them: a message without them is
 * malformed.
 */

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_table *t;

	if (!msg_is(nlh, NFT_MSG_NEWTABLE))
		return MNL_CB_OK;
	t = nftnl_table_alloc();
	if (!t)
		return cb_error(ENOMEM);
	errno = 0;
	if (nftnl_table_nlmsg_parse(nlh, t) < 0 ||
	    !nftnl_table_is_set(t, NFTNL_TABLE_NAME)) {
		nftnl_table_free(t);
		return parse_error();
	}
	nftnl_table_list_add_tail(t, data);
	return MNL_CB_OK;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_chain *c;

	if (!msg_is(nlh, NFT_MSG_NEWCHAIN))
		return MNL_CB_OK;
	c = nftnl_chain_alloc();
	if (!c)
		return cb_error(ENOMEM);
	errno = 0;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_TABLE) ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_NAME)) {
		nftnl_chain_free(c);
		return parse_error();
	}
	nftnl_chain_list_add_tail(c, data);
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_rule *r;

	if (!msg_is(nlh, NFT_MSG_NEWRULE))
		return MNL_CB_OK;
	r = nftnl_rule_alloc();
	if (!r)
		return cb_error(ENOMEM);
	errno = 0;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    !nftnl_rule_is_set(r, NFTNL_RULE_TABLE) ||
	    !nftnl_rule_is_set(r, NFTNL_RULE_CHAIN)) {
		nftnl_rule_free(r);
		return parse_error();
	}
	nftnl_rule_list_add_tail(r, data);
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s;

	if (!msg_is(nlh, NFT_MSG_NEWSET))
		return MNL_CB_OK;
	s = nftnl_set_alloc();
	if (!s)
		return cb_error(ENOMEM);
	errno = 0;
	if (nftnl_set_nlmsg_parse(nlh, s) < 0 ||
	    !nftnl_set_is_set(s, NFTNL_SET_TABLE) ||
	    !nftnl_set_is_set(s, NFTNL_SET_NAME)) {
		nftnl_set_free(s);
		return parse_error();
	}
	nftnl_set_list_add_tail(s, data);
	return MNL_CB_OK;
}

/* sets: copied into struct nftj_set */

static int name_copy(char *dst, const char *src)
{
	size_t len;

	if (!src)
		return -EPROTO;
	len = strlen(src);
	if (len >= NFTJ_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

static uint32_t set_u32(const struct nftnl_set *s, uint16_t attr)
{
	return nftnl_set_is_set(s, attr) ? nftnl_set_get_u32(s, attr) : 0;
}

static int set_concat_copy(struct nftj_set *dst, const struct nftnl_set *s)
{
	const uint8_t *field_len;
	uint32_t i, n = 0;

	if (!nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT))
		return 0;
	/* libnftnl: an array of field_count one-byte lengths (bytes) */
	field_len = nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &n);
	if (!field_len)
		return 0;
	if (n > NFTJ_CONCAT_MAX)
		return -EOVERFLOW;
	for (i = 0; i < n; i++)
		dst->field_len[i] = field_len[i];
	dst->field_count = n;
	return 0;
}

static int set_attrs_copy(struct nftj_set *dst, const struct nftnl_set *s)
{
	int ret;

	ret = name_copy(dst->table, nftnl_set_get_str(s, NFTNL_SET_TABLE));
	if (!ret)
		ret = name_copy(dst->name, nftnl_set_get_str(s, NFTNL_SET_NAME));
	if (ret)
		return ret;
	dst->family = set_u32(s, NFTNL_SET_FAMILY);
	if (nftnl_set_is_set(s, NFTNL_SET_HANDLE))
		dst->handle = nftnl_set_get_u64(s, NFTNL_SET_HANDLE);
	dst->flags = set_u32(s, NFTNL_SET_FLAGS);
	dst->key_type = set_u32(s, NFTNL_SET_KEY_TYPE);
	dst->key_len = set_u32(s, NFTNL_SET_KEY_LEN);
	dst->data_type = set_u32(s, NFTNL_SET_DATA_TYPE);
	dst->data_len = set_u32(s, NFTNL_SET_DATA_LEN);
	dst->has_exprs = nftnl_set_is_set(s, NFTNL_SET_EXPR) ||
			 nftnl_set_is_set(s, NFTNL_SET_EXPRESSIONS);
	return set_concat_copy(dst, s);
}

static int elem_bytes(struct nftnl_set_elem *e, uint16_t attr,
		      uint8_t *dst, uint32_t *dst_len)
{
	const void *data;
	uint32_t len = 0;

	*dst_len = 0;
	if (!nftnl_set_elem_is_set(e, attr))
		return 0;
	data = nftnl_set_elem_get(e, attr, &len);
	if (!data)
		return 0;
	if (len > NFTJ_DATA_MAX)
		return -EOVERFLOW;
	memcpy(dst, data, len);
	*dst_len = len;
	return 0;
}

static int elem_verdict_copy(struct nftj_set_elem *dst,
			     struct nftnl_set_elem *e)
{
	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT))
		return 0;
	dst->verdict = (int32_t)nftnl_set_elem_get_u32(e,
						       NFTNL_SET_ELEM_VERDICT);
	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
		return 0;
	dst->chain = strdup(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
	return dst->chain ? 0 : -ENOMEM;
}

/* room for one more element: the array doubles */
static int elems_grow(struct elem_cursor *cur)
{
	struct nftj_set_elem *v;
	size_t cap;

	if (cur->set->nelems < cur->cap)
		return 0;
	cap = cur->cap ? cur->cap * 2 : 64;
	v = realloc(cur->set->elems, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(&v[cur->cap], 0, (cap - cur->cap) * sizeof(*v));
	cur->set->elems = v;
	cur->cap = cap;
	return 0;
}

static int elem_copy_cb(struct nftnl_set_elem *e, void *data)
{
	struct elem_cursor *cur = data;
	struct nftj_set_elem *dst;
	int ret;

	ret = elems_grow(cur);
	if (ret)
		return ret;
	dst = &cur->set->elems[cur->set->nelems];
	ret = elem_bytes(e, NFTNL_SET_ELEM_KEY, dst->key, &dst->key_len);
	if (!ret)
		ret = elem_bytes(e, NFTNL_SET_ELEM_KEY_END, dst->key_end,
				 &dst->key_end_len);
	if (!ret)
		ret = elem_bytes(e, NFTNL_SET_ELEM_DATA, dst->data,
				 &dst->data_len);
	if (!ret)
		ret = elem_verdict_copy(dst, e);
	/* counted first: nftj_ruleset_free() frees its chain name */
	cur->set->nelems++;
	if (ret)
		return ret;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		dst->flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	dst->has_timeout = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT) ||
			   nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPR) ||
	    nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPRESSIONS))
		cur->set->has_exprs = true;
	return 0;
}

/*
 * The socket asks for one set's elements at a time; in a buffer, every
 * element message names its set (table, name, and the message's family).
 */
static int elems_target(struct elem_cursor *cur, const struct nftnl_set *tmp)
{
	const char *table = nftnl_set_get_str(tmp, NFTNL_SET_TABLE);
	const char *name = nftnl_set_get_str(tmp, NFTNL_SET_NAME);
	struct nftj_set *set;

	if (!cur->rs)
		return 0;
	set = (struct nftj_set *)nftj_set_find(cur->rs,
					       set_u32(tmp, NFTNL_SET_FAMILY),
					       table, name);
	if (!set)
		return -EPROTO;		/* elements of no set in the dump */
	if (set != cur->set) {
		/* its array holds at least nelems: grown from there */
		cur->set = set;
		cur->cap = set->nelems;
	}
	return 0;
}

/*
 * libnftnl (1.2.4, Debian 12) checks element attributes against
 * NFTA_SET_MAX, not NFTA_SET_ELEM_MAX, and stores them in an array of
 * NFTA_SET_ELEM_MAX + 1 on its stack: an element attribute of type 12 to
 * 18, which a newer kernel could send, writes past it.  Refused before.
 */
static bool elem_attrs_known(const struct nlmsghdr *nlh)
{
	const struct nlattr *list, *elem, *a;

	mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(elem, list)
			mnl_attr_for_each_nested(a, elem)
				if (mnl_attr_get_type(a) > NFTA_SET_ELEM_MAX)
					return false;
	}
	return true;
}

/*
 * One message of the element dump: parsed into a set of its own and
 * copied out at once, so libnftnl never holds more than one message's
 * elements (a set of 100,000 would otherwise be held twice).
 */
static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *tmp;
	int ret;

	if (!msg_is(nlh, NFT_MSG_NEWSETELEM))
		return MNL_CB_OK;
	if (!elem_attrs_known(nlh))
		return cb_error(EPROTO);
	tmp = nftnl_set_alloc();
	if (!tmp)
		return cb_error(ENOMEM);
	errno = 0;
	if (nftnl_set_elems_nlmsg_parse(nlh, tmp) < 0) {
		nftnl_set_free(tmp);
		return parse_error();
	}
	ret = elems_target(data, tmp);
	if (!ret)
		ret = nftnl_set_elem_foreach(tmp, elem_copy_cb, data);
	nftnl_set_free(tmp);
	return ret ? cb_error(-ret) : MNL_CB_OK;
}

/* NEWGEN in a buffer: all of them must agree */
static int gen_msg(const struct nlmsghdr *nlh, struct dump_ctx *d)
{
	struct gen_reply r = { 0 };
	int ret;

	ret = gen_cb(nlh, &r);
	if (ret != MNL_CB_OK || !r.seen)
		return ret;
	if (d->gen.seen && r.id != d->gen.id)
		return cb_error(EAGAIN);	/* a commit in between */
	d->gen = r;
	return MNL_CB_OK;
}

static int dump_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return MNL_CB_OK;
	/* libnftnl's parsers read the family without checking */
	if (nlh->nlmsg_len < NLMSG_SPACE(sizeof(struct nfgenmsg)))
		return cb_error(EPROTO);
	if (d->elems)
		return elems_cb(nlh, &d->cur);
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWGEN:
		return gen_msg(nlh, d);
	case NFT_MSG_NEWTABLE:
		return table_cb(nlh, d->rs->tables);
	case NFT_MSG_NEWCHAIN:
		return chain_cb(nlh, d->rs->chains);
	case NFT_MSG_NEWRULE:
		return rule_cb(nlh, d->rs->rules);
	case NFT_MSG_NEWSET:
		return set_cb(nlh, d->sets);
	}
	return MNL_CB_OK;
}

static int elems_dump(struct nftj_nl *nl, struct nftj_set *dst,
		      struct nftnl_set *s)
{
	struct dump_ctx d = { .elems = true, .cur = { .set = dst } };
	struct nlmsghdr *nlh;

	nlh = nl_req(nl, NFT_MSG_GETSETELEM, set_u32(s, NFTNL_SET_FAMILY),
		     NLM_F_DUMP);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);	/* table, name */
	return nl_talk(nl, nlh, dump_msg_cb, &d);
}

/* nl NULL: a buffer's elements come later (nftj_ruleset_parse()) */
static int set_import(struct nftj_nl *nl, struct nftj_set *dst,
		      struct nftnl_set *s)
{
	int ret;

	ret = set_attrs_copy(dst, s);
	if (!ret && nl)
		ret = elems_dump(nl, dst, s);
	return ret;
}

static int set_count_cb(struct nftnl_set *s, void *data)
{
	size_t *n = data;

	(void)s;
	(*n)++;
	return 0;
}

static int set_import_cb(struct nftnl_set *s, void *data)
{
	struct set_import *imp = data;
	struct nftj_ruleset *rs = imp->rs;

	if (rs->nsets >= imp->cap)
		return -EOVERFLOW;
	/* counted first: nftj_ruleset_free() frees a half-filled set */
	return set_import(imp->nl, &rs->sets[rs->nsets++], s);
}

static int sets_import(struct nftj_nl *nl, struct nftj_ruleset *rs,
		       struct nftnl_set_list *list)
{
	struct set_import imp = { .nl = nl, .rs = rs };

	nftnl_set_list_foreach(list, set_count_cb, &imp.cap);
	if (!imp.cap)
		return 0;
	rs->sets = calloc(imp.cap, sizeof(*rs->sets));
	if (!rs->sets)
		return -ENOMEM;
	return nftnl_set_list_foreach(list, set_import_cb, &imp);
}

/* the whole ruleset */

static int lists_alloc(struct dump_ctx *d)
{
	struct nftj_ruleset *rs = d->rs;

	rs->tables = nftnl_table_list_alloc();
	rs->chains = nftnl_chain_list_alloc();
	rs->rules = nftnl_rule_list_alloc();
	d->sets = nftnl_set_list_alloc();
	if (!rs->tables || !rs->chains || !rs->rules || !d->sets)
		return -ENOMEM;
	return 0;
}

static int objects_dump(struct nftj_nl *nl, struct nftj_ruleset *rs,
			uint8_t family)
{
	static const uint16_t types[] = {
		NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE,
		NFT_MSG_GETSET,
	};
	struct dump_ctx d = { .rs = rs };
	size_t i;
	int ret;

	ret = lists_alloc(&d);
	for (i = 0; !ret && i < sizeof(types) / sizeof(types[0]); i++)
		ret = nl_dump(nl, types[i], family, dump_msg_cb, &d);
	if (!ret)
		ret = sets_import(nl, rs, d.sets);
	if (d.sets)
		nftnl_set_list_free(d.sets);
	return ret;
}

/*
 * A failed dump may have raced with a commit: the kernel flags dumps
 * that crossed one (EINTR), and an object listed by one dump may be gone
 * by the next (e.g. ENOENT for the elements of a deleted set).  Retry
 * when the generation moved; fail otherwise.
 */
static int dump_failed(int err, uint32_t before)
{
	uint32_t now;

	if (err == -EINTR || err == -ENOBUFS)
		return -EAGAIN;
	if (nftj_genid_get(&now) == 0 && now != before)
		return -EAGAIN;
	return err;
}

static int dump_attempt(struct nftj_ruleset *rs, uint8_t family)
{
	uint32_t before, after;
	struct nftj_nl nl;
	int ret;

	ret = nl_open(&nl);
	if (ret)
		return ret;
	ret = gen_get(&nl, &before);
	if (ret) {
		nl_close(&nl);
		return ret;
	}
	ret = objects_dump(&nl, rs, family);
	if (!ret)
		ret = gen_get(&nl, &after);
	nl_close(&nl);
	if (ret)
		return dump_failed(ret, before);
	if (after != before)
		return -EAGAIN;
	rs->genid = before;
	return 0;
}

int nftj_ruleset_dump(struct nftj_ruleset *rs, uint32_t family)
{
	int i, ret;

	if (!rs)
		return -EINVAL;
	memset(rs, 0, sizeof(*rs));
	if (family > UINT8_MAX)
		return -EINVAL;
	for (i = 0; i < NFTJ_DUMP_TRIES; i++) {
		ret = dump_attempt(rs, family);
		if (!ret)
			return 0;
		nftj_ruleset_free(rs);
		if (ret != -EAGAIN)
			return ret;
	}
	return -EAGAIN;
}

void nftj_ruleset_free(struct nftj_ruleset *rs)
{
	size_t i, j;

	if (!rs)
		return;
	if (rs->tables)
		nftnl_table_list_free(rs->tables);
	if (rs->chains)
		nftnl_chain_list_free(rs->chains);
	if (rs->rules)
		nftnl_rule_list_free(rs->rules);
	for (i = 0; rs->sets && i < rs->nsets; i++) {
		for (j = 0; j < rs->sets[i].nelems; j++)
			free(rs->sets[i].elems[j].chain);
		free(rs->sets[i].elems);
	}
	free(rs->sets);
	memset(rs, 0, sizeof(*rs));
}

/*
 * A buffer is messages back to back, nothing else.  Checked here: libmnl
 * takes an nlmsg_len of 2 GiB or more, negative as an int, for one that
 * fits, and steps out of the buffer (a socket's never are that long).
 */
static int msgs_check(const char *buf, size_t len)
{
	size_t off = 0;
	uint32_t n;

	while (off < len) {
		if (len - off < NLMSG_HDRLEN)
			return -EPROTO;
		memcpy(&n, buf + off, sizeof(n));	/* nlmsg_len */
		if (n < NLMSG_HDRLEN || n > len - off)
			return -EPROTO;
		off += NLMSG_ALIGN(n);
	}
	return 0;
}

static int msgs_run(const void *buf, size_t len, struct dump_ctx *d)
{
	errno = 0;
	return mnl_cb_run(buf, len, 0, 0, dump_msg_cb, d) < 0 ?
	       neg_errno() : 0;
}

int nftj_ruleset_parse(struct nftj_ruleset *rs, const void *buf, size_t len)
{
	struct dump_ctx d = { .rs = rs };
	int ret;

	if (!rs)
		return -EINVAL;
	memset(rs, 0, sizeof(*rs));
	if ((!buf && len) || len > INT32_MAX)
		return -EINVAL;
	ret = msgs_check(buf, len);
	if (!ret)
		ret = lists_alloc(&d);
	if (!ret)
		ret = msgs_run(buf, len, &d);
	if (!ret)
		ret = sets_import(NULL, rs, d.sets);
	if (!ret) {
		d.elems = true;
		d.cur.rs = rs;
		ret = msgs_run(buf, len, &d);
	}
	if (d.sets)
		nftnl_set_list_free(d.sets);
	if (ret) {
		nftj_ruleset_free(rs);
		return ret;
	}
	rs->genid = d.gen.id;
	return 0;
}

int nftj_genid_get(uint32_t *genid)
{
	struct nftj_nl nl;
	int ret;

	if (!genid)
		return -EINVAL;
	ret = nl_open(&nl);
	if (ret)
		return ret;
	ret = gen_get(&nl, genid);
	nl_close(&nl);
	return ret;
}

const struct nftj_set *nftj_set_find(const struct nftj_ruleset *rs,
				     uint32_t family, const char *table,
				     const char *name)
{
	size_t i;

	if (!rs || !rs->sets || !table || !name)
		return NULL;
	for (i = 0; i < rs->nsets; i++) {
		const struct nftj_set *s = &rs->sets[i];

		if (s->family == family && !strcmp(s->table, table) &&
		    !strcmp(s->name, name))
			return s;
	}
	return NULL;
}
