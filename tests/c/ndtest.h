/* ndtest.h: helpers shared by the NDArray C tests: building arrays from
 * literals, reading them back, and checking a failure's status and message. */
#ifndef NDTEST_H
#define NDTEST_H

#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "mx.h"

/* CHECK that st is MX_OK, printing the message when it is not. */
#define CHECK_OK(expr)                                                       \
  do {                                                                       \
    mx_status ndt_st = (expr);                                               \
    if (ndt_st != MX_OK) {                                                   \
      printf("# %s:%d: %s: %s failed: %s\n", __FILE__, __LINE__,             \
             ctest_current, #expr, mx_last_error());                         \
      ctest_current_failed = 1;                                              \
    }                                                                        \
  } while (0)

/* CHECK that expr fails with `status` and a message containing each of the
 * given substrings (a NULL-terminated list). */
#define CHECK_ERR(expr, status, ...)                                         \
  do {                                                                       \
    mx_status ndt_st = (expr);                                               \
    const char *ndt_subs[] = {__VA_ARGS__, NULL};                            \
    if (ndt_st != (status)) {                                                \
      printf("# %s:%d: %s: %s returned %d, expected %d (%s)\n", __FILE__,    \
             __LINE__, ctest_current, #expr, (int)ndt_st, (int)(status),     \
             mx_last_error());                                               \
      ctest_current_failed = 1;                                              \
    }                                                                        \
    for (int ndt_i = 0; ndt_subs[ndt_i]; ndt_i++)                            \
      if (!strstr(mx_last_error(), ndt_subs[ndt_i])) {                       \
        printf("# %s:%d: %s: message \"%s\" lacks \"%s\"\n", __FILE__,       \
               __LINE__, ctest_current, mx_last_error(), ndt_subs[ndt_i]);   \
        ctest_current_failed = 1;                                            \
      }                                                                      \
  } while (0)

/* An array on the CPU of the given shape holding `data` (or zeros if NULL). */
static inline mx_ndarray *nd_make(const int64_t *shape, int ndim, const float *data) {
  mx_ndarray *a = NULL;
  mx_status st = data ? mx_ndarray_from_host(shape, ndim, mx_cpu(0), data, &a)
                      : mx_ndarray_zeros(shape, ndim, mx_cpu(0), &a);
  if (st != MX_OK) {
    printf("# nd_make: %s\n", mx_last_error());
    exit(2);
  }
  return a;
}
#define ND(data, ...) nd_make((const int64_t[]){__VA_ARGS__}, \
  (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (data))

/* A malloc'ed host copy of a's elements (free it). */
static inline float *nd_host(const mx_ndarray *a) {
  int64_t n = mx_ndarray_size(a);
  float *h = malloc((size_t)(n ? n : 1) * sizeof(float));
  if (mx_ndarray_to_host(a, h, n) != MX_OK) {
    printf("# nd_host: %s\n", mx_last_error());
    exit(2);
  }
  return h;
}

/* Does a have this shape? */
static inline int nd_shape_is(const mx_ndarray *a, int ndim, const int64_t *shape) {
  if (mx_ndarray_ndim(a) != ndim) return 0;
  for (int i = 0; i < ndim; i++)
    if (mx_ndarray_shape(a)[i] != shape[i]) return 0;
  return 1;
}
#define SHAPE_IS(a, ...) nd_shape_is((a), \
  (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__})

/* CHECK every element of a against expected[0..n) within tol. */
#define CHECK_VALUES(a, expected, n, tol)                                    \
  do {                                                                       \
    float *ndt_h = nd_host(a);                                               \
    if (mx_ndarray_size(a) != (n)) {                                         \
      printf("# %s:%d: %s: size %lld, expected %lld\n", __FILE__, __LINE__,  \
             ctest_current, (long long)mx_ndarray_size(a), (long long)(n));  \
      ctest_current_failed = 1;                                              \
    } else {                                                                 \
      for (int64_t ndt_i = 0; ndt_i < (n); ndt_i++)                          \
        if (!(fabs((double)ndt_h[ndt_i] - (double)(expected)[ndt_i]) <= (tol)) && \
            !(isnan(ndt_h[ndt_i]) && isnan((expected)[ndt_i])) &&            \
            !(isinf(ndt_h[ndt_i]) && ndt_h[ndt_i] == (expected)[ndt_i])) {   \
          printf("# %s:%d: %s: element %lld is %g, expected %g\n", __FILE__, \
                 __LINE__, ctest_current, (long long)ndt_i,                  \
                 (double)ndt_h[ndt_i], (double)(expected)[ndt_i]);           \
          ctest_current_failed = 1;                                          \
          break;                                                             \
        }                                                                    \
    }                                                                        \
    free(ndt_h);                                                             \
  } while (0)

/* uniform pseudo-random test data from a fixed LCG (independent of mx_random) */
static inline void nd_fill_lcg(float *x, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    x[i] = (float)((seed >> 8) & 0xffff) / 65536.0f * 4.0f - 2.0f;
  }
}

#endif
