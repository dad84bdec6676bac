/* leaky_relu.c: LeakyReLU: leaky (x or slope*x), elu (x or slope*(e^x - 1)), prelu (x or
 * gamma[c]*x with a learnt gamma per channel of axis 1), rrelu (a slope drawn uniformly in
 * [lower_bound, upper_bound) per element in training, their mean at inference; hidden mask). */
#include "leaky_relu.h"
#include "operator.h"

#define P(a) MX_PARAMS(leaky_relu_param, a)
static const mx_param_desc params[] = {
    MX_PARAM(leaky_relu_param, act_type, MX_PARAM_ENUM, "leaky", "elu|leaky|prelu|rrelu|gelu|selu",
             "the activation (gelu and selu are refused)"),
    MX_PARAM(leaky_relu_param, slope, MX_PARAM_FLOAT, "0.25", NULL, "slope of leaky, scale of elu"),
    MX_PARAM(leaky_relu_param, lower_bound, MX_PARAM_FLOAT, "0.125", NULL, "rrelu: lowest random slope"),
    MX_PARAM(leaky_relu_param, upper_bound, MX_PARAM_FLOAT, "0.334", NULL, "rrelu: highest random slope"),
};

static int list_args(const mx_op_attrs *a, const char **names) {
  names[0] = "data";
  if (P(a)->act_type != LEAKY_PRELU) return 1;
  names[1] = "gamma";
  return 2;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout, mx_shape *aux, int naux) {
  if (P(a)->act_type >= LEAKY_GELU)
    return mx_op_error(a, MX_ERR_ARG, "act_type %s is not supported",
                       mx_op_param_text(a, "act_type"));
  if (in[0].ndim == 0) return MX_OK;
  mx_status st = mx_shape_fill(a, "output", &out[0], &in[0]);
  if (st == MX_OK) st = mx_shape_fill(a, "mask", &out[1], &in[0]);
  if (st != MX_OK || nin < 2) return st;
  char b[96];
  if (in[0].ndim < 2)
    return mx_op_error(a, MX_ERR_SHAPE, "prelu needs a channel axis 1 (data %s)",
                       mx_shape_fmt(&in[0], b, sizeof b));
  mx_shape g = {1, {in[0].dim[1]}};
  return mx_shape_fill(a, "gamma", &in[1], &g);
}

static mx_status forward_cpu(const mx_op_call *c) {
  const leaky_relu_param *p = P(c->attrs);
  mx_req r = c->req[0];
  const float *x = mx_op_data(c->in[0]), *gamma = p->act_type == LEAKY_PRELU ? mx_op_data(c->in[1]) : NULL;
  float *y = mx_op_data(c->out[0]), *mask = mx_op_data(c->out[1]);
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  leaky_relu_view(c->in[0], &outer, &ch, &inner);
  if (p->act_type == LEAKY_RRELU) { /* mask: the factor of each element */
    if (c->is_train) {
      mx_status st = mx_random_uniform(p->lower_bound, p->upper_bound, c->out[1]);
      if (st != MX_OK) return st;
    }
    for (int64_t i = 0; i < n; i++)
      mask[i] = leaky_rrelu_mask(x[i], c->is_train ? mask[i] : (p->lower_bound + p->upper_bound) / 2.0f);
  }
  for (int64_t i = 0; i < n; i++)
    mx_req_store(r, &y[i], leaky_relu_fwd(p->act_type, x[i], p->slope, gamma ? gamma[i / inner % ch] : 0.0f, mask[i]));
  return MX_OK;
}

static mx_status backward_cpu(const mx_op_call *c) {
  const leaky_relu_param *p = P(c->attrs);
  const float *x = mx_op_data(c->in[0]), *dy = mx_op_data(c->out_grad[0]), *mask = mx_op_data(c->out[1]);
  const float *gamma = p->act_type == LEAKY_PRELU ? mx_op_data(c->in[1]) : NULL;
  int64_t n = mx_op_size(c->in[0]), outer, ch, inner;
  leaky_relu_view(c->in[0], &outer, &ch, &inner);
  if (gamma && c->req[1] != MX_REQ_NULL) {
    float *dg = mx_op_data(c->in_grad[1]);
    for (int64_t k = 0; k < ch; k++)
      mx_req_store(c->req[1], &dg[k], leaky_prelu_gamma_grad(x, dy, outer, ch, inner, k));
  }
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  float *dx = mx_op_data(c->in_grad[0]);
  for (int64_t i = 0; i < n; i++)
    mx_req_store(r, &dx[i],
                 leaky_relu_bwd(p->act_type, x[i], dy[i], p->slope, gamma ? gamma[i / inner % ch] : 0.0f, mask[i]));
  return MX_OK;
}

const mx_op mx_op_leaky_relu = {
    .name = "LeakyReLU",
    .doc = "Leaky rectifiers: leaky, elu, prelu (learnt slope per channel), rrelu (random slope in "
           "training).",
    MX_OP_PARAMS(leaky_relu_param, params),
    .arguments = (const char *const[]){"data", "gamma", NULL},
    .outputs = (const char *const[]){"output", "mask", NULL},
    .hidden_outputs = 1,
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu},
    .backward = {[MX_DEV_CPU] = backward_cpu},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
};
