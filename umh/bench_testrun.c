// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables_jit.h>

#include "bench_testrun.h"

/* the start of struct nf_hook_state: u8 hook, u8 pf (test_run's ctx) */
struct nf_state_head {
	uint8_t hook;
	uint8_t pf;
	uint8_t pad[6];
};

static int run_one(const struct nftj_prog *jp, const uint8_t *pkt,
		   size_t len, uint32_t hook, uint32_t oif, uint32_t repeat,
		   uint32_t *ret, uint32_t *duration)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct nf_state_head st = { .hook = (uint8_t)hook };
	struct __sk_buff skb = {};
	uint8_t *frame = malloc(ETH_HLEN + len);
	int v6 = pkt[0] >> 4 == 6, err = 0;
	size_t hl = 0;

	if (!frame)
		return -ENOMEM;
	/* an Ethernet header: the test target's layout; test_run of a
	 * netfilter program wants one except at the output hook
	 */
	if (jp->target == NFTJ_TARGET_TEST || hook != NF_INET_LOCAL_OUT) {
		memset(frame, 0, ETH_HLEN);
		frame[12] = v6 ? 0x86 : 0x08;
		frame[13] = v6 ? 0xdd : 0x00;
		hl = ETH_HLEN;
	}
	memcpy(frame + hl, pkt, len);
	o.data_in = frame;
	o.data_size_in = (uint32_t)(hl + len);
	o.repeat = repeat;
	if (jp->target == NFTJ_TARGET_TEST) {
		skb.cb[NFTJ_CB_OIF] = oif;
		skb.cb[NFTJ_CB_HOOK] = NFTJ_CB2(hook, v6 ? NFPROTO_IPV6 :
						NFPROTO_IPV4, NFTJ_F_HAS_SK);
		skb.cb[NFTJ_CB_DEVTYPE] = NFTJ_NO_DEV | (uint32_t)1 << 16;
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	} else {
		st.pf = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
		o.ctx_in = &st;
		o.ctx_size_in = sizeof(st);
	}
	if (bpf_prog_test_run_opts(jp->prog_fd, &o))
		err = -errno;
	*ret = o.retval;
	*duration = o.duration;
	free(frame);
	return err;
}

int bench_testrun_time(const struct nftj_prog *jp, const struct pkt_list *pl,
		       uint32_t hook, uint32_t oif, uint32_t repeat,
		       uint32_t budget_ms, struct bench_testrun_result *r)
{
	uint32_t ret, dur;
	double sum = 0, est;
	size_t i;
	int err;

	memset(r, 0, sizeof(*r));
	if (!pl->n)
		return 0;
	err = run_one(jp, pl->p[0].data, pl->p[0].len, hook, oif, 10, &ret,
		      &dur);
	if (err)
		return err;
	est = (dur ? dur : 1) * (double)pl->n;	/* ns per round */
	if (est * repeat > budget_ms * 1e6)
		repeat = (uint32_t)(budget_ms * 1e6 / est);
	r->repeat = repeat ? repeat : 1;
	for (i = 0; i < pl->n; i++) {
		err = run_one(jp, pl->p[i].data, pl->p[i].len, hook, oif,
			      r->repeat, &ret, &dur);
		if (err)
			return err;
		sum += dur;
		if (jp->target == NFTJ_TARGET_TEST && NFTJ_RET_IS_RESUME(ret))
			r->resumed++;
	}
	r->ns = pl->n ? sum / (double)pl->n : 0;
	return 0;
}
