/* elementwise_sum.c: ElementWiseSum (add_n) of num_args inputs of one shape (arg0, arg1, ...),
 * as in MXNet's residual and inception networks; each input's gradient is the output's.
 * Written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

typedef struct elementwise_sum_param {
  int64_t num_args;
} elementwise_sum_param;
static const mx_param_desc params[] = {
    MX_PARAM(elementwise_sum_param, num_args, MX_PARAM_INT, NULL, "1..64", "the number of inputs"),
};
#define P(a) MX_PARAMS(elementwise_sum_param, a)

static const char *const arg_names[MX_OP_MAX_IO] = {
    "arg0",  "arg1",  "arg2",  "arg3",  "arg4",  "arg5",  "arg6",  "arg7",  "arg8",  "arg9",
    "arg10", "arg11", "arg12", "arg13", "arg14", "arg15", "arg16", "arg17", "arg18", "arg19",
    "arg20", "arg21", "arg22", "arg23", "arg24", "arg25", "arg26", "arg27", "arg28", "arg29",
    "arg30", "arg31", "arg32", "arg33", "arg34", "arg35", "arg36", "arg37", "arg38", "arg39",
    "arg40", "arg41", "arg42", "arg43", "arg44", "arg45", "arg46", "arg47", "arg48", "arg49",
    "arg50", "arg51", "arg52", "arg53", "arg54", "arg55", "arg56", "arg57", "arg58", "arg59",
    "arg60", "arg61", "arg62", "arg63"};

static int list_args(const mx_op_attrs *a, const char **names) {
  int n = (int)P(a)->num_args;
  if (n < 1) n = 1;
  if (n > MX_OP_MAX_IO) n = MX_OP_MAX_IO;
  for (int i = 0; i < n; i++) names[i] = arg_names[i];
  return n;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  int64_t n = P(a)->num_args;
  if (n < 1 || n > MX_OP_MAX_IO)
    return mx_op_error(a, MX_ERR_ARG, "num_args must be in [1, %d] (got %lld)", MX_OP_MAX_IO,
                       (long long)n);
  return mx_op_infer_same(a, in, nin, out, nout, aux, naux);
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *kt;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &kt);
  if (st != MX_OK) return st;
  int nin = (int)P(c->attrs)->num_args;
  int64_t n = mx_op_size(c->out[0]);
  float *y = mx_op_data(c->out[0]);
  const float *x0 = mx_op_data(c->in[0]);
  /* the first input may be the output itself (in place): read it before anything is written */
  if (r == MX_REQ_ADD)
    kt->binary(MX_BINARY_ADD, y, x0, y, n);
  else if (y != x0)
    kt->unary(MX_UNARY_COPY, x0, y, n);
  for (int i = 1; i < nin; i++) kt->binary(MX_BINARY_ADD, y, mx_op_data(c->in[i]), y, n);
  return MX_OK;
}

static mx_status backward(const mx_op_call *c) {
  const mx_kernels *kt;
  mx_status st = mx_table_of(c, &kt);
  if (st != MX_OK) return st;
  int nin = (int)P(c->attrs)->num_args;
  const float *dy = mx_op_data(c->out_grad[0]);
  for (int i = 0; i < nin; i++)
    if (c->req[i] != MX_REQ_NULL) {
      float *dx = mx_op_data(c->in_grad[i]);
      int64_t n = mx_op_size(c->in_grad[i]);
      if (c->req[i] == MX_REQ_ADD)
        kt->binary(MX_BINARY_ADD, dx, dy, dx, n);
      else if (dx != dy)
        kt->unary(MX_UNARY_COPY, dy, dx, n);
    }
  return MX_OK;
}

const mx_op mx_op_elementwise_sum = {
    .name = "ElementWiseSum",
    .doc = "Adds num_args inputs of one shape.",
    MX_OP_PARAMS(elementwise_sum_param, params),
    .list_arguments = list_args,
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
};
