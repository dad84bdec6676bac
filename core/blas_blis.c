/* blas_blis.c: BLIS's row-major sgemm, one of the GEMM plan's candidates (gemm_plan.c), when the
 * build finds BLIS (Debian's libblis-dev), with its thread count and the kernel set its CPU
 * detection chose. Its header is kept out of blas.c: BLIS bundles a cblas.h of its own. */
#ifdef MX_HAVE_BLIS
#include <blis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static int started;

/* BLIS keeps its packing buffers (17 MB here) in global pools: hand them back when the engine
 * is unloaded (Lua's exit closes the module), or memory checkers count them lost. */
__attribute__((destructor)) static void finalize_blis(void) {
  if (started) bli_finalize();
}

static void start(void) {
  started = 1;
  /* BLIS_NUM_THREADS when set; else as many threads as OpenBLAS would use (OPENBLAS_NUM_THREADS) */
  const char *env = getenv("BLIS_NUM_THREADS");
  if (!env || atoi(env) < 1) bli_thread_set_num_threads(mx_blas_max_threads());
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void mx_blis_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc) {
  pthread_once(&once, start);
  /* row-major: a row stride of ld and a column stride of 1, for the matrices as stored */
  bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n, k, &alpha,
            (float *)a, lda, 1, (float *)b, ldb, 1, &beta, c, ldc, 1);
}

int mx_blis_threads(void) {
  pthread_once(&once, start);
  return (int)bli_thread_get_num_threads();
}

void mx_blis_set_threads(int n) {
  pthread_once(&once, start);
  bli_thread_set_num_threads(n);
}

int mx_blis_describe(char *buf, size_t size) {
  pthread_once(&once, start);
  arch_t id = bli_arch_query_id();
  snprintf(buf, size, "%s %s", bli_info_get_version_str(), bli_arch_string(id));
  return id == BLIS_ARCH_GENERIC;
}
#else
typedef int mx_blas_blis_unused; /* ISO C: no empty translation unit */
#endif
