/* mlp_step: one forward+backward step of the tutorial's MLP (784-128-64-10,
 * batch 100) through mxlua's executor, next to the step's eight GEMMs called
 * directly through OpenBLAS (the GEMMs are over 95% of its arithmetic, OpenBLAS on its
 * starting thread count) and through mx_gemm (routed as the executor routes them).
 * Usage: mlp_step [steps]. Prints the median of several rounds, alternated. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mx.h"

enum { BATCH = 100, IN = 784, H1 = 128, H2 = 64, OUT = 10, ROUNDS = 7 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, "mlp_step: %s: %s\n", what, mx_last_error());
  exit(1);
}

static mx_symbol *layer(const char *op, const char *name, mx_symbol *in, const char *k,
                        const char *v) {
  mx_symbol *s, *r;
  const char *keys[1] = {k}, *vals[1] = {v}, *dk[1] = {"data"};
  if (mx_symbol_create_op(op, name, keys, vals, k ? 1 : 0, &s) != MX_OK) die("create");
  if (mx_symbol_compose(s, dk, &in, 1, &r) != MX_OK) die("compose");
  mx_symbol_release(s);
  mx_symbol_release(in);
  return r;
}

static float *randoms(size_t n, float scale) {
  float *p = malloc(n * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = scale * ((float)rand() / (float)RAND_MAX * 2.0f - 1.0f);
  return p;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One GEMM, row-major C (m, n) = op(A) op(B) (beta 0): straight through OpenBLAS, or through
 * mx_gemm, which routes as the executor does (BLIS for the big ones when built with it). */
typedef void gemm_fn(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc);
static void via_openblas(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                         float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1, a, lda,
              b, ldb, 0, c, ldc);
}
static void via_mx_gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc) {
  if (mx_gemm(mx_cpu(0), ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc) != MX_OK) die("mx_gemm");
}

/* The eight GEMMs of one step, shapes as the executor calls them (row-major). */
static void gemms(gemm_fn *gemm, float **m) {
  float *x = m[0], *w1 = m[1], *w2 = m[2], *w3 = m[3], *a1 = m[4], *a2 = m[5], *z3 = m[6];
  float *g3 = m[7], *g2 = m[8], *g1 = m[9], *dw1 = m[10], *dw2 = m[11], *dw3 = m[12];
  /* forward: (B,in) x (out,in)^T */
  gemm(0, 1, BATCH, H1, IN, x, IN, w1, IN, a1, H1);
  gemm(0, 1, BATCH, H2, H1, a1, H1, w2, H1, a2, H2);
  gemm(0, 1, BATCH, OUT, H2, a2, H2, w3, H2, z3, OUT);
  /* backward: weight gradients dY^T X, input gradients dY W (none for the data) */
  gemm(1, 0, OUT, H2, BATCH, g3, OUT, a2, H2, dw3, H2);
  gemm(0, 0, BATCH, H2, OUT, g3, OUT, w3, H2, g2, H2);
  gemm(1, 0, H2, H1, BATCH, g2, H2, a1, H1, dw2, H1);
  gemm(0, 0, BATCH, H1, H2, g2, H2, w2, H1, g1, H1);
  gemm(1, 0, H1, IN, BATCH, g1, H1, x, IN, dw1, IN);
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 200;
  if (steps < 1) steps = 200;
  srand(7);
  int blas_threads = openblas_get_num_threads(); /* mx_gemm changes it: restored for the direct calls */
  mx_symbol *s;
  if (mx_symbol_variable("data", &s) != MX_OK) die("variable");
  s = layer("FullyConnected", "fc1", s, "num_hidden", "128");
  s = layer("Activation", "relu1", s, "act_type", "relu");
  s = layer("FullyConnected", "fc2", s, "num_hidden", "64");
  s = layer("Activation", "relu2", s, "act_type", "relu");
  s = layer("FullyConnected", "fc3", s, "num_hidden", "10");
  s = layer("SoftmaxOutput", "softmax", s, NULL, NULL);
  const char *names[2] = {"data", "softmax_label"};
  int64_t shapes[2][MX_MAX_NDIM] = {{BATCH, IN}, {BATCH}};
  int nd[2] = {2, 1};
  mx_executor *e;
  if (mx_executor_simple_bind(s, mx_cpu(0), names, (const int64_t(*)[MX_MAX_NDIM])shapes, nd, 2,
                              NULL, &e) != MX_OK)
    die("simple_bind");
  mx_ndarray *const *args;
  int nargs = mx_executor_arg_arrays(e, &args);
  for (int i = 0; i < nargs; i++) {
    int64_t n = mx_ndarray_size(args[i]);
    float *v = randoms((size_t)n, i == 0 ? 1.0f : 0.05f);
    if (i == nargs - 1)
      for (int64_t j = 0; j < n; j++) v[j] = (float)(rand() % OUT);
    mx_ndarray_set_host(args[i], v, n);
    free(v);
  }
  size_t sizes[13] = {BATCH * IN, H1 * IN,     H2 * H1,     OUT * H2,   BATCH * H1,
                      BATCH * H2, BATCH * OUT, BATCH * OUT, BATCH * H2, BATCH * H1,
                      H1 * IN,    H2 * H1,     OUT * H2};
  float *m[13];
  for (int i = 0; i < 13; i++) m[i] = randoms(sizes[i], 0.05f);

  double exe_t[ROUNDS], gemm_t[ROUNDS], mxg_t[ROUNDS];
  for (int r = -1; r < ROUNDS; r++) { /* round -1 warms up */
    double t0 = now();
    for (int i = 0; i < steps; i++)
      if (mx_executor_forward(e, 1) != MX_OK || mx_executor_backward(e, NULL, 0) != MX_OK)
        die("step");
    double t1 = now();
    openblas_set_num_threads(blas_threads);
    for (int i = 0; i < steps; i++) gemms(via_openblas, m);
    double t2 = now();
    for (int i = 0; i < steps; i++) gemms(via_mx_gemm, m);
    double t3 = now();
    if (r >= 0) {
      exe_t[r] = (t1 - t0) / steps * 1e6;
      gemm_t[r] = (t2 - t1) / steps * 1e6;
      mxg_t[r] = (t3 - t2) / steps * 1e6;
    }
  }
  qsort(exe_t, ROUNDS, sizeof(double), cmp);
  qsort(gemm_t, ROUNDS, sizeof(double), cmp);
  qsort(mxg_t, ROUNDS, sizeof(double), cmp);
  size_t arena, naive;
  mx_executor_memory(e, &arena, &naive);
  const char *threads = getenv("OPENBLAS_NUM_THREADS");
  printf("mlp_step (784-128-64-10, batch 100, cpu, OpenBLAS threads %s, median of %d rounds of %d steps):\n",
         threads ? threads : "default", ROUNDS, steps);
  printf("  executor forward+backward: %8.1f us/step\n", exe_t[ROUNDS / 2]);
  printf("  its 8 GEMMs via OpenBLAS:  %8.1f us/step (executor/GEMMs = %.2f)\n", gemm_t[ROUNDS / 2],
         exe_t[ROUNDS / 2] / gemm_t[ROUNDS / 2]);
  printf("  the same through mx_gemm:  %8.1f us/step (executor/mx_gemm = %.2f; routed as the executor%s)\n",
         mxg_t[ROUNDS / 2], exe_t[ROUNDS / 2] / mxg_t[ROUNDS / 2], getenv("MXLUA_GEMM_PLAN") ? ", MXLUA_GEMM_PLAN set" : "");
  printf("  arena: %zu KiB (without reuse: %zu KiB)\n", arena / 1024, naive / 1024);
  for (int i = 0; i < 13; i++) free(m[i]);
  mx_executor_release(e);
  mx_symbol_release(s);
  return 0;
}
