// cublas.cpp (tests/cuda_emu): the emulated cuBLAS: SGEMM with cuBLAS's column-major
// arguments, checked as cuBLAS checks them, queued on the handle's stream and run by
// the host BLAS (OpenBLAS) over the emulated device memory. Test tool only.
#include <cblas.h>

#include "cublas_v2.h"
#include "emu_internal.h"

struct cublasContext {
  int dev;
  cudaStream_t stream;
  cublasMath_t math;
};

extern "C" cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) {
  int n = 0;
  cudaGetDeviceCount(&n);
  if (n == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  *handle = new cublasContext{mx_emu_current_device(), NULL, CUBLAS_DEFAULT_MATH};
  return CUBLAS_STATUS_SUCCESS;
}

extern "C" cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  mx_emu_drain_stream(handle->stream);
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

extern "C" cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

extern "C" cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (stream && mx_emu_stream_device(stream) != handle->dev) return CUBLAS_STATUS_INVALID_VALUE;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

extern "C" cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t bytes) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (bytes && mx_emu_device_of(workspace, bytes) != handle->dev) return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}

static bool on_device(const float *p, int ld, int cols, int dev) {
  if (cols == 0) return true;
  size_t bytes = ((size_t)ld * (size_t)(cols - 1) + 1) * sizeof(float);
  return mx_emu_device_of(p, bytes) == dev;
}

extern "C" cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         const float *B, int ldb, const float *beta, float *C, int ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  // cuBLAS's argument checks (column-major: A is m x k, or k x m when transposed)
  int a_rows = transa == CUBLAS_OP_N ? m : k, a_cols = transa == CUBLAS_OP_N ? k : m;
  int b_rows = transb == CUBLAS_OP_N ? k : n, b_cols = transb == CUBLAS_OP_N ? n : k;
  if (m < 0 || n < 0 || k < 0 || lda < (a_rows > 1 ? a_rows : 1) || ldb < (b_rows > 1 ? b_rows : 1) ||
      ldc < (m > 1 ? m : 1) || transa > CUBLAS_OP_C || transb > CUBLAS_OP_C)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (mx_emu_current_device() != handle->dev) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  int dev = handle->dev;
  if ((k > 0 && (!on_device(A, lda, a_cols, dev) || !on_device(B, ldb, b_cols, dev))) || !on_device(C, ldc, n, dev))
    mx_emu_die("cublasSgemm on gpu(%d) (m %d, n %d, k %d, lda %d, ldb %d, ldc %d): an operand is not inside one "
               "allocation of that GPU (host memory, another GPU's, or out of range): an illegal address",
               dev, m, n, k, lda, ldb, ldc);
  float al = *alpha, be = *beta; // host pointer mode: read at the call
  cudaError_t e = mx_emu_enqueue(handle->stream, "cublasSgemm", [=]() {
    // the host BLAS's own threads touch the operands: open them for every thread
    if (k > 0) {
      mx_emu_open(A, 1);
      mx_emu_open(B, 1);
    }
    mx_emu_open(C, 1);
    cblas_sgemm(CblasColMajor, transa == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                transb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, k, al, A, lda, B, ldb, be, C, ldc);
  });
  return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}
