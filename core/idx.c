/* idx.c: the IDX file reader (MNIST images and labels), plain or gzip through
 * zlib; big-endian header, magic 0x00 0x00 0x08 ndim (unsigned bytes). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"

/* Reads exactly len bytes; returns the count read (less at end of file). */
static int64_t read_bytes(gzFile f, void *buf, int64_t len) {
  int64_t done = 0;
  while (done < len) {
    unsigned chunk = (unsigned)(len - done > (1 << 30) ? (1 << 30) : len - done);
    int got = gzread(f, (char *)buf + done, chunk);
    if (got <= 0) break;
    done += got;
  }
  return done;
}

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

mx_status mx_idx_load(const char *path, int expected_ndim, float scale, mx_context ctx,
                      mx_ndarray **out) {
  *out = NULL;
  if (!path) return mx_error_at(MX_ERR_ARG, "mx_idx_load", "no file name given");
  if (expected_ndim < 0 || expected_ndim > MX_MAX_NDIM)
    return mx_error_at(MX_ERR_ARG, "mx_idx_load", "expected_ndim must be 0..%d (got %d)", MX_MAX_NDIM,
                    expected_ndim);
  mx_status rst = mx_file_check_regular(path, "mx_idx_load");
  if (rst != MX_OK) return rst;
  gzFile f = gzopen(path, "rb");
  if (!f) return mx_error_at(MX_ERR_IO, "mx_idx_load", "cannot open %s", path);
  unsigned char head[4];
  if (read_bytes(f, head, 4) != 4) {
    gzclose(f);
    return mx_error_at(MX_ERR_FORMAT, "mx_idx_load", "%s: truncated file (no IDX header)", path);
  }
  int ndim = head[3];
  uint32_t magic = be32(head);
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || ndim < 1 || ndim > MX_MAX_NDIM ||
      (expected_ndim && ndim != expected_ndim)) {
    gzclose(f);
    if (expected_ndim)
      return mx_error_at(MX_ERR_FORMAT,
                      "mx_idx_load", "%s: wrong magic number (got 0x%08x, expected 0x%08x)", path,
                      magic, 0x800u + (unsigned)expected_ndim);
    return mx_error_at(
        MX_ERR_FORMAT,
        "mx_idx_load", "%s: wrong magic number (got 0x%08x, expected 0x0000080N, N in 1..%d)", path,
        magic, MX_MAX_NDIM);
  }
  unsigned char dimbuf[4 * MX_MAX_NDIM];
  if (read_bytes(f, dimbuf, 4 * ndim) != 4 * ndim) {
    gzclose(f);
    return mx_error_at(MX_ERR_FORMAT, "mx_idx_load", "%s: truncated file (header ends early)", path);
  }
  int64_t shape[MX_MAX_NDIM];
  for (int i = 0; i < ndim; i++) shape[i] = be32(dimbuf + 4 * i);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] != 0 &&
        n > ((int64_t)1 << 40) / shape[i]) { /* a corrupt header, not a real file */
      gzclose(f);
      return mx_error_at(MX_ERR_FORMAT,
                      "mx_idx_load", "%s: implausible dimensions in the header (over 2^40 values)",
                      path);
    }
    n *= shape[i];
  }
  /* The data is read into a buffer that grows as bytes arrive, so a header claiming more
   * values than the file holds fails as truncated without first allocating them all. */
  int64_t cap = n < (1 << 20) ? n : (1 << 20), got = 0;
  unsigned char *bytes = malloc(cap > 0 ? (size_t)cap : 1);
  while (bytes) {
    got += read_bytes(f, bytes + got, cap - got);
    if (got < cap || cap == n) break;
    cap = cap > n / 2 ? n : cap * 2;
    unsigned char *more = realloc(bytes, (size_t)cap);
    if (!more) free(bytes);
    bytes = more;
  }
  gzclose(f);
  if (!bytes)
    return mx_error_at(MX_ERR_NOMEM, "mx_idx_load", "%s: out of memory for %lld values", path,
                    (long long)n);
  if (got != n) {
    free(bytes);
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_idx_load", "%s: truncated file (got %lld data bytes, expected %lld)", path,
                    (long long)got, (long long)n);
  }
  if (ctx.dev_type == MX_DEV_CPU) { /* straight into the array: no second float copy */
    mx_status st = mx_ndarray_create(shape, ndim, ctx, out);
    if (st != MX_OK) {
      free(bytes);
      return MX_ERR_FRAME(st, "mx_idx_load");
    }
    float *dst = mx_ndarray_data(*out);
    for (int64_t i = 0; i < n; i++) dst[i] = (float)bytes[i] * scale;
    free(bytes);
    return MX_OK;
  }
  float *vals = malloc(n > 0 ? (size_t)n * sizeof(float) : sizeof(float));
  if (!vals) {
    free(bytes);
    return mx_error_at(MX_ERR_NOMEM, "mx_idx_load", "%s: out of memory for %lld values", path,
                    (long long)n);
  }
  for (int64_t i = 0; i < n; i++) vals[i] = (float)bytes[i] * scale;
  free(bytes);
  mx_status st = mx_ndarray_from_host(shape, ndim, ctx, vals, out);
  free(vals);
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_idx_load");
  return MX_OK;
}

mx_status mx_idx_load_pair(const char *image_path, const char *label_path, float scale,
                           mx_context ctx, mx_ndarray **images, mx_ndarray **labels) {
  *images = *labels = NULL;
  mx_status st = mx_idx_load(image_path, 3, scale, ctx, images);
  if (st != MX_OK) return st;
  st = mx_idx_load(label_path, 1, 1.0f, ctx, labels);
  if (st != MX_OK) {
    mx_ndarray_release(*images);
    *images = NULL;
    return st;
  }
  int64_t ni = mx_ndarray_shape(*images)[0], nl = mx_ndarray_shape(*labels)[0];
  if (ni != nl) {
    mx_ndarray_release(*images), mx_ndarray_release(*labels);
    *images = *labels = NULL;
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_idx_load_pair", "%s holds %lld images but %s holds %lld labels", image_path,
                    (long long)ni, label_path, (long long)nl);
  }
  return MX_OK;
}
