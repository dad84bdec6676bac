/* leaky_relu.h: LeakyReLU's parameters and its per-element math, written once for the CPU
 * loops (leaky_relu.c) and the CUDA kernels (leaky_relu.cu). */
#ifndef MX_OPS_LEAKY_RELU_H
#define MX_OPS_LEAKY_RELU_H

#include "elementwise.h" /* MX_HOSTDEV */

typedef struct leaky_relu_param {
  int act_type;
  float slope, lower_bound, upper_bound;
} leaky_relu_param;
enum { LEAKY_ELU, LEAKY_LEAKY, LEAKY_PRELU, LEAKY_RRELU, LEAKY_GELU, LEAKY_SELU }; /* act_type's choices */

/* y of x; g is prelu's gamma of x's channel, m rrelu's factor (mask) of x. */
MX_HOSTDEV static inline float leaky_relu_fwd(int type, float x, float slope, float g, float m) {
  if (x > 0.0f) return x;
  switch (type) {
  case LEAKY_ELU: return slope * expm1f(x);
  case LEAKY_LEAKY: return slope * x;
  case LEAKY_PRELU: return g * x;
  default: return x * m;
  }
}

/* dx of dy at x (as leaky_relu_fwd). */
MX_HOSTDEV static inline float leaky_relu_bwd(int type, float x, float dy, float slope, float g, float m) {
  switch (type) {
  case LEAKY_ELU: return dy * (x > 0.0f ? 1.0f : slope * expf(x));
  case LEAKY_LEAKY: return dy * (x > 0.0f ? 1.0f : slope);
  case LEAKY_PRELU: return x > 0.0f ? dy : g * dy;
  default: return dy * m;
  }
}

/* rrelu's factor after the draw (or the mean slope) m: 1 where x > 0. */
MX_HOSTDEV static inline float leaky_rrelu_mask(float x, float m) {
  return x > 0.0f ? 1.0f : m;
}

/* prelu's gamma gradient of channel k: the sum of dy * x where x <= 0, over data seen as
 * (outer, ch, inner), in double and in this order on both devices. */
MX_HOSTDEV static inline float leaky_prelu_gamma_grad(const float *x, const float *dy, int64_t outer, int64_t ch,
                                                      int64_t inner, int64_t k) {
  double s = 0;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0, base = (o * ch + k) * inner; i < inner; i++) {
      float v = x[base + i], d = dy[base + i];
      if (v <= 0.0f) s += d * v;
    }
  return (float)s;
}

/* data as (outer, ch, inner) around axis 1 (prelu's channels); host code. */
static inline void leaky_relu_view(const mx_ndarray *x, int64_t *outer, int64_t *ch, int64_t *inner) {
  int nd = mx_ndarray_ndim(x);
  const int64_t *s = mx_ndarray_shape(x);
  *outer = nd > 0 ? s[0] : 1;
  *ch = nd > 1 ? s[1] : 1;
  *inner = 1;
  for (int i = 2; i < nd; i++) *inner *= s[i];
}

#endif
