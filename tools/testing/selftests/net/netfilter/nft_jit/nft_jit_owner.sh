#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A table with NFT_TABLE_F_OWNER belongs to the netlink socket that made
# it: nf_tables refuses changes from any other socket.  No program can be
# attached to its chains (the owner's rules would be bypassed: here an
# accept program on a chain whose policy drops), and the daemon leaves
# them to the interpreter with the reason in `nft-jit status`.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

ip netns exec "$ns1" $NL owner ip owned out output drop "$TMP/ready" &
bg_pids=$!
wait_for 10 test -e "$TMP/ready" >/dev/null ||
	skip "cannot make an owned table: $(cat "$TMP"/*.out 2>/dev/null)"
nft1 list table ip owned | grep -q "flags owner" &&
	ok "table ip owned has the owner flag" ||
	bad "no owner flag: $(nft1 list table ip owned)"

verdict() {
	probes <(echo "udp 10.0.1.2 9 4000") | awk '{ print $NF }'
}
[ "$(verdict)" = drop ] && ok "the owner's policy drops" ||
	bad "the owner's policy does not drop: $(verdict)"

expect_fail "nft-jit attach to an owned table is refused" \
	"not permitted.*owner" jit attach ip owned out
refused "an accept program on the owner's chain" "EPERM: .*owner" \
	ip owned out accept
[ "$(verdict)" = drop ] && ok "the owner's policy still drops" ||
	bad "the owner's policy is bypassed: $(verdict)"

nft1 -f "$here/plain.nft" || bad "loading plain.nft"
daemon_start
filter_jit() {
	[ "$(status_field ip filter out state)" = jit ]
}
wait_for 30 filter_jit >/dev/null || bad "the daemon did not attach ip filter out"
st=$(status_field ip owned out state)
why=$(status_field ip owned out reason)
[ "$st" = interpreter ] && ok "the daemon leaves the owned chain: $why" ||
	bad "owned chain: state '$st', reason '$why'"
echo "$why" | grep -q owner && ok "its reason names the owner" ||
	bad "its reason: '$why'"
[ "$(status_field ip filter out state)" = jit ] &&
	ok "the daemon attaches the other table's chain" ||
	bad "other chain: $(status_field ip filter out state)"
daemon_stop
[ -z "$(jit_state ip owned out prog_id)" ] &&
	ok "nothing attached to the owned chain" ||
	bad "a program is attached to the owned chain"

kill "$bg_pids"
wait "$bg_pids" 2>/dev/null
bg_pids=
wait_for 5 sh -c "! ip netns exec $ns1 nft list table ip owned 2>/dev/null" \
	>/dev/null && ok "the table went with its owner's socket" ||
	bad "the owned table outlived its socket"
finish
