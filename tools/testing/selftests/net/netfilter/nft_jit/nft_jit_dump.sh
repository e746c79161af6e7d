#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The GET dump resumes after the last attachment it sent, by a key that
# does not move: a program detached between two messages of a dump makes
# the rest of the dump neither repeat nor miss an attachment.  500 chains
# with a program: the dump takes several messages.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

n=500
{
	echo "table ip t {"
	for i in $(seq 0 $((n - 1))); do
		echo "chain c$i { type filter hook output priority $i; }"
	done
	echo "}"
} >"$TMP/many.nft"
nft1 -f "$TMP/many.nft" || skip "cannot load $n chains"
ip netns exec "$ns1" $NL attach-many ip t $n >"$TMP/out" 2>&1 &&
	ok "$(cat "$TMP/out")" || bad "attaching: $(cat "$TMP/out")"
[ "$(jit kstatus -j | python3 -c '
import json, sys
print(len(json.load(sys.stdin)["attachments"]))')" = $n ] &&
	ok "kstatus lists $n attachments" || bad "kstatus does not list $n"
if ip netns exec "$ns1" $NL dump-race ip t $n >"$TMP/out" 2>&1; then
	ok "$(cat "$TMP/out")"
else
	bad "$(cat "$TMP/out")"
fi
finish
