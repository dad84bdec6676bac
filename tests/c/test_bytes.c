/* test_bytes.c: mx_bytes (core/bytes.c): IDX files kept as bytes, concatenated, permuted in
 * place and converted to float rows; errors name the function and leak nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctest.h"
#include "mx.h"

/* Writes an IDX ubyte file of dims[0] x dims[1] with value(i) = (i * mul + add) % 256. */
static void write_idx(const char *path, uint32_t rows, uint32_t cols, int mul, int add) {
  FILE *f = fopen(path, "wb");
  unsigned char head[12] = {0, 0, 8, 2};
  uint32_t d[2] = {rows, cols};
  for (int k = 0; k < 2; k++)
    for (int b = 0; b < 4; b++) head[4 + 4 * k + b] = (unsigned char)(d[k] >> (24 - 8 * b));
  fwrite(head, 1, 12, f);
  for (uint32_t i = 0; i < rows * cols; i++) fputc((int)((i * mul + add) % 256), f);
  fclose(f);
}

static char path_a[64], path_b[64], path_c[64];

TEST(loads_concatenates_and_converts) {
  const char *paths[2] = {path_a, path_b};
  mx_bytes *b = NULL;
  CHECK(mx_bytes_load_idx(paths, 2, &b) == MX_OK);
  CHECK(mx_bytes_rows(b) == 7 && mx_bytes_cols(b) == 5);
  int64_t shape[2] = {3, 5};
  mx_ndarray *dst = NULL;
  CHECK(mx_ndarray_create(shape, 2, mx_cpu(0), &dst) == MX_OK);
  CHECK(mx_bytes_to_ndarray(b, 3, 0.5f, dst) == MX_OK); /* rows 3, 4 (file a), 5 (file b's first) */
  const float *v = mx_ndarray_data(dst);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 5; c++) {
      int row = 3 + r, i = row < 4 ? row * 5 + c : (row - 4) * 5 + c;
      int byte = row < 4 ? (i * 3 + 1) % 256 : (i * 7 + 100) % 256;
      CHECK_NEAR(v[r * 5 + c], byte * 0.5, 0);
    }
  mx_ndarray_release(dst);
  mx_bytes_free(b);
}

TEST(permutes_in_place_as_take) {
  const char *paths[1] = {path_a};
  mx_bytes *b = NULL;
  CHECK(mx_bytes_load_idx(paths, 1, &b) == MX_OK);
  int64_t perm[4] = {2, 0, 3, 1};
  CHECK(mx_bytes_permute_rows(b, perm, 4) == MX_OK);
  int64_t shape[2] = {4, 5};
  mx_ndarray *dst = NULL;
  CHECK(mx_ndarray_create(shape, 2, mx_cpu(0), &dst) == MX_OK);
  CHECK(mx_bytes_to_ndarray(b, 0, 1.0f, dst) == MX_OK);
  const float *v = mx_ndarray_data(dst);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 5; c++) CHECK_NEAR(v[r * 5 + c], ((perm[r] * 5 + c) * 3 + 1) % 256, 0);
  int64_t bad[4] = {0, 0, 1, 2};
  CHECK(mx_bytes_permute_rows(b, bad, 4) == MX_ERR_ARG);
  CHECK(strstr(mx_last_error(), "mx_bytes_permute_rows: not a permutation") != NULL);
  CHECK(mx_bytes_permute_rows(b, perm, 3) == MX_ERR_SHAPE);
  mx_ndarray_release(dst);
  mx_bytes_free(b);
}

TEST(errors) {
  const char *mismatch[2] = {path_a, path_c};
  mx_bytes *b = (mx_bytes *)1;
  CHECK(mx_bytes_load_idx(mismatch, 2, &b) == MX_ERR_SHAPE && b == NULL);
  CHECK(strstr(mx_last_error(), "rows of 4 bytes (expected 5)") != NULL);
  const char *missing[1] = {"/nonexistent/idx"};
  CHECK(mx_bytes_load_idx(missing, 1, &b) == MX_ERR_IO);
  CHECK(mx_bytes_load_idx(NULL, 0, &b) == MX_ERR_ARG);
}

int main(void) {
  snprintf(path_a, sizeof path_a, "/tmp/test_bytes_a_%d", (int)getpid());
  snprintf(path_b, sizeof path_b, "/tmp/test_bytes_b_%d", (int)getpid());
  snprintf(path_c, sizeof path_c, "/tmp/test_bytes_c_%d", (int)getpid());
  write_idx(path_a, 4, 5, 3, 1);
  write_idx(path_b, 3, 5, 7, 100);
  write_idx(path_c, 2, 4, 1, 0);
  RUN(loads_concatenates_and_converts);
  RUN(permutes_in_place_as_take);
  RUN(errors);
  remove(path_a);
  remove(path_b);
  remove(path_c);
  return ctest_summary();
}
