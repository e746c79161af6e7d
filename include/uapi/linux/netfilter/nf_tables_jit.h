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
 *                                 k = number of rules: the policy
 *                                 (kernel target: the interpreter
 *                                 applies it and counts it)
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

/*
 * Link target (BPF_PROG_TYPE_NETFILTER attached with BPF_LINK_CREATE,
 * Linux >= 6.4): the program returns NF_DROP or NF_ACCEPT only.  Its
 * statistics map is an array with one element: struct nftj_link_stats
 * followed by one struct nftj_counter per rule id, as the test target's.
 * unhandled counts the packets the program could not decide exactly as
 * nf_tables would (where the test target resumes in the interpreter):
 * they were dropped.
 */
struct nftj_link_stats {
	__u64 unhandled;
};

/*
 * Services (kernel target): the module nf_tables registers one kfunc for
 * BPF_PROG_TYPE_SCHED_CLS programs, valid only while the runner runs the
 * program attached to a chain:
 *
 *   int nftj_svc_eval(struct __sk_buff *skb, __u32 svc,
 *                     __u32 *regs, __u32 regs__sz);
 *
 * It evaluates service svc: the nf_tables expression the attach request
 * named at position svc of NFTJ_A_SERVICES (chain, rule handle, position
 * of the expression in the rule), as the interpreter does, on the live
 * objects: set and map lookups see the current elements, counters are the
 * rule's own, ct and meta read the packet's state.  regs is the
 * interpreter's register file (struct nft_regs, NFTJ_REGS_SIZE bytes):
 * 32-bit words, word 4 * r for NFT_REG_r (r = 1..4) and word
 * 4 + (r - NFT_REG32_00) for NFT_REG32_r.  Words 0..3 (the verdict
 * register) are ignored on input and zeroed on output.  Only expressions
 * of the types counter, lookup, ct (get) and meta (get) can be services.
 *
 * Return value: the verdict code the expression left, NFT_CONTINUE when
 * it completed, NFT_BREAK when the rule does not match, a verdict (verdict
 * maps), or NFTJ_SVC_ERROR when called outside a run, with a bad index or
 * a bad size.
 */
#define NFTJ_REGS_SIZE		80
#define NFTJ_SVC_ERROR		(-128)
#define NFTJ_SVC_KFUNC		"nftj_svc_eval"

/*
 * Control interface: generic netlink family NFTJ_GENL_NAME.  DETACH and
 * GET need CAP_NET_ADMIN in the user namespace of the network namespace,
 * ATTACH needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN in the initial
 * user namespace; the state is per network namespace.
 *
 * NFTJ_CMD_ATTACH   FAMILY, TABLE, CHAIN, GENID, PROG_FD [, SERVICES]
 *     Run the program for base chain CHAIN, compiled from ruleset
 *     generation GENID (NFTA_GEN_ID of the dump it was compiled from).
 *     Replaces an attached program.  The program, and every program it
 *     can tail-call, may call bpf_skb_load_bytes() and the services
 *     kfunc only, and use no map but frozen program arrays.  Errors:
 *     ESTALE (GENID is not the current generation: dump again and
 *     recompile), ENOENT (no such table or chain), EOPNOTSUPP (not a base
 *     chain of family ip, ip6 or inet), EPERM (capabilities; a table with
 *     an owner, NFT_TABLE_F_OWNER; a call or map the program may not
 *     use), EINVAL (not a SCHED_CLS program, bad service), E2BIG.
 * NFTJ_CMD_DETACH   FAMILY, TABLE, CHAIN
 * NFTJ_CMD_GET      FAMILY, TABLE, CHAIN; or a dump of every attachment:
 *     FAMILY, TABLE, CHAIN, GENID, PROG_ID, NRULES, NCHAINS, NSERVICES,
 *     RUNS, RESUMES, FALLBACKS, RECOUNTS.  Also the namespace's DETACHES
 *     (programs detached by commits) and DESTROYED (programs released
 *     because a chain they covered was freed outside a commit: its device
 *     or its owner went away) in every message.  Without FAMILY, TABLE
 *     and CHAIN (not a dump): the namespace's ATTACHED, DETACHES and
 *     DESTROYED only.
 */
#define NFTJ_GENL_NAME		"nft_jit"
#define NFTJ_GENL_VERSION	1

enum nftj_cmd {
	NFTJ_CMD_UNSPEC,
	NFTJ_CMD_ATTACH,
	NFTJ_CMD_DETACH,
	NFTJ_CMD_GET,
	__NFTJ_CMD_MAX,
};

#define NFTJ_CMD_MAX		(__NFTJ_CMD_MAX - 1)

enum nftj_attr {
	NFTJ_A_UNSPEC,
	NFTJ_A_FAMILY,		/* u32: NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET */
	NFTJ_A_TABLE,		/* string */
	NFTJ_A_CHAIN,		/* string */
	NFTJ_A_GENID,		/* u32 */
	NFTJ_A_PROG_FD,		/* u32 */
	NFTJ_A_SERVICES,	/* nest of NFTJ_A_SERVICE */
	NFTJ_A_PROG_ID,		/* u32 */
	NFTJ_A_NRULES,		/* u32: rules of the base chain */
	NFTJ_A_NCHAINS,		/* u32: chains the program covers, 0: table */
	NFTJ_A_NSERVICES,	/* u32 */
	NFTJ_A_RUNS,		/* u64 */
	NFTJ_A_RESUMES,		/* u64 */
	NFTJ_A_FALLBACKS,	/* u64 */
	NFTJ_A_DETACHES,	/* u64 */
	NFTJ_A_PAD,
	NFTJ_A_ATTACHED,	/* u32: programs attached in the namespace */
	NFTJ_A_RECOUNTS,	/* u64: fallbacks after counters ran */
	NFTJ_A_DESTROYED,	/* u64: released with a chain they covered */
	__NFTJ_A_MAX,
};

#define NFTJ_A_MAX		(__NFTJ_A_MAX - 1)

enum nftj_svc_attr {
	NFTJ_SVC_A_UNSPEC,
	NFTJ_SVC_A_CHAIN,	/* string: chain of the rule */
	NFTJ_SVC_A_HANDLE,	/* u64: rule handle */
	NFTJ_SVC_A_INDEX,	/* u32: position of the expression in the rule */
	__NFTJ_SVC_A_MAX,
};

#define NFTJ_SVC_A_MAX		(__NFTJ_SVC_A_MAX - 1)

/*
 * The service table is the NFTJ_A_SERVICE nests (one per service) of every
 * NFTJ_A_SERVICES attribute of the request, in order: an attribute holds
 * at most 64 KiB, so a long table takes several.
 */
#define NFTJ_A_SERVICE		1
#define NFTJ_MAX_SERVICES	65536

#endif /* _UAPI_NF_TABLES_JIT_H */
