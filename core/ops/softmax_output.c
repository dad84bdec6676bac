/* softmax_output.c: SoftmaxOutput (and its old name Softmax), a loss layer whose
 * gradient is (softmax - onehot(label)) * grad_scale / valid_count, as MXNet;
 * softmax / log_softmax over one axis and SoftmaxActivation (instance or channel),
 * plain operators with no loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"
#include "softmax_output.h"

static const mx_param_desc params[] = {
    MX_PARAM(softmax_output_param, grad_scale, MX_PARAM_FLOAT, "1", NULL, "scales the gradient"),
    MX_PARAM(softmax_output_param, ignore_label, MX_PARAM_FLOAT, "-1", NULL, "the label to ignore when use_ignore is set"),
    MX_PARAM(softmax_output_param, multi_output, MX_PARAM_BOOL, "False", NULL, "softmax over axis 1 of (n, k, rest...), labels (n, rest...)"),
    MX_PARAM(softmax_output_param, use_ignore, MX_PARAM_BOOL, "False", NULL, "zero the gradient of rows whose label is ignore_label"),
    MX_PARAM(softmax_output_param, preserve_shape, MX_PARAM_BOOL, "False", NULL, "softmax over the last axis, keeping the shape"),
    MX_PARAM(softmax_output_param, normalization, MX_PARAM_ENUM, "null", "null|batch|valid", "divide the gradient by 1, the batch size, or the count of valid labels"),
    MX_PARAM(softmax_output_param, out_grad, MX_PARAM_BOOL, "False", NULL, "multiply the gradient by the gradient from above"),
    MX_PARAM(softmax_output_param, smooth_alpha, MX_PARAM_FLOAT, "0", NULL, "label smoothing (only 0 is supported)"),
};
#define P(a) MX_PARAMS(softmax_output_param, a)

/* The data seen as (outer, k, inner): softmax over k. */
static void geometry(const mx_op_attrs *a, const int64_t *shape, int ndim, int64_t *outer,
                     int64_t *k, int64_t *inner) {
  int64_t size = mx_shape_size(shape, ndim);
  if (P(a)->preserve_shape) {
    *k = shape[ndim - 1];
    *inner = 1;
  } else if (P(a)->multi_output) {
    *k = ndim > 1 ? shape[1] : 1;
    *inner = size / (shape[0] * *k);
  } else {
    *k = size / shape[0];
    *inner = 1;
  }
  *outer = size / (*k * *inner);
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (P(a)->smooth_alpha != 0.0f)
    return mx_op_error(a, MX_ERR_ARG, "smooth_alpha %s (label smoothing) is not supported",
                       mx_op_param_text(a, "smooth_alpha"));
  if (in[0].ndim == 0) return MX_OK;
  mx_shape label = {0, {0}};
  if (P(a)->preserve_shape) {
    label = in[0];
    label.ndim--;
  } else if (P(a)->multi_output) {
    label.ndim = in[0].ndim - 1;
    label.dim[0] = in[0].dim[0];
    for (int i = 2; i < in[0].ndim; i++) label.dim[i - 1] = in[0].dim[i];
  } else {
    label.ndim = 1;
    label.dim[0] = in[0].dim[0];
  }
  if (label.ndim == 0) label = (mx_shape){1, {1}};
  mx_status st = MX_OK;
  if (!mx_shape_eq(&in[1], &in[0])) /* a label of the data's shape is a distribution */
    st = mx_shape_fill(a, "label", &in[1], &label);
  if (st == MX_OK) st = mx_shape_fill(a, "output", &out[0], &in[0]);
  return st;
}

/* y = softmax(x) over k, with (outer, k, inner) strides; x may equal y. */
static void softmax_rows(const float *x, float *y, int64_t outer, int64_t k, int64_t inner, int log_form) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) softmax_row(x + o * k * inner + in, y + o * k * inner + in, k, inner, log_form);
}

static mx_status forward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int64_t outer, k, inner;
  geometry(c->attrs, mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), &outer, &k, &inner);
  softmax_rows(mx_op_data(c->in[0]), mx_op_data(c->out[0]), outer, k, inner, 0);
  return MX_OK;
}

static mx_status backward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (c->req[1] != MX_REQ_NULL && c->req[1] != MX_REQ_ADD) /* the label gets no gradient */
    for (int64_t i = 0, n = mx_op_size(c->in_grad[1]); i < n; i++)
      mx_op_data(c->in_grad[1])[i] = 0.0f;
  if (r == MX_REQ_NULL) return MX_OK;
  const mx_op_attrs *a = c->attrs;
  int64_t outer, k, inner;
  geometry(a, mx_ndarray_shape(c->out[0]), mx_ndarray_ndim(c->out[0]), &outer, &k, &inner);
  const float *p = mx_op_data(c->out[0]), *label = mx_op_data(c->in[1]);
  const float *og = c->out_grad ? (c->out_grad[0] ? mx_op_data(c->out_grad[0]) : NULL) : NULL;
  float *g = mx_op_data(c->in_grad[0]);
  int64_t n = outer * k * inner;
  float ignore = P(a)->ignore_label;
  int use_ignore = P(a)->use_ignore;
  int dist = mx_op_size(c->in[1]) == n; /* label is a distribution */
  int64_t nlabels = dist ? outer * inner : mx_op_size(c->in[1]), valid = 0;
  for (int64_t i = 0; i < nlabels; i++) valid += dist || label[i] != ignore;
  for (int64_t i = 0; !dist && i < nlabels; i++) { /* class ids: refused out of range, as take */
    float l = label[i];
    if ((use_ignore && l == ignore) || (l >= 0.0f && l < (float)k && l == floorf(l))) continue;
    return mx_op_error(
        a, MX_ERR_ARG,
        "label %g (at position %lld) out of range for %lld classes (expected an integer "
        "in 0..%lld)",
        l, (long long)i, (long long)k, (long long)k - 1);
  }
  double scale = softmax_output_scale(P(a), outer, inner, valid);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * k * inner + in;
      float lab = dist ? 0.0f : label[o * inner + in];
      int skip = !dist && use_ignore && lab == ignore;
      for (int64_t j = 0; j < k; j++) {
        int64_t idx = base + j * inner;
        mx_req_store(r, &g[idx], softmax_output_grad(p[idx], j, lab, dist ? label[idx] : 0.0f, dist, skip, scale,
                                                     og ? og + idx : NULL));
      }
    }
  return MX_OK;
}

static unsigned softmax_output_needs(const mx_op_attrs *a) {
  return MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA |
         (P(a)->out_grad ? MX_OP_BWD_OUT_GRAD : 0u);
}

/* softmax_output.cu, which shares the geometry below */
void mx_op_softmax_geometry(const mx_op_attrs *a, const int64_t *shape, int ndim, int64_t *outer,
                            int64_t *k, int64_t *inner);
mx_status mx_op_softmax_axis_geometry(const mx_op_call *c, const mx_ndarray *arr, int64_t *outer,
                                      int64_t *k, int64_t *inner);
void mx_op_softmax_geometry(const mx_op_attrs *a, const int64_t *shape, int ndim, int64_t *outer,
                            int64_t *k, int64_t *inner) {
  geometry(a, shape, ndim, outer, k, inner);
}
#define SOFTMAX_OUTPUT_FIELDS                                                                      \
  MX_OP_PARAMS(softmax_output_param, params), .arguments = (const char *const[]){"data", "label", NULL},       \
  .outputs = (const char *const[]){"output", NULL}, .infer_shape = infer,                          \
  .forward =                                                                                       \
      {[MX_DEV_CPU] = forward_cpu},       \
  .backward =                                                                                      \
      {[MX_DEV_CPU] = backward_cpu},     \
  .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_LOSS | MX_OP_INPLACE,                    \
  .backward_needs = softmax_output_needs

const mx_op mx_op_softmax_output = {
    .name = "SoftmaxOutput",
    .doc = "Softmax with cross-entropy loss: forward gives the probabilities; the gradient is "
           "(softmax - onehot(label)) * grad_scale / valid_count.",
    SOFTMAX_OUTPUT_FIELDS,
};

const mx_op mx_op_softmax_legacy = {
    .name = "Softmax",
    .doc = "The old name of SoftmaxOutput.",
    SOFTMAX_OUTPUT_FIELDS,
};

/* ---- softmax / log_softmax over one axis (no loss) ---- */
static const mx_param_desc axis_params[] = {
    MX_PARAM(softmax_axis_param, axis, MX_PARAM_INT, "-1", NULL, "the axis (0-based; negative counts from the end)"),
    MX_PARAM(softmax_axis_param, temperature, MX_PARAM_STRING, "None", NULL, "divides the input (only None or 1 supported)"),
    MX_PARAM(softmax_axis_param, dtype, MX_PARAM_STRING, "None", NULL, "the output type (only None or float32 supported)"),
    MX_PARAM(softmax_axis_param, use_length, MX_PARAM_BOOL, "False", NULL, "a length input masks each row (not supported)"),
};
#define PA(a) MX_PARAMS(softmax_axis_param, a)

extern const mx_op mx_op_softmax_activation;
static const mx_param_desc activation_params[] = {
    MX_PARAM(softmax_activation_param, mode, MX_PARAM_ENUM, "instance", "instance|channel",
             "instance: over all axes but the first; channel: over axis 1 at each position"),
};

/* SoftmaxActivation as a softmax over one axis: instance mode sees (n, rest) as one row per
 * sample; channel mode is axis 1 of (n, c, rest...). */
static void activation_geometry(const mx_op_attrs *a, const int64_t *shape, int ndim,
                                int64_t *outer, int64_t *k, int64_t *inner) {
  *outer = shape[0];
  if (MX_PARAMS(softmax_activation_param, a)->mode == MODE_CHANNEL) {
    *k = ndim > 1 ? shape[1] : 1;
    *inner = mx_shape_size(shape + 2, ndim > 2 ? ndim - 2 : 0);
  } else {
    *k = mx_shape_size(shape + 1, ndim - 1);
    *inner = 1;
  }
}

static mx_status axis_geometry(const mx_op_call *c, const mx_ndarray *arr, int64_t *outer,
                               int64_t *k, int64_t *inner) {
  int ndim = mx_ndarray_ndim(arr);
  const int64_t *shape = mx_ndarray_shape(arr);
  if (c->attrs->op == &mx_op_softmax_activation) {
    activation_geometry(c->attrs, shape, ndim, outer, k, inner);
    return MX_OK;
  }
  int axis = (int)PA(c->attrs)->axis;
  if (axis < 0) axis += ndim;
  if (axis < 0 || axis >= ndim)
    return mx_op_error(c->attrs, MX_ERR_ARG,
                       "axis %d out of range for %d axes (operator axes are 0-based: expected 0 "
                       "to %d, or -%d to -1)",
                       (int)PA(c->attrs)->axis, ndim, ndim - 1, ndim);
  *outer = mx_shape_size(shape, axis);
  *k = shape[axis];
  *inner = mx_shape_size(shape + axis + 1, ndim - axis - 1);
  return MX_OK;
}

/* The axis is checked here, so a bad one is reported at bind (or infer_shape). */
static mx_status axis_infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                            mx_shape *aux, int naux) {
  mx_status st = mx_op_infer_same(a, in, nin, out, nout, aux, naux);
  if (a->op == &mx_op_softmax_activation) return st;
  const char *t = PA(a)->temperature, *dt = PA(a)->dtype;
  if (strcmp(t, "None") && strtod(t, NULL) != 1.0)
    return mx_op_error(a, MX_ERR_ARG, "temperature %s is not supported (only 1)", t);
  if (strcmp(dt, "None") && strcmp(dt, "float32"))
    return mx_op_error(a, MX_ERR_ARG, "dtype %s is not supported (only float32)", dt);
  if (PA(a)->use_length) return mx_op_error(a, MX_ERR_ARG, "use_length is not supported");
  int ndim = in[0].ndim, axis = (int)PA(a)->axis;
  if (st == MX_OK && ndim && (axis < -ndim || axis >= ndim)) {
    char b[96];
    return mx_op_error(a, MX_ERR_SHAPE,
                       "axis %d out of range for data %s (operator "
                       "axes are 0-based: expected 0 to %d, or -%d to -1)",
                       axis, mx_shape_fmt(&in[0], b, sizeof b), ndim - 1, ndim);
  }
  return st;
}

static mx_status axis_forward(const mx_op_call *c, int log_form) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int64_t outer, k, inner;
  mx_status st = axis_geometry(c, c->in[0], &outer, &k, &inner);
  if (st != MX_OK) return st;
  if (c->req[0] == MX_REQ_ADD)
    return mx_op_error(c->attrs, MX_ERR_ARG, "request 'add' is not supported");
  softmax_rows(mx_op_data(c->in[0]), mx_op_data(c->out[0]), outer, k, inner, log_form);
  return MX_OK;
}

/* softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - e^y sum(dy). */
static mx_status axis_backward(const mx_op_call *c, int log_form) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  int64_t outer, k, inner;
  mx_status st = axis_geometry(c, c->out[0], &outer, &k, &inner);
  if (st != MX_OK) return st;
  const float *y = mx_op_data(c->out[0]), *dy = mx_op_data(c->out_grad[0]);
  float *dx = mx_op_data(c->in_grad[0]);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * k * inner + in;
      double s = softmax_row_grad_sum(y + base, dy + base, k, inner, log_form);
      for (int64_t j = 0; j < k; j++) {
        int64_t i = base + j * inner;
        mx_req_store(r, &dx[i], softmax_grad(y[i], dy[i], s, log_form));
      }
    }
  return MX_OK;
}

mx_status mx_op_softmax_axis_geometry(const mx_op_call *c, const mx_ndarray *arr, int64_t *outer,
                                      int64_t *k, int64_t *inner) {
  return axis_geometry(c, arr, outer, k, inner);
}

static mx_status softmax_fwd(const mx_op_call *c) {
  return axis_forward(c, 0);
}
static mx_status softmax_bwd(const mx_op_call *c) {
  return axis_backward(c, 0);
}
static mx_status log_softmax_fwd(const mx_op_call *c) {
  return axis_forward(c, 1);
}
static mx_status log_softmax_bwd(const mx_op_call *c) {
  return axis_backward(c, 1);
}

const mx_op mx_op_softmax = {
    .name = "softmax",
    .doc = "Softmax over one axis (default the last); no loss.",
    MX_OP_PARAMS(softmax_axis_param, axis_params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = axis_infer,
    .forward = {[MX_DEV_CPU] = softmax_fwd},
    .backward = {[MX_DEV_CPU] = softmax_bwd},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
};

const mx_op mx_op_log_softmax = {
    .name = "log_softmax",
    .doc = "Log of the softmax over one axis (default the last); no loss.",
    MX_OP_PARAMS(softmax_axis_param, axis_params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = axis_infer,
    .forward =
        {[MX_DEV_CPU] = log_softmax_fwd},
    .backward =
        {[MX_DEV_CPU] = log_softmax_bwd},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
};

const mx_op mx_op_softmax_activation = {
    .name = "SoftmaxActivation",
    .doc = "Softmax without a loss (MXNet 0.x): mode instance over each sample's values, "
           "channel over axis 1 at each position.",
    MX_OP_PARAMS(softmax_activation_param, activation_params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = axis_infer,
    .forward = {[MX_DEV_CPU] = softmax_fwd},
    .backward = {[MX_DEV_CPU] = softmax_bwd},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
};
