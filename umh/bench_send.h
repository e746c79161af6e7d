/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Traffic for `nft-jit bench`: prepared IP packets sent with sendmmsg()
 * on raw IP_HDRINCL sockets, so that every packet crosses the output
 * hook of the current network namespace inside the syscall.  A packet a
 * hook drops fails with EPERM: sendmmsg() stops there, the pass goes on
 * with the next packet and counts the drop.
 */
#ifndef NFTJ_BENCH_SEND_H
#define NFTJ_BENCH_SEND_H

#include <stdint.h>
#include <sys/socket.h>

#include "pkt.h"

#define BSEND_BATCH	64

struct bench_send {
	int fd[2];			/* IPv4, IPv6 raw sockets */
	const struct pkt_list *pl;
	struct mmsghdr *msg;
	struct iovec *iov;
	struct sockaddr_storage dst[2];	/* route selectors, per family */
	struct sockaddr_storage *own;	/* per packet, without dst[] */
	uint8_t *fam;			/* per packet: 0 IPv4, 1 IPv6 */
};

/*
 * dst4/dst6: the addresses sendto() routes by (the packets carry their
 * own); NULL: each packet's destination address.  Returns 0 or -errno.
 */
int bench_send_init(struct bench_send *s, const struct pkt_list *pl,
		    const char *dst4, const char *dst6);
void bench_send_free(struct bench_send *s);

/* send every packet once; *drops += packets refused with EPERM */
int bench_send_pass(struct bench_send *s, uint64_t *drops);

/* send every packet alone; drop[i] = 1 if the hook dropped packet i */
int bench_send_verdicts(struct bench_send *s, uint8_t *drop);

#endif /* NFTJ_BENCH_SEND_H */
