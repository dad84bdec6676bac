/* elemwise.c: element-wise arithmetic between two symbols of one shape (_Plus,
 * _Minus, _Mul, _Div) and with a scalar (_PlusScalar, _MinusScalar,
 * _RMinusScalar, _MulScalar, _DivScalar, _RDivScalar), as MXNet's symbol operators. */
#include "elemwise.h"
#include "kernels.h"
#include "operator.h"

/* A loop per kind, so that each inlines its own body and vectorizes. */
#define BINARY_FWD(k)                                                                                              \
  case k:                                                                                                          \
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], elemwise_fwd(k, a[i], b[i]));                            \
    break;
static mx_status binary_fwd(const mx_op_call *c, int kind) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  const float *a = mx_op_data(c->in[0]), *b = mx_op_data(c->in[1]);
  float *y = mx_op_data(c->out[0]);
  int64_t n = mx_op_size(c->out[0]);
  switch (kind) { ELEMWISE_BINARY_KINDS(BINARY_FWD) }
  return MX_OK;
}

/* d(a op b)/da and /db times dy; the two gradients may be one buffer (a + a),
 * so each is finished before the other starts. */
static mx_status binary_bwd(const mx_op_call *c, int kind) {
  const float *dy = mx_op_data(c->out_grad[0]);
  int64_t n = mx_op_size(c->out_grad[0]);
  const float *a = kind >= EW_MUL ? mx_op_data(c->in[0]) : NULL, *b = kind >= EW_MUL ? mx_op_data(c->in[1]) : NULL;
  for (int side = 0; side < 2; side++) {
    mx_req r = c->req[side];
    if (r == MX_REQ_NULL) continue;
    float *g = mx_op_data(c->in_grad[side]);
    for (int64_t i = 0; i < n; i++)
      mx_req_store(r, &g[i], elemwise_bwd(kind, side, dy[i], a ? a[i] : 0.0f, b ? b[i] : 0.0f));
  }
  return MX_OK;
}

static mx_status plus_fwd(const mx_op_call *c) {
  return binary_fwd(c, EW_ADD);
}
static mx_status plus_bwd(const mx_op_call *c) {
  return binary_bwd(c, EW_ADD);
}
static mx_status minus_fwd(const mx_op_call *c) {
  return binary_fwd(c, EW_SUB);
}
static mx_status minus_bwd(const mx_op_call *c) {
  return binary_bwd(c, EW_SUB);
}
static mx_status mul_fwd(const mx_op_call *c) {
  return binary_fwd(c, EW_MUL);
}
static mx_status mul_bwd(const mx_op_call *c) {
  return binary_bwd(c, EW_MUL);
}
static mx_status div_fwd(const mx_op_call *c) {
  return binary_fwd(c, EW_DIV);
}
static mx_status div_bwd(const mx_op_call *c) {
  return binary_bwd(c, EW_DIV);
}

#define BINARY_FIELDS                                                                              \
  .arguments = (const char *const[]){"lhs", "rhs", NULL},                                          \
  .outputs = (const char *const[]){"output", NULL}, .infer_shape = mx_op_infer_same

const mx_op mx_op_plus = {
    .name = "_Plus",
    .doc = "lhs + rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = plus_fwd},
    .backward = {[MX_DEV_CPU] = plus_bwd},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};
const mx_op mx_op_minus = {
    .name = "_Minus",
    .doc = "lhs - rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = minus_fwd},
    .backward = {[MX_DEV_CPU] = minus_bwd},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};
const mx_op mx_op_mul = {
    .name = "_Mul",
    .doc = "lhs * rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = mul_fwd},
    .backward = {[MX_DEV_CPU] = mul_bwd},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};
const mx_op mx_op_div = {
    .name = "_Div",
    .doc = "lhs / rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = div_fwd},
    .backward = {[MX_DEV_CPU] = div_bwd},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};

/* ---- with a scalar ---- */
static const mx_param_desc scalar_params[] = {
    MX_PARAM(elemwise_scalar_param, scalar, MX_PARAM_FLOAT, NULL, NULL, "the scalar operand"),
    MX_PARAM(elemwise_scalar_param, is_int, MX_PARAM_BOOL, "True", NULL,
             "MXNet: the scalar is an integer for integer arrays (arrays here are float32: no effect)"),
};

#define SCALAR_FWD(k)                                                                                              \
  case k:                                                                                                          \
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], elemwise_fwd(k, x[i], s));                              \
    break;
/* The kernel table's operation for each kind: the same arithmetic as elemwise_fwd. */
static const mx_binary_op scalar_table_op[] = {[EW_ADD] = MX_BINARY_ADD, [EW_SUB] = MX_BINARY_SUB,
                                               [EW_MUL] = MX_BINARY_MUL, [EW_DIV] = MX_BINARY_DIV,
                                               [EW_RSUB] = MX_BINARY_RSUB, [EW_RDIV] = MX_BINARY_RDIV};

static mx_status scalar_fwd(const mx_op_call *c, int kind) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  float s = MX_PARAMS(elemwise_scalar_param, c->attrs)->scalar;
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]);
  int64_t n = mx_op_size(c->out[0]);
  if (r != MX_REQ_ADD) { /* the CPU table's vectorized loop (a + 2 and a:add_(2) come here) */
    mx_kernels_cpu.binary_scalar(scalar_table_op[kind], x, s, y, n);
    return MX_OK;
  }
  switch (kind) { ELEMWISE_SCALAR_KINDS(SCALAR_FWD) }
  return MX_OK;
}

#define SCALAR_BWD(k)                                                                                              \
  case k:                                                                                                          \
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &g[i], elemwise_scalar_bwd(k, dy[i], x ? x[i] : 0.0f, s));     \
    break;
static mx_status scalar_bwd(const mx_op_call *c, int kind) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  float s = MX_PARAMS(elemwise_scalar_param, c->attrs)->scalar;
  const float *dy = mx_op_data(c->out_grad[0]), *x = kind == EW_RDIV ? mx_op_data(c->in[0]) : NULL;
  float *g = mx_op_data(c->in_grad[0]);
  int64_t n = mx_op_size(c->out_grad[0]);
  switch (kind) { ELEMWISE_SCALAR_KINDS(SCALAR_BWD) }
  return MX_OK;
}

#define SCALAR_OP(var, opname, kind, doc_, flags_)                                                 \
  static mx_status var##_fwd(const mx_op_call *c) {                                                \
    return scalar_fwd(c, kind);                                                                    \
  }                                                                                                \
  static mx_status var##_bwd(const mx_op_call *c) {                                                \
    return scalar_bwd(c, kind);                                                                    \
  }                                                                                                \
  const mx_op mx_op_##var = {                                                                      \
      .name = opname,                                                                              \
      .doc = doc_,                                                                                 \
      MX_OP_PARAMS(elemwise_scalar_param, scalar_params),                                          \
      .arguments = (const char *const[]){"data", NULL},                                            \
      .outputs = (const char *const[]){"output", NULL},                                            \
      .infer_shape = mx_op_infer_same,                                                             \
      .forward = {[MX_DEV_CPU] = var##_fwd},                                                       \
      .backward = {[MX_DEV_CPU] = var##_bwd},                                                      \
      .flags = (flags_)};

SCALAR_OP(plus_scalar, "_PlusScalar", EW_ADD, "data + scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(minus_scalar, "_MinusScalar", EW_SUB, "data - scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(rminus_scalar, "_RMinusScalar", EW_RSUB, "scalar - data", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(mul_scalar, "_MulScalar", EW_MUL, "data * scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(div_scalar, "_DivScalar", EW_DIV, "data / scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(rdiv_scalar, "_RDivScalar", EW_RDIV, "scalar / data", MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD)
