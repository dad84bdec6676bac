/* block_grad.c: BlockGrad, the identity forward whose backward passes no
 * gradient (zeros), to stop gradients flowing into a branch. */
#include "operator.h"

mx_status mx_op_copy_forward(const mx_op_call *c);
mx_status mx_op_copy_forward_gpu(const mx_op_call *c);        /* flatten.cu */
mx_status mx_op_block_grad_backward_gpu(const mx_op_call *c); /* block_grad.cu */

static mx_status backward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_WRITE || c->req[0] == MX_REQ_INPLACE)
    memset(mx_op_data(c->in_grad[0]), 0, (size_t)mx_op_size(c->in_grad[0]) * sizeof(float));
  return MX_OK;
}

const mx_op mx_op_block_grad = {
    .name = "BlockGrad",
    .doc = "Identity forward; the gradient to the input is zero.",
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = mx_op_infer_same,
    .forward = {[MX_DEV_CPU] = mx_op_copy_forward, [MX_DEV_GPU] = MX_GPU(mx_op_copy_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_block_grad_backward_gpu)},
    .flags = MX_OP_INPLACE,
};
