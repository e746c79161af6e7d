// SPDX-License-Identifier: GPL-2.0
/* One netlink layer (nl.h). */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "nl.h"

/* the request being answered */
struct talk {
	const struct nftj_nl_req *r;
	int cb_err;		/* the data callback's own error */
};

/* the kernel's message for the error, if it sent one (NLM_F_ACK_TLVS) */
static void ext_ack(const struct nlmsghdr *nlh, const struct nlmsgerr *e,
		    const struct nftj_nl_req *r)
{
	const struct nlattr *attr;
	const void *tlv;
	size_t off, len;

	if (!r->ext_msg || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* TLVs follow the echoed request, or its header if capped */
	off = sizeof(*e) - sizeof(e->msg);
	off += nlh->nlmsg_flags & NLM_F_CAPPED ? sizeof(e->msg) :
	       e->msg.nlmsg_len;
	off = MNL_ALIGN(off);
	len = mnl_nlmsg_get_payload_len(nlh);
	if (off >= len)
		return;
	tlv = (const char *)e + off;
	mnl_attr_for_each_payload(tlv, len - off) {
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING))
			continue;
		snprintf(r->ext_msg, r->ext_len, "%s", mnl_attr_get_str(attr));
	}
}

static int error_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = arg;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;	/* the ack */
	ext_ack(nlh, e, t->r);
	errno = -e->error;
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *arg)
{
	/* a dump that failed after it started carries its error here */
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int err = *(const int *)mnl_nlmsg_get_payload(nlh);

		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *arg)
{
	return MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct talk *t = arg;
	int ret;

	if (!t->r->cb)
		return MNL_CB_OK;
	ret = t->r->cb(nlh, t->r->data);
	if (ret == MNL_CB_ERROR)
		t->cb_err = errno ? -errno : -EINVAL;
	return ret;
}

int nftj_nl_talk(struct mnl_socket *nl, const void *msg, size_t len,
		 const struct nftj_nl_req *r)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = noop_cb,
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	uint32_t portid = mnl_socket_get_portid(nl);
	struct talk t = { .r = r };
	ssize_t n;
	int ret;

	if (r->ext_msg && r->ext_len)
		r->ext_msg[0] = '\0';
	if (mnl_socket_sendto(nl, msg, len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, r->buf, r->size);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		errno = 0;
		ret = mnl_cb_run2(r->buf, (size_t)n, r->seq, portid, data_cb,
				  &t, ctl, NLMSG_MIN_TYPE);
	} while (ret == MNL_CB_OK);
	if (ret == MNL_CB_ERROR)
		return t.cb_err ? t.cb_err : -(errno ? errno : EPROTO);
	return 0;
}

int nftj_nl_events(struct mnl_socket *nl, char *buf, size_t size,
		   unsigned int max, mnl_cb_t cb, void *data)
{
	unsigned int i;
	ssize_t n;

	for (i = 0; i < max; i++) {
		n = mnl_socket_recvfrom(nl, buf, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 :
			       -errno;
		errno = 0;
		if (mnl_cb_run(buf, (size_t)n, 0, 0, cb, data) == MNL_CB_ERROR)
			return -(errno ? errno : EPROTO);
	}
	return 0;
}
