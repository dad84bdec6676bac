// block_grad.cu: BlockGrad's backward on a GPU: a zero gradient (the forward
// is the shared copy in flatten.cu).
#include "cuda_util.h"

extern "C" mx_status mx_op_block_grad_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  if (c->req[0] != MX_REQ_WRITE && c->req[0] != MX_REQ_INPLACE) return MX_OK;
  size_t bytes = (size_t)mx_op_size(c->in_grad[0]) * sizeof(float);
  if (!bytes) return MX_OK;
  cudaError_t e = cudaMemsetAsync(mx_op_data(c->in_grad[0]), 0, bytes, mx_cuda_stream());
  return e == cudaSuccess ? MX_OK : mx_cuda_fail("BlockGrad", "cudaMemsetAsync", e);
}
