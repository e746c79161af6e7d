#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The services kfunc, with hand-written programs (nftj_nl.py):
# - regs inside the packet's data are refused (6.1's verifier passes a
#   packet pointer as memory without treating the call as a packet write:
#   the kfunc would write 80 bytes into possibly shared data);
# - a program that falls back to the interpreter after counting does not
#   count twice: counters run at the end of a run that decided or resumed,
#   and are dropped on a fallback; when there are too many to defer, the
#   double count is counted (kstatus "recounts");
# - a ct expression is a service only when it loads (ct get), not when it
#   stores (ct set), told apart by the expression's ops.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

nft1 -f - <<'NFT' || skip "cannot load the ruleset"
table ip t {
	chain out {
		type filter hook output priority 0; policy accept;
		counter
		ct state new,established counter
		ct mark set 1
	}
}
NFT
h0=$(rule_handle ip t out 0)
h1=$(rule_handle ip t out 1)
h2=$(rule_handle ip t out 2)
T="ip t out"

# regs in the packet: the program counts (service 0) with its regs in the
# packet's data, then accepts
# shellcheck disable=SC2086
accepted "a program passing packet data as regs" $T svc_packet \
	--svc "out:$h0:0"
ip netns exec "$ns2" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.1.2", 7000))
s.settimeout(3)
n = 0
try:
    while n < 3:
        d = s.recv(1000)
        n += d == bytes([n]) * 200
except OSError:
    pass
print(n)' >"$TMP/recv" &
sleep 0.5
udp_send "$ns1" 10.0.1.2 7000 3 200
wait
c=$(rule_counter ip t out 0)
[ "$c" = 0 ] && ok "the kfunc refused regs inside the packet (counter 0)" ||
	bad "the kfunc ran with regs inside the packet (counter $c)"
[ "$(cat "$TMP/recv")" = 3 ] && ok "the datagrams arrived intact" ||
	bad "$(cat "$TMP/recv") of 3 datagrams arrived intact"

# a counter, then a return value the runner does not take: a fallback
# shellcheck disable=SC2086
accepted "a program falling back after counting" $T svc_stack_fallback \
	--svc "out:$h0:0"
base=$(rule_counter ip t out 0)
udp_send "$ns1" 10.0.1.2 7000 3
c=$(( $(rule_counter ip t out 0) - base ))
[ "$c" = 3 ] && ok "3 packets counted once each after fallbacks" ||
	bad "3 packets counted $c times (counted by the service, then again)"
[ "$(jit_state ip t out fallbacks)" = 3 ] && ok "3 fallbacks" ||
	bad "fallbacks: $(jit_state ip t out fallbacks)"
[ "$(jit_state ip t out recounts)" = 0 ] && ok "recounts 0" ||
	bad "recounts: '$(jit_state ip t out recounts)' (want 0)"

# shellcheck disable=SC2086
accepted "a program counting 40 times, then falling back" $T \
	svc_40_fallback --svc "out:$h0:0"
udp_send "$ns1" 10.0.1.2 7000 3
[ "$(jit_state ip t out recounts)" = 3 ] &&
	ok "kstatus shows the double counts it could not avoid: recounts 3" ||
	bad "recounts: '$(jit_state ip t out recounts)' (want 3)"

# ct get is a service, ct set is not
# shellcheck disable=SC2086
{
accepted "ct state (ct get) as a service" $T svc_stack --svc "out:$h1:0"
refused "ct mark set (ct set) as a service" "EINVAL: .*service" $T \
	svc_stack --svc "out:$h2:1"
}
finish
