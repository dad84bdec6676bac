/* concat.c: Concat of num_args inputs (arg0, arg1, ...) along `dim`; the other
 * axes must agree. Backward splits the gradient back. Written over the kernel table's
 * block copy: one code for CPU and GPU. */
#include <stdio.h>

#include "table_op.h"

typedef struct concat_param {
  int64_t num_args, dim;
} concat_param;

static const mx_param_desc params[] = {
    MX_PARAM(concat_param, num_args, MX_PARAM_INT, NULL, "1..64", "the number of inputs"),
    MX_PARAM(concat_param, dim, MX_PARAM_INT, "1", NULL, "the axis to concatenate along (0-based)"),
};
#define P(a) MX_PARAMS(concat_param, a)

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
  int dim = (int)P(a)->dim;
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
      return mx_op_error(a, MX_ERR_SHAPE,
                         "dim %d out of range for %s input %s "
                         "(operator axes are 0-based: expected 0 to %d)",
                         dim, arg_names[i], mx_shape_fmt(&in[i], b1, sizeof b1), in[i].ndim - 1);
    if (ref) {
      int ok = ref->ndim == in[i].ndim;
      for (int j = 0; ok && j < ref->ndim; j++) ok = j == dim || ref->dim[j] == in[i].dim[j];
      if (!ok)
        return mx_op_error(a, MX_ERR_SHAPE, "%s %s does not fit %s (all axes but %d must agree)",
                           arg_names[i], mx_shape_fmt(&in[i], b1, sizeof b1),
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

/* Each input is (outer, d_i * inner) inside the output's (outer, total * inner); forward
 * computes the whole output into its target, backward each input gradient into its own. */
static mx_status run(const mx_op_call *c, int backward) {
  const mx_kernels *k;
  if (!backward && c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int dim = (int)P(c->attrs)->dim, n = (int)P(c->attrs)->num_args;
  mx_ndarray *whole = backward ? c->out_grad[0] : c->out[0];
  const int64_t *shape = mx_ndarray_shape(whole);
  int ndim = mx_ndarray_ndim(whole);
  int64_t outer = mx_shape_size(shape, dim), inner = mx_shape_size(shape + dim + 1, ndim - dim - 1);
  int64_t row = shape[dim] * inner, at = 0;
  float *w = mx_op_data(whole), *wt = backward ? w : mx_table_target(c, c->req[0], w, 0);
  for (int i = 0; i < n; i++) {
    int64_t len = mx_ndarray_shape(c->in[i])[dim] * inner; /* inputs always carry their shapes */
    mx_req r = c->req[backward ? i : 0];
    if (!backward) {
      k->copy2d(mx_op_data(c->in[i]), len, wt + at, row, outer, len);
    } else if (r != MX_REQ_NULL) {
      float *dx = mx_op_data(c->in_grad[i]), *t = mx_table_target(c, r, dx, 0);
      k->copy2d(w + at, row, t, len, outer, len);
      mx_table_finish(k, r, dx, t, outer * len);
    }
    at += len;
  }
  if (!backward) mx_table_finish(k, c->req[0], w, wt, outer * row);
  return MX_OK;
}

static mx_status forward(const mx_op_call *c) {
  return run(c, 0);
}
static mx_status backward(const mx_op_call *c) {
  return run(c, 1);
}

const mx_op mx_op_concat = {
    .name = "Concat",
    .doc = "Concatenates num_args inputs along axis dim.",
    MX_OP_PARAMS(concat_param, params),
    .arguments = (const char *const[]){"arg0", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .list_arguments = list_args,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = mx_table_workspace,
};
