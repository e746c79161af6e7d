#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Services see the packet's own skb->cb: `meta sdif` and `meta sdifname`
# read the IP control block (IPCB flags and iif), which the runner's cb[]
# words overlay while the program runs.  ns2's veth is enslaved to a VRF;
# its input chain accepts by sdif/sdifname, counts the rest and drops it:
# the counters with a program equal the interpreter's.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"
modprobe -q vrf 2>/dev/null
ip -n "$ns2" link add vrf0 type vrf table 10 2>/dev/null ||
	skip "no VRF support (vrf.ko)"
ip -n "$ns2" link set vrf0 up
ip -n "$ns2" link set veth0 master vrf0 || skip "cannot enslave veth0"
ip -n "$ns2" neigh replace 10.0.1.1 lladdr "$(mac "$ns1")" dev veth0
ip -n "$ns1" neigh replace 10.0.1.2 lladdr "$(mac "$ns2")" dev veth0

nft2() {
	ip netns exec "$ns2" nft "$@"
}

ruleset() {
	nft2 flush ruleset
	nft2 -f - <<'NFT'
table ip t {
	chain in {
		type filter hook input priority 0; policy drop;
		udp dport 7001 meta sdifname "veth0" counter accept
		udp dport 7002 meta sdif "veth0" counter accept
		udp dport 7001-7002 counter
	}
}
NFT
}

# traffic, then "sdifname sdif rest" packets of the three counters
run() {
	udp_send "$ns1" 10.0.1.2 7001 3
	udp_send "$ns1" 10.0.1.2 7002 4
	echo "$(rule_counter ip t in 0 "$ns2") $(rule_counter ip t in 1 "$ns2") $(rule_counter ip t in 2 "$ns2")"
}

ruleset || skip "cannot load the ruleset"
interp=$(run)
[ "$interp" = "3 4 0" ] && ok "interpreter: counters $interp" ||
	bad "interpreter: counters $interp (want 3 4 0: is the VRF set up?)"

ruleset
ip netns exec "$ns2" "$NFT_JIT" attach ip t in >"$TMP/att" 2>&1 ||
	bad "attach: $(cat "$TMP/att")"
st() {
	ip netns exec "$ns2" "$NFT_JIT" kstatus -j | python3 -c '
import json, sys
a = json.load(sys.stdin)["attachments"]
print(a[0][sys.argv[1]] if a else "")' "$1"
}
[ "$(st nservices)" -ge 2 ] 2>/dev/null &&
	ok "sdif and sdifname are services ($(st nservices) services)" ||
	bad "services of the program: '$(st nservices)'"
jit=$(run)
[ "$jit" = "$interp" ] && ok "with a program: counters $jit" ||
	bad "with a program: counters $jit, interpreter $interp"
[ "$(st runs)" -ge 7 ] 2>/dev/null && ok "the program ran ($(st runs) runs)" ||
	bad "the program did not run: runs '$(st runs)'"
finish
