/* test_random.c: the process-wide generator: the Philox4x32-10 known answer,
 * determinism under a seed, uniform and normal moments, permutations. */
#include "ndtest.h"

TEST(philox_known_answer) {
  /* Random123's known-answer vector for philox4x32-10 with counter 0, key 0:
   * 6627e8d5 e169c58d bc57ac4c 9b00dbd8. uniform(0, 1) keeps each word's top
   * 24 bits: u = (w >> 8) / 2^24. */
  const uint32_t kat[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  mx_random_seed(0);
  mx_ndarray *a = ND(NULL, 4);
  CHECK_OK(mx_random_uniform(0, 1, a));
  float want[4];
  for (int i = 0; i < 4; i++) want[i] = (float)(kat[i] >> 8) / 16777216.0f;
  CHECK_VALUES(a, want, 4, 0);
  mx_ndarray_release(a);
}

TEST(seed_makes_draws_deterministic) {
  mx_ndarray *a = ND(NULL, 1001), *b = ND(NULL, 1001), *p, *q;
  mx_random_seed(42);
  CHECK_OK(mx_random_uniform(-1, 1, a));
  CHECK_OK(mx_random_normal(0, 1, b));
  CHECK_OK(mx_random_permutation(50, mx_cpu(0), &p));
  float *ha = nd_host(a), *hb = nd_host(b), *hp = nd_host(p);
  mx_random_seed(42);
  CHECK_OK(mx_random_uniform(-1, 1, a));
  CHECK_OK(mx_random_normal(0, 1, b));
  CHECK_OK(mx_random_permutation(50, mx_cpu(0), &q));
  CHECK_VALUES(a, ha, 1001, 0);
  CHECK_VALUES(b, hb, 1001, 0);
  CHECK_VALUES(q, hp, 50, 0);
  /* the next draw differs from the first (the stream moves on) */
  CHECK_OK(mx_random_uniform(-1, 1, a));
  float *h2 = nd_host(a);
  int same = 0;
  for (int i = 0; i < 1001; i++) same += h2[i] == ha[i];
  CHECK(same < 10);
  /* another seed gives other numbers */
  mx_random_seed(43);
  CHECK_OK(mx_random_uniform(-1, 1, a));
  free(h2);
  h2 = nd_host(a);
  same = 0;
  for (int i = 0; i < 1001; i++) same += h2[i] == ha[i];
  CHECK(same < 10);
  free(ha);
  free(hb);
  free(hp);
  free(h2);
  mx_ndarray_release(a);
  mx_ndarray_release(b);
  mx_ndarray_release(p);
  mx_ndarray_release(q);
}

TEST(uniform_moments_and_range) {
  int n = 1000000;
  mx_ndarray *a = ND(NULL, 1000, 1000);
  mx_random_seed(7);
  CHECK_OK(mx_random_uniform(2, 5, a));
  float *h = nd_host(a);
  double s = 0, ss = 0;
  int out = 0, low_half = 0;
  for (int i = 0; i < n; i++) {
    s += h[i];
    ss += (double)h[i] * h[i];
    if (!(h[i] >= 2 && h[i] < 5)) out++;
    if (h[i] < 3.5) low_half++;
  }
  double mean = s / n, var = ss / n - mean * mean;
  CHECK(out == 0);
  CHECK_NEAR(mean, 3.5, 0.01);      /* sd of the mean: 0.00087 */
  CHECK_NEAR(var, 9.0 / 12, 0.01);   /* (b - a)^2 / 12 */
  CHECK_NEAR(low_half / (double)n, 0.5, 0.003);
  free(h);
  CHECK_ERR(mx_random_uniform(1, 0, a), MX_ERR_ARG, "mx_random_uniform: ", "low 1", "high 0");
  mx_ndarray_release(a);
}

TEST(normal_moments) {
  int n = 1000001; /* odd: the last Box-Muller pair is cut */
  mx_ndarray *a = ND(NULL, 1000001);
  mx_random_seed(8);
  CHECK_OK(mx_random_normal(1.5f, 2.0f, a));
  float *h = nd_host(a);
  double s = 0, ss = 0, s3 = 0, s4 = 0;
  int within = 0;
  for (int i = 0; i < n; i++) {
    double z = (h[i] - 1.5) / 2.0;
    s += h[i];
    ss += (double)h[i] * h[i];
    s3 += z * z * z;
    s4 += z * z * z * z;
    if (fabs(z) < 1) within++;
  }
  double mean = s / n, sd = sqrt(ss / n - mean * mean);
  CHECK_NEAR(mean, 1.5, 0.01);
  CHECK_NEAR(sd, 2.0, 0.01);
  CHECK_NEAR(s3 / n, 0.0, 0.02);      /* skewness */
  CHECK_NEAR(s4 / n, 3.0, 0.05);      /* kurtosis */
  CHECK_NEAR(within / (double)n, 0.682689, 0.003);
  free(h);
  CHECK_ERR(mx_random_normal(0, -1, a), MX_ERR_ARG, "mx_random_normal: ", "std");
  mx_ndarray_release(a);
}

TEST(permutation_is_a_permutation) {
  mx_ndarray *p;
  mx_random_seed(9);
  CHECK_OK(mx_random_permutation(1000, mx_cpu(0), &p));
  CHECK(SHAPE_IS(p, 1000));
  float *h = nd_host(p);
  int seen[1000] = {0}, fixed = 0;
  for (int i = 0; i < 1000; i++) {
    int v = (int)h[i];
    CHECK(v >= 0 && v < 1000 && (float)v == h[i]);
    if (v >= 0 && v < 1000) seen[v]++;
    fixed += v == i;
  }
  for (int i = 0; i < 1000; i++) CHECK(seen[i] == 1);
  CHECK(fixed < 10); /* about 1 expected */
  free(h);
  mx_ndarray_release(p);
  /* every position takes each value about equally often (n = 4, 24000 draws) */
  int count[4][4] = {{0}};
  for (int t = 0; t < 24000; t++) {
    CHECK_OK(mx_random_permutation(4, mx_cpu(0), &p));
    float v[4];
    mx_ndarray_to_host(p, v, 4);
    for (int i = 0; i < 4; i++) count[i][(int)v[i]]++;
    mx_ndarray_release(p);
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) CHECK(count[i][j] > 5700 && count[i][j] < 6300);
  CHECK_OK(mx_random_permutation(0, mx_cpu(0), &p));
  CHECK(mx_ndarray_size(p) == 0);
  mx_ndarray_release(p);
  CHECK_ERR(mx_random_permutation(-3, mx_cpu(0), &p), MX_ERR_ARG, "mx_random_permutation: ", "-3");
}

int main(void) {
  RUN(philox_known_answer);
  RUN(seed_makes_draws_deterministic);
  RUN(uniform_moments_and_range);
  RUN(normal_moments);
  RUN(permutation_is_a_permutation);
  return ctest_summary();
}
