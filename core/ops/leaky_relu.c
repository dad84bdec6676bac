/* leaky_relu.c: LeakyReLU: leaky (x or slope*x), elu (x or slope*(e^x - 1)), prelu (x or
 * gamma[c]*x with a learnt gamma per channel of axis 1), rrelu (a slope drawn uniformly in
 * [lower_bound, upper_bound) per element in training, their mean at inference; hidden mask). */
#include <math.h>

#include "operator.h"

enum { P_ACT_TYPE, P_SLOPE, P_LOWER, P_UPPER };
enum { ELU, LEAKY, PRELU, RRELU, GELU, SELU };
static const mx_param_desc params[] = {
    {"act_type", MX_PARAM_ENUM, "leaky", "elu|leaky|prelu|rrelu|gelu|selu",
     "the activation (gelu and selu are refused)"},
    {"slope", MX_PARAM_FLOAT, "0.25", NULL, "slope of leaky, scale of elu"},
    {"lower_bound", MX_PARAM_FLOAT, "0.125", NULL, "rrelu: lowest random slope"},
    {"upper_bound", MX_PARAM_FLOAT, "0.334", NULL, "rrelu: highest random slope"},
};

static int list_args(const mx_op_attrs *a, const char **names) {
  names[0] = "data";
  if (MX_PINT(a, P_ACT_TYPE) != PRELU) return 1;
  names[1] = "gamma";
  return 2;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (MX_PINT(a, P_ACT_TYPE) >= GELU)
    return mx_error_at(MX_ERR_ARG, "mx_symbol_infer_shape", "LeakyReLU %s: act_type %s is not supported",
                    a->node_name ? a->node_name : "", a->p[P_ACT_TYPE].str);
  if (in[0].ndim == 0) return MX_OK;
  mx_status st = mx_shape_fill(a, "output", &out[0], &in[0]);
  if (st == MX_OK) st = mx_shape_fill(a, "mask", &out[1], &in[0]);
  if (st != MX_OK || nin < 2) return st;
  char b[96];
  if (in[0].ndim < 2)
    return mx_error_at(MX_ERR_SHAPE,
                    "mx_symbol_infer_shape", "LeakyReLU %s: prelu needs a channel axis 1 (data %s)",
                    a->node_name ? a->node_name : "", mx_shape_fmt(&in[0], b, sizeof b));
  mx_shape g = {1, {in[0].dim[1]}};
  return mx_shape_fill(a, "gamma", &in[1], &g);
}

/* data as (outer, ch, inner) around axis 1 (prelu's channels) */
static void view(const mx_ndarray *x, int64_t *outer, int64_t *ch, int64_t *inner) {
  int nd = mx_ndarray_ndim(x);
  const int64_t *s = mx_ndarray_shape(x);
  *outer = nd > 0 ? s[0] : 1;
  *ch = nd > 1 ? s[1] : 1;
  *inner = 1;
  for (int i = 2; i < nd; i++) *inner *= s[i];
}

static mx_status forward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  int type = (int)MX_PINT(c->attrs, P_ACT_TYPE);
  float slope = MX_PFLOAT(c->attrs, P_SLOPE), lo = MX_PFLOAT(c->attrs, P_LOWER),
        hi = MX_PFLOAT(c->attrs, P_UPPER);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]), *mask = mx_op_data(c->out[1]);
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  switch (type) {
  case ELU:
    for (int64_t i = 0; i < n; i++)
      mx_req_store(r, &y[i], x[i] > 0.0f ? x[i] : slope * expm1f(x[i]));
    break;
  case LEAKY:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], x[i] > 0.0f ? x[i] : slope * x[i]);
    break;
  case PRELU: {
    const float *gamma = mx_op_data(c->in[1]);
    view(c->in[0], &outer, &ch, &inner);
    for (int64_t o = 0; o < outer; o++)
      for (int64_t k = 0; k < ch; k++)
        for (int64_t i = 0, base = (o * ch + k) * inner; i < inner; i++)
          mx_req_store(r, &y[base + i], x[base + i] > 0.0f ? x[base + i] : gamma[k] * x[base + i]);
    break;
  }
  default: /* rrelu: mask holds the factor of each element */
    if (c->is_train) {
      mx_status st = mx_random_uniform(lo, hi, c->out[1]);
      if (st != MX_OK) return st;
    } else {
      for (int64_t i = 0; i < n; i++) mask[i] = (lo + hi) / 2.0f;
    }
    for (int64_t i = 0; i < n; i++) {
      if (x[i] > 0.0f) mask[i] = 1.0f;
      mx_req_store(r, &y[i], x[i] * mask[i]);
    }
    break;
  }
  return MX_OK;
}

static mx_status backward_cpu(const mx_op_call *c) {
  int type = (int)MX_PINT(c->attrs, P_ACT_TYPE);
  float slope = MX_PFLOAT(c->attrs, P_SLOPE);
  const float *x = mx_op_data(c->in[0]), *dy = mx_op_data(c->out_grad[0]),
              *mask = mx_op_data(c->out[1]);
  mx_req r = c->req[0];
  float *dx = r != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL;
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  if (type == PRELU) {
    const float *gamma = mx_op_data(c->in[1]);
    float *dg = c->req[1] != MX_REQ_NULL ? mx_op_data(c->in_grad[1]) : NULL;
    view(c->in[0], &outer, &ch, &inner);
    for (int64_t k = 0; k < ch; k++) {
      double s = 0;
      for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0, base = (o * ch + k) * inner; i < inner; i++) {
          float v = x[base + i], d = dy[base + i];
          if (v <= 0.0f) s += d * v;
          if (dx) mx_req_store(r, &dx[base + i], v > 0.0f ? d : gamma[k] * d);
        }
      if (dg) mx_req_store(c->req[1], &dg[k], (float)s);
    }
    return MX_OK;
  }
  if (!dx) return MX_OK;
  for (int64_t i = 0; i < n; i++) {
    float f = type == ELU     ? (x[i] > 0.0f ? 1.0f : slope * expf(x[i]))
              : type == LEAKY ? (x[i] > 0.0f ? 1.0f : slope)
                              : mask[i];
    mx_req_store(r, &dx[i], dy[i] * f);
  }
  return MX_OK;
}

mx_status mx_op_leaky_relu_forward_gpu(const mx_op_call *c); /* leaky_relu.cu */
mx_status mx_op_leaky_relu_backward_gpu(const mx_op_call *c);

const mx_op mx_op_leaky_relu = {
    .name = "LeakyReLU",
    .doc = "Leaky rectifiers: leaky, elu, prelu (learnt slope per channel), rrelu (random slope in "
           "training).",
    .params = params,
    .nparams = 4,
    .arguments = (const char *const[]){"data", "gamma", NULL},
    .outputs = (const char *const[]){"output", "mask", NULL},
    .hidden_outputs = 1,
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_leaky_relu_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_leaky_relu_backward_gpu)},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
};
