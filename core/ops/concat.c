/* concat.c: Concat of num_args inputs (arg0, arg1, ...) along `dim`; the other
 * axes must agree. Backward splits the gradient back. */
#include <stdio.h>

#include "operator.h"

enum { P_NUM_ARGS, P_DIM };
static const mx_param_desc params[] = {
    {"num_args", MX_PARAM_INT, NULL, "1..64", "the number of inputs"},
    {"dim", MX_PARAM_INT, "1", NULL, "the axis to concatenate along (0-based)"},
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
  int dim = (int)MX_PINT(a, P_DIM);
  const mx_shape *ref = NULL;
  int64_t total = 0;
  int all = 1;
  char b1[96], b2[96];
  for (int i = 0; i < nin; i++) {
    if (in[i].ndim == 0) {
      all = 0;
      continue;
    }
    if (dim < 0 || dim >= in[i].ndim)
      return mx_error_at(MX_ERR_SHAPE,
                      "mx_symbol_infer_shape", "Concat %s: dim %d out of range for %s input %s "
                      "(operator axes are 0-based: expected 0 to %d)",
                      a->node_name, dim, arg_names[i], mx_shape_fmt(&in[i], b1, sizeof b1),
                      in[i].ndim - 1);
    if (ref) {
      int ok = ref->ndim == in[i].ndim;
      for (int j = 0; ok && j < ref->ndim; j++) ok = j == dim || ref->dim[j] == in[i].dim[j];
      if (!ok)
        return mx_error_at(
            MX_ERR_SHAPE,
            "mx_symbol_infer_shape", "Concat %s: %s %s does not fit %s (all axes but %d must agree)",
            a->node_name, arg_names[i], mx_shape_fmt(&in[i], b1, sizeof b1),
            mx_shape_fmt(ref, b2, sizeof b2), dim);
    }
    ref = &in[i];
    total += in[i].dim[dim];
  }
  if (!all || !ref) return MX_OK;
  mx_shape o = *ref;
  o.dim[dim] = total;
  return mx_shape_fill(a, "output", &out[0], &o);
}

/* Each input is (outer, d_i * inner) inside the output's (outer, total * inner). */
static mx_status run(const mx_op_call *c, int backward) {
  int dim = (int)MX_PINT(c->attrs, P_DIM), n = (int)MX_PINT(c->attrs, P_NUM_ARGS);
  mx_ndarray *whole = backward ? c->out_grad[0] : c->out[0];
  const int64_t *shape = mx_ndarray_shape(whole);
  int ndim = mx_ndarray_ndim(whole);
  int64_t outer = mx_shape_size(shape, dim), inner = mx_shape_size(shape + dim + 1, ndim - dim - 1);
  int64_t row = shape[dim] * inner, at = 0;
  float *w = mx_op_data(whole);
  for (int i = 0; i < n; i++) {
    mx_ndarray *part = backward ? c->in_grad[i] : c->in[i];
    int64_t len = mx_ndarray_shape(c->in[i])[dim] * inner; /* inputs always carry their shapes */
    mx_req r = c->req[backward ? i : 0];
    if (r != MX_REQ_NULL) {
      float *p = mx_op_data(part);
      for (int64_t o = 0; o < outer; o++) {
        if (backward)
          mx_req_copy(r, p + o * len, w + o * row + at, len);
        else
          mx_req_copy(r, w + o * row + at, p + o * len, len);
      }
    }
    at += len;
  }
  return MX_OK;
}

static mx_status forward_cpu(const mx_op_call *c) {
  return run(c, 0);
}
static mx_status backward_cpu(const mx_op_call *c) {
  return run(c, 1);
}

mx_status mx_op_concat_forward_gpu(const mx_op_call *c); /* concat.cu */
mx_status mx_op_concat_backward_gpu(const mx_op_call *c);

const mx_op mx_op_concat = {
    .name = "Concat",
    .doc = "Concatenates num_args inputs along axis dim.",
    .params = params,
    .nparams = 2,
    .arguments = (const char *const[]){"arg0", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_concat_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_concat_backward_gpu)},
    .flags = MX_OP_BWD_OUT_GRAD,
};
