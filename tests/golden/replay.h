/* SPDX-License-Identifier: GPL-2.0 */
/* nf_tables on tape: nftj_ruleset_dump() from a captured dump (replay.c). */
#ifndef NFTJ_REPLAY_H
#define NFTJ_REPLAY_H

#include <stddef.h>
#include <stdio.h>

/* from now on, dumps read this capture (borrowed until the next call) */
void replay_tape(const void *buf, size_t len);
/* from now on, dumps talk to the kernel and their answers go to f */
void replay_record(FILE *f);
/* the first error of recording since replay_record(): -ENOMEM, -EIO */
int replay_record_err(void);

#endif /* NFTJ_REPLAY_H */
