/* convolution.c: Convolution (NCHW, or NCW for 1-D kernels) with stride, dilation, padding
 * and groups: im2col of a chunk of images into the executor's planned workspace, then one
 * GEMM per group; weight (num_filter, C/num_group, kh, kw), bias (num_filter). Written once
 * over the kernel table (kernels.h) and mx_gemm, for the CPU and the GPU alike. */
#include <stdatomic.h>
#include <unistd.h>

#include "conv_geom.h"

static const mx_param_desc params[] = {
    MX_PARAM(mx_conv_param, kernel, MX_PARAM_SHAPE, NULL, NULL, "kernel size (h, w) or (w)"),
    MX_PARAM(mx_conv_param, stride, MX_PARAM_SHAPE, "()", NULL, "stride, default 1 on each axis"),
    MX_PARAM(mx_conv_param, dilate, MX_PARAM_SHAPE, "()", NULL, "dilation, default 1 on each axis"),
    MX_PARAM(mx_conv_param, pad, MX_PARAM_SHAPE, "()", NULL, "zero padding on both sides, default 0"),
    MX_PARAM(mx_conv_param, num_filter, MX_PARAM_INT, NULL, NULL, "number of output channels"),
    MX_PARAM(mx_conv_param, num_group, MX_PARAM_INT, "1", NULL, "number of groups: input and output channels split into this many"),
    MX_PARAM(mx_conv_param, workspace, MX_PARAM_INT, "1024", NULL, "MXNet's workspace limit in MB (accepted; the executor plans the buffer)"),
    MX_PARAM(mx_conv_param, no_bias, MX_PARAM_BOOL, "False", NULL, "leave out the bias"),
    MX_PARAM(mx_conv_param, cudnn_tune, MX_PARAM_STRING, "None", NULL, "accepted for MXNet compatibility"),
    MX_PARAM(mx_conv_param, cudnn_off, MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"),
    MX_PARAM(mx_conv_param, layout, MX_PARAM_STRING, "None", NULL, "NCHW (or NCW) only"),
};
#define P(a) MX_PARAMS(mx_conv_param, a)

static int list_args(const mx_op_attrs *a, const char **names) {
  names[0] = "data";
  names[1] = "weight";
  if (P(a)->no_bias) return 2;
  names[2] = "bias";
  return 3;
}

/* The geometry for data of shape `d` (image = the input, grid = the output). */
static mx_status geometry(const mx_op_attrs *a, const mx_shape *d, mx_conv_geom *g, int *nd) {
  mx_status st = mx_conv_params(a, &P(a)->kernel, &P(a)->stride, &P(a)->dilate, &P(a)->pad, g, nd);
  if (st != MX_OK) return st;
  int64_t f = P(a)->num_filter, grp = P(a)->num_group;
  st = mx_conv_check(a, f, grp, P(a)->layout, *nd, d);
  if (st != MX_OK || !d || d->ndim == 0) return st;
  char b[96];
  g->c = d->dim[1];
  g->h = *nd == 1 ? 1 : d->dim[2];
  g->w = d->dim[d->ndim - 1];
  int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
  if (g->h + 2 * g->ph < eh || g->w + 2 * g->pw < ew)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "kernel (dilated %lldx%lld) larger than "
                       "the padded data %s",
                       (long long)eh, (long long)ew, mx_shape_fmt(d, b, sizeof b));
  g->oh = (g->h + 2 * g->ph - eh) / g->sh + 1;
  g->ow = (g->w + 2 * g->pw - ew) / g->sw + 1;
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  mx_conv_geom g;
  int nd;
  mx_status st = geometry(a, &in[0], &g, &nd);
  if (st != MX_OK || in[0].ndim == 0) return st;
  int64_t f = P(a)->num_filter, grp = P(a)->num_group;
  mx_shape w = {nd + 2, {f, g.c / grp, g.kh, g.kw}}, b = {1, {f}},
           o = {nd + 2, {in[0].dim[0], f, g.oh, g.ow}};
  if (nd == 1) {
    w.dim[2] = g.kw;
    o.dim[2] = g.ow;
  }
  st = mx_shape_fill(a, "weight", &in[1], &w);
  if (st == MX_OK && nin > 2) st = mx_shape_fill(a, "bias", &in[2], &b);
  if (st == MX_OK) st = mx_shape_fill(a, "output", &out[0], &o);
  return st;
}

/* Images are processed in chunks, so that each GEMM spans several images (a (F, chunk*P)
 * product rather than one small product per image). The workspace is planned for chunks of
 * CHUNK_FLOATS_MAX floats, which a GPU takes whole (fewer, larger GEMMs). On the CPU a chunk
 * fills a quarter of the L2 cache (its size read at run time), so that the GEMM reads what
 * im2col has just written from there: LeNet on one thread (Xeon family 6 model 167, L2 2 MiB)
 * trained 3,300 samples/s with 2^22-float chunks, 4,600 with 2^18, 4,860 with 2^17 (this
 * rule), 4,790 with 2^16. */
#define CHUNK_FLOATS_MAX ((int64_t)1 << 22)

static int64_t chunk_floats(mx_context ctx) {
  static _Atomic int64_t cpu; /* 0: not read yet */
  if (ctx.dev_type != MX_DEV_CPU) return CHUNK_FLOATS_MAX;
  if (!cpu) {
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); /* 0 or -1 where the C library cannot tell */
    int64_t floats = l2 > 0 ? (int64_t)l2 / 16 : (int64_t)1 << 16;
    cpu = floats < ((int64_t)1 << 14) ? (int64_t)1 << 14 : floats > CHUNK_FLOATS_MAX ? CHUNK_FLOATS_MAX : floats;
  }
  return cpu;
}

/* Images per chunk of `budget` floats: the columns (C*kh*kw, nb*P) and the output in (F, nb*P)
 * order. */
static int64_t chunk_images(const mx_conv_geom *g, int64_t n, int64_t f, int64_t budget) {
  int64_t per = (g->c * g->kh * g->kw + f) * g->oh * g->ow, nb = per > 0 ? budget / per : 1;
  return nb < 1 ? 1 : nb > n ? n : nb;
}

/* A chunk's columns and its output (or gathered output gradient); backward: also the bias
 * gradient's sums (mx_conv_bias_grad), made before the chunks. */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out,
                         int nout, int backward) {
  mx_conv_geom g;
  int nd;
  if (geometry(a, &in[0], &g, &nd) != MX_OK || in[0].ndim == 0) return 0;
  int64_t f = P(a)->num_filter;
  return mx_conv_workspace(&in[0], f,
                           chunk_images(&g, in[0].dim[0], f, CHUNK_FLOATS_MAX) * (g.c * g.kh * g.kw + f) * g.oh * g.ow,
                           backward);
}

/* One body for every device (the kernel table and mx_gemm). For each chunk of nb images:
 * col (C*kh*kw, nb*P) by im2col, then per group (F/G, K) x (K, nb*P) -> yt (F/G, nb*P), and
 * yt (F, nb, P) read into y (nb, F, P) with the bias added. */
static mx_status forward(const mx_op_call *c) {
  const mx_kernels *kt;
  mx_status st = mx_table_forward_of(c, &kt);
  if (st != MX_OK || !kt) return st;
  mx_conv_geom g = mx_conv_call_geometry(c, c->in[0], geometry);
  int64_t n = mx_ndarray_shape(c->in[0])[0], f = P(c->attrs)->num_filter,
          grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, fg = f / grp, k = g.c / grp * g.kh * g.kw, img = g.c * g.h * g.w;
  int64_t nbmax = chunk_images(&g, n, f, chunk_floats(c->ctx));
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]);
  const float *b = P(c->attrs)->no_bias ? NULL : mx_op_data(c->in[2]);
  float *y = mx_op_data(c->out[0]), *col = c->workspace, *yt = col + nbmax * g.c * g.kh * g.kw * p;
  for (int64_t i0 = 0; i0 < n; i0 += nbmax) {
    int64_t nb = n - i0 < nbmax ? n - i0 : nbmax, ld = nb * p;
    for (int64_t i = 0; i < nb; i++) kt->im2col(&g, x + (i0 + i) * img, col + i * p, ld);
    for (int64_t j = 0; j < grp; j++) {
      st = mx_gemm(c->ctx, 0, 0, fg, ld, k, 1.0f, w + j * fg * k, k, col + j * k * ld, ld, 0.0f,
                   yt + j * fg * ld, ld);
      if (st != MX_OK) return st;
    }
    int64_t shape[3] = {nb, f, p}, syt[3] = {p, ld, 1}, sb[3] = {0, 1, 0};
    if (b)
      kt->binary_strided(MX_BINARY_ADD, yt, syt, b, sb, y + i0 * f * p, shape, 3);
    else
      kt->copy_strided(yt, syt, y + i0 * f * p, shape, 3);
  }
  return MX_OK;
}

/* Per chunk: dyt (F, nb*P) gathered from dy, then dW_g += dyt_g (F/G, nb*P) x col_g^T. The
 * data gradient goes image by image (dcol = W_g^T x dy_g, then col2im), whose columns stay
 * contiguous: col2im over rows nb*P apart was slower than the GEMMs it saved. */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *kt;
  mx_status st = mx_table_of(c, &kt);
  if (st != MX_OK) return st;
  mx_conv_geom g = mx_conv_call_geometry(c, c->in[0], geometry);
  int64_t n = mx_ndarray_shape(c->in[0])[0], f = P(c->attrs)->num_filter,
          grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, fg = f / grp, k = g.c / grp * g.kh * g.kw, img = g.c * g.h * g.w;
  int64_t nbmax = chunk_images(&g, n, f, chunk_floats(c->ctx));
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]),
              *dy = mx_op_data(c->out_grad[0]);
  mx_req rx = c->req[0], rw = c->req[1],
         rb = P(c->attrs)->no_bias ? MX_REQ_NULL : c->req[2];
  float *col = c->workspace, *dyt = col + nbmax * g.c * g.kh * g.kw * p;
  if (rb != MX_REQ_NULL) mx_conv_bias_grad(kt, rb, dy, mx_op_data(c->in_grad[2]), n, f, p, c->workspace);
  if (rw != MX_REQ_NULL) {
    float *dw = mx_op_data(c->in_grad[1]);
    for (int64_t i0 = 0; i0 < n; i0 += nbmax) {
      int64_t nb = n - i0 < nbmax ? n - i0 : nbmax, ld = nb * p;
      int64_t shape[3] = {f, nb, p}, sdy[3] = {p, f * p, 1};
      for (int64_t i = 0; i < nb; i++) kt->im2col(&g, x + (i0 + i) * img, col + i * p, ld);
      kt->copy_strided(dy + i0 * f * p, sdy, dyt, shape, 3);
      for (int64_t j = 0; j < grp;
           j++) { /* (F/G, nb*P) x (K, nb*P)^T -> (F/G, K), summed over the chunks */
        st = mx_gemm(c->ctx, 0, 1, fg, k, ld, 1.0f, dyt + j * fg * ld, ld, col + j * k * ld, ld,
                     (i0 == 0 && rw != MX_REQ_ADD) ? 0.0f : 1.0f, dw + j * fg * k, k);
        if (st != MX_OK) return st;
      }
    }
  }
  if (rx == MX_REQ_NULL) return MX_OK;
  float *dx = mx_op_data(c->in_grad[0]);
  if (rx != MX_REQ_ADD) kt->fill(dx, n * img, 0.0f);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < grp; j++) { /* (F/G, K)^T x (F/G, P) -> (K, P) */
      st = mx_gemm(c->ctx, 1, 0, k, p, fg, 1.0f, w + j * fg * k, k,
                   dy + (i * f + j * fg) * p, p, 0.0f, col + j * k * p, p);
      if (st != MX_OK) return st;
    }
    kt->col2im(&g, col, dx + i * img, p);
  }
  return MX_OK;
}

const mx_op mx_op_convolution = {
    .name = "Convolution",
    .doc = "2-D (or 1-D) convolution over NCHW data with stride, dilation, padding and groups.",
    MX_OP_PARAMS(mx_conv_param, params),
    .arguments = (const char *const[]){"data", "weight", "bias", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
