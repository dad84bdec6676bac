/* lrn.c: LRN (MXNet's local response normalisation across channels):
 * y = x * s^-beta with s = knorm + alpha / nsize * (sum of x^2 over the nsize channels centred
 * on each one, zero beyond the edges); s is a hidden output, read by backward:
 * dx = dy * s^-beta - 2 alpha beta / nsize * x * window_sum(dy * x * s^(-beta-1)).
 * Written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

typedef struct lrn_param {
  float alpha, beta, knorm;
  int64_t nsize;
} lrn_param;
static const mx_param_desc params[] = {
    MX_PARAM(lrn_param, alpha, MX_PARAM_FLOAT, "0.0001", NULL, "the scale of the sum of squares"),
    MX_PARAM(lrn_param, beta, MX_PARAM_FLOAT, "0.75", NULL, "the exponent"),
    MX_PARAM(lrn_param, knorm, MX_PARAM_FLOAT, "2", NULL, "the constant added"),
    MX_PARAM(lrn_param, nsize, MX_PARAM_INT, NULL, "1..1024", "the number of channels summed (odd)"),
};
#define P(a) MX_PARAMS(lrn_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  char b[96];
  if (P(a)->nsize % 2 == 0)
    return mx_op_error(a, MX_ERR_ARG,
                       "nsize %lld must be odd (a window centred on "
                       "each channel)",
                       (long long)P(a)->nsize);
  if (in[0].ndim == 0) return MX_OK;
  if (in[0].ndim < 2)
    return mx_op_error(a, MX_ERR_SHAPE, "data %s needs a channel axis (axis 1)",
                       mx_shape_fmt(&in[0], b, sizeof b));
  mx_status st = mx_shape_fill(a, "output", &out[0], &in[0]);
  return st == MX_OK ? mx_shape_fill(a, "tmp_norm", &out[1], &in[0]) : st;
}

/* acc = the sum of v over the nsize channels around each channel; v and acc are (n, ch, s) */
static void window_sum(const mx_kernels *k, const float *v, float *acc, int64_t n, int64_t ch, int64_t s,
                       int64_t nsize) {
  int64_t half = (nsize - 1) / 2;
  k->fill(acc, n * ch * s, 0.0f);
  for (int64_t d = -half; d <= half; d++) {
    int64_t lo = d < 0 ? -d : 0, hi = d > 0 ? ch - d : ch; /* channels c with c + d inside */
    if (hi <= lo) continue;
    for (int64_t i = 0; i < n; i++) {
      float *at = acc + (i * ch + lo) * s;
      k->binary(MX_BINARY_ADD, at, v + (i * ch + lo + d) * s, at, (hi - lo) * s);
    }
  }
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const mx_op_attrs *a = c->attrs;
  int64_t n, ch, s, nsize = P(a)->nsize;
  mx_table_ncs(c->in[0], &n, &ch, &s);
  int64_t size = n * ch * s;
  const float *x = mx_op_data(c->in[0]);
  float *norm = mx_op_data(c->out[1]), *sq = c->workspace;
  k->binary(MX_BINARY_MUL, x, x, sq, size);
  window_sum(k, sq, norm, n, ch, s, nsize);
  k->binary_scalar(MX_BINARY_MUL, norm, P(a)->alpha / (float)nsize, norm, size);
  k->binary_scalar(MX_BINARY_ADD, norm, P(a)->knorm, norm, size);
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  float *y = mx_op_data(c->out[0]), *t = mx_table_target(c, r, y, size);
  k->binary_scalar(MX_BINARY_POW, norm, -P(a)->beta, sq, size);
  k->binary(MX_BINARY_MUL, x, sq, t, size);
  mx_table_finish(k, r, y, t, size);
  return MX_OK;
}

static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const mx_op_attrs *a = c->attrs;
  int64_t n, ch, s, nsize = P(a)->nsize;
  mx_table_ncs(c->in[0], &n, &ch, &s);
  int64_t size = n * ch * s;
  float alpha = P(a)->alpha, beta = P(a)->beta;
  const float *x = mx_op_data(c->in[0]), *norm = mx_op_data(c->out[1]), *dy = mx_op_data(c->out_grad[0]);
  float *dx = mx_op_data(c->in_grad[0]), *u = c->workspace, *w = u + size, *t = mx_table_target(c, r, dx, 2 * size);
  k->binary_scalar(MX_BINARY_POW, norm, -beta - 1.0f, u, size);
  k->binary(MX_BINARY_MUL, u, dy, u, size);
  k->binary(MX_BINARY_MUL, u, x, u, size); /* dy * x * s^(-beta-1) */
  window_sum(k, u, w, n, ch, s, nsize);
  k->binary(MX_BINARY_MUL, w, x, w, size);
  k->binary_scalar(MX_BINARY_MUL, w, 2.0f * alpha * beta / (float)nsize, w, size);
  k->binary_scalar(MX_BINARY_POW, norm, -beta, u, size);
  k->binary(MX_BINARY_MUL, u, dy, u, size);
  k->binary(MX_BINARY_SUB, u, w, t, size);
  mx_table_finish(k, r, dx, t, size);
  return MX_OK;
}

/* forward: the squares (then s^-beta), an 'add' target; backward: two products, an 'add' target */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out, int nout,
                         int bwd) {
  return (bwd ? 3 : 2) * mx_shape_numel(&in[0]);
}

const mx_op mx_op_lrn = {
    .name = "LRN",
    .doc = "Local response normalisation across channels: x * (knorm + alpha / nsize * window sum of x^2)^-beta.",
    MX_OP_PARAMS(lrn_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", "tmp_norm", NULL},
    .hidden_outputs = 1,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
