/* test_gemm_plan.c: the CPU GEMM plan: mx_gemm's results through whichever library the plan picks
 * (against a plain triple loop), the plan's records (one per shape, the choice never slower than
 * another candidate it measured), and forced choices (MXLUA_GEMM_PLAN, read at first use). */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "mx.h"

static float *randoms(size_t n, unsigned *seed) {
  float *p = malloc(n * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
  return p;
}

/* row-major C = alpha op(A) op(B) + beta C, a plain loop in double */
static void reference(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                      int ldb, float beta, float *c, int ldc) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = (float)(alpha * s + beta * c[i * ldc + j]);
    }
}

/* one GEMM through mx_gemm twice (planning, then planned) against the loop; returns max error */
static double gemm_error(int ta, int tb, int m, int n, int k, int pad, float alpha, float beta) {
  unsigned seed = (unsigned)(m * 31 + n * 7 + k + ta * 3 + tb);
  int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  float *a = randoms((size_t)(ta ? k : m) * lda, &seed), *b = randoms((size_t)(tb ? n : k) * ldb, &seed);
  float *c0 = randoms((size_t)m * ldc, &seed), *c = malloc((size_t)m * ldc * sizeof *c),
        *want = malloc((size_t)m * ldc * sizeof *want);
  memcpy(want, c0, (size_t)m * ldc * sizeof *c0);
  reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc);
  double err = 0;
  for (int round = 0; round < 2; round++) {
    memcpy(c, c0, (size_t)m * ldc * sizeof *c0);
    if (mx_gemm(mx_cpu(0), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != MX_OK) return 1e30;
    for (int i = 0; i < m; i++)
      for (int j = 0; j < ldc; j++) {
        /* the padding of C past column n stays as it was */
        double d = fabs((double)c[i * ldc + j] - (j < n ? want[i * ldc + j] : c0[i * ldc + j]));
        if (d > err) err = d;
      }
  }
  free(a), free(b), free(c0), free(c), free(want);
  return err;
}

/* the shapes of the tutorial's MLP at batch 100, odd ones, transposes, padding, alpha and beta */
TEST(results_match_a_plain_loop) {
  int ts[][2] = {{0, 1}, {0, 0}, {1, 0}, {1, 1}};
  for (int t = 0; t < 4; t++) {
    CHECK_NEAR(gemm_error(ts[t][0], ts[t][1], 100, 128, 784, 0, 1.0f, 0.0f), 0, 1e-4);
    CHECK_NEAR(gemm_error(ts[t][0], ts[t][1], 7, 13, 5, 0, 1.0f, 0.0f), 0, 1e-5);
    CHECK_NEAR(gemm_error(ts[t][0], ts[t][1], 33, 17, 65, 3, 1.0f, 1.0f), 0, 1e-5);
    CHECK_NEAR(gemm_error(ts[t][0], ts[t][1], 20, 9, 30, 1, 0.5f, 0.25f), 0, 1e-5);
    CHECK_NEAR(gemm_error(ts[t][0], ts[t][1], 1, 1, 1, 0, 2.0f, 0.0f), 0, 1e-6);
  }
  /* k = 0: C = beta C */
  CHECK_NEAR(gemm_error(0, 0, 4, 5, 0, 1, 1.0f, 0.5f), 0, 1e-6);
}

/* every planned shape once, the choice measured fastest (or forced), the libraries described */
TEST(plan_records_are_consistent) {
  gemm_error(0, 1, 100, 64, 128, 0, 1.0f, 0.0f);
  int n = mx_gemm_plan_size();
  CHECK(n >= 20);
  const char *mode = mx_gemm_plan_mode();
  mx_gemm_lib_info info[MX_GEMM_LIBS];
  for (int i = 0; i < MX_GEMM_LIBS; i++) mx_gemm_lib_describe((mx_gemm_lib)i, &info[i]);
  CHECK(info[MX_GEMM_OPENBLAS].built);
  for (int i = 0; i < n; i++) {
    mx_gemm_plan_entry e;
    CHECK(mx_gemm_plan_get(i, &e) == MX_OK);
    CHECK(e.threads >= 1);
    CHECK(info[e.library].built);
    for (int j = 0; j < i; j++) { /* one entry per shape */
      mx_gemm_plan_entry f;
      mx_gemm_plan_get(j, &f);
      CHECK(!(f.m == e.m && f.n == e.n && f.k == e.k && f.transpose_a == e.transpose_a &&
              f.transpose_b == e.transpose_b && f.lda == e.lda && f.ldb == e.ldb && f.ldc == e.ldc &&
              f.beta == e.beta && f.threads == e.threads));
    }
    if (!strcmp(mode, "measure")) {
      CHECK(!strncmp(e.why, "measured", 8)); /* and, where libxsmm splits, its two timings */
      CHECK(e.us[e.library] > 0);
      CHECK(e.us[MX_GEMM_OPENBLAS] > 0); /* OpenBLAS is always a candidate */
      /* the fastest candidate on one thread, unless one on a thread team beat it by the margin */
      int one = -1, many = -1;
      for (int l = 0; l < MX_GEMM_LIBS; l++) {
        if (e.us[l] < 0) continue;
        CHECK(info[l].built);
        int *best = e.lib_threads[l] > 1 ? &many : &one;
        if (*best < 0 || e.us[l] < e.us[*best]) *best = l;
      }
      int want = many >= 0 && (one < 0 || e.us[many] * MX_GEMM_TEAM_MARGIN < e.us[one]) ? many : one;
      CHECK(want >= 0 && e.us[e.library] == e.us[want]);
      for (int l = 0; l < MX_GEMM_LIBS; l++) /* a generic kernel only where it beat every other */
        if (e.us[l] >= 0 && info[e.library].generic && l != (int)e.library) CHECK(e.us[e.library] < e.us[l]);
      if (e.beta != 0.0f && e.beta != 1.0f) CHECK(e.us[MX_GEMM_LIBXSMM] < 0); /* libxsmm: beta 0 or 1 only */
    } else {
      CHECK(strcmp(mode, info[e.library].name) == 0 ||
            (!strcmp(mode, "libxsmm") && e.library == MX_GEMM_OPENBLAS && strstr(e.why, "no kernel")));
    }
  }
  mx_gemm_plan_entry e;
  CHECK(mx_gemm_plan_get(n, &e) == MX_ERR_ARG);
  CHECK(strstr(mx_last_error(), "out of range") != NULL);
}

int main(void) {
  RUN(results_match_a_plain_loop);
  RUN(plan_records_are_consistent);
  return ctest_summary();
}
