/* block_grad.c: BlockGrad, the identity forward whose backward passes no
 * gradient (zeros), to stop gradients flowing into a branch. Written over the kernel
 * table: one code for CPU and GPU. */
#include "table_op.h"


static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  if (c->req[0] == MX_REQ_WRITE || c->req[0] == MX_REQ_INPLACE) {
    mx_status st = mx_table_of(c, &k);
    if (st != MX_OK) return st;
    k->fill(mx_op_data(c->in_grad[0]), mx_op_size(c->in_grad[0]), 0.0f);
  }
  return MX_OK;
}

const mx_op mx_op_block_grad = {
    .name = "BlockGrad",
    .doc = "Identity forward; the gradient to the input is zero.",
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = mx_op_infer_same,
    .forward = {[MX_DEV_CPU] = mx_op_copy_forward, [MX_DEV_GPU] = mx_op_copy_forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_INPLACE,
};
