/* blas.c: mx_gemm, row-major C = alpha * op(A) op(B) + beta * C: its arguments checked, then
 * run by the device's gemm slot (the CPU's: the GEMM plan of gemm_plan.c, OpenBLAS, BLIS or
 * libxsmm per shape; a GPU's: cublasSgemm in blas_cuda.cu). */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>

#include "internal.h"

int mx_blas_max_threads(void) {
  static int most = 0;
  if (most == 0) most = openblas_get_num_threads();
  return most;
}

mx_status mx_gemm(mx_context ctx, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m < 0 || n < 0 || k < 0)
    return mx_error_at(MX_ERR_ARG, "mx_gemm", "negative size (m %lld, n %lld, k %lld)", (long long)m, (long long)n,
                    (long long)k);
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
    return mx_error_at(MX_ERR_ARG, "mx_gemm", "sizes beyond 2^31 (m %lld, n %lld, k %lld)", (long long)m, (long long)n,
                    (long long)k);
  /* leading dimensions of row-major op(A) (m, k), op(B) (k, n), C (m, n) */
  int64_t need_a = transpose_a ? m : k, need_b = transpose_b ? k : n;
  if (lda < (need_a > 1 ? need_a : 1) || ldb < (need_b > 1 ? need_b : 1) || ldc < (n > 1 ? n : 1))
    return mx_error_at(MX_ERR_ARG, "mx_gemm", "leading dimensions lda %lld, ldb %lld, ldc %lld too small (expected >= %lld, %lld, %lld)",
                    (long long)lda, (long long)ldb, (long long)ldc, (long long)need_a, (long long)need_b, (long long)n);
  if (m == 0 || n == 0) return MX_OK;
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_gemm");
  return dev->gemm(ctx.dev_id, transpose_a, transpose_b, (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb,
                   beta, c, (int)ldc);
}
