// leaky_relu.cu: LeakyReLU's launches on a GPU: a thread per element, prelu's gamma
// gradient a thread per channel; the math is leaky_relu.h's, as on the CPU; rrelu's
// slopes come from the Philox stream (the CPU's for one seed).
#include "cuda_util.h"
#include "leaky_relu.h"

#define P(a) MX_PARAMS(leaky_relu_param, a)

__global__ void leaky_rrelu_mask_kernel(const float *x, float *mask, int drawn, float mean, int64_t n) {
  MX_CUDA_LOOP(i, n) mask[i] = leaky_rrelu_mask(x[i], drawn ? mask[i] : mean);
}

__global__ void leaky_fwd_kernel(leaky_relu_param p, mx_req r, const float *x, float *y, const float *mask,
                                 const float *gamma, int64_t ch, int64_t inner, int64_t n) {
  MX_CUDA_LOOP(i, n) {
    mx_cuda_store(r, &y[i], leaky_relu_fwd(p.act_type, x[i], p.slope, gamma ? gamma[i / inner % ch] : 0.0f, mask[i]));
  }
}

__global__ void leaky_bwd_kernel(leaky_relu_param p, mx_req r, const float *x, const float *dy, const float *mask,
                                 const float *gamma, int64_t ch, int64_t inner, float *dx, int64_t n) {
  MX_CUDA_LOOP(i, n) {
    mx_cuda_store(r, &dx[i],
                  leaky_relu_bwd(p.act_type, x[i], dy[i], p.slope, gamma ? gamma[i / inner % ch] : 0.0f, mask[i]));
  }
}

__global__ void prelu_gamma_grad_kernel(mx_req r, const float *x, const float *dy, float *dg, int64_t outer, int64_t ch,
                                        int64_t inner) {
  MX_CUDA_LOOP(k, ch) mx_cuda_store(r, &dg[k], leaky_prelu_gamma_grad(x, dy, outer, ch, inner, k));
}

extern "C" mx_status mx_op_leaky_relu_forward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  const leaky_relu_param *p = P(c->attrs);
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  leaky_relu_view(c->in[0], &outer, &ch, &inner);
  const float *x = mx_op_data(c->in[0]);
  float *mask = mx_op_data(c->out[1]);
  if (p->act_type == LEAKY_RRELU) {
    if (c->is_train) {
      st = mx_random_uniform(p->lower_bound, p->upper_bound, c->out[1]);
      if (st != MX_OK) return st;
    }
    MX_CUDA_LAUNCH(leaky_rrelu_mask_kernel, n, x, mask, c->is_train, (p->lower_bound + p->upper_bound) / 2.0f, n);
  }
  MX_CUDA_LAUNCH(leaky_fwd_kernel, n, *p, c->req[0], x, mx_op_data(c->out[0]), mask,
                 p->act_type == LEAKY_PRELU ? mx_op_data(c->in[1]) : NULL, ch, inner, n);
  return mx_cuda_op_status(c, "leaky_fwd_kernel");
}

extern "C" mx_status mx_op_leaky_relu_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  const leaky_relu_param *p = P(c->attrs);
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  leaky_relu_view(c->in[0], &outer, &ch, &inner);
  const float *x = mx_op_data(c->in[0]), *dy = mx_op_data(c->out_grad[0]);
  const float *gamma = p->act_type == LEAKY_PRELU ? mx_op_data(c->in[1]) : NULL;
  if (gamma && c->req[1] != MX_REQ_NULL)
    MX_CUDA_LAUNCH(prelu_gamma_grad_kernel, ch, c->req[1], x, dy, mx_op_data(c->in_grad[1]), outer, ch, inner);
  if (c->req[0] != MX_REQ_NULL)
    MX_CUDA_LAUNCH(leaky_bwd_kernel, n, *p, c->req[0], x, dy, mx_op_data(c->out[1]), gamma, ch, inner,
                   mx_op_data(c->in_grad[0]), n);
  return mx_cuda_op_status(c, "leaky_bwd_kernel");
}
