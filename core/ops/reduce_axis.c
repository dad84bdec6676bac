/* reduce_axis.c: sum, mean, max, min, argmax, argmin and norm (L2) over axes (none given: all)
 * with keepdims, as MXNet's reductions; the axes must be adjacent (one (outer, len, inner)
 * view). max's and min's gradients go to every element equal to the result, as MXNet;
 * argmax's and argmin's (0-based positions, as floats) are zero. Written over the kernel
 * table: one code for CPU and GPU. */
#include <math.h>

#include "table_op.h"

typedef struct reduce_axis_param {
  mx_shape axis;
  int keepdims;
  int exclude;
} reduce_axis_param;
static const mx_param_desc params[] = {
    MX_PARAM(reduce_axis_param, axis, MX_PARAM_SHAPE, "()", NULL, "the axes to reduce (adjacent, 0-based); empty: all"),
    MX_PARAM(reduce_axis_param, keepdims, MX_PARAM_BOOL, "False", NULL, "keep the reduced axes with size 1"),
    MX_PARAM(reduce_axis_param, exclude, MX_PARAM_BOOL, "False", NULL, "reduce the other axes (not supported)"),
};
#define P(a) MX_PARAMS(reduce_axis_param, a)

extern const mx_op mx_op_sum, mx_op_mean, mx_op_max, mx_op_min, mx_op_argmax, mx_op_argmin, mx_op_norm;

/* The data (shape s, nd axes) as (outer, len, inner) around the reduced axes [*first, *last]. */
static mx_status view(const mx_op_attrs *a, const int64_t *s, int nd, int64_t *outer, int64_t *len,
                      int64_t *inner, int *first, int *last) {
  const mx_shape *p = &P(a)->axis;
  const char *text = mx_op_param_text(a, "axis");
  if (P(a)->exclude) return mx_op_error(a, MX_ERR_ARG, "exclude is not supported");
  *first = 0, *last = nd - 1;
  if (p->ndim) {
    int seen[MX_MAX_NDIM] = {0}, lo = nd, hi = -1;
    for (int i = 0; i < p->ndim; i++) {
      int64_t ax = p->dim[i] < 0 ? p->dim[i] + nd : p->dim[i];
      if (ax < 0 || ax >= nd || seen[ax])
        return mx_op_error(a, MX_ERR_SHAPE, "axis %s out of range for %d axes", text, nd);
      seen[ax] = 1;
      lo = ax < lo ? (int)ax : lo;
      hi = ax > hi ? (int)ax : hi;
    }
    if (hi - lo + 1 != p->ndim)
      return mx_op_error(a, MX_ERR_ARG, "axes %s are not adjacent (not supported)", text);
    *first = lo, *last = hi;
  }
  *outer = mx_shape_size(s, *first);
  *len = mx_shape_size(s + *first, *last - *first + 1);
  *inner = mx_shape_size(s + *last + 1, nd - *last - 1);
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  int64_t outer, len, inner;
  int first, last;
  mx_status st = view(a, in[0].dim, in[0].ndim, &outer, &len, &inner, &first, &last);
  if (st != MX_OK) return st;
  mx_shape o = {0, {0}};
  for (int i = 0; i < in[0].ndim; i++) {
    if (i < first || i > last)
      o.dim[o.ndim++] = in[0].dim[i];
    else if (P(a)->keepdims)
      o.dim[o.ndim++] = 1;
  }
  if (o.ndim == 0) o = (mx_shape){1, {1}};
  return mx_shape_fill(a, "output", &out[0], &o);
}

static mx_reduce_op reduce_op(const mx_op *op) {
  static const mx_op *const ops[MX_REDUCE_COUNT] = {
      [MX_REDUCE_SUM] = &mx_op_sum,       [MX_REDUCE_MEAN] = &mx_op_mean,     [MX_REDUCE_MAX] = &mx_op_max,
      [MX_REDUCE_MIN] = &mx_op_min,       [MX_REDUCE_ARGMAX] = &mx_op_argmax, [MX_REDUCE_ARGMIN] = &mx_op_argmin,
      [MX_REDUCE_NORM] = &mx_op_norm};
  for (int i = 0; i < MX_REDUCE_COUNT; i++)
    if (ops[i] == op) return (mx_reduce_op)i;
  return MX_REDUCE_SUM;
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_forward_of(c, &k);
  if (st != MX_OK || !k) return st;
  int64_t outer, len, inner;
  int first, last;
  st = view(c->attrs, mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), &outer, &len, &inner, &first, &last);
  if (st != MX_OK) return st;
  mx_reduce_op op = reduce_op(c->attrs->op);
  if (outer * inner == 0) return MX_OK;
  float *t = mx_op_data(c->out[0]);
  if (len == 0) { /* an empty axis: sums are 0, means NaN; no maximum or position exists */
    if (op != MX_REDUCE_SUM && op != MX_REDUCE_MEAN && op != MX_REDUCE_NORM) {
      char b[96];
      return mx_op_error(
          c->attrs, MX_ERR_SHAPE, "cannot take the %s of an empty axis (shape %s)",
          c->attrs->op->name,
          mx_shape_str(mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), b, sizeof b));
    }
    k->fill(t, outer * inner, op == MX_REDUCE_MEAN ? NAN : 0.0f);
  } else {
    k->reduce(op, mx_op_data(c->in[0]), t, outer, len, inner);
  }
  return MX_OK;
}

/* dx = dy spread over the reduced axes (sum), / len (mean), where x equals y (max);
 * workspace: max's mask, then the 'add' target. */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t outer, len, inner;
  int first, last;
  const mx_ndarray *data = c->in_grad[0];
  st = view(c->attrs, mx_ndarray_shape(data), mx_ndarray_ndim(data), &outer, &len, &inner, &first, &last);
  if (st != MX_OK) return st;
  int64_t n = outer * len * inner, shape[3] = {outer, len, inner};
  int64_t whole[3] = {len * inner, inner, 1}, spread[3] = {inner, 0, 1};
  float *dx = mx_op_data(c->in_grad[0]), *t = mx_table_target(c, r, dx, n);
  const float *dy = mx_op_data(c->out_grad[0]);
  mx_reduce_op op = reduce_op(c->attrs->op);
  if (op == MX_REDUCE_MAX || op == MX_REDUCE_MIN || op == MX_REDUCE_NORM) {
    /* max, min: dy where x equals y; norm: dy x / y */
    float *mask = c->workspace;
    k->binary_strided(op == MX_REDUCE_NORM ? MX_BINARY_DIV : MX_BINARY_EQ, mx_op_data(c->in[0]), whole,
                      mx_op_data(c->out[0]), spread, mask, shape, 3);
    k->binary_strided(MX_BINARY_MUL, mask, whole, dy, spread, t, shape, 3);
  } else if (op == MX_REDUCE_ARGMAX || op == MX_REDUCE_ARGMIN) {
    k->fill(t, n, 0.0f);
  } else {
    k->copy_strided(dy, spread, t, shape, 3);
    if (op == MX_REDUCE_MEAN) k->binary_scalar(MX_BINARY_DIV, t, (float)len, t, n);
  }
  mx_table_finish(k, r, dx, t, n);
  return MX_OK;
}

static unsigned needs(const mx_op_attrs *a) {
  mx_reduce_op op = reduce_op(a->op);
  int reads = op == MX_REDUCE_MAX || op == MX_REDUCE_MIN || op == MX_REDUCE_NORM;
  return MX_OP_BWD_OUT_GRAD | (reads ? MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA : 0u);
}

#define REDUCE_FIELDS                                                                                      \
  MX_OP_PARAMS(reduce_axis_param, params), .arguments = (const char *const[]){"data", NULL},                \
  .outputs = (const char *const[]){"output", NULL}, .infer_shape = infer,                                   \
  .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},                                      \
  .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},                                   \
  .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD, .backward_needs = needs,            \
  .workspace = mx_table_workspace_bwd

const mx_op mx_op_sum = {.name = "sum", .doc = "Sum over axes (adjacent; default all).", REDUCE_FIELDS};
const mx_op mx_op_mean = {.name = "mean", .doc = "Mean over axes (adjacent; default all).", REDUCE_FIELDS};
const mx_op mx_op_max = {.name = "max", .doc = "Maximum over axes (adjacent; default all).", REDUCE_FIELDS};
const mx_op mx_op_min = {.name = "min", .doc = "Minimum over axes (adjacent; default all).", REDUCE_FIELDS};
const mx_op mx_op_argmax = {.name = "argmax",
                            .doc = "0-based position of the maximum over axes (adjacent; default all), as a float.",
                            REDUCE_FIELDS};
const mx_op mx_op_argmin = {.name = "argmin",
                            .doc = "0-based position of the minimum over axes (adjacent; default all), as a float.",
                            REDUCE_FIELDS};
const mx_op mx_op_norm = {.name = "norm", .doc = "L2 norm over axes (adjacent; default all).", REDUCE_FIELDS};
