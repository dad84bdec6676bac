/* permute.c: the rows of a CPU array reordered in place by a permutation, with one row
 * of scratch, so shuffling a data set never holds two copies of it (as take would). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

mx_status mx_ndarray_permute_rows(mx_ndarray *a, const int64_t *perm, int64_t n) {
  const char *where = "mx_ndarray_permute_rows";
  if (!a || (n > 0 && !perm))
    return mx_error_at(MX_ERR_ARG, where, "array and permutation required");
  if (mx_ndarray_context(a).dev_type != MX_DEV_CPU)
    return mx_error_at(MX_ERR_DEVICE, where, "CPU arrays only");
  int64_t rows = mx_ndarray_ndim(a) > 0 ? mx_ndarray_shape(a)[0] : 0;
  if (n != rows)
    return mx_error_at(MX_ERR_SHAPE, where, "permutation of %lld positions for %lld rows",
                    (long long)n, (long long)rows);
  if (n == 0) return MX_OK;
  size_t row = (size_t)(mx_ndarray_size(a) / n) * sizeof(float);
  unsigned char *done = calloc((size_t)n, 1);
  float *tmp = malloc(row > 0 ? row : 1);
  if (!done || !tmp) {
    free(done);
    free(tmp);
    return mx_error_at(MX_ERR_NOMEM, where, "out of memory");
  }
  for (int64_t i = 0; i < n; i++) { /* a permutation of 0..n-1: each position once */
    if (perm[i] < 0 || perm[i] >= n || done[perm[i]]) {
      free(done);
      free(tmp);
      return mx_error_at(MX_ERR_ARG, where, "not a permutation of 0..%lld (position %lld holds %lld)", (long long)n - 1, (long long)i + 1, (long long)perm[i]);
    }
    done[perm[i]] = 1;
  }
  memset(done, 0, (size_t)n);
  char *base = (char *)mx_ndarray_data(a);
  /* follow each cycle: row j takes old row perm[j] */
  for (int64_t s = 0; s < n; s++) {
    if (done[s]) continue;
    done[s] = 1;
    if (perm[s] == s) continue;
    memcpy(tmp, base + (size_t)s * row, row);
    int64_t j = s;
    for (;;) {
      int64_t k = perm[j];
      if (k == s) {
        memcpy(base + (size_t)j * row, tmp, row);
        break;
      }
      memcpy(base + (size_t)j * row, base + (size_t)k * row, row);
      done[k] = 1;
      j = k;
    }
  }
  free(done);
  free(tmp);
  return MX_OK;
}
