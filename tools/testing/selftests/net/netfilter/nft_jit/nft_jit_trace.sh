#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nftrace is per packet: a packet the interpreter would trace (its
# nf_trace set when it enters the chain) takes the interpreter, every
# other packet the program.  Before, the tracing static key (on as soon as
# any namespace has a `meta nftrace set` rule) sent every packet of every
# namespace to the interpreter: the root of any user namespace could turn
# the JIT off host-wide.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

# another namespace turns nf_tables' tracing on
ip netns exec "$ns2" nft -f - <<'NFT' || skip "cannot load ns2's ruleset"
table ip tr {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		meta nftrace set 1
	}
}
NFT
nft1 -f - <<'NFT' || skip "cannot load the ruleset"
table ip t {
	chain tag {
		type filter hook output priority -10; policy accept;
		ip daddr 10.0.1.200 meta nftrace set 1
	}
	chain out {
		type filter hook output priority 0; policy accept;
		udp dport 9 counter drop
		udp dport 10 counter accept
	}
}
NFT
expect "attach" jit attach ip t out

probes <(echo "udp 10.0.1.2 10 4000 5") >/dev/null
runs=$(jit_state ip t out runs)
[ "$runs" = 5 ] && ok "untraced packets run the program (5 runs)" ||
	bad "untraced packets: $runs runs of 5 (the trace key bypasses the JIT)"

ip netns exec "$ns1" timeout 10 nft monitor trace >"$TMP/trace" 2>&1 &
mon=$!
sleep 1
probes <(echo "udp 10.0.1.200 10 4000 3") >/dev/null
sleep 1
kill "$mon" 2>/dev/null
wait "$mon" 2>/dev/null
[ "$(jit_state ip t out runs)" = "$runs" ] &&
	ok "traced packets take the interpreter" ||
	bad "traced packets ran the program: runs $(jit_state ip t out runs)"
n=$(grep -c "ip t out rule udp dport 10 counter .*accept" "$TMP/trace")
[ "$n" = 3 ] && ok "the interpreter traced them: 3 rule events" ||
	bad "$n rule events of chain out for 3 traced packets: $(head -c 400 "$TMP/trace")"
[ "$(rule_counter ip t out 1)" = 8 ] && ok "counter 8" ||
	bad "counter $(rule_counter ip t out 1) (want 8)"
finish
