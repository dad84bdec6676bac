/* digit.c: MNIST-style preprocessing of a hand-drawn digit (crop to the ink,
 * fit 20x20 by area averaging keeping the aspect ratio, centre the mass in
 * 28x28), and the ink of a decoded RGBA/gray picture. Host memory only. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Resamples `n` samples spaced `stride` apart in `src` onto `m` samples in
 * `dst` (spaced `dstride`) by area averaging: output k covers the source
 * interval [k*n/m, (k+1)*n/m), each source sample weighted by its overlap. */
static void box_resample(const float *src, int64_t n, int64_t stride, float *dst, int64_t m,
                         int64_t dstride) {
  double step = (double)n / (double)m;
  for (int64_t k = 0; k < m; k++) {
    double lo = k * step, hi = (k + 1) * step, acc = 0;
    for (int64_t i = (int64_t)floor(lo); i < n && (double)i < hi; i++) {
      double a = fmax(lo, (double)i), b = fmin(hi, (double)(i + 1));
      if (b > a) acc += (b - a) * src[i * stride];
    }
    dst[k * dstride] = (float)(acc / step);
  }
}

mx_status mx_digit_preprocess(const float *pixels, int64_t height, int64_t width, float *out,
                              int *has_ink) {
  if (!pixels || !out)
    return mx_error_at(MX_ERR_ARG, "mx_digit_preprocess", "pixels and out must not be NULL");
  if (height < 1 || width < 1)
    return mx_error_at(MX_ERR_ARG, "mx_digit_preprocess", "image size must be positive (got %lldx%lld)",
                    (long long)width, (long long)height);
  int64_t x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (int64_t y = 0; y < height; y++)
    for (int64_t x = 0; x < width; x++) {
      float v = pixels[y * width + x];
      if (!(v >= 0.0f && v <= 1.0f))
        return mx_error_at(MX_ERR_ARG,
                        "mx_digit_preprocess", "pixel values must be in [0, 1] (got %g at row %lld, "
                        "column %lld)",
                        (double)v, (long long)y, (long long)x);
      if (v > MX_DIGIT_INK_THRESHOLD) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  memset(out, 0, sizeof(float) * MX_DIGIT_SIZE * MX_DIGIT_SIZE);
  if (has_ink) *has_ink = x1 >= 0;
  if (x1 < 0) return MX_OK; /* blank: all zeros */

  /* Fit the bounding box into BOXxBOX, the longer side becoming BOX pixels. */
  int64_t bw = x1 - x0 + 1, bh = y1 - y0 + 1, longest = bw > bh ? bw : bh;
  int64_t nw = (int64_t)floor((double)bw * MX_DIGIT_BOX / longest + 0.5);
  int64_t nh = (int64_t)floor((double)bh * MX_DIGIT_BOX / longest + 0.5);
  if (nw < 1) nw = 1;
  if (nh < 1) nh = 1;
  float *rows = malloc(sizeof(float) * (size_t)(bh * nw)); /* (bh, nw): columns done */
  float *box = malloc(sizeof(float) * (size_t)(nh * nw));  /* (nh, nw): both done */
  if (!rows || !box) {
    free(rows);
    free(box);
    return mx_error_at(MX_ERR_NOMEM, "mx_digit_preprocess", "out of memory");
  }
  for (int64_t y = 0; y < bh; y++)
    box_resample(pixels + (y0 + y) * width + x0, bw, 1, rows + y * nw, nw, 1);
  for (int64_t x = 0; x < nw; x++) box_resample(rows + x, bh, nw, box + x, nh, nw);

  /* Centre of mass, pixel centres at index + 0.5. */
  double mass = 0, my = 0, mxs = 0;
  for (int64_t y = 0; y < nh; y++)
    for (int64_t x = 0; x < nw; x++) {
      double v = box[y * nw + x];
      mass += v;
      my += v * (y + 0.5);
      mxs += v * (x + 0.5);
    }
  double cy = mass > 0 ? my / mass : nh / 2.0, cx = mass > 0 ? mxs / mass : nw / 2.0;
  int64_t half = MX_DIGIT_SIZE / 2;
  int64_t top = (int64_t)floor(half - cy + 0.5), left = (int64_t)floor(half - cx + 0.5);
  /* Keep the whole box in the frame. */
  if (top < 0) top = 0;
  if (top > MX_DIGIT_SIZE - nh) top = MX_DIGIT_SIZE - nh;
  if (left < 0) left = 0;
  if (left > MX_DIGIT_SIZE - nw) left = MX_DIGIT_SIZE - nw;
  for (int64_t y = 0; y < nh; y++)
    for (int64_t x = 0; x < nw; x++) {
      float v = box[y * nw + x];
      out[(top + y) * MX_DIGIT_SIZE + left + x] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
  free(rows);
  free(box);
  return MX_OK;
}

mx_status mx_digit_preprocess_ndarray(const mx_ndarray *image, mx_ndarray **out) {
  if (!image || !out)
    return mx_error_at(MX_ERR_ARG, "mx_digit_preprocess_ndarray", "image and out must not be NULL");
  *out = NULL;
  int ndim = mx_ndarray_ndim(image);
  const int64_t *shape = mx_ndarray_shape(image);
  if (ndim != 2) {
    char buf[64];
    return mx_error_at(MX_ERR_SHAPE,
                    "mx_digit_preprocess_ndarray", "the image must be 2-D (height,width) (got %s)",
                    mx_shape_str(shape, ndim, buf, sizeof buf));
  }
  int64_t n = mx_ndarray_size(image);
  float *host = malloc(sizeof(float) * (size_t)n);
  if (!host) return mx_error_at(MX_ERR_NOMEM, "mx_digit_preprocess_ndarray", "out of memory");
  float res[MX_DIGIT_SIZE * MX_DIGIT_SIZE];
  mx_status st = mx_ndarray_to_host(image, host, n);
  if (st == MX_OK) st = mx_digit_preprocess(host, shape[0], shape[1], res, NULL);
  free(host);
  if (st != MX_OK) return st;
  int64_t oshape[2] = {MX_DIGIT_SIZE, MX_DIGIT_SIZE};
  return mx_ndarray_from_host(oshape, 2, mx_ndarray_context(image), res, out);
}

mx_status mx_digit_ink(const float *gray, const float *alpha, int64_t height, int64_t width,
                       float *out) {
  if (!gray || !out) return mx_error_at(MX_ERR_ARG, "mx_digit_ink", "gray and out must not be NULL");
  if (height < 1 || width < 1)
    return mx_error_at(MX_ERR_ARG, "mx_digit_ink", "image size must be positive (got %lldx%lld)",
                    (long long)width, (long long)height);
  int64_t n = height * width;
  int translucent = 0;
  for (int64_t i = 0; alpha && i < n && !translucent; i++) translucent = alpha[i] < 1.0f;
  if (translucent) { /* a drawing on a transparent canvas: the alpha is the ink */
    for (int64_t i = 0; i < n; i++)
      out[i] = alpha[i] < 0.0f ? 0.0f : (alpha[i] > 1.0f ? 1.0f : alpha[i]);
    return MX_OK;
  }
  /* Opaque: the brightness, inverted when the border (the paper) is bright. */
  double border = 0;
  int64_t nborder = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = gray[i];
    out[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    int64_t y = i / width, x = i % width;
    if (y == 0 || x == 0 || y == height - 1 || x == width - 1) {
      border += out[i];
      nborder++;
    }
  }
  if (border / (double)nborder > 0.5)
    for (int64_t i = 0; i < n; i++) out[i] = 1.0f - out[i];
  return MX_OK;
}
