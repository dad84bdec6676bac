/* one_hot.c: one_hot, MXNet's encoding of 0-based class ids (stored as floats): output
 * indices' shape + (depth,), on_value at each id and off_value elsewhere. An id that is not an
 * integer in [0, depth) is refused, as take refuses it (MXNet writes an all-off row). The
 * indices get no gradient (zeros), as in MXNet. Over the kernel table: one code for CPU and GPU. */
#include <string.h>

#include "table_op.h"

typedef struct one_hot_param {
  int64_t depth;
  float on_value;
  float off_value;
  const char *dtype;
} one_hot_param;
static const mx_param_desc params[] = {
    MX_PARAM(one_hot_param, depth, MX_PARAM_INT, NULL, NULL, "the number of classes (>= 1)"),
    MX_PARAM(one_hot_param, on_value, MX_PARAM_FLOAT, "1", NULL, "the value at each id"),
    MX_PARAM(one_hot_param, off_value, MX_PARAM_FLOAT, "0", NULL, "the value elsewhere"),
    MX_PARAM(one_hot_param, dtype, MX_PARAM_STRING, "float32", NULL, "float32 only"),
};
#define P(a) MX_PARAMS(one_hot_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout, mx_shape *aux,
                       int naux) {
  char b[128];
  if (P(a)->depth < 1) return mx_op_error(a, MX_ERR_ARG, "depth must be at least 1 (got %lld)", (long long)P(a)->depth);
  if (strcmp(P(a)->dtype, "float32"))
    return mx_op_error(a, MX_ERR_ARG, "dtype %s not supported (expected float32)", P(a)->dtype);
  if (in[0].ndim == 0) return MX_OK;
  if (in[0].ndim >= MX_MAX_NDIM)
    return mx_op_error(a, MX_ERR_SHAPE, "indices of shape %s give more than %d axes",
                       mx_shape_str(in[0].dim, in[0].ndim, b, sizeof b), MX_MAX_NDIM);
  mx_shape o = in[0];
  o.dim[o.ndim++] = P(a)->depth;
  return mx_shape_fill(a, "output", &out[0], &o);
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_forward_of(c, &k);
  if (st != MX_OK || !k) return st;
  int64_t n = mx_op_size(c->in[0]), depth = P(c->attrs)->depth;
  if (n == 0) return MX_OK;
  const float *idx = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]);
  /* the ids checked as take checks them (rows of 0 values: it only checks) */
  int64_t bad;
  st = mx_table_take_checked(c, k, idx, depth, 0, idx, n, y, &bad);
  if (st != MX_OK) return st;
  if (bad >= 0) {
    float v = 0;
    mx_ndarray_get_element(c->in[0], bad, &v);
    return mx_op_error(c->attrs, MX_ERR_ARG,
                       "index %g (at position %lld) out of range for depth %lld (expected an integer in 0..%lld)",
                       (double)v, (long long)bad, (long long)depth, (long long)depth - 1);
  }
  k->one_hot(idx, n, depth, P(c->attrs)->on_value, P(c->attrs)->off_value, y);
  return MX_OK;
}

/* no gradient to the indices: zeros written, nothing added */
static mx_status backward(const mx_op_call *c) { return mx_table_zero_grad(c, 0); }

const mx_op mx_op_one_hot = {
    .name = "one_hot",
    .doc = "One-hot encoding of 0-based class ids: output indices' shape + (depth,), on_value at "
           "each id, off_value elsewhere; an id that is not an integer in [0, depth) is an error. "
           "The indices get no gradient.",
    MX_OP_PARAMS(one_hot_param, params),
    .arguments = (const char *const[]){"indices", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
};
