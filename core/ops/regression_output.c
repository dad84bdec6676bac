/* regression_output.c: LinearRegressionOutput (y = x), LogisticRegressionOutput
 * (y = sigmoid(x)) and MAERegressionOutput (y = x), loss layers whose gradient is
 * (y - label) or sign(y - label), times grad_scale / outputs-per-example (MXNet 1.x).
 * Written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

typedef struct regression_param {
  float grad_scale;
} regression_param;
static const mx_param_desc params[] = {
    MX_PARAM(regression_param, grad_scale, MX_PARAM_FLOAT, "1", NULL, "scales the gradient"),
};
enum { LINEAR, LOGISTIC, MAE };

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  mx_status st = mx_shape_fill(a, "output", &out[0], &in[0]);
  /* a label (n,) fits data (n,1) */
  if (st == MX_OK && !(in[1].ndim && mx_shape_numel(&in[1]) == mx_shape_numel(&in[0]) &&
                       in[1].dim[0] == in[0].dim[0]))
    st = mx_shape_fill(a, "label", &in[1], &in[0]);
  return st;
}

static mx_status forward(const mx_op_call *c, int kind) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[0]);
  float *y = mx_op_data(c->out[0]), *t = mx_table_target(c, r, y, 0);
  k->unary(kind == LOGISTIC ? MX_UNARY_SIGMOID : MX_UNARY_COPY, mx_op_data(c->in[0]), t, n);
  mx_table_finish(k, r, y, t, n);
  return MX_OK;
}

/* workspace: the 'add' target */
static mx_status backward(const mx_op_call *c, int kind) {
  const mx_kernels *k;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  if (c->req[1] != MX_REQ_NULL && c->req[1] != MX_REQ_ADD) /* the label gets no gradient */
    k->fill(mx_op_data(c->in_grad[1]), mx_op_size(c->in_grad[1]), 0.0f);
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  int64_t n = mx_op_size(c->out[0]), per_example = n / mx_ndarray_shape(c->in[1])[0];
  float scale = MX_PARAMS(regression_param, c->attrs)->grad_scale / (float)per_example;
  float *g = mx_op_data(c->in_grad[0]), *t = mx_table_target(c, r, g, 0);
  k->binary(MX_BINARY_SUB, mx_op_data(c->out[0]), mx_op_data(c->in[1]), t, n); /* y - label */
  if (kind == MAE) k->unary(MX_UNARY_SIGN, t, t, n);
  k->binary_scalar(MX_BINARY_MUL, t, scale, t, n);
  mx_table_finish(k, r, g, t, n);
  return MX_OK;
}

static mx_status linear_fwd(const mx_op_call *c) {
  return forward(c, LINEAR);
}
static mx_status linear_bwd(const mx_op_call *c) {
  return backward(c, LINEAR);
}
static mx_status logistic_fwd(const mx_op_call *c) {
  return forward(c, LOGISTIC);
}
static mx_status logistic_bwd(const mx_op_call *c) {
  return backward(c, LOGISTIC);
}
static mx_status mae_fwd(const mx_op_call *c) {
  return forward(c, MAE);
}
static mx_status mae_bwd(const mx_op_call *c) {
  return backward(c, MAE);
}

#define REGRESSION_FIELDS                                                                          \
  MX_OP_PARAMS(regression_param, params), .arguments = (const char *const[]){"data", "label", NULL},       \
  .outputs = (const char *const[]){"output", NULL}, .infer_shape = infer,                          \
  .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_LOSS | MX_OP_INPLACE,         \
  .workspace = mx_table_workspace

const mx_op mx_op_linear_regression_output = {
    .name = "LinearRegressionOutput",
    .doc = "Identity forward; gradient (out - label) * grad_scale / outputs per example (squared "
           "loss).",
    .forward = {[MX_DEV_CPU] = linear_fwd, [MX_DEV_GPU] = linear_fwd},
    .backward = {[MX_DEV_CPU] = linear_bwd, [MX_DEV_GPU] = linear_bwd},
    REGRESSION_FIELDS,
};
const mx_op mx_op_logistic_regression_output = {
    .name = "LogisticRegressionOutput",
    .doc = "Sigmoid forward; gradient (out - label) * grad_scale / outputs per example (logistic "
           "loss).",
    .forward = {[MX_DEV_CPU] = logistic_fwd, [MX_DEV_GPU] = logistic_fwd},
    .backward = {[MX_DEV_CPU] = logistic_bwd, [MX_DEV_GPU] = logistic_bwd},
    REGRESSION_FIELDS,
};
const mx_op mx_op_mae_regression_output = {
    .name = "MAERegressionOutput",
    .doc = "Identity forward; gradient sign(out - label) * grad_scale / outputs per example "
           "(absolute loss).",
    .forward = {[MX_DEV_CPU] = mae_fwd, [MX_DEV_GPU] = mae_fwd},
    .backward = {[MX_DEV_CPU] = mae_bwd, [MX_DEV_GPU] = mae_bwd},
    REGRESSION_FIELDS,
};
