/* elementwise.c: times mxlua's element-wise and reduction kernels (add, mul, exp,
 * relu, broadcast add, sum, max over 10M floats, through the public NDArray API)
 * against a plain C loop built with the same flags; medians of alternated runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mx.h"

#define N 10000000
#define RUNS 9

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp);
  return v[n / 2];
}

static float *xa, *xb, *y;
static mx_ndarray *A, *B, *ROW, *A2;
#define COLS 1000
static volatile float sink;

static void die(mx_status st) {
  if (st != MX_OK) {
    fprintf(stderr, "%s\n", mx_last_error());
    exit(1);
  }
}

/* the plain C loops (the baseline) */
static void plain_add(void) { for (int i = 0; i < N; i++) y[i] = xa[i] + xb[i]; }
static void plain_mul(void) { for (int i = 0; i < N; i++) y[i] = xa[i] * xb[i]; }
static void plain_exp(void) { for (int i = 0; i < N; i++) y[i] = expf(xa[i]); }
static void plain_relu(void) { for (int i = 0; i < N; i++) y[i] = xa[i] > 0 ? xa[i] : 0; }
static void plain_badd(void) { /* (N/COLS, COLS) + (COLS,) */
  for (int i = 0; i < N / COLS; i++)
    for (int j = 0; j < COLS; j++) y[i * COLS + j] = xa[i * COLS + j] + xb[j];
}
static void plain_sum(void) {
  float s = 0;
  for (int i = 0; i < N; i++) s += xa[i];
  sink = s;
}
static void plain_max(void) {
  float m = -INFINITY;
  for (int i = 0; i < N; i++) m = xa[i] > m ? xa[i] : m;
  sink = m;
}

/* the same through mxlua (a fresh output array each time, as a script gets) */
static void mx_add(void) { mx_ndarray *o; die(mx_ndarray_binary(MX_BINARY_ADD, A, B, &o)); mx_ndarray_release(o); }
static void mx_mul(void) { mx_ndarray *o; die(mx_ndarray_binary(MX_BINARY_MUL, A, B, &o)); mx_ndarray_release(o); }
static void mx_exp(void) { mx_ndarray *o; die(mx_ndarray_unary(MX_UNARY_EXP, A, &o)); mx_ndarray_release(o); }
static void mx_relu(void) { mx_ndarray *o; die(mx_ndarray_unary(MX_UNARY_RELU, A, &o)); mx_ndarray_release(o); }
static void mx_badd(void) { mx_ndarray *o; die(mx_ndarray_binary(MX_BINARY_ADD, A2, ROW, &o)); mx_ndarray_release(o); }
static void mx_sum(void) { mx_ndarray *o; die(mx_ndarray_reduce(MX_REDUCE_SUM, A, -1, 0, &o)); mx_ndarray_release(o); }
static void mx_max(void) { mx_ndarray *o; die(mx_ndarray_reduce(MX_REDUCE_MAX, A, -1, 0, &o)); mx_ndarray_release(o); }

int main(void) {
  struct { const char *name; void (*plain)(void); void (*mx)(void); int arrays; } cases[] = {
      {"add", plain_add, mx_add, 3}, {"mul", plain_mul, mx_mul, 3}, {"exp", plain_exp, mx_exp, 2},
      {"relu", plain_relu, mx_relu, 2}, {"badd", plain_badd, mx_badd, 2}, {"sum", plain_sum, mx_sum, 1},
      {"max", plain_max, mx_max, 1},
  };
  xa = malloc(N * sizeof *xa);
  xb = malloc(N * sizeof *xb);
  y = malloc(N * sizeof *y);
  int64_t shape[1] = {N};
  die(mx_ndarray_create(shape, 1, mx_cpu(0), &A));
  die(mx_ndarray_create(shape, 1, mx_cpu(0), &B));
  mx_random_seed(1);
  die(mx_random_uniform(-2, 2, A));
  die(mx_random_uniform(-2, 2, B));
  die(mx_ndarray_to_host(A, xa, N));
  die(mx_ndarray_to_host(B, xb, N));
  int64_t shape2[2] = {N / COLS, COLS};
  die(mx_ndarray_reshape(A, shape2, 2, &A2));
  die(mx_ndarray_slice(B, 0, COLS, &ROW)); /* the first COLS values of B, as xb[0..COLS) */
  for (int i = 0; i < N; i++) y[i] = 0; /* touch the pages */

  printf("element-wise and reductions over %d floats, median of %d alternated runs\n", N, RUNS);
  printf("%-6s %12s %12s %8s %12s\n", "op", "mxlua ms", "plain C ms", "ratio", "mxlua GB/s");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    double tp[RUNS], tm[RUNS];
    cases[c].plain();
    cases[c].mx(); /* warm the pool and the caches */
    for (int r = 0; r < RUNS; r++) {
      double t0 = now();
      cases[c].plain();
      double t1 = now();
      cases[c].mx();
      double t2 = now();
      tp[r] = t1 - t0;
      tm[r] = t2 - t1;
    }
    double p = median(tp, RUNS), m = median(tm, RUNS);
    printf("%-6s %12.2f %12.2f %8.2f %12.1f\n", cases[c].name, m * 1e3, p * 1e3, p / m,
           cases[c].arrays * (double)N * 4 / m / 1e9);
  }
  printf("ratio = plain C time / mxlua time (>= 1: mxlua at least as fast)\n");
  mx_ndarray_release(A2);
  mx_ndarray_release(ROW);
  mx_ndarray_release(A);
  mx_ndarray_release(B);
  free(xa);
  free(xb);
  free(y);
  return 0;
}
