/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nft-jit status: what runs each base chain of a network namespace, put
 * together from the ruleset (dump), the kernel part (NFTJ_CMD_GET and the
 * BPF programs' info) and the daemon's state file (docs/status.md).
 */
#ifndef NFTJ_STATUS_H
#define NFTJ_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define NFTJ_STATE_DIR_DEFAULT	"/run/nft-jit"

struct status_opts {
	uint32_t family;		/* 0: every family */
	const char *table, *chain;	/* NULL: every one */
	bool verbose;			/* annotated disassembly */
	const char *state_dir;
};

/*
 * Build the report of the current network namespace: the object
 * docs/status.md describes.  Returns 0 and *out, or 1 with the error
 * printed (the ruleset cannot be read, the table or chain named does not
 * exist or is not a base chain).
 */
int status_collect(const struct status_opts *o, json_t **out);

#endif /* NFTJ_STATUS_H */
