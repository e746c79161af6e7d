#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nothing is left behind: deleting a network namespace or flushing its
# ruleset frees its programs; nf_tables then unloads, leaving no program
# and no nft_jit family, and reloads (NFTJ_MODULES_DIR names the modules'
# directory).  Run it last.
source "$(dirname "$0")/lib.sh"
require

# freed PROG_ID: the program disappears within 5 s
freed() {
	local i
	for i in $(seq 50); do
		bpftool prog show id "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}

command -v bpftool >/dev/null || skip "bpftool not installed"

setup_ns || skip "cannot set up network namespaces"
nft1 -f "$here/verdicts.nft" || skip "cannot load the ruleset"
expect "attach" attach_all
progs=$(jit kstatus -j | python3 -c '
import json, sys
print(" ".join(str(a["prog_id"]) for a in json.load(sys.stdin)["attachments"]))')
[ -n "$progs" ] && ok "programs $progs attached" || bad "no programs attached"
ip netns del "$ns1"
for p in $progs; do
	freed "$p" && ok "program $p freed with its namespace" ||
		bad "program $p still loaded after its namespace was deleted"
done

if [ -z "${NFTJ_MODULES_DIR:-}" ]; then
	echo "SKIP: module unload (NFTJ_MODULES_DIR not set)"
	finish
fi
# Every chain and expression holds a reference on nf_tables, so the module
# unloads only once no ruleset is left, and with it every program.
ip netns add "$ns1"
nft1 -f "$here/plain.nft" || bad "loading plain.nft"
expect "attach" jit attach ip filter out
prog=$(jit_state ip filter out prog_id)
nft1 flush ruleset
freed "$prog" && ok "program $prog freed by nft flush ruleset" ||
	bad "program $prog still loaded after nft flush ruleset"
ip netns del "$ns1"
nft list tables | grep -q . && skip "the initial namespace has a ruleset: not unloading nf_tables"

users=$(lsmod | awk '$1 == "nf_tables" { gsub(",", " ", $4); print $4 }')
# shellcheck disable=SC2086
[ -n "$users" ] && rmmod $users
# namespaces of earlier tests are freed asynchronously, and with them
# their rulesets and programs
unload() {
	local i
	for i in $(seq 100); do
		rmmod nf_tables 2>/dev/null && return 0
		sleep 0.1
	done
	rmmod nf_tables
}
expect "unload nf_tables" unload
[ -d /sys/module/nf_tables ] && bad "nf_tables still loaded" ||
	ok "nf_tables unloaded"
left=$(bpftool prog show 2>/dev/null | grep -c 'sched_cls.*name [a-z_]*\.')
[ "$left" = 0 ] && ok "no nft-jit program left" ||
	bad "$left nft-jit programs left after the unload"
expect_fail "no nft_jit family after the unload" "not loaded" \
	"$NFT_JIT" kstatus

# put the modules back for whatever runs next
while read -r m; do
	[ -d "/sys/module/$m" ] && continue
	insmod "$NFTJ_MODULES_DIR/$m.ko" || bad "reloading $m"
done <"$NFTJ_MODULES_DIR/modules.list"
jit_kernel_part && ok "kernel part reloaded" || bad "kernel part not back"
finish
