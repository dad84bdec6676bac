#!/bin/sh
# tests/run.sh [all|c|lua|gpu|features]: runs the C test binaries and the busted specs,
# then prints one closing line "N passed, M failed, K skipped" over all suites together
# (C, busted, and the browser checks that browser_spec runs), each skip with its reason
# above it. Exits non-zero on any failure.
cd "$(dirname "$0")/.." || exit 2
what=${1:-all}
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/tests/spec/?.lua;;"
export LUA_CPATH="$PWD/${MXLUA_BUILD_DIR:-build}/lua/?.so;;" # build-gpu-emu: tests/cuda_emu/run.sh
export MXLUA_ROOT="$PWD"
passed=0; failed=0; skipped=0
log=$(mktemp); trap 'rm -f "$log"' EXIT

count() { # adds the "N passed, M failed, K skipped" line of a C test's output
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -n 1)
  if [ -z "$line" ]; then echo "  (no summary: counted as 1 failure)"; failed=$((failed + 1)); return; fi
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}; k=${line##*failed, }; k=${k%% skipped*}
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
}

if [ "$what" = all ] || [ "$what" = c ]; then
  for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    echo "== $t"
    "$t" >"$log" 2>&1; rc=$?
    grep -E '^(not ok|#)|# SKIP' "$log"
    count
    [ $rc -ne 0 ] && ! grep -q '^not ok' "$log" && { echo "  exit status $rc"; failed=$((failed + 1)); }
  done
fi

run_busted() { # $@: spec files or folders
  echo "== busted $*"
  # --cpath: the build named by MXLUA_BUILD_DIR, not .busted's build/ (which may hold a build without CUDA)
  busted --cpath="$PWD/${MXLUA_BUILD_DIR:-build}/lua/?.so" -o TAP "$@" >"$log" 2>&1; rc=$?
  ok=$(grep -cE '^ok ' "$log"); bad=$(grep -cE '^not ok ' "$log")
  sk=$(grep -cE '^ok .*# SKIP' "$log")
  grep -E '^not ok|^# ' "$log" | head -n 200
  grep -E '# SKIP' "$log" | sed 's/^ok [0-9]* - /  /' # every skip, with its reason
  if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then tail -n 30 "$log"; bad=1; fi
  [ $rc -ne 0 ] && [ "$bad" -eq 0 ] && { tail -n 30 "$log"; bad=1; }
  passed=$((passed + ok - sk)); failed=$((failed + bad)); skipped=$((skipped + sk))
  # browser_spec runs tests/browser/draw_digit.js as one busted test: its checks count too
  line=$(grep -E '^# browser: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    p=${line#'# browser: '}; p=${p%% passed*}; f=${line#*, }; f=${f%% failed*}
    echo "  browser checks: $p passed, $f failed"
    passed=$((passed + p)); failed=$((failed + f))
  fi
}

if [ "$what" = all ] || [ "$what" = lua ]; then
  # the GPU specs run too: without a CUDA device each is pending, counted as skipped
  run_busted tests/spec
fi
# features: the build has every optional library this machine has (.ci/run runs it on its own)
if [ "$what" = features ]; then
  run_busted tests/spec/features_spec.lua
fi
if [ "$what" = gpu ]; then
  MXLUA_REQUIRE_GPU=1 run_busted --tags=gpu tests/spec
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
