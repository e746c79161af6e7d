# SPDX-License-Identifier: GPL-2.0
#
# Shared by the tests/cli scripts: counting results and the checks
# expect (exit status, one-line error) and json (a property of the
# output).  The caller sets passed=0 failed=0 (skipped=0).

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "skip $1"; skipped=$((skipped + 1)); }

# expect NAME RC [STDERR-REGEX] -- COMMAND...
expect() {
	local name=$1 want=$2 re=$3 err rc
	shift 4
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want: $err"
	elif [ -n "$re" ] && ! grep -qE "$re" <<<"$err"; then
		fail "$name: stderr '$err' does not match /$re/"
	elif [ -n "$re" ] && [ "$(wc -l <<<"$err")" -ne 1 ]; then
		fail "$name: more than one line on stderr: $err"
	else
		ok "$name"
	fi
}

# json NAME PYTHON-EXPR -- COMMAND...: the expression over `d` holds
json() {
	local name=$1 expr=$2 out
	shift 3
	if ! out=$("$@" 2>&1); then
		fail "$name: $out"
		return
	fi
	if python3 -c "import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if ($expr) else 1)" <<<"$out"; then
		ok "$name"
	else
		fail "$name: $expr does not hold for: ${out:0:400}"
	fi
}
