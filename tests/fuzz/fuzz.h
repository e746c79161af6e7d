/* SPDX-License-Identifier: GPL-2.0 */
/* The fuzzer's pieces (tests/fuzz/README.md). */
#ifndef NFTJ_FUZZ_H
#define NFTJ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* fake_kernel.c: abort() if a fake BPF map is still open */
void fake_maps_check(void);
/* fake_kernel.c: bpf() and netlink socket() trap from now on; 0 or -1 */
int fake_kernel_guard(void);

/* nftnl_guard.c: libnftnl parsers that exit() or fault return -1 */
int nftnl_guard_init(void);
extern unsigned long nftnl_guard_trips;

/* mutator.c: netlink-aware mutations (LLVMFuzzerCustomMutator) */
size_t nl_mutate(uint8_t *data, size_t size, size_t max, unsigned int seed);
size_t nl_crossover(const uint8_t *d1, size_t s1, const uint8_t *d2,
		    size_t s2, uint8_t *out, size_t max, unsigned int seed);

#endif /* NFTJ_FUZZ_H */
