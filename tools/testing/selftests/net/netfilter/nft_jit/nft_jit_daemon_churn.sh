#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 1,000 commits in a loop while traffic flows, with the daemon recompiling
# after each: every packet is judged by the interpreter or by the program
# of its own generation, so no datagram gets a wrong verdict, and the
# rules' counters equal the datagrams sent at the end.  The commits
# alternately add and delete a rule of the base chain, a rule of a chain
# it jumps to, and elements of a set it looks up (a mix of detaching and
# non-detaching changes), through libnftables (churn_commits.py).
source "$(dirname "$0")/lib.sh"
require
/usr/bin/python3 -c 'import nftables' 2>/dev/null ||
	skip "python3-nftables not installed"
setup_ns || skip "cannot set up network namespaces"
COMMITS=${NFTJ_CHURN_COMMITS:-1000}

nft1 -f "$here/churn.nft" || skip "cannot load the ruleset"
daemon_start
wait_for 60 all_attached >/dev/null && ok "attached before the churn" ||
	bad "not attached before the churn"

ip netns exec "$ns1" python3 "$here/churn.py" "$TMP/stop" 240 "$TMP/flowing" \
	>"$TMP/traffic" &
tpid=$!
wait_for 60 test -e "$TMP/flowing" >/dev/null || bad "the traffic did not start"
t0=$(date +%s)
ok_commits=$(ip netns exec "$ns1" /usr/bin/python3 "$here/churn_commits.py" "$COMMITS" 2>"$TMP/commits.err")
t1=$(date +%s)
touch "$TMP/stop"
wait $tpid
read -r s0 s1 wrong <"$TMP/traffic"
echo "# $ok_commits commits in $((t1 - t0)) s; sent $s0 to 5000 and $s1 to 5001"
[ "$ok_commits" -ge "$COMMITS" ] && ok "$ok_commits commits" ||
	bad "only $ok_commits of $COMMITS commits went through: $(head -3 "$TMP/commits.err")"
[ "${s0:-0}" -gt 0 ] && [ "${s1:-0}" -gt 0 ] && ok "traffic flowed during the commits" ||
	bad "no traffic: $(cat "$TMP/traffic")"
[ "$wrong" = 0 ] && ok "0 wrong verdicts in $((s0 + s1)) datagrams" ||
	bad "$wrong wrong verdicts in $((s0 + s1)) datagrams"
cnt() {
	nft1 -j list chain inet churn out | python3 -c '
import json, sys
port = int(sys.argv[1])
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if not r:
        continue
    m = [e for e in r["expr"] if "match" in e]
    c = [e["counter"] for e in r["expr"] if "counter" in e]
    if c and any(e["match"]["right"] == port for e in m):
        print(c[0]["packets"])
' "$1"
}
[ "$(cnt 5000)" = "$s0" ] && ok "counter of port 5000 exact ($s0)" ||
	bad "counter of port 5000: $(cnt 5000), sent $s0"
[ "$(cnt 5001)" = "$s1" ] && ok "counter of port 5001 exact ($s1)" ||
	bad "counter of port 5001: $(cnt 5001), sent $s1"
daemon_alive && ok "the daemon is still running" || bad "the daemon died: $(tail -3 "$TMP/daemon.log")"
if t=$(wait_for 60 all_attached); then
	ok "attached again after the churn (${t} s)"
else
	bad "not attached after the churn"
fi
runs=$(jit_state inet churn out runs)
echo "# last program ran $runs packets; detaches $(jit_detaches)"
grep -c "stale" "$TMP/daemon.log" | sed 's/^/# stale attaches: /'
daemon_stop TERM
[ "$daemon_rc" = 0 ] && ok "clean exit" || bad "exit status $daemon_rc"
finish
