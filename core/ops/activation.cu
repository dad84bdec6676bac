// activation.cu: Activation on a GPU (relu, sigmoid, tanh, softrelu, softsign, log_sigmoid), one thread
// per element, elementwise.h's math; backward reads only the output, as activation.c.
#include "cuda_util.h"
#include "elementwise.h"

enum { P_ACT_TYPE };                      // activation.c's parameter
enum { RELU, SIGMOID, TANH, SOFTRELU, SOFTSIGN, LOG_SIGMOID };  // the order of act_type's choices

__global__ void activation_fwd_kernel(int type, mx_req req, const float *x, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) {
    float v;
    switch (type) {
    case RELU: v = mx_ew_relu(x[i]); break;
    case SIGMOID: v = mx_ew_sigmoid(x[i]); break;
    case TANH: v = mx_ew_tanh(x[i]); break;
    case SOFTSIGN: v = mx_ew_softsign(x[i]); break;
    case LOG_SIGMOID: v = mx_ew_log_sigmoid(x[i]); break;
    default: v = mx_ew_softrelu(x[i]); break;
    }
    mx_cuda_store(req, &y[i], v);
  }
}

__global__ void activation_bwd_kernel(int type, mx_req req, const float *o, const float *dy, float *dx, int64_t n) {
  MX_CUDA_LOOP(i, n) {
    float v;
    switch (type) {
    case RELU: v = o[i] > 0.0f ? dy[i] : 0.0f; break;
    case SIGMOID: v = dy[i] * mx_ew_sigmoid_grad_y(o[i]); break;
    case TANH: v = dy[i] * mx_ew_tanh_grad_y(o[i]); break;
    case SOFTSIGN: v = dy[i] * mx_ew_softsign_grad_y(o[i]); break;
    case LOG_SIGMOID: v = dy[i] * mx_ew_log_sigmoid_grad_y(o[i]); break;
    default: v = dy[i] * (1.0f - expf(-o[i])); break; // softrelu: sigmoid(x) = 1 - e^-y
    }
    mx_cuda_store(req, &dx[i], v);
  }
}

extern "C" mx_status mx_op_activation_forward_gpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[0]);
  MX_CUDA_LAUNCH(activation_fwd_kernel, n, (int)MX_PINT(c->attrs, P_ACT_TYPE), c->req[0], mx_op_data(c->in[0]),
                 mx_op_data(c->out[0]), n);
  return mx_cuda_launch_status("Activation", "activation_fwd_kernel");
}

extern "C" mx_status mx_op_activation_backward_gpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->out[0]);
  MX_CUDA_LAUNCH(activation_bwd_kernel, n, (int)MX_PINT(c->attrs, P_ACT_TYPE), c->req[0], mx_op_data(c->out[0]),
                 mx_op_data(c->out_grad[0]), mx_op_data(c->in_grad[0]), n);
  return mx_cuda_launch_status("Activation", "activation_bwd_kernel");
}
