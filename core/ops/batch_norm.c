/* batch_norm.c: BatchNorm over one channel axis (default 1): batch statistics in training
 * (kept as hidden outputs mean/var for backward; aux moving_mean/moving_var updated as
 * m*moving + (1-m)*batch), the moving statistics at inference or with use_global_stats. */
#include <math.h>

#include "operator.h"

enum { P_EPS, P_MOMENTUM, P_FIX_GAMMA, P_GLOBAL, P_OUTPUT_MEAN_VAR, P_AXIS, P_CUDNN_OFF, P_MIN_CALIB, P_MAX_CALIB };
static const mx_param_desc params[] = {
    {"eps", MX_PARAM_FLOAT, "0.001", NULL, "added to the variance before the square root"},
    {"momentum", MX_PARAM_FLOAT, "0.9", NULL,
     "moving = momentum * moving + (1 - momentum) * batch statistic"},
    {"fix_gamma", MX_PARAM_BOOL, "True", NULL, "use gamma = 1 (its gradient is 0)"},
    {"use_global_stats", MX_PARAM_BOOL, "False", NULL,
     "normalize with the moving statistics in training too"},
    {"output_mean_var", MX_PARAM_BOOL, "False", NULL,
     "not supported: the batch mean and var stay hidden"},
    {"axis", MX_PARAM_INT, "1", NULL, "the channel axis (negative counts from the end)"},
    {"cudnn_off", MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility"},
    {"min_calib_range", MX_PARAM_STRING, "None", NULL,
     "MXNet's int8 quantisation range (float32 here: accepted, no effect)"},
    {"max_calib_range", MX_PARAM_STRING, "None", NULL,
     "MXNet's int8 quantisation range (float32 here: accepted, no effect)"},
};

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  const char *node = a->node_name ? a->node_name : "";
  if (MX_PBOOL(a, P_OUTPUT_MEAN_VAR))
    return mx_error_at(MX_ERR_ARG,
                    "mx_symbol_infer_shape", "BatchNorm %s: output_mean_var=True is not supported",
                    node);
  if (in[0].ndim == 0) return MX_OK;
  int64_t axis = MX_PINT(a, P_AXIS);
  if (axis < 0) axis += in[0].ndim;
  char b[96];
  if (axis < 0 || axis >= in[0].ndim)
    return mx_error_at(MX_ERR_SHAPE,
                    "mx_symbol_infer_shape", "BatchNorm %s: axis %lld out of range for data %s "
                    "(operator axes are 0-based: expected 0 to %d, or -%d to -1)",
                    node, (long long)MX_PINT(a, P_AXIS), mx_shape_fmt(&in[0], b, sizeof b),
                    in[0].ndim - 1, in[0].ndim);
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

/* data viewed as (outer, ch, inner) */
static void view(const mx_op_call *c, int64_t *outer, int64_t *ch, int64_t *inner) {
  int nd = mx_ndarray_ndim(c->in[0]);
  const int64_t *s = mx_ndarray_shape(c->in[0]);
  int64_t axis = MX_PINT(c->attrs, P_AXIS);
  if (axis < 0) axis += nd;
  *outer = *inner = 1;
  for (int i = 0; i < axis; i++) *outer *= s[i];
  for (int i = (int)axis + 1; i < nd; i++) *inner *= s[i];
  *ch = s[axis];
}

static mx_status forward_cpu(const mx_op_call *c) {
  int64_t outer, ch, inner;
  view(c, &outer, &ch, &inner);
  const float *x = mx_op_data(c->in[0]), *gamma = mx_op_data(c->in[1]),
              *beta = mx_op_data(c->in[2]);
  float *y = mx_op_data(c->out[0]), *mean = mx_op_data(c->out[1]), *var = mx_op_data(c->out[2]);
  float *mm = mx_op_data(c->aux[0]), *mv = mx_op_data(c->aux[1]);
  float eps = MX_PFLOAT(c->attrs, P_EPS), mom = MX_PFLOAT(c->attrs, P_MOMENTUM);
  int fix = MX_PBOOL(c->attrs, P_FIX_GAMMA), batch = c->is_train && !MX_PBOOL(c->attrs, P_GLOBAL);
  double m = (double)(outer * inner);
  for (int64_t k = 0; k < ch; k++) {
    float mu, v;
    if (batch) {
      double s = 0, s2 = 0;
      for (int64_t o = 0; o < outer; o++) {
        const float *p = x + (o * ch + k) * inner;
        for (int64_t i = 0; i < inner; i++) s += p[i];
      }
      double dmu = s / m;
      for (int64_t o = 0; o < outer; o++) {
        const float *p = x + (o * ch + k) * inner;
        for (int64_t i = 0; i < inner; i++) s2 += (p[i] - dmu) * (p[i] - dmu);
      }
      mu = (float)dmu;
      v = (float)(s2 / m);
      mm[k] = mom * mm[k] + (1.0f - mom) * mu;
      mv[k] = mom * mv[k] + (1.0f - mom) * v;
    } else {
      mu = mm[k];
      v = mv[k];
    }
    mean[k] = mu;
    var[k] = v;
    float scale = (fix ? 1.0f : gamma[k]) / sqrtf(v + eps), shift = beta[k] - mu * scale;
    for (int64_t o = 0; o < outer; o++) {
      const float *p = x + (o * ch + k) * inner;
      float *q = y + (o * ch + k) * inner;
      for (int64_t i = 0; i < inner; i++) mx_req_store(c->req[0], &q[i], p[i] * scale + shift);
    }
  }
  return MX_OK;
}

/* With batch statistics: dx = gamma/std * (dy - mean(dy) - xhat * mean(dy * xhat));
 * with the moving ones the statistics are constants: dx = gamma/std * dy. */
static mx_status backward_cpu(const mx_op_call *c) {
  int64_t outer, ch, inner;
  view(c, &outer, &ch, &inner);
  const float *x = mx_op_data(c->in[0]), *gamma = mx_op_data(c->in[1]),
              *dy = mx_op_data(c->out_grad[0]);
  const float *mean = mx_op_data(c->out[1]), *var = mx_op_data(c->out[2]);
  float eps = MX_PFLOAT(c->attrs, P_EPS);
  int fix = MX_PBOOL(c->attrs, P_FIX_GAMMA), global = MX_PBOOL(c->attrs, P_GLOBAL);
  float *dx = c->req[0] != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL;
  double m = (double)(outer * inner);
  for (int64_t k = 0; k < ch; k++) {
    float mu = mean[k], istd = 1.0f / sqrtf(var[k] + eps), g = fix ? 1.0f : gamma[k];
    double sdy = 0, sdyx = 0;
    for (int64_t o = 0; o < outer; o++) {
      const float *p = x + (o * ch + k) * inner, *d = dy + (o * ch + k) * inner;
      for (int64_t i = 0; i < inner; i++) {
        sdy += d[i];
        sdyx += d[i] * (p[i] - mu) * istd;
      }
    }
    if (c->req[1] != MX_REQ_NULL)
      mx_req_store(c->req[1], &((float *)mx_op_data(c->in_grad[1]))[k], fix ? 0.0f : (float)sdyx);
    if (c->req[2] != MX_REQ_NULL)
      mx_req_store(c->req[2], &((float *)mx_op_data(c->in_grad[2]))[k], (float)sdy);
    if (!dx) continue;
    float a = g * istd, mdy = global ? 0.0f : (float)(sdy / m),
          mdyx = global ? 0.0f : (float)(sdyx / m);
    for (int64_t o = 0; o < outer; o++) {
      const float *p = x + (o * ch + k) * inner, *d = dy + (o * ch + k) * inner;
      float *q = dx + (o * ch + k) * inner;
      for (int64_t i = 0; i < inner; i++)
        mx_req_store(c->req[0], &q[i], a * (d[i] - mdy - (p[i] - mu) * istd * mdyx));
    }
  }
  return MX_OK;
}

mx_status mx_op_batch_norm_forward_gpu(const mx_op_call *c); /* batch_norm.cu */
mx_status mx_op_batch_norm_backward_gpu(const mx_op_call *c);

const mx_op mx_op_batch_norm = {
    .name = "BatchNorm",
    .doc = "Batch normalization: (x - mean) / sqrt(var + eps) * gamma + beta per channel; moving "
           "statistics "
           "as auxiliary states.",
    .params = params,
    .nparams = 9,
    .arguments = (const char *const[]){"data", "gamma", "beta", NULL},
    .outputs = (const char *const[]){"output", "mean", "var", NULL},
    .aux_states = (const char *const[]){"moving_mean", "moving_var", NULL},
    .hidden_outputs = 2,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_batch_norm_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_batch_norm_backward_gpu)},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
};
