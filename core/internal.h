/* internal.h: the engine's private structs (storage, NDArray, the device
 * interface) and helpers shared by core/ files. Not installed. */
#ifndef MX_INTERNAL_H
#define MX_INTERNAL_H

#include "mx.h"

#include <stdarg.h>
#include <stdbool.h>

/* Refcounted device memory, taken from the device's pool. */
typedef struct mx_storage {
  int refcount;
  mx_context ctx;
  size_t bytes;
  float *data;
} mx_storage;

struct mx_ndarray {
  int refcount;
  mx_storage *storage;
  int64_t offset; /* in elements, into storage->data */
  int ndim;
  int64_t shape[MX_MAX_NDIM];
  int64_t size;
};

/* The device interface: one table per device kind, and the only way the engine
 * reaches a device (as ggml's backend interface). mx_device_for(ctx) finds it in
 * the table of devices this build has (devices.c, the one place that knows which
 * are built in); pools, NDArray functions, mx_gemm, mx.random and the optimizers
 * call through its slots. CPU: device_cpu.c; CUDA: device_cuda.cu. `kernels`
 * holds the NDArray math kernels (core/kernels.h), `optim` the fused optimizer
 * updates (core/optimizer.h). */
struct mx_kernels;
struct mx_optim_kernels;
struct mx_op;
struct mx_op_call;
/* An operator's forward or backward on one device (core/operator.h). */
typedef mx_status (*mx_op_kernel)(const struct mx_op_call *c);
typedef struct mx_device {
  const char *name;
  int (*count)(void);                                          /* usable devices of this kind */
  mx_status (*check)(int dev_id);                              /* is dev_id usable? */
  mx_status (*raw_alloc)(int dev_id, size_t bytes, void **out); /* system allocation */
  void (*raw_free)(int dev_id, void *ptr);
  mx_status (*memset_zero)(int dev_id, void *ptr, size_t bytes);
  mx_status (*copy_from_host)(int dev_id, void *dst, const void *src, size_t bytes);
  mx_status (*copy_to_host)(int dev_id, void *dst, const void *src, size_t bytes);
  mx_status (*copy_on_device)(int dev_id, void *dst, const void *src, size_t bytes);
  mx_status (*sync)(int dev_id);
  /* row-major C (m, n) = alpha op(A) op(B) + beta C, arguments checked by mx_gemm (blas.c) */
  mx_status (*gemm)(int dev_id, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc);
  /* y[0..n) from Philox key `key`, counter blocks ctr.. (random.c's stream: number i is word
   * i % 4 of block ctr + i / 4; normals pair words 0-1 and 2-3 by Box-Muller) */
  mx_status (*random_uniform)(int dev_id, float *y, int64_t n, float low, float high, uint64_t key, uint64_t ctr);
  mx_status (*random_normal)(int dev_id, float *y, int64_t n, float mean, float std, uint64_t key, uint64_t ctr);
  /* recording the device's queued work into a graph and replaying it (mx_cuda_graph_*, graph.c);
   * NULL on a device without graphs. `end` always ends the recording, giving its graph or NULL. */
  mx_status (*graph_begin)(int dev_id);
  mx_status (*graph_end)(int dev_id, void **out);
  mx_status (*graph_launch)(void *graph);
  void (*graph_release)(void *graph);
  /* the optimizer updates whose hyper-parameters each launch refreshes (mx_cuda_graph_rerun_begin
   * and _refresh_begin in mx.h): a rerun of the recording in progress on this thread, opened
   * and closed; a graph's rerun `hook` made again before a launch, opened and closed */
  mx_status (*graph_rerun_open)(int *hook);
  mx_status (*graph_rerun_close)(void);
  mx_status (*graph_refresh_open)(void *graph, int hook);
  mx_status (*graph_refresh_close)(void *graph);
  const struct mx_kernels *kernels;
  const struct mx_optim_kernels *optim;
  /* the kernels of operators whose code for this device is the device's own (the CUDA device:
   * the operators with a .cu file, core/ops/cuda_ops.cu), NULL for any other operator; NULL
   * slot: none. Operators written over `kernels` (core/ops/table_op.h) name theirs themselves. */
  mx_op_kernel (*op_kernel)(const struct mx_op *op, int backward);
} mx_device;

#define MX_DEV_SLOTS 3 /* tables indexed by mx_device_type (1 = cpu, 2 = gpu) */
/* devices.c: the device of each mx_device_type this build has (NULL: not built in). */
extern const mx_device *const mx_devices[MX_DEV_SLOTS];
extern const mx_device mx_device_cpu;
/* blas.c: the CPU GEMMs' most threads (OpenBLAS's count at first use). */
int mx_blas_max_threads(void);
/* team.c: the engine's CPU thread team. mx_team_run calls job(ctx, part, parts) for part 0 ..
 * parts-1, part 0 and any beyond the team's mx_team_size() on the caller, and returns when all
 * are done; a second caller while the team is busy runs its parts itself. */
typedef void (*mx_team_job)(void *ctx, int part, int parts);
int mx_team_size(void);
void mx_team_run(mx_team_job job, void *ctx, int parts);
/* gemm_plan.c: the CPU device's GEMM (arguments checked by mx_gemm) through the library the plan chose. */
mx_status mx_gemm_plan_run(int dev_id, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                           const float *b, int ldb, float beta, float *c, int ldc);
/* random.c: the CPU device's random fills (the mx_device slots) */
mx_status mx_random_uniform_cpu(int dev_id, float *y, int64_t n, float low, float high, uint64_t key, uint64_t ctr);
mx_status mx_random_normal_cpu(int dev_id, float *y, int64_t n, float mean, float std, uint64_t key, uint64_t ctr);
/* blas_blis.c (MX_HAVE_BLIS): BLIS's row-major sgemm, its threads, "version arch" (returns 1
 * where its CPU detection chose the generic kernels). */
void mx_blis_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);
int mx_blis_threads(void);
void mx_blis_set_threads(int n);
int mx_blis_describe(char *buf, size_t size);
/* blas_libxsmm.c (MX_HAVE_LIBXSMM): a kernel for one row-major shape (returns 0: none), running
 * it (returns 0: no memory for its copy of B), "version target" (returns 1 where libxsmm fell
 * back to its generic code). */
typedef struct mx_xsmm {
  void *fn;
  int ta, m, n, k, lda, ldb, ldc;
  int copy_b; /* B transposed into a buffer first (libxsmm cannot transpose it) */
  float beta;
  /* mx_xsmm_run_team: C's columns in `parts` parts of part_n (the last: the rest), run by the
   * team; parts 0: no split */
  void *part_fn, *last_fn;
  int parts, part_n;
} mx_xsmm;
int mx_xsmm_kernel(mx_xsmm *out, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc, float alpha,
                   float beta);
int mx_xsmm_run(const mx_xsmm *kernel, const float *a, const float *b, float *c);
void mx_xsmm_run_team(const mx_xsmm *kernel, const float *a, const float *b, float *c);
int mx_xsmm_describe(char *buf, size_t size);
/* The device table for ctx (its id checked), or NULL with an error recorded. */
const mx_device *mx_device_for(mx_context ctx);

/* Pooled allocation on a context (device.c). Counts into mx_alloc_stats. */
mx_status mx_pool_alloc(mx_context ctx, size_t bytes, void **out);
void mx_pool_free(mx_context ctx, void *ptr, size_t bytes);

mx_status mx_storage_create(mx_context ctx, size_t bytes, mx_storage **out);
void mx_storage_release(mx_storage *s);

/* An NDArray header over existing storage (retains it). */
mx_status mx_ndarray_view(mx_storage *s, int64_t offset, const int64_t *shape, int ndim, mx_ndarray **out);

static inline int64_t mx_shape_size(const int64_t *shape, int ndim) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}
/* "(3,4)" into buf; returns buf. */
char *mx_shape_str(const int64_t *shape, int ndim, char *buf, size_t len);

/* mx_error with a va_list (error.c), for helpers that record through their own printf-style
 * front (mx_op_error). */
mx_status mx_error_v(mx_status status, const char *fmt, va_list ap);

#endif
