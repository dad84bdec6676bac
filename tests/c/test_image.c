/* test_image.c: core/image.c from C: a grid of images written as PNG and read
 * back pixel by pixel, decoding RGB(A) PNGs to gray and alpha, and
 * the errors (bad shapes, unwritable paths, data that is not a PNG). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctest.h"
#include "mx.h"

static char path[64];

static const char *tmp_png(void) {
  snprintf(path, sizeof path, "/tmp/mx_test_image_%d.png", (int)getpid());
  return path;
}

TEST(grid_layout_scale_and_padding) {
  /* three 2x2 images in a 2x2 grid, scale 2, pad 1 */
  float v[12];
  for (int i = 0; i < 12; i++) v[i] = (float)i / 11.0f;
  int64_t shape[3] = {3, 2, 2};
  mx_ndarray *a = NULL;
  CHECK(mx_ndarray_from_host(shape, 3, mx_cpu(0), v, &a) == MX_OK);
  CHECK(mx_image_write_grid_png(tmp_png(), a, 2, 0, 2, 1) == MX_OK);
  float *gray = NULL, *alpha = NULL;
  int w = 0, h = 0;
  CHECK(mx_image_read_png(path, &gray, &alpha, &w, &h) == MX_OK);
  CHECK(w == 2 * 4 + 3 && h == 2 * 4 + 3);
  if (gray && w == 11 && h == 11) {
    for (int k = 0; k < 3; k++) {
      int x0 = 1 + (k % 2) * 5, y0 = 1 + (k / 2) * 5;
      for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
          float want = (float)(int)(v[k * 4 + (y / 2) * 2 + x / 2] * 255.0f + 0.5f) / 255.0f;
          CHECK_NEAR(gray[(y0 + y) * w + x0 + x], want, 1e-6);
        }
    }
    CHECK_NEAR(gray[0], 64 / 255.0, 1e-6);           /* padding */
    CHECK_NEAR(gray[10 * w + 10], 64 / 255.0, 1e-6); /* the empty fourth tile */
    CHECK_NEAR(alpha[5 * w + 5], 1.0, 1e-6);
  }
  free(gray);
  free(alpha);
  mx_ndarray_release(a);
  unlink(path);
}

TEST(flat_square_rows_and_errors) {
  int64_t shape[2] = {2, 9};
  mx_ndarray *a = NULL;
  CHECK(mx_ndarray_full(shape, 2, mx_cpu(0), 0.5f, &a) == MX_OK);
  CHECK(mx_image_write_grid_png(tmp_png(), a, 1, 0, 1, 0) == MX_OK);
  float *gray = NULL, *alpha = NULL;
  int w = 0, h = 0;
  CHECK(mx_image_read_png(path, &gray, &alpha, &w, &h) == MX_OK);
  CHECK(w == 6 && h == 3);
  free(gray);
  free(alpha);
  unlink(path);
  CHECK(mx_image_write_grid_png(path, a, 1, 1, 1, 0) == MX_ERR_ARG); /* 2 images, 1 tile */
  CHECK(strstr(mx_last_error(), "cannot hold 2 images") != NULL);
  CHECK(mx_image_write_grid_png(path, a, 1, 0, 0, 0) == MX_ERR_ARG); /* scale 0 */
  CHECK(mx_image_write_grid_png("/nonexistent/dir/x.png", a, 1, 0, 1, 0) == MX_ERR_IO);
  mx_ndarray_release(a);
  int64_t bad[2] = {2, 10};
  CHECK(mx_ndarray_zeros(bad, 2, mx_cpu(0), &a) == MX_OK);
  CHECK(mx_image_write_grid_png(path, a, 1, 0, 1, 0) == MX_ERR_SHAPE);
  CHECK(strstr(mx_last_error(), "(2,10) are not square") != NULL);
  mx_ndarray_release(a);
}

TEST(decoding_colour_to_gray_and_alpha) {
  /* 2x1 RGBA: opaque white, half-transparent black */
  uint8_t rgba[8] = {255, 255, 255, 255, 0, 0, 0, 128};
  CHECK(mx_image_write_png(tmp_png(), rgba, 2, 1, 4) == MX_OK);
  FILE *f = fopen(path, "rb");
  uint8_t buf[4096];
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  float *gray = NULL, *alpha = NULL;
  int w = 0, h = 0;
  CHECK(mx_image_decode_png(buf, n, &gray, &alpha, &w, &h) == MX_OK);
  CHECK(w == 2 && h == 1);
  if (gray) {
    CHECK_NEAR(gray[0], 1.0, 1e-6);
    CHECK_NEAR(alpha[0], 1.0, 1e-6);
    CHECK_NEAR(alpha[1], 128 / 255.0, 1e-6);
  }
  free(gray);
  free(alpha);
  unlink(path);
  CHECK(mx_image_decode_png("not a png", 9, &gray, &alpha, &w, &h) == MX_ERR_FORMAT);
  CHECK(gray == NULL && alpha == NULL);
  CHECK(mx_image_read_png("/nonexistent.png", &gray, &alpha, &w, &h) == MX_ERR_IO);
  CHECK(mx_image_write_png(path, rgba, 2, 1, 5) == MX_ERR_ARG);
}

int main(void) {
  RUN(grid_layout_scale_and_padding);
  RUN(flat_square_rows_and_errors);
  RUN(decoding_colour_to_gray_and_alpha);
  return ctest_summary();
}
