/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One netlink layer for every socket nft-jit talks on (nf_tables dumps,
 * the nft_jit generic netlink family, the link target's table flags,
 * ruleset events): a request and its replies, and the events queued on
 * a multicast socket.  libmnl underneath, as nftables' src/mnl.c.
 */
#ifndef NFTJ_NL_H
#define NFTJ_NL_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/* how to take a request's replies */
struct nftj_nl_req {
	char *buf;		/* for the replies: MNL_SOCKET_DUMP_SIZE
				 * holds one skb of a dump */
	size_t size;
	uint32_t seq;		/* the request's; 0: unchecked (a batch,
				 * whose replies carry several) */
	mnl_cb_t cb;		/* each data message; NULL: none expected */
	void *data;
	char *ext_msg;		/* the kernel's extended ack message of an
				 * error, "" if none; NULL: not wanted */
	size_t ext_len;
};

/*
 * Send len bytes of msg (a request, or a batch) on nl and read the
 * replies until the acknowledgement, NLMSG_DONE or an error.  Replies
 * must carry the socket's port id and, unless r->seq is 0, the request's
 * sequence number.  Returns 0, the kernel's error (-errno, its message
 * in r->ext_msg; a dump's error in NLMSG_DONE too), cb's (it sets errno
 * and returns MNL_CB_ERROR) or the socket's.
 */
int nftj_nl_talk(struct mnl_socket *nl, const void *msg, size_t len,
		 const struct nftj_nl_req *r);

/*
 * Read what a non-blocking socket has queued (at most max reads into buf)
 * and feed each message to cb; sequence numbers and port ids are not
 * checked (events are not replies).  Returns 0 once the queue is empty
 * or max reads are done, -ENOBUFS when the kernel dropped events (read
 * on: the rest is still queued), cb's error or the socket's.
 */
int nftj_nl_events(struct mnl_socket *nl, char *buf, size_t size,
		   unsigned int max, mnl_cb_t cb, void *data);

#endif /* NFTJ_NL_H */
