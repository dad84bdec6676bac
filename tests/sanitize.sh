#!/bin/sh
# tests/sanitize.sh asan BUILD | valgrind BUILD: the test suite under a memory checker.
#  asan: BUILD's C tests (built with -fsanitize=address,undefined: leak detection on) and the busted
#        specs with BUILD's Lua module (lua5.4 is not instrumented: libasan/libubsan preloaded, the
#        interpreter's own leaks not reported; the browser spec, which drives chromium, left out;
#        MXLUA_SANITIZED=1 tells specs that RSS figures mean nothing here).
#  valgrind: BUILD's C tests and a short training (scripts/soak.lua) under memcheck: any definitely
#        or indirectly lost byte, invalid read or write fails.
cd "$(dirname "$0")/.." || exit 2
mode=$1 build=${2:-build}
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/tests/spec/?.lua;;"
export LUA_CPATH="$PWD/$build/lua/?.so;;"
export MXLUA_ROOT="$PWD" OPENBLAS_NUM_THREADS=1
log=$(mktemp); trap 'rm -f "$log"' EXIT
failed=0 ran=0
start=$(date +%s)

case $mode in
asan)
  export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    ran=$((ran + 1))
    if "$t" >"$log" 2>&1 && ! grep -qE '^not ok|ERROR: (Address|Leak)Sanitizer|runtime error' "$log"; then
      echo "ok   $t ($(grep -E '^[0-9]+ passed' "$log" | tail -n 1))"
    else
      echo "FAIL $t"; grep -E '^not ok|^# |ERROR|SUMMARY|runtime error|^    #[0-4] ' "$log" | head -n 30
      failed=$((failed + 1))
    fi
  done
  # the engine's thread team (core/team.c) and the GEMMs split over it, with two threads
  for t in "$build"/tests/test_team "$build"/tests/test_gemm_plan; do
    [ -x "$t" ] || continue
    ran=$((ran + 1))
    if OPENBLAS_NUM_THREADS=2 "$t" >"$log" 2>&1 && ! grep -qE '^not ok|ERROR: (Address|Leak)Sanitizer|runtime error' "$log"; then
      echo "ok   $t, two threads ($(grep -E '^[0-9]+ passed' "$log" | tail -n 1))"
    else
      echo "FAIL $t, two threads"; grep -E '^not ok|^# |ERROR|SUMMARY|runtime error|^    #[0-4] ' "$log" | head -n 30
      failed=$((failed + 1))
    fi
  done
  cc=${CC:-cc}
  preload="$($cc -print-file-name=libasan.so) $($cc -print-file-name=libubsan.so)"
  ran=$((ran + 1))
  LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=0:verify_asan_link_order=0 \
    MXLUA_SANITIZED=1 MXLUA_HOSTILE_CALLS=20000 busted -o TAP --cpath="$PWD/$build/lua/?.so" --exclude-pattern=browser_spec tests/spec >"$log" 2>&1
  rc=$?
  ok=$(grep -cE '^ok ' "$log"); bad=$(grep -cE '^not ok ' "$log")
  if [ $rc -eq 0 ] && [ "$bad" -eq 0 ] && ! grep -qE 'ERROR: AddressSanitizer|runtime error' "$log"; then
    echo "ok   busted tests/spec ($ok passed)"
  else
    echo "FAIL busted tests/spec ($ok passed, $bad failed, exit $rc)"
    grep -E '^not ok|ERROR: AddressSanitizer|SUMMARY|runtime error|^    #[0-6] ' "$log" | head -n 40
    failed=$((failed + 1))
  fi
  ;;
valgrind)
  export MXLUA_VALGRIND=1 # tests shorten their long loops
  vg="valgrind -q --suppressions=tests/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=no"
  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    ran=$((ran + 1))
    if $vg "$t" >"$log" 2>&1 && ! grep -qE '^not ok' "$log"; then
      echo "ok   $t ($(grep -E '^[0-9]+ passed' "$log" | tail -n 1))"
    else
      echo "FAIL $t"; grep -E '^not ok|^# |==[0-9]+==' "$log" | head -n 30
      failed=$((failed + 1))
    fi
  done
  ran=$((ran + 1))
  if $vg lua5.4 scripts/soak.lua --epochs 2 --train 2000 >"$log" 2>&1; then
    echo "ok   scripts/soak.lua --epochs 2 --train 2000 under valgrind ($(tail -n 1 "$log"))"
  else
    echo "FAIL scripts/soak.lua under valgrind"; grep -E '==[0-9]+==' "$log" | head -n 40
    failed=$((failed + 1))
  fi
  ;;
*) echo "usage: tests/sanitize.sh asan|valgrind BUILD" >&2; exit 2 ;;
esac
echo "$mode: $((ran - failed)) of $ran runs clean, $failed failed ($(( $(date +%s) - start )) s)"
[ $failed -eq 0 ]
