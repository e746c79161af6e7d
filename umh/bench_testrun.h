/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF_PROG_TEST_RUN timing for `nft-jit bench`: a program run alone on
 * each packet, `repeat` times in the kernel, no hook around it.
 */
#ifndef NFTJ_BENCH_TESTRUN_H
#define NFTJ_BENCH_TESTRUN_H

#include <stdint.h>

#include "jit.h"
#include "pkt.h"

struct bench_testrun_result {
	double ns;		/* mean per packet (each packet weighs the same) */
	uint64_t resumed;	/* test target: packets resumed in the interpreter */
	uint32_t repeat;	/* runs per packet */
};

/*
 * Time jp (test or link target) at hook `hook` over the packets, each
 * packet run `repeat` times, fewer if that would take more than about
 * budget_ms in all (a first packet run 10 times estimates the cost).
 * For the test target, oif is the output interface the hook metadata
 * names.  Returns 0 or -errno.
 */
int bench_testrun_time(const struct nftj_prog *jp, const struct pkt_list *pl,
		       uint32_t hook, uint32_t oif, uint32_t repeat,
		       uint32_t budget_ms, struct bench_testrun_result *r);

#endif /* NFTJ_BENCH_TESTRUN_H */
