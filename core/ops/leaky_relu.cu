// leaky_relu.cu: LeakyReLU on a GPU (leaky, elu, prelu, rrelu), as leaky_relu.c: a
// thread per element; prelu's gamma gradient a thread per channel summing in the
// CPU's order; rrelu's slopes from the Philox stream (the CPU's for one seed).
#include <math.h>

#include "cuda_util.h"

enum { P_ACT_TYPE, P_SLOPE, P_LOWER, P_UPPER }; // leaky_relu.c's parameters
enum { ELU, LEAKY, PRELU, RRELU };              // and act_type's choices

// data as (outer, ch, inner) around axis 1 (prelu's channels)
static void view(const mx_ndarray *x, int64_t *outer, int64_t *ch, int64_t *inner) {
  int nd = mx_ndarray_ndim(x);
  const int64_t *s = mx_ndarray_shape(x);
  *outer = nd > 0 ? s[0] : 1;
  *ch = nd > 1 ? s[1] : 1;
  *inner = 1;
  for (int i = 2; i < nd; i++) *inner *= s[i];
}

__global__ void leaky_fwd_kernel(int type, mx_req r, const float *x, float *y, float *mask, const float *gamma,
                                 float slope, int64_t ch, int64_t inner, int64_t n) {
  MX_CUDA_LOOP(i, n) {
    float v = x[i], out;
    switch (type) {
    case ELU: out = v > 0.0f ? v : slope * expm1f(v); break;
    case LEAKY: out = v > 0.0f ? v : slope * v; break;
    case PRELU: out = v > 0.0f ? v : gamma[i / inner % ch] * v; break;
    default: // rrelu: mask holds the factor (drawn, or the mean slope)
      if (v > 0.0f) mask[i] = 1.0f;
      out = v * mask[i];
      break;
    }
    mx_cuda_store(r, &y[i], out);
  }
}

__global__ void leaky_fill_kernel(float *mask, float v, int64_t n) {
  MX_CUDA_LOOP(i, n) mask[i] = v;
}

__global__ void leaky_bwd_kernel(int type, mx_req r, const float *x, const float *dy, const float *mask,
                                 const float *gamma, float slope, int64_t ch, int64_t inner, float *dx, int64_t n) {
  MX_CUDA_LOOP(i, n) {
    float v = x[i], f;
    switch (type) {
    case ELU: f = v > 0.0f ? 1.0f : slope * expf(v); break;
    case LEAKY: f = v > 0.0f ? 1.0f : slope; break;
    case PRELU: f = v > 0.0f ? 1.0f : gamma[i / inner % ch]; break;
    default: f = mask[i]; break;
    }
    mx_cuda_store(r, &dx[i], type == PRELU ? (v > 0.0f ? dy[i] : gamma[i / inner % ch] * dy[i]) : dy[i] * f);
  }
}

// dgamma[k] = sum of dy * x where x <= 0, over channel k, in double as the CPU
__global__ void prelu_gamma_grad_kernel(mx_req r, const float *x, const float *dy, float *dg, int64_t outer,
                                        int64_t ch, int64_t inner) {
  MX_CUDA_LOOP(k, ch) {
    double s = 0;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0, base = (o * ch + k) * inner; i < inner; i++) {
        float v = x[base + i], d = dy[base + i];
        if (v <= 0.0f) s += d * v;
      }
    mx_cuda_store(r, &dg[k], (float)s);
  }
}

extern "C" mx_status mx_op_leaky_relu_forward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int type = (int)MX_PINT(c->attrs, P_ACT_TYPE);
  float lo = MX_PFLOAT(c->attrs, P_LOWER), hi = MX_PFLOAT(c->attrs, P_UPPER);
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  view(c->in[0], &outer, &ch, &inner);
  float *mask = mx_op_data(c->out[1]);
  if (type == RRELU) {
    if (c->is_train) {
      st = mx_random_uniform(lo, hi, c->out[1]);
      if (st != MX_OK) return st;
    } else {
      MX_CUDA_LAUNCH(leaky_fill_kernel, n, mask, (lo + hi) / 2.0f, n);
    }
  }
  MX_CUDA_LAUNCH(leaky_fwd_kernel, n, type, c->req[0], mx_op_data(c->in[0]), mx_op_data(c->out[0]), mask,
                 type == PRELU ? mx_op_data(c->in[1]) : NULL, MX_PFLOAT(c->attrs, P_SLOPE), ch, inner, n);
  return mx_cuda_launch_status("LeakyReLU", "leaky_fwd_kernel");
}

extern "C" mx_status mx_op_leaky_relu_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int type = (int)MX_PINT(c->attrs, P_ACT_TYPE);
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  view(c->in[0], &outer, &ch, &inner);
  const float *x = mx_op_data(c->in[0]), *dy = mx_op_data(c->out_grad[0]);
  const float *gamma = type == PRELU ? mx_op_data(c->in[1]) : NULL;
  if (type == PRELU && c->req[1] != MX_REQ_NULL)
    MX_CUDA_LAUNCH(prelu_gamma_grad_kernel, ch, c->req[1], x, dy, mx_op_data(c->in_grad[1]), outer, ch, inner);
  if (c->req[0] != MX_REQ_NULL)
    MX_CUDA_LAUNCH(leaky_bwd_kernel, n, type, c->req[0], x, dy, mx_op_data(c->out[1]), gamma,
                   MX_PFLOAT(c->attrs, P_SLOPE), ch, inner, mx_op_data(c->in_grad[0]), n);
  return mx_cuda_launch_status("LeakyReLU", "leaky_bwd_kernel");
}
