// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/gen.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "genwatch.h"
#include "nl.h"

int genwatch_open(struct mnl_socket **out)
{
	struct mnl_socket *nl;
	int grp = NFNLGRP_NFTABLES, err;

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0) {
		err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	*out = nl;
	return 0;
}

int genwatch_fd(struct mnl_socket *nl)
{
	return mnl_socket_get_fd(nl);
}

struct gen_seen {
	uint32_t id;
	bool seen;
};

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct gen_seen *g = data;
	struct nftnl_gen *gen;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN)
		return MNL_CB_OK;
	gen = nftnl_gen_alloc();
	if (!gen)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) == 0 &&
	    nftnl_gen_is_set(gen, NFTNL_GEN_ID)) {
		g->id = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
		g->seen = true;
	}
	nftnl_gen_free(gen);
	return MNL_CB_OK;
}

int genwatch_read(struct mnl_socket *nl, uint32_t *genid, bool *seen)
{
	size_t size = MNL_SOCKET_BUFFER_SIZE;
	struct gen_seen g = { 0 };
	char *buf = malloc(size);
	int err;

	if (!buf)
		return -ENOMEM;
	/* bounded: what is queued now, at most 1024 reads */
	err = nftj_nl_events(nl, buf, size, 1024, gen_cb, &g);
	free(buf);
	*genid = g.id;
	*seen = g.seen;
	return err;
}

void genwatch_close(struct mnl_socket *nl)
{
	if (nl)
		mnl_socket_close(nl);
}
