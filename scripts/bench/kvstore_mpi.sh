#!/bin/sh
# kvstore_mpi.sh: samples/s of the tutorial MLP (FeedForward on MNIST) in 1 process and in 2
# MPI processes (kvstore 'mpi', each on half the data) at batch 100 and 1000 per process, with
# the all-reduce time per step (scripts/bench/kvstore_mpi.lua). Run from the repository root.
if ! command -v mpirun >/dev/null 2>&1; then echo "kvstore_mpi: skipped (no mpirun: make deps)"; exit 0; fi
MPIRUN="mpirun --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1"
status=0
for b in 100 1000; do
  # one process on one core, then on both (OpenBLAS threads), then 2 processes of one thread
  OPENBLAS_NUM_THREADS=1 build/mxlua scripts/bench/kvstore_mpi.lua --batch "$b" || status=1
  OPENBLAS_NUM_THREADS=2 build/mxlua scripts/bench/kvstore_mpi.lua --batch "$b" --threads 2 || status=1
  $MPIRUN -np 1 build/mxlua scripts/bench/kvstore_mpi.lua --kvstore mpi --batch "$b" || status=1
  # 2 processes: the all-reduce after backward, then overlapped with it (the default)
  $MPIRUN -np 2 -x MXLUA_MPI_OVERLAP=0 build/mxlua scripts/bench/kvstore_mpi.lua --kvstore mpi --batch "$b" \
    --overlap 0 || status=1
  $MPIRUN -np 2 build/mxlua scripts/bench/kvstore_mpi.lua --kvstore mpi --batch "$b" || status=1
done
exit $status
