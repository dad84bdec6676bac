/* internal.h: the engine's private structs (storage, NDArray, the device
 * interface) and helpers shared by core/ files. Not installed. */
#ifndef MX_INTERNAL_H
#define MX_INTERNAL_H

#include "mx.h"

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

/* One device kind's primitives. Pools, NDArray functions and operators reach
 * a device only through this table (see device_cpu.c, device_cuda.cu).
 * `kernels` holds the device's math kernels (core/kernels.h). */
struct mx_kernels;
typedef struct mx_device {
  const char *name;
  mx_status (*check)(int dev_id);                              /* is dev_id usable? */
  mx_status (*raw_alloc)(int dev_id, size_t bytes, void **out); /* system allocation */
  void (*raw_free)(int dev_id, void *ptr);
  mx_status (*memset_zero)(int dev_id, void *ptr, size_t bytes);
  mx_status (*copy_from_host)(int dev_id, void *dst, const void *src, size_t bytes);
  mx_status (*copy_to_host)(int dev_id, void *dst, const void *src, size_t bytes);
  mx_status (*copy_on_device)(int dev_id, void *dst, const void *src, size_t bytes);
  mx_status (*sync)(int dev_id);
  const struct mx_kernels *kernels;
} mx_device;

extern const mx_device mx_device_cpu;
#ifdef MX_HAVE_CUDA
extern const mx_device mx_device_cuda;
/* blas_cuda.cu: opens cuBLAS (once per process; no GPU needed) and finds its entry points */
mx_status mx_cuda_blas_load(void);
#endif
/* blas.c: the CPU GEMMs' most threads (OpenBLAS's count at first use). */
int mx_blas_max_threads(void);
/* gemm_plan.c: a CPU GEMM (arguments checked by mx_gemm) through the library the plan chose. */
void mx_gemm_plan_run(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                      int ldb, float beta, float *c, int ldc);
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
  int copy_b, n, k, ldb; /* B transposed into a buffer first (libxsmm cannot transpose it) */
} mx_xsmm;
int mx_xsmm_kernel(mx_xsmm *out, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc, float alpha,
                   float beta);
int mx_xsmm_run(const mx_xsmm *kernel, const float *a, const float *b, float *c);
int mx_xsmm_describe(char *buf, size_t size);
/* The device table for ctx, or NULL with an error recorded. */
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

#endif
