#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Set and map contents changed while the program runs take effect at once:
# element add and delete, interval sets, element timeouts, verdict maps.
# None of these changes detaches the program.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

nft1 -f "$here/sets.nft" || skip "cannot load the ruleset"
expect "attach" jit attach inet filter out
prog=$(jit_state inet filter out prog_id)

verdict_is() {	# WHAT EXPECTED PROBE...
	local what=$1 want=$2 got
	shift 2
	echo "$*" >"$TMP/probe"
	got=$(probes "$TMP/probe" | awk '{print $NF}')
	[ "$got" = "$want" ] && ok "$what: $want" ||
		bad "$what: expected $want, got '$got'"
}

verdict_is "empty sets" pass udp 10.0.1.2 53 4000
nft1 add element inet filter blocked '{ 10.0.1.2 }'
verdict_is "element added" drop udp 10.0.1.2 53 4000
verdict_is "other address" pass udp 10.0.1.200 53 4000
nft1 delete element inet filter blocked '{ 10.0.1.2 }'
verdict_is "element deleted" pass udp 10.0.1.2 53 4000

nft1 add element inet filter ports '{ 6000-6999 }'
verdict_is "interval added" drop udp 10.0.1.2 6500 4000
verdict_is "outside the interval" pass udp 10.0.1.2 7000 4000

nft1 add element inet filter blocked '{ 10.0.1.200 timeout 8s }'
verdict_is "element with timeout" drop udp 10.0.1.200 53 4000
sleep 9
verdict_is "element timed out" pass udp 10.0.1.200 53 4000

nft1 add element inet filter action '{ 8000 : drop, 8001 : accept }'
verdict_is "verdict map drop" drop udp 10.0.1.2 8000 4000
verdict_is "verdict map accept" pass udp 10.0.1.2 8001 4000
nft1 add element inet filter action '{ 8002 : drop }'
verdict_is "verdict map element added" drop udp 10.0.1.2 8002 4000

[ "$(jit_state inet filter out prog_id)" = "$prog" ] &&
	ok "program $prog still attached after the element changes" ||
	bad "the program changed or was detached by element changes"
runs=$(jit_state inet filter out runs)
[ -n "$runs" ] && [ "$runs" -gt 0 ] && ok "program ran $runs times" ||
	bad "program did not run"
finish
