/* elementwise_sum.c: ElementWiseSum (add_n) of num_args inputs of one shape (arg0, arg1, ...),
 * as in MXNet's residual and inception networks; each input's gradient is the output's. */
#include "operator.h"

enum { P_NUM_ARGS };
static const mx_param_desc params[] = {
    {"num_args", MX_PARAM_INT, NULL, "1..64", "the number of inputs"},
};

static const char *const arg_names[MX_OP_MAX_IO] = {
    "arg0",  "arg1",  "arg2",  "arg3",  "arg4",  "arg5",  "arg6",  "arg7",  "arg8",  "arg9",
    "arg10", "arg11", "arg12", "arg13", "arg14", "arg15", "arg16", "arg17", "arg18", "arg19",
    "arg20", "arg21", "arg22", "arg23", "arg24", "arg25", "arg26", "arg27", "arg28", "arg29",
    "arg30", "arg31", "arg32", "arg33", "arg34", "arg35", "arg36", "arg37", "arg38", "arg39",
    "arg40", "arg41", "arg42", "arg43", "arg44", "arg45", "arg46", "arg47", "arg48", "arg49",
    "arg50", "arg51", "arg52", "arg53", "arg54", "arg55", "arg56", "arg57", "arg58", "arg59",
    "arg60", "arg61", "arg62", "arg63"};

static int list_args(const mx_op_attrs *a, const char **names) {
  int n = (int)MX_PINT(a, P_NUM_ARGS);
  if (n < 1) n = 1;
  if (n > MX_OP_MAX_IO) n = MX_OP_MAX_IO;
  for (int i = 0; i < n; i++) names[i] = arg_names[i];
  return n;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  int64_t n = MX_PINT(a, P_NUM_ARGS);
  if (n < 1 || n > MX_OP_MAX_IO)
    return mx_error_at(
        MX_ERR_ARG,
        "mx_symbol_infer_shape", "ElementWiseSum %s: num_args must be in [1, %d] (got %lld)",
        a->node_name ? a->node_name : "", MX_OP_MAX_IO, (long long)n);
  return mx_op_infer_same(a, in, nin, out, nout, aux, naux);
}

static mx_status forward_cpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  int nin = (int)MX_PINT(c->attrs, P_NUM_ARGS);
  int64_t n = mx_op_size(c->out[0]);
  float *restrict y = mx_op_data(c->out[0]);
  const float *x0 = mx_op_data(c->in[0]);
  /* the first input may be the output itself (in place): read it before anything is written */
  if (r == MX_REQ_ADD)
    mx_req_copy(MX_REQ_ADD, y, x0, n);
  else if (y != x0)
    memcpy(y, x0, (size_t)n * sizeof(float));
  for (int k = 1; k < nin; k++) mx_req_copy(MX_REQ_ADD, y, mx_op_data(c->in[k]), n);
  return MX_OK;
}

static mx_status backward_cpu(const mx_op_call *c) {
  int nin = (int)MX_PINT(c->attrs, P_NUM_ARGS);
  const float *dy = mx_op_data(c->out_grad[0]);
  for (int k = 0; k < nin; k++)
    if (c->req[k] != MX_REQ_NULL)
      mx_req_copy(c->req[k], mx_op_data(c->in_grad[k]), dy, mx_op_size(c->in_grad[k]));
  return MX_OK;
}

mx_status mx_op_elementwise_sum_forward_gpu(const mx_op_call *c); /* elementwise_sum.cu */
mx_status mx_op_elementwise_sum_backward_gpu(const mx_op_call *c);

const mx_op mx_op_elementwise_sum = {
    .name = "ElementWiseSum",
    .doc = "Adds num_args inputs of one shape.",
    .params = params,
    .nparams = 1,
    .list_arguments = list_args,
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward =
        {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_elementwise_sum_forward_gpu)},
    .backward =
        {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_elementwise_sum_backward_gpu)},
    .flags = MX_OP_BWD_OUT_GRAD,
};
