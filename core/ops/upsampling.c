/* upsampling.c: UpSampling with sample_type 'nearest' (MXNet's): each pixel of NCHW data
 * repeated scale x scale times; backward sums each block. One input (num_args = 1);
 * 'bilinear' (a Deconvolution with a learnt weight in MXNet) is refused naming the node.
 * Written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

typedef struct upsampling_param {
  int64_t scale, num_filter, num_args, workspace;
  int sample_type, multi_input_mode;
} upsampling_param;
static const mx_param_desc params[] = {
    MX_PARAM(upsampling_param, scale, MX_PARAM_INT, NULL, "1..4096", "the factor of height and width"),
    MX_PARAM(upsampling_param, num_filter, MX_PARAM_INT, "0", NULL, "(bilinear only)"),
    MX_PARAM(upsampling_param, sample_type, MX_PARAM_ENUM, NULL, "nearest|bilinear", "how to sample ('nearest' only)"),
    MX_PARAM(upsampling_param, multi_input_mode, MX_PARAM_ENUM, "concat", "concat|sum", "(several inputs only)"),
    MX_PARAM(upsampling_param, num_args, MX_PARAM_INT, NULL, "1..64", "the number of inputs (1 only)"),
    MX_PARAM(upsampling_param, workspace, MX_PARAM_INT, "512", NULL, "tunes MXNet's own kernels; ignored"),
};
#define P(a) MX_PARAMS(upsampling_param, a)

static const char *const arg_names[] = {"arg0", NULL};

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  char b[96];
  if (P(a)->sample_type != 0)
    return mx_op_error(a, MX_ERR_ARG,
                       "sample_type 'bilinear' is not supported "
                       "(only 'nearest')");
  if (P(a)->num_args != 1)
    return mx_op_error(a, MX_ERR_ARG, "num_args %lld is not supported (only 1)",
                       (long long)P(a)->num_args);
  if (in[0].ndim == 0) return MX_OK;
  if (in[0].ndim != 4)
    return mx_op_error(a, MX_ERR_SHAPE, "data %s must have 4 axes (NCHW)",
                       mx_shape_fmt(&in[0], b, sizeof b));
  int64_t s = P(a)->scale;
  mx_shape o = in[0];
  o.dim[2] *= s, o.dim[3] *= s;
  return mx_shape_fill(a, "output", &out[0], &o);
}

/* data (N, C, H, W) read as (N*C*H, s, W, s) with strides (W, 0, 1, 0): the output, in order */
static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const int64_t *d = mx_ndarray_shape(c->in[0]), s = P(c->attrs)->scale;
  float *y = mx_op_data(c->out[0]), *t = mx_table_target(c, r, y, 0);
  int64_t sx[4] = {d[3], 0, 1, 0}, shape[4] = {d[0] * d[1] * d[2], s, d[3], s};
  k->copy_strided(mx_op_data(c->in[0]), sx, t, shape, 4);
  mx_table_finish(k, r, y, t, mx_op_size(c->out[0]));
  return MX_OK;
}

/* the gradient (N*C*H, s, W, s) summed over its last axis, then over its second */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const int64_t *d = mx_ndarray_shape(c->in_grad[0]), s = P(c->attrs)->scale;
  int64_t rows = d[0] * d[1] * d[2], n = mx_op_size(c->in_grad[0]);
  float *dx = mx_op_data(c->in_grad[0]), *half = c->workspace, *t = mx_table_target(c, r, dx, rows * s * d[3]);
  k->reduce(MX_REDUCE_SUM, mx_op_data(c->out_grad[0]), half, rows * s * d[3], s, 1);
  k->reduce(MX_REDUCE_SUM, half, t, rows, s, d[3]);
  mx_table_finish(k, r, dx, t, n);
  return MX_OK;
}

/* backward: the half-summed gradient (data size x scale), then an 'add' target */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out, int nout,
                         int bwd) {
  int64_t n = mx_shape_numel(&in[0]);
  return bwd ? n * P(a)->scale + n : n * P(a)->scale * P(a)->scale;
}

const mx_op mx_op_upsampling = {
    .name = "UpSampling",
    .doc = "Repeats each pixel of NCHW data scale x scale times (sample_type 'nearest').",
    MX_OP_PARAMS(upsampling_param, params),
    .arguments = arg_names,
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
