/* pooling.c: Pooling (max, avg, sum) over NCHW (or NCW) data with kernel, stride, pad,
 * global_pool and the valid (floor) / full (ceil) output conventions. avg divides by the
 * window clipped to the padded data (MXNet counts padding), or with count_include_pad
 * False by the data inside the window. lp pooling, 'same' and NHWC layouts are refused. */
#include <float.h>

#include "conv_geom.h"
#include "elementwise.h" /* mx_ew_max: NaN kept */

enum {
  P_KERNEL,
  P_POOL_TYPE,
  P_STRIDE,
  P_PAD,
  P_GLOBAL,
  P_CONVENTION,
  P_CUDNN_OFF,
  P_P_VALUE,
  P_COUNT_INCLUDE_PAD,
  P_LAYOUT
};
enum { MAX, AVG, SUM, LP, AVG_VALID /* avg without the padding: not a choice, see pool_type */ };
enum { VALID, FULL, SAME };
static const mx_param_desc params[] = {
    {"kernel", MX_PARAM_SHAPE, "()", NULL,
     "window size (h, w) or (w); required unless global_pool"},
    {"pool_type", MX_PARAM_ENUM, "max", "max|avg|sum|lp", "the reduction (lp is refused)"},
    {"stride", MX_PARAM_SHAPE, "()", NULL, "stride, default 1 on each axis"},
    {"pad", MX_PARAM_SHAPE, "()", NULL, "padding on both sides, default 0"},
    {"global_pool", MX_PARAM_BOOL, "False", NULL,
     "pool over the whole image (kernel, stride and pad ignored)"},
    {"pooling_convention", MX_PARAM_ENUM, "valid", "valid|full|same",
     "output size by floor (valid) or ceil (full); same is refused"},
    {"cudnn_off", MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"},
    {"p_value", MX_PARAM_INT, "0", NULL, "the power of lp pooling (accepted, lp is refused)"},
    {"count_include_pad", MX_PARAM_BOOL, "True", NULL,
     "avg divides by the whole window, padding included (False: only the data inside)"},
    {"layout", MX_PARAM_STRING, "None", NULL, "NCHW (or NCW) only"},
};

/* The reduction the kernels run: avg without padding is its own kind. */
int mx_op_pooling_type(const mx_op_attrs *a) {
  int t = (int)MX_PINT(a, P_POOL_TYPE);
  return t == AVG && !MX_PBOOL(a, P_COUNT_INCLUDE_PAD) ? AVG_VALID : t;
}

/* What mxlua cannot honour, refused naming the node. */
static mx_status check_supported(const mx_op_attrs *a, int nd) {
  const char *node = a->node_name ? a->node_name : "", *layout = a->p[P_LAYOUT].str;
  const char *want = nd == 1 ? "NCW" : "NCHW";
  if (MX_PINT(a, P_POOL_TYPE) == LP)
    return mx_error(MX_ERR_ARG, "mx_symbol_infer_shape: Pooling %s: pool_type lp is not supported", node);
  if (MX_PINT(a, P_CONVENTION) == SAME)
    return mx_error(MX_ERR_ARG,
                    "mx_symbol_infer_shape: Pooling %s: pooling_convention same is not supported", node);
  if (layout && strcmp(layout, "None") && strcmp(layout, want))
    return mx_error(MX_ERR_ARG, "mx_symbol_infer_shape: Pooling %s: layout %s not supported (expected %s)",
                    node, layout, want);
  return MX_OK;
}

static mx_status geometry(const mx_op_attrs *a, const mx_shape *d, mx_conv_geom *g, int *nd) {
  const char *node = a->node_name ? a->node_name : "";
  int global = MX_PBOOL(a, P_GLOBAL);
  if (global) {
    *nd = d && d->ndim == 3 ? 1 : 2;
    g->sh = g->sw = g->dh = g->dw = 1;
    g->ph = g->pw = 0;
  } else {
    if (a->p[P_KERNEL].ndim == 0)
      return mx_error(MX_ERR_ARG,
                      "mx_symbol_infer_shape: Pooling %s: kernel is required unless global_pool",
                      node);
    /* dilate is not a Pooling parameter: read stride for it too, then reset */
    mx_status st = mx_conv_params(a, P_KERNEL, P_STRIDE, P_STRIDE, P_PAD, g, nd);
    if (st != MX_OK) return st;
    g->dh = g->dw = 1;
  }
  mx_status st = check_supported(a, *nd);
  if (st != MX_OK) return st;
  if (!d || d->ndim == 0) return MX_OK;
  char b[96];
  if (d->ndim != *nd + 2)
    return mx_error(MX_ERR_SHAPE,
                    "mx_symbol_infer_shape: Pooling %s: data has shape %s, expected %d axes", node,
                    mx_shape_fmt(d, b, sizeof b), *nd + 2);
  g->c = d->dim[1];
  g->h = *nd == 1 ? 1 : d->dim[2];
  g->w = d->dim[d->ndim - 1];
  if (global) {
    g->kh = g->h;
    g->kw = g->w;
  }
  if (g->h + 2 * g->ph < g->kh || g->w + 2 * g->pw < g->kw)
    return mx_error(
        MX_ERR_SHAPE,
        "mx_symbol_infer_shape: Pooling %s: kernel (%lld,%lld) larger than the padded data %s",
        node, (long long)g->kh, (long long)g->kw, mx_shape_fmt(d, b, sizeof b));
  int full = MX_PINT(a, P_CONVENTION) == FULL;
  int64_t rh = g->h + 2 * g->ph - g->kh, rw = g->w + 2 * g->pw - g->kw;
  g->oh = (full ? (rh + g->sh - 1) / g->sh : rh / g->sh) + 1;
  g->ow = (full ? (rw + g->sw - 1) / g->sw : rw / g->sw) + 1;
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  mx_conv_geom g;
  int nd;
  mx_status st = geometry(a, &in[0], &g, &nd);
  if (st != MX_OK || in[0].ndim == 0) return st;
  mx_shape o = in[0];
  if (nd == 2) o.dim[2] = g.oh;
  o.dim[o.ndim - 1] = g.ow;
  return mx_shape_fill(a, "output", &out[0], &o);
}

static mx_conv_geom call_geometry(const mx_op_call *c) {
  mx_conv_geom g;
  int nd;
  mx_shape d = {mx_ndarray_ndim(c->in[0]), {0}};
  memcpy(d.dim, mx_ndarray_shape(c->in[0]), (size_t)d.ndim * sizeof(int64_t));
  geometry(c->attrs, &d, &g, &nd); /* checked at bind */
  return g;
}

/* The window of output (y, x): rows [*y0, *y1), columns [*x0, *x1) of the data, and the
 * divisor of avg (the window clipped to the padded data). */
static inline int64_t window(const mx_conv_geom *g, int64_t y, int64_t x, int64_t *y0, int64_t *y1,
                             int64_t *x0, int64_t *x1) {
  int64_t hs = y * g->sh - g->ph, ws = x * g->sw - g->pw;
  int64_t he = hs + g->kh, we = ws + g->kw;
  int64_t area = ((he < g->h + g->ph ? he : g->h + g->ph) - hs) *
                 ((we < g->w + g->pw ? we : g->w + g->pw) - ws);
  *y0 = hs < 0 ? 0 : hs;
  *x0 = ws < 0 ? 0 : ws;
  *y1 = he > g->h ? g->h : he;
  *x1 = we > g->w ? g->w : we;
  return area;
}

static mx_status forward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_conv_geom g = call_geometry(c);
  int type = mx_op_pooling_type(c->attrs);
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  const float *x = mx_op_data(c->in[0]);
  float *out = mx_op_data(c->out[0]);
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *src = x + pl * g.h * g.w;
    float *dst = out + pl * g.oh * g.ow;
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) {
        int64_t y0, y1, x0, x1, area = window(&g, oy, ox, &y0, &y1, &x0, &x1);
        float v;
        if (type == MAX) {
          v = -FLT_MAX;
          for (int64_t i = y0; i < y1; i++)
            for (int64_t j = x0; j < x1; j++) v = mx_ew_max(src[i * g.w + j], v);
        } else {
          v = 0.0f;
          for (int64_t i = y0; i < y1; i++)
            for (int64_t j = x0; j < x1; j++) v += src[i * g.w + j];
          if (type == AVG) v /= (float)area;
          if (type == AVG_VALID) v /= (float)((y1 - y0) * (x1 - x0));
        }
        mx_req_store(r, &dst[oy * g.ow + ox], v);
      }
  }
  return MX_OK;
}

/* max (NaN kept, as max()) routes each gradient to the first largest element of its window, or
 * its first NaN (read again from the input); avg and sum spread it evenly. */
static mx_status backward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_conv_geom g = call_geometry(c);
  int type = mx_op_pooling_type(c->attrs);
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  const float *x = mx_op_data(c->in[0]), *dy = mx_op_data(c->out_grad[0]);
  float *dx = mx_op_data(c->in_grad[0]);
  if (r != MX_REQ_ADD) memset(dx, 0, (size_t)(planes * g.h * g.w) * sizeof(float));
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *src = x + pl * g.h * g.w, *gy = dy + pl * g.oh * g.ow;
    float *gx = dx + pl * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) {
        int64_t y0, y1, x0, x1, area = window(&g, oy, ox, &y0, &y1, &x0, &x1);
        float d = gy[oy * g.ow + ox];
        if (type == MAX) {
          int64_t best = -1;
          float v = -FLT_MAX;
          for (int64_t i = y0; i < y1; i++)
            for (int64_t j = x0; j < x1; j++)
              if (best < 0 || (v == v && mx_ew_max(src[i * g.w + j], v) != v)) { /* or the first NaN */
                v = src[i * g.w + j];
                best = i * g.w + j;
              }
          if (best >= 0) gx[best] += d;
        } else {
          if (type == AVG) d /= (float)area;
          if (type == AVG_VALID) d /= (float)((y1 - y0) * (x1 - x0));
          for (int64_t i = y0; i < y1; i++)
            for (int64_t j = x0; j < x1; j++) gx[i * g.w + j] += d;
        }
      }
  }
  return MX_OK;
}

mx_status mx_op_pooling_forward_gpu(const mx_op_call *c); /* pooling.cu */
mx_status mx_op_pooling_backward_gpu(const mx_op_call *c);

const mx_op mx_op_pooling = {
    .name = "Pooling",
    .doc = "Max, average or sum pooling over NCHW (or NCW) data.",
    .params = params,
    .nparams = 10,
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_pooling_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_pooling_backward_gpu)},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
};
