/* scalar_math.c: an array with a scalar, the forms elemwise.c's _PlusScalar family does not
 * have, as registry operators with MXNet's names (_maximum_scalar, _minimum_scalar,
 * _power_scalar, _rpower_scalar, _equal_scalar, ..., _lesser_equal_scalar). Written over the
 * kernel table: one forward and one backward for the CPU and the GPU; the comparisons'
 * gradients are zero, as MXNet's. */
#include <math.h>

#include "table_op.h"

typedef enum grad_kind {
  G_GE,    /* x >= s (maximum) */
  G_LE,    /* x <= s (minimum) */
  G_POW,   /* s x^(s-1) */
  G_RPOW,  /* y ln(s) */
  G_ZERO   /* comparisons */
} grad_kind;

typedef struct scalar_def {
  mx_binary_op fn;
  grad_kind grad;
  int reversed; /* scalar op data */
} scalar_def;

extern const mx_op mx_op_scalar_math[];
static const scalar_def defs[] = {
    {MX_BINARY_MAX, G_GE, 0},  {MX_BINARY_MIN, G_LE, 0},  {MX_BINARY_POW, G_POW, 0}, {MX_BINARY_POW, G_RPOW, 1},
    {MX_BINARY_EQ, G_ZERO, 0}, {MX_BINARY_NE, G_ZERO, 0}, {MX_BINARY_GT, G_ZERO, 0}, {MX_BINARY_GE, G_ZERO, 0},
    {MX_BINARY_LT, G_ZERO, 0}, {MX_BINARY_LE, G_ZERO, 0},
};

typedef struct scalar_param {
  float scalar;
  int is_int;
} scalar_param;
static const mx_param_desc params[] = {
    MX_PARAM(scalar_param, scalar, MX_PARAM_FLOAT, NULL, NULL, "the scalar operand"),
    MX_PARAM(scalar_param, is_int, MX_PARAM_BOOL, "True", NULL,
             "MXNet: the scalar is an integer for integer arrays (arrays here are float32: no effect)"),
};
#define P(a) MX_PARAMS(scalar_param, a)

static const scalar_def *def_of(const mx_op_call *c) {
  return &defs[c->attrs->op - mx_op_scalar_math];
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_forward_of(c, &k);
  if (st != MX_OK || !k) return st;
  int64_t n = mx_op_size(c->out[0]);
  float *t = mx_op_data(c->out[0]), s = P(c->attrs)->scalar;
  const scalar_def *d = def_of(c);
  if (d->reversed) { /* a full array of the scalar, then the array kernel (y may be its first operand) */
    k->fill(t, n, s);
    k->binary(d->fn, t, mx_op_data(c->in[0]), t, n);
  } else {
    k->binary_scalar(d->fn, mx_op_data(c->in[0]), s, t, n);
  }
  return MX_OK;
}

static void deriv(const mx_kernels *k, const mx_op_call *c, const float *x, const float *y, float *d,
                  int64_t n) {
  float s = P(c->attrs)->scalar;
  switch (def_of(c)->grad) {
  case G_GE: k->binary_scalar(MX_BINARY_GE, x, s, d, n); break;
  case G_LE: k->binary_scalar(MX_BINARY_LE, x, s, d, n); break;
  case G_POW:
    k->binary_scalar(MX_BINARY_POW, x, s - 1.0f, d, n);
    k->binary_scalar(MX_BINARY_MUL, d, s, d, n);
    break;
  case G_RPOW: k->binary_scalar(MX_BINARY_MUL, y, logf(s), d, n); break;
  case G_ZERO: k->fill(d, n, 0.0f); break;
  }
}

static mx_status backward(const mx_op_call *c) {
  return mx_table_unary_backward(c, deriv);
}

#define SCALAR(NAME, DOC)                                                                          \
  {.name = NAME,                                                                                   \
   .doc = DOC,                                                                                     \
   MX_OP_PARAMS(scalar_param, params),                                                             \
   .arguments = (const char *const[]){"data", NULL},                                               \
   .outputs = (const char *const[]){"output", NULL},                                               \
   .infer_shape = mx_op_infer_same,                                                                \
   .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},                            \
   .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},                         \
   .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD,                           \
   .workspace = mx_table_workspace_bwd}

/* In the order of defs. */
const mx_op mx_op_scalar_math[] = {
    SCALAR("_maximum_scalar", "max(data, scalar), element-wise (NaN kept)."),
    SCALAR("_minimum_scalar", "min(data, scalar), element-wise (NaN kept)."),
    SCALAR("_power_scalar", "data ^ scalar, element-wise."),
    SCALAR("_rpower_scalar", "scalar ^ data, element-wise."),
    SCALAR("_equal_scalar", "1 where data == scalar, else 0."),
    SCALAR("_not_equal_scalar", "1 where data != scalar, else 0."),
    SCALAR("_greater_scalar", "1 where data > scalar, else 0."),
    SCALAR("_greater_equal_scalar", "1 where data >= scalar, else 0."),
    SCALAR("_lesser_scalar", "1 where data < scalar, else 0."),
    SCALAR("_lesser_equal_scalar", "1 where data <= scalar, else 0."),
};
_Static_assert(sizeof mx_op_scalar_math / sizeof mx_op_scalar_math[0] == sizeof defs / sizeof defs[0],
               "one definition per operator");
