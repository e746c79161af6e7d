#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Faults the daemon survives:
# - killed with SIGKILL in the middle of a compile: the interpreter keeps
#   judging (nothing half-attached), a restarted daemon resyncs;
# - the verifier rejecting a program (NFTJ_FAULT_VERIFIER, a real
#   rejection by the real verifier): that chain stays with the
#   interpreter, `nft-jit status` shows the verifier's message, the other
#   chains are compiled;
# - a hostile ruleset (jumps 16 levels deep, empty chains, a long
#   concatenation): no crash, every base chain either attached or left to
#   the interpreter with a reason, verdicts as the interpreter's.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

nft1 -f "$here/verdicts.nft" || skip "cannot load the ruleset"
probes "$here/verdicts.probes" >"$TMP/interp.out" || bad "probes (interpreter)"

# 1. SIGKILL mid-compile: the delay holds the daemon between compile and attach
nft1 flush ruleset
daemon_start NFTJ_FAULT_COMPILE_DELAY_MS=4000
wait_for 30 daemon_ready >/dev/null || bad "daemon not ready: $(tail -3 "$TMP/daemon.log")"
nft1 -f "$here/verdicts.nft"
sleep 1
daemon_stop KILL
# longer than the delay: a worker left behind would have attached by now
sleep 5
[ "$daemon_rc" = 137 ] && ok "daemon killed mid-compile" || bad "SIGKILL: exit status $daemon_rc"
n=$(jit kstatus -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("attachments", [])))')
[ "$n" = 0 ] && ok "nothing attached by the killed daemon" ||
	bad "$n attachments after SIGKILL mid-compile"
probes "$here/verdicts.probes" >"$TMP/killed.out"
cmp -s "$TMP/interp.out" "$TMP/killed.out" &&
	ok "the interpreter judges after the kill" ||
	bad "verdicts after the kill differ: $(diff "$TMP/interp.out" "$TMP/killed.out" | head -5)"
daemon_start
if t=$(wait_for 30 all_attached); then
	ok "a restarted daemon resyncs: every base chain attached (${t} s)"
else
	bad "the restarted daemon did not attach every base chain"
fi
probes "$here/verdicts.probes" >"$TMP/restart.out"
cmp -s "$TMP/interp.out" "$TMP/restart.out" && ok "verdicts after the resync" ||
	bad "verdicts after the resync differ"
daemon_stop TERM

# 2. the verifier rejects the chains named out (inet filter out, ip extra
# out); ip other in is compiled
nft1 flush ruleset
daemon_start NFTJ_FAULT_VERIFIER=out
wait_for 30 daemon_ready >/dev/null
nft1 -f - <<EOF
include "$here/verdicts.nft"
table ip other {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 9 counter drop
	}
}
EOF
other_attached() { [ -n "$(jit_state ip other in prog_id)" ]; }
wait_for 30 other_attached >/dev/null && ok "ip other in attached" ||
	bad "ip other in not attached"
rejected() {
	[ "$(status_field inet filter out state)" = interpreter ] &&
		status_field inet filter out verifier_log | grep -q .
}
if wait_for 30 rejected >/dev/null; then
	ok "status: inet filter out stays with the interpreter, with the verifier's log"
else
	bad "status after a verifier rejection: state '$(status_field inet filter out state)', reason '$(status_field inet filter out reason)'"
fi
echo "# reason: $(status_field inet filter out reason)"
[ -z "$(jit_state inet filter out prog_id)" ] &&
	ok "nothing attached to the rejected chain" ||
	bad "a program attached to the rejected chain"
grep -qi "verifier" "$TMP/daemon.log" && ok "the rejection is logged" ||
	bad "no log line about the verifier"
probes "$here/verdicts.probes" >"$TMP/rej.out"
cmp -s "$TMP/interp.out" "$TMP/rej.out" && ok "verdicts with one chain rejected" ||
	bad "verdicts with one chain rejected differ"
daemon_alive && ok "the daemon is still running" || bad "the daemon died"
daemon_stop TERM

# 3. hostile ruleset
nft1 flush ruleset
daemon_start
wait_for 30 daemon_ready >/dev/null
nft1 -f "$here/hostile.nft" || bad "loading hostile.nft"
settled() {
	local st
	for c in out in_empty; do
		st=$(status_field inet hostile "$c" state)
		case $st in
		jit|partial) ;;
		interpreter) [ -n "$(status_field inet hostile "$c" reason)" ] || return 1 ;;
		*) return 1 ;;
		esac
	done
}
if wait_for 30 settled >/dev/null; then
	ok "hostile ruleset: every base chain compiled or left with a reason"
else
	bad "hostile ruleset: out '$(status_field inet hostile out state)', in_empty '$(status_field inet hostile in_empty state)'"
fi
for c in out in_empty; do
	echo "# hostile $c: $(status_field inet hostile "$c" state) $(status_field inet hostile "$c" reason)"
done
printf 'udp 10.0.1.2 9 4000 2\nudp 10.0.1.2 10 4001\n' >"$TMP/hp"
v=$(probes "$TMP/hp")
[ "$v" = "$(printf 'udp 10.0.1.2 9 4000 drop drop\nudp 10.0.1.2 10 4001 pass')" ] &&
	ok "hostile ruleset: verdicts through 16 levels of jumps" ||
	bad "hostile ruleset verdicts: $v"
daemon_alive && ok "the daemon survived the hostile ruleset" ||
	bad "the daemon died on the hostile ruleset: $(tail -3 "$TMP/daemon.log")"
daemon_stop TERM
[ "$daemon_rc" = 0 ] && ok "clean exit" || bad "exit status $daemon_rc"
finish
