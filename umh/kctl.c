// SPDX-License-Identifier: GPL-2.0
/*
 * The nft_jit generic netlink family, with libmnl: family resolution
 * (CTRL_CMD_GETFAMILY), attach, detach, get/dump.  Errors come back as
 * -errno with the kernel's extended ack message, if any, in ext_msg.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "jit.h"
#include "kctl.h"
#include "nl.h"

#define KCTL_RCVBUF	32768	/* holds a dump's skb */

/* send nlh and read replies until the ack, NLMSG_DONE or an error */
static int kctl_talk(struct nftj_kctl *k, struct nlmsghdr *nlh,
		     mnl_cb_t cb, void *data)
{
	struct nftj_nl_req r = {
		.size = KCTL_RCVBUF, .seq = nlh->nlmsg_seq, .cb = cb,
		.data = data, .ext_msg = k->ext_msg,
		.ext_len = sizeof(k->ext_msg),
	};
	int err;

	r.buf = malloc(KCTL_RCVBUF);
	if (!r.buf)
		return -ENOMEM;
	err = nftj_nl_talk(k->nl, nlh, nlh->nlmsg_len, &r);
	free(r.buf);
	return err;
}

static struct nlmsghdr *genl_put(char *buf, uint16_t type, uint16_t flags,
				 uint32_t seq, uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

static int family_attr_cb(const struct nlattr *a, void *data)
{
	uint16_t *id = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    !mnl_attr_validate(a, MNL_TYPE_U16))
		*id = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb,
			      data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int nftj_kctl_open(struct nftj_kctl *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint16_t id = 0;
	int one = 1, err;

	memset(k, 0, sizeof(*k));
	k->seq = (uint32_t)time(NULL);
	k->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!k->nl)
		return -errno;
	if (mnl_socket_bind(k->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		nftj_kctl_close(k);
		return err;
	}
	/* the kernel's error messages, without echoing the request */
	mnl_socket_setsockopt(k->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(k->nl, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh = genl_put(buf, GENL_ID_CTRL, NLM_F_ACK, ++k->seq,
		       CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NFTJ_GENL_NAME);
	err = kctl_talk(k, nlh, family_cb, &id);
	if (!err && !id)
		err = -EPROTO;
	if (err) {
		nftj_kctl_close(k);
		return err;
	}
	k->family = id;
	return 0;
}

void nftj_kctl_close(struct nftj_kctl *k)
{
	if (k->nl)
		mnl_socket_close(k->nl);
	k->nl = NULL;
}

static void put_chain_id(struct nlmsghdr *nlh, uint32_t family,
			 const char *table, const char *chain)
{
	mnl_attr_put_u32(nlh, NFTJ_A_FAMILY, family);
	mnl_attr_put_strz(nlh, NFTJ_A_TABLE, table);
	mnl_attr_put_strz(nlh, NFTJ_A_CHAIN, chain);
}

static size_t attr_len(size_t payload)
{
	return MNL_ALIGN(MNL_ATTR_HDRLEN + payload);
}

static size_t service_len(const struct nftj_service *svc)
{
	return MNL_ATTR_HDRLEN + attr_len(strlen(svc->chain) + 1) +
	       attr_len(sizeof(uint64_t)) + attr_len(sizeof(uint32_t));
}

/* one NFTJ_A_SERVICES attribute holds at most 64 KiB: start another one
 * when the next service would not fit
 */
#define SVC_NEST_MAX	(UINT16_MAX - 64)

static size_t services_len(const struct nftj_kattach *a)
{
	size_t i, n = 0, cur = SVC_NEST_MAX;

	for (i = 0; i < a->nsvc; i++) {
		if (cur + service_len(&a->svc[i]) > SVC_NEST_MAX) {
			n += MNL_ATTR_HDRLEN;
			cur = MNL_ATTR_HDRLEN;
		}
		cur += service_len(&a->svc[i]);
		n += service_len(&a->svc[i]);
	}
	return n;
}

static void put_services(struct nlmsghdr *nlh, const struct nftj_kattach *a)
{
	struct nlattr *nest = NULL, *one;
	size_t i, cur = SVC_NEST_MAX;

	for (i = 0; i < a->nsvc; i++) {
		if (cur + service_len(&a->svc[i]) > SVC_NEST_MAX) {
			if (nest)
				mnl_attr_nest_end(nlh, nest);
			nest = mnl_attr_nest_start(nlh, NFTJ_A_SERVICES);
			cur = MNL_ATTR_HDRLEN;
		}
		cur += service_len(&a->svc[i]);
		one = mnl_attr_nest_start(nlh, NFTJ_A_SERVICE);
		mnl_attr_put_strz(nlh, NFTJ_SVC_A_CHAIN, a->svc[i].chain);
		mnl_attr_put_u64(nlh, NFTJ_SVC_A_HANDLE, a->svc[i].handle);
		mnl_attr_put_u32(nlh, NFTJ_SVC_A_INDEX, a->svc[i].index);
		mnl_attr_nest_end(nlh, one);
	}
	if (nest)
		mnl_attr_nest_end(nlh, nest);
}

int nftj_kctl_attach(struct nftj_kctl *k, const struct nftj_kattach *a)
{
	size_t slen = services_len(a), size;
	struct nlmsghdr *nlh;
	int sndbuf, err;
	char *buf;

	k->ext_msg[0] = '\0';
	if (a->nsvc > NFTJ_MAX_SERVICES) {
		snprintf(k->ext_msg, sizeof(k->ext_msg),
			 "%zu services, the kernel takes at most %u",
			 a->nsvc, NFTJ_MAX_SERVICES);
		return -E2BIG;
	}
	size = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)) +
	       attr_len(4) * 3 + attr_len(strlen(a->table) + 1) +
	       attr_len(strlen(a->chain) + 1) + slen;
	/* a long service table makes a request larger than the default
	 * socket send buffer (CAP_NET_ADMIN may force it)
	 */
	if (size > (size_t)MNL_SOCKET_BUFFER_SIZE) {
		int fd = mnl_socket_get_fd(k->nl);

		sndbuf = (int)(2 * size + 4096);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
			       sizeof(sndbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				   sizeof(sndbuf));
	}
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	nlh = genl_put(buf, k->family, NLM_F_ACK, ++k->seq, NFTJ_CMD_ATTACH,
		       NFTJ_GENL_VERSION);
	put_chain_id(nlh, a->family, a->table, a->chain);
	mnl_attr_put_u32(nlh, NFTJ_A_GENID, a->genid);
	mnl_attr_put_u32(nlh, NFTJ_A_PROG_FD, (uint32_t)a->prog_fd);
	put_services(nlh, a);
	err = kctl_talk(k, nlh, NULL, NULL);
	free(buf);
	return err;
}

int nftj_kctl_detach(struct nftj_kctl *k, uint32_t family,
		     const char *table, const char *chain)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = genl_put(buf, k->family, NLM_F_ACK, ++k->seq, NFTJ_CMD_DETACH,
		       NFTJ_GENL_VERSION);
	put_chain_id(nlh, family, table, chain);
	return kctl_talk(k, nlh, NULL, NULL);
}

struct kstat_parse {
	const struct nlattr *tb[NFTJ_A_MAX + 1];
	nftj_kstat_cb cb;
	void *data;
};

static int kstat_attr_cb(const struct nlattr *a, void *data)
{
	static const enum mnl_attr_data_type types[NFTJ_A_MAX + 1] = {
		[NFTJ_A_FAMILY] = MNL_TYPE_U32,
		[NFTJ_A_TABLE] = MNL_TYPE_NUL_STRING,
		[NFTJ_A_CHAIN] = MNL_TYPE_NUL_STRING,
		[NFTJ_A_GENID] = MNL_TYPE_U32,
		[NFTJ_A_PROG_ID] = MNL_TYPE_U32,
		[NFTJ_A_NRULES] = MNL_TYPE_U32,
		[NFTJ_A_NCHAINS] = MNL_TYPE_U32,
		[NFTJ_A_NSERVICES] = MNL_TYPE_U32,
		[NFTJ_A_RUNS] = MNL_TYPE_U64,
		[NFTJ_A_RESUMES] = MNL_TYPE_U64,
		[NFTJ_A_FALLBACKS] = MNL_TYPE_U64,
		[NFTJ_A_DETACHES] = MNL_TYPE_U64,
		[NFTJ_A_RECOUNTS] = MNL_TYPE_U64,
		[NFTJ_A_DESTROYED] = MNL_TYPE_U64,
	};
	struct kstat_parse *p = data;
	uint16_t type = mnl_attr_get_type(a);

	/* unknown attributes (a newer kernel part) are skipped */
	if (type > NFTJ_A_MAX || types[type] == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, types[type]) < 0)
		return MNL_CB_ERROR;
	p->tb[type] = a;
	return MNL_CB_OK;
}

static uint32_t get_u32(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

static uint64_t get_u64(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static int kstat_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kstat_parse *p = data;
	struct nftj_kstat st = {};
	int ret;

	memset(p->tb, 0, sizeof(p->tb));
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), kstat_attr_cb,
			   p) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	if (!p->tb[NFTJ_A_TABLE] || !p->tb[NFTJ_A_CHAIN]) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	st.family = get_u32(p->tb[NFTJ_A_FAMILY]);
	snprintf(st.table, sizeof(st.table), "%s",
		 mnl_attr_get_str(p->tb[NFTJ_A_TABLE]));
	snprintf(st.chain, sizeof(st.chain), "%s",
		 mnl_attr_get_str(p->tb[NFTJ_A_CHAIN]));
	st.genid = get_u32(p->tb[NFTJ_A_GENID]);
	st.prog_id = get_u32(p->tb[NFTJ_A_PROG_ID]);
	st.nrules = get_u32(p->tb[NFTJ_A_NRULES]);
	st.nchains = get_u32(p->tb[NFTJ_A_NCHAINS]);
	st.nservices = get_u32(p->tb[NFTJ_A_NSERVICES]);
	st.runs = get_u64(p->tb[NFTJ_A_RUNS]);
	st.resumes = get_u64(p->tb[NFTJ_A_RESUMES]);
	st.fallbacks = get_u64(p->tb[NFTJ_A_FALLBACKS]);
	st.recounts = get_u64(p->tb[NFTJ_A_RECOUNTS]);
	st.detaches = get_u64(p->tb[NFTJ_A_DETACHES]);
	st.destroyed = get_u64(p->tb[NFTJ_A_DESTROYED]);
	ret = p->cb(&st, p->data);
	if (ret) {
		errno = ret < 0 ? -ret : EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int detaches_attr_cb(const struct nlattr *a, void *data)
{
	uint64_t *v = data;	/* detaches, destroyed */

	if (mnl_attr_validate(a, MNL_TYPE_U64))
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == NFTJ_A_DETACHES)
		v[0] = mnl_attr_get_u64(a);
	else if (mnl_attr_get_type(a) == NFTJ_A_DESTROYED)
		v[1] = mnl_attr_get_u64(a);
	return MNL_CB_OK;
}

static int detaches_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr),
			      detaches_attr_cb, data) < 0 ? MNL_CB_ERROR :
							    MNL_CB_OK;
}

int nftj_kctl_detaches(struct nftj_kctl *k, uint64_t *detaches,
		       uint64_t *destroyed)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint64_t v[2] = {};
	int err;

	nlh = genl_put(buf, k->family, NLM_F_ACK, ++k->seq, NFTJ_CMD_GET,
		       NFTJ_GENL_VERSION);
	err = kctl_talk(k, nlh, detaches_cb, v);
	*detaches = v[0];
	*destroyed = v[1];
	return err;
}

int nftj_kctl_get(struct nftj_kctl *k, uint32_t family, const char *table,
		  const char *chain, nftj_kstat_cb cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct kstat_parse p = { .cb = cb, .data = data };
	struct nlmsghdr *nlh;

	if (table && chain) {
		nlh = genl_put(buf, k->family, NLM_F_ACK, ++k->seq,
			       NFTJ_CMD_GET, NFTJ_GENL_VERSION);
		put_chain_id(nlh, family, table, chain);
	} else {
		nlh = genl_put(buf, k->family, NLM_F_DUMP, ++k->seq,
			       NFTJ_CMD_GET, NFTJ_GENL_VERSION);
	}
	return kctl_talk(k, nlh, kstat_cb, &p);
}

static int kstats_add(const struct nftj_kstat *st, void *data)
{
	struct nftj_kstats *s = data;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct nftj_kstat *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *st;
	return 0;
}

int nftj_kctl_get_all(struct nftj_kctl *k, struct nftj_kstats *s)
{
	s->n = 0;
	return nftj_kctl_get(k, 0, NULL, NULL, kstats_add, s);
}

const struct nftj_kstat *nftj_kstats_find(const struct nftj_kstats *s,
					  uint32_t family, const char *table,
					  const char *chain)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].family == family &&
		    !strcmp(s->v[i].table, table) &&
		    !strcmp(s->v[i].chain, chain))
			return &s->v[i];
	return NULL;
}

void nftj_kstats_free(struct nftj_kstats *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
