#!/bin/sh
# tests/cuda_emu/run.sh (make test-gpu-emu): first the emulator's own tests, each a
# deliberate GPU bug it must catch; then the GPU suite (busted --tags=gpu) on two
# emulated GPUs, every GPU array in an allocation of its own (MXLUA_GPU_POOL=0) so
# that the guard pages sit right after each array's last element.
cd "$(dirname "$0")/../.." || exit 2
bin=build-gpu-emu/cuda_emu_selftest
bad=0
expect() { # mode, text the output must hold, "fails" or "passes"
  out=$("$bin" "$1" 2>&1); rc=$?
  if { [ "$3" = fails ] && [ $rc -eq 0 ]; } || { [ "$3" = passes ] && [ $rc -ne 0 ]; } ||
     ! printf '%s' "$out" | grep -q "$2"; then
    echo "not ok - emulator self-test $1: expected it to $3 with \"$2\", got status $rc:"
    printf '%s\n' "$out" | head -n 20
    bad=$((bad + 1))
  else
    echo "ok - emulator self-test $1 $3: $(printf '%s' "$out" | grep -m1 "$2")"
  fi
}
expect ok '^ok$' passes
expect off_by_one 'scale_off_by_one_kernel.*past the end of a 4000-byte allocation' fails
expect oob_write 'scale_oob_write_kernel.*past the end of a 4000-byte allocation' fails
expect host_read 'the host dereferenced device pointer' fails
expect missing_sync 'wrong result (stale?)' fails
expect launch_1025 'invalid configuration argument' fails
expect bad_barrier 'wait at __syncthreads() while 1 have returned' fails
# a GPU check that cannot run is an error, not a pass (the index checks of take and one_hot)
out=$(MXLUA_GPU_POOL=0 MXLUA_EMU_GPU_BYTES=4020 build-gpu-emu/mxlua tests/cuda_emu/index_check_failed.lua 2>&1)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q 'mx.nd.take: take: cudaMalloc (scratch) on gpu(0) failed: out of memory' &&
   printf '%s' "$out" | grep -q 'mx.nd.one_hot: one_hot: cudaMalloc (scratch) on gpu(0) failed: out of memory'; then
  echo "ok - a take and a one_hot whose index check cannot run fail: $(printf '%s' "$out" | tr '\n' ' ')"
else
  echo "not ok - a take or a one_hot whose index check cannot run: $out"; bad=$((bad + 1))
fi
[ $bad -eq 0 ] || { echo "$bad emulator self-tests failed"; exit 1; }
MXLUA_BUILD_DIR=build-gpu-emu MXLUA_GPU_POOL=0 sh tests/run.sh gpu || exit 1
# the CUDA graphs and the GPU parity cases again with the GPU pool on, as a user runs them
echo "== with the GPU pool on"
MXLUA_BUILD_DIR=build-gpu-emu MXLUA_REQUIRE_GPU=1 LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/tests/spec/?.lua;;" \
  LUA_CPATH="$PWD/build-gpu-emu/lua/?.so;;" MXLUA_ROOT="$PWD" busted -o TAP --cpath="$PWD/build-gpu-emu/lua/?.so" \
  --filter='CUDA.graph' \
  tests/spec/gpu_spec.lua tests/spec/gpu_parity_spec.lua >build-gpu-emu/pool_on.log 2>&1
rc=$?
grep -E '^not ok' -A3 build-gpu-emu/pool_on.log; grep -cE '^ok' build-gpu-emu/pool_on.log | sed 's/$/ passed with the pool on/'
[ $rc -eq 0 ] || { tail -n 20 build-gpu-emu/pool_on.log; exit 1; }
