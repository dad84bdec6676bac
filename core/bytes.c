/* bytes.c: rows of unsigned bytes held as read from IDX files (MNIST images at
 * 1 byte a pixel instead of 4), permuted in place and converted to float batch by batch. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checked.h"
#include "internal.h"

struct mx_bytes {
  uint8_t *data;
  int64_t rows, cols;
};

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Appends the unsigned-byte IDX file at path to b (rows: its first dimension). */
static mx_status load_one(mx_bytes *b, const char *path) {
  mx_status rst = mx_file_check_regular(path, "mx_bytes_load_idx");
  if (rst != MX_OK) return rst;
  gzFile f = gzopen(path, "rb");
  if (!f) return mx_error_at(MX_ERR_IO, "mx_bytes_load_idx", "cannot open %s", path);
  unsigned char head[4 + 4 * MX_MAX_NDIM];
  int ndim = 0;
  if (gzread(f, head, 4) == 4) ndim = head[3];
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || ndim < 1 || ndim > MX_MAX_NDIM ||
      gzread(f, head + 4, (unsigned)(4 * ndim)) != 4 * ndim) {
    gzclose(f);
    return mx_error_at(MX_ERR_FORMAT, "mx_bytes_load_idx", "%s: not an unsigned-byte IDX file", path);
  }
  int64_t rows = be32(head + 4), cols = 1;
  bool big = false;
  for (int i = 1; i < ndim; i++) big |= !mx_size_mul(cols, be32(head + 4 + 4 * i), &cols);
  if (big) {
    gzclose(f);
    return mx_error_at(MX_ERR_FORMAT, "mx_bytes_load_idx", "%s: implausible dimensions", path);
  }
  if (b->rows > 0 && cols != b->cols) {
    gzclose(f);
    return mx_error_at(MX_ERR_SHAPE, "mx_bytes_load_idx", "%s: rows of %lld bytes (expected %lld)", path,
                    (long long)cols, (long long)b->cols);
  }
  if (rows > ((int64_t)1 << 40) / (cols ? cols : 1)) {
    gzclose(f);
    return mx_error_at(MX_ERR_FORMAT, "mx_bytes_load_idx", "%s: implausible dimensions", path);
  }
  int64_t n = rows * cols, old = b->rows * b->cols;
  uint8_t *more = realloc(b->data, (size_t)(old + n > 0 ? old + n : 1));
  if (!more) {
    gzclose(f);
    return mx_error_at(MX_ERR_NOMEM, "mx_bytes_load_idx", "%s: out of memory", path);
  }
  b->data = more;
  int64_t got = 0;
  while (got < n) {
    int r = gzread(f, b->data + old + got, (unsigned)(n - got > (1 << 30) ? (1 << 30) : n - got));
    if (r <= 0) break;
    got += r;
  }
  gzclose(f);
  if (got != n)
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_bytes_load_idx", "%s: truncated file (got %lld data bytes, expected %lld)",
                    path, (long long)got, (long long)n);
  b->rows += rows;
  b->cols = cols;
  return MX_OK;
}

mx_status mx_bytes_load_idx(const char *const *paths, int n, mx_bytes **out) {
  *out = NULL;
  if (!paths || n < 1) return mx_error_at(MX_ERR_ARG, "mx_bytes_load_idx", "no file given");
  mx_bytes *b = calloc(1, sizeof *b);
  if (!b) return mx_error_at(MX_ERR_NOMEM, "mx_bytes_load_idx", "out of memory");
  for (int i = 0; i < n; i++) {
    mx_status st = load_one(b, paths[i]);
    if (st != MX_OK) {
      mx_bytes_free(b);
      return st;
    }
  }
  *out = b;
  return MX_OK;
}

void mx_bytes_free(mx_bytes *b) {
  if (!b) return;
  free(b->data);
  free(b);
}

int64_t mx_bytes_rows(const mx_bytes *b) {
  return b->rows;
}
int64_t mx_bytes_cols(const mx_bytes *b) {
  return b->cols;
}

mx_status mx_bytes_permute_rows(mx_bytes *b, const int64_t *perm, int64_t n) {
  if (n != b->rows)
    return mx_error_at(MX_ERR_SHAPE, "mx_bytes_permute_rows", "%lld positions for %lld rows",
                    (long long)n, (long long)b->rows);
  uint8_t *seen = calloc((size_t)(n > 0 ? n : 1), 1);
  for (int64_t i = 0; seen && i < n; i++) {
    if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]) {
      free(seen);
      return mx_error_at(MX_ERR_ARG,
                      "mx_bytes_permute_rows", "not a permutation of 0..%lld (position %lld)",
                      (long long)n - 1, (long long)i);
    }
    seen[perm[i]] = 1;
  }
  uint8_t *row = malloc((size_t)(b->cols > 0 ? b->cols : 1));
  if (!seen || !row) {
    free(seen);
    free(row);
    return mx_error_at(MX_ERR_NOMEM, "mx_bytes_permute_rows", "out of memory");
  }
  memset(seen, 0, (size_t)n);
  size_t c = (size_t)b->cols;
  for (int64_t i = 0; i < n; i++) { /* each cycle: row i <- perm[i] <- perm[perm[i]] ... */
    if (seen[i]) continue;
    memcpy(row, b->data + i * c, c);
    int64_t j = i;
    while (perm[j] != i) {
      memcpy(b->data + j * c, b->data + perm[j] * c, c);
      seen[j] = 1;
      j = perm[j];
    }
    memcpy(b->data + j * c, row, c);
    seen[j] = 1;
  }
  free(seen);
  free(row);
  return MX_OK;
}

/* The number of whole rows dst holds, checked against b and begin. */
static mx_status rows_for(const char *where, const mx_bytes *b, int64_t begin, const mx_ndarray *dst,
                          int64_t *rows) {
  if (mx_ndarray_context(dst).dev_type != MX_DEV_CPU)
    return mx_error_at(MX_ERR_ARG, where, "the array must be on the CPU");
  int64_t size = mx_ndarray_size(dst);
  if (b->cols == 0 || size % b->cols != 0)
    return mx_error_at(MX_ERR_SHAPE, where, "%lld values are not whole rows of %lld", (long long)size,
                    (long long)b->cols);
  *rows = size / b->cols;
  if (begin < 0 || begin >= b->rows || *rows > b->rows)
    return mx_error_at(MX_ERR_ARG, where, "%lld rows from row %lld: out of 0..%lld", (long long)*rows,
                    (long long)begin, (long long)b->rows - 1);
  return MX_OK;
}

/* Past the last row: wrap to the first, as NDArrayIter. */
static const uint8_t *row_at(const mx_bytes *b, int64_t begin, int64_t r) {
  return b->data + ((begin + r) % b->rows) * b->cols;
}

mx_status mx_bytes_to_ndarray(const mx_bytes *b, int64_t begin, float scale, mx_ndarray *dst) {
  int64_t rows = 0;
  mx_status st = rows_for("mx_bytes_to_ndarray", b, begin, dst, &rows);
  if (st != MX_OK) return st;
  float *out = mx_ndarray_data(dst);
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *src = row_at(b, begin, r);
    for (int64_t k = 0; k < b->cols; k++) out[r * b->cols + k] = (float)src[k] * scale;
  }
  return MX_OK;
}

mx_status mx_bytes_to_ndarray_crop(const mx_bytes *b, int64_t begin, float scale, int64_t height, int64_t width,
                                   int pad, mx_ndarray *draws, mx_ndarray *dst) {
  const char *where = "mx_bytes_to_ndarray_crop";
  int64_t rows = 0;
  mx_status st = rows_for(where, b, begin, dst, &rows);
  if (st != MX_OK) return st;
  int64_t plane;
  if (height < 1 || width < 1 || !mx_size_mul(height, width, &plane) || b->cols % plane != 0)
    return mx_error_at(MX_ERR_SHAPE, where, "rows of %lld values are not images of %lld x %lld",
                    (long long)b->cols, (long long)height, (long long)width);
  if (pad < 0 || pad >= height || pad >= width)
    return mx_error_at(MX_ERR_ARG, where, "pad %d must be in 0..%lld", pad,
                    (long long)(height < width ? height : width) - 1);
  if (!draws || mx_ndarray_context(draws).dev_type != MX_DEV_CPU || mx_ndarray_size(draws) != 2 * rows)
    return mx_error_at(MX_ERR_SHAPE, where, "draws must be a CPU array of %lld values (2 per row)",
                    (long long)(2 * rows));
  const float *u = mx_ndarray_data(draws);
  for (int64_t i = 0; i < 2 * rows; i++)
    if (!(u[i] >= 0.0f && u[i] <= 1.0f)) /* NaN too: a corner out of the padded image */
      return mx_error_at(MX_ERR_ARG, where, "draws[%lld] = %g is not in [0, 1]", (long long)i,
                      (double)u[i]);
  float *out = mx_ndarray_data(dst);
  int64_t planes = b->cols / plane;
  for (int64_t r = 0; r < rows; r++) {
    /* the crop's corner in the padded image, uniform in 0..2*pad; as a shift, -pad..pad */
    int64_t dy = (int64_t)(u[2 * r] * (float)(2 * (int64_t)pad + 1)) - pad;
    int64_t dx = (int64_t)(u[2 * r + 1] * (float)(2 * (int64_t)pad + 1)) - pad;
    dy = dy > pad ? pad : dy, dx = dx > pad ? pad : dx; /* u rounded up to 1 */
    const uint8_t *src = row_at(b, begin, r);
    float *o = out + r * b->cols;
    for (int64_t p = 0; p < planes; p++)
      for (int64_t y = 0; y < height; y++)
        for (int64_t x = 0; x < width; x++) {
          int64_t sy = y + dy, sx = x + dx;
          int inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
          o[(p * height + y) * width + x] = inside ? (float)src[(p * height + sy) * width + sx] * scale : 0.0f;
        }
  }
  return MX_OK;
}
