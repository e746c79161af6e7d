#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# No attachment keeps a pointer to a chain or an expression freed outside
# a commit.  The review's sequence: a table inet with a verdict map in an
# input chain (its program covers the table's chains) and an ingress chain
# bound to a veth; the veth goes away, which frees the ingress chain with
# no commit; then an unrelated commit, and traffic.  A program covers only
# the chains it can reach (never another base chain) and names services
# only there; a chain freed outside a commit releases every program that
# covers it, counted in kstatus as "destroyed".  Then the same with a
# namespace deleted under attached programs.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

ip -n "$ns1" link add veth1 type veth peer name veth1 netns "$ns2" ||
	skip "cannot make a second veth"
ip -n "$ns1" link set veth1 up
ip -n "$ns2" link set veth1 up

ruleset() {
	nft1 -f - <<'NFT'
table inet t {
	chain in {
		type filter hook input priority 0; policy accept;
		meta l4proto vmap { udp : jump udp_in }
	}
	chain udp_in {
		udp dport 9 counter drop
		udp dport 10 counter accept
	}
	chain ing {
		type filter hook ingress device "veth1" priority 0; policy accept;
		counter
	}
}
NFT
}
ruleset || skip "cannot load the ruleset (nft without inet ingress?)"
# nft-jit compiles no ingress chain: a program of r0 = 1 (accept, as the
# chain's policy)
expect "attach the input chain" jit attach inet t in
accepted "attach the ingress chain" inet t ing accept
[ "$(jit_state inet t in nchains)" = 0 ] &&
	ok "the input program covers the table (verdict map)" ||
	bad "nchains of the input program: $(jit_state inet t in nchains)"

# a service of the input program cannot live in the ingress chain: no
# packet of the input hook can reach it, and it goes with its device
refused "a service in another base chain" "EINVAL: .*base chain" \
	inet t in svc_stack --svc "ing:$(rule_handle inet t ing 0):0"
expect "attach the input chain again" jit attach inet t in
prog_in=$(jit_state inet t in prog_id)

ip -n "$ns1" link del veth1
[ -z "$(jit_state inet t ing prog_id)" ] &&
	ok "the ingress program went with its device" ||
	bad "the ingress program is still attached after its device went"
[ "$(jit_ns_field destroyed)" = 1 ] &&
	ok "kstatus counts it: destroyed 1" ||
	bad "kstatus destroyed: '$(jit_ns_field destroyed)' (want 1)"
[ "$(jit_state inet t in prog_id)" = "$prog_in" ] &&
	ok "the input program stays: the ingress chain was never its" ||
	bad "the input program: '$(jit_state inet t in prog_id)' (was $prog_in)"

nft1 add table ip unrelated
udp_send "$ns2" 10.0.1.1 9 3
udp_send "$ns2" 10.0.1.1 10 4
[ "$(rule_counter inet t udp_in 0)/$(rule_counter inet t udp_in 1)" = 3/4 ] &&
	ok "traffic after an unrelated commit: counters 3/4" ||
	bad "counters $(rule_counter inet t udp_in 0)/$(rule_counter inet t udp_in 1) (want 3/4)"
runs=$(jit_state inet t in runs)
[ "${runs:-0}" -ge 7 ] && ok "the input program ran ($runs runs)" ||
	bad "the input program did not run (runs: '$runs')"
[ "$(jit_ns_field detaches)" = 0 ] &&
	ok "no commit detached anything" ||
	bad "detaches by commits: $(jit_ns_field detaches)"

# a namespace deleted under attached programs, one of them on a chain
# bound to a device: the programs are freed with it
command -v bpftool >/dev/null || { echo "SKIP: netns exit (no bpftool)"; finish; }
ip -n "$ns1" link add veth1 type veth peer name veth1 netns "$ns2"
ip -n "$ns1" link set veth1 up
nft1 flush ruleset
ruleset || bad "loading the ruleset again"
expect "attach the input chain" jit attach inet t in
accepted "attach the ingress chain" inet t ing accept
progs="$(jit_state inet t in prog_id) $(jit_state inet t ing prog_id)"
ip netns del "$ns1"
for p in $progs; do
	for i in $(seq 50); do
		bpftool prog show id "$p" >/dev/null 2>&1 || break
		sleep 0.1
	done
	bpftool prog show id "$p" >/dev/null 2>&1 &&
		bad "program $p still loaded after its namespace was deleted" ||
		ok "program $p freed with its namespace"
done
finish
