/* metric.c: counting helpers for the evaluation metrics (top-k hits of class
 * scores against 0-based labels), without allocating NDArrays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Host copy of a's values: the array's own memory on the CPU, else a malloc'ed copy. */
static mx_status host_view(const mx_ndarray *a, const float **out, float **owned) {
  *owned = NULL;
  if (mx_ndarray_context(a).dev_type == MX_DEV_CPU) {
    *out = mx_ndarray_data((mx_ndarray *)a);
    return MX_OK;
  }
  int64_t n = mx_ndarray_size(a);
  float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!h) return mx_error_at(MX_ERR_NOMEM, "mx_metric_topk_hits", "out of memory");
  mx_status st = mx_ndarray_to_host(a, h, n);
  if (st != MX_OK) {
    free(h);
    return st;
  }
  *out = *owned = h;
  return MX_OK;
}

mx_status mx_metric_topk_hits(const mx_ndarray *pred, const mx_ndarray *label, int top_k,
                              int64_t *hits) {
  *hits = 0;
  if (!pred || !label)
    return mx_error_at(MX_ERR_ARG, "mx_metric_topk_hits", "prediction and label are required");
  int pnd = mx_ndarray_ndim(pred);
  const int64_t *ps = mx_ndarray_shape(pred);
  int64_t rows = ps[0], k = pnd >= 2 ? mx_ndarray_size(pred) / (rows ? rows : 1) : 1;
  char sa[64], sb[64];
  if (pnd < 1 || mx_ndarray_size(label) != rows)
    return mx_error_at(
        MX_ERR_SHAPE,
        "mx_metric_topk_hits", "labels %s do not match predictions %s (one label per row)",
        mx_shape_str(mx_ndarray_shape(label), mx_ndarray_ndim(label), sa, sizeof sa),
        mx_shape_str(ps, pnd, sb, sizeof sb));
  if (top_k < 1)
    return mx_error_at(MX_ERR_ARG, "mx_metric_topk_hits", "top_k must be at least 1 (got %d)", top_k);
  const float *p, *l;
  float *pown, *lown;
  mx_status st = host_view(pred, &p, &pown);
  if (st != MX_OK) return st;
  st = host_view(label, &l, &lown);
  if (st != MX_OK) {
    free(pown);
    return st;
  }
  for (int64_t r = 0; r < rows; r++) /* class ids: refused out of range, as take (NaN too) */
    if (!(l[r] >= 0.0f && l[r] == floorf(l[r]) && (k == 1 || l[r] < (float)k))) {
      float bad = l[r];
      free(pown), free(lown);
      if (k == 1)
        return mx_error_at(MX_ERR_ARG, "mx_metric_topk_hits",
                        "label %g (at position %lld) is not a class id (a "
                        "non-negative integer)",
                        bad, (long long)r);
      return mx_error_at(MX_ERR_ARG, "mx_metric_topk_hits",
                      "label %g (at position %lld) out of range for %lld "
                      "classes (expected an integer in 0..%lld)",
                      bad, (long long)r, (long long)k, (long long)k - 1);
    }
  int64_t count = 0;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = p + r * k;
    if (k == 1) { /* a single column: the prediction is the class id itself (truncated) */
      count += truncf(row[0]) == l[r];
      continue;
    }
    int64_t y = (int64_t)l[r];
    /* rank of the label's score: entries strictly greater, or equal but earlier
     * (so a tie is broken towards the first index, as argmax does) */
    int64_t better = 0;
    const float score = row[y];
    for (int64_t j = 0; j < k && better < top_k; j++) {
      const float s = row[j];
      if (s > score || (s == score && j < y)) better++;
    }
    count += better < top_k;
  }
  free(pown), free(lown);
  *hits = count;
  return MX_OK;
}
