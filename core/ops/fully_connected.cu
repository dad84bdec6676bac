// fully_connected.cu: FullyConnected on a GPU: the products through mx_gemm
// (cuBLAS), the bias added and its gradient summed by small kernels.
#include "cuda_util.h"

enum { P_NUM_HIDDEN, P_NO_BIAS, P_FLATTEN }; // fully_connected.c's parameters

// y (m, n) += b (n,) on every row
__global__ void add_bias_kernel(float *y, const float *b, int64_t m, int64_t n) {
  MX_CUDA_LOOP(i, m * n) y[i] += b[i % n];
}

// db (n,) = or += the column sums of dy (m, n); a thread per column sums its rows in order
__global__ void bias_grad_kernel(mx_req r, const float *dy, float *db, int64_t m, int64_t n) {
  MX_CUDA_LOOP(j, n) {
    float s = r == MX_REQ_ADD ? db[j] : 0.0f;
    for (int64_t i = 0; i < m; i++) s += dy[i * n + j];
    db[j] = s;
  }
}

extern "C" mx_status mx_op_fully_connected_forward_gpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = MX_PINT(c->attrs, P_NUM_HIDDEN), k = mx_op_size(c->in[1]) / n, m = mx_op_size(c->in[0]) / k;
  float *y = mx_op_data(c->out[0]);
  /* (m, k) x (n, k)^T -> (m, n) */
  st = mx_gemm(c->ctx, 0, 1, m, n, k, 1.0f, mx_op_data(c->in[0]), k, mx_op_data(c->in[1]), k,
               r == MX_REQ_ADD ? 1.0f : 0.0f, y, n);
  if (st != MX_OK || MX_PBOOL(c->attrs, P_NO_BIAS)) return st;
  MX_CUDA_LAUNCH(add_bias_kernel, m * n, y, mx_op_data(c->in[2]), m, n);
  return mx_cuda_launch_status("FullyConnected", "add_bias_kernel");
}

extern "C" mx_status mx_op_fully_connected_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = MX_PINT(c->attrs, P_NUM_HIDDEN), k = mx_op_size(c->in[1]) / n, m = mx_op_size(c->in[0]) / k;
  const float *dy = mx_op_data(c->out_grad[0]);
  if (c->req[0] != MX_REQ_NULL) /* (m, n) x (n, k) -> (m, k) */
    st = mx_gemm(c->ctx, 0, 0, m, k, n, 1.0f, dy, n, mx_op_data(c->in[1]), k, c->req[0] == MX_REQ_ADD ? 1.0f : 0.0f,
                 mx_op_data(c->in_grad[0]), k);
  if (st == MX_OK && c->req[1] != MX_REQ_NULL) /* (m, n)^T x (m, k) -> (n, k) */
    st = mx_gemm(c->ctx, 1, 0, n, k, m, 1.0f, dy, n, mx_op_data(c->in[0]), k, c->req[1] == MX_REQ_ADD ? 1.0f : 0.0f,
                 mx_op_data(c->in_grad[1]), k);
  if (st != MX_OK || MX_PBOOL(c->attrs, P_NO_BIAS) || c->req[2] == MX_REQ_NULL) return st;
  MX_CUDA_LAUNCH(bias_grad_kernel, n, c->req[2], dy, mx_op_data(c->in_grad[2]), m, n);
  return mx_cuda_launch_status("FullyConnected", "bias_grad_kernel");
}
