/* reshape.c: Reshape to `shape`, with MXNet's special values: 0 copies the input's
 * dimension at that position, -1 takes what is left (at most one -1). */
#include <stdio.h>

#include "operator.h"

enum { P_SHAPE };
static const mx_param_desc params[] = {
    {"shape", MX_PARAM_SHAPE, "()", NULL,
     "the target shape; 0 keeps that input dimension, -1 infers one"},
};

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  const mx_param_value *t = &a->p[P_SHAPE];
  char b1[96], b2[96];
  mx_shape o = {t->ndim, {0}};
  int unknown = -1;
  int64_t known = 1;
  for (int i = 0; i < t->ndim; i++) {
    int64_t d = t->shape[i];
    if (d == 0) {
      if (i >= in[0].ndim)
        return mx_error(
            MX_ERR_SHAPE,
            "mx_symbol_infer_shape: Reshape %s: 0 at position %d but the input %s has %d axes",
            a->node_name, i, mx_shape_fmt(&in[0], b1, sizeof b1), in[0].ndim);
      d = in[0].dim[i];
    } else if (d == -1) {
      if (unknown >= 0)
        return mx_error(MX_ERR_SHAPE,
                        "mx_symbol_infer_shape: Reshape %s: more than one -1 in shape %s",
                        a->node_name, t->str);
      unknown = i;
      continue;
    } else if (d < 0) {
      return mx_error(MX_ERR_SHAPE, "mx_symbol_infer_shape: Reshape %s: bad value %lld in shape %s",
                      a->node_name, (long long)d, t->str);
    }
    o.dim[i] = d;
    known *= d;
  }
  int64_t size = mx_shape_numel(&in[0]);
  if (unknown >= 0 && known > 0 && size % known == 0) o.dim[unknown] = size / known, known = size;
  if (t->ndim == 0 || known != size) {
    o.ndim = t->ndim;
    if (unknown >= 0) o.dim[unknown] = -1;
    return mx_error(MX_ERR_SHAPE,
                    "mx_symbol_infer_shape: Reshape %s: cannot reshape %s into %s (sizes differ)",
                    a->node_name, mx_shape_fmt(&in[0], b1, sizeof b1),
                    t->ndim ? mx_shape_fmt(&o, b2, sizeof b2) : "()");
  }
  return mx_shape_fill(a, "output", &out[0], &o);
}

mx_status mx_op_copy_forward(const mx_op_call *c);
mx_status mx_op_copy_backward(const mx_op_call *c);
mx_status mx_op_copy_forward_gpu(const mx_op_call *c); /* flatten.cu */
mx_status mx_op_copy_backward_gpu(const mx_op_call *c);

const mx_op mx_op_reshape = {
    .name = "Reshape",
    .doc = "Reshapes the input (0 keeps a dimension, -1 infers one).",
    .params = params,
    .nparams = 1,
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = mx_op_copy_forward, [MX_DEV_GPU] = MX_GPU(mx_op_copy_forward_gpu)},
    .backward =
        {[MX_DEV_CPU] = mx_op_copy_backward, [MX_DEV_GPU] = MX_GPU(mx_op_copy_backward_gpu)},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
