/* pooling.c: Pooling (max, avg, sum) over NCHW (or NCW) data with kernel, stride, pad,
 * global_pool and the valid (floor) / full (ceil) output conventions. avg divides by the
 * window clipped to the padded data (MXNet counts padding), or with count_include_pad
 * False by the data inside the window. lp pooling, 'same' and NHWC layouts are refused. */
#include "pooling.h"

#define P(a) MX_PARAMS(pooling_param, a)
static const mx_param_desc params[] = {
    MX_PARAM(pooling_param, kernel, MX_PARAM_SHAPE, "()", NULL,
             "window size (h, w) or (w); required unless global_pool"),
    MX_PARAM(pooling_param, pool_type, MX_PARAM_ENUM, "max", "max|avg|sum|lp", "the reduction (lp is refused)"),
    MX_PARAM(pooling_param, stride, MX_PARAM_SHAPE, "()", NULL, "stride, default 1 on each axis"),
    MX_PARAM(pooling_param, pad, MX_PARAM_SHAPE, "()", NULL, "padding on both sides, default 0"),
    MX_PARAM(pooling_param, global_pool, MX_PARAM_BOOL, "False", NULL,
             "pool over the whole image (kernel, stride and pad ignored)"),
    MX_PARAM(pooling_param, pooling_convention, MX_PARAM_ENUM, "valid", "valid|full|same",
             "output size by floor (valid) or ceil (full); same is refused"),
    MX_PARAM(pooling_param, cudnn_off, MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"),
    MX_PARAM(pooling_param, p_value, MX_PARAM_INT, "0", NULL, "the power of lp pooling (accepted, lp is refused)"),
    MX_PARAM(pooling_param, count_include_pad, MX_PARAM_BOOL, "True", NULL,
             "avg divides by the whole window, padding included (False: only the data inside)"),
    MX_PARAM(pooling_param, layout, MX_PARAM_STRING, "None", NULL, "NCHW (or NCW) only"),
};

/* What mxlua cannot honour, refused naming the node. */
static mx_status check_supported(const mx_op_attrs *a, int nd) {
  const char *layout = P(a)->layout;
  const char *want = nd == 1 ? "NCW" : "NCHW";
  if (P(a)->pool_type == POOL_LP)
    return mx_op_error(a, MX_ERR_ARG, "pool_type lp is not supported");
  if (P(a)->pooling_convention == POOL_SAME)
    return mx_op_error(a, MX_ERR_ARG, "pooling_convention same is not supported");
  if (layout && strcmp(layout, "None") && strcmp(layout, want))
    return mx_op_error(a, MX_ERR_ARG, "layout %s not supported (expected %s)", layout, want);
  return MX_OK;
}

static mx_status geometry(const mx_op_attrs *a, const mx_shape *d, mx_conv_geom *g, int *nd) {
  int global = P(a)->global_pool;
  if (global) {
    *nd = d && d->ndim == 3 ? 1 : 2;
    g->sh = g->sw = g->dh = g->dw = 1;
    g->ph = g->pw = 0;
  } else {
    if (P(a)->kernel.ndim == 0)
      return mx_op_error(a, MX_ERR_ARG, "kernel is required unless global_pool");
    mx_status st = mx_conv_params(a, &P(a)->kernel, &P(a)->stride, NULL, &P(a)->pad, g, nd);
    if (st != MX_OK) return st;
  }
  mx_status st = check_supported(a, *nd);
  if (st != MX_OK) return st;
  if (!d || d->ndim == 0) return MX_OK;
  char b[96];
  if (d->ndim != *nd + 2)
    return mx_op_error(a, MX_ERR_SHAPE, "data has shape %s, expected %d axes",
                       mx_shape_fmt(d, b, sizeof b), *nd + 2);
  g->c = d->dim[1];
  g->h = *nd == 1 ? 1 : d->dim[2];
  g->w = d->dim[d->ndim - 1];
  if (global) {
    g->kh = g->h;
    g->kw = g->w;
  }
  if (g->h + 2 * g->ph < g->kh || g->w + 2 * g->pw < g->kw)
    return mx_op_error(a, MX_ERR_SHAPE, "kernel (%lld,%lld) larger than the padded data %s",
                       (long long)g->kh, (long long)g->kw, mx_shape_fmt(d, b, sizeof b));
  int full = P(a)->pooling_convention == POOL_FULL;
  int64_t rh = g->h + 2 * g->ph - g->kh, rw = g->w + 2 * g->pw - g->kw;
  g->oh = (full ? (rh + g->sh - 1) / g->sh : rh / g->sh) + 1;
  g->ow = (full ? (rw + g->sw - 1) / g->sw : rw / g->sw) + 1;
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout, mx_shape *aux, int naux) {
  mx_conv_geom g;
  int nd;
  mx_status st = geometry(a, &in[0], &g, &nd);
  if (st != MX_OK || in[0].ndim == 0) return st;
  mx_shape o = in[0];
  if (nd == 2) o.dim[2] = g.oh;
  o.dim[o.ndim - 1] = g.ow;
  return mx_shape_fill(a, "output", &out[0], &o);
}

mx_conv_geom mx_op_pooling_geometry(const mx_op_call *c) {
  return mx_conv_call_geometry(c, c->in[0], geometry);
}

/* Max pooling 2x2, stride 2, no padding, every window inside the data (LeNet's, most CNNs'):
 * the window's four elements read directly instead of the general window loops, in the order
 * pool_forward and pool_argmax take them, so with the same results (the general path was a
 * seventh of LeNet's one-thread training step). */
static int max_2x2(const mx_conv_geom *g, int kind) {
  return kind == POOL_MAX && g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0 &&
         2 * g->oh <= g->h && 2 * g->ow <= g->w;
}

static void max_2x2_forward(const mx_conv_geom *g, mx_req r, const float *src, float *out) {
  for (int64_t oy = 0; oy < g->oh; oy++) {
    const float *a = src + 2 * oy * g->w, *b = a + g->w;
    for (int64_t ox = 0; ox < g->ow; ox++) {
      float v = mx_ew_max(a[2 * ox], -FLT_MAX);
      v = mx_ew_max(a[2 * ox + 1], v);
      v = mx_ew_max(b[2 * ox], v);
      mx_req_store(r, &out[oy * g->ow + ox], mx_ew_max(b[2 * ox + 1], v));
    }
  }
}

/* where pool_argmax routes: the first, then each later one that is NaN or larger, until a NaN */
static inline int takes(float e, float v) { return v == v && mx_ew_max(e, v) != v; }

static void max_2x2_backward(const mx_conv_geom *g, const float *src, const float *gy, float *gx) {
  for (int64_t oy = 0; oy < g->oh; oy++) {
    int64_t row = 2 * oy * g->w;
    for (int64_t ox = 0; ox < g->ow; ox++) {
      int64_t at[4] = {row + 2 * ox, row + 2 * ox + 1, row + g->w + 2 * ox, row + g->w + 2 * ox + 1}, best = at[0];
      float v = src[best];
      for (int k = 1; k < 4; k++)
        if (takes(src[at[k]], v)) v = src[at[k]], best = at[k];
      gx[best] += gy[oy * g->ow + ox];
    }
  }
}

static mx_status forward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_conv_geom g = mx_op_pooling_geometry(c);
  int kind = pooling_kind(P(c->attrs));
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  const float *x = mx_op_data(c->in[0]);
  float *out = mx_op_data(c->out[0]);
  if (max_2x2(&g, kind)) {
    for (int64_t pl = 0; pl < planes; pl++) max_2x2_forward(&g, r, x + pl * g.h * g.w, out + pl * g.oh * g.ow);
    return MX_OK;
  }
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++)
        mx_req_store(r, &out[(pl * g.oh + oy) * g.ow + ox], pool_forward(&g, kind, x + pl * g.h * g.w, oy, ox));
  return MX_OK;
}

/* Each output's gradient scattered over its window: max routes it to the first largest
 * element (read again from the input); avg and sum spread it evenly. */
static mx_status backward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_conv_geom g = mx_op_pooling_geometry(c);
  int kind = pooling_kind(P(c->attrs));
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  const float *x = mx_op_data(c->in[0]), *dy = mx_op_data(c->out_grad[0]);
  float *dx = mx_op_data(c->in_grad[0]);
  if (r != MX_REQ_ADD) memset(dx, 0, (size_t)(planes * g.h * g.w) * sizeof(float));
  if (max_2x2(&g, kind)) {
    for (int64_t pl = 0; pl < planes; pl++)
      max_2x2_backward(&g, x + pl * g.h * g.w, dy + pl * g.oh * g.ow, dx + pl * g.h * g.w);
    return MX_OK;
  }
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *src = x + pl * g.h * g.w, *gy = dy + pl * g.oh * g.ow;
    float *gx = dx + pl * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) {
        float d = gy[oy * g.ow + ox];
        if (kind == POOL_MAX) {
          int64_t best = pool_argmax(&g, src, oy, ox);
          if (best >= 0) gx[best] += d;
          continue;
        }
        int64_t y0, y1, x0, x1;
        pool_window(&g, oy, ox, &y0, &y1, &x0, &x1);
        d = pool_share(&g, kind, d, oy, ox);
        for (int64_t i = y0; i < y1; i++)
          for (int64_t j = x0; j < x1; j++) gx[i * g.w + j] += d;
      }
  }
  return MX_OK;
}

const mx_op mx_op_pooling = {
    .name = "Pooling",
    .doc = "Max, average or sum pooling over NCHW (or NCW) data.",
    MX_OP_PARAMS(pooling_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu},
    .backward = {[MX_DEV_CPU] = backward_cpu},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
};
