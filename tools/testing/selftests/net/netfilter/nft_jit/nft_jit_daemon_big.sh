#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A ruleset of 10,000 rules and a set of 100,000 elements: the daemon
# compiles the chain (or leaves it to the interpreter with a reason),
# stays responsive (a later commit to another table is attached), and the
# verdicts are right.  Prints the daemon's peak RSS (not asserted).
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"
RULES=${NFTJ_BIG_RULES:-10000}
ELEMS=${NFTJ_BIG_ELEMS:-100000}

python3 "$here/big.py" "$RULES" "$ELEMS" >"$TMP/big.nft"
daemon_start
wait_for 30 daemon_ready >/dev/null || bad "daemon not ready"
t0=$(date +%s.%N)
nft1 -f "$TMP/big.nft" || skip "cannot load $RULES rules and $ELEMS elements"
t1=$(date +%s.%N)
echo "# nft -f of $RULES rules, $ELEMS elements: $(python3 -c "print('%.1f' % ($t1 - $t0))") s"

settled() {
	local st
	st=$(status_field inet big out state)
	case $st in
	jit|partial) return 0 ;;
	interpreter) [ -n "$(status_field inet big out reason)" ] ;;
	*) return 1 ;;
	esac
}
if t=$(wait_for 240 settled); then
	ok "$RULES rules: $(status_field inet big out state) after ${t} s"
else
	bad "$RULES rules: not settled after 240 s (state '$(status_field inet big out state)')"
fi
echo "# inet big out: $(status_field inet big out state), $(status_field inet big out program.insns) insns in $(status_field inet big out program.programs) programs, compile $(status_field inet big out compile_ms) ms, reason: $(status_field inet big out reason)"
daemon_alive && ok "the daemon is alive" || bad "the daemon died: $(tail -3 "$TMP/daemon.log")"
# the supervisor and its worker (which dumps, compiles and attaches)
for p in $daemon_pid $(pgrep -P "$daemon_pid"); do
	echo "# daemon pid $p peak RSS: $(sed -n 's/^VmHWM:\s*//p' "/proc/$p/status"), now $(sed -n 's/^VmRSS:\s*//p' "/proc/$p/status")"
done

printf 'udp 10.0.1.2 9999 4000\nudp 10.0.1.2 9998 4001\nudp 10.0.1.2 9997 4002\nudp 10.0.1.2 9996 4003\n' >"$TMP/p"
v=$(probes "$TMP/p" | awk '{print $NF}' | tr '\n' ' ')
[ "$v" = "drop drop drop pass " ] && ok "verdicts: set lookup, last rule, other table, policy" ||
	bad "verdicts: $v (expected drop drop drop pass)"

# responsive: a commit to the small table is followed by a new program
old=$(jit_state ip small out prog_id)
nft1 add rule ip small out udp dport 9995 counter drop
newer() {
	local id
	id=$(jit_state ip small out prog_id)
	[ -n "$id" ] && [ "$id" != "$old" ]
}
if t=$(wait_for 120 newer); then
	ok "responsive: the small table's change attached after ${t} s"
else
	bad "the small table's change was not attached in 120 s"
fi
daemon_stop TERM
[ "$daemon_rc" = 0 ] && ok "clean exit" || bad "exit status $daemon_rc"
finish
