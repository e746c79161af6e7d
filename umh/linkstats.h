/* SPDX-License-Identifier: GPL-2.0 */
/* The link target's statistics map, read back for reports. */
#ifndef NFTJ_LINKSTATS_H
#define NFTJ_LINKSTATS_H

#include <jansson.h>

#include "jit.h"

/*
 * {"unhandled": N, "counters": [{"chain", "handle", "packets",
 * "bytes"}]}: the counter of every rule that has one (the format of
 * `nft-jit eval -j`).  NULL on error (errno set).
 */
json_t *linkstats_json(const struct nftj_prog *jp);

/* the unhandled count alone; -errno on error */
int linkstats_unhandled(const struct nftj_prog *jp, uint64_t *n);

#endif /* NFTJ_LINKSTATS_H */
