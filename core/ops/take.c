/* take.c: take, MXNet's gather of rows: output indices' shape + a's shape past axis 0, row i =
 * a's row indices[i] (0-based ids stored as floats). Axis 0 only. Of MXNet's modes only 'raise'
 * is implemented (and is the default here, where MXNet's is 'clip'): an id that is not an
 * integer in [0, rows) is an error, as mx.nd.take has always refused it; 'clip' and 'wrap' are
 * refused. The gradient to a scatter-adds the output gradient's rows at the ids (a repeated id
 * gets the sum): da (rows, row) = one_hot(indices, rows)^T dy (n, row), a GEMM on the call's
 * device; the indices get none (zeros). Over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

enum { MODE_CLIP, MODE_WRAP, MODE_RAISE };
typedef struct take_param {
  int64_t axis;
  int mode;
} take_param;
static const mx_param_desc params[] = {
    MX_PARAM(take_param, axis, MX_PARAM_INT, "0", NULL, "the axis of a to take along (0 only)"),
    MX_PARAM(take_param, mode, MX_PARAM_ENUM, "raise", "clip|wrap|raise",
             "out-of-range ids: raise (an error; the only mode implemented, and the default)"),
};
#define P(a) MX_PARAMS(take_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout, mx_shape *aux,
                       int naux) {
  char b1[128], b2[128];
  if (P(a)->axis != 0)
    return mx_op_error(a, MX_ERR_ARG, "axis %lld not supported (only axis 0: rows)", (long long)P(a)->axis);
  if (P(a)->mode != MODE_RAISE)
    return mx_op_error(a, MX_ERR_ARG, "mode %s not supported (only 'raise': an id out of range is an error)",
                       P(a)->mode == MODE_CLIP ? "clip" : "wrap");
  if (in[0].ndim == 0 || in[1].ndim == 0) return MX_OK;
  int ndim = in[1].ndim + in[0].ndim - 1;
  if (ndim > MX_MAX_NDIM)
    return mx_op_error(a, MX_ERR_SHAPE, "indices %s into %s give %d axes (at most %d)",
                       mx_shape_str(in[1].dim, in[1].ndim, b1, sizeof b1),
                       mx_shape_str(in[0].dim, in[0].ndim, b2, sizeof b2), ndim, MX_MAX_NDIM);
  mx_shape o = in[1];
  for (int i = 1; i < in[0].ndim; i++) o.dim[o.ndim++] = in[0].dim[i];
  return mx_shape_fill(a, "output", &out[0], &o);
}

/* rows of a, and floats per row */
static void rows_of(const mx_ndarray *a, int64_t *rows, int64_t *row) {
  const int64_t *d = mx_ndarray_shape(a);
  *rows = d[0], *row = mx_shape_size(d + 1, mx_ndarray_ndim(a) - 1);
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_forward_of(c, &k);
  if (st != MX_OK || !k) return st;
  int64_t n = mx_op_size(c->in[1]), rows, row;
  rows_of(c->in[0], &rows, &row);
  if (n == 0) return MX_OK;
  int64_t bad;
  st = mx_table_take_checked(c, k, mx_op_data(c->in[0]), rows, row, mx_op_data(c->in[1]), n, mx_op_data(c->out[0]),
                             &bad);
  if (st != MX_OK) return st;
  if (bad >= 0) {
    char b[128];
    float v = 0;
    mx_ndarray_get_element(c->in[1], bad, &v);
    return mx_op_error(c->attrs, MX_ERR_ARG,
                       "index %g (at position %lld) out of range for axis 0 of shape %s (expected an integer "
                       "in 0..%lld)",
                       (double)v, (long long)bad,
                       mx_shape_str(mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), b, sizeof b),
                       (long long)rows - 1);
  }
  return MX_OK;
}

/* one_hot(indices, rows) (n, rows) in the workspace: the backward's only scratch */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out, int nout,
                         int backward) {
  return backward && in[0].ndim > 0 ? mx_shape_numel(&in[1]) * in[0].dim[0] : 0;
}

static mx_status backward(const mx_op_call *c) {
  mx_status st = mx_table_zero_grad(c, 1);
  if (st != MX_OK || c->req[0] == MX_REQ_NULL) return st;
  const mx_kernels *k;
  st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[1]), rows, row;
  rows_of(c->in[0], &rows, &row);
  const float *idx = mx_op_data(c->in[1]);
  if (n > 0 && rows > 0) k->one_hot(idx, n, rows, 1.0f, 0.0f, c->workspace);
  /* da (rows, row) = onehot^T (rows, n) x dy (n, row); no ids (n = 0) write zeros */
  return mx_table_gemm(c, c->req[0], 1, 0, rows, row, n, c->workspace, rows, mx_op_data(c->out_grad[0]), row,
                       mx_op_data(c->in_grad[0]), row);
}

const mx_op mx_op_take = {
    .name = "take",
    .doc = "Rows of a gathered by 0-based ids (axis 0 only): output indices' shape + a's shape past "
           "axis 0. Only mode 'raise' is implemented, and is the default (MXNet's is 'clip'): an id "
           "that is not an integer in [0, rows) is an error; 'clip' and 'wrap' are refused. The "
           "gradient to a adds the output gradient's rows at their ids (repeated ids sum); the "
           "indices get none.",
    MX_OP_PARAMS(take_param, params),
    .arguments = (const char *const[]){"a", "indices", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
