// deconvolution.cu: Deconvolution on a GPU, as deconvolution.c: the convolution
// whose image is this op's output and whose grid is its input; forward cuBLAS per
// group into columns then col2im, backward im2col of the gradient then cuBLAS.
#include "conv_geom_gpu.h"

#define P(a) MX_PARAMS(mx_deconv_param, a)

extern "C" mx_status mx_op_deconvolution_forward_gpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  mx_conv_geom g = mx_op_deconvolution_geometry(c);
  int64_t n = mx_ndarray_shape(c->in[0])[0], cin = mx_ndarray_shape(c->in[0])[1], grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, cg = cin / grp, k = g.c / grp * g.kh * g.kw, img = g.c * g.h * g.w;
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]);
  float *y = mx_op_data(c->out[0]), *col = c->workspace;
  if (r != MX_REQ_ADD && n * img > 0) {
    cudaError_t e = cudaMemsetAsync(y, 0, (size_t)(n * img) * sizeof(float), mx_cuda_stream());
    if (e != cudaSuccess) return mx_cuda_op_fail(c, "cudaMemsetAsync", e);
  }
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < grp && st == MX_OK; j++) /* (C/G, K)^T x (C/G, P) -> (K, P) */
      st = mx_gemm(c->ctx, 1, 0, k, p, cg, 1.0f, w + j * cg * k, k, x + (i * cin + j * cg) * p, p, 0.0f,
                   col + j * k * p, p);
    if (st != MX_OK) return st;
    MX_CUDA_LAUNCH(col2im_kernel, img, g, col, y + i * img);
  }
  if (!P(c->attrs)->no_bias)
    MX_CUDA_LAUNCH(conv_bias_kernel, n * img, y, mx_op_data(c->in[2]), n, g.c, g.h * g.w);
  return mx_cuda_op_status(c, "deconvolution forward");
}

extern "C" mx_status mx_op_deconvolution_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  mx_conv_geom g = mx_op_deconvolution_geometry(c);
  int64_t n = mx_ndarray_shape(c->in[0])[0], cin = mx_ndarray_shape(c->in[0])[1], grp = P(c->attrs)->num_group;
  int64_t p = g.oh * g.ow, cg = cin / grp, k = g.c / grp * g.kh * g.kw, img = g.c * g.h * g.w;
  const float *x = mx_op_data(c->in[0]), *w = mx_op_data(c->in[1]), *dy = mx_op_data(c->out_grad[0]);
  mx_req rx = c->req[0], rw = c->req[1], rb = P(c->attrs)->no_bias ? MX_REQ_NULL : c->req[2];
  float *col = c->workspace;
  if (rb != MX_REQ_NULL)
    MX_CUDA_LAUNCH(conv_bias_grad_kernel, g.c, rb, dy, mx_op_data(c->in_grad[2]), n, g.c, g.h * g.w);
  float *dx = rx != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL;
  float *dw = rw != MX_REQ_NULL ? mx_op_data(c->in_grad[1]) : NULL;
  for (int64_t i = 0; i < n && (dx || dw); i++) {
    MX_CUDA_LAUNCH(im2col_kernel, g.c * g.kh * g.kw * p, g, dy + i * img, col);
    for (int64_t j = 0; j < grp && st == MX_OK; j++) {
      if (dx) /* (C/G, K) x (K, P) -> (C/G, P) */
        st = mx_gemm(c->ctx, 0, 0, cg, p, k, 1.0f, w + j * cg * k, k, col + j * k * p, p,
                     rx == MX_REQ_ADD ? 1.0f : 0.0f, dx + (i * cin + j * cg) * p, p);
      if (st == MX_OK && dw) /* (C/G, P) x (K, P)^T -> (C/G, K), summed over the batch */
        st = mx_gemm(c->ctx, 0, 1, cg, k, p, 1.0f, x + (i * cin + j * cg) * p, p, col + j * k * p, p,
                     (i == 0 && rw != MX_REQ_ADD) ? 0.0f : 1.0f, dw + j * cg * k, k);
    }
    if (st != MX_OK) return st;
  }
  return mx_cuda_op_status(c, "deconvolution backward");
}
