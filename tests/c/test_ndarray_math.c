/* test_ndarray_math.c: element-wise math (every unary and binary op, scalar
 * and in-place forms, broadcasting), clip, reductions, dot and mx_gemm, and
 * one_hot, each against a plain loop written here, with their errors; the registry's dot,
 * one_hot and take at empty sizes. */
#include "ndtest.h"

/* reference element functions, written independently of elementwise.h */
static double ref_unary(int op, double x) {
  switch (op) {
  case MX_UNARY_COPY: return x;
  case MX_UNARY_NEG: return -x;
  case MX_UNARY_EXP: return exp(x);
  case MX_UNARY_LOG: return log(x);
  case MX_UNARY_SQRT: return sqrt(x);
  case MX_UNARY_ABS: return fabs(x);
  case MX_UNARY_SQUARE: return x * x;
  case MX_UNARY_RELU: return x > 0 ? x : 0;
  case MX_UNARY_SIGMOID: return 1 / (1 + exp(-x));
  case MX_UNARY_TANH: return tanh(x);
  case MX_UNARY_SOFTRELU: return log(1 + exp(x));
  case MX_UNARY_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
  case MX_UNARY_RECIPROCAL: return 1 / x;
  }
  return NAN;
}

static double ref_binary(int op, double a, double b) {
  switch (op) {
  case MX_BINARY_ADD: return a + b;
  case MX_BINARY_SUB: return a - b;
  case MX_BINARY_MUL: return a * b;
  case MX_BINARY_DIV: return a / b;
  case MX_BINARY_MAX: return a > b ? a : b;
  case MX_BINARY_MIN: return a < b ? a : b;
  case MX_BINARY_POW: return pow(a, b);
  case MX_BINARY_RSUB: return b - a;
  case MX_BINARY_RDIV: return b / a;
  case MX_BINARY_EQ: return a == b;
  case MX_BINARY_NE: return a != b;
  case MX_BINARY_GT: return a > b;
  case MX_BINARY_GE: return a >= b;
  case MX_BINARY_LT: return a < b;
  case MX_BINARY_LE: return a <= b;
  }
  return NAN;
}

TEST(unary_every_op) {
  float x[8] = {-3.5f, -1, -0.25f, 0, 0.5f, 1, 2.5f, 30};
  float pos[8] = {0.01f, 0.5f, 1, 2, 3, 10, 100, 1e4f};
  for (int op = 0; op < MX_UNARY_COUNT; op++) {
    const float *in = (op == MX_UNARY_LOG || op == MX_UNARY_SQRT || op == MX_UNARY_RECIPROCAL) ? pos : x;
    mx_ndarray *a = ND(in, 2, 4), *o;
    CHECK_OK(mx_ndarray_unary((mx_unary_op)op, a, &o));
    CHECK(SHAPE_IS(o, 2, 4));
    float *h = nd_host(o);
    for (int i = 0; i < 8; i++) {
      double want = ref_unary(op, in[i]);
      if (!(fabs(h[i] - want) <= 1e-5 * (1 + fabs(want)))) {
        printf("# unary op %d on %g: %g, expected %g\n", op, in[i], h[i], want);
        ctest_current_failed = 1;
      }
    }
    free(h);
    mx_ndarray_release(a);
    mx_ndarray_release(o);
  }
  mx_ndarray *a = ND(x, 8), *o = NULL;
  CHECK_ERR(mx_ndarray_unary((mx_unary_op)99, a, &o), MX_ERR_ARG, "mx_ndarray_unary: ", "99");
  mx_ndarray_release(a);
}

TEST(softrelu_and_sigmoid_extremes) {
  float x[4] = {-100, -20, 50, 100};
  mx_ndarray *a = ND(x, 4), *o;
  CHECK_OK(mx_ndarray_unary(MX_UNARY_SOFTRELU, a, &o));
  float want[4] = {(float)log1p(exp(-100.0)), (float)log1p(exp(-20.0)), 50, 100};
  CHECK_VALUES(o, want, 4, 1e-6);
  mx_ndarray_release(o);
  CHECK_OK(mx_ndarray_unary(MX_UNARY_SIGMOID, a, &o));
  float ws[4] = {0, (float)(1 / (1 + exp(20.0))), 1, 1};
  CHECK_VALUES(o, ws, 4, 1e-7);
  mx_ndarray_release(o);
  mx_ndarray_release(a);
}

TEST(clip_values) {
  float x[5] = {-2, -0.5f, 0, 0.7f, 3};
  mx_ndarray *a = ND(x, 5), *o;
  CHECK_OK(mx_ndarray_clip(a, -1, 0.5f, &o));
  float want[5];
  for (int i = 0; i < 5; i++) want[i] = x[i] < -1 ? -1 : x[i] > 0.5f ? 0.5f : x[i];
  CHECK_VALUES(o, want, 5, 0);
  mx_ndarray_release(o);
  CHECK_ERR(mx_ndarray_clip(a, 1, -1, &o), MX_ERR_ARG, "mx_ndarray_clip: ", "[1, -1]");
  mx_ndarray_release(a);
}

TEST(binary_every_op_same_shape) {
  float x[6] = {-2, -1, 0.5f, 1, 2, 3}, y[6] = {1, -1, 2, 1, 0.5f, 3};
  float px[6] = {0.5f, 1, 2, 3, 4, 9};
  for (int op = 0; op < MX_BINARY_COUNT; op++) {
    const float *in = op == MX_BINARY_POW ? px : x;
    mx_ndarray *a = ND(in, 2, 3), *b = ND(y, 2, 3), *o;
    CHECK_OK(mx_ndarray_binary((mx_binary_op)op, a, b, &o));
    float *h = nd_host(o);
    for (int i = 0; i < 6; i++) {
      double want = ref_binary(op, in[i], y[i]);
      if (!(fabs(h[i] - want) <= 1e-5 * (1 + fabs(want)))) {
        printf("# binary op %d on %g, %g: %g, expected %g\n", op, in[i], y[i], h[i], want);
        ctest_current_failed = 1;
      }
    }
    free(h);
    mx_ndarray_release(o);
    /* the scalar form */
    CHECK_OK(mx_ndarray_binary_scalar((mx_binary_op)op, a, 2.0f, &o));
    h = nd_host(o);
    for (int i = 0; i < 6; i++) {
      double want = ref_binary(op, in[i], 2.0);
      if (!(fabs(h[i] - want) <= 1e-5 * (1 + fabs(want)))) {
        printf("# binary_scalar op %d on %g: %g, expected %g\n", op, in[i], h[i], want);
        ctest_current_failed = 1;
      }
    }
    free(h);
    mx_ndarray_release(o);
    /* in place, both forms */
    mx_ndarray *c;
    CHECK_OK(mx_ndarray_copy(a, &c));
    CHECK_OK(mx_ndarray_binary_inplace((mx_binary_op)op, c, b));
    h = nd_host(c);
    for (int i = 0; i < 6; i++)
      if (!(fabs(h[i] - ref_binary(op, in[i], y[i])) <= 1e-5 * (1 + fabs(ref_binary(op, in[i], y[i]))))) {
        printf("# binary_inplace op %d element %d: %g\n", op, i, h[i]);
        ctest_current_failed = 1;
      }
    free(h);
    CHECK_OK(mx_ndarray_set_host(c, in, 6));
    CHECK_OK(mx_ndarray_binary_scalar_inplace((mx_binary_op)op, c, 2.0f));
    h = nd_host(c);
    for (int i = 0; i < 6; i++)
      if (!(fabs(h[i] - ref_binary(op, in[i], 2.0)) <= 1e-5 * (1 + fabs(ref_binary(op, in[i], 2.0))))) {
        printf("# binary_scalar_inplace op %d element %d: %g\n", op, i, h[i]);
        ctest_current_failed = 1;
      }
    free(h);
    mx_ndarray_release(c);
    mx_ndarray_release(a);
    mx_ndarray_release(b);
  }
}

/* a op b over broadcast shapes, against an index loop over the output */
static void check_broadcast(int op, const int64_t *sa, int na, const int64_t *sb, int nb, const int64_t *so,
                            int no) {
  int64_t size_a = 1, size_b = 1, size_o = 1;
  for (int i = 0; i < na; i++) size_a *= sa[i];
  for (int i = 0; i < nb; i++) size_b *= sb[i];
  for (int i = 0; i < no; i++) size_o *= so[i];
  float *x = malloc(size_a * sizeof *x), *y = malloc(size_b * sizeof *y), *w = malloc(size_o * sizeof *w);
  nd_fill_lcg(x, size_a, 11);
  nd_fill_lcg(y, size_b, 12);
  for (int64_t f = 0; f < size_o; f++) {
    int64_t idx[6], rem = f, ia = 0, ib = 0;
    for (int d = no - 1; d >= 0; d--) {
      idx[d] = rem % so[d];
      rem /= so[d];
    }
    for (int d = 0; d < na; d++) ia = ia * sa[d] + (sa[d] == 1 ? 0 : idx[d + no - na]);
    for (int d = 0; d < nb; d++) ib = ib * sb[d] + (sb[d] == 1 ? 0 : idx[d + no - nb]);
    w[f] = (float)ref_binary(op, x[ia], y[ib]);
  }
  mx_ndarray *a, *b, *o;
  mx_ndarray_from_host(sa, na, mx_cpu(0), x, &a);
  mx_ndarray_from_host(sb, nb, mx_cpu(0), y, &b);
  CHECK_OK(mx_ndarray_binary((mx_binary_op)op, a, b, &o));
  CHECK(nd_shape_is(o, no, so));
  CHECK_VALUES(o, w, size_o, 1e-5);
  mx_ndarray_release(o);
  /* in place when a already has the output shape */
  if (na == no && size_a == size_o) {
    CHECK_OK(mx_ndarray_binary_inplace((mx_binary_op)op, a, b));
    CHECK_VALUES(a, w, size_o, 1e-5);
  }
  mx_ndarray_release(a);
  mx_ndarray_release(b);
  free(x);
  free(y);
  free(w);
}

TEST(binary_broadcasting_matches_loop) {
  check_broadcast(MX_BINARY_ADD, (int64_t[]){2, 3, 4}, 3, (int64_t[]){3, 1}, 2, (int64_t[]){2, 3, 4}, 3);
  check_broadcast(MX_BINARY_SUB, (int64_t[]){4}, 1, (int64_t[]){2, 1, 4}, 3, (int64_t[]){2, 1, 4}, 3);
  check_broadcast(MX_BINARY_MUL, (int64_t[]){2, 3}, 2, (int64_t[]){1}, 1, (int64_t[]){2, 3}, 2);
  check_broadcast(MX_BINARY_DIV, (int64_t[]){1}, 1, (int64_t[]){2, 3}, 2, (int64_t[]){2, 3}, 2);
  check_broadcast(MX_BINARY_MAX, (int64_t[]){5, 1}, 2, (int64_t[]){1, 7}, 2, (int64_t[]){5, 7}, 2);
  check_broadcast(MX_BINARY_GT, (int64_t[]){2, 1, 3, 1}, 4, (int64_t[]){4, 1, 5}, 3, (int64_t[]){2, 4, 3, 5}, 4);
  check_broadcast(MX_BINARY_RSUB, (int64_t[]){3, 1, 2, 1, 2, 1}, 6, (int64_t[]){2, 1, 2, 1, 3}, 5,
                  (int64_t[]){3, 2, 2, 2, 2, 3}, 6);
  check_broadcast(MX_BINARY_RDIV, (int64_t[]){64, 33}, 2, (int64_t[]){64, 1}, 2, (int64_t[]){64, 33}, 2);
  check_broadcast(MX_BINARY_ADD, (int64_t[]){128, 100}, 2, (int64_t[]){100}, 1, (int64_t[]){128, 100}, 2);
}

TEST(binary_errors) {
  mx_ndarray *a = ND(NULL, 3, 4), *b = ND(NULL, 5, 4), *c = ND(NULL, 4), *o = NULL;
  CHECK_ERR(mx_ndarray_binary(MX_BINARY_ADD, a, b, &o), MX_ERR_SHAPE, "mx_ndarray_binary: ",
            "shapes (3,4) and (5,4) cannot broadcast");
  CHECK(o == NULL);
  CHECK_ERR(mx_ndarray_binary((mx_binary_op)-1, a, a, &o), MX_ERR_ARG, "mx_ndarray_binary: ", "-1");
  CHECK_ERR(mx_ndarray_binary_inplace(MX_BINARY_ADD, c, a), MX_ERR_SHAPE, "mx_ndarray_binary_inplace: ", "(3,4)",
            "(4,)");
  CHECK_ERR(mx_ndarray_binary_inplace(MX_BINARY_ADD, a, b), MX_ERR_SHAPE, "(5,4)", "(3,4)");
  CHECK_ERR(mx_ndarray_binary_scalar((mx_binary_op)MX_BINARY_COUNT, a, 1, &o), MX_ERR_ARG,
            "mx_ndarray_binary_scalar: ");
  CHECK_ERR(mx_ndarray_binary_scalar_inplace((mx_binary_op)MX_BINARY_COUNT, a, 1), MX_ERR_ARG,
            "mx_ndarray_binary_scalar_inplace: ");
  mx_ndarray_release(a);
  mx_ndarray_release(b);
  mx_ndarray_release(c);
}

TEST(inplace_with_overlapping_operand) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  mx_ndarray *a = ND(x, 6), *lo, *hi;
  mx_ndarray_slice(a, 0, 3, &lo);
  mx_ndarray_slice(a, 2, 5, &hi);
  CHECK_OK(mx_ndarray_binary_inplace(MX_BINARY_ADD, lo, hi)); /* lo = [1+3, 2+4, 3+5] with old values */
  float want[6] = {4, 6, 8, 4, 5, 6};
  CHECK_VALUES(a, want, 6, 0);
  CHECK_OK(mx_ndarray_binary_inplace(MX_BINARY_MUL, a, a)); /* the same array: squares */
  float sq[6] = {16, 36, 64, 16, 25, 36};
  CHECK_VALUES(a, sq, 6, 0);
  mx_ndarray_release(lo);
  mx_ndarray_release(hi);
  mx_ndarray_release(a);
}

/* reduce x (2,3,4) over `axis` (-1: all) with a plain loop */
static double ref_reduce(int op, const float *x, int axis, int o, int i) {
  int dims[3] = {2, 3, 4};
  int len = axis < 0 ? 24 : dims[axis];
  double acc = op == MX_REDUCE_MAX ? -INFINITY : op == MX_REDUCE_MIN ? INFINITY : 0;
  int best = 0;
  double bv = 0;
  for (int l = 0; l < len; l++) {
    int f;
    if (axis < 0) f = l;
    else if (axis == 0) f = l * 12 + i;
    else if (axis == 1) f = o * 12 + l * 4 + i;
    else f = o * 4 + l;
    double v = x[f];
    if (op == MX_REDUCE_SUM || op == MX_REDUCE_MEAN) acc += v;
    if (op == MX_REDUCE_NORM) acc += v * v;
    if (op == MX_REDUCE_MAX && v > acc) acc = v;
    if (op == MX_REDUCE_MIN && v < acc) acc = v;
    if ((op == MX_REDUCE_ARGMAX && (l == 0 || v > bv)) || (op == MX_REDUCE_ARGMIN && (l == 0 || v < bv))) {
      bv = v;
      best = l;
    }
  }
  if (op == MX_REDUCE_MEAN) acc /= len;
  if (op == MX_REDUCE_NORM) acc = sqrt(acc);
  if (op == MX_REDUCE_ARGMAX || op == MX_REDUCE_ARGMIN) acc = best;
  return acc;
}

TEST(reduce_every_op_and_axis) {
  float x[24];
  nd_fill_lcg(x, 24, 21);
  x[5] = x[17] = 3.0f; /* a tied maximum: argmax gives the first */
  mx_ndarray *a = ND(x, 2, 3, 4), *o;
  for (int op = 0; op < MX_REDUCE_COUNT; op++) {
    for (int axis = -1; axis < 3; axis++) {
      for (int keep = 0; keep < 2; keep++) {
        CHECK_OK(mx_ndarray_reduce((mx_reduce_op)op, a, axis, keep, &o));
        int64_t want_shape[3] = {2, 3, 4};
        int wn = 3;
        if (axis < 0) {
          if (keep) want_shape[0] = want_shape[1] = want_shape[2] = 1;
          else { want_shape[0] = 1; wn = 1; }
        } else if (keep) {
          want_shape[axis] = 1;
        } else {
          for (int d = axis; d < 2; d++) want_shape[d] = want_shape[d + 1];
          wn = 2;
        }
        CHECK(nd_shape_is(o, wn, want_shape));
        float want[12];
        int n = 0;
        if (axis < 0) want[n++] = (float)ref_reduce(op, x, -1, 0, 0);
        else if (axis == 0) for (int i = 0; i < 12; i++) want[n++] = (float)ref_reduce(op, x, 0, 0, i);
        else if (axis == 1) for (int o2 = 0; o2 < 2; o2++) for (int i = 0; i < 4; i++) want[n++] = (float)ref_reduce(op, x, 1, o2, i);
        else for (int o2 = 0; o2 < 6; o2++) want[n++] = (float)ref_reduce(op, x, 2, o2, 0);
        CHECK_VALUES(o, want, n, 1e-5);
        mx_ndarray_release(o);
      }
    }
  }
  CHECK_ERR(mx_ndarray_reduce(MX_REDUCE_SUM, a, 3, 0, &o), MX_ERR_ARG, "mx_ndarray_reduce: ", "axis 3", "(2,3,4)");
  CHECK_ERR(mx_ndarray_reduce((mx_reduce_op)42, a, 0, 0, &o), MX_ERR_ARG, "mx_ndarray_reduce: ", "42");
  mx_ndarray_release(a);
}

TEST(reduce_long_rows_match_double_loop) {
  /* long rows exercise the vectorised lanes and their tails */
  int n = 100003;
  float *x = malloc(n * sizeof *x);
  nd_fill_lcg(x, n, 31);
  mx_ndarray *a = ND(x, 100003), *o;
  double s = 0, ss = 0, mx = -INFINITY, mn = INFINITY;
  for (int i = 0; i < n; i++) {
    s += x[i];
    ss += (double)x[i] * x[i];
    mx = x[i] > mx ? x[i] : mx;
    mn = x[i] < mn ? x[i] : mn;
  }
  float v;
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_SUM, a, -1, 0, &o));
  mx_ndarray_get_element(o, 0, &v);
  CHECK_NEAR(v, s, 1e-5 * n);
  mx_ndarray_release(o);
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_MEAN, a, 0, 0, &o));
  mx_ndarray_get_element(o, 0, &v);
  CHECK_NEAR(v, s / n, 1e-5);
  mx_ndarray_release(o);
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_NORM, a, -1, 0, &o));
  mx_ndarray_get_element(o, 0, &v);
  CHECK_NEAR(v, sqrt(ss), 1e-4 * sqrt(ss));
  mx_ndarray_release(o);
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_MAX, a, -1, 0, &o));
  mx_ndarray_get_element(o, 0, &v);
  CHECK(v == (float)mx);
  mx_ndarray_release(o);
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_MIN, a, -1, 0, &o));
  mx_ndarray_get_element(o, 0, &v);
  CHECK(v == (float)mn);
  mx_ndarray_release(o);
  mx_ndarray_release(a);
  free(x);
}

TEST(long_sums_stay_accurate) {
  /* 2e6 copies of 0.1f: a single running float sum drifts by about 1%; the
   * blocked sums stay within a few float roundings, along rows and columns */
  mx_ndarray *a, *o;
  CHECK_OK(mx_ndarray_full((int64_t[]){2000000}, 1, mx_cpu(0), 0.1f, &a));
  float v;
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_SUM, a, -1, 0, &o));
  mx_ndarray_get_element(o, 0, &v);
  CHECK_NEAR(v, 2000000 * (double)0.1f, 1e-5 * 200000);
  mx_ndarray_release(o);
  mx_ndarray *c;
  CHECK_OK(mx_ndarray_reshape(a, (int64_t[]){500000, 4}, 2, &c));
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_SUM, c, 0, 0, &o));
  float want[4];
  for (int i = 0; i < 4; i++) want[i] = (float)(500000 * (double)0.1f);
  CHECK_VALUES(o, want, 4, 1e-5 * 50000);
  mx_ndarray_release(o);
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_NORM, c, 0, 1, &o));
  CHECK(SHAPE_IS(o, 1, 4));
  for (int i = 0; i < 4; i++) want[i] = (float)sqrt(500000 * (double)0.1f * (double)0.1f);
  CHECK_VALUES(o, want, 4, 1e-5 * want[0]);
  mx_ndarray_release(o);
  mx_ndarray_release(c);
  mx_ndarray_release(a);
}

/* C = op(A) op(B) by a naive triple loop */
static void naive_gemm(int ta, int tb, int m, int n, int k, const float *a, const float *b, float *c) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) s += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = (float)s;
    }
}

TEST(dot_matches_triple_loop) {
  int m = 7, n = 5, k = 33;
  float a[7 * 33], b[33 * 5], w[35];
  nd_fill_lcg(a, m * k, 41);
  nd_fill_lcg(b, k * n, 42);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      mx_ndarray *A = ta ? ND(a, 33, 7) : ND(a, 7, 33), *B = tb ? ND(b, 5, 33) : ND(b, 33, 5), *C;
      CHECK_OK(mx_ndarray_dot(A, B, ta, tb, &C));
      CHECK(SHAPE_IS(C, 7, 5));
      naive_gemm(ta, tb, m, n, k, a, b, w);
      CHECK_VALUES(C, w, 35, 1e-4);
      mx_ndarray_release(A);
      mx_ndarray_release(B);
      mx_ndarray_release(C);
    }
  /* 1-D forms: (k,)x(k,n) -> (n,), (m,k)x(k,) -> (m,), (k,)x(k,) -> (1,) */
  mx_ndarray *v = ND(a, 33), *B = ND(b, 33, 5), *A = ND(a, 7, 33), *u = ND(b, 33), *C;
  CHECK_OK(mx_ndarray_dot(v, B, 0, 0, &C));
  CHECK(SHAPE_IS(C, 5));
  naive_gemm(0, 0, 1, 5, 33, a, b, w);
  CHECK_VALUES(C, w, 5, 1e-4);
  mx_ndarray_release(C);
  CHECK_OK(mx_ndarray_dot(A, u, 0, 0, &C));
  CHECK(SHAPE_IS(C, 7));
  naive_gemm(0, 0, 7, 1, 33, a, b, w);
  CHECK_VALUES(C, w, 7, 1e-4);
  mx_ndarray_release(C);
  CHECK_OK(mx_ndarray_dot(v, u, 0, 0, &C));
  CHECK(SHAPE_IS(C, 1));
  naive_gemm(0, 0, 1, 1, 33, a, b, w);
  CHECK_VALUES(C, w, 1, 1e-4);
  mx_ndarray_release(C);
  CHECK_ERR(mx_ndarray_dot(A, B, 1, 0, &C), MX_ERR_SHAPE, "mx_ndarray_dot: ", "(7,33)^T", "(33,5)");
  mx_ndarray *three = ND(NULL, 2, 2, 2);
  CHECK_ERR(mx_ndarray_dot(three, B, 0, 0, &C), MX_ERR_SHAPE, "mx_ndarray_dot: ", "(2,2,2)", "1-D and 2-D");
  /* an empty inner dimension gives zeros */
  mx_ndarray *e1 = ND(NULL, 3, 0), *e2 = ND(NULL, 0, 2);
  CHECK_OK(mx_ndarray_dot(e1, e2, 0, 0, &C));
  float z[6] = {0};
  CHECK(SHAPE_IS(C, 3, 2));
  CHECK_VALUES(C, z, 6, 0);
  mx_ndarray_release(C);
  mx_ndarray *arr[] = {v, B, A, u, three, e1, e2};
  for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++) mx_ndarray_release(arr[i]);
}

TEST(gemm_alpha_beta_and_strides) {
  /* C (2x3 inside a 2x4 buffer) = 2 * A(2x2) B(2x3) + 0.5 * C */
  float a[4] = {1, 2, 3, 4}, b[6] = {1, 0, -1, 2, 1, 0}, c[8] = {1, 1, 1, 9, 1, 1, 1, 9}, w[6];
  naive_gemm(0, 0, 2, 3, 2, a, b, w);
  CHECK_OK(mx_gemm(mx_cpu(0), 0, 0, 2, 3, 2, 2.0f, a, 2, b, 3, 0.5f, c, 4));
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 3; j++) CHECK_NEAR(c[i * 4 + j], 2 * w[i * 3 + j] + 0.5, 1e-6);
    CHECK(c[i * 4 + 3] == 9); /* the padding is untouched */
  }
  CHECK_ERR(mx_gemm(mx_cpu(0), 0, 0, 2, 3, 2, 1, a, 1, b, 3, 0, c, 4), MX_ERR_ARG, "mx_gemm: ", "lda 1");
  CHECK_ERR(mx_gemm(mx_cpu(0), 0, 0, -1, 3, 2, 1, a, 2, b, 3, 0, c, 4), MX_ERR_ARG, "mx_gemm: ", "negative");
}

/* GEMMs past mx_gemm's one-thread limit (4M multiply-adds) take the threaded path: BLIS in a
 * build that has it, OpenBLAS on all its threads otherwise; every transpose, alpha, beta and
 * leading dimensions wider than the matrices, against the triple loop. */
TEST(large_gemms_match_triple_loop) {
  enum { M = 160, N = 170, K = 180, PAD = 3 };
  float *a = malloc(sizeof(float) * (M + PAD) * (K + PAD)), *b = malloc(sizeof(float) * (K + PAD) * (N + PAD));
  float *c = malloc(sizeof(float) * M * (N + PAD)), *w = malloc(sizeof(float) * M * N);
  float *at = malloc(sizeof(float) * M * K), *bt = malloc(sizeof(float) * K * N), *c0 = malloc(sizeof(float) * M * (N + PAD));
  CHECK(a && b && c && w && at && bt && c0);
  if (!(a && b && c && w && at && bt && c0)) goto done;
  nd_fill_lcg(a, (M + PAD) * (K + PAD), 5);
  nd_fill_lcg(b, (K + PAD) * (N + PAD), 6);
  nd_fill_lcg(c0, M * (N + PAD), 7);
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++) {
      /* op(A) (M, K) stored (M, K) or (K, M) with a row stride of its width + PAD; the same for B */
      int lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD;
      for (int i = 0; i < (ta ? K : M); i++)
        for (int j = 0; j < (ta ? M : K); j++) at[i * (ta ? M : K) + j] = a[i * lda + j];
      for (int i = 0; i < (tb ? N : K); i++)
        for (int j = 0; j < (tb ? K : N); j++) bt[i * (tb ? K : N) + j] = b[i * ldb + j];
      naive_gemm(ta, tb, M, N, K, at, bt, w);
      memcpy(c, c0, sizeof(float) * M * (N + PAD));
      CHECK_OK(mx_gemm(mx_cpu(0), ta, tb, M, N, K, 0.5f, a, lda, b, ldb, 0.25f, c, N + PAD));
      int bad = 0;
      for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
          double want = 0.5 * w[i * N + j] + 0.25 * c0[i * (N + PAD) + j];
          if (fabs(c[i * (N + PAD) + j] - want) > 1e-3 * (1 + fabs(want))) bad++;
        }
        for (int j = N; j < N + PAD; j++) bad += c[i * (N + PAD) + j] != c0[i * (N + PAD) + j];
      }
      if (bad) printf("# ta %d tb %d: %d values off\n", ta, tb, bad);
      CHECK(bad == 0);
    }
done:
  free(a), free(b), free(c), free(w), free(at), free(bt), free(c0);
}

TEST(one_hot_values) {
  float idx[4] = {2, 0, 1, 1}, bad_idx[4] = {2, 0, 5, 1};
  mx_ndarray *i = ND(idx, 2, 2), *bad = ND(bad_idx, 2, 2), *o = NULL;
  CHECK_OK(mx_ndarray_one_hot(i, 3, 1.0f, -1.0f, &o));
  if (!o) goto done;
  CHECK(SHAPE_IS(o, 2, 2, 3));
  float want[12];
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 3; c++) want[r * 3 + c] = (int)idx[r] == c ? 1.0f : -1.0f;
  CHECK_VALUES(o, want, 12, 0);
  mx_ndarray_release(o);
  CHECK_ERR(mx_ndarray_one_hot(i, 0, 1, 0, &o), MX_ERR_ARG, "mx_ndarray_one_hot: ", "depth");
  /* an index out of range is refused as take refuses it, naming it and its position */
  CHECK_ERR(mx_ndarray_one_hot(bad, 3, 1, 0, &o), MX_ERR_ARG, "mx_ndarray_one_hot: ", "index 5",
            "position 2", "0..2");
  CHECK(o == NULL);
done:
  mx_ndarray_release(i);
  mx_ndarray_release(bad);
}

TEST(context_mismatch_and_axis_limits) {
  float x[2] = {0, 1};
  mx_ndarray *a = ND(x, 2), *b, *o = NULL;
  CHECK_OK(mx_ndarray_from_host((int64_t[]){2}, 1, mx_cpu(1), x, &b));
  CHECK_ERR(mx_ndarray_binary(MX_BINARY_ADD, a, b, &o), MX_ERR_ARG, "mx_ndarray_binary: ", "cpu(0) and cpu(1)");
  CHECK_ERR(mx_ndarray_dot(a, b, 0, 0, &o), MX_ERR_ARG, "mx_ndarray_dot: ", "cpu(0) and cpu(1)");
  CHECK_ERR(mx_ndarray_take(a, b, &o), MX_ERR_ARG, "mx_ndarray_take: ", "cpu(0)", "cpu(1)");
  mx_ndarray *pair[2] = {a, b};
  CHECK_ERR(mx_ndarray_concat(pair, 2, 0, &o), MX_ERR_ARG, "mx_ndarray_concat: ", "cpu(1)");
  /* assignment and copies cross contexts freely */
  CHECK_OK(mx_ndarray_assign(b, a));
  CHECK_VALUES(b, x, 2, 0);
  mx_ndarray *six = ND(NULL, 1, 1, 1, 1, 1, 2), *i2 = ND(x, 1, 2);
  CHECK_ERR(mx_ndarray_one_hot(six, 3, 1, 0, &o), MX_ERR_SHAPE, "mx_ndarray_one_hot: ", "(1,1,1,1,1,2)");
  CHECK_ERR(mx_ndarray_take(six, i2, &o), MX_ERR_SHAPE, "mx_ndarray_take: ", "(1,2)", "(1,1,1,1,1,2)");
  CHECK_ERR(mx_ndarray_reshape(a, (int64_t[]){1, 1, 1, 1, 1, 1, 2}, 7, &o), MX_ERR_ARG, "mx_ndarray_reshape: ",
            "got 7");
  CHECK_ERR(mx_ndarray_arange(0, 1e16, 1, mx_cpu(0), &o), MX_ERR_ARG, "mx_ndarray_arange: ", "too many");
  CHECK_ERR(mx_random_permutation(1LL << 25, mx_cpu(0), &o), MX_ERR_ARG, "mx_random_permutation: ", "2^24");
  CHECK(o == NULL);
  mx_ndarray_release(six);
  mx_ndarray_release(i2);
  mx_ndarray_release(a);
  mx_ndarray_release(b);
}

/* The registry's dot and one_hot (mx.nd.dot, mx.sym.dot) at the sizes the Lua side cannot make:
 * an empty inner dimension writes zeros, an empty output or no index is no work. */
TEST(dot_and_one_hot_operators_at_empty_sizes) {
  static const char *const keys[] = {"transpose_a", "transpose_b"}, *const no[] = {"False", "False"},
                           *const tb[] = {"False", "True"};
  mx_eager *e;
  mx_ndarray *in[2] = {ND(NULL, 3, 0), ND(NULL, 0, 2)}, *out = NULL;
  CHECK_OK(mx_eager_get("dot", keys, no, 2, &e));
  CHECK_OK(mx_eager_run(e, in, 2, 0, &out));
  float z[6] = {0};
  CHECK(SHAPE_IS(out, 3, 2));
  CHECK_VALUES(out, z, 6, 0);
  mx_ndarray_release(out);
  mx_ndarray_release(in[1]);
  in[1] = ND(NULL, 4, 0); /* (3,0) x (4,0)^T */
  CHECK_OK(mx_eager_get("dot", keys, tb, 2, &e));
  CHECK_OK(mx_eager_run(e, in, 2, 0, &out));
  CHECK(SHAPE_IS(out, 3, 4));
  mx_ndarray_release(out);
  mx_ndarray_release(in[0]);
  in[0] = ND(NULL, 0, 0); /* (0,0) x (4,0)^T: an empty output */
  CHECK_OK(mx_eager_run(e, in, 2, 0, &out));
  CHECK(SHAPE_IS(out, 0, 4));
  mx_ndarray_release(out);
  mx_ndarray_release(in[0]);
  mx_ndarray_release(in[1]);
  static const char *const ok[] = {"depth"}, *const three[] = {"3"};
  mx_ndarray *ids = ND(NULL, 2, 0);
  CHECK_OK(mx_eager_get("one_hot", ok, three, 1, &e));
  CHECK_OK(mx_eager_run(e, &ids, 1, 0, &out));
  CHECK(SHAPE_IS(out, 2, 0, 3));
  mx_ndarray_release(out);
  mx_ndarray_release(ids);
}

/* The registry's take (mx.nd.take) with no ids, or rows of no values: an empty output, no work;
 * an empty a still refuses an id (nothing is in range). */
TEST(take_operator_at_empty_sizes) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  mx_eager *e;
  mx_ndarray *in[2] = {ND(x, 3, 2), ND(NULL, 0)}, *out = NULL;
  CHECK_OK(mx_eager_get("take", NULL, NULL, 0, &e));
  CHECK_OK(mx_eager_run(e, in, 2, 0, &out));
  CHECK(SHAPE_IS(out, 0, 2));
  mx_ndarray_release(out);
  mx_ndarray_release(in[1]);
  in[1] = ND(NULL, 2, 0);
  CHECK_OK(mx_eager_run(e, in, 2, 0, &out));
  CHECK(SHAPE_IS(out, 2, 0, 2));
  mx_ndarray_release(out);
  mx_ndarray_release(in[0]);
  float one = 0;
  mx_ndarray_release(in[1]);
  in[0] = ND(NULL, 0, 2);
  in[1] = ND(&one, 1);
  CHECK_ERR(mx_eager_run(e, in, 2, 0, &out), MX_ERR_ARG, "take", "index 0 (at position 0)", "(0,2)");
  mx_ndarray_release(in[0]);
  mx_ndarray_release(in[1]);
}

int main(void) {
  RUN(unary_every_op);
  RUN(softrelu_and_sigmoid_extremes);
  RUN(clip_values);
  RUN(binary_every_op_same_shape);
  RUN(binary_broadcasting_matches_loop);
  RUN(binary_errors);
  RUN(inplace_with_overlapping_operand);
  RUN(reduce_every_op_and_axis);
  RUN(reduce_long_rows_match_double_loop);
  RUN(long_sums_stay_accurate);
  RUN(dot_matches_triple_loop);
  RUN(gemm_alpha_beta_and_strides);
  RUN(large_gemms_match_triple_loop);
  RUN(one_hot_values);
  RUN(dot_and_one_hot_operators_at_empty_sizes);
  RUN(take_operator_at_empty_sizes);
  RUN(context_mismatch_and_axis_limits);
  return ctest_summary();
}
