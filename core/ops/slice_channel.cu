// slice_channel.cu: SliceChannel on a GPU: part i is the (outer, len) block at
// column i * len of the data's (outer, n * len) rows; forward copies out, backward in.
#include "cuda_util.h"

extern "C" void mx_op_slice_channel_geometry(const mx_op_call *c, int64_t *outer, int64_t *len, int *n);

// dst[r*ldd + c] = or += src[r*lds + c]
__global__ void slice_block_kernel(mx_req req, const float *src, int64_t lds, float *dst, int64_t ldd, int64_t rows,
                                   int64_t cols) {
  MX_CUDA_LOOP(i, rows * cols) {
    int64_t r = i / cols, c = i % cols;
    mx_cuda_store(req, &dst[r * ldd + c], src[r * lds + c]);
  }
}

static mx_status run(const mx_op_call *c, int backward) {
  mx_req r = c->req[0];
  if (backward && r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t outer, len;
  int n;
  mx_op_slice_channel_geometry(c, &outer, &len, &n);
  float *whole = mx_op_data(backward ? c->in_grad[0] : c->in[0]);
  for (int i = 0; i < n; i++) {
    if (!backward) r = c->req[i];
    if (r == MX_REQ_NULL) continue;
    float *part = mx_op_data(backward ? c->out_grad[i] : c->out[i]);
    if (backward) MX_CUDA_LAUNCH(slice_block_kernel, outer * len, r, part, len, whole + i * len, n * len, outer, len);
    else MX_CUDA_LAUNCH(slice_block_kernel, outer * len, r, whole + i * len, n * len, part, len, outer, len);
  }
  return mx_cuda_launch_status("SliceChannel", "slice_block_kernel");
}

extern "C" mx_status mx_op_slice_channel_forward_gpu(const mx_op_call *c) { return run(c, 0); }
extern "C" mx_status mx_op_slice_channel_backward_gpu(const mx_op_call *c) { return run(c, 1); }
