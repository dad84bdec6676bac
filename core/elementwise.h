/* elementwise.h: the element-wise math, written once as static inline functions
 * shared by the CPU kernels (kernels_cpu.c), the operators (core/ops/) and, when
 * compiled by nvcc, CUDA kernels (MX_HOSTDEV marks them __host__ __device__). */
#ifndef MX_ELEMENTWISE_H
#define MX_ELEMENTWISE_H

#include <math.h>

#include "mx.h"

#ifdef __CUDACC__
#define MX_HOSTDEV __host__ __device__
#else
#define MX_HOSTDEV
#endif

/* ---- forward functions, one per mx_unary_op ---- */
MX_HOSTDEV static inline float mx_ew_copy(float x) { return x; }
MX_HOSTDEV static inline float mx_ew_neg(float x) { return -x; }
MX_HOSTDEV static inline float mx_ew_exp(float x) { return expf(x); }
MX_HOSTDEV static inline float mx_ew_log(float x) { return logf(x); }
MX_HOSTDEV static inline float mx_ew_sqrt(float x) { return sqrtf(x); }
MX_HOSTDEV static inline float mx_ew_abs(float x) { return fabsf(x); }
MX_HOSTDEV static inline float mx_ew_square(float x) { return x * x; }
/* relu is max(x, 0): NaN kept, as maximum(NaN, 0) */
/* NaN kept; written without || (a short-circuit branch that mispredicted on half the elements:
 * 17% of the executor's MLP step on one thread; as selects it takes a few percent) */
MX_HOSTDEV static inline float mx_ew_relu(float x) { return x != x ? x : (x > 0.0f ? x : 0.0f); }
MX_HOSTDEV static inline float mx_ew_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
/* tanh: a rational approximation (Eigen's generic_fast_tanh_float: odd 13th / even 6th
 * degree; within 4e-7 of tanh, NaN kept, +-1 beyond 9), ~4x faster than glibc's tanhf, which
 * LeNet's Activation layers spent about a quarter of a training step in. The GPU runs the
 * same one: with the device's tanhf, 1 - y^2 (the gradient) differed from the CPU's by 3e-5
 * relative near |y| = 1 (found by the emulated GPU, tests/cuda_emu). */
MX_HOSTDEV static inline float mx_ew_tanh(float x) {
  /* the small and large ends as selects at the end, not early returns: no branch per element
   * (GCC 12 at -O2 keeps this loop scalar either way) */
  const float c = 7.90531110763549805f;
  float v = x > c ? c : (x < -c ? -c : x), v2 = v * v;
  float p = -2.76076847742355e-16f;
  p = p * v2 + 2.00018790482477e-13f;
  p = p * v2 - 8.60467152213735e-11f;
  p = p * v2 + 5.12229709037114e-08f;
  p = p * v2 + 1.48572235717979e-05f;
  p = p * v2 + 6.37261928875436e-04f;
  p = p * v2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * v2 + 1.18534705686654e-04f;
  q = q * v2 + 2.26843463243900e-03f;
  q = q * v2 + 4.89352518554385e-03f;
  float r = v * p / q;
  r = fabsf(x) > 9.0f ? (x > 0.0f ? 1.0f : -1.0f) : r;
  return fabsf(x) < 0.0004f ? x : r;
}
/* log(1 + e^x), without overflow for large x */
MX_HOSTDEV static inline float mx_ew_softrelu(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
MX_HOSTDEV static inline float mx_ew_softsign(float x) { return x / (1.0f + fabsf(x)); }
/* log(sigmoid(x)) without overflow on either side */
MX_HOSTDEV static inline float mx_ew_log_sigmoid(float x) {
  return x >= 0.0f ? -log1pf(expf(-x)) : x - log1pf(expf(x));
}
/* sign, max and min keep NaN, as numpy: sign(NaN), maximum(NaN, 1) and maximum(1, NaN) are NaN
 * (so are the max() and min() reductions built on them) */
MX_HOSTDEV static inline float mx_ew_sign(float x) {
  return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : (x == 0.0f ? 0.0f : x));
}
MX_HOSTDEV static inline float mx_ew_reciprocal(float x) { return 1.0f / x; }

/* ---- derivatives for backward kernels: dy/dx given the input x and/or the
 * output y (whichever is cheaper); multiply by the incoming gradient ---- */
MX_HOSTDEV static inline float mx_ew_relu_grad(float x) { return x > 0.0f ? 1.0f : 0.0f; }
MX_HOSTDEV static inline float mx_ew_sigmoid_grad_y(float y) { return y * (1.0f - y); }
MX_HOSTDEV static inline float mx_ew_tanh_grad_y(float y) { return 1.0f - y * y; }
MX_HOSTDEV static inline float mx_ew_softsign_grad_y(float y) { return (1.0f - fabsf(y)) * (1.0f - fabsf(y)); }
MX_HOSTDEV static inline float mx_ew_log_sigmoid_grad_y(float y) { return 1.0f - expf(y); }
MX_HOSTDEV static inline float mx_ew_softrelu_grad(float x) { return mx_ew_sigmoid(x); }
MX_HOSTDEV static inline float mx_ew_exp_grad_y(float y) { return y; }
MX_HOSTDEV static inline float mx_ew_log_grad(float x) { return 1.0f / x; }
MX_HOSTDEV static inline float mx_ew_sqrt_grad_y(float y) { return 0.5f / y; }
MX_HOSTDEV static inline float mx_ew_abs_grad(float x) { return mx_ew_sign(x); }
MX_HOSTDEV static inline float mx_ew_square_grad(float x) { return 2.0f * x; }

/* ---- binary functions, one per mx_binary_op ---- */
MX_HOSTDEV static inline float mx_ew_add(float a, float b) { return a + b; }
MX_HOSTDEV static inline float mx_ew_sub(float a, float b) { return a - b; }
MX_HOSTDEV static inline float mx_ew_mul(float a, float b) { return a * b; }
MX_HOSTDEV static inline float mx_ew_div(float a, float b) { return a / b; }
/* max and min (element-wise and the reductions): NaN wherever either side is NaN, whatever the
 * order (a's first), else the larger (smaller). Written as a NaN test and then a compare, not as
 * one `(a > b || a != a)`: GCC compiled that `||` to a branch in scalar loops (max pooling),
 * which unordered data mispredicts half the time (3.5x slower); this form is branch-free there
 * and still vectorizes in the reductions. */
MX_HOSTDEV static inline float mx_ew_max(float a, float b) { return a != a ? a : (a > b ? a : b); }
MX_HOSTDEV static inline float mx_ew_min(float a, float b) { return a != a ? a : (a < b ? a : b); }
MX_HOSTDEV static inline float mx_ew_pow(float a, float b) { return powf(a, b); }
MX_HOSTDEV static inline float mx_ew_rsub(float a, float b) { return b - a; }
MX_HOSTDEV static inline float mx_ew_rdiv(float a, float b) { return b / a; }
MX_HOSTDEV static inline float mx_ew_eq(float a, float b) { return a == b ? 1.0f : 0.0f; }
MX_HOSTDEV static inline float mx_ew_ne(float a, float b) { return a != b ? 1.0f : 0.0f; }
MX_HOSTDEV static inline float mx_ew_gt(float a, float b) { return a > b ? 1.0f : 0.0f; }
MX_HOSTDEV static inline float mx_ew_ge(float a, float b) { return a >= b ? 1.0f : 0.0f; }
MX_HOSTDEV static inline float mx_ew_lt(float a, float b) { return a < b ? 1.0f : 0.0f; }
MX_HOSTDEV static inline float mx_ew_le(float a, float b) { return a <= b ? 1.0f : 0.0f; }
MX_HOSTDEV static inline float mx_ew_clip(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* One op by its enum value (a switch per element: use in slow or generic
 * paths; hot loops switch once outside the loop, see kernels_cpu.c). */
MX_HOSTDEV static inline float mx_ew_unary(int op, float x) {
  switch (op) {
  case MX_UNARY_NEG: return mx_ew_neg(x);
  case MX_UNARY_EXP: return mx_ew_exp(x);
  case MX_UNARY_LOG: return mx_ew_log(x);
  case MX_UNARY_SQRT: return mx_ew_sqrt(x);
  case MX_UNARY_ABS: return mx_ew_abs(x);
  case MX_UNARY_SQUARE: return mx_ew_square(x);
  case MX_UNARY_RELU: return mx_ew_relu(x);
  case MX_UNARY_SIGMOID: return mx_ew_sigmoid(x);
  case MX_UNARY_TANH: return mx_ew_tanh(x);
  case MX_UNARY_SOFTRELU: return mx_ew_softrelu(x);
  case MX_UNARY_SIGN: return mx_ew_sign(x);
  case MX_UNARY_RECIPROCAL: return mx_ew_reciprocal(x);
  default: return x;
  }
}

MX_HOSTDEV static inline float mx_ew_binary(int op, float a, float b) {
  switch (op) {
  case MX_BINARY_ADD: return mx_ew_add(a, b);
  case MX_BINARY_SUB: return mx_ew_sub(a, b);
  case MX_BINARY_MUL: return mx_ew_mul(a, b);
  case MX_BINARY_DIV: return mx_ew_div(a, b);
  case MX_BINARY_MAX: return mx_ew_max(a, b);
  case MX_BINARY_MIN: return mx_ew_min(a, b);
  case MX_BINARY_POW: return mx_ew_pow(a, b);
  case MX_BINARY_RSUB: return mx_ew_rsub(a, b);
  case MX_BINARY_RDIV: return mx_ew_rdiv(a, b);
  case MX_BINARY_EQ: return mx_ew_eq(a, b);
  case MX_BINARY_NE: return mx_ew_ne(a, b);
  case MX_BINARY_GT: return mx_ew_gt(a, b);
  case MX_BINARY_GE: return mx_ew_ge(a, b);
  case MX_BINARY_LT: return mx_ew_lt(a, b);
  case MX_BINARY_LE: return mx_ew_le(a, b);
  default: return a;
  }
}

#endif
