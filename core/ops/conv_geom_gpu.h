/* conv_geom_gpu.h: the window geometry of Convolution and Pooling for their GPU
 * kernels (convolution.cu, pooling.cu): sizes from the call's arrays, kernel,
 * stride, dilate and pad from its 1-D or 2-D tuple parameters (checked at bind by
 * the operators' shape inference). NCHW, or NCW seen as height 1. */
#ifndef MX_CONV_GEOM_GPU_H
#define MX_CONV_GEOM_GPU_H

#ifdef __cplusplus
extern "C" {
#endif
#include "operator.h"
#ifdef __cplusplus
}
#endif

typedef struct mx_gpu_geom {
  int64_t c, h, w;  /* image channels and size */
  int64_t oh, ow;   /* output positions */
  int64_t kh, kw, sh, sw, dh, dw, ph, pw;
} mx_gpu_geom;

/* (h, w) of a tuple parameter for nd spatial axes; `def` on each axis when empty
 * (a 1-D tuple's h is 1, or 0 for padding). */
static inline void mx_gpu_geom_pair(const mx_param_value *v, int nd, int64_t def, int64_t *h, int64_t *w) {
  *h = nd == 1 ? (def == 0 ? 0 : 1) : (v->ndim ? v->shape[0] : def);
  *w = v->ndim ? v->shape[v->ndim - 1] : def;
}

/* Sizes from in[0] (n, c, [h,] w) and out[0] (n, f, [oh,] ow); the window from the
 * parameters at indices pk, ps, pd, pp (pd < 0: no dilation). */
static inline mx_gpu_geom mx_gpu_geom_of(const mx_op_call *c, int pk, int ps, int pd, int pp) {
  mx_gpu_geom g;
  const int64_t *x = mx_ndarray_shape(c->in[0]), *y = mx_ndarray_shape(c->out[0]);
  int n = mx_ndarray_ndim(c->in[0]), nd = n - 2;
  g.c = x[1];
  g.h = nd == 1 ? 1 : x[2];
  g.w = x[n - 1];
  g.oh = nd == 1 ? 1 : y[2];
  g.ow = y[n - 1];
  mx_gpu_geom_pair(&c->attrs->p[pk], nd, 1, &g.kh, &g.kw);
  mx_gpu_geom_pair(&c->attrs->p[ps], nd, 1, &g.sh, &g.sw);
  g.dh = g.dw = 1;
  if (pd >= 0) mx_gpu_geom_pair(&c->attrs->p[pd], nd, 1, &g.dh, &g.dw);
  mx_gpu_geom_pair(&c->attrs->p[pp], nd, 0, &g.ph, &g.pw);
  return g;
}

#endif
