#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nothing is left behind: deleting a network namespace frees its programs;
# unloading nf_tables (NFTJ_MODULES_DIR names the directory to reload the
# modules from) frees programs still attached.  Run it last.
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
ip netns add "$ns1"
nft1 -f "$here/plain.nft" || bad "loading plain.nft"
expect "attach a program without services" jit attach ip filter out
prog=$(jit_state ip filter out prog_id)

# nf_tables and the modules built with it, users first
[ "$(jit_state ip filter out nservices)" = 0 ] &&
	ok "program $prog uses no services" ||
	bad "program $prog uses services: it pins nf_tables"
users=$(lsmod | awk '$1 == "nf_tables" { gsub(",", " ", $4); print $4 }')
# shellcheck disable=SC2086
rmmod $users
# programs of earlier tests (namespaces are freed asynchronously) may
# still hold nf_tables through the services kfunc for a moment
unload() {
	local i
	for i in $(seq 100); do
		rmmod nf_tables 2>/dev/null && return 0
		sleep 0.1
	done
	rmmod nf_tables
}
expect "unload nf_tables with a program attached" unload
[ -d /sys/module/nf_tables ] && bad "nf_tables still loaded" ||
	ok "nf_tables unloaded"
freed "$prog" && ok "program $prog freed by the unload" ||
	bad "program $prog still loaded after the unload"

# put the modules back for whatever runs next
while read -r m; do
	[ -d "/sys/module/$m" ] && continue
	insmod "$NFTJ_MODULES_DIR/$m.ko" || bad "reloading $m"
done <"$NFTJ_MODULES_DIR/modules.list"
jit_kernel_part && ok "kernel part reloaded" || bad "kernel part not back"
finish
