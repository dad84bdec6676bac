#!/bin/sh
# scripts/gpu_session.sh: the CUDA backend's checks on a lent GPU machine, which has
# nvcc and the CUDA libraries but no Lua, OpenBLAS or busted and reaches no package
# registry. Here:   sh scripts/gpu_session.sh fetch build/debs
#                   (apt-get download of the Debian packages below into build/debs)
# There (the `run` device tool, with carry = ["build/debs", "data"]):
#                   sh scripts/gpu_session.sh run build/debs "$OUT"
# unpacks them (dpkg -x) into build/gpu-root, builds, and writes into OUT the logs of
# the GPU specs (as make test-gpu), test_cuda, train_mnist --ctx gpu, compute-sanitizer
# (memcheck, racecheck) on a short training with and without a CUDA graph, and the
# GPU benchmark. Exits non-zero when a step fails.
set -u
cd "$(dirname "$0")/.." || exit 2
PACKAGES="lua5.4 liblua5.4-0 liblua5.4-dev libreadline8 libreadline-dev libncurses-dev libtinfo6
  libopenblas0 libopenblas0-pthread libopenblas-dev libopenblas-pthread-dev libgfortran5 libquadmath0
  libpng16-16 libpng-dev zlib1g zlib1g-dev lua-busted lua-cliargs lua-dkjson lua-filesystem lua-luassert
  lua-mediator lua-penlight lua-say lua-system lua-term lua-socket lua-cjson"

case "${1:-}" in
fetch)
  dir=${2:?usage: gpu_session.sh fetch DIR}
  mkdir -p "$dir" && cd "$dir" || exit 2
  # shellcheck disable=SC2086
  apt-get download $PACKAGES || exit 1
  ls -1 ./*.deb | wc -l
  exit 0
  ;;
run) ;;
*)
  echo "usage: gpu_session.sh fetch DIR | run DIR OUT" >&2
  exit 2
  ;;
esac

debs=${2:?usage: gpu_session.sh run DIR OUT}
out=${3:?usage: gpu_session.sh run DIR OUT}
mkdir -p "$out"
root=$PWD/build/gpu-root
mkdir -p "$root"
for f in "$debs"/*.deb; do dpkg -x "$f" "$root" || exit 1; done

# the unpacked packages in place of installed ones (no alternatives: name the real paths)
arch=x86_64-linux-gnu
lib=$root/usr/lib/$arch
export PATH="$root/usr/bin:/usr/local/cuda/bin:$PATH"
export CPATH="$root/usr/include:$root/usr/include/$arch:$root/usr/include/$arch/openblas-pthread"
export LIBRARY_PATH="$lib:$lib/openblas-pthread"
export LD_LIBRARY_PATH="$lib:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# lua5.4 reads LUA_PATH_5_4 before LUA_PATH (which tests/run.sh sets): both the
# project's paths and the unpacked modules
export LUA_PATH_5_4="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/tests/spec/?.lua;$root/usr/share/lua/5.4/?.lua;$root/usr/share/lua/5.4/?/init.lua;;"
export LUA_CPATH_5_4="$PWD/build/lua/?.so;$lib/lua/5.4/?.so;;"
# busted's own script starts with `#!/usr/bin/env lua`: run it with lua5.4
mkdir -p "$root/shim"
printf '#!/bin/sh\nexec lua5.4 %s "$@"\n' "$root/usr/bin/busted" >"$root/shim/busted"
chmod +x "$root/shim/busted"
export PATH="$root/shim:$PATH"

status=0
step() { # step NAME COMMAND...: runs it with its output in OUT/NAME.log, says how it went
  name=$1
  shift
  start=$(date +%s)
  "$@" >"$out/$name.log" 2>&1
  rc=$?
  echo "$name: exit $rc in $(($(date +%s) - start)) s" | tee -a "$out/summary.txt"
  tail -n 3 "$out/$name.log" | sed 's/^/    /' | tee -a "$out/summary.txt"
  [ $rc -eq 0 ] || status=1
}

nvidia-smi >"$out/nvidia-smi.txt" 2>&1
step build make -j16 all build-tests LUA_INC="-I$root/usr/include/lua5.4" LUA_LIB="-L$lib -llua5.4"
step test_cuda build/tests/test_cuda
step test_gpu env MXLUA_REQUIRE_GPU=1 sh tests/run.sh gpu
step train_mnist_gpu build/mxlua scripts/train_mnist.lua --ctx gpu
step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 build/mxlua scripts/bench/gpu_train.lua 30
step racecheck compute-sanitizer --tool racecheck --error-exitcode 1 build/mxlua scripts/bench/gpu_train.lua 10
step bench_gpu_train build/mxlua scripts/bench/gpu_train.lua
exit $status
