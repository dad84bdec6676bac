// activation.cu: Activation's launches on a GPU, one thread per element; the math is
// activation.h's, as on the CPU; backward reads only the output, as activation.c.
#include "cuda_util.h" /* first: the CUDA runtime, then the shared bodies */

#include "activation.h"

__global__ void activation_fwd_kernel(int type, mx_req req, const float *x, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(req, &y[i], activation_fwd(type, x[i]));
}

__global__ void activation_bwd_kernel(int type, mx_req req, const float *o, const float *dy, float *dx, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(req, &dx[i], activation_bwd(type, o[i], dy[i]));
}

extern "C" mx_status mx_op_activation_forward_gpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[0]);
  MX_CUDA_LAUNCH(activation_fwd_kernel, n, MX_PARAMS(activation_param, c->attrs)->act_type, c->req[0],
                 mx_op_data(c->in[0]), mx_op_data(c->out[0]), n);
  return mx_cuda_op_status(c, "activation_fwd_kernel");
}

extern "C" mx_status mx_op_activation_backward_gpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->out[0]);
  MX_CUDA_LAUNCH(activation_bwd_kernel, n, MX_PARAMS(activation_param, c->attrs)->act_type, c->req[0],
                 mx_op_data(c->out[0]), mx_op_data(c->out_grad[0]), mx_op_data(c->in_grad[0]), n);
  return mx_cuda_op_status(c, "activation_bwd_kernel");
}
