/* crop.c: Crop (MXNet's, for NCHW data): the (h, w) window of every channel at `offset`, or in
 * the centre with center_crop; (h, w) from h_w, or from a second input's last two axes
 * (num_args = 2, its gradient zero). Written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

typedef struct crop_param {
  int64_t num_args;
  mx_shape offset, h_w;
  int center_crop;
} crop_param;
static const mx_param_desc params[] = {
    MX_PARAM(crop_param, num_args, MX_PARAM_INT, NULL, "1..2",
             "1: crop to h_w; 2: crop to the second input's height and width"),
    MX_PARAM(crop_param, offset, MX_PARAM_SHAPE, "(0,0)", NULL, "(y, x) of the window's top left corner"),
    MX_PARAM(crop_param, h_w, MX_PARAM_SHAPE, "(0,0)", NULL, "(height, width) of the window (num_args = 1)"),
    MX_PARAM(crop_param, center_crop, MX_PARAM_BOOL, "False", NULL, "take the window in the centre (offset ignored)"),
};
#define P(a) MX_PARAMS(crop_param, a)

static int list_args(const mx_op_attrs *a, const char **names) {
  names[0] = "arg0";
  if (P(a)->num_args < 2) return 1;
  names[1] = "arg1";
  return 2;
}

/* The window (h, w) and its corner (y, x) in data of shape d (4 axes), like's shape when given. */
static mx_status window(const mx_op_attrs *a, const int64_t *d, const mx_shape *like, int64_t *h, int64_t *w,
                        int64_t *y, int64_t *x) {
  const mx_shape *hw = &P(a)->h_w, *off = &P(a)->offset;
  char b[96];
  if (hw->ndim != 2 || off->ndim != 2)
    return mx_op_error(a, MX_ERR_ARG, "offset and h_w take two values (y, x)");
  *h = like ? like->dim[2] : hw->dim[0];
  *w = like ? like->dim[3] : hw->dim[1];
  *y = P(a)->center_crop ? (d[2] - *h) / 2 : off->dim[0];
  *x = P(a)->center_crop ? (d[3] - *w) / 2 : off->dim[1];
  if (*h < 1 || *w < 1 || *y < 0 || *x < 0 || *y + *h > d[2] || *x + *w > d[3]) {
    mx_shape ds = {4, {d[0], d[1], d[2], d[3]}};
    return mx_op_error(a, MX_ERR_SHAPE, "a %lld x %lld window at (%lld, %lld) does not fit data %s",
                       (long long)*h, (long long)*w, (long long)*y, (long long)*x,
                       mx_shape_fmt(&ds, b, sizeof b));
  }
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  char b[96];
  for (int i = 0; i < nin; i++)
    if (in[i].ndim != 0 && in[i].ndim != 4)
      return mx_op_error(a, MX_ERR_SHAPE, "arg%d %s must have 4 axes (NCHW)", i,
                         mx_shape_fmt(&in[i], b, sizeof b));
  if (in[0].ndim == 0 || (nin > 1 && in[1].ndim == 0)) return MX_OK;
  int64_t h, w, y, x;
  mx_status st = window(a, in[0].dim, nin > 1 ? &in[1] : NULL, &h, &w, &y, &x);
  if (st != MX_OK) return st;
  mx_shape o = {4, {in[0].dim[0], in[0].dim[1], h, w}};
  return mx_shape_fill(a, "output", &out[0], &o);
}

static mx_status run(const mx_op_call *c, int backward) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (backward && c->attrs->nargs > 1 && c->req[1] != MX_REQ_NULL && c->req[1] != MX_REQ_ADD) {
    mx_status st = mx_table_of(c, &k);
    if (st != MX_OK) return st;
    k->fill(mx_op_data(c->in_grad[1]), mx_op_size(c->in_grad[1]), 0.0f); /* crop_like: no gradient */
  }
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const int64_t *d = mx_ndarray_shape(backward ? c->in_grad[0] : c->in[0]);
  const int64_t *o = mx_ndarray_shape(backward ? c->out_grad[0] : c->out[0]);
  mx_shape like = {4, {o[0], o[1], o[2], o[3]}};
  int64_t h, w, y, x;
  st = window(c->attrs, d, &like, &h, &w, &y, &x);
  if (st != MX_OK) return st;
  int64_t planes = d[0] * d[1], plane = d[2] * d[3], corner = y * d[3] + x;
  if (!backward) {
    float *dst = mx_op_data(c->out[0]), *t = mx_table_target(c, r, dst, 0);
    int64_t sx[3] = {plane, d[3], 1}, shape[3] = {planes, h, w};
    k->copy_strided(mx_op_data(c->in[0]) + corner, sx, t, shape, 3);
    mx_table_finish(k, r, dst, t, planes * h * w);
  } else {
    float *dx = mx_op_data(c->in_grad[0]), *t = mx_table_target(c, r, dx, 0);
    const float *dy = mx_op_data(c->out_grad[0]);
    k->fill(t, planes * plane, 0.0f);
    for (int64_t p = 0; p < planes; p++) k->copy2d(dy + p * h * w, w, t + p * plane + corner, d[3], h, w);
    mx_table_finish(k, r, dx, t, planes * plane);
  }
  return MX_OK;
}

static mx_status forward(const mx_op_call *c) {
  return run(c, 0);
}
static mx_status backward(const mx_op_call *c) {
  return run(c, 1);
}

/* an 'add' target as large as the data */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out, int nout,
                         int bwd) {
  return mx_shape_numel(&in[0]);
}

const mx_op mx_op_crop = {
    .name = "Crop",
    .doc = "Crops the height and width of NCHW data to h_w (or to a second input's), at offset or in the centre.",
    MX_OP_PARAMS(crop_param, params),
    .list_arguments = list_args,
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
