#!/bin/sh
# run.sh -- build and run every libFuzzer target for FUZZ_SECONDS each.
#
#   tests/fuzz/run.sh                  all targets, 60 s each
#   FUZZ_SECONDS=300 tests/fuzz/run.sh events flower
#   (targets: events flower kubeconfig hold sentinel)
#
# Run from anywhere; works in the repository root. Each target runs on a
# copy of its seed corpus in a temporary directory (the repository's
# tests/fuzz/corpus/ is never written to). Binaries go to $FUZZ_BUILD
# (default build-fuzz/). A crash, leak, sanitizer report or timeout makes
# the script exit non-zero; the input that did it is kept in
# $FUZZ_BUILD/artifacts/<target>/ and should be added to the corpus as a
# seed once the bug is fixed. One line per target: name, result, execs.
set -u

cd "$(dirname "$0")/../.." || exit 2
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE -Iinclude"

# target: sources and pkg-config packages
srcs() {
	case $1 in
	events)		echo "agent/events.c agent/b64.c agent/util.c" ;;
	flower)		echo "agent/worker.c agent/util.c" ;;
	kubeconfig)	echo "agent/kubeconfig.c agent/b64.c agent/util.c" ;;
	hold)		echo "agent/hold.c agent/util.c" ;;
	sentinel)	echo "agent/sentinel.c agent/retry.c" ;;
	*)		return 1 ;;
	esac
}
pkgs() {
	case $1 in
	events)		echo "jansson libcrypto" ;;
	flower)		echo "jansson" ;;
	kubeconfig)	echo "yaml-0.1 libcrypto libcurl jansson" ;;
	hold)		echo "jansson" ;;
	sentinel)	echo "jansson" ;;	# none needed; pkg-config wants one
	esac
}

if [ $# -gt 0 ]; then
	targets=$*
else
	targets="events flower kubeconfig hold sentinel"
fi

command -v "$CC" >/dev/null 2>&1 || { echo "run.sh: $CC not found" >&2; exit 2; }
mkdir -p "$FUZZ_BUILD" || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drain-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0
npass=0
nfail=0
for t in $targets; do
	if ! s=$(srcs "$t"); then
		echo "fuzz_$t: unknown target" >&2
		status=1
		continue
	fi
	bin=$FUZZ_BUILD/fuzz_$t
	case $bin in /*) ;; *) bin=./$bin ;; esac
	# shellcheck disable=SC2046,SC2086
	if ! $CC $CFLAGS $(pkg-config --cflags $(pkgs "$t")) -o "$bin" \
	    "tests/fuzz/fuzz_$t.c" $s $(pkg-config --libs $(pkgs "$t")) \
	    >"$tmp/build-$t.log" 2>&1; then
		cat "$tmp/build-$t.log" >&2
		nfail=$((nfail + 1))
		echo "fuzz_$t: BUILD FAILED"
		status=1
		continue
	fi
	mkdir -p "$tmp/corpus-$t" "$FUZZ_BUILD/artifacts/$t"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp -R "tests/fuzz/corpus/$t/." "$tmp/corpus-$t/"
	fi
	log=$FUZZ_BUILD/fuzz_$t.log
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
	    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix="$FUZZ_BUILD/artifacts/$t/" \
	    "$tmp/corpus-$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		npass=$((npass + 1))
		echo "fuzz_$t: ok, ${execs:-?} execs in ${FUZZ_SECONDS}s"
	else
		nfail=$((nfail + 1))
		echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} execs; see $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' \
		    "$log" | head -n 10
		status=1
	fi
done
# one target is one test: the summary line CI reads
echo "$npass passed, $nfail failed"
exit $status
