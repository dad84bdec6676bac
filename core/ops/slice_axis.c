/* slice_axis.c: slice_axis, the positions [begin, end) of one axis (negative values count
 * from the end, end None = the axis's length). Written over the kernel table: one code for
 * CPU and GPU; backward writes the gradient into its place and zeros around it. */
#include <stdlib.h>
#include <string.h>

#include "table_op.h"

typedef struct slice_axis_param {
  int64_t axis;
  int64_t begin;
  const char *end;
} slice_axis_param;
static const mx_param_desc params[] = {
    MX_PARAM(slice_axis_param, axis, MX_PARAM_INT, NULL, NULL, "the axis (0-based; negative counts from the end)"),
    MX_PARAM(slice_axis_param, begin, MX_PARAM_INT, NULL, NULL, "the first position (negative counts from the end)"),
    MX_PARAM(slice_axis_param, end, MX_PARAM_STRING, "None", NULL, "one past the last position, or None for the end"),
};
#define P(a) MX_PARAMS(slice_axis_param, a)

/* The data (shape s, nd axes) as (outer, len, inner) and the kept range [*b, *e) of len. */
static mx_status range(const mx_op_attrs *a, const int64_t *s, int nd, int64_t *outer, int64_t *len,
                       int64_t *inner, int64_t *b, int64_t *e) {
  int axis = (int)P(a)->axis;
  if (axis < 0) axis += nd;
  if (axis < 0 || axis >= nd)
    return mx_op_error(a, MX_ERR_SHAPE, "axis %lld out of range for %d axes", (long long)P(a)->axis,
                       nd);
  *outer = mx_shape_size(s, axis);
  *len = s[axis];
  *inner = mx_shape_size(s + axis + 1, nd - axis - 1);
  const char *end = P(a)->end;
  *b = P(a)->begin;
  *e = strcmp(end, "None") ? strtoll(end, NULL, 10) : *len;
  if (*b < 0) *b += *len;
  if (*e < 0) *e += *len;
  if (*b < 0 || *e > *len || *b >= *e)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "[%lld, %s) is not a non-empty range of axis %d "
                       "(length %lld)",
                       (long long)P(a)->begin, end, axis, (long long)*len);
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  int64_t outer, len, inner, b, e;
  mx_status st = range(a, in[0].dim, in[0].ndim, &outer, &len, &inner, &b, &e);
  if (st != MX_OK) return st;
  mx_shape o = in[0];
  int axis = (int)P(a)->axis;
  o.dim[axis < 0 ? axis + o.ndim : axis] = e - b;
  return mx_shape_fill(a, "output", &out[0], &o);
}

static mx_status run(const mx_op_call *c, int backward) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t outer, len, inner, b, e;
  const mx_ndarray *data = backward ? c->in_grad[0] : c->in[0];
  st = range(c->attrs, mx_ndarray_shape(data), mx_ndarray_ndim(data), &outer, &len, &inner, &b, &e);
  if (st != MX_OK) return st;
  int64_t whole = len * inner, part = (e - b) * inner;
  if (!backward) {
    float *y = mx_op_data(c->out[0]), *t = mx_table_target(c, r, y, 0);
    k->copy2d(mx_op_data(c->in[0]) + b * inner, whole, t, part, outer, part);
    mx_table_finish(k, r, y, t, outer * part);
  } else {
    float *dx = mx_op_data(c->in_grad[0]), *t = mx_table_target(c, r, dx, 0);
    k->fill(t, outer * whole, 0.0f);
    k->copy2d(mx_op_data(c->out_grad[0]), part, t + b * inner, whole, outer, part);
    mx_table_finish(k, r, dx, t, outer * whole);
  }
  return MX_OK;
}

static mx_status forward(const mx_op_call *c) {
  return run(c, 0);
}
static mx_status backward(const mx_op_call *c) {
  return run(c, 1);
}

const mx_op mx_op_slice_axis = {
    .name = "slice_axis",
    .doc = "The positions [begin, end) of one axis.",
    MX_OP_PARAMS(slice_axis_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = mx_table_workspace,
};
