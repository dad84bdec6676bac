// elemwise.cu: the element-wise symbol operators' launches on a GPU (_Plus, _Minus, _Mul,
// _Div between two arrays of one shape and the six scalar forms), forward and backward,
// one thread per element; the math is elemwise.h's, as on the CPU.
#include "cuda_util.h" /* first: the CUDA runtime, then the shared bodies */

#include "elemwise.h"

__global__ void binary_fwd_kernel(int kind, mx_req r, const float *a, const float *b, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(r, &y[i], elemwise_fwd(kind, a[i], b[i]));
}

// the gradient of one side (0: lhs, 1: rhs) times dy
__global__ void binary_bwd_kernel(int kind, int side, mx_req r, const float *dy, const float *a, const float *b,
                                  float *g, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(r, &g[i], elemwise_bwd(kind, side, dy[i], a ? a[i] : 0.0f, b ? b[i] : 0.0f));
}

__global__ void scalar_fwd_kernel(int kind, mx_req r, const float *x, float s, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(r, &y[i], elemwise_fwd(kind, x[i], s));
}

__global__ void scalar_bwd_kernel(int kind, mx_req r, const float *dy, const float *x, float s, float *g, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(r, &g[i], elemwise_scalar_bwd(kind, dy[i], x ? x[i] : 0.0f, s));
}

static mx_status binary_fwd(const mx_op_call *c, int kind) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->out[0]);
  MX_CUDA_LAUNCH(binary_fwd_kernel, n, kind, c->req[0], mx_op_data(c->in[0]), mx_op_data(c->in[1]),
                 mx_op_data(c->out[0]), n);
  return mx_cuda_op_status(c, "binary_fwd_kernel");
}

// the two gradients may be one buffer (a + a): one side's kernel runs after the other's
static mx_status binary_bwd(const mx_op_call *c, int kind) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->out_grad[0]);
  const float *a = kind >= EW_MUL ? mx_op_data(c->in[0]) : NULL, *b = kind >= EW_MUL ? mx_op_data(c->in[1]) : NULL;
  for (int side = 0; side < 2; side++) {
    if (c->req[side] == MX_REQ_NULL) continue;
    MX_CUDA_LAUNCH(binary_bwd_kernel, n, kind, side, c->req[side], mx_op_data(c->out_grad[0]), a, b,
                   mx_op_data(c->in_grad[side]), n);
  }
  return mx_cuda_op_status(c, "binary_bwd_kernel");
}

static mx_status scalar_fwd(const mx_op_call *c, int kind) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->out[0]);
  MX_CUDA_LAUNCH(scalar_fwd_kernel, n, kind, c->req[0], mx_op_data(c->in[0]),
                 MX_PARAMS(elemwise_scalar_param, c->attrs)->scalar, mx_op_data(c->out[0]), n);
  return mx_cuda_op_status(c, "scalar_fwd_kernel");
}

static mx_status scalar_bwd(const mx_op_call *c, int kind) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->out_grad[0]);
  const float *x = kind == EW_RDIV ? mx_op_data(c->in[0]) : NULL;
  MX_CUDA_LAUNCH(scalar_bwd_kernel, n, kind, c->req[0], mx_op_data(c->out_grad[0]), x,
                 MX_PARAMS(elemwise_scalar_param, c->attrs)->scalar, mx_op_data(c->in_grad[0]), n);
  return mx_cuda_op_status(c, "scalar_bwd_kernel");
}

#define GPU_OP(var, fwd, bwd, kind)                                                                                    \
  extern "C" mx_status mx_op_##var##_forward_gpu(const mx_op_call *c) {                                                \
    return fwd(c, kind);                                                                                               \
  }                                                                                                                    \
  extern "C" mx_status mx_op_##var##_backward_gpu(const mx_op_call *c) {                                               \
    return bwd(c, kind);                                                                                               \
  }

GPU_OP(plus, binary_fwd, binary_bwd, EW_ADD)
GPU_OP(minus, binary_fwd, binary_bwd, EW_SUB)
GPU_OP(mul, binary_fwd, binary_bwd, EW_MUL)
GPU_OP(div, binary_fwd, binary_bwd, EW_DIV)
GPU_OP(plus_scalar, scalar_fwd, scalar_bwd, EW_ADD)
GPU_OP(minus_scalar, scalar_fwd, scalar_bwd, EW_SUB)
GPU_OP(rminus_scalar, scalar_fwd, scalar_bwd, EW_RSUB)
GPU_OP(mul_scalar, scalar_fwd, scalar_bwd, EW_MUL)
GPU_OP(div_scalar, scalar_fwd, scalar_bwd, EW_DIV)
GPU_OP(rdiv_scalar, scalar_fwd, scalar_bwd, EW_RDIV)
