/* ctest.h: a tiny C test harness. A test file defines TEST(name) functions,
 * lists them in main with RUN(name), and ends with `return ctest_summary();`,
 * which prints "N passed, M failed, K skipped" (read by tests/run.sh). A test that
 * cannot run calls SKIP("why"): it counts as skipped, never as passed. */
#ifndef CTEST_H
#define CTEST_H

#include <math.h>
#include <stdio.h>

static int ctest_passed, ctest_failed, ctest_skipped, ctest_current_failed;
static const char *ctest_current, *ctest_skip_reason;

#define TEST(name) static void name(void)
#define RUN(name)                                                            \
  do {                                                                       \
    ctest_current = #name;                                                   \
    ctest_current_failed = 0;                                                \
    ctest_skip_reason = NULL;                                                \
    name();                                                                  \
    if (ctest_current_failed) {                                              \
      ctest_failed++;                                                        \
      printf("not ok %s\n", #name);                                          \
    } else if (ctest_skip_reason) {                                          \
      ctest_skipped++;                                                       \
      printf("ok %s # SKIP %s\n", #name, ctest_skip_reason);                 \
    } else {                                                                 \
      ctest_passed++;                                                        \
      printf("ok %s\n", #name);                                              \
    }                                                                        \
  } while (0)

/* Ends the current test as skipped, saying why (a string literal). */
#define SKIP(why)                                                            \
  do {                                                                       \
    ctest_skip_reason = (why);                                               \
    return;                                                                  \
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
  printf("%d passed, %d failed, %d skipped\n", ctest_passed, ctest_failed, ctest_skipped);
  return ctest_failed ? 1 : 0;
}

#endif
