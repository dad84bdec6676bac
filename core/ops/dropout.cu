// dropout.cu: Dropout on a GPU. The mask's uniform numbers come from the one
// process generator (mx_random_uniform), so a seed gives the CPU's mask; the
// thresholding and scaling are kernels.
#include "cuda_util.h"

enum { P_P }; // dropout.c's parameter
extern "C" int mx_op_dropout_active(const mx_op_call *c);

__global__ void dropout_fill_kernel(float *mask, int64_t n) {
  MX_CUDA_LOOP(i, n) mask[i] = 1.0f;
}

// mask = 0 where u < p, else 1/(1-p); y = x * mask
__global__ void dropout_fwd_kernel(mx_req r, const float *x, float *mask, float *y, float p, float keep, int64_t n) {
  MX_CUDA_LOOP(i, n) {
    float m = mask[i] < p ? 0.0f : keep;
    mask[i] = m;
    mx_cuda_store(r, &y[i], x[i] * m);
  }
}

__global__ void dropout_bwd_kernel(mx_req r, const float *dy, const float *mask, float *dx, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(r, &dx[i], dy[i] * mask[i]);
}

extern "C" mx_status mx_op_dropout_forward_gpu(const mx_op_call *c) {
  float p = MX_PFLOAT(c->attrs, P_P);
  if (p < 0.0f || p >= 1.0f)
    return mx_error(MX_ERR_ARG, "Dropout %s: p must be in [0, 1) (got %g)", c->attrs->node_name, (double)p);
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[0]);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]), *mask = mx_op_data(c->out[1]);
  if (!mx_op_dropout_active(c) || p == 0.0f) {
    MX_CUDA_LAUNCH(dropout_fill_kernel, n, mask, n);
    st = mx_cuda_launch_status("Dropout", "dropout_fill_kernel");
    if (st != MX_OK) return st;
    return mx_cuda_req_copy("Dropout", c->req[0], y, x, n);
  }
  st = mx_random_uniform(0.0f, 1.0f, c->out[1]);
  if (st != MX_OK) return st;
  MX_CUDA_LAUNCH(dropout_fwd_kernel, n, c->req[0], x, mask, y, p, 1.0f / (1.0f - p), n);
  return mx_cuda_launch_status("Dropout", "dropout_fwd_kernel");
}

extern "C" mx_status mx_op_dropout_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in_grad[0]);
  MX_CUDA_LAUNCH(dropout_bwd_kernel, n, c->req[0], mx_op_data(c->out_grad[0]), mx_op_data(c->out[1]),
                 mx_op_data(c->in_grad[0]), n);
  return mx_cuda_launch_status("Dropout", "dropout_bwd_kernel");
}
