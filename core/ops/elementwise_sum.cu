// elementwise_sum.cu: ElementWiseSum (add_n) on a GPU, as elementwise_sum.c: the
// first input copied (or added), the others added; each gradient is the output's.
#include "cuda_util.h"

enum { P_NUM_ARGS }; // elementwise_sum.c's parameter

extern "C" mx_status mx_op_elementwise_sum_forward_gpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  int nin = (int)MX_PINT(c->attrs, P_NUM_ARGS);
  int64_t n = mx_op_size(c->out[0]);
  float *y = mx_op_data(c->out[0]);
  /* the first input may be the output itself (in place): it goes first */
  if (st == MX_OK) st = mx_cuda_req_copy("ElementWiseSum", r == MX_REQ_ADD ? MX_REQ_ADD : MX_REQ_WRITE, y,
                                         mx_op_data(c->in[0]), n);
  for (int k = 1; k < nin && st == MX_OK; k++) st = mx_cuda_req_copy("ElementWiseSum", MX_REQ_ADD, y, mx_op_data(c->in[k]), n);
  return st;
}

extern "C" mx_status mx_op_elementwise_sum_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  int nin = (int)MX_PINT(c->attrs, P_NUM_ARGS);
  const float *dy = mx_op_data(c->out_grad[0]);
  for (int k = 0; k < nin && st == MX_OK; k++)
    if (c->req[k] != MX_REQ_NULL)
      st = mx_cuda_req_copy("ElementWiseSum", c->req[k], mx_op_data(c->in_grad[k]), dy, mx_op_size(c->in_grad[k]));
  return st;
}
