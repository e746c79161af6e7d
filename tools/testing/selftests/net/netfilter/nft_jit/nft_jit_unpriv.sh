#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Reading the state and detaching need CAP_NET_ADMIN in the user
# namespace that owns the network namespace; attaching needs CAP_BPF (or
# CAP_SYS_ADMIN) and CAP_NET_ADMIN in the initial user namespace: the root
# of a user namespace never makes nf_tables run a BPF program, not even
# one loaded by the real root and handed over.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"

nft1 -f "$here/commit.nft" || skip "cannot load the ruleset"
expect "root attaches" jit attach inet filter out

as_nobody() {
	ip netns exec "$ns1" setpriv --reuid=65534 --regid=65534 \
		--clear-groups --inh-caps=-all -- "$@"
}
expect_fail "an unprivileged user cannot read the state" \
	"[Pp]ermitted|EPERM" as_nobody "$NFT_JIT" kstatus
expect_fail "an unprivileged user cannot detach" \
	"[Pp]ermitted|EPERM" as_nobody "$NFT_JIT" detach inet filter out
expect_fail "an unprivileged user cannot attach" \
	"[Pp]ermitted|EPERM|denied" as_nobody "$NFT_JIT" attach inet filter out
[ -n "$(jit_state inet filter out prog_id)" ] &&
	ok "the program is still attached" || bad "the program was detached"

# root of a new user namespace owns its own network namespace
if setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	unshare -Urn true 2>/dev/null; then
	expect "the owner of a user+network namespace reads its state" \
		setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		unshare -Urn "$NFT_JIT" kstatus
else
	echo "SKIP: unprivileged user namespaces are disabled here"
fi

# a program loaded by root, then held by the root of a new user namespace
# that owns a new network namespace with a ruleset of its own
$NL userns accept >"$TMP/userns.out" 2>&1
grep -q "^get ok" "$TMP/userns.out" &&
	ok "a user-namespace root reads the state of its namespace" ||
	bad "a user-namespace root cannot read its state: $(cat "$TMP/userns.out")"
grep -qE "^attach error EPERM: .*initial user namespace" "$TMP/userns.out" &&
	ok "a user-namespace root holding a program fd cannot attach it" ||
	bad "a user-namespace root attaching a program: $(cat "$TMP/userns.out")"
finish
