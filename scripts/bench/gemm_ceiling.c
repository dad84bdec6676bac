/* gemm_ceiling: the eight GEMMs of one training step of the MLP 784-128-64-10 at batch 100,
 * called directly through cblas_sgemm (3 forward, 3 weight gradients, 2 input gradients):
 * the throughput an engine that calls OpenBLAS cannot beat. Prints `key value` lines.
 * Build: cc -O2 gemm_ceiling.c -lopenblas; or -DBENCH_BLIS ... -lblis (BLIS's cblas instead);
 * or -DBENCH_LIBXSMM with libxsmm's header-only source (each shape takes libxsmm's JIT kernel
 * where it has one and it is faster, OpenBLAS elsewhere). Usage: gemm_ceiling [steps] [--shapes] */
#include <cblas.h> /* standard prototypes; BLIS exports the same cblas_sgemm */
#ifdef BENCH_LIBXSMM
#include <libxsmm_source.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 100, IN = 784, H1 = 128, H2 = 64, OUT = 10, NBATCH = 600, REPEATS = 9 };

typedef struct {
  const char *what;
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k;
  const float *a, *b;
  float *c;
  int lda, ldb, ldc;
#ifdef BENCH_LIBXSMM
  libxsmm_smmfunction xsmm; /* set where libxsmm wins this shape */
#endif
} gemm_call;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *filled(size_t n, unsigned *seed) {
  float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
  if (!p) {
    fprintf(stderr, "gemm_ceiling: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / RAND_MAX * 0.02f - 0.01f;
  return p;
}

static void run(const gemm_call *g) {
#ifdef BENCH_LIBXSMM
  if (g->xsmm) { /* column-major: C^T = op(B)^T op(A)^T, so A and B swap */
    g->xsmm(g->b, g->a, g->c);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, g->lda, g->b, g->ldb,
              0.0f, g->c, g->ldc);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_of(double *t, int n) {
  qsort(t, n, sizeof(double), cmp_double);
  return t[n / 2];
}

/* Seconds per call of g, median of REPEATS runs of `steps` calls. */
static double time_call(const gemm_call *g, int steps) {
  double t[REPEATS];
  for (int r = 0; r < REPEATS; r++) {
    double t0 = now();
    for (int s = 0; s < steps; s++) run(g);
    t[r] = (now() - t0) / steps;
  }
  return median_of(t, REPEATS);
}

#ifdef BENCH_LIBXSMM
/* For each shape: libxsmm's kernel where it JITs one, agrees with cblas and is faster. */
static void choose_libxsmm(gemm_call *calls, int steps) {
  libxsmm_init();
  for (int i = 0; i < 8; i++) {
    gemm_call *g = &calls[i];
    const float alpha = 1.0f, beta = 0.0f;
    const int flags = (g->tb == CblasTrans ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) |
                      (g->ta == CblasTrans ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
    const libxsmm_blasint m = g->n, n = g->m, k = g->k, lda = g->ldb, ldb = g->lda, ldc = g->ldc;
    libxsmm_smmfunction f =
        libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, NULL);
    g->xsmm = NULL;
    if (!f) continue;
    size_t nc = (size_t)g->m * g->ldc;
    float *ref = malloc(nc * sizeof(float));
    if (!ref) continue;
    run(g);
    memcpy(ref, g->c, nc * sizeof(float));
    double t_blas = time_call(g, steps / 4 + 1);
    g->xsmm = f;
    run(g);
    float err = 0;
    for (size_t j = 0; j < nc; j++) {
      float d = ref[j] - g->c[j];
      if (d < 0) d = -d;
      if (d > err) err = d;
    }
    double t_xsmm = time_call(g, steps / 4 + 1);
    if (err > 1e-3f || t_xsmm >= t_blas) g->xsmm = NULL;
    free(ref);
  }
}
#endif

int main(int argc, char **argv) {
  int steps = 1000, per_shape = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--shapes")) per_shape = 1;
    else steps = atoi(argv[i]);
  }
  if (steps < 1) steps = 1000;
  unsigned seed = 1234;
  /* the training set stand-in: each step reads a fresh batch, as a real epoch does */
  float *data = filled((size_t)NBATCH * BATCH * IN, &seed);
  float *w1 = filled(H1 * IN, &seed), *w2 = filled(H2 * H1, &seed), *w3 = filled(OUT * H2, &seed);
  float *z1 = filled(BATCH * H1, &seed), *z2 = filled(BATCH * H2, &seed);
  float *z3 = filled(BATCH * OUT, &seed);
  float *d1 = filled(BATCH * H1, &seed), *d2 = filled(BATCH * H2, &seed);
  float *d3 = filled(BATCH * OUT, &seed);
  float *g1 = filled(H1 * IN, &seed), *g2 = filled(H2 * H1, &seed), *g3 = filled(OUT * H2, &seed);
  gemm_call calls[8] = {
      /* forward, (batch, in) x (out, in)^T -> (batch, out) */
      {"fc1 forward  (100,784)x(128,784)^T", CblasNoTrans, CblasTrans, BATCH, H1, IN, data, w1, z1,
       IN, IN, H1},
      {"fc2 forward  (100,128)x(64,128)^T", CblasNoTrans, CblasTrans, BATCH, H2, H1, z1, w2, z2, H1,
       H1, H2},
      {"fc3 forward  (100,64)x(10,64)^T", CblasNoTrans, CblasTrans, BATCH, OUT, H2, z2, w3, z3, H2,
       H2, OUT},
      /* backward: weight gradient (out, batch) x (batch, in) -> (out, in), input gradient
       * (batch, out) x (out, in) -> (batch, in) */
      {"fc3 dweight  (100,10)^T x(100,64)", CblasTrans, CblasNoTrans, OUT, H2, BATCH, d3, z2, g3, OUT,
       H2, H2},
      {"fc3 dinput   (100,10)x(10,64)", CblasNoTrans, CblasNoTrans, BATCH, H2, OUT, d3, w3, d2, OUT,
       H2, H2},
      {"fc2 dweight  (100,64)^T x(100,128)", CblasTrans, CblasNoTrans, H2, H1, BATCH, d2, z1, g2, H2,
       H1, H1},
      {"fc2 dinput   (100,64)x(64,128)", CblasNoTrans, CblasNoTrans, BATCH, H1, H2, d2, w2, d1, H2,
       H1, H1},
      {"fc1 dweight  (100,128)^T x(100,784)", CblasTrans, CblasNoTrans, H1, IN, BATCH, d1, data, g1,
       H1, IN, IN},
  };
  double best[8] = {0};
  double per_step[REPEATS];
#ifdef BENCH_LIBXSMM
  choose_libxsmm(calls, steps);
#endif
  for (int r = 0; r < REPEATS + 1; r++) { /* repeat 0 is the warm-up */
    double t0 = now();
    for (int s = 0; s < steps; s++) {
      const float *x = data + (size_t)(s % NBATCH) * BATCH * IN;
      calls[0].a = x;
      calls[7].b = x;
      for (int i = 0; i < 8; i++) run(&calls[i]);
    }
    if (r > 0) per_step[r - 1] = (now() - t0) / steps;
  }
  double med = median_of(per_step, REPEATS);
#ifdef BENCH_BLIS
  printf("blas BLIS (cblas), BLIS_NUM_THREADS=%s\n", getenv("BLIS_NUM_THREADS") ? getenv("BLIS_NUM_THREADS") : "unset");
#else
  printf("openblas %s\n", openblas_get_config());
  printf("openblas_core %s\n", openblas_get_corename());
  printf("openblas_threads %d\n", openblas_get_num_threads());
#endif
#ifdef BENCH_LIBXSMM
  for (int i = 0; i < 8; i++)
    printf("backend %s: %s\n", calls[i].what, calls[i].xsmm ? "libxsmm" : "cblas");
#endif
  printf("us_per_step %.1f\n", med * 1e6);
  printf("us_per_step_min %.1f\n", per_step[0] * 1e6);
  printf("us_per_step_max %.1f\n", per_step[REPEATS - 1] * 1e6);
  printf("samples_per_s %.0f\n", BATCH / med);
  if (per_shape) { /* each GEMM alone, same data, median of repeats */
    for (int i = 0; i < 8; i++) {
      best[i] = time_call(&calls[i], steps);
      double flop = 2.0 * calls[i].m * calls[i].n * calls[i].k;
      printf("shape %-38s %7.1f us  %6.1f GFLOP/s\n", calls[i].what, best[i] * 1e6,
             flop / best[i] * 1e-9);
    }
  }
  free(data);
  free(w1), free(w2), free(w3), free(z1), free(z2), free(z3);
  free(d1), free(d2), free(d3), free(g1), free(g2), free(g3);
  return 0;
}
