/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nft-jit daemon: one worker process per network namespace follows the
 * ruleset's commits (NFNLGRP_NFTABLES events) and keeps every base chain
 * it can compile attached to a program of the current generation.  The
 * supervisor (cmd_daemon.c) forks the workers.  See docs/daemon.md.
 */
#ifndef NFTJ_DAEMON_H
#define NFTJ_DAEMON_H

#include <stdbool.h>

/* worker exit status: its namespace is gone */
#define NFTJ_WORKER_GONE	3
/* worker exit status: another worker (maybe of another daemon) has it */
#define NFTJ_WORKER_BUSY	4

struct nftj_dopts {
	const char *state_dir;		/* absolute path */
	bool foreground;		/* log to stderr, else syslog */
	bool verbose;			/* LOG_DEBUG lines too */
	bool errors_to_stderr;		/* until detached: errors on stderr */
};

/*
 * One log line: "nft-jit: MESSAGE" on stderr (in one write) in the
 * foreground, else syslog(prio) (and errors on stderr too while
 * o->errors_to_stderr).  LOG_DEBUG only with o->verbose.
 */
void nftj_dlog(const struct nftj_dopts *o, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The worker: enter network namespace netns (a /run/netns name or a
 * path; NULL: stay in the current one), sync, then follow the events
 * until SIGTERM or SIGINT (which the caller must have blocked).  After
 * the first sync pass it writes its pid (a pid_t) to ready_fd and closes
 * it (-1: nobody waits).  Returns the exit status: 0 (signal), 1
 * (failure), NFTJ_WORKER_GONE or NFTJ_WORKER_BUSY.
 */
int nftj_worker_run(const char *netns, const struct nftj_dopts *o,
		    int ready_fd);

#endif /* NFTJ_DAEMON_H */
