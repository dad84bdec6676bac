/* batch_norm.c: BatchNorm over one channel axis (default 1): batch statistics in training
 * (kept as hidden outputs mean/var for backward; aux moving_mean/moving_var updated as
 * m*moving + (1-m)*batch), the moving statistics at inference or with use_global_stats. */
#include <math.h>

#include "operator.h"
#include "batch_norm.h"

static const mx_param_desc params[] = {
    MX_PARAM(batch_norm_param, eps, MX_PARAM_FLOAT, "0.001", NULL, "added to the variance before the square root"),
    MX_PARAM(batch_norm_param, momentum, MX_PARAM_FLOAT, "0.9", NULL, "moving = momentum * moving + (1 - momentum) * batch statistic"),
    MX_PARAM(batch_norm_param, fix_gamma, MX_PARAM_BOOL, "True", NULL, "use gamma = 1 (its gradient is 0)"),
    MX_PARAM(batch_norm_param, use_global_stats, MX_PARAM_BOOL, "False", NULL, "normalize with the moving statistics in training too"),
    MX_PARAM(batch_norm_param, output_mean_var, MX_PARAM_BOOL, "False", NULL, "not supported: the batch mean and var stay hidden"),
    MX_PARAM(batch_norm_param, axis, MX_PARAM_INT, "1", NULL, "the channel axis (negative counts from the end)"),
    MX_PARAM(batch_norm_param, cudnn_off, MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"),
    MX_PARAM(batch_norm_param, min_calib_range, MX_PARAM_STRING, "None", NULL, "MXNet's int8 quantisation range (float32 here: accepted, no effect)"),
    MX_PARAM(batch_norm_param, max_calib_range, MX_PARAM_STRING, "None", NULL, "MXNet's int8 quantisation range (float32 here: accepted, no effect)"),
};
#define P(a) MX_PARAMS(batch_norm_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (P(a)->output_mean_var)
    return mx_op_error(a, MX_ERR_ARG, "output_mean_var=True is not supported");
  if (in[0].ndim == 0) return MX_OK;
  int64_t axis = P(a)->axis;
  if (axis < 0) axis += in[0].ndim;
  char b[96];
  if (axis < 0 || axis >= in[0].ndim)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "axis %lld out of range for data %s "
                       "(operator axes are 0-based: expected 0 to %d, or -%d to -1)",
                       (long long)P(a)->axis, mx_shape_fmt(&in[0], b, sizeof b), in[0].ndim - 1,
                       in[0].ndim);
  mx_shape ch = {1, {in[0].dim[axis]}};
  mx_status st = mx_shape_fill(a, "gamma", &in[1], &ch);
  if (st == MX_OK) st = mx_shape_fill(a, "beta", &in[2], &ch);
  if (st == MX_OK) st = mx_shape_fill(a, "output", &out[0], &in[0]);
  if (st == MX_OK) st = mx_shape_fill(a, "mean", &out[1], &ch);
  if (st == MX_OK) st = mx_shape_fill(a, "var", &out[2], &ch);
  if (st == MX_OK) st = mx_shape_fill(a, "moving_mean", &aux[0], &ch);
  if (st == MX_OK) st = mx_shape_fill(a, "moving_var", &aux[1], &ch);
  return st;
}

static mx_status forward_cpu(const mx_op_call *c) {
  bn_args a = bn_args_of(c);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]);
  double m = (double)(a.outer * a.inner);
  for (int64_t k = 0; k < a.ch; k++) {
    double s = 0, s2 = 0;
    if (a.batch) {
      for (int64_t o = 0; o < a.outer; o++) {
        const float *p = x + (o * a.ch + k) * a.inner;
        for (int64_t i = 0; i < a.inner; i++) s += p[i];
      }
      double dmu = s / m;
      for (int64_t o = 0; o < a.outer; o++) {
        const float *p = x + (o * a.ch + k) * a.inner;
        for (int64_t i = 0; i < a.inner; i++) s2 += (p[i] - dmu) * (p[i] - dmu);
      }
    }
    float scale, shift;
    bn_channel(&a, k, s, s2, m, mx_op_data(c->in[1]), mx_op_data(c->in[2]), mx_op_data(c->out[1]),
               mx_op_data(c->out[2]), mx_op_data(c->aux[0]), mx_op_data(c->aux[1]), &scale, &shift);
    for (int64_t o = 0; o < a.outer; o++) {
      const float *p = x + (o * a.ch + k) * a.inner;
      float *q = y + (o * a.ch + k) * a.inner;
      for (int64_t i = 0; i < a.inner; i++) mx_req_store(c->req[0], &q[i], p[i] * scale + shift);
    }
  }
  return MX_OK;
}

static mx_status backward_cpu(const mx_op_call *c) {
  bn_args a = bn_args_of(c);
  const float *x = mx_op_data(c->in[0]), *gamma = mx_op_data(c->in[1]), *dy = mx_op_data(c->out_grad[0]);
  const float *mean = mx_op_data(c->out[1]), *var = mx_op_data(c->out[2]);
  float *dx = c->req[0] != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL;
  double m = (double)(a.outer * a.inner);
  for (int64_t k = 0; k < a.ch; k++) {
    float mu = mean[k], istd = 1.0f / sqrtf(var[k] + a.eps);
    double sdy = 0, sdyx = 0;
    for (int64_t o = 0; o < a.outer; o++) {
      const float *p = x + (o * a.ch + k) * a.inner, *d = dy + (o * a.ch + k) * a.inner;
      for (int64_t i = 0; i < a.inner; i++) {
        sdy += d[i];
        sdyx += d[i] * (p[i] - mu) * istd;
      }
    }
    bn_grad r = bn_channel_grad(&a, a.fix ? 1.0f : gamma[k], istd, sdy, sdyx, m);
    if (c->req[1] != MX_REQ_NULL) mx_req_store(c->req[1], &((float *)mx_op_data(c->in_grad[1]))[k], r.dgamma);
    if (c->req[2] != MX_REQ_NULL) mx_req_store(c->req[2], &((float *)mx_op_data(c->in_grad[2]))[k], r.dbeta);
    if (!dx) continue;
    for (int64_t o = 0; o < a.outer; o++) {
      const float *p = x + (o * a.ch + k) * a.inner, *d = dy + (o * a.ch + k) * a.inner;
      float *q = dx + (o * a.ch + k) * a.inner;
      for (int64_t i = 0; i < a.inner; i++) mx_req_store(c->req[0], &q[i], bn_dx(&r, d[i], p[i], mu, istd));
    }
  }
  return MX_OK;
}

const mx_op mx_op_batch_norm = {
    .name = "BatchNorm",
    .doc = "Batch normalization: (x - mean) / sqrt(var + eps) * gamma + beta per channel; moving "
           "statistics "
           "as auxiliary states.",
    MX_OP_PARAMS(batch_norm_param, params),
    .arguments = (const char *const[]){"data", "gamma", "beta", NULL},
    .outputs = (const char *const[]){"output", "mean", "var", NULL},
    .aux_states = (const char *const[]){"moving_mean", "moving_var", NULL},
    .hidden_outputs = 2,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu},
    .backward = {[MX_DEV_CPU] = backward_cpu},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
};
