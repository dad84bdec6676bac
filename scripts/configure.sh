#!/bin/sh
# scripts/configure.sh BUILD: decides the build's optional parts (CUDA with cuBLAS, NCCL, BLIS, MPI)
# from what this machine has when make runs, and writes them to BUILD/config.mk for the Makefile.
#
# The file is rewritten only when its content changes: every object depends on it, so a library
# that appears (after `make deps`) or goes, nvcc found or lost, or an option given on make's
# command line rebuilds what it affects, and an unchanged machine rebuilds nothing.
#
# Each option is a make variable: NVCC (the nvcc path), BLIS (the folder of blis.h), MPI, NCCL, LIBXSMM.
# Given to make (command line or environment: the Makefile lists those in MX_GIVEN), its value is
# used: empty builds without it (and mx.features() says it was turned off on request). Not given,
# it is looked for here. An option found adds its NAME to FEATURES (the Makefile compiles with
# -DMX_HAVE_NAME) and NAME_CFLAGS / NAME_LIBS to every compile and link line.
#
# To add an optional library NAME: add its make variable to MX_OPTIONS in the Makefile, one block
# here (as libxsmm's below), its line in core/features.c, and its probe in the features spec
# (tests/spec/features_spec.lua).
set -e
build=${1:?usage: scripts/configure.sh BUILD}
features="" offs="" vars=""

given() { case " $MX_GIVEN " in *" $1 "*) return 0 ;; esac; return 1; }
value() { eval "printf '%s' \"\${$1:-}\""; }
# want VAR: false when VAR was given empty (turned off on request)
want() { ! given "$1" || [ -n "$(value "$1")" ]; }
# on NAME CFLAGS LIBS: compiled in
on() { features="$features $1"; set_var "$1_CFLAGS" "$2"; set_var "$1_LIBS" "$3"; }
# off VAR NAME: not compiled in; remembered when VAR was given empty
off() { if given "$1" && [ -z "$(value "$1")" ]; then offs="$offs $2"; fi; }
set_var() { vars="$vars
$1 := $2"; }

# ---- CUDA (and cuBLAS, opened by blas_cuda.cu on the first GPU GEMM) ----
if given NVCC; then nvcc=$NVCC; else
  nvcc=$(command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; } || true)
fi
if [ -n "$nvcc" ]; then
  # nvcc may be a wrapper script, so ask nvcc where it lives; the libraries are in lib64 or targets/<arch>/lib
  cuda_home=$("$nvcc" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ _HERE_=//p' | head -n 1)
  cuda_home=${cuda_home%/bin}
  [ -n "$cuda_home" ] || cuda_home=${nvcc%/bin/nvcc}
  cuda_lib=$cuda_home/lib64
  for f in "$cuda_home"/lib64/libcudart.so "$cuda_home"/targets/*/lib/libcudart.so; do
    if [ -f "$f" ]; then cuda_lib=${f%/libcudart.so}; break; fi
  done
  cublas=$cuda_lib/libcublas.so
  for f in "$cuda_lib"/libcublas.so.[0-9]*; do [ -f "$f" ] && { cublas=$f; break; }; done
  set_var NVCC "$nvcc"
  set_var CUDA_HOME "$cuda_home"
  set_var CUDA_LIB "$cuda_lib"
  set_var CUBLAS_SO "$cublas"
  on CUDA "-I$cuda_home/include" "-L$cuda_lib -Wl,-rpath,$cuda_lib -lcudart -ldl -lstdc++"
  # ---- NCCL (kvstore 'nccl') when it lies beside CUDA ----
  if want NCCL && [ -f "$cuda_lib/libnccl.so" ] && [ -f "$cuda_home/include/nccl.h" ]; then
    on NCCL "" "-lnccl"
  else off NCCL NCCL; fi
else
  set_var NVCC ""
  off NVCC CUDA
fi

# ---- BLIS (core/blas_blis.c: the large CPU GEMMs), Debian's libblis-dev ----
arch=$(${CC:-cc} -print-multiarch 2>/dev/null || true)
[ -n "$arch" ] || arch=x86_64-linux-gnu
if given BLIS; then blis=$BLIS; else
  # Debian's default flavour (pthread) before the others (openmp, serial)
  blis=$(for h in /usr/include/"$arch"/blis-pthread/blis.h /usr/include/"$arch"/blis-*/blis.h; do
    [ -f "$h" ] && dirname "$h" && break; done || true)
fi
if [ -n "$blis" ]; then
  libdir=/usr/lib/$arch/${blis##*/}
  # BLIS's headers (and the cblas.h it ships beside blis.h) are for blas_blis.c alone: BLIS_INC
  set_var BLIS_INC "-isystem $blis"
  # linked after OpenBLAS, whose cblas_* symbols then win
  on BLIS "" "-L$libdir -Wl,-rpath,$libdir -lblis"
else off BLIS BLIS; fi

# ---- MPI (kvstore 'mpi'): Open MPI's pkg-config file, else its mpicc wrapper ----
mpi_libs="" mpi_cflags=""
if want MPI; then
  if pkg-config --exists ompi-c 2>/dev/null; then
    mpi_cflags=$(pkg-config --cflags ompi-c) mpi_libs=$(pkg-config --libs ompi-c)
  elif command -v mpicc >/dev/null 2>&1; then
    mpi_cflags=$(mpicc --showme:compile) mpi_libs=$(mpicc --showme:link)
  fi
fi
if [ -n "$mpi_libs" ]; then on MPI "$mpi_cflags" "$mpi_libs"; else off MPI MPI; fi

# ---- libxsmm (a candidate of the GEMM plan, core/gemm_plan.c), Debian's libxsmm-dev: a static,
# position-independent libxsmm.a whose BLAS calls resolve to OpenBLAS ----
if want LIBXSMM && [ -f /usr/include/libxsmm.h ] && [ -f /usr/lib/libxsmm.a ]; then
  on LIBXSMM "" "-lxsmm -lrt -ldl"
else off LIBXSMM LIBXSMM; fi

# ---- the file ----
mkdir -p "$build"
new="$build/config.mk.new.$$"
{
  echo "# $build/config.mk: written by scripts/configure.sh when the machine or the options change"
  echo "FEATURES :=$features"
  echo "OFF_ON_REQUEST :=$offs"
  echo "$vars"
} >"$new"
if cmp -s "$new" "$build/config.mk"; then
  rm -f "$new"
else
  mv "$new" "$build/config.mk"
  echo "configure ($build): with$features${offs:+; turned off:$offs}" >&2
fi
