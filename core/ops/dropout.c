/* dropout.c: Dropout: in training (or always, with mode 'always') each element is
 * zeroed with probability p and the rest scaled by 1/(1-p) (the mask, a hidden
 * output, keeps the factors); otherwise the identity. Shared-mask axes are refused.
 * Written over the kernel table and the one random generator (the uniform draws are the
 * CPU's for one seed on either device): one code for CPU and GPU. */
#include "table_op.h"

typedef struct dropout_param {
  float p;
  int mode;
  mx_shape axes;
  int cudnn_off;
} dropout_param;

enum { MODE_TRAINING, MODE_ALWAYS };
static const mx_param_desc params[] = {
    MX_PARAM(dropout_param, p, MX_PARAM_FLOAT, "0.5", NULL, "the fraction of the input that gets dropped out in training"),
    MX_PARAM(dropout_param, mode, MX_PARAM_ENUM, "training", "training|always", "drop in training only, or at inference too"),
    MX_PARAM(dropout_param, axes, MX_PARAM_SHAPE, "()", NULL, "axes sharing one mask (refused when given)"),
    MX_PARAM(dropout_param, cudnn_off, MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"),
};
#define P(a) MX_PARAMS(dropout_param, a)

/* p is checked here so that a bad one is reported at bind (or infer_shape), never mid-run. */
static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  float p = P(a)->p;
  if (!(p >= 0.0f && p < 1.0f))
    return mx_op_error(a, MX_ERR_ARG, "p must be in [0, 1) (got %g)", (double)p);
  if (P(a)->axes.ndim)
    return mx_op_error(a, MX_ERR_ARG,
                       "axes %s (a mask shared along axes) is not "
                       "supported",
                       mx_op_param_text(a, "axes"));
  return mx_op_infer_same(a, in, nin, out, nout, aux, naux);
}

/* workspace: the 'add' target */
static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  float p = P(c->attrs)->p;
  if (p < 0.0f || p >= 1.0f)
    return mx_op_error(c->attrs, MX_ERR_ARG, "p must be in [0, 1) (got %g)", (double)p);
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  mx_req r = c->req[0];
  int64_t n = mx_op_size(c->in[0]);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]), *mask = mx_op_data(c->out[1]), *t = mx_table_target(c, r, y, 0);
  if (!(c->is_train || P(c->attrs)->mode == MODE_ALWAYS) || p == 0.0f) {
    k->fill(mask, n, 1.0f);
    if (r != MX_REQ_NULL && t != x) k->unary(MX_UNARY_COPY, x, t, n);
  } else {
    st = mx_random_uniform(0.0f, 1.0f, c->out[1]);
    if (st != MX_OK) return st;
    float keep = 1.0f / (1.0f - p);
    k->binary_scalar(MX_BINARY_GE, mask, p, mask, n); /* mask = 0 where u < p, else 1/(1-p) */
    k->binary_scalar(MX_BINARY_MUL, mask, keep, mask, n);
    if (r != MX_REQ_NULL) k->binary(MX_BINARY_MUL, x, mask, t, n);
  }
  if (r != MX_REQ_NULL) mx_table_finish(k, r, y, t, n);
  return MX_OK;
}

static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in_grad[0]);
  float *dx = mx_op_data(c->in_grad[0]), *t = mx_table_target(c, r, dx, 0);
  k->binary(MX_BINARY_MUL, mx_op_data(c->out_grad[0]), mx_op_data(c->out[1]), t, n);
  mx_table_finish(k, r, dx, t, n);
  return MX_OK;
}

const mx_op mx_op_dropout = {
    .name = "Dropout",
    .doc = "Zeroes elements with probability p in training (scaling the rest by 1/(1-p)); identity "
           "otherwise.",
    MX_OP_PARAMS(dropout_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", "mask", NULL},
    .hidden_outputs = 1,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
    .workspace = mx_table_workspace,
};
