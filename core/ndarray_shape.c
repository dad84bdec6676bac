/* ndarray_shape.c: shape functions that make new arrays: slice_axis, take,
 * concat, transpose. */
#include <stdio.h>
#include <string.h>

#include "kernels.h"

/* The kernel table of ctx, with `entry` present; else a message and NULL. */
static const mx_kernels *kernels(const char *where, mx_context ctx, const void *(*pick)(const mx_kernels *),
                                 const char *entry) {
  const mx_kernels *k = mx_kernels_for(ctx);
  if (!k) {
    MX_ERR_FRAME(MX_ERR_DEVICE, where);
    return NULL;
  }
  if (!pick(k)) {
    mx_kernel_missing(where, ctx, entry);
    return NULL;
  }
  return k;
}
static const void *pick_copy2d(const mx_kernels *k) { return (const void *)k->copy2d; }
static const void *pick_take(const mx_kernels *k) { return (const void *)k->take; }
static const void *pick_copy_strided(const mx_kernels *k) { return (const void *)k->copy_strided; }

static float *data_of(const mx_ndarray *a) { return mx_ndarray_data((mx_ndarray *)a); }

/* product of shape[from..to) */
static int64_t prod(const int64_t *shape, int from, int to) {
  int64_t n = 1;
  for (int i = from; i < to; i++) n *= shape[i];
  return n;
}

mx_status mx_ndarray_slice_axis(const mx_ndarray *a, int axis, int64_t begin, int64_t end, mx_ndarray **out) {
  const char *where = "mx_ndarray_slice_axis";
  char b[128];
  *out = NULL;
  if (axis < 0 || axis >= a->ndim)
    return mx_error_at(MX_ERR_ARG, where, "axis %d out of range for shape %s (expected 0..%d)", axis,
                    mx_shape_str(a->shape, a->ndim, b, sizeof b), a->ndim - 1);
  if (begin < 0 || end < begin || end > a->shape[axis])
    return mx_error_at(MX_ERR_ARG, where, "[%lld, %lld) out of range for axis %d of shape %s", (long long)begin,
                    (long long)end, axis, mx_shape_str(a->shape, a->ndim, b, sizeof b));
  mx_context ctx = a->storage->ctx;
  const mx_kernels *k = kernels(where, ctx, pick_copy2d, "copy2d");
  if (!k) return MX_ERR_DEVICE;
  int64_t s[MX_MAX_NDIM];
  memcpy(s, a->shape, sizeof s);
  s[axis] = end - begin;
  mx_status st = mx_ndarray_create(s, a->ndim, ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  int64_t outer = prod(a->shape, 0, axis), inner = prod(a->shape, axis + 1, a->ndim);
  if ((*out)->size > 0)
    k->copy2d(data_of(a) + begin * inner, a->shape[axis] * inner, mx_ndarray_data(*out), (end - begin) * inner,
              outer, (end - begin) * inner);
  return MX_OK;
}

mx_status mx_ndarray_take(const mx_ndarray *a, const mx_ndarray *indices, mx_ndarray **out) {
  const char *where = "mx_ndarray_take";
  char b1[128], b2[128];
  *out = NULL;
  mx_context ctx = a->storage->ctx, ic = indices->storage->ctx;
  if (ctx.dev_type != ic.dev_type || ctx.dev_id != ic.dev_id) {
    char c1[32], c2[32];
    return mx_error_at(MX_ERR_ARG, where, "array on %s and indices on %s (expected one context)",
                    mx_context_str(ctx, c1, sizeof c1), mx_context_str(ic, c2, sizeof c2));
  }
  int ndim = indices->ndim + a->ndim - 1;
  if (ndim > MX_MAX_NDIM)
    return mx_error_at(MX_ERR_SHAPE, where, "indices %s into %s give %d axes (at most %d)",
                    mx_shape_str(indices->shape, indices->ndim, b1, sizeof b1),
                    mx_shape_str(a->shape, a->ndim, b2, sizeof b2), ndim, MX_MAX_NDIM);
  const mx_kernels *k = kernels(where, ctx, pick_take, "take");
  if (!k) return MX_ERR_DEVICE;
  int64_t s[MX_MAX_NDIM];
  memcpy(s, indices->shape, (size_t)indices->ndim * sizeof *s);
  memcpy(s + indices->ndim, a->shape + 1, (size_t)(a->ndim - 1) * sizeof *s);
  if (ndim == 0) s[ndim++] = 1;
  mx_status st = mx_ndarray_create(s, ndim, ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  int64_t row = prod(a->shape, 1, a->ndim);
  int64_t bad = k->take(data_of(a), a->shape[0], row, data_of(indices), indices->size, mx_ndarray_data(*out));
  if (bad < 0) {
    /* -1 is also what a device's check that could not run returns (its failure left pending):
     * the failure, not "no bad index" (a sync is a no-op on the CPU) */
    st = mx_context_sync(ctx);
    if (st != MX_OK) {
      mx_ndarray_release(*out);
      *out = NULL;
      return MX_ERR_FRAME(st, where);
    }
  }
  if (bad >= 0) {
    float v = 0;
    mx_ndarray_get_element(indices, bad, &v);
    mx_ndarray_release(*out);
    *out = NULL;
    return mx_error_at(MX_ERR_ARG, where, "index %g (at position %lld) out of range for axis 0 of shape %s (expected an integer in 0..%lld)", v, (long long)bad, mx_shape_str(a->shape, a->ndim, b1, sizeof b1),
                    (long long)a->shape[0] - 1);
  }
  return MX_OK;
}

mx_status mx_ndarray_concat(mx_ndarray *const *arrays, int n, int axis, mx_ndarray **out) {
  const char *where = "mx_ndarray_concat";
  char b1[128], b2[128];
  *out = NULL;
  if (n < 1 || !arrays) return mx_error_at(MX_ERR_ARG, where, "needs at least one array (got %d)", n);
  const mx_ndarray *a0 = arrays[0];
  mx_context ctx = a0->storage->ctx;
  if (axis < 0 || axis >= a0->ndim)
    return mx_error_at(MX_ERR_ARG, where, "axis %d out of range for shape %s (expected 0..%d)", axis,
                    mx_shape_str(a0->shape, a0->ndim, b1, sizeof b1), a0->ndim - 1);
  int64_t s[MX_MAX_NDIM];
  memcpy(s, a0->shape, sizeof s);
  s[axis] = 0;
  for (int i = 0; i < n; i++) {
    const mx_ndarray *a = arrays[i];
    mx_context c = a->storage->ctx;
    int same = a->ndim == a0->ndim;
    for (int d = 0; same && d < a->ndim; d++)
      if (d != axis && a->shape[d] != a0->shape[d]) same = 0;
    if (!same)
      return mx_error_at(MX_ERR_SHAPE, where, "shapes %s and %s differ off axis %d (array %d)",
                      mx_shape_str(a0->shape, a0->ndim, b1, sizeof b1), mx_shape_str(a->shape, a->ndim, b2, sizeof b2),
                      axis, i);
    if (c.dev_type != ctx.dev_type || c.dev_id != ctx.dev_id) {
      char c1[32], c2[32];
      return mx_error_at(MX_ERR_ARG, where, "array %d is on %s, array 0 on %s (expected one context)", i,
                      mx_context_str(c, c1, sizeof c1), mx_context_str(ctx, c2, sizeof c2));
    }
    s[axis] += a->shape[axis];
  }
  const mx_kernels *k = kernels(where, ctx, pick_copy2d, "copy2d");
  if (!k) return MX_ERR_DEVICE;
  mx_status st = mx_ndarray_create(s, a0->ndim, ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  int64_t outer = prod(s, 0, axis), inner = prod(s, axis + 1, a0->ndim), at = 0;
  for (int i = 0; i < n; i++) {
    int64_t len = arrays[i]->shape[axis];
    if (arrays[i]->size > 0)
      k->copy2d(data_of(arrays[i]), len * inner, mx_ndarray_data(*out) + at * inner, s[axis] * inner, outer,
                len * inner);
    at += len;
  }
  return MX_OK;
}

mx_status mx_ndarray_transpose(const mx_ndarray *a, const int *axes, mx_ndarray **out) {
  const char *where = "mx_ndarray_transpose";
  char b[128];
  int perm[MX_MAX_NDIM], seen[MX_MAX_NDIM] = {0};
  int nd = a->ndim;
  *out = NULL;
  for (int i = 0; i < nd; i++) {
    perm[i] = axes ? axes[i] : nd - 1 - i;
    if (perm[i] < 0 || perm[i] >= nd || seen[perm[i]]++) {
      char pb[64];
      size_t used = 0;
      for (int j = 0; j < nd && used < sizeof pb; j++)
        used += (size_t)snprintf(pb + used, sizeof pb - used, j ? ",%d" : "%d", axes[j]);
      return mx_error_at(MX_ERR_ARG, where, "axes (%s) are not a permutation of 0..%d (shape %s)", pb, nd - 1,
                      mx_shape_str(a->shape, nd, b, sizeof b));
    }
  }
  mx_context ctx = a->storage->ctx;
  const mx_kernels *k = kernels(where, ctx, pick_copy_strided, "copy_strided");
  if (!k) return MX_ERR_DEVICE;
  int64_t s[MX_MAX_NDIM], stride[MX_MAX_NDIM] = {0}, sx[MX_MAX_NDIM];
  int64_t acc = 1;
  for (int i = nd - 1; i >= 0; i--) {
    stride[i] = acc;
    acc *= a->shape[i];
  }
  for (int i = 0; i < nd; i++) {
    s[i] = a->shape[perm[i]];
    sx[i] = stride[perm[i]];
  }
  mx_status st = mx_ndarray_create(s, nd, ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  if ((*out)->size == 0) return MX_OK;
  int n = nd;
  int64_t *sets[1] = {sx};
  mx_collapse_axes(s, &n, sets, 1);
  k->copy_strided(data_of(a), sx, mx_ndarray_data(*out), s, n);
  return MX_OK;
}
