/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's state file: one per network namespace,
 * <dir>/netns-<inode>.json, written after every sync pass and read by
 * `nft-jit status`.  The format is fixed in docs/daemon.md.
 */
#ifndef NFTJ_STATE_H
#define NFTJ_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define NFTJ_STATE_VERSION	1
#define NFTJ_STATE_DIR		"/run/nft-jit"
#define NFTJ_STATE_LOG_TAIL	4096	/* bytes of a verifier log kept */

enum nftj_cstate {
	NFTJ_CS_JIT,			/* the program runs every rule */
	NFTJ_CS_PARTIAL,		/* from first_index on: interpreter */
	NFTJ_CS_INTERP,			/* no program: reason */
};

/*
 * One base chain, as a "chains" entry of the state file.  Every string is
 * borrowed (the dump's names, the compiled program's why and log): valid
 * until nftj_state_chain() has copied them into the entry.
 */
struct nftj_centry {
	uint32_t family;
	const char *table, *chain;
	uint32_t hook;
	int32_t prio;
	uint32_t genid;			/* dump the entry is from */
	enum nftj_cstate state;
	const char *reason;		/* NULL: none */
	bool first;			/* first_interpreted: */
	uint64_t first_handle;
	int first_index;
	const char *first_reason;
	uint32_t prog_id;		/* 0: no "program" */
	const char *name;
	size_t insns, nprogs;
	uint32_t jited_len;
	size_t rules, compiled, services;
	double compile_ms, attach_ms;
	double attached_at;		/* unix time; 0: null */
	const char *verifier_log;	/* its tail is kept; NULL: null */
};

/* the file's header */
struct nftj_shdr {
	pid_t pid;
	const char *netns;		/* NULL: the daemon's own */
	uint64_t inode;
	double started, updated;	/* unix time */
	uint32_t genid;			/* of the last completed sync */
	uint64_t syncs, resyncs, stale_retries;
};

/* a new "chains" entry; NULL when out of memory */
json_t *nftj_state_chain(const struct nftj_centry *c);

/* <dir>/netns-<inode>.json; -ENAMETOOLONG */
int nftj_state_path(char *buf, size_t len, const char *dir,
		    uint64_t inode);

/*
 * Write the file at path atomically (a temporary file in the same
 * directory, then rename).  chains: array of nftj_state_chain() entries.
 * 0 or -errno.
 */
int nftj_state_write(const char *path, const struct nftj_shdr *h,
		     json_t *chains);

/* the time now, as the file has it */
double nftj_unix_time(void);

#endif /* NFTJ_STATE_H */
