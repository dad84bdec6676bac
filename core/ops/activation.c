/* activation.c: Activation (relu, sigmoid, tanh, softrelu, softsign, log_sigmoid),
 * element-wise; the backward pass reads only the output, so the output may overwrite
 * the input. mish (whose gradient needs the input) is refused. */
#include "elementwise.h"
#include "operator.h"
#include "simd.h"

enum { P_ACT_TYPE };
enum { RELU, SIGMOID, TANH, SOFTRELU, SOFTSIGN, LOG_SIGMOID, MISH };
static const mx_param_desc params[] = {
    {"act_type", MX_PARAM_ENUM, NULL, "relu|sigmoid|tanh|softrelu|softsign|log_sigmoid|mish",
     "the activation function (mish is refused)"},
};

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (MX_PINT(a, P_ACT_TYPE) == MISH)
    return mx_error_at(MX_ERR_ARG, "mx_symbol_infer_shape", "Activation %s: act_type mish is not supported",
                    a->node_name ? a->node_name : "");
  return mx_op_infer_same(a, in, nin, out, nout, aux, naux);
}

#define LOOP(expr)                                                                                 \
  do {                                                                                             \
    if (add)                                                                                       \
      for (int64_t i = 0; i < n; i++) y[i] += (expr);                                              \
    else                                                                                           \
      for (int64_t i = 0; i < n; i++) y[i] = (expr);                                               \
  } while (0)

MX_SIMD_CLONES static mx_status forward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int add = c->req[0] == MX_REQ_ADD;
  int64_t n = mx_op_size(c->in[0]);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]);
  switch ((int)MX_PINT(c->attrs, P_ACT_TYPE)) {
  case RELU:
    LOOP(mx_ew_relu(x[i]));
    break;
  case SIGMOID:
    LOOP(mx_ew_sigmoid(x[i]));
    break;
  case TANH:
    LOOP(mx_ew_tanh(x[i]));
    break;
  case SOFTSIGN:
    LOOP(mx_ew_softsign(x[i]));
    break;
  case LOG_SIGMOID:
    LOOP(mx_ew_log_sigmoid(x[i]));
    break;
  default:
    LOOP(mx_ew_softrelu(x[i]));
    break;
  }
  return MX_OK;
}

/* Gradients never share memory with the outputs they are computed from, hence
 * restrict; relu's mask is a multiplication so the loop has no branch to mispredict. */
MX_SIMD_CLONES static mx_status backward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int add = c->req[0] == MX_REQ_ADD;
  int64_t n = mx_op_size(c->out[0]);
  const float *restrict o = mx_op_data(c->out[0]), *restrict dy = mx_op_data(c->out_grad[0]);
  float *restrict y = mx_op_data(c->in_grad[0]);
  switch ((int)MX_PINT(c->attrs, P_ACT_TYPE)) {
  case RELU:
    LOOP((float)(o[i] > 0.0f) * dy[i]);
    break;
  case SIGMOID:
    LOOP(dy[i] * mx_ew_sigmoid_grad_y(o[i]));
    break;
  case TANH:
    LOOP(dy[i] * mx_ew_tanh_grad_y(o[i]));
    break;
  case SOFTSIGN:
    LOOP(dy[i] * mx_ew_softsign_grad_y(o[i]));
    break;
  case LOG_SIGMOID:
    LOOP(dy[i] * mx_ew_log_sigmoid_grad_y(o[i]));
    break;
  default:
    LOOP(dy[i] * (1.0f - expf(-o[i])));
    break; /* softrelu: sigmoid(x) = 1 - e^-y */
  }
  return MX_OK;
}

mx_status mx_op_activation_forward_gpu(const mx_op_call *c); /* activation.cu */
mx_status mx_op_activation_backward_gpu(const mx_op_call *c);

const mx_op mx_op_activation = {
    .name = "Activation",
    .doc = "Element-wise activation: relu max(0,x), sigmoid, tanh, softrelu log(1+e^x), softsign "
           "x/(1+|x|), log_sigmoid.",
    .params = params,
    .nparams = 1,
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_activation_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_activation_backward_gpu)},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
