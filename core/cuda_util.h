/* cuda_util.h: helpers shared by the CUDA files (.cu only): the one stream per
 * device that all of the engine's GPU work goes to, launch geometry, and CUDA
 * failures turned into mx_status (device_cuda.cu defines them). */
#ifndef MX_CUDA_UTIL_H
#define MX_CUDA_UTIL_H

#ifndef __CUDACC__
#error "cuda_util.h is for .cu files"
#endif

#include <cuda_runtime.h>

extern "C" {
#include "operator.h"
}

#define MX_CUDA_MAX_DEVICES 16

/* Makes dev_id the current device (cheap when it already is). */
mx_status mx_cuda_set_device(int dev_id);
/* The current device's id, 0 on failure. */
int mx_cuda_current_device(void);
/* The engine's stream on the current device, created on first use; NULL (the
 * legacy stream) when it cannot be created (the failure is kept pending). */
cudaStream_t mx_cuda_stream(void);
/* Makes the device holding `ptr` current (kernel table entries get no context:
 * they find it from their output pointer). */
void mx_cuda_device_of(const void *ptr);

/* The CUDA device's slots defined beside their kernels (device_cuda.cu assembles mx_device_cuda):
 * row-major GEMM through cuBLAS (blas_cuda.cu), Philox fills (random_cuda.cu), CUDA graphs
 * (cuda_graph.cu: begin, end, launch, release, and the reruns and refreshes of its
 * hyper-parameters). */
mx_status mx_cuda_gemm(int dev_id, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, float *c, int ldc);
mx_status mx_cuda_random_uniform(int dev_id, float *y, int64_t n, float low, float high, uint64_t key, uint64_t ctr);
mx_status mx_cuda_random_normal(int dev_id, float *y, int64_t n, float mean, float std, uint64_t key, uint64_t ctr);
mx_status mx_cuda_graph_record(int dev_id);
mx_status mx_cuda_graph_finish(int dev_id, void **out);
mx_status mx_cuda_graph_replay(void *graph);
void mx_cuda_graph_free(void *graph);
mx_status mx_cuda_graph_rerun_open(int *hook);
mx_status mx_cuda_graph_rerun_close(void);
mx_status mx_cuda_graph_refresh_open(void *graph, int hook);
mx_status mx_cuda_graph_refresh_close(void *graph);

/* Failures of functions that cannot return a status (the kernel table, the
 * optimizer kernels) are kept pending, per thread, and reported by the next
 * call that can: every copy, memset and sync of the device interface (and
 * every operator kernel, GEMM and graph call) first returns the pending
 * failure, so no result is ever read back from a device after a failed launch
 * without the error. Allocation does not (the pool retries a failed one). */
void mx_cuda_set_pending(const char *what, cudaError_t e);
/* The pending failure as an mx_status ("<where>: <what> failed: <CUDA error>"),
 * cleared; MX_OK when none. */
mx_status mx_cuda_take_pending(const char *where);
/* After a launch: keeps cudaGetLastError() pending, naming the kernel. */
static inline void mx_cuda_note_launch(const char *kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) mx_cuda_set_pending(kernel, e);
}
/* After a launch in a function that returns mx_status: the launch error, or a
 * failure left pending before, as a status naming `where`. */
static inline mx_status mx_cuda_launch_status(const char *where, const char *kernel) {
  mx_cuda_note_launch(kernel);
  return mx_cuda_take_pending(where);
}
/* A failed CUDA call as a status: "<where>: <what> failed: <CUDA error>". */
mx_status mx_cuda_fail(const char *where, const char *what, cudaError_t e);
/* mx_cuda_launch_status and mx_cuda_fail in an operator's kernel, which does not know its
 * caller: the failure names the operator and node (mx_op_error_node) and no function ("" records
 * none); the executor or the eager call adds its own. */
static inline mx_status mx_cuda_op_status(const mx_op_call *c, const char *kernel) {
  mx_cuda_note_launch(kernel);
  mx_status st = mx_cuda_take_pending("");
  return st == MX_OK ? st : mx_op_error_node(c->attrs, st);
}
static inline mx_status mx_cuda_op_fail(const mx_op_call *c, const char *what, cudaError_t e) {
  return mx_op_error_node(c->attrs, mx_cuda_fail("", what, e));
}

/* ---- launch geometry: grid-stride loops over int64 counts ---- */
#define MX_CUDA_THREADS 256
static inline unsigned mx_cuda_blocks(int64_t n) {
  int64_t b = (n + MX_CUDA_THREADS - 1) / MX_CUDA_THREADS;
  if (b < 1) b = 1;
  if (b > 65535) b = 65535; /* the grid-stride loop covers the rest */
  return (unsigned)b;
}
#define MX_CUDA_LOOP(i, n)                                                                                         \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)blockDim.x * gridDim.x)

/* kernel<<<grid, block, shmem, stream>>>: the one spelling of a launch, so that the
 * emulated GPU of tests/cuda_emu (g++, which cannot parse <<<>>>) runs the same source. */
#ifdef MX_CUDA_EMU
#define MX_CUDA_KERNEL(kernel, grid, block, shmem, stream) mx_emu_kernel(#kernel, kernel, grid, block, shmem, stream)
#else
#define MX_CUDA_KERNEL(kernel, grid, block, shmem, stream) kernel<<<grid, block, shmem, stream>>>
#endif

/* A launch of `kernel` over n elements on the engine's stream (nothing when n is
 * 0: a zero-sized grid is a launch error). */
#define MX_CUDA_LAUNCH(kernel, n, ...)                                                                             \
  do {                                                                                                             \
    if ((n) > 0) {                                                                                                 \
      MX_CUDA_KERNEL(kernel, mx_cuda_blocks(n), MX_CUDA_THREADS, 0, mx_cuda_stream())(__VA_ARGS__);                   \
      mx_cuda_note_launch(#kernel);                                                                                \
    }                                                                                                              \
  } while (0)

/* For a launch taking `bytes` (at most 64) of hyper-parameters at `host` (the fused
 * optimizer updates; cuda_graph.cu). Returns 0: launch, the kernel reading *dev
 * when it is not NULL (recording a graph: a slot of its parameter block), the
 * values at host otherwise; 1: do not launch (refreshing a graph: the values went
 * to its parameter block, the kernel is in the graph). */
int mx_cuda_graph_param(const void *host, size_t bytes, const void **dev);

/* A few words of device memory on the current device for small answers
 * (take's first bad index, SoftmaxOutput's valid count), made once and kept;
 * NULL (the failure pending) when it cannot be made. 8 words. One stream per
 * device orders every use, so a user finishes before the next starts. */
unsigned long long *mx_cuda_scratch(void);

/* Makes the call's device current. */
static inline mx_status mx_cuda_enter(const mx_op_call *c) { return mx_cuda_set_device(c->ctx.dev_id); }

/* ---- output requests on the device (mx_req, see operator.h) ---- */
__device__ static inline void mx_cuda_store(mx_req req, float *dst, float v) {
  if (req == MX_REQ_ADD) *dst += v;
  else if (req != MX_REQ_NULL) *dst = v;
}

#endif
