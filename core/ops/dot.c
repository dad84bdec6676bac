/* dot.c: dot, MXNet's matrix product of 1-D and 2-D arrays with optional transposes: a 1-D lhs
 * is a row, a 1-D rhs a column (transposes ignored on them), two vectors give their inner
 * product as shape (1,). Forward and backward are GEMMs through mx_gemm on the call's device:
 * d lhs = d out op(rhs)^T and d rhs = op(lhs)^T d out, transposed back where the input was. */
#include "table_op.h"

typedef struct dot_param {
  int transpose_a;
  int transpose_b;
} dot_param;
static const mx_param_desc params[] = {
    MX_PARAM(dot_param, transpose_a, MX_PARAM_BOOL, "False", NULL, "use lhs transposed (2-D lhs only)"),
    MX_PARAM(dot_param, transpose_b, MX_PARAM_BOOL, "False", NULL, "use rhs transposed (2-D rhs only)"),
};
#define P(a) MX_PARAMS(dot_param, a)

/* op(lhs) (m, k) times op(rhs) (k, n), each input stored row-major as a 2-D (rows, ld) view */
typedef struct dot_geom {
  int ta, tb;
  int64_t m, ka, kb, n, lda, ldb;
} dot_geom;

static void geom(const mx_op_attrs *a, const int64_t *sa, int na, const int64_t *sb, int nb, dot_geom *g) {
  g->ta = na == 2 && P(a)->transpose_a, g->tb = nb == 2 && P(a)->transpose_b;
  g->m = na == 1 ? 1 : sa[g->ta ? 1 : 0];
  g->ka = na == 1 ? sa[0] : sa[g->ta ? 0 : 1];
  g->kb = nb == 1 ? sb[0] : sb[g->tb ? 1 : 0];
  g->n = nb == 1 ? 1 : sb[g->tb ? 0 : 1];
  g->lda = na == 1 ? sa[0] : sa[1];
  g->ldb = nb == 1 ? 1 : sb[1];
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout, mx_shape *aux,
                       int naux) {
  char b1[128], b2[128];
  if (in[0].ndim == 0 || in[1].ndim == 0) return MX_OK;
  if (in[0].ndim > 2 || in[1].ndim > 2)
    return mx_op_error(a, MX_ERR_SHAPE, "shapes %s and %s: only 1-D and 2-D arrays are supported",
                       mx_shape_str(in[0].dim, in[0].ndim, b1, sizeof b1),
                       mx_shape_str(in[1].dim, in[1].ndim, b2, sizeof b2));
  dot_geom g;
  geom(a, in[0].dim, in[0].ndim, in[1].dim, in[1].ndim, &g);
  if (g.ka != g.kb)
    return mx_op_error(a, MX_ERR_SHAPE, "shapes %s%s and %s%s do not fit (inner sizes %lld and %lld)",
                       mx_shape_str(in[0].dim, in[0].ndim, b1, sizeof b1), g.ta ? "^T" : "",
                       mx_shape_str(in[1].dim, in[1].ndim, b2, sizeof b2), g.tb ? "^T" : "", (long long)g.ka,
                       (long long)g.kb);
  mx_shape o = {0, {0}};
  if (in[0].ndim == 2) o.dim[o.ndim++] = g.m;
  if (in[1].ndim == 2) o.dim[o.ndim++] = g.n;
  if (o.ndim == 0) o.dim[o.ndim++] = 1;
  return mx_shape_fill(a, "output", &out[0], &o);
}

static void geom_of(const mx_op_call *c, dot_geom *g) {
  geom(c->attrs, mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), mx_ndarray_shape(c->in[1]),
       mx_ndarray_ndim(c->in[1]), g);
}

static mx_status forward(const mx_op_call *c) {
  dot_geom g;
  geom_of(c, &g);
  return mx_table_gemm(c, c->req[0], g.ta, g.tb, g.m, g.n, g.ka, mx_op_data(c->in[0]), g.lda, mx_op_data(c->in[1]),
                  g.ldb, mx_op_data(c->out[0]), g.n);
}

static mx_status backward(const mx_op_call *c) {
  dot_geom g;
  geom_of(c, &g);
  const float *A = mx_op_data(c->in[0]), *B = mx_op_data(c->in[1]), *dC = mx_op_data(c->out_grad[0]);
  /* an input whose request is null has no gradient array */
  float *dA = c->req[0] == MX_REQ_NULL ? NULL : mx_op_data(c->in_grad[0]);
  float *dB = c->req[1] == MX_REQ_NULL ? NULL : mx_op_data(c->in_grad[1]);
  int64_t m = g.m, n = g.n, k = g.ka;
  /* d op(A) (m, k) = dC op(B)^T; stored transposed when ta: op(B) dC^T (k, m) */
  mx_status st = g.ta ? mx_table_gemm(c, c->req[0], g.tb, 1, k, m, n, B, g.ldb, dC, n, dA, m)
                      : mx_table_gemm(c, c->req[0], 0, !g.tb, m, k, n, dC, n, B, g.ldb, dA, k);
  if (st != MX_OK) return st;
  /* d op(B) (k, n) = op(A)^T dC; stored transposed when tb: dC^T op(A) (n, k) */
  return g.tb ? mx_table_gemm(c, c->req[1], 1, g.ta, n, k, m, dC, n, A, g.lda, dB, k)
              : mx_table_gemm(c, c->req[1], !g.ta, 0, k, n, m, A, g.lda, dC, n, dB, n);
}

const mx_op mx_op_dot = {
    .name = "dot",
    .doc = "Matrix product of 1-D and 2-D arrays, lhs and rhs optionally transposed: (m, k) x (k, n) "
           "gives (m, n); a 1-D lhs is a row and a 1-D rhs a column (their axis dropped from the "
           "output), two vectors give their inner product, shape (1,).",
    MX_OP_PARAMS(dot_param, params),
    .arguments = (const char *const[]){"lhs", "rhs", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
};
