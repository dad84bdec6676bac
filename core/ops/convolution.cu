// convolution.cu: Convolution on a GPU, as convolution.c: im2col of one image into
// the planned workspace, one cuBLAS GEMM per group; the bias added and summed, and
// col2im gathered (a thread per image element, no atomics) by kernels.
#include "conv_geom_gpu.h"

#define P(a) MX_PARAMS(mx_conv_param, a)

extern "C" mx_status mx_op_convolution_forward_gpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  mx_conv_geom g = mx_op_convolution_geometry(c);
  int64_t n = mx_ndarray_shape(c->in[0])[0], f = P(c->attrs)->num_filter, grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, fg = f / grp, k = g.c / grp * g.kh * g.kw;
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]);
  float *y = mx_op_data(c->out[0]), *col = c->workspace;
  for (int64_t i = 0; i < n; i++) {
    MX_CUDA_LAUNCH(im2col_kernel, g.c * g.kh * g.kw * p, g, x + i * g.c * g.h * g.w, col);
    for (int64_t j = 0; j < grp && st == MX_OK; j++) /* (F/G, K) x (K, P) -> (F/G, P) */
      st = mx_gemm(c->ctx, 0, 0, fg, p, k, 1.0f, w + j * fg * k, k, col + j * k * p, p, r == MX_REQ_ADD ? 1.0f : 0.0f,
                   y + (i * f + j * fg) * p, p);
    if (st != MX_OK) return st;
  }
  if (!P(c->attrs)->no_bias) MX_CUDA_LAUNCH(conv_bias_kernel, n * f * p, y, mx_op_data(c->in[2]), n, f, p);
  return mx_cuda_op_status(c, "convolution forward");
}

extern "C" mx_status mx_op_convolution_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  mx_conv_geom g = mx_op_convolution_geometry(c);
  int64_t n = mx_ndarray_shape(c->in[0])[0], f = P(c->attrs)->num_filter, grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, fg = f / grp, k = g.c / grp * g.kh * g.kw, img = g.c * g.h * g.w;
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]), *dy = mx_op_data(c->out_grad[0]);
  mx_req rx = c->req[0], rw = c->req[1], rb = P(c->attrs)->no_bias ? MX_REQ_NULL : c->req[2];
  float *col = c->workspace;
  if (rb != MX_REQ_NULL) MX_CUDA_LAUNCH(conv_bias_grad_kernel, f, rb, dy, mx_op_data(c->in_grad[2]), n, f, p);
  float *dx = rx != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL;
  float *dw = rw != MX_REQ_NULL ? mx_op_data(c->in_grad[1]) : NULL;
  if (dx && rx != MX_REQ_ADD && n * img > 0) {
    cudaError_t e = cudaMemsetAsync(dx, 0, (size_t)(n * img) * sizeof(float), mx_cuda_stream());
    if (e != cudaSuccess) return mx_cuda_op_fail(c, "cudaMemsetAsync", e);
  }
  for (int64_t i = 0; i < n; i++) {
    const float *dyi = dy + i * f * p;
    if (dw) MX_CUDA_LAUNCH(im2col_kernel, g.c * g.kh * g.kw * p, g, x + i * img, col);
    for (int64_t j = 0; j < grp && st == MX_OK; j++) {
      if (dw) /* (F/G, P) x (K, P)^T -> (F/G, K), summed over the batch */
        st = mx_gemm(c->ctx, 0, 1, fg, k, p, 1.0f, dyi + j * fg * p, p, col + j * k * p, p,
                     (i == 0 && rw != MX_REQ_ADD) ? 0.0f : 1.0f, dw + j * fg * k, k);
      if (st == MX_OK && dx) /* (F/G, K)^T x (F/G, P) -> (K, P), over this group's columns */
        st = mx_gemm(c->ctx, 1, 0, k, p, fg, 1.0f, w + j * fg * k, k, dyi + j * fg * p, p, 0.0f, col + j * k * p, p);
    }
    if (st != MX_OK) return st;
    if (dx) MX_CUDA_LAUNCH(col2im_kernel, img, g, col, dx + i * img);
  }
  return mx_cuda_op_status(c, "convolution backward");
}
