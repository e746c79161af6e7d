/* SPDX-License-Identifier: GPL-2.0 */
/* Packets for `nft-jit eval`: hex strings or pcap files, from the IP header. */
#ifndef NFTJ_PKT_H
#define NFTJ_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX		65535

struct pkt {
	uint8_t *data;	/* starts at the IP header */
	size_t len;
};

struct pkt_list {
	struct pkt *p;
	size_t n;
};

/* parse hex ("4500...", separators ' ' ':' '.' '-' allowed); -EINVAL */
int pkt_add_hex(struct pkt_list *l, const char *hex);
/*
 * Read a pcap/pcapng file (link types raw IP, IPv4, IPv6, Ethernet,
 * Linux cooked).  On error writes a message to err and returns -errno.
 */
int pkt_add_pcap(struct pkt_list *l, const char *path, char *err,
		 size_t errlen);
void pkt_list_free(struct pkt_list *l);

#endif /* NFTJ_PKT_H */
