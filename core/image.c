/* image.c: pictures as PNG files through libpng: writing 8-bit images, a grid
 * of grayscale images, decoding any PNG to gray and alpha floats. */
#include "internal.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

mx_status mx_image_write_png(const char *path, const uint8_t *pixels, int width, int height,
                             int channels) {
  static const png_uint_32 formats[] = {0, PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                        PNG_FORMAT_RGBA};
  if (!path || !pixels)
    return mx_error_at(MX_ERR_ARG, "mx_image_write_png", "path and pixels are required");
  if (width <= 0 || height <= 0)
    return mx_error_at(MX_ERR_ARG, "mx_image_write_png", "bad size %dx%d (expected positive)", width,
                    height);
  if (channels < 1 || channels > 4)
    return mx_error_at(MX_ERR_ARG, "mx_image_write_png", "bad channel count (got %d, expected 1 to 4)",
                    channels);
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = (png_uint_32)width;
  img.height = (png_uint_32)height;
  img.format = formats[channels];
  if (!png_image_write_to_file(&img, path, 0, pixels, 0, NULL)) {
    mx_status st =
        mx_error_at(MX_ERR_IO, "mx_image_write_png", "cannot write '%s' (%s)", path, img.message);
    png_image_free(&img);
    return st;
  }
  return MX_OK;
}

mx_status mx_image_write_grid_png(const char *path, const mx_ndarray *images, int rows, int cols,
                                  int scale, int pad) {
  if (!images) return mx_error_at(MX_ERR_ARG, "mx_image_write_grid_png", "images are required");
  int nd = mx_ndarray_ndim(images);
  const int64_t *shape = mx_ndarray_shape(images);
  int64_t n = nd >= 3 ? shape[0] : (nd == 2 ? shape[0] : 1), h, w;
  if (nd == 3) {
    h = shape[1], w = shape[2];
  } else if (nd == 4 && shape[1] == 1) {
    h = shape[2], w = shape[3];
  } else if (nd == 2 || nd == 1) { /* flat square images: (n, h*w) or (h*w) */
    int64_t d = shape[nd - 1];
    h = w = 1;
    while (h * h < d) h++;
    w = h;
    if (h * w != d) {
      char buf[64];
      return mx_error_at(MX_ERR_SHAPE,
                      "mx_image_write_grid_png", "flat images of shape %s are not square",
                      mx_shape_str(shape, nd, buf, sizeof buf));
    }
  } else {
    char buf[64];
    return mx_error_at(
        MX_ERR_SHAPE,
        "mx_image_write_grid_png", "bad shape %s (expected (n,h,w), (n,1,h,w) or (n,h*w))",
        mx_shape_str(shape, nd, buf, sizeof buf));
  }
  if (n <= 0 || h <= 0) return mx_error_at(MX_ERR_SHAPE, "mx_image_write_grid_png", "no images to draw");
  if (scale < 1 || scale > 64)
    return mx_error_at(MX_ERR_ARG, "mx_image_write_grid_png", "bad scale (got %d, expected 1 to 64)",
                    scale);
  if (pad < 0 || pad > 64)
    return mx_error_at(MX_ERR_ARG, "mx_image_write_grid_png", "bad pad (got %d, expected 0 to 64)", pad);
  if (rows <= 0 && cols <= 0) rows = 1;
  if (cols <= 0) cols = (int)((n + rows - 1) / rows);
  if (rows <= 0) rows = (int)((n + cols - 1) / cols);
  if ((int64_t)rows * cols < n)
    return mx_error_at(MX_ERR_ARG, "mx_image_write_grid_png", "a %dx%d grid cannot hold %lld images",
                    rows, cols, (long long)n);
  int64_t tw = w * scale, th = h * scale;
  int64_t W = cols * tw + (cols + 1) * (int64_t)pad, H = rows * th + (rows + 1) * (int64_t)pad;
  if (W > 32768 || H > 32768)
    return mx_error_at(MX_ERR_ARG, "mx_image_write_grid_png", "picture too large (%lldx%lld)",
                    (long long)W, (long long)H);

  int64_t size = mx_ndarray_size(images);
  float *px = malloc((size_t)size * sizeof *px);
  uint8_t *out = calloc((size_t)(W * H), 1);
  if (!px || !out) {
    free(px), free(out);
    return mx_error_at(MX_ERR_NOMEM, "mx_image_write_grid_png", "out of memory");
  }
  mx_status st = mx_ndarray_to_host(images, px, size);
  if (st != MX_OK) {
    free(px), free(out);
    return MX_ERR_FRAME(st, "mx_image_write_grid_png");
  }
  memset(out, 64, (size_t)(W * H)); /* padding: dark gray, so black tiles keep their edges */
  for (int64_t k = 0; k < n; k++) {
    int64_t x0 = pad + (k % cols) * (tw + pad), y0 = pad + (k / cols) * (th + pad);
    for (int64_t y = 0; y < th; y++)
      for (int64_t x = 0; x < tw; x++) {
        float v = px[k * h * w + (y / scale) * w + x / scale];
        v = v < 0 ? 0 : (v > 1 ? 1 : v); /* 0 black, 1 white (matplotlib's Greys_r) */
        out[(y0 + y) * W + x0 + x] = (uint8_t)(v * 255.0f + 0.5f);
      }
  }
  free(px);
  st = mx_image_write_png(path, out, (int)W, (int)H, 1);
  free(out);
  return st;
}

mx_status mx_image_decode_png(const void *buf, size_t len, float **gray, float **alpha, int *width,
                              int *height) {
  *gray = *alpha = NULL;
  *width = *height = 0;
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!buf || !png_image_begin_read_from_memory(&img, buf, len)) {
    mx_status st = mx_error_at(MX_ERR_FORMAT, "mx_image_decode_png", "not a PNG image (%s)",
                            buf ? img.message : "no data");
    png_image_free(&img);
    return st;
  }
  img.format = PNG_FORMAT_GA; /* any colour type and depth, converted by libpng */
  size_t n = (size_t)img.width * img.height;
  uint8_t *ga = malloc(n * 2);
  float *g = malloc(n * sizeof *g), *a = malloc(n * sizeof *a);
  if (!ga || !g || !a) {
    png_image_free(&img);
    free(ga), free(g), free(a);
    return mx_error_at(MX_ERR_NOMEM, "mx_image_decode_png", "out of memory for %ux%u pixels", img.width,
                    img.height);
  }
  if (!png_image_finish_read(&img, NULL, ga, 0, NULL)) {
    mx_status st =
        mx_error_at(MX_ERR_FORMAT, "mx_image_decode_png", "broken PNG data (%s)", img.message);
    png_image_free(&img);
    free(ga), free(g), free(a);
    return st;
  }
  for (size_t i = 0; i < n; i++) {
    g[i] = ga[2 * i] / 255.0f;
    a[i] = ga[2 * i + 1] / 255.0f;
  }
  free(ga);
  *gray = g, *alpha = a;
  *width = (int)img.width, *height = (int)img.height;
  return MX_OK;
}

mx_status mx_image_read_png(const char *path, float **gray, float **alpha, int *width,
                            int *height) {
  *gray = *alpha = NULL;
  char *text;
  size_t len;
  mx_status rst = mx_file_read_all(path, "mx_image_read_png", &text, &len);
  if (rst != MX_OK) return rst;
  uint8_t *buf = (uint8_t *)text;
  mx_status st = mx_image_decode_png(buf, len, gray, alpha, width, height);
  free(buf);
  if (st != MX_OK) return mx_error_at(st, "mx_image_read_png", "'%s' is not a readable PNG", path);
  return MX_OK;
}
