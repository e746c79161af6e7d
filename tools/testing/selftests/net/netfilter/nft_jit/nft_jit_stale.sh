#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A program compiled for an older generation is refused with ESTALE, which
# the helper recognises; attaching for the current generation works.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

nft1 -f "$here/commit.nft" || skip "cannot load the ruleset"
expect "attach at the current generation" jit attach inet filter out
gen=$(jit_state inet filter out genid)
[ -n "$gen" ] && ok "generation $gen reported" || bad "no generation reported"

nft1 add rule inet filter sub counter
expect_fail "attach for generation $gen after a commit is refused" \
	"[Ss]tale|generation" jit attach --genid "$gen" inet filter out
[ -z "$(jit_state inet filter out prog_id)" ] &&
	ok "nothing attached after the refusal" ||
	bad "a program is attached after the refusal"
expect "attach retried at the new generation" jit attach inet filter out
new=$(jit_state inet filter out genid)
[ -n "$new" ] && [ "$new" != "$gen" ] &&
	ok "attached at generation $new" ||
	bad "generation after the retry: '$new' (was $gen)"
finish
