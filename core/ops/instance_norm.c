/* instance_norm.c: InstanceNorm (MXNet's): each channel of each sample normalised over its
 * positions, y = gamma[c] * (x - mean) / sqrt(var + eps) + beta[c]; mean and var (N, C) are
 * hidden outputs, read by backward. Written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

typedef struct instance_norm_param {
  float eps;
} instance_norm_param;
static const mx_param_desc params[] = {
    MX_PARAM(instance_norm_param, eps, MX_PARAM_FLOAT, "0.001", NULL, "added to the variance"),
};
#define P(a) MX_PARAMS(instance_norm_param, a)
enum { IN_DATA, IN_GAMMA, IN_BETA };

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  char b[96];
  if (in[IN_DATA].ndim == 0) return MX_OK;
  if (in[IN_DATA].ndim < 3)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "data %s needs at least 3 axes "
                       "(batch, channel, positions...)",
                       mx_shape_fmt(&in[IN_DATA], b, sizeof b));
  mx_shape ch = {1, {in[IN_DATA].dim[1]}}, nc = {2, {in[IN_DATA].dim[0], in[IN_DATA].dim[1]}};
  mx_status st = mx_shape_fill(a, "gamma", &in[IN_GAMMA], &ch);
  if (st == MX_OK) st = mx_shape_fill(a, "beta", &in[IN_BETA], &ch);
  if (st == MX_OK) st = mx_shape_fill(a, "output", &out[0], &in[IN_DATA]);
  if (st == MX_OK) st = mx_shape_fill(a, "mean", &out[1], &nc);
  if (st == MX_OK) st = mx_shape_fill(a, "var", &out[2], &nc);
  return st;
}

/* xhat = (x - mean) / sqrt(var + eps) into xhat, and 1 / sqrt(var + eps) into inv (N*C) */
static void normalise(const mx_kernels *k, const float *x, const float *mean, const float *var, float eps,
                      int64_t nc, int64_t s, float *inv, float *xhat) {
  int64_t shape[2] = {nc, s}, sx[2] = {s, 1}, sg[2] = {1, 0};
  k->binary_scalar(MX_BINARY_ADD, var, eps, inv, nc);
  k->unary(MX_UNARY_SQRT, inv, inv, nc);
  k->unary(MX_UNARY_RECIPROCAL, inv, inv, nc);
  k->binary_strided(MX_BINARY_SUB, x, sx, mean, sg, xhat, shape, 2);
  k->binary_strided(MX_BINARY_MUL, xhat, sx, inv, sg, xhat, shape, 2);
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n, ch, s;
  mx_table_ncs(c->in[IN_DATA], &n, &ch, &s);
  int64_t size = n * ch * s, nc = n * ch;
  const float *x = mx_op_data(c->in[IN_DATA]);
  float *mean = mx_op_data(c->out[1]), *var = mx_op_data(c->out[2]), *xhat = c->workspace, *inv = xhat + size;
  int64_t shape2[2] = {nc, s}, sx2[2] = {s, 1}, sg2[2] = {1, 0};
  k->reduce(MX_REDUCE_MEAN, x, mean, nc, s, 1);
  k->binary_strided(MX_BINARY_SUB, x, sx2, mean, sg2, xhat, shape2, 2);
  k->binary(MX_BINARY_MUL, xhat, xhat, xhat, size);
  k->reduce(MX_REDUCE_MEAN, xhat, var, nc, s, 1);
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  normalise(k, x, mean, var, P(c->attrs)->eps, nc, s, inv, xhat);
  float *y = mx_op_data(c->out[0]), *t = mx_table_target(c, r, y, size + nc);
  int64_t shape[3] = {n, ch, s}, sx[3] = {ch * s, s, 1}, sc[3] = {0, 1, 0};
  k->binary_strided(MX_BINARY_MUL, xhat, sx, mx_op_data(c->in[IN_GAMMA]), sc, t, shape, 3);
  k->binary_strided(MX_BINARY_ADD, t, sx, mx_op_data(c->in[IN_BETA]), sc, t, shape, 3);
  mx_table_finish(k, r, y, t, size);
  return MX_OK;
}

/* dbeta = sum dy, dgamma = sum dy * xhat (over samples and positions);
 * dx = gamma * inv * (dy - mean_S(dy) - xhat * mean_S(dy * xhat)) */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n, ch, s;
  mx_table_ncs(c->in[IN_DATA], &n, &ch, &s);
  int64_t size = n * ch * s, nc = n * ch;
  const float *dy = mx_op_data(c->out_grad[0]), *gamma = mx_op_data(c->in[IN_GAMMA]);
  float *xhat = c->workspace, *u = xhat + size, *inv = u + size, *m1 = inv + nc, *m2 = m1 + nc, *t = m2 + nc;
  normalise(k, mx_op_data(c->in[IN_DATA]), mx_op_data(c->out[1]), mx_op_data(c->out[2]), P(c->attrs)->eps,
            nc, s, inv, xhat);
  k->binary(MX_BINARY_MUL, dy, xhat, u, size);
  k->reduce(MX_REDUCE_MEAN, dy, m1, nc, s, 1);
  k->reduce(MX_REDUCE_MEAN, u, m2, nc, s, 1);
  for (int which = IN_GAMMA; which <= IN_BETA; which++) { /* sums of (N, C) means over N, times S */
    mx_req r = c->req[which];
    if (r == MX_REQ_NULL) continue;
    float *g = mx_op_data(c->in_grad[which]), *tg = r == MX_REQ_ADD ? t : g;
    k->reduce(MX_REDUCE_SUM, which == IN_GAMMA ? m2 : m1, tg, 1, n, ch);
    k->binary_scalar(MX_BINARY_MUL, tg, (float)s, tg, ch);
    mx_table_finish(k, r, g, tg, ch);
  }
  mx_req r = c->req[IN_DATA];
  if (r == MX_REQ_NULL) return MX_OK;
  int64_t shape2[2] = {nc, s}, sx2[2] = {s, 1}, sg2[2] = {1, 0};
  int64_t shape[3] = {n, ch, s}, sx[3] = {ch * s, s, 1}, sc[3] = {0, 1, 0};
  float *dx = mx_op_data(c->in_grad[IN_DATA]), *tx = r == MX_REQ_ADD ? t : dx;
  k->binary_strided(MX_BINARY_MUL, xhat, sx2, m2, sg2, u, shape2, 2);    /* xhat * mean(dy xhat) */
  k->binary_strided(MX_BINARY_ADD, u, sx2, m1, sg2, u, shape2, 2);       /* + mean(dy) */
  k->binary(MX_BINARY_SUB, dy, u, u, size);                              /* dy - ... */
  k->binary_strided(MX_BINARY_MUL, u, sx2, inv, sg2, u, shape2, 2);      /* * inv */
  k->binary_strided(MX_BINARY_MUL, u, sx, gamma, sc, tx, shape, 3);      /* * gamma */
  mx_table_finish(k, r, dx, tx, size);
  return MX_OK;
}

/* forward: xhat, inv, an 'add' target; backward: xhat, a product, inv and two means, an 'add' target */
static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out, int nout,
                         int bwd) {
  int64_t size = mx_shape_numel(&in[IN_DATA]), nc = mx_shape_numel(&out[1]);
  return bwd ? 3 * size + 3 * nc : 2 * size + nc;
}

const mx_op mx_op_instance_norm = {
    .name = "InstanceNorm",
    .doc = "Normalises each channel of each sample over its positions, then scales by gamma and shifts by beta.",
    MX_OP_PARAMS(instance_norm_param, params),
    .arguments = (const char *const[]){"data", "gamma", "beta", NULL},
    .outputs = (const char *const[]){"output", "mean", "var", NULL},
    .hidden_outputs = 2,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = workspace,
};
