// embedding.cu: Embedding on a GPU, as embedding.c: forward a thread per output
// element; the weight's gradient a thread per column adding the picked rows in
// the order of the indices (deterministic, the CPU's sums).
#include "cuda_util.h" /* first: the CUDA runtime, then the shared bodies */

#include "embedding.h"

#define P(a) MX_PARAMS(embedding_param, a)

__global__ void embedding_fwd_kernel(mx_req r, const float *idx, const float *w, float *y, int64_t rows, int64_t d,
                                     int64_t n) {
  MX_CUDA_LOOP(t, n * d) mx_cuda_store(r, &y[t], w[embedding_row(idx[t / d], rows) * d + t % d]);
}

// dw (rows, d) += dy (n, d) rows into the rows the indices picked
__global__ void embedding_bwd_kernel(const float *idx, const float *dy, float *dw, int64_t rows, int64_t d, int64_t n) {
  MX_CUDA_LOOP(j, d) {
    for (int64_t i = 0; i < n; i++) dw[embedding_row(idx[i], rows) * d + j] += dy[i * d + j];
  }
}

extern "C" mx_status mx_op_embedding_forward_gpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t rows = P(c->attrs)->input_dim, d = P(c->attrs)->output_dim, n = mx_op_size(c->in[0]);
  MX_CUDA_LAUNCH(embedding_fwd_kernel, n * d, c->req[0], mx_op_data(c->in[0]), mx_op_data(c->in[1]),
                 mx_op_data(c->out[0]), rows, d, n);
  return mx_cuda_op_status(c, "embedding_fwd_kernel");
}

extern "C" mx_status mx_op_embedding_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t rows = P(c->attrs)->input_dim, d = P(c->attrs)->output_dim, n = mx_op_size(c->in[0]);
  cudaStream_t s = mx_cuda_stream();
  cudaError_t e = cudaSuccess;
  if ((c->req[0] == MX_REQ_WRITE || c->req[0] == MX_REQ_INPLACE) && n > 0) /* the indices get no gradient */
    e = cudaMemsetAsync(mx_op_data(c->in_grad[0]), 0, (size_t)n * sizeof(float), s);
  if (e == cudaSuccess && c->req[1] != MX_REQ_NULL && c->req[1] != MX_REQ_ADD)
    e = cudaMemsetAsync(mx_op_data(c->in_grad[1]), 0, (size_t)(rows * d) * sizeof(float), s);
  if (e != cudaSuccess) return mx_cuda_op_fail(c, "cudaMemsetAsync", e);
  if (c->req[1] != MX_REQ_NULL)
    MX_CUDA_LAUNCH(embedding_bwd_kernel, d, mx_op_data(c->in[0]), mx_op_data(c->out_grad[0]), mx_op_data(c->in_grad[1]),
                   rows, d, n);
  return mx_cuda_op_status(c, "embedding_bwd_kernel");
}
