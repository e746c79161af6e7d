#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the nft_jit selftests the way the kselftest runner does: each test
# under the timeout of ./settings, TAP 13 output, exit codes 0 pass,
# 4 skip, anything else fail.  Ends with "N passed, N failed, N skipped".
#
#   run.sh [TEST...]        default: every nft_jit_*.sh, cleanup last
cd "$(dirname "$0")" || exit 1

timeout=$(sed -n 's/^timeout=//p' settings)
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	mapfile -t tests < <(ls nft_jit_*.sh | grep -v cleanup)
	tests+=(nft_jit_cleanup.sh)
fi

pass=0 fail=0 skip=0 n=0
echo "TAP version 13"
echo "1..${#tests[@]}"
for t in "${tests[@]}"; do
	n=$((n + 1))
	name="selftests: net/netfilter/nft_jit: $t"
	echo "# $name"
	timeout --foreground -k 10 "${timeout:-300}" "./$t" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	case $rc in
	0)	echo "ok $n $name"; pass=$((pass + 1)) ;;
	4)	echo "ok $n $name # SKIP"; skip=$((skip + 1)) ;;
	124)	echo "not ok $n $name # TIMEOUT ${timeout}s"; fail=$((fail + 1)) ;;
	*)	echo "not ok $n $name # exit=$rc"; fail=$((fail + 1)) ;;
	esac
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
