#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nf_tables runs only programs made of what the compiler emits: calls of
# bpf_skb_load_bytes, tail calls through frozen program arrays, and the
# services kfunc.  Any other helper or kfunc, in the program or in one it
# can tail-call, is refused at attach: tc's helpers assume tc's context
# (at OUTPUT skb->dev is NULL: bpf_clone_redirect would oops).  Programs
# are hand-written here (nftj_nl.py); a refused one never sees a packet.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

nft1 -f - <<'NFT' || skip "cannot load the ruleset"
table ip filter {
	chain out {
		type filter hook output priority 0; policy accept;
		counter
	}
}
NFT
h=$(rule_handle ip filter out 0)
T="ip filter out"

# shellcheck disable=SC2086
{
refused "bpf_clone_redirect (the review's program)" \
	"EPERM: .*helper" $T clone_redirect
refused "bpf_get_prandom_u32" "EPERM: .*helper" $T prandom
refused "a direct packet write (the verifier adds bpf_skb_pull_data)" \
	"EPERM: .*helper" $T direct_write
refused "a tail call through a program array that is not frozen" \
	"EPERM: .*frozen" $T tail_open_accept
refused "a tail call to a program calling bpf_clone_redirect" \
	"EPERM: .*helper" $T tail_frozen_clone_redirect
refused "a program using an array map" "EPERM: .*map" $T array_map

accepted "r0 = 1; exit" $T accept
accepted "bpf_skb_load_bytes" $T load_bytes
accepted "the services kfunc" $T svc_stack --svc "out:$h:0"
accepted "a tail call through a frozen program array" $T tail_frozen_accept \
	--then-update
}
grep -q "^update error EPERM" "$TMP/nl.out" &&
	ok "the frozen program array refuses updates after the attach" ||
	bad "updating the frozen program array: $(tail -n1 "$TMP/nl.out")"

# what nft-jit compiles is accepted, and runs
expect "nft-jit attach" jit attach ip filter out
probes <(echo "udp 10.0.1.2 9 4000 3") >/dev/null
runs=$(jit_state ip filter out runs)
[ "${runs:-0}" -ge 3 ] && ok "the compiled program ran ($runs runs)" ||
	bad "the compiled program did not run (runs: '$runs')"
finish
