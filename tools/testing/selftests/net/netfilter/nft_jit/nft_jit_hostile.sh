#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The nft_jit generic netlink family fed hostile attributes (nftj_nl.py
# hostile): missing attributes, wrong lengths and types, unknown
# attributes and commands, bad families, tables, chains, generations,
# file descriptors of everything but a SCHED_CLS program, SCHED_CLS
# programs made of more than the compiler emits (EPERM), malformed and
# oversized service tables, bad handles and positions, then 600 random
# requests from a fixed seed.  Every answer is a clean error (or, for the
# good request, success); no oops (the VM fails the run on any BUG,
# WARNING or Oops); the family works as before afterwards.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

nft1 -f "$here/commit.nft" || skip "cannot load the ruleset"
h=$(rule_handle inet filter out 1)
if ip netns exec "$ns1" $NL hostile inet filter out sub "$h" \
	>"$TMP/hostile" 2>&1; then
	cat "$TMP/hostile"
	ok "$(tail -n1 "$TMP/hostile")"
else
	cat "$TMP/hostile"
	bad "$(tail -n1 "$TMP/hostile")"
fi
expect "kstatus afterwards" jit kstatus
expect "attach afterwards" jit attach inet filter out
probes "$here/verdicts.probes" >/dev/null 2>&1
runs=$(jit_state inet filter out runs)
[ "${runs:-0}" -gt 0 ] && ok "the program runs ($runs runs)" ||
	bad "the program did not run"
expect "detach afterwards" jit detach inet filter out
finish
