/* bytes.c: (memory) rows of unsigned bytes held as read from IDX files (MNIST images at
 * 1 byte a pixel instead of 4), permuted in place and converted to float batch by batch. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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
  gzFile f = gzopen(path, "rb");
  if (!f) return mx_error(MX_ERR_IO, "mx_bytes_load_idx: cannot open %s", path);
  unsigned char head[4 + 4 * MX_MAX_NDIM];
  int ndim = 0;
  if (gzread(f, head, 4) == 4) ndim = head[3];
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || ndim < 1 || ndim > MX_MAX_NDIM ||
      gzread(f, head + 4, (unsigned)(4 * ndim)) != 4 * ndim) {
    gzclose(f);
    return mx_error(MX_ERR_FORMAT, "mx_bytes_load_idx: %s: not an unsigned-byte IDX file", path);
  }
  int64_t rows = be32(head + 4), cols = 1;
  for (int i = 1; i < ndim; i++) cols *= be32(head + 4 + 4 * i);
  if (b->rows > 0 && cols != b->cols) {
    gzclose(f);
    return mx_error(MX_ERR_SHAPE, "mx_bytes_load_idx: %s: rows of %lld bytes (expected %lld)", path,
                    (long long)cols, (long long)b->cols);
  }
  if (rows > ((int64_t)1 << 40) / (cols ? cols : 1)) {
    gzclose(f);
    return mx_error(MX_ERR_FORMAT, "mx_bytes_load_idx: %s: implausible dimensions", path);
  }
  int64_t n = rows * cols, old = b->rows * b->cols;
  uint8_t *more = realloc(b->data, (size_t)(old + n > 0 ? old + n : 1));
  if (!more) {
    gzclose(f);
    return mx_error(MX_ERR_NOMEM, "mx_bytes_load_idx: %s: out of memory", path);
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
    return mx_error(MX_ERR_FORMAT,
                    "mx_bytes_load_idx: %s: truncated file (got %lld data bytes, expected %lld)",
                    path, (long long)got, (long long)n);
  b->rows += rows;
  b->cols = cols;
  return MX_OK;
}

mx_status mx_bytes_load_idx(const char *const *paths, int n, mx_bytes **out) {
  *out = NULL;
  if (!paths || n < 1) return mx_error(MX_ERR_ARG, "mx_bytes_load_idx: no file given");
  mx_bytes *b = calloc(1, sizeof *b);
  if (!b) return mx_error(MX_ERR_NOMEM, "mx_bytes_load_idx: out of memory");
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
    return mx_error(MX_ERR_SHAPE, "mx_bytes_permute_rows: %lld positions for %lld rows",
                    (long long)n, (long long)b->rows);
  uint8_t *seen = calloc((size_t)(n > 0 ? n : 1), 1);
  for (int64_t i = 0; seen && i < n; i++) {
    if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]) {
      free(seen);
      return mx_error(MX_ERR_ARG,
                      "mx_bytes_permute_rows: not a permutation of 0..%lld (position %lld)",
                      (long long)n - 1, (long long)i);
    }
    seen[perm[i]] = 1;
  }
  uint8_t *row = malloc((size_t)(b->cols > 0 ? b->cols : 1));
  if (!seen || !row) {
    free(seen);
    free(row);
    return mx_error(MX_ERR_NOMEM, "mx_bytes_permute_rows: out of memory");
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

mx_status mx_bytes_to_ndarray(const mx_bytes *b, int64_t begin, float scale, mx_ndarray *dst) {
  if (mx_ndarray_context(dst).dev_type != MX_DEV_CPU)
    return mx_error(MX_ERR_ARG, "mx_bytes_to_ndarray: the array must be on the CPU");
  int64_t size = mx_ndarray_size(dst);
  if (b->cols == 0 || size % b->cols != 0)
    return mx_error(MX_ERR_SHAPE, "mx_bytes_to_ndarray: %lld values are not whole rows of %lld",
                    (long long)size, (long long)b->cols);
  int64_t rows = size / b->cols;
  if (begin < 0 || rows > b->rows)
    return mx_error(MX_ERR_ARG, "mx_bytes_to_ndarray: rows %lld..%lld out of 0..%lld",
                    (long long)begin, (long long)(begin + rows - 1), (long long)b->rows - 1);
  float *out = mx_ndarray_data(dst);
  for (int64_t r = 0; r < rows; r++) { /* past the last row: wrap to the first, as NDArrayIter */
    const uint8_t *src = b->data + ((begin + r) % b->rows) * b->cols;
    for (int64_t k = 0; k < b->cols; k++) out[r * b->cols + k] = (float)src[k] * scale;
  }
  return MX_OK;
}
