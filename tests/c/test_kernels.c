/* test_kernels.c: the CPU kernel table (core/kernels.h) called directly, with
 * strides the NDArray API never produces, and the broadcasting helpers
 * (mx_broadcast_shape, mx_broadcast_strides, mx_collapse_axes). */
#include "ndtest.h"
#include "kernels.h"

TEST(broadcast_shape_rules) {
  int64_t out[MX_MAX_NDIM];
  int n;
  CHECK(mx_broadcast_shape((int64_t[]){2, 3, 4}, 3, (int64_t[]){3, 1}, 2, out, &n));
  CHECK(n == 3 && out[0] == 2 && out[1] == 3 && out[2] == 4);
  CHECK(mx_broadcast_shape((int64_t[]){1}, 1, (int64_t[]){5, 1, 2}, 3, out, &n));
  CHECK(n == 3 && out[0] == 5 && out[1] == 1 && out[2] == 2);
  CHECK(mx_broadcast_shape((int64_t[]){0, 1}, 2, (int64_t[]){1, 3}, 2, out, &n)); /* zero size broadcasts */
  CHECK(n == 2 && out[0] == 0 && out[1] == 3);
  CHECK(!mx_broadcast_shape((int64_t[]){2, 3}, 2, (int64_t[]){3, 2}, 2, out, &n));
  CHECK(!mx_broadcast_shape((int64_t[]){4}, 1, (int64_t[]){2, 3}, 2, out, &n));
}

TEST(broadcast_strides_and_collapse) {
  int64_t s[MX_MAX_NDIM];
  mx_broadcast_strides((int64_t[]){3, 1}, 2, (int64_t[]){2, 3, 4}, 3, s);
  CHECK(s[0] == 0 && s[1] == 1 && s[2] == 0);
  mx_broadcast_strides((int64_t[]){2, 3, 4}, 3, (int64_t[]){2, 3, 4}, 3, s);
  CHECK(s[0] == 12 && s[1] == 4 && s[2] == 1);
  /* (2,3,4) with b (3,4) collapses to (2,12): a contiguous, b repeated */
  int64_t shape[3] = {2, 3, 4}, sa[3] = {12, 4, 1}, sb[3] = {0, 4, 1};
  int64_t *sets[2] = {sa, sb};
  int n = 3;
  mx_collapse_axes(shape, &n, sets, 2);
  CHECK(n == 2 && shape[0] == 2 && shape[1] == 12);
  CHECK(sa[0] == 12 && sa[1] == 1 && sb[0] == 0 && sb[1] == 1);
  /* size-1 axes vanish; all-ones collapses to one axis of 1 */
  int64_t sh2[4] = {1, 5, 1, 1}, st2[4] = {0, 1, 0, 0};
  int64_t *set2[1] = {st2};
  n = 4;
  mx_collapse_axes(sh2, &n, set2, 1);
  CHECK(n == 1 && sh2[0] == 5 && st2[0] == 1);
  int64_t sh3[2] = {1, 1}, st3[2] = {0, 0};
  int64_t *set3[1] = {st3};
  n = 2;
  mx_collapse_axes(sh3, &n, set3, 1);
  CHECK(n == 1 && sh3[0] == 1);
  /* a transposed read does not collapse */
  int64_t sh4[2] = {3, 2}, st4[2] = {1, 3};
  int64_t *set4[1] = {st4};
  n = 2;
  mx_collapse_axes(sh4, &n, set4, 1);
  CHECK(n == 2 && st4[0] == 1 && st4[1] == 3);
}

TEST(strided_kernels_with_any_strides) {
  const mx_kernels *k = mx_kernels_for(mx_cpu(0));
  CHECK(k == &mx_kernels_cpu);
  float x[64], y[64], z[12], want[12];
  nd_fill_lcg(x, 64, 3);
  nd_fill_lcg(y, 64, 4);
  /* a (3,4) output reading x with strides (16, 2) and y with strides (1, 5) */
  int64_t shape[2] = {3, 4}, sx[2] = {16, 2}, sy[2] = {1, 5};
  k->binary_strided(MX_BINARY_SUB, x, sx, y, sy, z, shape, 2);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) want[i * 4 + j] = x[i * 16 + j * 2] - y[i + j * 5];
  for (int i = 0; i < 12; i++) CHECK(z[i] == want[i]);
  k->copy_strided(x, sx, z, shape, 2);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) CHECK(z[i * 4 + j] == x[i * 16 + j * 2]);
  /* copy2d: a 2x3 block out of rows of 8 into rows of 5 */
  float dst[10];
  for (int i = 0; i < 10; i++) dst[i] = -1;
  k->copy2d(x + 1, 8, dst, 5, 2, 3);
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 5; c++) CHECK(dst[r * 5 + c] == (c < 3 ? x[1 + r * 8 + c] : -1));
}

/* im2col against the definition (stride, pad, dilation; columns ld apart, beside another
 * image's), and col2im as its adjoint: <col2im(c), img> == <c, im2col(img)>. */
TEST(im2col_and_col2im) {
  const mx_kernels *k = &mx_kernels_cpu;
  mx_conv_geom g = {.c = 2, .h = 5, .w = 6, .kh = 2, .kw = 3, .sh = 2, .sw = 1, .dh = 2, .dw = 1, .ph = 1, .pw = 2};
  g.oh = (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
  enum { ROWS = 2 * 2 * 3, IMG = 2 * 5 * 6 };
  int64_t p = g.oh * g.ow, ld = 2 * p;
  float img[IMG], col[ROWS * 2 * 32], back[IMG], c2[ROWS * 2 * 32];
  CHECK(p == 3 * 8); /* 3 rows of 8 positions */
  nd_fill_lcg(img, IMG, 6);
  for (int64_t i = 0; i < ROWS * ld; i++) col[i] = -7.0f;
  k->im2col(&g, img, col + p, ld); /* the second image's place */
  for (int64_t ch = 0; ch < g.c; ch++)
    for (int64_t ki = 0; ki < g.kh; ki++)
      for (int64_t kj = 0; kj < g.kw; kj++)
        for (int64_t y = 0; y < g.oh; y++)
          for (int64_t x = 0; x < g.ow; x++) {
            int64_t row = (ch * g.kh + ki) * g.kw + kj, iy = y * g.sh - g.ph + ki * g.dh,
                    ix = x * g.sw - g.pw + kj * g.dw;
            float want = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? img[(ch * g.h + iy) * g.w + ix] : 0.0f;
            CHECK(col[row * ld + p + y * g.ow + x] == want);
            CHECK(col[row * ld + y * g.ow + x] == -7.0f); /* the first image's place untouched */
          }
  nd_fill_lcg(c2, ROWS * ld, 7);
  for (int i = 0; i < IMG; i++) back[i] = 0.0f;
  k->col2im(&g, c2 + p, back, ld);
  double lhs = 0, rhs = 0;
  for (int i = 0; i < IMG; i++) lhs += (double)back[i] * img[i];
  for (int64_t r = 0; r < ROWS; r++)
    for (int64_t q = 0; q < p; q++) rhs += (double)c2[r * ld + p + q] * col[r * ld + p + q];
  CHECK(fabs(lhs - rhs) <= 1e-4 * (fabs(rhs) + 1));
  /* col2im adds to what the image holds */
  for (int i = 0; i < IMG; i++) img[i] = back[i];
  k->col2im(&g, c2 + p, back, ld);
  for (int i = 0; i < IMG; i++) CHECK(fabsf(back[i] - 2 * img[i]) <= 1e-5f * (fabsf(img[i]) + 1));
}

TEST(reduce_kernel_shapes) {
  const mx_kernels *k = &mx_kernels_cpu;
  float x[2 * 5 * 3], y[6];
  nd_fill_lcg(x, 30, 5);
  k->reduce(MX_REDUCE_MAX, x, y, 2, 5, 3); /* (2,5,3) over the middle axis */
  for (int o = 0; o < 2; o++)
    for (int i = 0; i < 3; i++) {
      float m = -INFINITY;
      for (int l = 0; l < 5; l++) m = x[(o * 5 + l) * 3 + i] > m ? x[(o * 5 + l) * 3 + i] : m;
      CHECK(y[o * 3 + i] == m);
    }
  k->reduce(MX_REDUCE_ARGMIN, x, y, 2, 5, 3);
  for (int o = 0; o < 2; o++)
    for (int i = 0; i < 3; i++) {
      int best = 0;
      for (int l = 1; l < 5; l++)
        if (x[(o * 5 + l) * 3 + i] < x[(o * 5 + best) * 3 + i]) best = l;
      CHECK(y[o * 3 + i] == (float)best);
    }
}

TEST(missing_kernel_message) {
  CHECK(mx_kernel_missing("mx_ndarray_dot", mx_gpu(0), "fill") == MX_ERR_DEVICE);
  CHECK(strcmp(mx_last_error(), "mx_ndarray_dot: the fill kernel is not available on gpu(0)") == 0);
  mx_error_at(MX_ERR_SHAPE, "mx_ndarray_binary", "shapes (2,) and (3,) cannot broadcast");
  CHECK(MX_ERR_FRAME(MX_ERR_SHAPE, "mx_ndarray_full") == MX_ERR_SHAPE); /* appended, not renamed */
  CHECK(strcmp(mx_last_error(), "mx_ndarray_full: mx_ndarray_binary: shapes (2,) and (3,) cannot broadcast") == 0);
}

int main(void) {
  RUN(broadcast_shape_rules);
  RUN(broadcast_strides_and_collapse);
  RUN(strided_kernels_with_any_strides);
  RUN(im2col_and_col2im);
  RUN(reduce_kernel_shapes);
  RUN(missing_kernel_message);
  return ctest_summary();
}
