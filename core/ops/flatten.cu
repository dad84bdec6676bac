// flatten.cu: the GPU kernels of the shape-only operators (Flatten, Reshape,
// BlockGrad's forward): the output is the input's data, copied or added by request.
#include "cuda_util.h"

__global__ void add_kernel(float *dst, const float *src, int64_t n) {
  MX_CUDA_LOOP(i, n) dst[i] += src[i];
}

mx_status mx_cuda_req_copy(const char *where, mx_req r, float *dst, const float *src, int64_t n) {
  if (r == MX_REQ_NULL || n == 0) return MX_OK;
  if (r == MX_REQ_ADD) {
    MX_CUDA_LAUNCH(add_kernel, n, dst, src, n);
  } else if (dst != src) {
    cudaError_t e = cudaMemcpyAsync(dst, src, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice, mx_cuda_stream());
    if (e != cudaSuccess) return mx_cuda_fail(where, "cudaMemcpyAsync (device to device)", e);
  }
  return mx_cuda_launch_status(where, "add_kernel");
}

extern "C" mx_status mx_op_copy_forward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  return mx_cuda_req_copy(c->attrs->op->name, c->req[0], mx_op_data(c->out[0]), mx_op_data(c->in[0]),
                          mx_op_size(c->in[0]));
}

extern "C" mx_status mx_op_copy_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  return mx_cuda_req_copy(c->attrs->op->name, c->req[0], mx_op_data(c->in_grad[0]), mx_op_data(c->out_grad[0]),
                          mx_op_size(c->out_grad[0]));
}
