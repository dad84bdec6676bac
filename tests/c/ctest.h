/* ctest.h: a tiny C test harness. A test file defines TEST(name) functions,
 * lists them in main with RUN(name), and ends with `return ctest_summary();`,
 * which prints "N passed, M failed" (read by tests/run.sh). */
#ifndef CTEST_H
#define CTEST_H

#include <math.h>
#include <stdio.h>

static int ctest_passed, ctest_failed, ctest_current_failed;
static const char *ctest_current;

#define TEST(name) static void name(void)
#define RUN(name)                                                            \
  do {                                                                       \
    ctest_current = #name;                                                   \
    ctest_current_failed = 0;                                                \
    name();                                                                  \
    if (ctest_current_failed) ctest_failed++; else ctest_passed++;           \
    printf("%s %s\n", ctest_current_failed ? "not ok" : "ok", #name);        \
  } while (0)

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      printf("# %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,          \
             ctest_current, #cond);                                          \
      ctest_current_failed = 1;                                              \
    }                                                                        \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                \
  do {                                                                       \
    double ctest_a = (a), ctest_b = (b);                                     \
    if (!(fabs(ctest_a - ctest_b) <= (tol))) {                               \
      printf("# %s:%d: %s: %s = %g, expected %s = %g (tol %g)\n", __FILE__, \
             __LINE__, ctest_current, #a, ctest_a, #b, ctest_b, (double)(tol)); \
      ctest_current_failed = 1;                                              \
    }                                                                        \
  } while (0)

static inline int ctest_summary(void) {
  printf("%d passed, %d failed\n", ctest_passed, ctest_failed);
  return ctest_failed ? 1 : 0;
}

#endif
