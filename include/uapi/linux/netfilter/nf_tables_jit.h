/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nf_tables JIT: ABI shared by the kernel runner and the user-mode helper.
 *
 * A JIT program is a BPF_PROG_TYPE_SCHED_CLS program compiled from one
 * base chain of one ruleset generation.  It receives the packet as a
 * struct __sk_buff whose data points at the network header (kernel
 * target) or at an Ethernet header followed by the network header (test
 * target, BPF_PROG_TEST_RUN).  Hook metadata the __sk_buff lacks is
 * passed in __sk_buff.cb[0..4], see NFTJ_CB_* below.
 */
#ifndef _UAPI_NF_TABLES_JIT_H
#define _UAPI_NF_TABLES_JIT_H

#include <linux/types.h>

/*
 * Return values of a JIT program.
 *
 *   NF_DROP (0), NF_ACCEPT (1)     final verdict of the base chain
 *   NFTJ_RET_RESUME(k)            the program stopped before rule k
 *                                 (0-based position in the base chain)
 *                                 without side effects of rule k: the
 *                                 interpreter continues from that rule
 *   anything else                 unexpected: the runner interprets the
 *                                 whole chain and counts a fallback
 */
#define NFTJ_RET_RESUME_FLAG	0x80000000U
#define NFTJ_RET_RESUME(k)	(NFTJ_RET_RESUME_FLAG | (__u32)(k))
#define NFTJ_RET_IS_RESUME(r)	(((__u32)(r) & NFTJ_RET_RESUME_FLAG) != 0)
#define NFTJ_RET_RESUME_RULE(r)	((__u32)(r) & ~NFTJ_RET_RESUME_FLAG)

/*
 * __sk_buff.cb[] layout, filled by the runner (kernel target) or by the
 * test harness through BPF_PROG_TEST_RUN's ctx_in (test target).
 *
 *   cb[0]  input interface index, 0 if none
 *   cb[1]  output interface index, 0 if none
 *   cb[2]  bits  0..7  hook (NF_INET_*)
 *          bits  8..15 nfproto (NFPROTO_*) of the hook state
 *          bits 16..23 NFTJ_F_* flags
 *   cb[3]  bits  0..15 input device type (ARPHRD_*), NFTJ_NO_DEV if none
 *          bits 16..31 output device type, NFTJ_NO_DEV if none
 *   cb[4]  kernel target only (NFTJ_F_PKTINFO set): the runner's
 *          nft_pktinfo: bits 0..15 thoff (from the network header),
 *          bits 16..23 l4 protocol, bit 24 NFT_PKTINFO_L4PROTO valid,
 *          bit 25 fragment offset is not zero.  Without NFTJ_F_PKTINFO
 *          the program computes the same from the packet itself.
 */
#define NFTJ_CB_IIF		0
#define NFTJ_CB_OIF		1
#define NFTJ_CB_HOOK		2
#define NFTJ_CB_DEVTYPE		3
#define NFTJ_CB_PKTINFO		4

#define NFTJ_CB2(hook, nfproto, flags) \
	((__u32)(hook) | ((__u32)(nfproto) << 8) | ((__u32)(flags) << 16))

/* cb[2] flags */
#define NFTJ_F_HAS_MAC		0x01	/* a link-layer header precedes data */
#define NFTJ_F_HAS_SK		0x02	/* the skb has a full socket */
#define NFTJ_F_PKTINFO		0x04	/* cb[4] holds the runner's pktinfo */

#define NFTJ_NO_DEV		0xffff

#define NFTJ_PKTINFO_THOFF(v)	((v) & 0xffff)
#define NFTJ_PKTINFO_TPROT(v)	(((v) >> 16) & 0xff)
#define NFTJ_PKTINFO_L4		0x01000000U
#define NFTJ_PKTINFO_FRAG	0x02000000U

/*
 * Test target only: the program's statistics map is an array with one
 * element: struct nftj_test_stats followed by one struct nftj_counter per
 * rule id (ids are assigned by the compiler and reported with the
 * program).  The metadata map is an array with one struct nftj_test_meta
 * filled by the harness before each run.
 */
struct nftj_counter {
	__u64 packets;
	__u64 bytes;
};

struct nftj_test_stats {
	__u32 decided;		/* rule id that set the verdict, ~0 for policy */
	__u32 pad;
};

struct nftj_test_meta {
	__u32 skuid;
	__u32 skgid;
};

#define NFTJ_RULE_POLICY	0xffffffffU

#endif /* _UAPI_NF_TABLES_JIT_H */
