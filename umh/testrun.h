/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a test-target program on one packet with BPF_PROG_TEST_RUN,
 * with the hook metadata a netfilter hook would give it.
 */
#ifndef NFTJ_TESTRUN_H
#define NFTJ_TESTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit.h"

#define NFTJ_DECIDED_NONE	0xfffffffeU

struct testrun_meta {
	uint32_t hook;
	uint32_t nfproto;	/* of the hook state, per packet for inet */
	uint32_t iif, oif;	/* 0: none */
	uint16_t iiftype, oiftype;
	uint32_t mark;
	bool has_sk;
	uint32_t skuid, skgid;
	uint8_t pkttype;	/* PACKET_HOST, _BROADCAST, ... */
	uint32_t dev;		/* device test_run classifies the frame on
				 * (its address decides pkt_type), 0: lo */
	uint8_t dev_addr[6];
	bool has_mac;
};

struct testrun_stats {
	size_t size;		/* bytes of the statistics map value */
	uint8_t *cur;		/* totals so far */
	uint8_t *prev;
};

int testrun_stats_init(struct testrun_stats *s, const struct nftj_prog *jp);
void testrun_stats_free(struct testrun_stats *s);
const struct nftj_counter *testrun_counter(const struct testrun_stats *s,
					   bool prev, uint32_t id);

/*
 * Run one packet (starting at its IP header).  -EINVAL if the packet
 * type cannot be produced on m->dev (broadcast needs a device with a
 * broadcast address: not lo).  On return *retval is the
 * program's return value, *decided the id of the rule that set the
 * verdict (NFTJ_RULE_POLICY, or NFTJ_DECIDED_NONE), s->prev the totals
 * before and s->cur after.  Returns 0 or -errno.
 */
int testrun_run(const struct nftj_prog *jp, const struct testrun_meta *m,
		const uint8_t *pkt, size_t len, struct testrun_stats *s,
		uint32_t *retval, uint32_t *decided);

#endif /* NFTJ_TESTRUN_H */
