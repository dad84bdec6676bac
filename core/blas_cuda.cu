// blas_cuda.cu: mx_cuda_gemm, row-major GEMM through cublasSgemm on the
// engine's stream, one cuBLAS handle per device, TF32 off (full float32).
// cuBLAS is opened (dlopen) on the first GPU GEMM, not linked: only loading
// libcublasLt costs 150 MiB of resident memory, which a CPU run must not pay.
#include <cublas_v2.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "cuda_util.h"

#ifndef MX_CUBLAS_PATH
#define MX_CUBLAS_PATH "libcublas.so.13"
#endif

static cublasHandle_t handles[MX_CUDA_MAX_DEVICES];
#define WORKSPACE_BYTES ((size_t)32 << 20)

// The six cuBLAS entry points used here, typed from cublas_v2.h's own declarations.
static struct {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetWorkspace_v2) set_workspace;
  decltype(&cublasSgemm_v2) sgemm;
} cublas;
static char cublas_load_error[512];

static void load_cublas(void) {
  // the build's own copy first (its absolute path), then the loader's search path
  void *lib = dlopen(MX_CUBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(cublas_load_error, sizeof cublas_load_error, "cannot open cuBLAS (%s): %s", MX_CUBLAS_PATH,
             why ? why : "unknown error");
    return;
  }
  const char *missing = NULL;
#define MX_CUBLAS_SYMBOL(field, name)                                                                                  \
  if (!(cublas.field = (decltype(cublas.field))dlsym(lib, name)) && !missing) missing = name;
  MX_CUBLAS_SYMBOL(create, "cublasCreate_v2")
  MX_CUBLAS_SYMBOL(destroy, "cublasDestroy_v2")
  MX_CUBLAS_SYMBOL(set_math_mode, "cublasSetMathMode")
  MX_CUBLAS_SYMBOL(set_stream, "cublasSetStream_v2")
  MX_CUBLAS_SYMBOL(set_workspace, "cublasSetWorkspace_v2")
  MX_CUBLAS_SYMBOL(sgemm, "cublasSgemm_v2")
#undef MX_CUBLAS_SYMBOL
  if (missing) {
    snprintf(cublas_load_error, sizeof cublas_load_error, "cuBLAS (%s) lacks %s", MX_CUBLAS_PATH, missing);
    cublas.sgemm = NULL;
    dlclose(lib);
  }
}

// Opens cuBLAS once per process; the library stays open until exit.
extern "C" mx_status mx_cuda_blas_load(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, load_cublas);
  if (!cublas.sgemm) return mx_error_at(MX_ERR_DEVICE, "mx_gemm", "%s", cublas_load_error);
  return MX_OK;
}

static const char *cublas_error(cublasStatus_t s) {
  switch (s) {
  case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
  case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
  case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
  case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
  case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
  case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
  case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
  case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  default: return "unknown cuBLAS status";
  }
}

// The device's handle, bound to the engine's stream, TF32 tensor-core math off.
static mx_status handle_for(int dev, cublasHandle_t *out) {
  if (dev < 0 || dev >= MX_CUDA_MAX_DEVICES)
    return mx_error_at(MX_ERR_DEVICE, "mx_gemm", "gpu(%d) is beyond the %d devices supported", dev, MX_CUDA_MAX_DEVICES);
  mx_status st = mx_cuda_set_device(dev);
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_gemm");
  if (!handles[dev]) {
    st = mx_cuda_blas_load();
    if (st != MX_OK) return st;
    cublasHandle_t h;
    cublasStatus_t s = cublas.create(&h);
    if (s != CUBLAS_STATUS_SUCCESS)
      return mx_error_at(s == CUBLAS_STATUS_ALLOC_FAILED ? MX_ERR_NOMEM : MX_ERR_DEVICE,
                      "mx_gemm", "cublasCreate on gpu(%d) failed: %s", dev, cublas_error(s));
    // CUBLAS_DEFAULT_MATH: no TF32 (CUBLAS_TF32_TENSOR_OP_MATH would round inputs to 10 bits)
    s = cublas.set_math_mode(h, CUBLAS_DEFAULT_MATH);
    if (s == CUBLAS_STATUS_SUCCESS) s = cublas.set_stream(h, mx_cuda_stream());
    // a workspace of our own, made now: cuBLAS then never allocates inside a
    // recorded CUDA graph (cuda_graph.cu); 32 MiB is NVIDIA's advice for Hopper
    void *ws = NULL;
    if (s == CUBLAS_STATUS_SUCCESS && cudaMalloc(&ws, WORKSPACE_BYTES) == cudaSuccess) {
      if (cublas.set_workspace(h, ws, WORKSPACE_BYTES) != CUBLAS_STATUS_SUCCESS) cudaFree(ws);
    } else {
      cudaGetLastError(); // cuBLAS keeps its own workspace
    }
    if (s != CUBLAS_STATUS_SUCCESS) {
      cublas.destroy(h);
      return mx_error_at(MX_ERR_DEVICE, "mx_gemm", "setting up cuBLAS on gpu(%d) failed: %s", dev, cublas_error(s));
    }
    handles[dev] = h;
  }
  *out = handles[dev];
  return MX_OK;
}

// Row-major C (m, n) = alpha op(A) op(B) + beta C; sizes already checked by mx_gemm.
mx_status mx_cuda_gemm(int dev, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, float *c, int ldc) {
  cublasHandle_t h = NULL;
  mx_status st = handle_for(dev, &h);
  if (st != MX_OK) return st;
  st = mx_cuda_take_pending("mx_gemm"); // a failure from an earlier launch
  if (st != MX_OK) return st;
  // The one place where row-major meets cuBLAS's column-major: a row-major
  // matrix is its transpose in column-major, so row-major C = op(A) op(B) is
  // column-major C^T = op(B)^T op(A)^T: the same buffers, A and B swapped, m and n swapped.
  cublasStatus_t s = cublas.sgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b,
                                 ldb, a, lda, &beta, c, ldc);
  if (s != CUBLAS_STATUS_SUCCESS)
    return mx_error_at(MX_ERR_DEVICE, "mx_gemm", "cublasSgemm on gpu(%d) failed: %s (m %d, n %d, k %d)", dev,
                    cublas_error(s), m, n, k);
  return mx_cuda_launch_status("mx_gemm", "cublasSgemm");
}
