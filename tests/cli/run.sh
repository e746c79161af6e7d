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

source "$(dirname "$0")/lib.sh"

ip netns exec "$NS" nft -f examples/server.nft
json "server.nft: every rule of both chains compiled" \
	'all(c["status"] == "jit" and c["rules"] == c["compiled"] and c["verifier"] == "ok" for c in d["compile"]) and len(d["compile"]) == 2' \
	-- "$JIT" -n "$NS" compile -j
# kernel target: sets, counters and skuid are services of the kernel part
expect "kernel target: services need the kernel part" 1 \
	"^nft-jit: kernel part not loaded: nf_tables has no nftj_svc_eval kfunc" \
	-- "$JIT" -n "$NS" compile --target kernel
json "kernel target --no-load: every rule compiled, services named" \
	'all(c["status"] == "jit" and c["verifier"] == "not run" and c["target"] == "kernel" for c in d["compile"]) and {"chain": "input", "position": 3, "kind": "lookup", "expr": "lookup reg 1 set blocklist 0x0"}.items() <= d["compile"][0]["services"][0].items() and any(s["kind"] == "meta" and s["expr"] == "meta load skuid => reg 1" for s in d["compile"][1]["services"])' \
	-- "$JIT" -n "$NS" compile -j --target kernel --no-load
json "kernel target -d: the service table and the kfunc calls" \
	'any(l.startswith("; svc 0: input handle ") and l.endswith("#3: lookup reg 1 set blocklist 0x0") for l in d["compile"][0]["disassembly"]) and any("call kfunc#0" in l and "nftj_svc_eval(svc 0:" in l for l in d["compile"][0]["disassembly"]) and any(l.endswith("; resume at rule #10") for l in d["compile"][0]["disassembly"])' \
	-- "$JIT" -n "$NS" compile -j -d --target kernel --no-load -t filter -c input
ip netns exec "$NS" nft add table ip plain
ip netns exec "$NS" nft add chain ip plain c '{ type filter hook input priority 0; policy drop; }'
ip netns exec "$NS" nft add rule ip plain c tcp dport 22 accept
json "kernel target: a chain without services loads here" \
	'd["compile"][0]["verifier"] == "ok" and d["compile"][0]["services"] == [] and d["compile"][0]["status"] == "jit"' \
	-- "$JIT" -n "$NS" compile -j --target kernel -t plain
json "compile --dump-imr: the IMR after the stages named, the cut in it" \
	'list(d["compile"][0]["imr"]) == ["build", "prune"] and d["compile"][0]["imr"]["build"][0] == "table inet filter" and any(l.startswith("svc 0: input rule id ") for l in d["compile"][0]["imr"]["prune"])' \
	-- "$JIT" -n "$NS" compile -j --dump-imr prune,build --target kernel --no-load -t filter -c input
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
json "kernel target: ct is a service" \
	'd["compile"][0]["status"] == "jit" and d["compile"][0]["services"][0]["expr"] == "ct load state => reg 1" and d["compile"][0]["services"][0]["kind"] == "ct"' \
	-- "$JIT" -n "$NS" compile -j --target kernel --no-load -t filter -c input
json "eval reports where the interpreter takes over" \
	'd["eval"]["packets"][0]["verdict"] == "resume" and d["eval"]["packets"][0]["resume"]["chain"] == "input"' \
	-- "$JIT" -n "$NS" eval -j -t filter -c input \
	4500002800010000400600000a0a03040a00000138940016000000000000000050020400f7b20000

# the link target: the whole chain or nothing; attach never runs silently
# next to an active table
json "link target: a chain with ct is refused whole, the rule named" \
	'd["compile"][0]["status"] == "interpreter" and d["compile"][0]["target"] == "link" and "link target" in d["compile"][0]["reason"] and "(ct)" in d["compile"][0]["reason"]' \
	-- "$JIT" -n "$NS" compile -j --target link -t filter -c input
expect "attach: the link target refuses the chain" 1 "link target: rule" -- "$JIT" -n "$NS" attach --link -t filter -c input
ip netns exec "$NS" nft -f - <<'EOF'
table ip lnk {
	chain c {
		type filter hook output priority 0; policy accept;
		udp dport 53 counter drop
	}
}
EOF
expect "attach: refuses an active table" 1 "is active.*--set-dormant" -- "$JIT" -n "$NS" attach --link -t lnk -c c
out=$("$JIT" -n "$NS" attach --link -t lnk -c c --set-dormant --timeout 1 -j 2>&1)
if python3 -c '
import json, sys
a, d = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert a["attached"]["set_dormant"] and a["attached"]["links"][0]["id"] > 0
assert d["detached"]["reason"] == "timeout" and d["detached"]["unhandled"] == 0
' <<<"$out" && ! ip netns exec "$NS" nft list table ip lnk | grep -q dormant; then
	ok "attach --set-dormant: attached, detached on timeout, table woken"
else
	fail "attach --set-dormant: $out"
fi
expect "usage: bench without packets" 2 "are required" -- "$JIT" bench -t lnk -c c
expect "attach --link --help" 0 "" -- "$JIT" attach --link --help
expect "bench --help" 0 "" -- "$JIT" bench --help


# the optimizer: what each pass removed, the lint, the switches, the boxes
ip netns exec "$NS" nft -f tests/rulesets/071-opt-dead-shadow.nft
json "compile -j: the optimizer's report and lint" \
	'[p["name"] for p in d["compile"][0]["optimizer"]["passes"]][:3] == ["dead", "shadow", "fuse"] and {"pass": "shadow", "chain": "c", "handle": 4, "by": 3, "text": "chain c: rule handle 4 can never match: rule handle 3 catches all its packets"} in d["compile"][0]["optimizer"]["lint"] and any(n["pass"] == "dead" and n["handle"] == 6 for n in d["compile"][0]["optimizer"]["lint"]) and not any(n["handle"] in (5, 7) for n in d["compile"][0]["optimizer"]["lint"]) and d["compile"][0]["compiled"] == d["compile"][0]["rules"] == 20' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t
if "$JIT" -n "$NS" compile --no-load -t t | grep -qx "    chain c: rule handle 4 can never match: rule handle 3 catches all its packets"; then
	ok "compile: the lint in the text report"
else
	fail "compile: the lint in the text report"
fi
json "compile --no-opt=all: every pass off, nothing removed" \
	'all(not p["ran"] and p["rules_removed"] == 0 for p in d["compile"][0]["optimizer"]["passes"]) and d["compile"][0]["optimizer"]["lint"] == []' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t --no-opt=all
json "compile --no-opt=shadow: the other passes run" \
	'{p["name"]: p["ran"] for p in d["compile"][0]["optimizer"]["passes"]}.items() >= {"dead": True, "shadow": False, "fuse": True}.items() and not any(n["pass"] == "shadow" for n in d["compile"][0]["optimizer"]["lint"])' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t --no-opt=shadow
json "compile --predicates: a rule's box" \
	'{"handle": 3, "exact": True, "empty": False}.items() <= d["compile"][0]["predicates"][0]["rules"][0].items() and any(t["field"].get("base") == "nh" and t["field"]["offset"] == 12 and t["intervals"] == [["0x0a000000", "0x0affffff"]] for t in d["compile"][0]["predicates"][0]["rules"][0]["terms"]) and d["compile"][0]["predicates"][0]["chain"] == "c"' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t --predicates --no-opt=all
json "kernel target: the services of removed rules go with them" \
	'd["compile"][0]["status"] == "jit" and d["compile"][0]["compiled"] == 20 and len(d["compile"][0]["optimizer"]["lint"]) >= 9' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t --target kernel
ip netns exec "$NS" nft delete table inet t
# the tree pass: a 200-rule ACL as separable decision trees, and its report
ip netns exec "$NS" nft -f tests/rulesets/073-tree-acl.nft
json "compile -j: the tree pass's runs, trees, depth and leaves" \
	'[p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0].items() >= {"ran": True, "runs": 1, "run_rules": 200, "tree_rules": 200}.items() and all(1 <= [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0][k] for k in ("forests", "trees", "depth", "max_leaf")) and [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0]["leaf_rules"] >= 200' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t
json "compile --no-opt=tree: no trees" \
	'[p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0].items() >= {"ran": False, "runs": 0, "trees": 0, "depth": 0}.items()' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t --no-opt=tree
if "$JIT" -n "$NS" compile --no-load -t t |
	grep -Eq "tree 1 run of 200 rules: [0-9]+ trees? \(200 rules\), depth [0-9]+, [0-9]+ leaves of <= [0-9]+(, lookup|$)"; then
	ok "compile: the trees in the text report"
else
	fail "compile: the trees in the text report"
fi
ip netns exec "$NS" nft delete table ip t
# the lookup pass: runs of (daddr, udp dport) pairs as hash map lookups,
# the first rule of a repeated key in the map (shadow off keeps it)
ip netns exec "$NS" nft -f tests/rulesets/085-lookup-pairs.nft
for target in test link; do
	json "compile --target $target -j: the lookup pass's runs, maps and elements" \
		'[p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "lookup"][0].items() >= {"ran": True, "runs": 2, "run_rules": 47, "maps": 2, "map_rules": 47, "elements": 43, "lpm_maps": 1}.items() and d["compile"][0]["verifier"] == "ok"' \
		-- "$JIT" -n "$NS" compile -j -t t --target $target --no-opt=shadow
done
json "compile --no-opt=lookup: no maps, the run stays trees" \
	'[p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "lookup"][0].items() >= {"ran": False, "runs": 0, "maps": 0, "elements": 0}.items() and [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0]["tree_rules"] == 54' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t --no-opt=lookup
json "compile --target kernel: lookup runs stay trees" \
	'[p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "lookup"][0].items() >= {"ran": True, "runs": 2, "maps": 0}.items() and [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0]["tree_rules"] == 54' \
	-- "$JIT" -n "$NS" compile -j --no-load -t t --target kernel
if "$JIT" -n "$NS" compile --no-load -t t |
	grep -Eq "lookup 2 runs of 43 rules: 2 maps \(43 rules, 43 elements, 1 LPM\)$"; then
	ok "compile: the lookups in the text report"
else
	fail "compile: the lookups in the text report"
fi
ip netns exec "$NS" nft delete table ip t
# prefix runs as LPM tries: the th dport run with the shadow pass on, and
# the ip saddr run too with it off (the covered prefixes left out)
ip netns exec "$NS" nft -f tests/rulesets/086-lookup-prefixes.nft
json "compile -j: a prefix run as an LPM trie" \
	'[p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "lookup"][0].items() >= {"runs": 1, "maps": 1, "lpm_maps": 1, "elements": 18}.items() and d["compile"][0]["verifier"] == "ok"' \
	-- "$JIT" -n "$NS" compile -j -t t --target link
json "compile --no-opt=shadow -j: covered prefixes left out of the tries" \
	'[p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "lookup"][0].items() >= {"runs": 2, "run_rules": 46, "maps": 2, "lpm_maps": 2, "elements": 29}.items() and d["compile"][0]["verifier"] == "ok"' \
	-- "$JIT" -n "$NS" compile -j -t t --no-opt=shadow
ip netns exec "$NS" nft delete table ip t
# sets and jumps after the IPv6 extension header walk: the verifier's
# states where the walk ends compare equal (pktinfo.c, pktinfo_forget())
ip netns exec "$NS" nft -f tests/rulesets/077-verifier-complexity-sets-jumps.nft
for target in test link; do
	json "compile --target $target: 077 verified whole, no complexity limit" \
		'd["compile"][0]["status"] == "jit" and d["compile"][0]["compiled"] == d["compile"][0]["rules"] == 49 and d["compile"][0]["verifier"] == "ok"' \
		-- "$JIT" -n "$NS" compile -j -t t --target $target
done
ip netns exec "$NS" nft delete table inet t
# a generated ACL whose jumps come from many paths (the packet's reach
# proved by earlier reads differs): each chain verified once (test.c,
# test_call_args()), what stops the program is not the verifier; its
# hundreds of anonymous sets share a few BPF maps (setmap.h), so the
# whole chain compiles, on the link target too
acl=$(mktemp -d)
python3 tests/diff/acls.py --write "$acl" --sizes 1000 --seed 3 \
	--only aclmix-1000 >/dev/null
ip netns exec "$NS" nft -f "$acl/aclmix-1000.nft"
for target in test link; do
	json "compile --target $target: generated aclmix-1000 (seed 3) whole, no complexity limit" \
		'd["compile"][0]["status"] == "jit" and d["compile"][0]["compiled"] == d["compile"][0]["rules"] > 200 and d["compile"][0]["first_interpreted"] is None and d["compile"][0]["verifier"] == "ok"' \
		-- "$JIT" -n "$NS" compile -j -t t --target $target
done
ip netns exec "$NS" nft delete table inet t
rm -rf "$acl"
# a program the verifier finds too complex: shorter, the rest interpreted
# (230 rules, each reading bytes further into the packet: the states of
# a rule differ in how far the packet is known to reach)
python3 -c '
print("table ip t { chain c { type filter hook output priority 0;")
for i in range(230):
    o = 20 + i
    print("@nh,%d,8 %d @nh,%d,8 %d @nh,%d,8 %d counter drop" %
          (8 * o, i * 7 % 256, 8 * (o - 7), i * 5 % 256, 8 * (o - 13),
           i * 3 % 256))
print("}\n}")' | ip netns exec "$NS" nft -f -
json "compile: a program too complex to verify is cut, the reason shown" \
	'd["compile"][0]["status"] == "partial" and 0 < d["compile"][0]["compiled"] < d["compile"][0]["rules"] and "the verifier\x27s complexity limit" in d["compile"][0]["first_interpreted"]["reason"] and d["compile"][0]["verifier"] == "ok"' \
	-- "$JIT" -n "$NS" compile -j -t t
ip netns exec "$NS" nft delete table ip t
# a forest the verifier finds too complex: planned again with smaller
# forests, every rule still compiled (the refusal is made for the test by
# NFTJ_FAULT_FOREST_INSNS: a real one takes a minute of verifier time)
python3 -c '
import sys
sys.path.insert(0, "tools/bench")
import acl
print("table ip t { chain c { type filter hook output priority 0;")
for r in acl.generate(1000, 1):
    print(r.nft())
print("}\n}")' | ip netns exec "$NS" nft -f -
json "compile: a 1,000-rule ACL is one forest in one program" \
	'd["compile"][0]["status"] == "jit" and d["compile"][0]["programs"] == 1 and [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0]["forests"] == 1 and d["compile"][0]["verifier"] == "ok"' \
	-- "$JIT" -n "$NS" compile -j -t t
json "compile: a forest too complex to verify is split, no rule given up" \
	'd["compile"][0]["status"] == "jit" and d["compile"][0]["compiled"] == d["compile"][0]["rules"] == 1000 and [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0]["forests"] >= 2 and d["compile"][0]["verifier"] == "ok" and d["compile"][0]["program"]["verified_insns"] > 0' \
	-- env NFTJ_FAULT_FOREST_INSNS=12000 "$JIT" -n "$NS" compile -j -t t
ip netns exec "$NS" nft delete table ip t
# the same ACL behind a jump: a regular chain's forests, and their retry
python3 -c '
import sys
sys.path.insert(0, "tools/bench")
import acl
print("table ip t { chain acl {")
for r in acl.generate(1000, 1):
    print(r.nft())
print("}\nchain c { type filter hook output priority 0; jump acl; }\n}")' |
	ip netns exec "$NS" nft -f -
json "compile: a 1,000-rule ACL in a regular chain is one forest" \
	'd["compile"][0]["status"] == "jit" and d["compile"][0]["compiled"] == 1 and [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0]["forests"] == 1 and d["compile"][0]["verifier"] == "ok"' \
	-- "$JIT" -n "$NS" compile -j -t t --target link
json "compile: a regular chain's forest too complex to verify is split" \
	'd["compile"][0]["status"] == "jit" and d["compile"][0]["compiled"] == 1 and [p for p in d["compile"][0]["optimizer"]["passes"] if p["name"] == "tree"][0]["forests"] >= 2 and d["compile"][0]["verifier"] == "ok"' \
	-- env NFTJ_FAULT_FOREST_INSNS=8000 "$JIT" -n "$NS" compile -j -t t --target link
ip netns exec "$NS" nft delete table ip t

pcap=$(mktemp)
printf 'not a pcap' >"$pcap"
expect "usage: no command" 2 "" -- "$JIT"
expect "usage: unknown command" 2 "unknown command" -- "$JIT" frobnicate
expect "usage: unknown target" 2 "unknown target" -- "$JIT" compile --target x
expect "usage: unknown stage" 2 "stages are build" -- "$JIT" compile --dump-imr emit
expect "usage: unknown optimizer pass" 2 "compile: --no-opt: unknown pass 'nope' \\(passes: dead, shadow, fuse" -- "$JIT" compile --no-opt=nope
expect "usage: eval, unknown optimizer pass" 2 "eval: --no-opt: unknown pass" -- "$JIT" eval -t t -c c --no-opt=dead,nope 4500
expect "usage: attach, unknown pass" 2 "unknown pass 'x'" -- "$JIT" attach --no-opt=x inet t c
expect "usage: attach --link, unknown pass" 2 "unknown pass 'x'" -- "$JIT" attach --link --no-opt=x -t t -c c
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

# the kernel part's control commands
for cmd in attach detach kstatus; do
	expect "$cmd --help" 0 "" -- "$JIT" $cmd --help
done
expect "attach: missing arguments" 2 "attach: missing arguments, expected FAMILY TABLE CHAIN" -- "$JIT" attach ip filter
expect "attach: too many arguments" 2 "attach: too many arguments" -- "$JIT" attach ip filter input x
expect "attach: bad family" 2 "attach: family bridge: ip, ip6 or inet" -- "$JIT" attach bridge filter input
expect "attach: bad generation" 2 "attach: bad generation x" -- "$JIT" attach --genid x ip filter input
expect "detach: missing arguments" 2 "detach: missing arguments" -- "$JIT" detach inet filter
expect "kstatus: one argument" 2 "kstatus: expected no arguments or FAMILY TABLE CHAIN" -- "$JIT" kstatus inet
expect "kstatus: unknown netns" 1 "network namespace" -- "$JIT" -n nftj-no-such-ns kstatus
if "$JIT" -n "$NS" kstatus >/dev/null 2>&1; then
	echo "skip kernel part not loaded: it is loaded here"
	skipped=$((skipped + 1))
else
	notloaded="^nft-jit: kernel part not loaded: no generic netlink family nft_jit"
	expect "kstatus: kernel part not loaded" 1 "$notloaded" -- "$JIT" -n "$NS" kstatus
	expect "kstatus -j: kernel part not loaded" 1 "$notloaded" -- "$JIT" -n "$NS" kstatus -j
	expect "attach: kernel part not loaded" 1 "$notloaded" -- "$JIT" -n "$NS" attach inet filter input
	expect "detach: kernel part not loaded" 1 "$notloaded" -- "$JIT" -n "$NS" detach inet filter input
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
