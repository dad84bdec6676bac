/* features.c: mx_features, what this build has (the optional libraries the Makefile's
 * scripts/configure.sh found, OpenBLAS's version and core, simd.h's AVX2 paths), for
 * mx.features() and `mxlua -v`. */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mx.h"
#include "simd.h"

#ifndef MX_OFF_ON_REQUEST
#define MX_OFF_ON_REQUEST ""
#endif
#ifndef MX_CUBLAS_PATH
#define MX_CUBLAS_PATH ""
#endif

#ifdef MX_HAVE_NCCL
#define HAVE_NCCL 1
#else
#define HAVE_NCCL 0
#endif
#ifdef MX_HAVE_MPI
#define HAVE_MPI 1
#else
#define HAVE_MPI 0
#endif
#ifdef MX_HAVE_BLIS
#define HAVE_BLIS 1
#else
#define HAVE_BLIS 0
#endif
#ifdef MX_HAVE_LIBXSMM
#define HAVE_LIBXSMM 1
#else
#define HAVE_LIBXSMM 0
#endif

/* the make option's feature name as configure.sh lists it in OFF_ON_REQUEST ("CUDA BLIS") */
static int off_on_request(const char *name) {
  const char *all = MX_OFF_ON_REQUEST, *p = all;
  size_t n = strlen(name);
  while ((p = strstr(p, name)) != NULL) {
    if ((p == all || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    p += n;
  }
  return 0;
}

static mx_feature features[8];
static int nfeatures;
static char openblas_detail[192], avx2_detail[64];

static void add(const char *name, int enabled, const char *detail) {
  features[nfeatures++] = (mx_feature){name, enabled, !enabled && off_on_request(name), detail};
}

static void fill(void) {
  int cuda = mx_cuda_compiled(); /* the GPU device is built in (devices.c) */
  add("CUDA", cuda, "");
  /* cuBLAS comes with CUDA: blas_cuda.cu opens it on the first GPU GEMM */
  add("CUBLAS", cuda, cuda ? MX_CUBLAS_PATH : "");
  features[1].off_on_request = features[0].off_on_request;
  add("NCCL", HAVE_NCCL, "");
  add("MPI", HAVE_MPI, "");
  add("BLIS", HAVE_BLIS, "");
  add("LIBXSMM", HAVE_LIBXSMM, "");
  /* "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64" and the core it chose, "Zen" */
  snprintf(openblas_detail, sizeof openblas_detail, "%s; core %s", openblas_get_config(), openblas_get_corename());
  add("OPENBLAS", 1, openblas_detail);
  int built = 0, runs = 0;
#if MX_SIMD_AVX2
  built = 1;
  __builtin_cpu_init();
  runs = __builtin_cpu_supports("x86-64-v3") != 0;
#endif
  snprintf(avx2_detail, sizeof avx2_detail, "%s; this CPU %s", built ? "built" : "not built",
           runs ? "runs them" : built ? "does not run them" : "not asked");
  add("AVX2", built && runs, avx2_detail);
}

const mx_feature *mx_features(int *count) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, fill);
  if (count) *count = nfeatures;
  return features;
}
