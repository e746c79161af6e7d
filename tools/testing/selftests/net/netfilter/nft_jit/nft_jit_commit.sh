#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Generation binding: a commit that changes the base chain, a chain it
# jumps to, or the policy detaches the program in the same commit, so the
# first packet of the new generation is judged by the interpreter.  A
# commit that changes nothing the program covers leaves it attached.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

echo "udp 10.0.1.2 53 4000" >"$TMP/p53"
echo "udp 10.0.1.2 7 4000" >"$TMP/p7"

attached() {
	[ -n "$(jit_state inet filter out prog_id)" ]
}

reattach() {
	jit attach inet filter out >/dev/null 2>&1 && attached
}

nft1 -f "$here/commit.nft" || skip "cannot load the ruleset"
expect "attach" reattach
d0=$(jit_detaches)

# unrelated commits
nft1 add table ip other
nft1 add chain ip other c
nft1 add rule ip other c counter
if attached && [ "$(jit_detaches)" = "$d0" ]; then
	ok "a commit to another table keeps the program"
else
	bad "a commit to another table detached the program"
fi

# a rule in the base chain, and the very next packet
nft1 insert rule inet filter out udp dport 53 drop
if attached; then
	bad "a new rule in the base chain left the program attached"
else
	ok "a new rule in the base chain detaches the program"
fi
[ "$(jit_detaches)" -gt "$d0" ] && ok "the detach is counted" ||
	bad "detaches did not grow ($d0 -> $(jit_detaches))"
if [ "$(probes "$TMP/p53")" = "udp 10.0.1.2 53 4000 drop" ]; then
	ok "the first packet after the commit sees the new rule"
else
	bad "the first packet after the commit: $(probes "$TMP/p53")"
fi

# a rule in a chain the base chain jumps to
nft1 delete rule inet filter out handle \
	"$(nft1 -a list chain inet filter out | sed -nE 's/.*udp dport 53 drop # handle ([0-9]+)/\1/p')"
expect "re-attach" reattach
nft1 add rule inet filter sub udp dport 7 accept
attached && bad "a new rule in a jumped-to chain left the program attached" ||
	ok "a new rule in a jumped-to chain detaches the program"
if [ "$(probes "$TMP/p7")" = "udp 10.0.1.2 7 4000 drop" ]; then
	ok "verdict after the jumped-to chain changed"
else
	bad "verdict after the jumped-to chain changed: $(probes "$TMP/p7")"
fi

# the policy
expect "re-attach" reattach
nft1 add chain inet filter out '{ policy drop; }'
attached && bad "a policy change left the program attached" ||
	ok "a policy change detaches the program"
nft1 add chain inet filter out '{ policy accept; }'

# deleting the table releases the program
expect "re-attach" reattach
prog=$(jit_state inet filter out prog_id)
nft1 delete table inet filter
attached && bad "program attached to a deleted table" ||
	ok "deleting the table detaches the program"
gone=no
for _ in $(seq 50); do
	bpftool prog show id "$prog" >/dev/null 2>&1 || { gone=yes; break; }
	sleep 0.1
done
[ $gone = yes ] && ok "program $prog freed after the table's deletion" ||
	bad "program $prog still loaded 5 s after the table's deletion"
finish
