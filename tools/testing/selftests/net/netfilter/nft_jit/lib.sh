#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared by the nft_jit selftests: kselftest exit codes, one network
# namespace pair per test joined by veth, the nft-jit helper, the kernel
# part's state, and probes whose verdicts are compared.
#
#   ns1 (10.0.1.1, 10.0.2.1, dead:1::1) --veth-- ns2 (10.0.1.2, 10.0.1.200,
#                                                      dead:1::2)
#
# Rulesets under test sit on ns1's output hook: a dropped packet makes
# sendto()/connect() fail with EPERM there, so every probe has a verdict.

ksft_pass=0
ksft_fail=1
ksft_skip=4

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../../../../.." && pwd)
NFT_JIT=${NFT_JIT:-$top/umh/nft-jit}
PROBE="python3 $here/probe.py"
NL="python3 $here/nftj_nl.py"

rnd=$(mktemp -u XXXXXXXX)
ns1="nftj1-$rnd"
ns2="nftj2-$rnd"
TMP=$(mktemp -d)
failures=0
checks=0

# background processes of a test, killed on exit
bg_pids=

cleanup() {
	[ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
	# shellcheck disable=SC2086
	[ -n "$bg_pids" ] && kill $bg_pids 2>/dev/null
	ip netns del "$ns1" 2>/dev/null
	ip netns del "$ns2" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit $ksft_skip
}

# ok/bad: record one check
ok() {
	checks=$((checks + 1))
	echo "PASS: $*"
}

bad() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*"
}

# expect DESCRIPTION CMD...: CMD must succeed
expect() {
	local what=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then
		ok "$what"
	else
		bad "$what: $(head -c 600 "$TMP/out")"
	fi
}

# expect_fail DESCRIPTION PATTERN CMD...: CMD must fail, printing PATTERN
expect_fail() {
	local what=$1 pat=$2
	shift 2
	if "$@" >"$TMP/out" 2>&1; then
		bad "$what: succeeded: $(head -c 300 "$TMP/out")"
	elif grep -qE "$pat" "$TMP/out"; then
		ok "$what"
	else
		bad "$what: no /$pat/ in: $(head -c 300 "$TMP/out")"
	fi
}

finish() {
	if [ "$checks" -eq 0 ]; then
		echo "FAIL: no checks ran"
		exit $ksft_fail
	fi
	echo "$((checks - failures)) of $checks checks passed"
	[ "$failures" -eq 0 ] && exit $ksft_pass
	exit $ksft_fail
}

require() {
	[ "$(id -u)" -eq 0 ] || skip "must run as root"
	command -v nft >/dev/null || skip "nft not installed"
	command -v ip >/dev/null || skip "ip (iproute2) not installed"
	command -v python3 >/dev/null || skip "python3 not installed"
	[ -x "$NFT_JIT" ] || skip "$NFT_JIT not built (make)"
	modprobe -q nf_tables 2>/dev/null
	modprobe -q veth 2>/dev/null
	[ -d /sys/module/nf_tables ] || skip "nf_tables not loaded"
	jit_kernel_part ||
		skip "kernel part not loaded (nf_tables without nft_jit genetlink family)"
}

# the kernel part is there: the generic netlink family exists
jit_kernel_part() {
	grep -q . /sys/kernel/btf/nf_tables 2>/dev/null &&
		$NFT_JIT kstatus >/dev/null 2>&1
}

setup_ns() {
	ip netns add "$ns1" || return 1
	ip netns add "$ns2" || return 1
	ip -n "$ns1" link add veth0 type veth peer name veth0 netns "$ns2" ||
		return 1
	ip -n "$ns1" addr add 10.0.1.1/24 dev veth0
	ip -n "$ns1" addr add 10.0.2.1/24 dev veth0
	ip -n "$ns1" -6 addr add dead:1::1/64 dev veth0 nodad
	ip -n "$ns2" addr add 10.0.1.2/24 dev veth0
	ip -n "$ns2" addr add 10.0.1.200/24 dev veth0
	ip -n "$ns2" -6 addr add dead:1::2/64 dev veth0 nodad
	ip -n "$ns1" link set lo up
	ip -n "$ns2" link set lo up
	ip -n "$ns1" link set veth0 up
	ip -n "$ns2" link set veth0 up
	# neighbours up front: no ARP/ND traffic through the hooks under test
	ip -n "$ns1" neigh add 10.0.1.2 lladdr "$(mac "$ns2")" dev veth0
	ip -n "$ns1" neigh add 10.0.1.200 lladdr "$(mac "$ns2")" dev veth0
	ip -n "$ns1" -6 neigh add dead:1::2 lladdr "$(mac "$ns2")" dev veth0
	ip -n "$ns2" neigh add 10.0.1.1 lladdr "$(mac "$ns1")" dev veth0
	ip -n "$ns2" neigh add 10.0.2.1 lladdr "$(mac "$ns1")" dev veth0
	ip -n "$ns2" -6 neigh add dead:1::1 lladdr "$(mac "$ns1")" dev veth0
}

mac() {
	ip -n "$1" -o link show veth0 | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/'
}

nft1() {
	ip netns exec "$ns1" nft "$@"
}

jit() {
	ip netns exec "$ns1" "$NFT_JIT" "$@"
}

# jit_state FAMILY TABLE CHAIN KEY: a field of the chain's attachment from
# `nft-jit kstatus -j`, empty when no program is attached
jit_state() {
	jit kstatus -j | python3 -c '
import json, sys
fam, table, chain, key = sys.argv[1:]
doc = json.load(sys.stdin)
for a in doc.get("attachments", []):
    if a["family"] == fam and a["table"] == table and a["chain"] == chain:
        print(a.get(key, ""))
' "$@"
}

jit_detaches() {
	jit kstatus -j | python3 -c '
import json, sys
print(json.load(sys.stdin).get("detaches", 0))'
}

# counters: "handle packets bytes" of every rule with a counter, by
# position (chain, index), from `nft -j list ruleset`
counters() {
	nft1 -j list ruleset | python3 -c '
import json, sys
pos = {}
for o in json.load(sys.stdin)["nftables"]:
    r = o.get("rule")
    if not r:
        continue
    key = (r["family"], r["table"], r["chain"])
    pos[key] = pos.get(key, -1) + 1
    for e in r["expr"]:
        if "counter" in e:
            c = e["counter"]
            print(r["family"], r["table"], r["chain"], pos[key],
                  c["packets"], c["bytes"])
'
}

# probes FILE: send the probes (see probe.py) from ns1, print verdicts
probes() {
	ip netns exec "$ns1" $PROBE "$1"
}

# attach_all: attach a program to every base chain of ns1's ruleset
attach_all() {
	local fam table chain rc=0
	while read -r fam table chain; do
		jit attach "$fam" "$table" "$chain" >"$TMP/attach.out" 2>&1 || {
			echo "attach $fam $table $chain failed:"
			cat "$TMP/attach.out"
			rc=1
		}
	done < <(nft1 -j list chains | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    c = o.get("chain")
    if c and "hook" in c:
        print(c["family"], c["table"], c["name"])')
	return $rc
}

# same_as_interpreter NAME RULESET PROBES: the probes' verdicts and the
# rules' counters with programs attached to every base chain equal those
# of the interpreter alone (fresh ruleset each time)
same_as_interpreter() {
	local name=$1 rules=$2 probefile=$3

	nft1 flush ruleset
	nft1 -f "$rules" || { bad "$name: loading $rules"; return; }
	probes "$probefile" >"$TMP/interp.out" || { bad "$name: probes"; return; }
	counters >"$TMP/interp.cnt"

	nft1 flush ruleset
	nft1 -f "$rules" || { bad "$name: loading $rules"; return; }
	if ! attach_all >"$TMP/att.log" 2>&1; then
		bad "$name: attach: $(cat "$TMP/att.log")"
		return
	fi
	probes "$probefile" >"$TMP/jit.out" || { bad "$name: probes"; return; }
	counters >"$TMP/jit.cnt"

	if cmp -s "$TMP/interp.out" "$TMP/jit.out"; then
		ok "$name: verdicts ($(wc -l <"$TMP/jit.out") probes)"
	else
		bad "$name: verdicts differ (interpreter vs program):"
		diff "$TMP/interp.out" "$TMP/jit.out" | head -20
	fi
	if [ -s "$TMP/interp.cnt" ] && cmp -s "$TMP/interp.cnt" "$TMP/jit.cnt"; then
		ok "$name: counters ($(wc -l <"$TMP/jit.cnt") rules)"
	else
		bad "$name: counters differ (interpreter vs program):"
		diff "$TMP/interp.cnt" "$TMP/jit.cnt" | head -20
	fi
}

# The daemon (nft-jit daemon) in ns1, in the foreground, its log in
# $TMP/daemon.log and its state in $TMP/state.  daemon_start [ENV=VAL...]
daemon_pid=
daemon_start() {
	mkdir -p "$TMP/state"
	ip netns exec "$ns1" env NFTJ_STATE_DIR="$TMP/state" "$@" \
		"$NFT_JIT" daemon --foreground >>"$TMP/daemon.log" 2>&1 &
	daemon_pid=$!
}

# daemon_stop [SIGNAL]: stop the daemon; its exit status in daemon_rc
# (not in a subshell: only this shell can wait for it)
daemon_rc=
daemon_stop() {
	local sig=${1:-TERM}
	[ -n "$daemon_pid" ] || return 0
	kill -s "$sig" "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_rc=$?
	daemon_pid=
}

# daemon_ready: the daemon wrote its first state file (first sync done)
daemon_ready() {
	compgen -G "$TMP/state/netns-*.json" >/dev/null
}

daemon_alive() {
	[ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null
}

# base_chains: "family table chain" of every base chain in ns1
base_chains() {
	nft1 -j list chains | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    c = o.get("chain")
    if c and "hook" in c:
        print(c["family"], c["table"], c["name"])'
}

# all_attached: every base chain of ns1 has a program at the current
# generation or one the kernel kept (no commit changed its chains)
all_attached() {
	local n want
	want=$(base_chains | sort)
	n=$(jit kstatus -j 2>/dev/null | python3 -c '
import json, sys
for a in json.load(sys.stdin).get("attachments", []):
    print(a["family"], a["table"], a["chain"])' | sort)
	[ -n "$want" ] && [ "$want" = "$n" ]
}

# wait_for SECONDS CMD...: poll CMD every 50 ms, bounded; prints the
# seconds it took; fails when it never succeeded
wait_for() {
	local limit=$1 t0 t
	shift
	t0=$(date +%s.%N)
	while :; do
		if "$@"; then
			t=$(date +%s.%N)
			python3 -c "print('%.3f' % ($t - $t0))"
			return 0
		fi
		t=$(date +%s.%N)
		python3 -c "import sys; sys.exit($t - $t0 < $limit)" && return 1
		sleep 0.05
	done
}

# status_field FAMILY TABLE CHAIN KEY: a key of the chain in
# `nft-jit status -j`
status_field() {
	NFTJ_STATE_DIR="$TMP/state" ip netns exec "$ns1" "$NFT_JIT" status -j |
		python3 -c '
import json, sys
fam, table, chain, key = sys.argv[1:]
for c in json.load(sys.stdin)["chains"]:
    if (c["family"], c["table"], c["chain"]) == (fam, table, chain):
        v = c
        for k in key.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        print("" if v is None else v)
' "$@"
}

# rule_handle FAMILY TABLE CHAIN POS: the handle of the chain's rule at
# position POS (0-based) in ns1
rule_handle() {
	nft1 -j list ruleset | python3 -c '
import json, sys
fam, table, chain, pos = sys.argv[1:]
rules = [o["rule"] for o in json.load(sys.stdin)["nftables"]
         if "rule" in o and (o["rule"]["family"], o["rule"]["table"],
                             o["rule"]["chain"]) == (fam, table, chain)]
print(rules[int(pos)]["handle"])' "$@"
}

# nl_attach FAMILY TABLE CHAIN PROG [ARG...]: nftj_nl.py attach in ns1,
# its answer ("ok", "error ERRNO: message") in $TMP/nl.out
nl_attach() {
	ip netns exec "$ns1" $NL attach "$@" >"$TMP/nl.out" 2>&1
}

# refused WHAT PATTERN FAMILY TABLE CHAIN PROG [ARG...]: the attach of
# PROG is refused with an error matching PATTERN; when it was not, the
# program is detached at once (it may be one that crashes the kernel)
refused() {
	local what=$1 pat=$2
	shift 2
	nl_attach "$@"
	if grep -q "^ok" "$TMP/nl.out"; then
		jit detach "$1" "$2" "$3" >/dev/null 2>&1
		bad "$what: attached"
	elif grep -qE "^error $pat" "$TMP/nl.out"; then
		ok "$what: $(head -n1 "$TMP/nl.out")"
	else
		bad "$what: $(head -c 300 "$TMP/nl.out")"
	fi
}

# accepted WHAT FAMILY TABLE CHAIN PROG [ARG...]: the attach works
accepted() {
	local what=$1
	shift
	nl_attach "$@"
	if grep -q "^ok" "$TMP/nl.out"; then
		ok "$what"
	else
		bad "$what: $(head -c 300 "$TMP/nl.out")"
	fi
}

# jit_ns_field KEY: a namespace-wide field of `nft-jit kstatus -j` in ns1
# (detaches, destroyed), empty when not reported
jit_ns_field() {
	jit kstatus -j | python3 -c '
import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else v)' "$1"
}

# rule_counter FAMILY TABLE CHAIN POS [NS]: packets of the counter of the
# chain's rule at position POS
rule_counter() {
	ip netns exec "${5:-$ns1}" nft -j list ruleset | python3 -c '
import json, sys
fam, table, chain, pos = sys.argv[1:]
rules = [o["rule"] for o in json.load(sys.stdin)["nftables"]
         if "rule" in o and (o["rule"]["family"], o["rule"]["table"],
                             o["rule"]["chain"]) == (fam, table, chain)]
for e in rules[int(pos)]["expr"]:
    if "counter" in e:
        print(e["counter"]["packets"])
        break' "$1" "$2" "$3" "$4"
}

# udp_send NS DST DPORT COUNT [SIZE]: COUNT datagrams of SIZE bytes
udp_send() {
	ip netns exec "$1" python3 -c '
import socket, sys
dst, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    try:
        s.sendto(bytes([i & 0xff]) * size, (dst, port))
    except OSError:
        pass' "$2" "$3" "$4" "${5:-32}"
}
