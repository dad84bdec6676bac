// swap_axis.cu: SwapAxis on a GPU: a thread per element of the swapped array,
// (a, n1, b, n2, c) -> (a, n2, b, n1, c), as swap_axis.c, by request.
#include "cuda_util.h"

enum { P_DIM1, P_DIM2 }; // swap_axis.c's parameters

// dst (a, n2, b, n1, c) from src (a, n1, b, n2, c)
__global__ void swap_kernel(mx_req r, const float *src, float *dst, int64_t a, int64_t n1, int64_t b, int64_t n2,
                            int64_t c) {
  MX_CUDA_LOOP(t, a * n2 * b * n1 * c) {
    int64_t cc = t % c, j = t / c % n1, k = t / (c * n1) % b, l = t / (c * n1 * b) % n2, i = t / (c * n1 * b * n2);
    mx_cuda_store(r, &dst[t], src[(((i * n1 + j) * b + k) * n2 + l) * c + cc]);
  }
}

// src's shape s seen as (a, n1, b, n2, c) around the axes dim1 < dim2
static mx_status run(const mx_op_call *c, mx_ndarray *src, mx_ndarray *dst) {
  int nd = mx_ndarray_ndim(src);
  const int64_t *s = mx_ndarray_shape(src);
  int64_t x = MX_PINT(c->attrs, P_DIM1), y = MX_PINT(c->attrs, P_DIM2);
  if (x < 0 || y < 0 || x >= nd || y >= nd)
    return mx_error(MX_ERR_SHAPE, "SwapAxis %s: dim1=%lld and dim2=%lld must be in [0, %d)", c->attrs->node_name,
                    (long long)x, (long long)y, nd);
  int d1 = (int)(x < y ? x : y), d2 = (int)(x < y ? y : x);
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  // one axis with itself is a copy (the (a, n1, b, n2, c) view counts that axis twice)
  if (d1 == d2) return mx_cuda_req_copy("SwapAxis", c->req[0], mx_op_data(dst), mx_op_data(src), mx_ndarray_size(src));
  int64_t a = 1, b = 1, cc = 1;
  for (int i = 0; i < d1; i++) a *= s[i];
  for (int i = d1 + 1; i < d2; i++) b *= s[i];
  for (int i = d2 + 1; i < nd; i++) cc *= s[i];
  MX_CUDA_LAUNCH(swap_kernel, mx_ndarray_size(src), c->req[0], mx_op_data(src), mx_op_data(dst), a, s[d1], b, s[d2],
                 cc);
  return mx_cuda_launch_status("SwapAxis", "swap_kernel");
}

extern "C" mx_status mx_op_swap_axis_forward_gpu(const mx_op_call *c) { return run(c, c->in[0], c->out[0]); }
extern "C" mx_status mx_op_swap_axis_backward_gpu(const mx_op_call *c) {
  return run(c, c->out_grad[0], c->in_grad[0]);
}
