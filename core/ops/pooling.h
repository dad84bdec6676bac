/* pooling.h: Pooling's parameters and its per-window math (the window, its reduction, where
 * max routes the gradient, avg's divisor), written once for the CPU loops (pooling.c) and
 * the CUDA kernels (pooling.cu). */
#ifndef MX_OPS_POOLING_H
#define MX_OPS_POOLING_H

#include <float.h>

#include "conv_geom.h"
#include "elementwise.h" /* MX_HOSTDEV */

typedef struct pooling_param {
  mx_shape kernel;
  int pool_type;
  mx_shape stride, pad;
  int global_pool, pooling_convention, cudnn_off;
  int64_t p_value;
  int count_include_pad;
  const char *layout;
} pooling_param;
enum { POOL_MAX, POOL_AVG, POOL_SUM, POOL_LP, POOL_AVG_VALID /* avg without the padding: see pooling_kind */ };
enum { POOL_VALID, POOL_FULL, POOL_SAME }; /* pooling_convention's choices */

/* The reduction the kernels run: avg without padding is its own kind. */
static inline int pooling_kind(const pooling_param *p) {
  return p->pool_type == POOL_AVG && !p->count_include_pad ? POOL_AVG_VALID : p->pool_type;
}

/* The window of output (y, x): rows [*y0, *y1), columns [*x0, *x1) of the data; returns the
 * window clipped to the padded data (avg's divisor). */
MX_HOSTDEV static inline int64_t pool_window(const mx_conv_geom *g, int64_t y, int64_t x, int64_t *y0, int64_t *y1,
                                             int64_t *x0, int64_t *x1) {
  int64_t hs = y * g->sh - g->ph, ws = x * g->sw - g->pw;
  int64_t he = hs + g->kh, we = ws + g->kw;
  int64_t area = ((he < g->h + g->ph ? he : g->h + g->ph) - hs) * ((we < g->w + g->pw ? we : g->w + g->pw) - ws);
  *y0 = hs < 0 ? 0 : hs;
  *x0 = ws < 0 ? 0 : ws;
  *y1 = he > g->h ? g->h : he;
  *x1 = we > g->w ? g->w : we;
  return area;
}

/* What a sum over the window is divided by: avg by the padded window, avg_valid by the data
 * inside it, sum by 1. */
MX_HOSTDEV static inline float pool_divisor(int kind, int64_t area, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
  if (kind == POOL_AVG) return (float)area;
  if (kind == POOL_AVG_VALID) return (float)((y1 - y0) * (x1 - x0));
  return 1.0f;
}

/* Output (oy, ox) of one plane `src` (h x w). */
MX_HOSTDEV static inline float pool_forward(const mx_conv_geom *g, int kind, const float *src, int64_t oy, int64_t ox) {
  int64_t y0, y1, x0, x1, area = pool_window(g, oy, ox, &y0, &y1, &x0, &x1);
  if (kind == POOL_MAX) {
    float v = -FLT_MAX;
    for (int64_t i = y0; i < y1; i++)
      for (int64_t j = x0; j < x1; j++) v = mx_ew_max(src[i * g->w + j], v); /* NaN kept, as max() */
    return v;
  }
  float v = 0.0f;
  for (int64_t i = y0; i < y1; i++)
    for (int64_t j = x0; j < x1; j++) v += src[i * g->w + j];
  return v / pool_divisor(kind, area, y0, y1, x0, x1);
}

/* max: the element of the window (oy, ox) its gradient goes to, the first largest or the first
 * NaN (i * w + j in the plane), -1 for an empty window. */
MX_HOSTDEV static inline int64_t pool_argmax(const mx_conv_geom *g, const float *src, int64_t oy, int64_t ox) {
  int64_t y0, y1, x0, x1, best = -1;
  pool_window(g, oy, ox, &y0, &y1, &x0, &x1);
  float v = -FLT_MAX;
  for (int64_t i = y0; i < y1; i++)
    for (int64_t j = x0; j < x1; j++)
      if (best < 0 || (v == v && mx_ew_max(src[i * g->w + j], v) != v)) {
        v = src[i * g->w + j];
        best = i * g->w + j;
      }
  return best;
}

/* avg and sum: the share of the output gradient d that each element of window (oy, ox) gets. */
MX_HOSTDEV static inline float pool_share(const mx_conv_geom *g, int kind, float d, int64_t oy, int64_t ox) {
  int64_t y0, y1, x0, x1, area = pool_window(g, oy, ox, &y0, &y1, &x0, &x1);
  return d / pool_divisor(kind, area, y0, y1, x0, x1);
}

#ifdef __cplusplus
extern "C" {
#endif
/* A call's geometry, for the GPU launches (pooling.c). */
mx_conv_geom mx_op_pooling_geometry(const mx_op_call *c);
#ifdef __cplusplus
}
#endif

#endif
