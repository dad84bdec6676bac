/* blas_blis.c: (speed) the CPU GEMMs large enough to share out over threads go through BLIS's
 * own typed API when the build finds BLIS (Debian's libblis-dev): on these 2-core machines it
 * ran the MLP's two 10-million multiply-add GEMMs 10-30% faster than OpenBLAS (scripts/bench/
 * gemm_ceiling.c). Its header is kept out of blas.c: BLIS bundles a cblas.h of its own. */
#ifdef MX_HAVE_BLIS
#include <blis.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

static int started;

/* BLIS keeps its packing buffers (17 MB here) in global pools: hand them back when the engine
 * is unloaded (Lua's exit closes the module), or memory checkers count them lost. */
__attribute__((destructor)) static void finalize_blis(void) {
  if (started) bli_finalize();
}

static void set_threads(void) {
  started = 1;
  /* BLIS_NUM_THREADS when set; else as many threads as OpenBLAS would use (OPENBLAS_NUM_THREADS) */
  const char *env = getenv("BLIS_NUM_THREADS");
  if (!env || atoi(env) < 1) bli_thread_set_num_threads(mx_blas_max_threads());
}

void mx_blis_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, set_threads);
  /* row-major: a row stride of ld and a column stride of 1, for the matrices as stored */
  bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n, k, &alpha,
            (float *)a, lda, 1, (float *)b, ldb, 1, &beta, c, ldc, 1);
}
#else
typedef int mx_blas_blis_unused; /* ISO C: no empty translation unit */
#endif
