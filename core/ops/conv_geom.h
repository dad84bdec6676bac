/* conv_geom.h: what Convolution, Deconvolution and Pooling share about their geometry
 * (mx_conv_geom, kernels.h: NCHW, 1-D kernels as height 1): the typed parameters of
 * Convolution and Deconvolution and their checks, a call's geometry, and (host only) the
 * bias gradient of the two convolutions. */
#ifndef MX_CONV_GEOM_H
#define MX_CONV_GEOM_H

#include <stdio.h>
#include <string.h>

#include "kernels.h"
#include "operator.h"

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

#ifndef __CUDACC__ /* ---- what the operators' one (device-generic) body shares ---- */
#include "table_op.h"

/* db (f) = (or +=, by r) the sums of dy (n, f, p) over the samples and positions: per
 * (sample, channel) row, then down the samples. ws: n*f + f floats. */
static inline void mx_conv_bias_grad(const mx_kernels *k, mx_req r, const float *dy, float *db, int64_t n,
                                     int64_t f, int64_t p, float *ws) {
  float *t = r == MX_REQ_ADD ? ws + n * f : db;
  k->reduce(MX_REDUCE_SUM, dy, ws, n * f, p, 1);
  k->reduce(MX_REDUCE_SUM, ws, t, 1, n, f);
  mx_table_finish(k, r, db, t, f);
}

/* A workspace of `cols` floats (the columns), for a backward at least mx_conv_bias_grad's
 * over data of shape d (n samples) with f channels out. */
static inline int64_t mx_conv_workspace(const mx_shape *d, int64_t f, int64_t cols, int backward) {
  int64_t bias = backward ? (d->dim[0] + 1) * f : 0;
  return cols > bias ? cols : bias;
}
#endif /* __CUDACC__ */

#endif
