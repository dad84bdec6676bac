/* deconvolution.c: Deconvolution (transposed convolution, NCHW or NCW): the data gradient
 * of a Convolution from the output back to the input; weight (C, num_filter/num_group,
 * kh, kw); out = (in-1)*stride - 2*pad + dilate*(kernel-1) + 1 + adj, or target_shape.
 * Written once over the kernel table (kernels.h) and mx_gemm, for the CPU and the GPU alike. */
#include "conv_geom.h"

static const mx_param_desc params[] = {
    MX_PARAM(mx_deconv_param, kernel, MX_PARAM_SHAPE, NULL, NULL, "kernel size (h, w) or (w)"),
    MX_PARAM(mx_deconv_param, stride, MX_PARAM_SHAPE, "()", NULL, "stride, default 1 on each axis"),
    MX_PARAM(mx_deconv_param, dilate, MX_PARAM_SHAPE, "()", NULL, "dilation, default 1 on each axis"),
    MX_PARAM(mx_deconv_param, pad, MX_PARAM_SHAPE, "()", NULL, "padding taken off both sides, default 0"),
    MX_PARAM(mx_deconv_param, adj, MX_PARAM_SHAPE, "()", NULL, "extra rows/columns added at the end, default 0"),
    MX_PARAM(mx_deconv_param, target_shape, MX_PARAM_SHAPE, "()", NULL, "output size (h, w): sets pad and adj"),
    MX_PARAM(mx_deconv_param, num_filter, MX_PARAM_INT, NULL, NULL, "number of output channels"),
    MX_PARAM(mx_deconv_param, num_group, MX_PARAM_INT, "1", NULL, "number of groups"),
    MX_PARAM(mx_deconv_param, workspace, MX_PARAM_INT, "512", NULL, "MXNet's workspace limit in MB (accepted; the executor plans the buffer)"),
    MX_PARAM(mx_deconv_param, no_bias, MX_PARAM_BOOL, "True", NULL, "leave out the bias"),
    MX_PARAM(mx_deconv_param, cudnn_tune, MX_PARAM_STRING, "None", NULL, "accepted for MXNet compatibility"),
    MX_PARAM(mx_deconv_param, cudnn_off, MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"),
    MX_PARAM(mx_deconv_param, layout, MX_PARAM_STRING, "None", NULL, "NCHW (or NCW) only"),
};
#define P(a) MX_PARAMS(mx_deconv_param, a)

static int list_args(const mx_op_attrs *a, const char **names) {
  names[0] = "data";
  names[1] = "weight";
  if (P(a)->no_bias) return 2;
  names[2] = "bias";
  return 3;
}

/* Geometry of the equivalent convolution: image = this op's output (num_filter channels),
 * grid = this op's input. `d` is the data shape. */
static mx_status geometry(const mx_op_attrs *a, const mx_shape *d, mx_conv_geom *g, int *nd) {
  mx_status st = mx_conv_params(a, &P(a)->kernel, &P(a)->stride, &P(a)->dilate, &P(a)->pad, g, nd);
  if (st != MX_OK) return st;
  int64_t f = P(a)->num_filter, grp = P(a)->num_group, ah, aw, th, tw;
  if (!mx_conv_pair(&P(a)->adj, *nd, 0, &ah, &aw) ||
      !mx_conv_pair(&P(a)->target_shape, *nd, 0, &th, &tw))
    return mx_op_error(a, MX_ERR_ARG, "adj and target_shape must have %d axes", *nd);
  st = mx_conv_check(a, f, grp, P(a)->layout, *nd, d);
  if (st != MX_OK || !d || d->ndim == 0) return st;
  g->oh = *nd == 1 ? 1 : d->dim[2];
  g->ow = d->dim[d->ndim - 1];
  g->c = f;
  int64_t fullh = g->sh * (g->oh - 1) + g->dh * (g->kh - 1) + 1,
          fullw = g->sw * (g->ow - 1) + g->dw * (g->kw - 1) + 1;
  if (P(a)->target_shape.ndim) { /* MXNet's InferPad */
    if (*nd == 1) th = 1;
    int64_t ph = fullh - th, pw = fullw - tw;
    if (ph < 0 || pw < 0)
      return mx_op_error(a, MX_ERR_SHAPE,
                         "target_shape (%lld,%lld) too large "
                         "(at most (%lld,%lld))",
                         (long long)th, (long long)tw, (long long)fullh, (long long)fullw);
    ah = ph % 2;
    aw = pw % 2;
    g->ph = (ph + 1) / 2;
    g->pw = (pw + 1) / 2;
  }
  if (*nd == 1) ah = 0;
  g->h = fullh - 2 * g->ph + ah;
  g->w = fullw - 2 * g->pw + aw;
  if (g->h < 1 || g->w < 1 || ah >= g->sh || aw >= g->sw)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "pad/adj give an output of %lldx%lld "
                       "(adj must be < stride)",
                       (long long)g->h, (long long)g->w);
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  mx_conv_geom g;
  int nd;
  mx_status st = geometry(a, &in[0], &g, &nd);
  if (st != MX_OK || in[0].ndim == 0) return st;
  int64_t f = P(a)->num_filter, grp = P(a)->num_group;
  mx_shape w = {nd + 2, {in[0].dim[1], f / grp, g.kh, g.kw}}, b = {1, {f}},
           o = {nd + 2, {in[0].dim[0], f, g.h, g.w}};
  if (nd == 1) {
    w.dim[2] = g.kw;
    o.dim[2] = g.w;
  }
  st = mx_shape_fill(a, "weight", &in[1], &w);
  if (st == MX_OK && nin > 2) st = mx_shape_fill(a, "bias", &in[2], &b);
  if (st == MX_OK) st = mx_shape_fill(a, "output", &out[0], &o);
  return st;
}

/* The columns of one image: (num_filter*kh*kw, in_h*in_w); backward: also the bias
 * gradient's sums (mx_conv_bias_grad), made before the columns. */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out,
                         int nout, int backward) {
  mx_conv_geom g;
  int nd;
  if (geometry(a, &in[0], &g, &nd) != MX_OK || in[0].ndim == 0) return 0;
  return mx_conv_workspace(&in[0], g.c, g.c * g.kh * g.kw * g.oh * g.ow, backward);
}

/* One body for every device (the kernel table and mx_gemm): per image, the columns
 * W_g^T x_g, put back into the output by col2im; then the bias on every position. */
static mx_status forward(const mx_op_call *c) {
  const mx_kernels *kt;
  mx_status st = mx_table_forward_of(c, &kt);
  if (st != MX_OK || !kt) return st;
  mx_conv_geom g = mx_conv_call_geometry(c, c->in[0], geometry);
  int64_t n = mx_ndarray_shape(c->in[0])[0], cin = mx_ndarray_shape(c->in[0])[1],
          grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, cg = cin / grp, k = g.c / grp * g.kh * g.kw, hw = g.h * g.w, img = g.c * hw;
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]);
  float *y = mx_op_data(c->out[0]), *col = c->workspace;
  kt->fill(y, n * img, 0.0f);
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * cin * p;
    for (int64_t j = 0; j < grp; j++) { /* (C/G, K)^T x (C/G, P) -> (K, P) */
      st = mx_gemm(c->ctx, 1, 0, k, p, cg, 1.0f, w + j * cg * k, k, xi + j * cg * p, p, 0.0f, col + j * k * p, p);
      if (st != MX_OK) return st;
    }
    kt->col2im(&g, col, y + i * img, p);
  }
  if (!P(c->attrs)->no_bias) {
    int64_t shape[3] = {n, g.c, hw}, sy[3] = {img, hw, 1}, sb[3] = {0, 1, 0};
    kt->binary_strided(MX_BINARY_ADD, y, sy, mx_op_data(c->in[2]), sb, y, shape, 3);
  }
  return MX_OK;
}

/* Per image: the columns of dy, then dx_g = W_g x col_g and dW_g += x_g x col_g^T. */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *kt;
  mx_status st = mx_table_of(c, &kt);
  if (st != MX_OK) return st;
  mx_conv_geom g = mx_conv_call_geometry(c, c->in[0], geometry);
  int64_t n = mx_ndarray_shape(c->in[0])[0], cin = mx_ndarray_shape(c->in[0])[1],
          grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, cg = cin / grp, k = g.c / grp * g.kh * g.kw, img = g.c * g.h * g.w;
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]),
              *dy = mx_op_data(c->out_grad[0]);
  mx_req rx = c->req[0], rw = c->req[1],
         rb = P(c->attrs)->no_bias ? MX_REQ_NULL : c->req[2];
  float *col = c->workspace;
  if (rb != MX_REQ_NULL) mx_conv_bias_grad(kt, rb, dy, mx_op_data(c->in_grad[2]), n, g.c, g.h * g.w, c->workspace);
  float *dx = rx != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL;
  float *dw = rw != MX_REQ_NULL ? mx_op_data(c->in_grad[1]) : NULL;
  if (!dx && !dw) return MX_OK;
  for (int64_t i = 0; i < n; i++) {
    kt->im2col(&g, dy + i * img, col, p);
    for (int64_t j = 0; j < grp; j++) {
      if (dx) /* (C/G, K) x (K, P) -> (C/G, P) */
        st = mx_gemm(c->ctx, 0, 0, cg, p, k, 1.0f, w + j * cg * k, k, col + j * k * p, p,
                     rx == MX_REQ_ADD ? 1.0f : 0.0f, dx + (i * cin + j * cg) * p, p);
      if (st == MX_OK && dw) /* (C/G, P) x (K, P)^T -> (C/G, K), summed over the batch */
        st = mx_gemm(c->ctx, 0, 1, cg, k, p, 1.0f, x + (i * cin + j * cg) * p, p, col + j * k * p,
                     p, (i == 0 && rw != MX_REQ_ADD) ? 0.0f : 1.0f, dw + j * cg * k, k);
      if (st != MX_OK) return st;
    }
  }
  return MX_OK;
}

const mx_op mx_op_deconvolution = {
    .name = "Deconvolution",
    .doc = "Transposed 2-D (or 1-D) convolution: the gradient of Convolution with respect to its "
           "data.",
    MX_OP_PARAMS(mx_deconv_param, params),
    .arguments = (const char *const[]){"data", "weight", "bias", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
