#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS TARGET...: runs each libFuzzer target for SECONDS from its seeds
# (tests/fuzz/corpus/T and tests/fuzz/regressions/T), prints the executions per target, and fails
# when a target found a crash (its input is left in BUILD/crashes/: fix it, keep it in regressions/T).
# With FUZZ_RUNS=N set, each target instead runs N inputs from seed 1: a bounded run for CI. (Not
# quite the same inputs on every machine: coverage feedback varies a little with the build.)
cd "$(dirname "$0")/../.." || exit 2
build=$1 seconds=$2; shift 2
mkdir -p "$build/crashes"
status=0
for t in "$@"; do
  work="$build/corpus/$t"
  mkdir -p "$work" tests/fuzz/corpus/"$t" tests/fuzz/regressions/"$t"
  log="$build/fuzz_$t.log"
  if [ -n "$FUZZ_RUNS" ]; then limit="-runs=$FUZZ_RUNS -seed=1" how="from seed 1"
  else limit="-max_total_time=$seconds" how="in $seconds s"; fi
  # shellcheck disable=SC2086
  TMPDIR=${TMPDIR:-/tmp} "$build/fuzz_$t" $limit -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -timeout=20 -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
    "$work" tests/fuzz/corpus/"$t" tests/fuzz/regressions/"$t" >"$log" 2>&1
  rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  echo "fuzz_$t: ${runs:-?} executions $how, coverage ${cov:-?} edges, exit $rc"
  if [ $rc -ne 0 ]; then
    status=1
    grep -E 'ERROR|SUMMARY|fuzz_web:|Test unit written' "$log" | head -n 5
  fi
done
exit $status
