// concat.cu: Concat on a GPU: each input is an (outer, len) block inside the
// output's (outer, total) rows; forward copies the blocks in, backward out.
#include "cuda_util.h"

enum { P_NUM_ARGS, P_DIM }; // concat.c's parameters

// dst[r*ldd + c] = or += src[r*lds + c]
__global__ void concat_block_kernel(mx_req req, const float *src, int64_t lds, float *dst, int64_t ldd, int64_t rows,
                                    int64_t cols) {
  MX_CUDA_LOOP(i, rows * cols) {
    int64_t r = i / cols, c = i % cols;
    mx_cuda_store(req, &dst[r * ldd + c], src[r * lds + c]);
  }
}

static mx_status run(const mx_op_call *c, int backward) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int dim = (int)MX_PINT(c->attrs, P_DIM), n = (int)MX_PINT(c->attrs, P_NUM_ARGS);
  mx_ndarray *whole = backward ? c->out_grad[0] : c->out[0];
  const int64_t *shape = mx_ndarray_shape(whole);
  int ndim = mx_ndarray_ndim(whole);
  int64_t outer = mx_shape_size(shape, dim), inner = mx_shape_size(shape + dim + 1, ndim - dim - 1);
  int64_t row = shape[dim] * inner, at = 0;
  float *w = mx_op_data(whole);
  for (int i = 0; i < n; i++) {
    mx_ndarray *part = backward ? c->in_grad[i] : c->in[i];
    int64_t len = mx_ndarray_shape(c->in[i])[dim] * inner; /* inputs always carry their shapes */
    mx_req r = c->req[backward ? i : 0];
    if (r != MX_REQ_NULL) {
      float *p = mx_op_data(part);
      if (backward) MX_CUDA_LAUNCH(concat_block_kernel, outer * len, r, w + at, row, p, len, outer, len);
      else MX_CUDA_LAUNCH(concat_block_kernel, outer * len, r, p, len, w + at, row, outer, len);
    }
    at += len;
  }
  return mx_cuda_launch_status("Concat", "concat_block_kernel");
}

extern "C" mx_status mx_op_concat_forward_gpu(const mx_op_call *c) { return run(c, 0); }
extern "C" mx_status mx_op_concat_backward_gpu(const mx_op_call *c) { return run(c, 1); }
