/* unary_math.c: the element-wise functions of one array as registry operators with MXNet's
 * names (negative, exp, log, sqrt, abs, square, relu, sigmoid, tanh, sign, reciprocal, and
 * softrelu), so mx.nd.exp and mx.sym.exp are one operator. Written over the kernel table (the
 * CPU's and the GPU's element loops): one forward and one backward for both devices; each
 * backward builds dy/dx from the input or the output with table kernels, in the workspace. */
#include "table_op.h"

/* How the derivative d is made (n floats in the workspace; then dx = dy * d). */
typedef enum grad_kind {
  G_NEG,        /* -1 */
  G_Y,          /* y (exp) */
  G_INV_X,      /* 1 / x (log): dx = dy / x */
  G_HALF_INV_Y, /* 0.5 / y (sqrt): dx = dy / (2 y) */
  G_SIGN_X,     /* sign(x) (abs) */
  G_TWO_X,      /* 2 x (square) */
  G_X_POS,      /* x > 0 (relu) */
  G_Y_1MY,      /* y (1 - y) (sigmoid) */
  G_1MY2,       /* 1 - y^2 (tanh) */
  G_SIGMOID_X,  /* sigmoid(x) (softrelu) */
  G_ZERO,       /* 0 (sign) */
  G_MINUS_Y2    /* -y^2 (reciprocal) */
} grad_kind;

typedef struct unary_def {
  mx_unary_op fn;
  grad_kind grad;
} unary_def;

extern const mx_op mx_op_unary_math[];
static const unary_def defs[] = {
    {MX_UNARY_NEG, G_NEG},
    {MX_UNARY_EXP, G_Y},
    {MX_UNARY_LOG, G_INV_X},
    {MX_UNARY_SQRT, G_HALF_INV_Y},
    {MX_UNARY_ABS, G_SIGN_X},
    {MX_UNARY_SQUARE, G_TWO_X},
    {MX_UNARY_RELU, G_X_POS},
    {MX_UNARY_SIGMOID, G_Y_1MY},
    {MX_UNARY_TANH, G_1MY2},
    {MX_UNARY_SIGN, G_ZERO},
    {MX_UNARY_RECIPROCAL, G_MINUS_Y2},
    {MX_UNARY_SOFTRELU, G_SIGMOID_X},
};

static const unary_def *def_of(const mx_op_call *c) {
  return &defs[c->attrs->op - mx_op_unary_math];
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_forward_of(c, &k);
  if (st != MX_OK || !k) return st;
  k->unary(def_of(c)->fn, mx_op_data(c->in[0]), mx_op_data(c->out[0]), mx_op_size(c->out[0]));
  return MX_OK;
}

static void deriv(const mx_kernels *k, const mx_op_call *c, const float *x, const float *y, float *d,
                  int64_t n) {
  switch (def_of(c)->grad) {
  case G_NEG: k->fill(d, n, -1.0f); break;
  case G_Y: k->unary(MX_UNARY_COPY, y, d, n); break;
  case G_INV_X: k->unary(MX_UNARY_RECIPROCAL, x, d, n); break;
  case G_HALF_INV_Y:
    k->binary_scalar(MX_BINARY_MUL, y, 2.0f, d, n);
    k->unary(MX_UNARY_RECIPROCAL, d, d, n);
    break;
  case G_SIGN_X: k->unary(MX_UNARY_SIGN, x, d, n); break;
  case G_TWO_X: k->binary_scalar(MX_BINARY_MUL, x, 2.0f, d, n); break;
  case G_X_POS: k->binary_scalar(MX_BINARY_GT, x, 0.0f, d, n); break;
  case G_Y_1MY:
    k->binary_scalar(MX_BINARY_RSUB, y, 1.0f, d, n); /* 1 - y */
    k->binary(MX_BINARY_MUL, d, y, d, n);
    break;
  case G_1MY2:
    k->binary(MX_BINARY_MUL, y, y, d, n);
    k->binary_scalar(MX_BINARY_RSUB, d, 1.0f, d, n);
    break;
  case G_SIGMOID_X: k->unary(MX_UNARY_SIGMOID, x, d, n); break;
  case G_ZERO: k->fill(d, n, 0.0f); break;
  case G_MINUS_Y2:
    k->binary(MX_BINARY_MUL, y, y, d, n);
    k->binary_scalar(MX_BINARY_MUL, d, -1.0f, d, n);
    break;
  }
}

static mx_status backward(const mx_op_call *c) {
  return mx_table_unary_backward(c, deriv);
}

#define UNARY(NAME, DOC)                                                                           \
  {                                                                                                \
    .name = NAME, .doc = DOC, .arguments = (const char *const[]){"data", NULL},                    \
    .outputs = (const char *const[]){"output", NULL}, .infer_shape = mx_op_infer_same,             \
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},                           \
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},                        \
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,                          \
    .workspace = mx_table_workspace_bwd                                                                \
  }

/* In the order of defs. */
const mx_op mx_op_unary_math[] = {
    UNARY("negative", "-x, element-wise."),
    UNARY("exp", "e^x, element-wise."),
    UNARY("log", "The natural logarithm, element-wise."),
    UNARY("sqrt", "The square root, element-wise."),
    UNARY("abs", "|x|, element-wise."),
    UNARY("square", "x^2, element-wise."),
    UNARY("relu", "max(x, 0), element-wise."),
    UNARY("sigmoid", "1 / (1 + e^-x), element-wise."),
    UNARY("tanh", "The hyperbolic tangent, element-wise."),
    UNARY("sign", "-1, 0 or 1 by the sign of x (NaN kept), element-wise; its gradient is 0."),
    UNARY("reciprocal", "1 / x, element-wise."),
    UNARY("softrelu", "log(1 + e^x), element-wise (Activation's softrelu)."),
};
_Static_assert(sizeof mx_op_unary_math / sizeof mx_op_unary_math[0] == sizeof defs / sizeof defs[0],
               "one definition per operator");
