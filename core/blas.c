/* blas.c: mx_gemm, row-major C = alpha * op(A) op(B) + beta * C, through
 * OpenBLAS's cblas_sgemm on the CPU and cublasSgemm on a GPU. */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>

#include "internal.h"

#ifdef MX_HAVE_CUDA
/* blas_cuda.cu: the same row-major GEMM through cublasSgemm (TF32 off) */
mx_status mx_cuda_gemm(int dev, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, float *c, int ldc);
#endif

/* With BLIS in the build (blas_blis.c), the GEMMs of 4M multiply-adds and more go there, on
 * OpenBLAS's thread count (OPENBLAS_NUM_THREADS), and OpenBLAS runs the small ones on one thread
 * for good: its pool then never runs beside BLIS's, and never has to be woken. (Switching
 * OpenBLAS between one and two threads per call was tried: waking its sleeping worker made the
 * MLP's step slower than leaving OpenBLAS to choose, 650-740 us against 490-500 us.) Without
 * BLIS, OpenBLAS chooses its threads itself. */
#define BLIS_FROM_MNK ((int64_t)4 << 20)

int mx_blas_max_threads(void) {
  static int most = 0;
  if (most == 0) most = openblas_get_num_threads();
  return most;
}

static void cpu_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
#ifdef MX_HAVE_BLIS
  static int use_blis = -1; /* MXLUA_NO_BLIS=1: OpenBLAS only (to compare) */
  if (use_blis < 0) {
    const char *off = getenv("MXLUA_NO_BLIS");
    use_blis = mx_blas_max_threads() > 1 && !(off && *off == '1');
  }
  if (use_blis && m * n * k >= BLIS_FROM_MNK) {
    mx_blis_sgemm(ta, tb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    return;
  }
  /* checked each call (a global read): a caller may have changed OpenBLAS's count since */
  if (use_blis && openblas_get_num_threads() != 1) openblas_set_num_threads(1);
#endif
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

mx_status mx_gemm(mx_context ctx, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m < 0 || n < 0 || k < 0)
    return mx_error(MX_ERR_ARG, "mx_gemm: negative size (m %lld, n %lld, k %lld)", (long long)m, (long long)n,
                    (long long)k);
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
    return mx_error(MX_ERR_ARG, "mx_gemm: sizes beyond 2^31 (m %lld, n %lld, k %lld)", (long long)m, (long long)n,
                    (long long)k);
  /* leading dimensions of row-major op(A) (m, k), op(B) (k, n), C (m, n) */
  int64_t need_a = transpose_a ? m : k, need_b = transpose_b ? k : n;
  if (lda < (need_a > 1 ? need_a : 1) || ldb < (need_b > 1 ? need_b : 1) || ldc < (n > 1 ? n : 1))
    return mx_error(MX_ERR_ARG, "mx_gemm: leading dimensions lda %lld, ldb %lld, ldc %lld too small (expected >= %lld, %lld, %lld)",
                    (long long)lda, (long long)ldb, (long long)ldc, (long long)need_a, (long long)need_b, (long long)n);
  if (m == 0 || n == 0) return MX_OK;
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return mx_error_prefix(MX_ERR_DEVICE, "mx_gemm");
  if (ctx.dev_type == MX_DEV_CPU) {
    cpu_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return MX_OK;
  }
#ifdef MX_HAVE_CUDA
  return mx_cuda_gemm(ctx.dev_id, transpose_a, transpose_b, (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb,
                      beta, c, (int)ldc);
#else
  return mx_error(MX_ERR_DEVICE, "mx_gemm: no BLAS for this device");
#endif
}
