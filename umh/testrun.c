// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "testrun.h"

int testrun_stats_init(struct testrun_stats *s, const struct nftj_prog *jp)
{
	s->size = sizeof(struct nftj_test_stats) +
		  jp->imr.nrule_ids * sizeof(struct nftj_counter);
	s->cur = calloc(1, s->size);
	s->prev = calloc(1, s->size);
	if (!s->cur || !s->prev) {
		testrun_stats_free(s);
		return -ENOMEM;
	}
	return 0;
}

void testrun_stats_free(struct testrun_stats *s)
{
	free(s->cur);
	free(s->prev);
	s->cur = s->prev = NULL;
}

const struct nftj_counter *testrun_counter(const struct testrun_stats *s,
					   bool prev, uint32_t id)
{
	const uint8_t *v = prev ? s->prev : s->cur;

	return (const struct nftj_counter *)(v + sizeof(struct nftj_test_stats) +
					     id * sizeof(struct nftj_counter));
}

/*
 * test_run's eth_type_trans() derives pkt_type from the destination
 * address and the device's (m->dev, else loopback: address and
 * broadcast address all zero).
 */
static int eth_header(uint8_t *eth, const struct testrun_meta *m)
{
	memset(eth, 0, ETH_HLEN);
	switch (m->pkttype) {
	case PACKET_HOST:
		memcpy(eth, m->dev_addr, ETH_ALEN);
		break;
	case PACKET_BROADCAST:
		if (!m->dev)
			return -EINVAL;
		memset(eth, 0xff, ETH_ALEN);
		break;
	case PACKET_MULTICAST:
		eth[0] = 0x01;
		eth[1] = 0x00;
		eth[2] = 0x5e;
		break;
	case PACKET_OTHERHOST:
		memcpy(eth, m->dev_addr, ETH_ALEN);
		eth[0] = (eth[0] & 0xfe) ^ 0x02;	/* unicast, not ours */
		eth[5] ^= 0x01;
		break;
	default:
		return -EINVAL;
	}
	eth[6] = 0x02;		/* a locally administered source */
	eth[11] = 0x02;
	if (m->nfproto == NFPROTO_IPV6) {
		eth[12] = 0x86;
		eth[13] = 0xdd;
	} else {
		eth[12] = 0x08;
		eth[13] = 0x00;
	}
	return 0;
}

int testrun_run(const struct nftj_prog *jp, const struct testrun_meta *m,
		const uint8_t *pkt, size_t len, struct testrun_stats *s,
		uint32_t *retval, uint32_t *decided)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct nftj_test_meta tm = { .skuid = m->skuid, .skgid = m->skgid };
	struct __sk_buff ctx = {};
	uint32_t key = 0, flags = 0;
	uint8_t *frame;
	int err;

	frame = malloc(ETH_HLEN + len);
	if (!frame)
		return -ENOMEM;
	err = eth_header(frame, m);
	if (err)
		goto out;
	memcpy(frame + ETH_HLEN, pkt, len);

	if (m->has_mac)
		flags |= NFTJ_F_HAS_MAC;
	if (m->has_sk)
		flags |= NFTJ_F_HAS_SK;
	ctx.cb[NFTJ_CB_IIF] = m->iif;
	ctx.cb[NFTJ_CB_OIF] = m->oif;
	ctx.cb[NFTJ_CB_HOOK] = NFTJ_CB2(m->hook, m->nfproto, flags);
	ctx.cb[NFTJ_CB_DEVTYPE] = (m->iif ? m->iiftype : NFTJ_NO_DEV) |
				  (uint32_t)(m->oif ? m->oiftype :
					     NFTJ_NO_DEV) << 16;
	ctx.mark = m->mark;
	ctx.ifindex = m->dev;

	memcpy(s->prev, s->cur, s->size);
	((struct nftj_test_stats *)s->cur)->decided = NFTJ_DECIDED_NONE;
	err = bpf_map_update_elem(jp->maps.stats_fd, &key, s->cur, BPF_ANY);
	if (!err)
		err = bpf_map_update_elem(jp->maps.meta_fd, &key, &tm,
					  BPF_ANY);
	if (err) {
		err = -errno;
		goto out;
	}
	o.data_in = frame;
	o.data_size_in = (uint32_t)(ETH_HLEN + len);
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(jp->prog_fd, &o) ||
	    bpf_map_lookup_elem(jp->maps.stats_fd, &key, s->cur)) {
		err = -errno;
		goto out;
	}
	*retval = o.retval;
	*decided = ((struct nftj_test_stats *)s->cur)->decided;
out:
	free(frame);
	return err;
}
