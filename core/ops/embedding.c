/* embedding.c: Embedding: out[..., :] = weight[index, :] for each index of data (0-based ids
 * stored as floats, clipped to [0, input_dim-1]); weight (input_dim, output_dim). The
 * indices get no gradient (zeros); the weight's gradient adds up the rows each id picked. */
#include "embedding.h"
#include "operator.h"

static const mx_param_desc params[] = {
    MX_PARAM(embedding_param, input_dim, MX_PARAM_INT, NULL, NULL, "vocabulary size (rows of weight)"),
    MX_PARAM(embedding_param, output_dim, MX_PARAM_INT, NULL, NULL, "embedding size (columns of weight)"),
    MX_PARAM(embedding_param, dtype, MX_PARAM_STRING, "float32", NULL, "float32 only"),
    MX_PARAM(embedding_param, sparse_grad, MX_PARAM_BOOL, "False", NULL, "accepted for MXNet compatibility (the gradient is dense)"),
};
#define P(a) MX_PARAMS(embedding_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  int64_t vin = P(a)->input_dim, vout = P(a)->output_dim;
  if (vin < 1 || vout < 1)
    return mx_op_error(a, MX_ERR_ARG,
                       "input_dim and output_dim must be >= 1 "
                       "(got %lld, %lld)",
                       (long long)vin, (long long)vout);
  if (strcmp(P(a)->dtype, "float32"))
    return mx_op_error(a, MX_ERR_ARG, "dtype %s not supported (expected float32)", P(a)->dtype);
  mx_shape w = {2, {vin, vout}};
  mx_status st = mx_shape_fill(a, "weight", &in[1], &w);
  if (st != MX_OK || in[0].ndim == 0) return st;
  if (in[0].ndim == MX_MAX_NDIM)
    return mx_op_error(a, MX_ERR_SHAPE, "data has %d axes (at most %d)", in[0].ndim,
                       MX_MAX_NDIM - 1);
  mx_shape o = in[0];
  o.dim[o.ndim++] = vout;
  return mx_shape_fill(a, "output", &out[0], &o);
}

static mx_status forward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int64_t rows = P(c->attrs)->input_dim, d = P(c->attrs)->output_dim,
          n = mx_op_size(c->in[0]);
  const float *idx = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]);
  float *y = mx_op_data(c->out[0]);
  for (int64_t i = 0; i < n; i++)
    mx_req_copy(c->req[0], y + i * d, w + embedding_row(idx[i], rows) * d, d);
  return MX_OK;
}

static mx_status backward_cpu(const mx_op_call *c) {
  int64_t rows = P(c->attrs)->input_dim, d = P(c->attrs)->output_dim,
          n = mx_op_size(c->in[0]);
  const float *idx = mx_op_data(c->in[0]), *dy = mx_op_data(c->out_grad[0]);
  if (c->req[0] == MX_REQ_WRITE || c->req[0] == MX_REQ_INPLACE)
    memset(mx_op_data(c->in_grad[0]), 0, (size_t)n * sizeof(float));
  if (c->req[1] == MX_REQ_NULL) return MX_OK;
  float *dw = mx_op_data(c->in_grad[1]);
  if (c->req[1] != MX_REQ_ADD) memset(dw, 0, (size_t)(rows * d) * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    float *row = dw + embedding_row(idx[i], rows) * d;
    const float *g = dy + i * d;
    for (int64_t j = 0; j < d; j++) row[j] += g[j];
  }
  return MX_OK;
}

const mx_op mx_op_embedding = {
    .name = "Embedding",
    .doc =
        "Maps integer ids (0-based, as floats) to rows of a learnt weight (input_dim, output_dim).",
    MX_OP_PARAMS(embedding_param, params),
    .arguments = (const char *const[]){"data", "weight", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu},
    .backward = {[MX_DEV_CPU] = backward_cpu},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
};
