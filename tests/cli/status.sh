#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `nft-jit status` on the host: base chains listed with their state, the
# kernel part reported as not loaded (the host's nf_tables has no JIT),
# the JSON keys of docs/status.md, the daemon's state file (dead, live,
# broken, of another namespace), selection by family/table/chain, exit
# statuses.  The VM's kselftests cover attached programs.
set -uo pipefail
cd "$(dirname "$0")/../.."

JIT=${NFT_JIT:-umh/nft-jit}
NS=nftj-status-$$
STATE=$(mktemp -d)
passed=0 failed=0 skipped=0

if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null; then
	echo "SKIP: needs root and nft"
	echo "0 passed, 0 failed, 1 skipped"
	exit 4
fi
cleanup() {
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$STATE"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
export NFTJ_STATE_DIR=$STATE

source "$(dirname "$0")/lib.sh"

# text NAME REGEX -- COMMAND...: exit 0 and stdout matches every line of
# REGEX (one extended regex per line, each matched somewhere)
text() {
	local name=$1 res=$2 out re
	shift 3
	if ! out=$("$@" 2>&1); then
		fail "$name: exit status: $out"
		return
	fi
	while read -r re; do
		[ -z "$re" ] && continue
		if ! grep -qE -- "$re" <<<"$out"; then
			fail "$name: no line matches /$re/ in: ${out:0:600}"
			return
		fi
	done <<<"$res"
	ok "$name"
}

ip netns exec "$NS" nft -f examples/server.nft
ip netns exec "$NS" nft -f - <<'EOF'
table ip extra {
	chain out {
		type filter hook output priority 10; policy drop;
		oifname "lo" accept
	}
}
table netdev nd {
	chain ing {
		type filter hook ingress device lo priority 0; policy accept;
	}
}
EOF
ino=$(ip netns exec "$NS" stat -L -c %i /proc/self/ns/net)

# the JSON keys docs/status.md promises, no more, no fewer
TOP='{"kernel_part", "kernel_part_reason", "daemon", "generation", "netns_inode", "state_file", "chains"}'
CHAIN='{"family", "table", "chain", "type", "hook", "priority", "policy", "rules", "state", "reason", "first_interpreted", "compiled", "generation", "program", "runs", "resumes", "fallbacks", "compile_ms", "attach_ms", "attached_at", "verifier_log", "source"}'
DAEMON='{"running", "pid", "netns", "started", "updated", "generation", "syncs", "resyncs", "stale_retries", "error"}'

json "-j: the documented keys, every base chain, no regular chain" \
	"set(d) == $TOP and all(set(c) == $CHAIN for c in d['chains']) and [(c['family'], c['table'], c['chain']) for c in d['chains']] == [('inet', 'filter', 'input'), ('inet', 'filter', 'output'), ('ip', 'extra', 'out'), ('netdev', 'nd', 'ing')] and d['netns_inode'] == $ino and d['state_file'] == '$STATE/netns-$ino.json' and d['daemon'] is None and isinstance(d['generation'], int)" \
	-- "$JIT" -n "$NS" status -j
json "-j: hook, priority, policy, rules from the ruleset" \
	"d['chains'][0]['hook'] == 'input' and d['chains'][0]['priority'] == 0 and d['chains'][0]['policy'] == 'drop' and d['chains'][0]['rules'] == 10 and d['chains'][2]['priority'] == 10 and d['chains'][3]['hook'] == 'ingress' and d['chains'][0]['type'] == 'filter'" \
	-- "$JIT" -n "$NS" status -j
json "netdev: not a family of the kernel part, whatever the kernel" \
	"d['chains'][0]['state'] == 'interpreter' and d['chains'][0]['reason'].startswith('family netdev:') and d['chains'][0]['program'] is None" \
	-- "$JIT" -n "$NS" status -j netdev

if "$JIT" -n "$NS" kstatus >/dev/null 2>&1; then
	skip "kernel part not loaded: it is loaded here"
	kpart=1
else
	kpart=0
	json "kernel part not loaded: every chain interpreter, the reason named" \
		"d['kernel_part'] is False and 'nft_jit' in d['kernel_part_reason'] and all(c['state'] == 'interpreter' and c['reason'] == 'kernel part not loaded' and c['program'] is None and c['generation'] is None and c['runs'] is None for c in d['chains'] if c['family'] != 'netdev')" \
		-- "$JIT" -n "$NS" status -j
	text "kernel part not loaded: plain text, exit 0" \
		"^kernel part: not loaded \(.*nft_jit.*\)
^daemon: not running \(no state file $STATE/netns-$ino.json\)
^ruleset generation: [0-9]+
^inet filter input: type filter hook input priority 0, policy drop, 10 rules
^  state: interpreter: kernel part not loaded
^ip extra out: type filter hook output priority 10, policy drop, 1 rule
^netdev nd ing: type filter hook ingress priority 0" \
		-- "$JIT" -n "$NS" status
	text "-v without a program: nothing to disassemble, exit 0" \
		"^  state: interpreter: kernel part not loaded" \
		-- "$JIT" -n "$NS" status -v inet filter input
fi

# selection
json "FAMILY: only its chains" \
	"[c['table'] for c in d['chains']] == ['extra']" -- "$JIT" -n "$NS" status -j ip
json "FAMILY TABLE CHAIN: one chain" \
	"[(c['table'], c['chain']) for c in d['chains']] == [('filter', 'output')]" \
	-- "$JIT" -n "$NS" status -j inet filter output
text "a family without base chains: said, exit 0" "^no base chains in family ip6$" \
	-- "$JIT" -n "$NS" status ip6

# the daemon's state file
sf=$STATE/netns-$ino.json
# above PID_MAX_LIMIT (4M): never a live process
dead=4194305
cat >"$sf" <<EOF
{"version": 1, "pid": $dead, "netns": "$NS", "netns_inode": $ino,
 "started": 1700000000.25, "updated": 1700000100.5, "generation": 1,
 "syncs": 3, "resyncs": 1, "stale_retries": 2,
 "chains": [{"family": "inet", "table": "filter", "chain": "input",
   "hook": "input", "priority": 0, "generation": 1, "state": "interpreter",
   "reason": "stale reason", "first_interpreted": null, "program": null,
   "rules": 10, "compiled": 0, "services": 0, "compile_ms": 1.0,
   "attach_ms": null, "attached_at": null, "verifier_log": "stale log"}]}
EOF
json "state file of a dead daemon: not running, its figures kept" \
	"set(d['daemon']) == $DAEMON and d['daemon']['running'] is False and d['daemon']['pid'] == $dead and d['daemon']['netns'] == '$NS' and d['daemon']['syncs'] == 3 and d['daemon']['updated'] == 1700000100.5 and d['daemon']['error'] is None" \
	-- "$JIT" -n "$NS" status -j
if [ "$kpart" = 0 ]; then
	json "dead daemon: its stale reasons are not reported" \
		"d['chains'][0]['reason'] == 'kernel part not loaded' and d['chains'][0]['verifier_log'] is None" \
		-- "$JIT" -n "$NS" status -j inet filter input
else
	json "dead daemon: no program attached (daemon not running)" \
		"all(c['reason'] == 'no program attached (daemon not running)' for c in d['chains'] if c['program'] is None)" \
		-- "$JIT" -n "$NS" status -j inet
fi
text "state file of a dead daemon: plain text" \
	"^daemon: not running \(state file $sf left by pid $dead, updated " \
	-- "$JIT" -n "$NS" status
sed -i "s/\"pid\": $dead/\"pid\": $$/" "$sf"
json "state file with a live pid: the daemon runs" \
	"d['daemon']['running'] is True and d['daemon']['pid'] == $$" \
	-- "$JIT" -n "$NS" status -j
text "live daemon: plain text" \
	"^daemon: running, pid $$; last sync at generation 1, .* \(syncs 3, resyncs after event loss 1, stale retries 2\)" \
	-- "$JIT" -n "$NS" status
sed -i "s/\"netns_inode\": $ino/\"netns_inode\": 1/" "$sf"
json "state file of another network namespace: not trusted" \
	"d['daemon']['running'] is False and 'another network namespace' in d['daemon']['error'] and d['daemon']['pid'] is None" \
	-- "$JIT" -n "$NS" status -j
echo 'not json' >"$sf"
json "broken state file: reported, exit 0" \
	"d['daemon']['running'] is False and d['daemon']['error'].startswith('cannot read the state file')" \
	-- "$JIT" -n "$NS" status -j
rm -f "$sf"

# usage and errors
expect "--help" 0 "" -- "$JIT" status --help
expect "usage: unknown family" 2 "^nft-jit: status: unknown family bogus$" -- "$JIT" status bogus
expect "usage: too many arguments" 2 "status: too many arguments" -- "$JIT" status inet filter input x
expect "usage: unknown option" 2 "" -- "$JIT" status --bogus
expect "unknown netns" 1 "^nft-jit: network namespace nftj-no-such-ns: " -- "$JIT" -n nftj-no-such-ns status
expect "no such table" 1 "^nft-jit: no table inet nope$" -- "$JIT" -n "$NS" status inet nope
expect "no such chain" 1 "^nft-jit: no chain nope in table inet filter$" -- "$JIT" -n "$NS" status inet filter nope
expect "not a base chain" 1 "^nft-jit: chain inet filter admin is not a base chain" -- "$JIT" -n "$NS" status inet filter admin
expect "-j: errors stay on stderr" 1 "no chain nope" -- "$JIT" -n "$NS" status -j inet filter nope

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
