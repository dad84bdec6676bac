/* test_optimizer.c: the fused optimizer kernels against values worked out by
 * hand (one element) and by a plain double-precision loop (many elements),
 * the argument checks, and the top-k hit counter of the metrics. */
#include <math.h>
#include <string.h>

#include "ctest.h"
#include "mx.h"

static mx_ndarray *arr(const float *v, int64_t n) {
  mx_ndarray *a = NULL;
  int64_t shape[] = {n};
  mx_ndarray_from_host(shape, 1, mx_cpu(0), v, &a);
  return a;
}
static float at(mx_ndarray *a, int64_t i) {
  float v = NAN;
  mx_ndarray_get_element(a, i, &v);
  return v;
}
static mx_optim_param base(void) {
  mx_optim_param p;
  memset(&p, 0, sizeof p);
  p.rescale_grad = 1;
  p.clip_gradient = -1;
  return p;
}

TEST(sgd_momentum_by_hand) {
  /* w=1, g=2, mom=0.5, lr=0.1, wd=0.01, momentum=0.9, rescale=0.5:
   * g'=1; mom = 0.45 - 0.1*(1 + 0.01) = 0.349; w = 1.349 */
  float w0 = 1, g0 = 2, m0 = 0.5f;
  mx_ndarray *w = arr(&w0, 1), *g = arr(&g0, 1), *m = arr(&m0, 1);
  mx_optim_param p = base();
  p.lr = 0.1f, p.wd = 0.01f, p.momentum = 0.9f, p.rescale_grad = 0.5f;
  CHECK(mx_optim_sgd_update(w, g, m, &p) == MX_OK);
  CHECK_NEAR(at(m, 0), 0.349, 1e-6);
  CHECK_NEAR(at(w, 0), 1.349, 1e-6);
  CHECK_NEAR(at(g, 0), 2, 0); /* the gradient is left alone */
  /* clipped at 0.6: mom = 0.9*0.349 - 0.1*(0.6 + 0.01*1.349) = 0.252751; w = 1.601751 */
  p.clip_gradient = 0.6f;
  CHECK(mx_optim_sgd_update(w, g, m, &p) == MX_OK);
  CHECK_NEAR(at(m, 0), 0.252751, 1e-6);
  CHECK_NEAR(at(w, 0), 1.601751, 1e-6);
  mx_ndarray_release(w), mx_ndarray_release(g), mx_ndarray_release(m);
}

TEST(sgd_plain_by_hand) {
  /* w=1, g=2, lr=0.1, wd=0.01, rescale 0.5: w = 1 - 0.1*(1 + 0.01) = 0.899 */
  float w0 = 1, g0 = 2;
  mx_ndarray *w = arr(&w0, 1), *g = arr(&g0, 1);
  mx_optim_param p = base();
  p.lr = 0.1f, p.wd = 0.01f, p.rescale_grad = 0.5f;
  CHECK(mx_optim_sgd_update(w, g, NULL, &p) == MX_OK);
  CHECK_NEAR(at(w, 0), 0.899, 1e-6);
  mx_ndarray_release(w), mx_ndarray_release(g);
}

TEST(sgd_loop_many_steps) {
  enum { N = 37 };
  float w0[N], g0[N], m0[N] = {0};
  double w[N], m[N] = {0};
  for (int i = 0; i < N; i++) w0[i] = (float)(w[i] = 0.1 * (i - 18)), g0[i] = (float)sin(i);
  mx_ndarray *W = arr(w0, N), *G = arr(g0, N), *M = arr(m0, N);
  mx_optim_param p = base();
  p.lr = 0.05f, p.wd = 1e-3f, p.momentum = 0.9f, p.rescale_grad = 0.25f, p.clip_gradient = 0.2f;
  for (int step = 0; step < 5; step++) {
    CHECK(mx_optim_sgd_update(W, G, M, &p) == MX_OK);
    for (int i = 0; i < N; i++) {
      double gg = 0.25 * (float)sin(i);
      if (gg > 0.2) gg = 0.2;
      if (gg < -0.2) gg = -0.2;
      m[i] = 0.9 * m[i] - 0.05 * (gg + 1e-3 * w[i]);
      w[i] += m[i];
    }
  }
  for (int i = 0; i < N; i++) CHECK_NEAR(at(W, i), w[i], 1e-5);
  mx_ndarray_release(W), mx_ndarray_release(G), mx_ndarray_release(M);
}

TEST(adam_by_hand) {
  /* w=1, g=2, lr=0.01, b1=0.9, b2=0.999, eps=1e-8: m=0.2, v=0.004,
   * w = 1 - 0.01*0.2/sqrt(0.004) = 0.96837722 */
  float w0 = 1, g0 = 2, z = 0;
  mx_ndarray *w = arr(&w0, 1), *g = arr(&g0, 1), *m = arr(&z, 1), *v = arr(&z, 1);
  mx_optim_param p = base();
  p.lr = 0.01f, p.beta1 = 0.9f, p.beta2 = 0.999f, p.epsilon = 1e-8f;
  CHECK(mx_optim_adam_update(w, g, m, v, &p) == MX_OK);
  CHECK_NEAR(at(m, 0), 0.2, 1e-7);
  CHECK_NEAR(at(v, 0), 0.004, 1e-7); /* 1 - 0.999f is not exact in float */
  CHECK_NEAR(at(w, 0), 0.96837722, 1e-6);
  mx_ndarray_release(w), mx_ndarray_release(g), mx_ndarray_release(m), mx_ndarray_release(v);
}

TEST(rmsprop_by_hand) {
  /* plain: gamma1=0.9, lr=0.01, eps=1e-8: n=0.4; w = 1 - 0.02/sqrt(0.4) = 0.96837722 */
  float w0 = 1, g0 = 2, z = 0;
  mx_ndarray *w = arr(&w0, 1), *g = arr(&g0, 1), *n = arr(&z, 1);
  mx_optim_param p = base();
  p.lr = 0.01f, p.gamma1 = 0.9f, p.epsilon = 1e-8f;
  CHECK(mx_optim_rmsprop_update(w, g, n, NULL, NULL, &p) == MX_OK);
  CHECK_NEAR(at(n, 0), 0.4, 1e-7);
  CHECK_NEAR(at(w, 0), 0.96837722, 1e-6);
  /* centered: gamma1=0.95, gamma2=0.9, eps=1e-4: n=0.2, g=0.1,
   * delta = -0.02/sqrt(0.2 - 0.01 + 1e-4) = -0.04587108; w = 1 + delta */
  mx_ndarray *w2 = arr(&w0, 1), *n2 = arr(&z, 1), *ga = arr(&z, 1), *d = arr(&z, 1);
  p.gamma1 = 0.95f, p.gamma2 = 0.9f, p.epsilon = 1e-4f;
  CHECK(mx_optim_rmsprop_update(w2, g, n2, ga, d, &p) == MX_OK);
  CHECK_NEAR(at(n2, 0), 0.2, 1e-7);
  CHECK_NEAR(at(ga, 0), 0.1, 1e-7);
  CHECK_NEAR(at(d, 0), -0.04587108, 1e-6);
  CHECK_NEAR(at(w2, 0), 0.95412892, 1e-6);
  CHECK(mx_optim_rmsprop_update(w2, g, n2, ga, NULL, &p) == MX_ERR_ARG);
  mx_ndarray_release(w), mx_ndarray_release(g), mx_ndarray_release(n);
  mx_ndarray_release(w2), mx_ndarray_release(n2), mx_ndarray_release(ga), mx_ndarray_release(d);
}

TEST(adagrad_by_hand) {
  /* w=1, g=2, lr=0.1, wd=0.5, eps=1e-7: h=4; w = 1 - 0.1*(2/2 + 0.5) = 0.85 */
  float w0 = 1, g0 = 2, z = 0;
  mx_ndarray *w = arr(&w0, 1), *g = arr(&g0, 1), *h = arr(&z, 1);
  mx_optim_param p = base();
  p.lr = 0.1f, p.wd = 0.5f, p.epsilon = 1e-7f;
  CHECK(mx_optim_adagrad_update(w, g, h, &p) == MX_OK);
  CHECK_NEAR(at(h, 0), 4, 1e-6);
  CHECK_NEAR(at(w, 0), 0.85, 1e-6);
  mx_ndarray_release(w), mx_ndarray_release(g), mx_ndarray_release(h);
}

TEST(argument_errors) {
  float v[3] = {1, 2, 3};
  mx_ndarray *w = arr(v, 3), *g = arr(v, 2);
  mx_optim_param p = base();
  CHECK(mx_optim_sgd_update(w, g, NULL, &p) == MX_ERR_SHAPE);
  CHECK(strstr(mx_last_error(),
               "mx_optim_sgd_update: gradient shape (2,) does not match weight shape (3,)") !=
        NULL);
  CHECK(mx_optim_sgd_update(w, NULL, NULL, &p) == MX_ERR_ARG);
  CHECK(mx_optim_adam_update(w, g, NULL, NULL, &p) == MX_ERR_ARG);
  CHECK(at(w, 0) == 1 && at(w, 2) == 3); /* untouched */
  mx_ndarray_release(w), mx_ndarray_release(g);
}

TEST(topk_hits) {
  float pv[] = {0.1f, 0.7f, 0.2f, 0.5f, 0.5f, 0.0f, 0.2f, 0.3f, 0.5f, 0.6f, 0.1f, 0.3f};
  float lv[] = {1, 1, 2, 2};
  int64_t ps[] = {4, 3};
  mx_ndarray *pred = NULL, *lab = arr(lv, 4);
  mx_ndarray_from_host(ps, 2, mx_cpu(0), pv, &pred);
  int64_t hits = -1;
  /* argmax rows: 1, 0 (first of a tie), 2, 0 -> labels 1,1,2,2 match twice */
  CHECK(mx_metric_topk_hits(pred, lab, 1, &hits) == MX_OK);
  CHECK(hits == 2);
  CHECK(mx_metric_topk_hits(pred, lab, 2, &hits) == MX_OK);
  CHECK(hits == 4);
  float lv2[] = {2, 2, 0, 1};
  mx_ndarray *lab2 = arr(lv2, 4);
  /* top-2 sets: {1,2}, {0,1}, {2,1}, {0,2} -> hits for 2 (row 0) only */
  CHECK(mx_metric_topk_hits(pred, lab2, 2, &hits) == MX_OK);
  CHECK(hits == 1);
  mx_ndarray *short_lab = arr(lv, 3);
  CHECK(mx_metric_topk_hits(pred, short_lab, 1, &hits) == MX_ERR_SHAPE);
  mx_ndarray_release(pred), mx_ndarray_release(lab), mx_ndarray_release(lab2),
      mx_ndarray_release(short_lab);
}

int main(void) {
  RUN(sgd_momentum_by_hand);
  RUN(sgd_plain_by_hand);
  RUN(sgd_loop_many_steps);
  RUN(adam_by_hand);
  RUN(rmsprop_by_hand);
  RUN(adagrad_by_hand);
  RUN(argument_errors);
  RUN(topk_hits);
  return ctest_summary();
}
