/* peak: this machine's float32 peak, measured rather than taken from a data sheet: independent
 * chains of fused multiply-adds on the widest vectors the CPU has (AVX-512 where the compiler
 * targets it with -march=native, else AVX2+FMA), in registers, on one thread and then on one
 * thread per CPU. The best of several runs; 2 flops per multiply-add. Prints one JSON line.
 * Usage: peak [seconds per run, default 0.2] */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__AVX512F__)
#define ISA "avx512"
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define SUM _mm512_reduce_add_ps
#elif defined(__FMA__)
#define ISA "avx2+fma"
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
static float SUM(__m256 v) {
  float f[8];
  _mm256_storeu_ps(f, v);
  return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
}
#else
#error "peak.c needs FMA (build with -march=native on an x86-64 CPU that has it)"
#endif

/* 12 accumulators cover an FMA latency of 4-6 cycles on two units, and with the two constants
 * still fit AVX2's 16 registers (no spills). */
#define CHAINS 12
#define INNER 1000

typedef struct {
  long iters; /* blocks of INNER x CHAINS multiply-adds */
  double seconds;
  float sink; /* the result, so that the compiler keeps the work */
} run;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Twelve named accumulators (an array would live on the stack: a store and a load per step). */
#define EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define DECLARE(i) vec a##i = SET1(1.0f + 1e-3f * (float)(i));
#define STEP(i) a##i = FMA(a##i, m, c);
#define ADD_TO_S(i) s = ADD(s, a##i);

static void *spin(void *arg) {
  run *r = arg;
  EACH(DECLARE)
  vec m = SET1(0.999999f), c = SET1(1e-7f); /* a stays near 1: no overflow, no denormals */
  double t0 = now();
  for (long it = 0; it < r->iters; it++)
    for (int j = 0; j < INNER; j++) {
      EACH(STEP)
    }
  r->seconds = now() - t0;
  vec s = SET1(0.0f);
  EACH(ADD_TO_S)
  r->sink = SUM(s);
  return NULL;
}

/* GFLOP/s of `threads` threads spinning together for about `seconds`, the best of `tries`. */
static double measure(int threads, double seconds, int tries, float *sink) {
  run probe = {.iters = 100};
  spin(&probe); /* calibrate the iteration count */
  long iters = (long)(seconds / (probe.seconds > 0 ? probe.seconds : 1e-6) * 100) + 1;
  double best = 0;
  run *runs = calloc((size_t)threads, sizeof *runs);
  pthread_t *tid = calloc((size_t)threads, sizeof *tid);
  if (!runs || !tid) {
    fprintf(stderr, "peak: out of memory\n");
    exit(1);
  }
  for (int t = 0; t < tries; t++) {
    for (int i = 0; i < threads; i++) runs[i].iters = iters;
    for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, spin, &runs[i]);
    double flops = 0, slowest = 0;
    for (int i = 0; i < threads; i++) {
      pthread_join(tid[i], NULL);
      flops += 2.0 * LANES * CHAINS * INNER * (double)iters;
      if (runs[i].seconds > slowest) slowest = runs[i].seconds;
      *sink += runs[i].sink;
    }
    double g = flops / slowest * 1e-9;
    if (g > best) best = g;
  }
  free(runs);
  free(tid);
  return best;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 0.2;
  if (seconds <= 0) seconds = 0.2;
  int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) cpus = 1;
  float sink = 0;
  double one = measure(1, seconds, 7, &sink), all = measure(cpus, seconds, 7, &sink);
  printf("{\"bench\": \"float32 peak\", \"isa\": \"%s\", \"chains\": %d, \"peak_gflops_1_thread\": %.1f, "
         "\"threads\": %d, \"peak_gflops_all_threads\": %.1f, \"sink\": %g}\n",
         ISA, CHAINS, one, cpus, all, (double)sink);
  return 0;
}
