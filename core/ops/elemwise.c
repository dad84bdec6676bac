/* elemwise.c: element-wise arithmetic between two symbols of one shape (_Plus,
 * _Minus, _Mul, _Div) and with a scalar (_PlusScalar, _MinusScalar,
 * _RMinusScalar, _MulScalar, _DivScalar, _RDivScalar), as MXNet's symbol operators. */
#include "operator.h"

enum { ADD, SUB, MUL, DIV, RSUB, RDIV };

static mx_status binary_fwd(const mx_op_call *c, int kind) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  const float *a = mx_op_data(c->in[0]), *b = mx_op_data(c->in[1]);
  float *y = mx_op_data(c->out[0]);
  int64_t n = mx_op_size(c->out[0]);
  switch (kind) {
  case ADD:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], a[i] + b[i]);
    break;
  case SUB:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], a[i] - b[i]);
    break;
  case MUL:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], a[i] * b[i]);
    break;
  default:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], a[i] / b[i]);
    break;
  }
  return MX_OK;
}

/* d(a op b)/da and /db times dy; the two gradients may be one buffer (a + a),
 * so each is finished before the other starts. */
static mx_status binary_bwd(const mx_op_call *c, int kind) {
  const float *dy = mx_op_data(c->out_grad[0]);
  int64_t n = mx_op_size(c->out_grad[0]);
  const float *a = kind >= MUL ? mx_op_data(c->in[0]) : NULL,
              *b = kind >= MUL ? mx_op_data(c->in[1]) : NULL;
  for (int side = 0; side < 2; side++) {
    mx_req r = c->req[side];
    if (r == MX_REQ_NULL) continue;
    float *g = mx_op_data(c->in_grad[side]);
    for (int64_t i = 0; i < n; i++) {
      float v;
      switch (kind) {
      case ADD:
        v = dy[i];
        break;
      case SUB:
        v = side ? -dy[i] : dy[i];
        break;
      case MUL:
        v = dy[i] * (side ? a[i] : b[i]);
        break;
      default:
        v = side ? -dy[i] * a[i] / (b[i] * b[i]) : dy[i] / b[i];
        break;
      }
      mx_req_store(r, &g[i], v);
    }
  }
  return MX_OK;
}

static mx_status plus_fwd(const mx_op_call *c) {
  return binary_fwd(c, ADD);
}
static mx_status plus_bwd(const mx_op_call *c) {
  return binary_bwd(c, ADD);
}
static mx_status minus_fwd(const mx_op_call *c) {
  return binary_fwd(c, SUB);
}
static mx_status minus_bwd(const mx_op_call *c) {
  return binary_bwd(c, SUB);
}
static mx_status mul_fwd(const mx_op_call *c) {
  return binary_fwd(c, MUL);
}
static mx_status mul_bwd(const mx_op_call *c) {
  return binary_bwd(c, MUL);
}
static mx_status div_fwd(const mx_op_call *c) {
  return binary_fwd(c, DIV);
}
static mx_status div_bwd(const mx_op_call *c) {
  return binary_bwd(c, DIV);
}

/* elemwise.cu */
#define GPU_DECL(var)                                                                              \
  mx_status mx_op_##var##_forward_gpu(const mx_op_call *c);                                        \
  mx_status mx_op_##var##_backward_gpu(const mx_op_call *c);
GPU_DECL(plus)
GPU_DECL(minus)
GPU_DECL(mul)
GPU_DECL(div)

#define BINARY_FIELDS                                                                              \
  .arguments = (const char *const[]){"lhs", "rhs", NULL},                                          \
  .outputs = (const char *const[]){"output", NULL}, .infer_shape = mx_op_infer_same

const mx_op mx_op_plus = {
    .name = "_Plus",
    .doc = "lhs + rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = plus_fwd, [MX_DEV_GPU] = MX_GPU(mx_op_plus_forward_gpu)},
    .backward = {[MX_DEV_CPU] = plus_bwd, [MX_DEV_GPU] = MX_GPU(mx_op_plus_backward_gpu)},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};
const mx_op mx_op_minus = {
    .name = "_Minus",
    .doc = "lhs - rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = minus_fwd, [MX_DEV_GPU] = MX_GPU(mx_op_minus_forward_gpu)},
    .backward = {[MX_DEV_CPU] = minus_bwd, [MX_DEV_GPU] = MX_GPU(mx_op_minus_backward_gpu)},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};
const mx_op mx_op_mul = {
    .name = "_Mul",
    .doc = "lhs * rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = mul_fwd, [MX_DEV_GPU] = MX_GPU(mx_op_mul_forward_gpu)},
    .backward = {[MX_DEV_CPU] = mul_bwd, [MX_DEV_GPU] = MX_GPU(mx_op_mul_backward_gpu)},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};
const mx_op mx_op_div = {
    .name = "_Div",
    .doc = "lhs / rhs (same shapes)",
    BINARY_FIELDS,
    .forward = {[MX_DEV_CPU] = div_fwd, [MX_DEV_GPU] = MX_GPU(mx_op_div_forward_gpu)},
    .backward = {[MX_DEV_CPU] = div_bwd, [MX_DEV_GPU] = MX_GPU(mx_op_div_backward_gpu)},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE};

/* ---- with a scalar ---- */
enum { P_SCALAR };
static const mx_param_desc scalar_params[] = {
    {"scalar", MX_PARAM_FLOAT, NULL, NULL, "the scalar operand"},
    {"is_int", MX_PARAM_BOOL, "True", NULL,
     "MXNet: the scalar is an integer for integer arrays (arrays here are float32: no effect)"},
};

static mx_status scalar_fwd(const mx_op_call *c, int kind) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  float s = MX_PFLOAT(c->attrs, P_SCALAR);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]);
  int64_t n = mx_op_size(c->out[0]);
  switch (kind) {
  case ADD:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], x[i] + s);
    break;
  case SUB:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], x[i] - s);
    break;
  case RSUB:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], s - x[i]);
    break;
  case MUL:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], x[i] * s);
    break;
  case DIV:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], x[i] / s);
    break;
  default:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &y[i], s / x[i]);
    break;
  }
  return MX_OK;
}

static mx_status scalar_bwd(const mx_op_call *c, int kind) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  float s = MX_PFLOAT(c->attrs, P_SCALAR);
  const float *dy = mx_op_data(c->out_grad[0]);
  float *g = mx_op_data(c->in_grad[0]);
  int64_t n = mx_op_size(c->out_grad[0]);
  switch (kind) {
  case ADD:
  case SUB:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &g[i], dy[i]);
    break;
  case RSUB:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &g[i], -dy[i]);
    break;
  case MUL:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &g[i], dy[i] * s);
    break;
  case DIV:
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &g[i], dy[i] / s);
    break;
  default: {
    const float *x = mx_op_data(c->in[0]); /* d(s/x) = -s/x^2 */
    for (int64_t i = 0; i < n; i++) mx_req_store(r, &g[i], -dy[i] * s / (x[i] * x[i]));
  }
  }
  return MX_OK;
}

#define SCALAR_OP(var, opname, kind, doc_, flags_)                                                 \
  GPU_DECL(var)                                                                                    \
  static mx_status var##_fwd(const mx_op_call *c) {                                                \
    return scalar_fwd(c, kind);                                                                    \
  }                                                                                                \
  static mx_status var##_bwd(const mx_op_call *c) {                                                \
    return scalar_bwd(c, kind);                                                                    \
  }                                                                                                \
  const mx_op mx_op_##var = {                                                                      \
      .name = opname,                                                                              \
      .doc = doc_,                                                                                 \
      .params = scalar_params,                                                                     \
      .nparams = 2,                                                                                \
      .arguments = (const char *const[]){"data", NULL},                                            \
      .outputs = (const char *const[]){"output", NULL},                                            \
      .infer_shape = mx_op_infer_same,                                                             \
      .forward = {[MX_DEV_CPU] = var##_fwd, [MX_DEV_GPU] = MX_GPU(mx_op_##var##_forward_gpu)},     \
      .backward = {[MX_DEV_CPU] = var##_bwd, [MX_DEV_GPU] = MX_GPU(mx_op_##var##_backward_gpu)},   \
      .flags = (flags_)};

SCALAR_OP(plus_scalar, "_PlusScalar", ADD, "data + scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(minus_scalar, "_MinusScalar", SUB, "data - scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(rminus_scalar, "_RMinusScalar", RSUB, "scalar - data", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(mul_scalar, "_MulScalar", MUL, "data * scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(div_scalar, "_DivScalar", DIV, "data / scalar", MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE)
SCALAR_OP(rdiv_scalar, "_RDivScalar", RDIV, "scalar / data", MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD)
