/* blas_libxsmm.c: libxsmm's JIT-generated small-GEMM kernels, one of the GEMM plan's candidates
 * (gemm_plan.c), when the build finds libxsmm (Debian's libxsmm-dev). Its kernels run on the
 * calling thread: libxsmm brings no thread pool of its own. */
#ifdef MX_HAVE_LIBXSMM
#include <cblas.h>
#include <libxsmm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
 * A and B swap, as do m and n. libxsmm 1.17 transposes only its second operand (our A): where B
 * is transposed (the forward pass of FullyConnected, x W^T), B is copied transposed first, into
 * a buffer of the calling thread, and the kernel reads that. NULL: no kernel. */
static void *dispatch(int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc, float alpha, float beta) {
  const int flags = ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0;
  const libxsmm_blasint xm = n, xn = m, xk = k, xlda = tb ? n : ldb, xldb = lda, xldc = ldc;
  libxsmm_smmfunction f = libxsmm_smmdispatch(xm, xn, xk, &xlda, &xldb, &xldc, &alpha, &beta, &flags, NULL);
  return f ? *(void **)&f : NULL; /* a function pointer kept as void * (POSIX) */
}

/* No kernel where alpha is not 1 or beta neither 0 nor 1. The split over the team: C's columns
 * in parts of part_n (a multiple of 8, the last part what remains), each with its own kernel,
 * where there are columns enough (two parts of 8 at least) and a team. */
int mx_xsmm_kernel(mx_xsmm *out, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc, float alpha,
                   float beta) {
  *out = (mx_xsmm){0};
  if (alpha != 1.0f || (beta != 0.0f && beta != 1.0f)) return 0;
  pthread_once(&once, start);
  out->fn = dispatch(ta, tb, m, n, k, lda, ldb, ldc, alpha, beta);
  if (!out->fn) return 0;
  out->ta = ta, out->copy_b = tb, out->m = m, out->n = n, out->k = k, out->lda = lda, out->ldb = ldb, out->ldc = ldc;
  out->beta = beta;
  int parts = mx_team_size();
  if (parts > 1 && n >= 16) {
    int part_n = ((n + parts - 1) / parts + 7) / 8 * 8;
    int used = (n + part_n - 1) / part_n, last_n = n - (used - 1) * part_n;
    out->part_fn = dispatch(ta, tb, m, part_n, k, lda, ldb, ldc, alpha, beta);
    out->last_fn = last_n == part_n ? out->part_fn : dispatch(ta, tb, m, last_n, k, lda, ldb, ldc, alpha, beta);
    if (out->part_fn && out->last_fn && used > 1) out->parts = used, out->part_n = part_n;
  }
  return 1;
}

#if defined(__x86_64__)
#include <immintrin.h>
/* one 8x8 tile: rows of src (stride ls) become columns of dst (stride ld), in AVX registers */
__attribute__((target("avx2"))) static void tile8(const float *src, size_t ls, float *dst, size_t ld) {
  __m256 r[8], t[8], u[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ls);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    _mm256_storeu_ps(dst + i * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
  }
}
/* libxsmm's AVX-512 kernels return with the vector registers' upper halves dirty (no vzeroupper):
 * every SSE instruction after them (glibc's expf call path, the baseline-compiled operator loops)
 * then pays a transition penalty. Here that made SoftmaxOutput's 1,000 expf per batch a quarter of
 * a training step (perf, Xeon family 6 model 167). vzeroupper after each kernel costs a cycle. */
__attribute__((target("avx"))) static void zero_upper(void) { _mm256_zeroupper(); }
static void clean_upper(void) {
  if (__builtin_cpu_supports("avx")) zero_upper();
}
#else
static void clean_upper(void) {}
#endif

/* row-major (n, k) with leading dimension ld -> (k, n) contiguous: 8x8 tiles in AVX where the
 * CPU has it (the copy is a third of the forward GEMM's time otherwise), the edges one by one */
static void transpose(const float *b, int n, int k, int ld, float *bt) {
  int n8 = 0, k8 = 0;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) {
    n8 = n & ~7, k8 = k & ~7;
    for (int j = 0; j < k8; j += 8)
      for (int i = 0; i < n8; i += 8) tile8(b + (size_t)i * ld + j, (size_t)ld, bt + (size_t)j * n + i, (size_t)n);
  }
#endif
  for (int i = 0; i < n; i++)
    for (int j = i < n8 ? k8 : 0; j < k; j++) bt[(size_t)j * n + i] = b[(size_t)i * ld + j];
}

/* C's columns n0 .. n0+n-1 by the kernel fn made for n columns; 0: no memory for B's copy */
static int run_columns(const mx_xsmm *x, void *fn, int n0, int n, const float *a, const float *b, float *c) {
  libxsmm_smmfunction f;
  *(void **)&f = fn;
  if (x->copy_b) {
    static __thread float *buf;
    static __thread size_t cap;
    size_t need = (size_t)n * x->k;
    if (need > cap) {
      float *p = realloc(buf, need * sizeof *p);
      if (!p) return 0;
      buf = p, cap = need;
    }
    transpose(b + (size_t)n0 * x->ldb, n, x->k, x->ldb, buf);
    b = buf;
  } else {
    b += n0;
  }
  f(b, a, c + n0);
  clean_upper();
  return 1;
}

int mx_xsmm_run(const mx_xsmm *kernel, const float *a, const float *b, float *c) {
  return run_columns(kernel, kernel->fn, 0, kernel->n, a, b, c);
}

typedef struct {
  const mx_xsmm *x;
  const float *a, *b;
  float *c;
} team_gemm;

/* one part of the columns; with no memory for its copy of B, that part through OpenBLAS */
static void team_part(void *ctx, int part, int parts) {
  (void)parts;
  const team_gemm *g = ctx;
  const mx_xsmm *x = g->x;
  int n0 = part * x->part_n, last = part == x->parts - 1, n = last ? x->n - n0 : x->part_n;
  if (run_columns(x, last ? x->last_fn : x->part_fn, n0, n, g->a, g->b, g->c)) return;
  cblas_sgemm(CblasRowMajor, x->ta ? CblasTrans : CblasNoTrans, x->copy_b ? CblasTrans : CblasNoTrans, x->m, n, x->k,
              1.0f, g->a, x->lda, x->copy_b ? g->b + (size_t)n0 * x->ldb : g->b + n0, x->ldb, x->beta, g->c + n0,
              x->ldc);
}

void mx_xsmm_run_team(const mx_xsmm *kernel, const float *a, const float *b, float *c) {
  team_gemm g = {kernel, a, b, c};
  mx_team_run(team_part, &g, kernel->parts);
}

int mx_xsmm_describe(char *buf, size_t size) {
  pthread_once(&once, start);
  snprintf(buf, size, "%s %s", LIBXSMM_VERSION, libxsmm_get_target_arch());
  return libxsmm_get_target_archid() <= LIBXSMM_X86_GENERIC;
}
#else
typedef int mx_blas_libxsmm_unused; /* ISO C: no empty translation unit */
#endif
