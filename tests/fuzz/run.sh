#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/fuzz/run.sh [--time SECONDS] [--jobs N] [--keep-going]
#                   [--corpus DIR] [--no-build]
#
# The bounded fuzz run of `make check` (tests/fuzz/README.md):
#   1. builds build/fuzz/fuzz-ruleset (clang, libFuzzer, AddressSanitizer
#      with LeakSanitizer, UBSan);
#   2. replays every input of tests/fuzz/regressions/ and tests/fuzz/seeds/:
#      each must run clean;
#   3. fuzzes for SECONDS (default 45) from the seeds, into a fresh
#      corpus (or DIR, kept between runs: `make fuzz` uses
#      build/fuzz/corpus), and fails on the first crash, leak, undefined
#      behaviour, timeout or out-of-memory; the input that did it is left
#      in build/fuzz/crashes-TIME/, and the report says how to replay it.
# --jobs N fuzzes in N processes (libFuzzer -fork); --keep-going (make
# fuzz) goes on after a crash and counts them all at the end.
# Ends with "N passed, N failed" (one per replayed input, one for the
# fuzzing) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

time=${NFTJ_FUZZ_TIME:-45}
jobs=1 keep=0 build=1 corpus=
while [ $# -gt 0 ]; do
	case $1 in
	--time) time=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	--keep-going) keep=1 ;;
	--corpus) corpus=$2; shift ;;
	--no-build) build=0 ;;
	-h|--help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

dir=build/fuzz
fuzzer=$dir/fuzz-ruleset
pass=0 fail=0
cc=${FUZZ_CC:-clang}

if [ "$build" -eq 1 ]; then
	if ! command -v "$cc" >/dev/null; then
		echo "run.sh: $cc missing (tools/install-deps installs clang)" >&2
		echo "0 passed, 0 failed, 1 skipped"
		exit 4
	fi
	mkdir -p "$dir"
	if ! make -s -j2 "$fuzzer" >"$dir/build.log" 2>&1; then
		tail -n 30 "$dir/build.log"
		echo "FAIL build: make $fuzzer (log: $dir/build.log)"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
if [ ! -x "$fuzzer" ]; then
	echo "FAIL: $fuzzer missing (run without --no-build)"
	echo "0 passed, 1 failed"
	exit 1
fi

# readable stack traces; UB is fatal (-fno-sanitize-recover) with a trace
for s in llvm-symbolizer /usr/lib/llvm-*/bin/llvm-symbolizer; do
	s=$(command -v "$s") && { export ASAN_SYMBOLIZER_PATH=$s; break; }
done
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

stamp=$(date +%Y%m%d-%H%M%S)
crashes=$dir/crashes-$stamp
mkdir -p "$crashes"
# inputs are structured and the seeds large: no slowly growing length
# limit (-len_control), which would keep the mutator from growing them
opts=(-rss_limit_mb=2048 -timeout=30 -max_len=32768 -len_control=0
      -dict=tests/fuzz/nft.dict -artifact_prefix="$crashes/")

# the sanitizer's or libFuzzer's report, without the fuzzing progress
report() {
	grep -v -E '^(#[0-9]+|INFO:|MS:|Base64:)' "$1" |
		sed -n '/ERROR\|runtime error\|WARNING: \|==[0-9]*==\|^fuzz: /,$p' |
		head -n 60
}

# 2. every regression input and every seed, once each: all in one
# process (a sanitized process takes a second or more to start on a
# loaded machine); if that fails, one process each, to name the culprits
log=$dir/replay.log
inputs=()
for f in tests/fuzz/regressions/* tests/fuzz/seeds/*; do
	[ -f "$f" ] || continue
	case $f in */README*) continue ;; esac
	inputs+=("$f")
done
if [ ${#inputs[@]} -eq 0 ]; then
	echo "FAIL replay: no inputs in tests/fuzz/regressions/ and seeds/"
	fail=1
elif "$fuzzer" "${opts[@]}" "${inputs[@]}" >"$log.all" 2>&1; then
	pass=${#inputs[@]}
else
	for f in "${inputs[@]}"; do
		if "$fuzzer" "${opts[@]}" "$f" >"$log" 2>&1; then
			pass=$((pass + 1))
		else
			report "$log"
			echo "FAIL $f (replay: $fuzzer $f)"
			fail=$((fail + 1))
		fi
	done
	if [ "$fail" -eq 0 ]; then
		report "$log.all"
		echo "FAIL replay: all inputs in one process fail, each alone passes (log: $log.all)"
		fail=1
	fi
fi
echo "replayed: $pass passed, $fail failed"

# 3. fuzzing
if [ -z "$corpus" ]; then
	corpus=$dir/check-corpus
	rm -rf "$corpus"
fi
mkdir -p "$corpus"
log=$dir/fuzz-$stamp.log
if [ "$jobs" -gt 1 ] || [ "$keep" -eq 1 ]; then
	opts+=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1
	       -ignore_ooms=1)
fi
echo "fuzzing for ${time}s ($jobs job(s)), corpus $corpus, log $log"
"$fuzzer" "${opts[@]}" -max_total_time="$time" -print_final_stats=1 \
	"$corpus" tests/fuzz/seeds >"$log" 2>&1
st=$?
grep -E '^#[0-9]+:?[[:space:]].*(DONE|pulse|NEW|cov:)' "$log" | tail -n 1
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log"
found=$(find "$crashes" -type f | sort)
if [ "$st" -ne 0 ] || [ -n "$found" ]; then
	[ "$keep" -eq 1 ] || report "$log"
	echo "FAIL fuzzing (exit $st; log $log)"
	for f in $found; do
		echo "  crash input: $f (replay: $fuzzer $f)"
	done
	echo "  each real crash gets a fix and its input in tests/fuzz/regressions/"
	fail=$((fail + 1))
else
	rmdir "$crashes"
	pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
