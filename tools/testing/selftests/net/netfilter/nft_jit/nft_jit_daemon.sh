#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The transparent path: with `nft-jit daemon` running, a ruleset loaded
# with plain `nft -f` gets every base chain compiled and attached without
# anyone calling nft-jit; traffic gets the same verdicts and the rules the
# same counters as with the interpreter alone; a rule change is followed
# by a new program; SIGTERM ends the daemon with status 0 and leaves the
# generation-bound programs attached.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

# the interpreter alone
nft1 -f "$here/verdicts.nft" || skip "cannot load the ruleset"
probes "$here/verdicts.probes" >"$TMP/interp.out" || bad "probes (interpreter)"
counters >"$TMP/interp.cnt"
nft1 flush ruleset

daemon_start
wait_for 30 daemon_ready >/dev/null
if daemon_alive; then
	ok "daemon started"
else
	bad "daemon exited: $(tail -5 "$TMP/daemon.log")"
	finish
fi

nft1 -f "$here/verdicts.nft" || bad "loading the ruleset with the daemon running"
if t=$(wait_for 30 all_attached); then
	ok "every base chain attached by the daemon, ${t} s after nft -f returned"
else
	bad "not every base chain attached after 30 s: $(jit kstatus 2>&1 | head -5)"
fi
echo "# latency from nft -f to all attached: ${t:-never} s (TCG, not asserted)"

probes "$here/verdicts.probes" >"$TMP/jit.out" || bad "probes (daemon)"
counters >"$TMP/jit.cnt"
if cmp -s "$TMP/interp.out" "$TMP/jit.out"; then
	ok "verdicts identical with the daemon ($(wc -l <"$TMP/jit.out") probes)"
else
	bad "verdicts differ, interpreter vs daemon:"
	diff "$TMP/interp.out" "$TMP/jit.out" | head -20
fi
if [ -s "$TMP/interp.cnt" ] && cmp -s "$TMP/interp.cnt" "$TMP/jit.cnt"; then
	ok "nft list ruleset counters identical ($(wc -l <"$TMP/jit.cnt") rules)"
else
	bad "counters differ, interpreter vs daemon:"
	diff "$TMP/interp.cnt" "$TMP/jit.cnt" | head -20
fi
runs=$(jit_state inet filter out runs)
[ "${runs:-0}" -gt 0 ] && ok "the program ran ($runs packets)" ||
	bad "inet filter out: the program never ran (runs=${runs:-none})"

# status reads the daemon's state and the kernel's
st=$(status_field inet filter out state)
case $st in
jit|partial) ok "status: inet filter out is $st" ;;
*) bad "status: inet filter out is '$st'" ;;
esac
[ "$(status_field inet filter out program.id)" = "$(jit_state inet filter out prog_id)" ] &&
	ok "status and kstatus agree on the program id" ||
	bad "status program id $(status_field inet filter out program.id) vs kstatus $(jit_state inet filter out prog_id)"

# a change: the kernel detaches, the daemon compiles the new generation
old=$(jit_state inet filter out prog_id)
nft1 insert rule inet filter out udp dport 5353 counter drop
echo "udp 10.0.1.2 5353 4300" >"$TMP/p5353"
[ "$(probes "$TMP/p5353")" = "udp 10.0.1.2 5353 4300 drop" ] &&
	ok "the new rule judges the next packet" ||
	bad "the new rule: $(probes "$TMP/p5353")"
newer() {
	local id
	id=$(jit_state inet filter out prog_id)
	[ -n "$id" ] && [ "$id" != "$old" ]
}
if t=$(wait_for 30 newer); then
	ok "a new program after the rule change (${t} s)"
else
	bad "no new program after the rule change"
fi
[ "$(probes "$TMP/p5353")" = "udp 10.0.1.2 5353 4300 drop" ] &&
	ok "the new program drops it too" ||
	bad "the new program: $(probes "$TMP/p5353")"

# SIGTERM: exit 0, programs stay
prog=$(jit_state inet filter out prog_id)
daemon_stop TERM
[ "$daemon_rc" = 0 ] && ok "SIGTERM: exit status 0" || bad "SIGTERM: exit status $daemon_rc"
[ "$(jit_state inet filter out prog_id)" = "$prog" ] &&
	ok "the program stays attached after the daemon exits" ||
	bad "the program went away with the daemon"
[ -z "$(ls "$TMP/state")" ] && ok "the daemon removed its state file" ||
	bad "state files left: $(ls "$TMP/state")"
st=$(status_field inet filter out state)
[ -n "$st" ] && ok "status without the daemon: inet filter out is $st" ||
	bad "status without the daemon has no inet filter out"
grep -E "BUG|ERROR|assert" "$TMP/daemon.log" && bad "daemon log has errors"
finish
