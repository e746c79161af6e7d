#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A long chain: several programs chained by tail calls, thousands of
# services (counters) sent in several netlink attributes.  The later
# programs keep running after the helper exits (the kernel part holds the
# program array): packets matching the last rules get their verdict from
# the program, without a resume, and counters stay exact.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

n=3000
{
	echo "table ip long {"
	echo "  chain out {"
	echo "    type filter hook output priority 0; policy accept;"
	echo "    oifname \"lo\" accept"
	for i in $(seq 0 $((n - 1))); do
		echo "    udp dport $((10000 + i)) counter drop"
	done
	echo "  }"
	echo "}"
} >"$TMP/long.nft"
{
	echo "udp 10.0.1.2 10000 4000 2"
	echo "udp 10.0.1.2 $((10000 + n / 2)) 4000 2"
	echo "udp 10.0.1.2 $((10000 + n - 1)) 4000 3"
} >"$TMP/long.probes"

same_as_interpreter "$n rules" "$TMP/long.nft" "$TMP/long.probes"
svc=$(jit_state ip long out nservices)
# one counter per rule, and oifname "lo"
[ "$svc" = $((n + 1)) ] && ok "$svc services" ||
	bad "services: '$svc', expected $((n + 1))"
res=$(jit_state ip long out resumes)
fb=$(jit_state ip long out fallbacks)
runs=$(jit_state ip long out runs)
[ -n "$runs" ] && [ "$runs" -ge 7 ] && ok "program ran $runs times" ||
	bad "program runs: '$runs'"
[ "$res" = 0 ] && [ "$fb" = 0 ] &&
	ok "no resume, no fallback: the tail-called programs ran" ||
	bad "resumes '$res', fallbacks '$fb' (tail-call targets gone?)"
finish
