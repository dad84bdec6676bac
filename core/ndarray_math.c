/* ndarray_math.c: element-wise math with broadcasting (unary, clip, binary and
 * scalar forms, in place or not), reductions, dot (through mx_gemm), one_hot. */
#include <math.h>
#include <string.h>

#include "kernels.h"

static float *data_of(const mx_ndarray *a) { return mx_ndarray_data((mx_ndarray *)a); }

/* The kernel table of a's context, or NULL with "<where>: ..." recorded. */
static const mx_kernels *kernels_of(const char *where, const mx_ndarray *a) {
  const mx_kernels *k = mx_kernels_for(a->storage->ctx);
  if (!k) MX_ERR_FRAME(MX_ERR_DEVICE, where);
  return k;
}
#define NEED(k, entry, where, ctx) \
  if (!(k)->entry) return mx_kernel_missing(where, ctx, #entry)

static int same_ctx(const mx_ndarray *a, const mx_ndarray *b) {
  mx_context x = a->storage->ctx, y = b->storage->ctx;
  return x.dev_type == y.dev_type && x.dev_id == y.dev_id;
}

static mx_status ctx_mismatch(const char *where, const mx_ndarray *a, const mx_ndarray *b) {
  char c1[32], c2[32];
  return mx_error_at(MX_ERR_ARG, where, "arrays on %s and %s (expected one context)",
                  mx_context_str(a->storage->ctx, c1, sizeof c1), mx_context_str(b->storage->ctx, c2, sizeof c2));
}

/* Do the element ranges of a and b overlap without being identical? */
static int partial_overlap(const mx_ndarray *a, const mx_ndarray *b) {
  if (a->storage != b->storage) return 0;
  if (a->offset == b->offset && a->size == b->size) return 0;
  return a->offset < b->offset + b->size && b->offset < a->offset + a->size;
}

mx_status mx_ndarray_unary(mx_unary_op op, const mx_ndarray *a, mx_ndarray **out) {
  const char *where = "mx_ndarray_unary";
  *out = NULL;
  if ((int)op < 0 || op >= MX_UNARY_COUNT)
    return mx_error_at(MX_ERR_ARG, where, "unknown op %d (expected 0..%d)", (int)op, MX_UNARY_COUNT - 1);
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, unary, where, a->storage->ctx);
  mx_status st = mx_ndarray_create(a->shape, a->ndim, a->storage->ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  k->unary(op, data_of(a), mx_ndarray_data(*out), a->size);
  return MX_OK;
}

mx_status mx_ndarray_clip(const mx_ndarray *a, float lo, float hi, mx_ndarray **out) {
  const char *where = "mx_ndarray_clip";
  *out = NULL;
  if (!(lo <= hi)) return mx_error_at(MX_ERR_ARG, where, "bounds [%g, %g] are reversed (expected lo <= hi)", lo, hi);
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, clip, where, a->storage->ctx);
  mx_status st = mx_ndarray_create(a->shape, a->ndim, a->storage->ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  k->clip(data_of(a), mx_ndarray_data(*out), a->size, lo, hi);
  return MX_OK;
}

static mx_status check_binary_op(const char *where, mx_binary_op op) {
  if ((int)op < 0 || op >= MX_BINARY_COUNT)
    return mx_error_at(MX_ERR_ARG, where, "unknown op %d (expected 0..%d)", (int)op, MX_BINARY_COUNT - 1);
  return MX_OK;
}

/* y (shape of the broadcast, contiguous) = a op b; y may be a itself when a
 * already has the broadcast shape. */
static void run_binary(const mx_kernels *k, mx_binary_op op, const mx_ndarray *a, const mx_ndarray *b, float *y,
                       const int64_t *bshape, int bn) {
  mx_binary_broadcast(k, op, data_of(a), a->shape, a->ndim, data_of(b), b->shape, b->ndim, y, bshape, bn);
}

mx_status mx_ndarray_binary(mx_binary_op op, const mx_ndarray *a, const mx_ndarray *b, mx_ndarray **out) {
  const char *where = "mx_ndarray_binary";
  char b1[128], b2[128];
  *out = NULL;
  mx_status st = check_binary_op(where, op);
  if (st != MX_OK) return st;
  if (!same_ctx(a, b)) return ctx_mismatch(where, a, b);
  int64_t bshape[MX_MAX_NDIM];
  int bn;
  if (!mx_broadcast_shape(a->shape, a->ndim, b->shape, b->ndim, bshape, &bn))
    return mx_error_at(MX_ERR_SHAPE, where, "shapes %s and %s cannot broadcast",
                    mx_shape_str(a->shape, a->ndim, b1, sizeof b1), mx_shape_str(b->shape, b->ndim, b2, sizeof b2));
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, binary, where, a->storage->ctx);
  NEED(k, binary_strided, where, a->storage->ctx);
  st = mx_ndarray_create(bshape, bn, a->storage->ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  if ((*out)->size > 0) run_binary(k, op, a, b, mx_ndarray_data(*out), bshape, bn);
  return MX_OK;
}

mx_status mx_ndarray_binary_scalar(mx_binary_op op, const mx_ndarray *a, float b, mx_ndarray **out) {
  const char *where = "mx_ndarray_binary_scalar";
  *out = NULL;
  mx_status st = check_binary_op(where, op);
  if (st != MX_OK) return st;
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, binary_scalar, where, a->storage->ctx);
  st = mx_ndarray_create(a->shape, a->ndim, a->storage->ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  k->binary_scalar(op, data_of(a), b, mx_ndarray_data(*out), a->size);
  return MX_OK;
}

mx_status mx_ndarray_binary_inplace(mx_binary_op op, mx_ndarray *a, const mx_ndarray *b) {
  const char *where = "mx_ndarray_binary_inplace";
  char b1[128], b2[128];
  mx_status st = check_binary_op(where, op);
  if (st != MX_OK) return st;
  if (!same_ctx(a, b)) return ctx_mismatch(where, a, b);
  int64_t bshape[MX_MAX_NDIM];
  int bn;
  if (!mx_broadcast_shape(a->shape, a->ndim, b->shape, b->ndim, bshape, &bn) || bn != a->ndim ||
      memcmp(bshape, a->shape, (size_t)bn * sizeof *bshape) != 0)
    return mx_error_at(MX_ERR_SHAPE, where, "shape %s does not broadcast to shape %s",
                    mx_shape_str(b->shape, b->ndim, b1, sizeof b1), mx_shape_str(a->shape, a->ndim, b2, sizeof b2));
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, binary, where, a->storage->ctx);
  NEED(k, binary_strided, where, a->storage->ctx);
  if (a->size == 0) return MX_OK;
  mx_ndarray *tmp = NULL;
  if (partial_overlap(a, b)) { /* b is part of a: read it from a copy */
    st = mx_ndarray_copy(b, &tmp);
    if (st != MX_OK) return MX_ERR_FRAME(st, where);
    b = tmp;
  }
  run_binary(k, op, a, b, mx_ndarray_data(a), bshape, bn);
  mx_ndarray_release(tmp);
  return MX_OK;
}

mx_status mx_ndarray_binary_scalar_inplace(mx_binary_op op, mx_ndarray *a, float b) {
  const char *where = "mx_ndarray_binary_scalar_inplace";
  mx_status st = check_binary_op(where, op);
  if (st != MX_OK) return st;
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, binary_scalar, where, a->storage->ctx);
  k->binary_scalar(op, mx_ndarray_data(a), b, mx_ndarray_data(a), a->size);
  return MX_OK;
}

static const char *reduce_names[MX_REDUCE_COUNT] = {"sum", "mean", "max", "min", "argmax", "argmin", "norm"};

mx_status mx_ndarray_reduce(mx_reduce_op op, const mx_ndarray *a, int axis, int keepdims, mx_ndarray **out) {
  const char *where = "mx_ndarray_reduce";
  char b[128];
  *out = NULL;
  if ((int)op < 0 || op >= MX_REDUCE_COUNT)
    return mx_error_at(MX_ERR_ARG, where, "unknown op %d (expected 0..%d)", (int)op, MX_REDUCE_COUNT - 1);
  if (axis < -1 || axis >= a->ndim)
    return mx_error_at(MX_ERR_ARG, where, "axis %d out of range for shape %s (expected -1 for all, or 0..%d)", axis,
                    mx_shape_str(a->shape, a->ndim, b, sizeof b), a->ndim - 1);
  int64_t s[MX_MAX_NDIM];
  int n = 0;
  int64_t outer = 1, len, inner = 1;
  if (axis == -1) {
    len = a->size;
    if (keepdims)
      for (n = 0; n < a->ndim; n++) s[n] = 1;
  } else {
    len = a->shape[axis];
    for (int i = 0; i < a->ndim; i++) {
      if (i < axis) outer *= a->shape[i];
      if (i > axis) inner *= a->shape[i];
      if (i != axis) s[n++] = a->shape[i];
      else if (keepdims) s[n++] = 1;
    }
  }
  if (n == 0) s[n++] = 1;
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, reduce, where, a->storage->ctx);
  NEED(k, fill, where, a->storage->ctx);
  if (len == 0 && outer * inner > 0 && op != MX_REDUCE_SUM && op != MX_REDUCE_MEAN && op != MX_REDUCE_NORM)
    return mx_error_at(MX_ERR_SHAPE, where, "cannot take the %s of an empty axis (shape %s)", reduce_names[op],
                    mx_shape_str(a->shape, a->ndim, b, sizeof b));
  mx_status st = mx_ndarray_create(s, n, a->storage->ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  if ((*out)->size == 0) return MX_OK;
  if (len == 0)
    k->fill(mx_ndarray_data(*out), (*out)->size, op == MX_REDUCE_MEAN ? NAN : 0.0f);
  else
    k->reduce(op, data_of(a), mx_ndarray_data(*out), outer, len, inner);
  return MX_OK;
}

mx_status mx_ndarray_dot(const mx_ndarray *a, const mx_ndarray *b, int transpose_a, int transpose_b, mx_ndarray **out) {
  const char *where = "mx_ndarray_dot";
  char b1[128], b2[128];
  *out = NULL;
  if (a->ndim > 2 || b->ndim > 2)
    return mx_error_at(MX_ERR_SHAPE, where, "shapes %s and %s: only 1-D and 2-D arrays are supported",
                    mx_shape_str(a->shape, a->ndim, b1, sizeof b1), mx_shape_str(b->shape, b->ndim, b2, sizeof b2));
  if (!same_ctx(a, b)) return ctx_mismatch(where, a, b);
  /* op(a) is (m, ka), op(b) is (kb, n); a 1-D a is a row, a 1-D b a column */
  int ta = a->ndim == 2 && transpose_a, tb = b->ndim == 2 && transpose_b;
  int64_t m = a->ndim == 1 ? 1 : a->shape[ta ? 1 : 0];
  int64_t ka = a->ndim == 1 ? a->shape[0] : a->shape[ta ? 0 : 1];
  int64_t kb = b->ndim == 1 ? b->shape[0] : b->shape[tb ? 1 : 0];
  int64_t n = b->ndim == 1 ? 1 : b->shape[tb ? 0 : 1];
  if (ka != kb)
    return mx_error_at(MX_ERR_SHAPE, where, "shapes %s%s and %s%s do not fit (inner sizes %lld and %lld)",
                    mx_shape_str(a->shape, a->ndim, b1, sizeof b1), ta ? "^T" : "",
                    mx_shape_str(b->shape, b->ndim, b2, sizeof b2), tb ? "^T" : "", (long long)ka, (long long)kb);
  int64_t s[2];
  int nd = 0;
  if (a->ndim == 2) s[nd++] = m;
  if (b->ndim == 2) s[nd++] = n;
  if (nd == 0) s[nd++] = 1;
  const mx_kernels *k = kernels_of(where, a);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, fill, where, a->storage->ctx);
  mx_status st = mx_ndarray_create(s, nd, a->storage->ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  if (m == 0 || n == 0) return MX_OK;
  if (ka == 0) {
    k->fill(mx_ndarray_data(*out), m * n, 0.0f);
    return MX_OK;
  }
  int64_t lda = a->ndim == 1 ? ka : a->shape[1];
  int64_t ldb = b->ndim == 1 ? 1 : b->shape[1];
  /* (m, k) x (k, n) -> (m, n) */
  st = mx_gemm(a->storage->ctx, ta, tb, m, n, ka, 1.0f, data_of(a), lda, data_of(b), ldb, 0.0f,
               mx_ndarray_data(*out), n);
  if (st != MX_OK) {
    mx_ndarray_release(*out);
    *out = NULL;
    return MX_ERR_FRAME(st, where);
  }
  return MX_OK;
}

mx_status mx_ndarray_one_hot(const mx_ndarray *indices, int64_t depth, float on_value, float off_value,
                             mx_ndarray **out) {
  const char *where = "mx_ndarray_one_hot";
  char b[128];
  *out = NULL;
  if (depth < 1) return mx_error_at(MX_ERR_ARG, where, "depth must be at least 1 (got %lld)", (long long)depth);
  if (indices->ndim >= MX_MAX_NDIM)
    return mx_error_at(MX_ERR_SHAPE, where, "indices of shape %s give more than %d axes",
                    mx_shape_str(indices->shape, indices->ndim, b, sizeof b), MX_MAX_NDIM);
  const mx_kernels *k = kernels_of(where, indices);
  if (!k) return MX_ERR_DEVICE;
  NEED(k, one_hot, where, indices->storage->ctx);
  NEED(k, take, where, indices->storage->ctx);
  int64_t s[MX_MAX_NDIM];
  memcpy(s, indices->shape, (size_t)indices->ndim * sizeof *s);
  s[indices->ndim] = depth;
  mx_status st = mx_ndarray_create(s, indices->ndim + 1, indices->storage->ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  if ((*out)->size == 0) return MX_OK;
  /* the indices checked as take checks them (its kernel with rows of 0 values only checks) */
  int64_t bad = k->take(data_of(indices), depth, 0, data_of(indices), indices->size, mx_ndarray_data(*out));
  if (bad >= 0) {
    float v = 0;
    mx_ndarray_get_element(indices, bad, &v);
    mx_ndarray_release(*out);
    *out = NULL;
    return mx_error_at(MX_ERR_ARG, where, "index %g (at position %lld) out of range for depth %lld (expected an integer in 0..%lld)", v, (long long)bad, (long long)depth, (long long)depth - 1);
  }
  k->one_hot(data_of(indices), indices->size, depth, on_value, off_value, mx_ndarray_data(*out));
  return MX_OK;
}
