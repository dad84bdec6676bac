/* fully_connected.c: FullyConnected, out = X W^T + b with W (num_hidden, in),
 * X flattened to (batch, in) unless flatten=False (then over the last axis). Written over
 * mx_gemm and the kernel table (the bias broadcast, its gradient a sum over rows): one code
 * for CPU and GPU. */
#include "table_op.h"

typedef struct fully_connected_param {
  int64_t num_hidden;
  int no_bias, flatten;
} fully_connected_param;

static const mx_param_desc params[] = {
    MX_PARAM(fully_connected_param, num_hidden, MX_PARAM_INT, NULL, NULL, "number of hidden units (outputs), >= 1"),
    MX_PARAM(fully_connected_param, no_bias, MX_PARAM_BOOL, "False", NULL, "leave out the bias"),
    MX_PARAM(fully_connected_param, flatten, MX_PARAM_BOOL, "True", NULL, "flatten the input to (batch, rest); else apply over the last axis"),
};
#define P(a) MX_PARAMS(fully_connected_param, a)

static int list_args(const mx_op_attrs *a, const char **names) {
  names[0] = "data";
  names[1] = "weight";
  if (P(a)->no_bias) return 2;
  names[2] = "bias";
  return 3;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  int64_t nh = P(a)->num_hidden;
  if (nh < 1)
    return mx_op_error(a, MX_ERR_ARG, "num_hidden must be >= 1 (got %lld)", (long long)nh);
  if (in[0].ndim == 0) return MX_OK;
  mx_shape o = in[0], w = {2, {nh, 0}}, b = {1, {nh}};
  if (P(a)->flatten) {
    w.dim[1] = mx_shape_numel(&in[0]) / (in[0].dim[0] ? in[0].dim[0] : 1);
    o.ndim = 2;
    o.dim[1] = nh;
  } else {
    w.dim[1] = in[0].dim[in[0].ndim - 1];
    o.dim[o.ndim - 1] = nh;
  }
  mx_status st = mx_shape_fill(a, "weight", &in[1], &w);
  if (st == MX_OK && nin > 2) st = mx_shape_fill(a, "bias", &in[2], &b);
  if (st == MX_OK) st = mx_shape_fill(a, "output", &out[0], &o);
  return st;
}

/* With a bias and req write, the output starts as the bias in every row and the GEMM adds
 * to it (beta 1): one pass over the output instead of the GEMM zeroing it and a bias pass. */
static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = P(c->attrs)->num_hidden, kk = mx_op_size(c->in[1]) / n, m = mx_op_size(c->in[0]) / kk;
  float *y = mx_op_data(c->out[0]);
  const float *b = P(c->attrs)->no_bias ? NULL : mx_op_data(c->in[2]);
  const int64_t rows[2] = {0, 1}, shape[2] = {m, n}, whole[2] = {n, 1}; /* b read as every row */
  if (b && r != MX_REQ_ADD && m * n > 0) k->copy_strided(b, rows, y, shape, 2);
  /* (m, k) x (n, k)^T -> (m, n) */
  st = mx_gemm(c->ctx, 0, 1, m, n, kk, 1.0f, mx_op_data(c->in[0]), kk, mx_op_data(c->in[1]), kk,
               r == MX_REQ_ADD || b ? 1.0f : 0.0f, y, n);
  if (st == MX_OK && b && r == MX_REQ_ADD && m * n > 0) k->binary_strided(MX_BINARY_ADD, y, whole, b, rows, y, shape, 2);
  return st;
}

/* workspace: the bias gradient's 'add' target */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = P(c->attrs)->num_hidden, kk = mx_op_size(c->in[1]) / n, m = mx_op_size(c->in[0]) / kk;
  const float *dy = mx_op_data(c->out_grad[0]);
  if (c->req[0] != MX_REQ_NULL) /* (m, n) x (n, k) -> (m, k) */
    st = mx_gemm(c->ctx, 0, 0, m, kk, n, 1.0f, dy, n, mx_op_data(c->in[1]), kk,
                 c->req[0] == MX_REQ_ADD ? 1.0f : 0.0f, mx_op_data(c->in_grad[0]), kk);
  if (st == MX_OK && c->req[1] != MX_REQ_NULL) /* (m, n)^T x (m, k) -> (n, k) */
    st = mx_gemm(c->ctx, 1, 0, n, kk, m, 1.0f, dy, n, mx_op_data(c->in[0]), kk,
                 c->req[1] == MX_REQ_ADD ? 1.0f : 0.0f, mx_op_data(c->in_grad[1]), kk);
  if (st != MX_OK || P(c->attrs)->no_bias || c->req[2] == MX_REQ_NULL) return st;
  float *db = mx_op_data(c->in_grad[2]), *t = mx_table_target(c, c->req[2], db, 0);
  if (m > 0) k->reduce(MX_REDUCE_SUM, dy, t, 1, m, n); /* db = the column sums of dy */
  else k->fill(t, n, 0.0f);
  mx_table_finish(k, c->req[2], db, t, n);
  return MX_OK;
}

/* backward only, with a bias: its gradient's 'add' target (n floats) */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out, int nout,
                         int bwd) {
  return bwd && nin > 2 ? mx_shape_numel(&in[2]) : 0;
}

const mx_op mx_op_fully_connected = {
    .name = "FullyConnected",
    .doc = "Applies a linear transformation: out = data * weight^T + bias.",
    MX_OP_PARAMS(fully_connected_param, params),
    .arguments = (const char *const[]){"data", "weight", "bias", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
