#!/bin/sh
# scripts/bench/run.sh: every benchmark `make bench` runs, one line each, from the repository
# root. Uses Debian's /usr/bin/python3 (the python3 first on PATH may lack numpy).
cd "$(dirname "$0")/../.." || exit 2
status=0
# the CPU, the GEMM libraries (OpenBLAS's core, BLIS's sub-configuration, libxsmm's target) and the
# GEMM plan this machine gets for the MLP's and LeNet's shapes (scripts/bench/gemm_plan.lua)
build/mxlua scripts/bench/gemm_plan.lua --lenet || status=1
# element-wise and reduction kernels against a plain C loop (scripts/bench/elementwise.c)
make -s build/bench/elementwise && build/bench/elementwise || status=1
# the executor's forward+backward step of the MLP next to its 8 GEMMs through OpenBLAS (scripts/bench/mlp_step.c)
# (OpenBLAS's default threads, then one thread: the steadier figure on a shared machine)
make -s build/bench/mlp_step && build/bench/mlp_step && OPENBLAS_NUM_THREADS=1 build/bench/mlp_step || status=1
# GPU training samples/s, without and with a CUDA graph of the step (prints "skipped" without a GPU)
build/mxlua scripts/bench/gpu_train.lua || status=1
build/mxlua scripts/bench/gpu_kernels.lua || status=1
# training side by side: OpenBLAS GEMM ceiling, mxlua, numpy, PyTorch (see scripts/bench/training.py)
/usr/bin/python3 scripts/bench/training.py "$@" || status=1
# this machine's float32 peak, measured (scripts/bench/peak.c): LeNet's GFLOP/s are given as a share of
# the one-thread figure
peak=$(make -s build/bench/peak && build/bench/peak) || status=1
echo "$peak"
peak1=$(echo "$peak" | sed -n 's/.*"peak_gflops_1_thread": \([0-9.]*\).*/\1/p')
# LeNet training samples/s, mxlua and PyTorch 1.13 side by side, both on one thread (scripts/bench/lenet_*):
# torch.set_num_threads(1) leaves the OpenBLAS under PyTorch's GEMMs on every core, so both get OPENBLAS_NUM_THREADS=1
OPENBLAS_NUM_THREADS=1 build/mxlua scripts/bench/lenet_mxlua.lua ${peak1:+--peak "$peak1"} || status=1
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/bench/lenet_torch.py --threads 1 || status=1
# 1 vs 2 MPI processes (kvstore 'mpi'), MLP at batch 100 and 1000 per process, all-reduce ms/step
sh scripts/bench/kvstore_mpi.sh || status=1
exit $status
