// SPDX-License-Identifier: GPL-2.0
/* Netfilter links with the raw bpf() syscall; the dormant table flag. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <linux/bpf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "nflink.h"
#include "nl.h"

/*
 * union bpf_attr.link_create for BPF_NETFILTER (Linux 6.4 uapi): the
 * common part, then struct { pf, hooknum, priority, flags } netfilter.
 * The kernel checks that the bytes it does not know are zero.
 */
struct nf_link_create_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint32_t pf;
	uint32_t hooknum;
	int32_t priority;
	uint32_t nf_flags;
};

int nflink_create(int prog_fd, uint32_t pf, uint32_t hook, int32_t prio)
{
	union {
		union bpf_attr attr;
		struct nf_link_create_attr nf;
	} u;
	long fd;

	memset(&u, 0, sizeof(u));
	u.nf.prog_fd = (uint32_t)prog_fd;
	u.nf.attach_type = NFTJ_ATTACH_NETFILTER;
	u.nf.pf = pf;
	u.nf.hooknum = hook;
	u.nf.priority = prio;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &u, sizeof(u));
	return fd < 0 ? -errno : (int)fd;
}

uint32_t nflink_id(int link_fd)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return 0;
	return info.id;
}

int nftj_links_attach(struct nftj_links *l, int prog_fd, uint32_t family,
		      uint32_t hook, int32_t prio)
{
	uint32_t pfs[2];
	size_t n = 0, i;
	int fd;

	memset(l, 0, sizeof(*l));
	if (family == NFPROTO_IPV4 || family == NFPROTO_INET)
		pfs[n++] = NFPROTO_IPV4;
	if (family == NFPROTO_IPV6 || family == NFPROTO_INET)
		pfs[n++] = NFPROTO_IPV6;
	if (!n)
		return -EOPNOTSUPP;
	for (i = 0; i < n; i++) {
		fd = nflink_create(prog_fd, pfs[i], hook, prio);
		if (fd < 0) {
			nftj_links_detach(l);
			return fd;
		}
		l->fd[l->n] = fd;
		l->pf[l->n] = pfs[i];
		l->id[l->n] = nflink_id(fd);
		l->n++;
	}
	return 0;
}

void nftj_links_detach(struct nftj_links *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		close(l->fd[i]);
	l->n = 0;
}

int nftj_table_dormant(const struct nftj_ruleset *rs, uint32_t family,
		       const char *table, bool *dormant)
{
	struct nftnl_table_list_iter *it;
	struct nftnl_table *t;
	int err = -ENOENT;

	it = nftnl_table_list_iter_create(rs->tables);
	if (!it)
		return -ENOMEM;
	while ((t = nftnl_table_list_iter_next(it))) {
		if (nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) != family ||
		    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), table))
			continue;
		*dormant = nftnl_table_is_set(t, NFTNL_TABLE_FLAGS) &&
			   (nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) &
			    NFT_TABLE_F_DORMANT);
		err = 0;
		break;
	}
	nftnl_table_list_iter_destroy(it);
	return err;
}

/* begin, NEWTABLE with the new flags (no CREATE: update), end */
static size_t build_batch(char *buf, size_t size, uint32_t family,
			  const char *table, bool dormant, uint32_t seq)
{
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, size);
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	size_t len = 0;

	if (!b || !t)
		goto out;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq);
	mnl_nlmsg_batch_next(b);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS,
			    dormant ? NFT_TABLE_F_DORMANT : 0);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
				    NFT_MSG_NEWTABLE, (uint16_t)family,
				    NLM_F_ACK, seq + 1);
	nftnl_table_nlmsg_build_payload(nlh, t);
	mnl_nlmsg_batch_next(b);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq + 2);
	mnl_nlmsg_batch_next(b);
	len = mnl_nlmsg_batch_size(b);
out:
	if (t)
		nftnl_table_free(t);
	if (b)
		mnl_nlmsg_batch_stop(b);
	return len;
}

/*
 * send len bytes of buf (a request, or a batch: sequence numbers are not
 * checked) and read until the acknowledgement or an error
 */
static int nl_request(struct mnl_socket *nl, char *buf, size_t size,
		      size_t len)
{
	struct nftj_nl_req r = { .buf = buf, .size = size };

	return nftj_nl_talk(nl, buf, len, &r);
}

/* 0 if the table exists, -ENOENT if not (NEWTABLE would create it) */
static int table_exists(struct mnl_socket *nl, char *buf, size_t size,
			uint32_t family, const char *table, uint32_t seq)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)family,
				    NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nl_request(nl, buf, size, nlh->nlmsg_len);
}

int nftj_table_set_dormant(uint32_t family, const char *table, bool dormant)
{
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)getpid() << 8;
	size_t size = MNL_SOCKET_BUFFER_SIZE, len;
	char *buf = malloc(size);
	int ret = -ENOMEM;

	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	ret = table_exists(nl, buf, size, family, table, seq);
	if (ret)
		goto out;
	ret = -ENOMEM;
	len = build_batch(buf, size, family, table, dormant, seq + 1);
	if (len)
		ret = nl_request(nl, buf, size, len);
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return ret;
}
