#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Traffic from one namespace to another over veth gets the same verdicts
# and leaves the same rule counters with JIT programs attached to the base
# chains as with the interpreter alone; the programs did run.
source "$(dirname "$0")/lib.sh"
require
setup_ns || skip "cannot set up network namespaces"

same_as_interpreter "inet+ip output" "$here/verdicts.nft" "$here/verdicts.probes"

runs=$(jit_state inet filter out runs)
if [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
	ok "program of inet filter out ran $runs times"
else
	bad "program of inet filter out did not run (runs='$runs')"
fi
prog=$(jit_state ip extra out prog_id)
if [ -n "$prog" ] && bpftool prog show id "$prog" >/dev/null 2>&1; then
	ok "program $prog of ip extra out is loaded"
else
	bad "no loaded program for ip extra out (prog_id='$prog')"
fi
finish
