#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Resume at rule k: the program hands the packet to the interpreter at the
# first rule it cannot evaluate; verdicts and counters stay exact.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

same_as_interpreter "resume at an interpreted rule" "$here/resume.nft" \
	"$here/resume.probes"
res=$(jit_state ip filter out resumes)
fb=$(jit_state ip filter out fallbacks)
[ -n "$res" ] && [ "$res" -gt 0 ] && ok "the program resumed $res times" ||
	bad "the program never resumed (resumes='$res')"
[ "$fb" = 0 ] && ok "no fallbacks" || bad "fallbacks: '$fb'"
finish
