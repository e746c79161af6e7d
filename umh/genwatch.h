/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watching for ruleset changes: nf_tables announces every commit with an
 * NFT_MSG_NEWGEN message to the NFNLGRP_NFTABLES multicast group.
 */
#ifndef NFTJ_GENWATCH_H
#define NFTJ_GENWATCH_H

#include <stdbool.h>
#include <stdint.h>

struct mnl_socket;

/* subscribe; returns 0 or -errno */
int genwatch_open(struct mnl_socket **nl);
int genwatch_fd(struct mnl_socket *nl);
/*
 * Read what is queued (non-blocking).  *genid is the last generation
 * announced and *seen true if there was one.  -ENOBUFS: messages were
 * lost (treat as a change).
 */
int genwatch_read(struct mnl_socket *nl, uint32_t *genid, bool *seen);
void genwatch_close(struct mnl_socket *nl);

#endif /* NFTJ_GENWATCH_H */
