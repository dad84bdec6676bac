/* flatten.c: Flatten, (n, d1, d2, ...) -> (n, d1*d2*...); the data is copied
 * only when the planner could not give the output the input's memory. The copy is
 * written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  mx_shape o = {2, {in[0].dim[0], in[0].dim[0] ? mx_shape_numel(&in[0]) / in[0].dim[0] : 0}};
  if (in[0].ndim == 1) o.dim[1] = 1;
  return mx_shape_fill(a, "output", &out[0], &o);
}

/* Shared by the shape-only operators: the output is the input's data. */
mx_status mx_op_copy_forward(const mx_op_call *c) {
  return mx_table_copy(c, c->req[0], mx_op_data(c->out[0]), mx_op_data(c->in[0]), mx_op_size(c->in[0]));
}
mx_status mx_op_copy_backward(const mx_op_call *c) {
  return mx_table_copy(c, c->req[0], mx_op_data(c->in_grad[0]), mx_op_data(c->out_grad[0]),
                       mx_op_size(c->out_grad[0]));
}


const mx_op mx_op_flatten = {
    .name = "Flatten",
    .doc = "Flattens the input to (batch, rest).",
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = mx_op_copy_forward, [MX_DEV_GPU] = mx_op_copy_forward},
    .backward = {[MX_DEV_CPU] = mx_op_copy_backward, [MX_DEV_GPU] = mx_op_copy_backward},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
