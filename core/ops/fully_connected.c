/* fully_connected.c: FullyConnected, out = X W^T + b with W (num_hidden, in),
 * X flattened to (batch, in) unless flatten=False (then over the last axis). */
#include "operator.h"
#include "simd.h"

enum { P_NUM_HIDDEN, P_NO_BIAS, P_FLATTEN };
static const mx_param_desc params[] = {
    {"num_hidden", MX_PARAM_INT, NULL, NULL, "number of hidden units (outputs), >= 1"},
    {"no_bias", MX_PARAM_BOOL, "False", NULL, "leave out the bias"},
    {"flatten", MX_PARAM_BOOL, "True", NULL,
     "flatten the input to (batch, rest); else apply over the last axis"},
};

static int list_args(const mx_op_attrs *a, const char **names) {
  names[0] = "data";
  names[1] = "weight";
  if (MX_PBOOL(a, P_NO_BIAS)) return 2;
  names[2] = "bias";
  return 3;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  int64_t nh = MX_PINT(a, P_NUM_HIDDEN);
  if (nh < 1)
    return mx_error_at(MX_ERR_ARG,
                    "mx_symbol_infer_shape", "FullyConnected %s: num_hidden must be >= 1 (got %lld)",
                    a->node_name, (long long)nh);
  if (in[0].ndim == 0) return MX_OK;
  mx_shape o = in[0], w = {2, {nh, 0}}, b = {1, {nh}};
  if (MX_PBOOL(a, P_FLATTEN)) {
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
 * to it (beta 1): one pass over the output instead of OpenBLAS zeroing it and a bias pass. */
MX_SIMD_CLONES static mx_status forward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  int64_t n = MX_PINT(c->attrs, P_NUM_HIDDEN), k = mx_op_size(c->in[1]) / n,
          m = mx_op_size(c->in[0]) / k;
  float *restrict y = mx_op_data(c->out[0]);
  const float *restrict b = MX_PBOOL(c->attrs, P_NO_BIAS) ? NULL : mx_op_data(c->in[2]);
  if (b && r != MX_REQ_ADD)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) y[i * n + j] = b[j];
  /* (m, k) x (n, k)^T -> (m, n) */
  mx_status st = mx_gemm(c->ctx, 0, 1, m, n, k, 1.0f, mx_op_data(c->in[0]), k, mx_op_data(c->in[1]),
                         k, r == MX_REQ_ADD || b ? 1.0f : 0.0f, y, n);
  if (st != MX_OK || !b || r != MX_REQ_ADD) return st;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) y[i * n + j] += b[j];
  return MX_OK;
}

MX_SIMD_CLONES static mx_status backward_cpu(const mx_op_call *c) {
  int64_t n = MX_PINT(c->attrs, P_NUM_HIDDEN), k = mx_op_size(c->in[1]) / n,
          m = mx_op_size(c->in[0]) / k;
  const float *dy = mx_op_data(c->out_grad[0]);
  mx_status st = MX_OK;
  if (c->req[0] != MX_REQ_NULL) /* (m, n) x (n, k) -> (m, k) */
    st = mx_gemm(c->ctx, 0, 0, m, k, n, 1.0f, dy, n, mx_op_data(c->in[1]), k,
                 c->req[0] == MX_REQ_ADD ? 1.0f : 0.0f, mx_op_data(c->in_grad[0]), k);
  if (st == MX_OK && c->req[1] != MX_REQ_NULL) /* (m, n)^T x (m, k) -> (n, k) */
    st = mx_gemm(c->ctx, 1, 0, n, k, m, 1.0f, dy, n, mx_op_data(c->in[0]), k,
                 c->req[1] == MX_REQ_ADD ? 1.0f : 0.0f, mx_op_data(c->in_grad[1]), k);
  if (st != MX_OK || MX_PBOOL(c->attrs, P_NO_BIAS) || c->req[2] == MX_REQ_NULL) return st;
  float *db = mx_op_data(c->in_grad[2]);
  if (c->req[2] != MX_REQ_ADD)
    for (int64_t j = 0; j < n; j++) db[j] = 0.0f;
  for (int64_t i = 0; i < m; i++) {
    const float *row = dy + i * n;
    for (int64_t j = 0; j < n; j++) db[j] += row[j];
  }
  return MX_OK;
}

mx_status mx_op_fully_connected_forward_gpu(const mx_op_call *c); /* fully_connected.cu */
mx_status mx_op_fully_connected_backward_gpu(const mx_op_call *c);

const mx_op mx_op_fully_connected = {
    .name = "FullyConnected",
    .doc = "Applies a linear transformation: out = data * weight^T + bias.",
    .params = params,
    .nparams = 3,
    .arguments = (const char *const[]){"data", "weight", "bias", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward =
        {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_fully_connected_forward_gpu)},
    .backward =
        {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_fully_connected_backward_gpu)},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
};
