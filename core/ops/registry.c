/* registry.c: the one list of operators, lookup by name or alias, run-time registration,
 * the argument/output/aux names of a node, and the registry's public description.
 * Parameter parsing is in op_params.c, the shape helpers in op_shapes.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"

extern const mx_op mx_op_fully_connected, mx_op_activation, mx_op_softmax_output, mx_op_softmax_legacy,
    mx_op_softmax, mx_op_log_softmax, mx_op_linear_regression_output, mx_op_logistic_regression_output,
    mx_op_mae_regression_output, mx_op_flatten, mx_op_reshape, mx_op_dropout, mx_op_concat,
    mx_op_block_grad, mx_op_plus, mx_op_minus, mx_op_mul, mx_op_div, mx_op_plus_scalar,
    mx_op_minus_scalar, mx_op_rminus_scalar, mx_op_mul_scalar, mx_op_div_scalar, mx_op_rdiv_scalar;
extern const mx_op mx_op_custom; /* ops/custom.c: operators written in Lua */
/* convolutional networks */
extern const mx_op mx_op_convolution, mx_op_pooling, mx_op_deconvolution, mx_op_batch_norm, mx_op_leaky_relu,
    mx_op_embedding, mx_op_swap_axis, mx_op_elementwise_sum;
/* operators classic MXNet models use */
extern const mx_op mx_op_softmax_activation, mx_op_slice_channel, mx_op_expand_dims, mx_op_cast, mx_op_clip,
    mx_op_slice_axis, mx_op_transpose, mx_op_sum, mx_op_mean, mx_op_max, mx_op_crop, mx_op_upsampling,
    mx_op_l2_normalization, mx_op_instance_norm, mx_op_lrn;
/* mx.nd's element-wise math (unary_math.c, broadcast_math.c, scalar_math.c): arrays of operators */
extern const mx_op mx_op_unary_math[], mx_op_broadcast_math[], mx_op_scalar_math[];
extern const mx_op mx_op_min, mx_op_argmax, mx_op_argmin, mx_op_norm; /* reduce_axis.c */
extern const mx_op mx_op_dot, mx_op_one_hot, mx_op_take; /* dot.c, one_hot.c, take.c */

/* The operators, one line each. */
static const mx_op *builtin[] = {
    &mx_op_fully_connected,
    &mx_op_activation,
    &mx_op_softmax_output,
    &mx_op_softmax_legacy,
    &mx_op_softmax,
    &mx_op_log_softmax,
    &mx_op_linear_regression_output,
    &mx_op_logistic_regression_output,
    &mx_op_mae_regression_output,
    &mx_op_flatten,
    &mx_op_reshape,
    &mx_op_dropout,
    &mx_op_concat,
    &mx_op_block_grad,
    &mx_op_plus,
    &mx_op_minus,
    &mx_op_mul,
    &mx_op_div,
    &mx_op_plus_scalar,
    &mx_op_minus_scalar,
    &mx_op_rminus_scalar,
    &mx_op_mul_scalar,
    &mx_op_div_scalar,
    &mx_op_rdiv_scalar,
    &mx_op_custom,
    /* convolutional networks */
    &mx_op_convolution,
    &mx_op_pooling,
    &mx_op_deconvolution,
    &mx_op_batch_norm,
    &mx_op_leaky_relu,
    &mx_op_embedding,
    &mx_op_swap_axis,
    &mx_op_elementwise_sum,
    /* classic MXNet models */
    &mx_op_softmax_activation,
    &mx_op_slice_channel,
    &mx_op_expand_dims,
    &mx_op_cast,
    &mx_op_clip,
    &mx_op_slice_axis,
    &mx_op_transpose,
    &mx_op_sum,
    &mx_op_mean,
    &mx_op_max,
    &mx_op_crop,
    &mx_op_upsampling,
    &mx_op_l2_normalization,
    &mx_op_instance_norm,
    &mx_op_lrn,
    &mx_op_min,
    &mx_op_argmax,
    &mx_op_argmin,
    &mx_op_norm,
    &mx_op_dot,
    &mx_op_one_hot,
    &mx_op_take,
    /* element-wise math */
    &mx_op_unary_math[0], /* negative */
    &mx_op_unary_math[1], /* exp */
    &mx_op_unary_math[2], /* log */
    &mx_op_unary_math[3], /* sqrt */
    &mx_op_unary_math[4], /* abs */
    &mx_op_unary_math[5], /* square */
    &mx_op_unary_math[6], /* relu */
    &mx_op_unary_math[7], /* sigmoid */
    &mx_op_unary_math[8], /* tanh */
    &mx_op_unary_math[9], /* sign */
    &mx_op_unary_math[10], /* reciprocal */
    &mx_op_unary_math[11], /* softrelu */
    &mx_op_broadcast_math[0], /* broadcast_add */
    &mx_op_broadcast_math[1], /* broadcast_sub */
    &mx_op_broadcast_math[2], /* broadcast_mul */
    &mx_op_broadcast_math[3], /* broadcast_div */
    &mx_op_broadcast_math[4], /* broadcast_maximum */
    &mx_op_broadcast_math[5], /* broadcast_minimum */
    &mx_op_broadcast_math[6], /* broadcast_power */
    &mx_op_broadcast_math[7], /* broadcast_equal */
    &mx_op_broadcast_math[8], /* broadcast_not_equal */
    &mx_op_broadcast_math[9], /* broadcast_greater */
    &mx_op_broadcast_math[10], /* broadcast_greater_equal */
    &mx_op_broadcast_math[11], /* broadcast_lesser */
    &mx_op_broadcast_math[12], /* broadcast_lesser_equal */
    &mx_op_scalar_math[0], /* _maximum_scalar */
    &mx_op_scalar_math[1], /* _minimum_scalar */
    &mx_op_scalar_math[2], /* _power_scalar */
    &mx_op_scalar_math[3], /* _rpower_scalar */
    &mx_op_scalar_math[4], /* _equal_scalar */
    &mx_op_scalar_math[5], /* _not_equal_scalar */
    &mx_op_scalar_math[6], /* _greater_scalar */
    &mx_op_scalar_math[7], /* _greater_equal_scalar */
    &mx_op_scalar_math[8], /* _lesser_scalar */
    &mx_op_scalar_math[9], /* _lesser_equal_scalar */
};
#define NBUILTIN ((int)(sizeof builtin / sizeof builtin[0]))

#define MAX_EXTRA 256
static const mx_op *extra[MAX_EXTRA];
static int nextra;

int mx_op_count(void) { return NBUILTIN + nextra; }

const mx_op *mx_op_at(int i) {
  if (i < 0) return NULL;
  if (i < NBUILTIN) return builtin[i];
  if (i - NBUILTIN < nextra) return extra[i - NBUILTIN];
  return NULL;
}

/* Other names MXNet versions wrote into -symbol.json files for the same operators. */
static const char *const aliases[][2] = {
    {"elemwise_add", "_Plus"},  {"_plus", "_Plus"},   {"_add", "_Plus"},  {"elemwise_sub", "_Minus"},
    {"_minus", "_Minus"},       {"_sub", "_Minus"},   {"elemwise_mul", "_Mul"}, {"_mul", "_Mul"},
    {"elemwise_div", "_Div"},   {"_div", "_Div"},     {"_plus_scalar", "_PlusScalar"},
    {"_minus_scalar", "_MinusScalar"}, {"_rminus_scalar", "_RMinusScalar"}, {"_mul_scalar", "_MulScalar"},
    {"_div_scalar", "_DivScalar"}, {"_rdiv_scalar", "_RDivScalar"}, {"flatten", "Flatten"},
    {"reshape", "Reshape"},     {"concat", "Concat"}, {"stop_gradient", "BlockGrad"},
    {"add_n", "ElementWiseSum"}, /* convolutional networks */
    {"split", "SliceChannel"}, {"cast", "Cast"}, {"sum_axis", "sum"}, {"max_axis", "max"},
};

const mx_op *mx_op_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < mx_op_count(); i++)
    if (strcmp(mx_op_at(i)->name, name) == 0) return mx_op_at(i);
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(aliases[i][0], name) == 0) return mx_op_find(aliases[i][1]);
  return NULL;
}

mx_status mx_op_register(const mx_op *op) {
  if (!op || !op->name) return mx_error_at(MX_ERR_ARG, "mx_op_register", "operator without a name");
  for (int i = 0; i < mx_op_count(); i++)
    if (mx_op_at(i) == op) return MX_OK;
  if (mx_op_find(op->name))
    return mx_error_at(MX_ERR_ARG, "mx_op_register", "an operator named '%s' already exists", op->name);
  if (nextra == MAX_EXTRA) return mx_error_at(MX_ERR_NOMEM, "mx_op_register", "too many operators (max %d)", MAX_EXTRA);
  extra[nextra++] = op;
  return MX_OK;
}

static int fixed_list(const char *const *list, const char **names) {
  int n = 0;
  while (list && list[n] && n < MX_OP_MAX_IO) {
    names[n] = list[n];
    n++;
  }
  return n;
}

/* The answer kept when the node was parsed, copied into names. */
static int kept_list(const char *const *kept, int n, const char **names) {
  for (int i = 0; i < n; i++) names[i] = kept[i];
  return n;
}

int mx_op_arguments(const mx_op_attrs *a, const char **names) {
  if (a->listed) return kept_list(a->arg_names, a->nargs, names);
  return a->op->list_arguments ? a->op->list_arguments(a, names) : fixed_list(a->op->arguments, names);
}
int mx_op_outputs_all(const mx_op_attrs *a, const char **names) {
  if (a->listed) return kept_list(a->out_names, a->noutputs, names);
  return a->op->list_outputs ? a->op->list_outputs(a, names) : fixed_list(a->op->outputs, names);
}
int mx_op_aux_states(const mx_op_attrs *a, const char **names) {
  if (a->listed) return kept_list(a->aux_names, a->naux, names);
  return a->op->list_aux_states ? a->op->list_aux_states(a, names) : fixed_list(a->op->aux_states, names);
}
unsigned mx_op_backward_needs(const mx_op_attrs *a) {
  if (a->listed) return a->bwd_needs;
  return a->op->backward_needs ? a->op->backward_needs(a) : a->op->flags;
}

/* ---- public registry info ---- */

static const char *type_name(mx_param_type t) {
  switch (t) {
  case MX_PARAM_INT: return "int";
  case MX_PARAM_FLOAT: return "float";
  case MX_PARAM_BOOL: return "boolean";
  case MX_PARAM_ENUM: return "enum";
  case MX_PARAM_STRING: return "string";
  case MX_PARAM_SHAPE: return "shape";
  }
  return "?";
}

int mx_op_list_count(void) { return mx_op_count(); }

mx_status mx_op_get_info(int i, mx_op_info *out) {
  static mx_op_param_info infos[MX_OP_MAX_PARAMS];
  const mx_op *op = mx_op_at(i);
  if (!op) return mx_error_at(MX_ERR_ARG, "mx_op_get_info", "no operator %d (there are %d)", i, mx_op_count());
  for (int j = 0; j < op->nparams && j < MX_OP_MAX_PARAMS; j++) {
    const mx_param_desc *d = &op->params[j];
    infos[j] = (mx_op_param_info){d->name, type_name(d->type), d->default_value, d->choices, d->doc};
  }
  out->name = op->name;
  out->doc = op->doc ? op->doc : "";
  out->nparams = op->nparams;
  out->params = infos;
  out->arguments = op->arguments;
  return MX_OK;
}
