/* l2_normalization.c: L2Normalization (MXNet's): the data divided by the L2 norm of each
 * group, sqrt(sum x^2 + eps): mode 'instance' all of a sample, 'channel' axis 1 at each
 * position, 'spatial' the positions of each channel. The norm is a hidden output, read by
 * backward: dx = (dy - y * sum(dy * y)) / norm. Written over the kernel table. */
#include "table_op.h"

typedef struct l2_param {
  float eps;
  int mode;
} l2_param;
enum { MODE_INSTANCE, MODE_CHANNEL, MODE_SPATIAL };
static const char *const mode_names[] = {"instance", "channel", "spatial"};
static const mx_param_desc params[] = {
    MX_PARAM(l2_param, eps, MX_PARAM_FLOAT, "1e-10", NULL, "added to the sum of squares"),
    MX_PARAM(l2_param, mode, MX_PARAM_ENUM, "instance", "instance|channel|spatial", "the groups that are normalised"),
};
#define P(a) MX_PARAMS(l2_param, a)

/* The data (shape d, nd axes) as (outer, len, inner): each group is `len` values `inner` apart. */
static void groups(int mode, const int64_t *d, int nd, int64_t *outer, int64_t *len, int64_t *inner) {
  int64_t rest = mx_shape_size(d + 2, nd - 2);
  if (mode == MODE_INSTANCE) *outer = d[0], *len = d[1] * rest, *inner = 1;
  else if (mode == MODE_CHANNEL) *outer = d[0], *len = d[1], *inner = rest;
  else *outer = d[0] * d[1], *len = rest, *inner = 1;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  char b[96];
  if (in[0].ndim == 0) return MX_OK;
  int mode = P(a)->mode, least = mode == MODE_SPATIAL ? 3 : 2;
  if (in[0].ndim < least)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "data %s needs at least %d axes in "
                       "mode '%s'",
                       mx_shape_fmt(&in[0], b, sizeof b), least, mode_names[mode]);
  mx_status st = mx_shape_fill(a, "output", &out[0], &in[0]);
  if (st != MX_OK) return st;
  mx_shape norm = {1, {in[0].dim[0]}}; /* instance: (N,); channel: (N, spatial...); spatial: (N, C) */
  if (mode == MODE_CHANNEL) {
    norm.ndim = in[0].ndim - 1;
    for (int i = 2; i < in[0].ndim; i++) norm.dim[i - 1] = in[0].dim[i];
  } else if (mode == MODE_SPATIAL) {
    norm.ndim = 2, norm.dim[1] = in[0].dim[1];
  }
  return mx_shape_fill(a, "norm", &out[1], &norm);
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t outer, len, inner, n = mx_op_size(c->in[0]);
  groups(P(c->attrs)->mode, mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), &outer, &len,
         &inner);
  const float *x = mx_op_data(c->in[0]);
  float *norm = mx_op_data(c->out[1]), *sq = c->workspace;
  k->binary(MX_BINARY_MUL, x, x, sq, n);
  k->reduce(MX_REDUCE_SUM, sq, norm, outer, len, inner);
  k->binary_scalar(MX_BINARY_ADD, norm, P(c->attrs)->eps, norm, outer * inner);
  k->unary(MX_UNARY_SQRT, norm, norm, outer * inner);
  if (r == MX_REQ_NULL) return MX_OK;
  float *y = mx_op_data(c->out[0]), *t = mx_table_target(c, r, y, n);
  int64_t shape[3] = {outer, len, inner}, sx[3] = {len * inner, inner, 1}, sn[3] = {inner, 0, 1};
  k->binary_strided(MX_BINARY_DIV, x, sx, norm, sn, t, shape, 3);
  mx_table_finish(k, r, y, t, n);
  return MX_OK;
}

static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t outer, len, inner, n = mx_op_size(c->in_grad[0]);
  groups(P(c->attrs)->mode, mx_ndarray_shape(c->in_grad[0]), mx_ndarray_ndim(c->in_grad[0]), &outer,
         &len, &inner);
  const float *y = mx_op_data(c->out[0]), *norm = mx_op_data(c->out[1]), *dy = mx_op_data(c->out_grad[0]);
  float *dx = mx_op_data(c->in_grad[0]), *u = c->workspace, *g = u + n, *t = mx_table_target(c, r, dx, n + outer * inner);
  int64_t shape[3] = {outer, len, inner}, sx[3] = {len * inner, inner, 1}, sn[3] = {inner, 0, 1};
  k->binary(MX_BINARY_MUL, dy, y, u, n);
  k->reduce(MX_REDUCE_SUM, u, g, outer, len, inner); /* g = sum(dy * y) per group */
  k->binary_strided(MX_BINARY_MUL, y, sx, g, sn, u, shape, 3);
  k->binary(MX_BINARY_SUB, dy, u, u, n);
  k->binary_strided(MX_BINARY_DIV, u, sx, norm, sn, t, shape, 3);
  mx_table_finish(k, r, dx, t, n);
  return MX_OK;
}

/* forward: the squares, then an 'add' target; backward: a product, the sums, an 'add' target */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out, int nout,
                         int bwd) {
  int64_t n = mx_shape_numel(&in[0]);
  return bwd ? 2 * n + mx_shape_numel(&out[1]) : 2 * n;
}

const mx_op mx_op_l2_normalization = {
    .name = "L2Normalization",
    .doc = "Divides the data by the L2 norm of each instance, channel vector or channel (mode).",
    MX_OP_PARAMS(l2_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", "norm", NULL},
    .hidden_outputs = 1,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
