#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The nft-jit command line as a user meets it: the example rulesets
# compile, exit codes and one-line errors for bad input, JSON output.
set -uo pipefail
cd "$(dirname "$0")/../.."

JIT=${NFT_JIT:-umh/nft-jit}
NS=nftj-cli-$$
passed=0 failed=0 skipped=0

if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null; then
	echo "SKIP: needs root and nft"
	echo "0 passed, 0 failed, 1 skipped"
	exit 4
fi
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add d0 type veth peer name d1

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

# expect NAME RC [STDERR-REGEX] -- COMMAND...
expect() {
	local name=$1 want=$2 re=$3 err rc
	shift 4
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want: $err"
	elif [ -n "$re" ] && ! grep -qE "$re" <<<"$err"; then
		fail "$name: stderr '$err' does not match /$re/"
	elif [ -n "$re" ] && [ "$(wc -l <<<"$err")" -ne 1 ]; then
		fail "$name: more than one line on stderr: $err"
	else
		ok "$name"
	fi
}

# json NAME PYTHON-EXPR -- COMMAND...: the expression over `d` holds
json() {
	local name=$1 expr=$2 out
	shift 3
	if ! out=$("$@" 2>&1); then
		fail "$name: $out"
		return
	fi
	if python3 -c "import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if ($expr) else 1)" <<<"$out"; then
		ok "$name"
	else
		fail "$name: $expr does not hold for: ${out:0:400}"
	fi
}

ip netns exec "$NS" nft -f examples/server.nft
json "server.nft: every rule of both chains compiled" \
	'all(c["status"] == "jit" and c["rules"] == c["compiled"] and c["verifier"] == "ok" for c in d["compile"]) and len(d["compile"]) == 2' \
	-- "$JIT" -n "$NS" compile -j
json "kernel target loads too" \
	'all(c["verifier"] == "ok" and c["target"] == "kernel" for c in d["compile"])' \
	-- "$JIT" -n "$NS" compile -j --target kernel
json "compile -d annotates rules with nft text and IMR" \
	'any(l.startswith("; input handle") and "@blocklist" in l for l in d["compile"][0]["disassembly"]) and any(l.startswith(";   imr:") for l in d["compile"][0]["disassembly"])' \
	-- "$JIT" -n "$NS" compile -j -d -t filter -c input
# 10.10.3.4 -> 10.0.0.1 TCP SYN to port 22: the admin chain accepts it
json "eval -j: verdict, deciding rule, counters" \
	'd["eval"]["packets"][0]["verdict"] == "accept" and d["eval"]["packets"][0]["rule"]["chain"] == "admin" and d["eval"]["packets"][0]["counted"] == [d["eval"]["packets"][0]["rule"]] and {"chain": "admin", "handle": d["eval"]["packets"][0]["rule"]["handle"], "packets": 1, "bytes": 40} in d["eval"]["counters"]' \
	-- "$JIT" -n "$NS" eval -j -t filter -c input --iif d0 \
	4500002800010000400600000a0a03040a00000138940016000000000000000050020400f7b20000

ip netns exec "$NS" nft -f examples/server-ct.nft
json "server-ct.nft: ct left to the interpreter, named" \
	'd["compile"][0]["status"] == "interpreter" and d["compile"][0]["first_interpreted"]["reason"] == "ct" and d["compile"][0]["first_interpreted"]["index"] == 0' \
	-- "$JIT" -n "$NS" compile -j -t filter -c input
json "eval reports where the interpreter takes over" \
	'd["eval"]["packets"][0]["verdict"] == "resume" and d["eval"]["packets"][0]["resume"]["chain"] == "input"' \
	-- "$JIT" -n "$NS" eval -j -t filter -c input \
	4500002800010000400600000a0a03040a00000138940016000000000000000050020400f7b20000

pcap=$(mktemp)
printf 'not a pcap' >"$pcap"
expect "usage: no command" 2 "" -- "$JIT"
expect "usage: unknown command" 2 "unknown command" -- "$JIT" frobnicate
expect "usage: unknown target" 2 "unknown target" -- "$JIT" compile --target x
expect "usage: eval without packets" 2 "hex arguments or -r" -- "$JIT" -n "$NS" eval -t filter -c input
expect "usage: bad hex" 2 "not a packet in hex" -- "$JIT" -n "$NS" eval -t filter -c input 45zz
expect "unknown netns" 1 "network namespace" -- "$JIT" -n nftj-no-such-ns compile
expect "unknown table" 1 "no table" -- "$JIT" -n "$NS" eval -t nope -c input 4500
expect "unknown chain" 1 "no chain" -- "$JIT" -n "$NS" eval -t filter -c nope 4500
expect "compile: no such chain" 1 "no base chain matches" -- "$JIT" -n "$NS" compile -t filter -c nope
expect "not a pcap" 1 "unknown file format" -- "$JIT" -n "$NS" eval -t filter -c input -r "$pcap"
expect "short packet" 1 "shorter than an IPv4 header" -- "$JIT" -n "$NS" eval -t filter -c input 4500
expect "unknown interface" 1 "interface nope" -- "$JIT" -n "$NS" eval -t filter -c input --iif nope 4500
expect "broadcast without a device" 2 "broadcast needs --iif" -- "$JIT" -n "$NS" eval -t filter -c input --pkttype broadcast 4500
expect "--help" 0 "" -- "$JIT" eval --help
rm -f "$pcap"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
