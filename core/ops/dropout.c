/* dropout.c: Dropout: in training (or always, with mode 'always') each element is
 * zeroed with probability p and the rest scaled by 1/(1-p) (the mask, a hidden
 * output, keeps the factors); otherwise the identity. Shared-mask axes are refused. */
#include "operator.h"

enum { P_P, P_MODE, P_AXES, P_CUDNN_OFF };
enum { MODE_TRAINING, MODE_ALWAYS };
static const mx_param_desc params[] = {
    {"p", MX_PARAM_FLOAT, "0.5", NULL,
     "the fraction of the input that gets dropped out in training"},
    {"mode", MX_PARAM_ENUM, "training", "training|always",
     "drop in training only, or at inference too"},
    {"axes", MX_PARAM_SHAPE, "()", NULL, "axes sharing one mask (refused when given)"},
    {"cudnn_off", MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"},
};

/* Whether this call drops (shared with dropout.cu). */
int mx_op_dropout_active(const mx_op_call *c) {
  return c->is_train || MX_PINT(c->attrs, P_MODE) == MODE_ALWAYS;
}

/* p is checked here so that a bad one is reported at bind (or infer_shape), never mid-run. */
static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  float p = MX_PFLOAT(a, P_P);
  if (!(p >= 0.0f && p < 1.0f))
    return mx_error_at(MX_ERR_ARG, "mx_symbol_infer_shape", "Dropout %s: p must be in [0, 1) (got %g)",
                    a->node_name, (double)p);
  if (a->p[P_AXES].ndim)
    return mx_error_at(MX_ERR_ARG,
                    "mx_symbol_infer_shape", "Dropout %s: axes %s (a mask shared along axes) is not "
                    "supported",
                    a->node_name, a->p[P_AXES].str);
  return mx_op_infer_same(a, in, nin, out, nout, aux, naux);
}

static mx_status forward_cpu(const mx_op_call *c) {
  float p = MX_PFLOAT(c->attrs, P_P);
  if (p < 0.0f || p >= 1.0f)
    return mx_error(MX_ERR_ARG, "Dropout %s: p must be in [0, 1) (got %g)", c->attrs->node_name,
                    (double)p);
  int64_t n = mx_op_size(c->in[0]);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]), *mask = mx_op_data(c->out[1]);
  if (!mx_op_dropout_active(c) || p == 0.0f) {
    for (int64_t i = 0; i < n; i++) mask[i] = 1.0f;
    mx_req_copy(c->req[0], y, x, n);
    return MX_OK;
  }
  mx_status st = mx_random_uniform(0.0f, 1.0f, c->out[1]);
  if (st != MX_OK) return st;
  float keep = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; i++) mask[i] = mask[i] < p ? 0.0f : keep;
  for (int64_t i = 0; i < n; i++) mx_req_store(c->req[0], &y[i], x[i] * mask[i]);
  return MX_OK;
}

static mx_status backward_cpu(const mx_op_call *c) {
  const float *dy = mx_op_data(c->out_grad[0]), *mask = mx_op_data(c->out[1]);
  float *dx = mx_op_data(c->in_grad[0]);
  for (int64_t i = 0, n = mx_op_size(c->in_grad[0]); i < n; i++)
    mx_req_store(c->req[0], &dx[i], dy[i] * mask[i]);
  return MX_OK;
}

mx_status mx_op_dropout_forward_gpu(const mx_op_call *c); /* dropout.cu */
mx_status mx_op_dropout_backward_gpu(const mx_op_call *c);

const mx_op mx_op_dropout = {
    .name = "Dropout",
    .doc = "Zeroes elements with probability p in training (scaling the rest by 1/(1-p)); identity "
           "otherwise.",
    .params = params,
    .nparams = 4,
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", "mask", NULL},
    .hidden_outputs = 1,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_dropout_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_dropout_backward_gpu)},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
