/* conv_geom.h: the geometry Convolution, Deconvolution and Pooling share (NCHW, 1-D kernels
 * as height 1), on the host and (a plain struct) in CUDA kernels; the typed parameters of
 * Convolution and Deconvolution and their checks; and im2col / col2im over one image (CPU). */
#ifndef MX_CONV_GEOM_H
#define MX_CONV_GEOM_H

#include <stdio.h>
#include <string.h>

#include "operator.h"

/* One side is the "image" (channels c, size h x w), the other the column grid
 * (oh x ow positions), as in a convolution from image to grid. */
typedef struct mx_conv_geom {
  int64_t c, h, w; /* image channels and size */
  int64_t oh, ow;  /* grid of kernel positions */
  int64_t kh, kw, sh, sw, dh, dw, ph, pw;
} mx_conv_geom;

/* Convolution's parameters (convolution.c), and Deconvolution's (deconvolution.c). */
typedef struct mx_conv_param {
  mx_shape kernel, stride, dilate, pad;
  int64_t num_filter, num_group, workspace;
  int no_bias, cudnn_off;
  const char *cudnn_tune, *layout;
} mx_conv_param;
typedef struct mx_deconv_param {
  mx_shape kernel, stride, dilate, pad, adj, target_shape;
  int64_t num_filter, num_group, workspace;
  int no_bias, cudnn_off;
  const char *cudnn_tune, *layout;
} mx_deconv_param;

/* Reads a 1-D or 2-D tuple parameter into (h, w); 1-D is (1, x). def when empty. */
static inline int mx_conv_pair(const mx_shape *v, int nd, int64_t def, int64_t *h, int64_t *w) {
  if (v->ndim == 0) {
    *h = nd == 1 ? (def == 0 ? 0 : 1) : def;
    *w = def;
    return 1;
  }
  if (v->ndim != nd) return 0;
  *h = nd == 1 ? (def == 0 ? 0 : 1) : v->dim[0];
  *w = v->dim[nd - 1];
  return 1;
}

/* Fills kernel, stride, dilate (NULL: none) and pad from the tuple parameters for a kernel
 * of nd (1 or 2) axes; fails with the operator's name on a bad tuple. */
static inline mx_status mx_conv_params(const mx_op_attrs *a, const mx_shape *k, const mx_shape *stride,
                                       const mx_shape *dilate, const mx_shape *pad, mx_conv_geom *g, int *nd_out) {
  int nd = k->ndim;
  if (nd < 1 || nd > 2)
    return mx_op_error(a, MX_ERR_ARG, "kernel must have 1 or 2 axes (got %d)", nd);
  g->kh = nd == 1 ? 1 : k->dim[0];
  g->kw = k->dim[nd - 1];
  g->dh = g->dw = 1;
  int ok = mx_conv_pair(stride, nd, 1, &g->sh, &g->sw) && (!dilate || mx_conv_pair(dilate, nd, 1, &g->dh, &g->dw)) &&
           mx_conv_pair(pad, nd, 0, &g->ph, &g->pw);
  if (!ok)
    return mx_op_error(a, MX_ERR_ARG, "stride, dilate and pad must have %d axes like kernel", nd);
  if (g->kh < 1 || g->kw < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->ph < 0 ||
      g->pw < 0)
    return mx_op_error(a, MX_ERR_ARG, "kernel, stride and dilate must be >= 1 and pad >= 0");
  *nd_out = nd;
  return MX_OK;
}


/* The checks Convolution and Deconvolution share: num_filter f >= 1 and a multiple of
 * num_group, the layout NCHW (NCW for a 1-D kernel), and data of shape d (when known) with
 * nd + 2 axes whose channels split into the groups. */
static inline mx_status mx_conv_check(const mx_op_attrs *a, int64_t f, int64_t grp, const char *layout, int nd,
                                      const mx_shape *d) {
  const char *want = nd == 1 ? "NCW" : "NCHW";
  if (f < 1 || grp < 1 || f % grp)
    return mx_op_error(a, MX_ERR_ARG,
                       "num_filter (%lld) must be >= 1 and a multiple of num_group (%lld)",
                       (long long)f, (long long)grp);
  if (layout && strcmp(layout, "None") && strcmp(layout, want))
    return mx_op_error(a, MX_ERR_ARG, "layout %s not supported (expected %s)", layout, want);
  if (!d || d->ndim == 0) return MX_OK;
  char b[96];
  if (d->ndim != nd + 2)
    return mx_op_error(a, MX_ERR_SHAPE, "data has shape %s, expected %d axes (batch, channel, %s)",
                       mx_shape_fmt(d, b, sizeof b), nd + 2, nd == 1 ? "width" : "height, width");
  if (d->dim[1] % grp)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "%lld input channels do not split into num_group=%lld groups",
                       (long long)d->dim[1], (long long)grp);
  return MX_OK;
}
/* The geometry of a kernel call, from the operator's geometry function (as at bind, where
 * it was checked) over the shape of `data`. */
static inline mx_conv_geom mx_conv_call_geometry(const mx_op_call *c, const mx_ndarray *data,
                                                 mx_status (*geometry)(const mx_op_attrs *a, const mx_shape *d,
                                                                       mx_conv_geom *g, int *nd)) {
  mx_conv_geom g;
  int nd;
  mx_shape d = {mx_ndarray_ndim(data), {0}};
  memcpy(d.dim, mx_ndarray_shape(data), (size_t)d.ndim * sizeof(int64_t));
  geometry(c->attrs, &d, &g, &nd);
  return g;
}

#ifdef __cplusplus
extern "C" {
#endif
/* A call's geometry, for the GPU launches (convolution.c, deconvolution.c). */
mx_conv_geom mx_op_convolution_geometry(const mx_op_call *c);
mx_conv_geom mx_op_deconvolution_geometry(const mx_op_call *c);
#ifdef __cplusplus
}
#endif

#ifndef __CUDACC__ /* ---- the CPU's im2col and col2im ---- */
/* col (c*kh*kw, oh*ow) from one image (c, h, w), rows ld floats apart (ld >= oh*ow: several
 * images side by side); zeros where the kernel reads padding. */
static inline void mx_im2col(const mx_conv_geom *g, const float *restrict img, float *restrict col,
                             int64_t ld) {
  int64_t p = ld;
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        float *row = col + ((ch * g->kh + ki) * g->kw + kj) * p;
        const float *plane = img + ch * g->h * g->w;
        for (int64_t y = 0; y < g->oh; y++) {
          int64_t iy = y * g->sh - g->ph + ki * g->dh;
          float *r = row + y * g->ow;
          if (iy < 0 || iy >= g->h) {
            for (int64_t x = 0; x < g->ow; x++) r[x] = 0.0f;
            continue;
          }
          const float *src = plane + iy * g->w;
          int64_t off = kj * g->dw - g->pw;
          if (g->sw == 1 && off >= 0 && off + g->ow <= g->w) {
            /* rows are short (LeNet: 24 and 8): fixed 8-float copies, inlined, instead of a memcpy
             * call */
            int64_t x = 0;
            for (; x + 8 <= g->ow; x += 8) memcpy(r + x, src + off + x, 8 * sizeof(float));
            for (; x < g->ow; x++) r[x] = src[off + x];
            continue;
          }
          for (int64_t x = 0; x < g->ow; x++) {
            int64_t ix = x * g->sw + off;
            r[x] = (ix >= 0 && ix < g->w) ? src[ix] : 0.0f;
          }
        }
      }
}

/* img (c, h, w) += the columns of col (c*kh*kw, oh*ow; rows ld floats apart) put back where
 * they came from. */
static inline void mx_col2im(const mx_conv_geom *g, const float *restrict col, float *restrict img,
                             int64_t ld) {
  int64_t p = ld;
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        const float *row = col + ((ch * g->kh + ki) * g->kw + kj) * p;
        float *plane = img + ch * g->h * g->w;
        for (int64_t y = 0; y < g->oh; y++) {
          int64_t iy = y * g->sh - g->ph + ki * g->dh;
          if (iy < 0 || iy >= g->h) continue;
          const float *r = row + y * g->ow;
          float *dst = plane + iy * g->w;
          int64_t off = kj * g->dw - g->pw;
          for (int64_t x = 0; x < g->ow; x++) {
            int64_t ix = x * g->sw + off;
            if (ix >= 0 && ix < g->w) dst[ix] += r[x];
          }
        }
      }
}

#endif /* __CUDACC__ */

#endif
