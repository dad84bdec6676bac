/* blas_libxsmm.c: libxsmm's JIT-generated small-GEMM kernels, one of the GEMM plan's candidates
 * (gemm_plan.c), when the build finds libxsmm (Debian's libxsmm-dev). Its kernels run on the
 * calling thread: libxsmm brings no thread pool of its own. */
#ifdef MX_HAVE_LIBXSMM
#include <libxsmm.h>
#include <pthread.h>
#include <stdio.h>

#include "internal.h"

static int started;

__attribute__((destructor)) static void finalize_libxsmm(void) {
  if (started) libxsmm_finalize();
}

static void start(void) {
  started = 1;
  libxsmm_init();
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* libxsmm is column-major: row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so
 * A and B swap, as do m and n. NULL where libxsmm has no kernel (alpha must be 1, beta 0 or 1). */
void *mx_xsmm_kernel(int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc, float alpha, float beta) {
  if (alpha != 1.0f || (beta != 0.0f && beta != 1.0f)) return NULL;
  pthread_once(&once, start);
  const int flags = (tb ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
  const libxsmm_blasint xm = n, xn = m, xk = k, xlda = ldb, xldb = lda, xldc = ldc;
  libxsmm_smmfunction f = libxsmm_smmdispatch(xm, xn, xk, &xlda, &xldb, &xldc, &alpha, &beta, &flags, NULL);
  return f ? *(void **)&f : NULL; /* a function pointer kept as void * (POSIX) */
}

void mx_xsmm_run(void *kernel, const float *a, const float *b, float *c) {
  libxsmm_smmfunction f;
  *(void **)&f = kernel;
  f(b, a, c);
}

int mx_xsmm_describe(char *buf, size_t size) {
  pthread_once(&once, start);
  snprintf(buf, size, "%s %s", LIBXSMM_VERSION, libxsmm_get_target_arch());
  return libxsmm_get_target_archid() <= LIBXSMM_X86_GENERIC;
}
#else
typedef int mx_blas_libxsmm_unused; /* ISO C: no empty translation unit */
#endif
