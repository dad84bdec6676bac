/* conv_geom_gpu.h: the im2col / col2im / bias kernels Convolution and Deconvolution
 * share on a GPU (convolution.cu, deconvolution.cu), over conv_geom.h's geometry, which
 * the operators' .c files compute for a call (mx_op_convolution_geometry & co.). */
#ifndef MX_CONV_GEOM_GPU_H
#define MX_CONV_GEOM_GPU_H

#include "cuda_util.h"
#include "conv_geom.h"

/* ---- kernels (static: one copy per .cu) ---- */

// col (c*kh*kw, oh*ow) from one image (c, h, w), zeros where the kernel reads padding
static __global__ void im2col_kernel(mx_conv_geom g, const float *img, float *col) {
  int64_t p = g.oh * g.ow;
  MX_CUDA_LOOP(t, g.c * g.kh * g.kw * p) {
    int64_t row = t / p, q = t % p, y = q / g.ow, x = q % g.ow;
    int64_t ch = row / (g.kh * g.kw), ki = row / g.kw % g.kh, kj = row % g.kw;
    int64_t iy = y * g.sh - g.ph + ki * g.dh, ix = x * g.sw - g.pw + kj * g.dw;
    col[t] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? img[(ch * g.h + iy) * g.w + ix] : 0.0f;
  }
}

// img (c, h, w) += the columns that came from each element, in convolution.c's
// order (ki, then kj), so the sums round as the CPU's
static __global__ void col2im_kernel(mx_conv_geom g, const float *col, float *img) {
  int64_t p = g.oh * g.ow;
  MX_CUDA_LOOP(t, g.c * g.h * g.w) {
    int64_t ch = t / (g.h * g.w), iy = t / g.w % g.h, ix = t % g.w;
    float v = img[t];
    for (int64_t ki = 0; ki < g.kh; ki++) {
      int64_t ty = iy + g.ph - ki * g.dh; // = y * sh
      if (ty < 0 || ty % g.sh) continue;
      int64_t y = ty / g.sh;
      if (y >= g.oh) continue;
      for (int64_t kj = 0; kj < g.kw; kj++) {
        int64_t tx = ix + g.pw - kj * g.dw;
        if (tx < 0 || tx % g.sw) continue;
        int64_t x = tx / g.sw;
        if (x >= g.ow) continue;
        v += col[((ch * g.kh + ki) * g.kw + kj) * p + y * g.ow + x];
      }
    }
    img[t] = v;
  }
}

// y (n, f, p) += b (f,) on every position
static __global__ void conv_bias_kernel(float *y, const float *b, int64_t n, int64_t f, int64_t p) {
  MX_CUDA_LOOP(t, n * f * p) y[t] += b[t / p % f];
}

// db[o] = or += the sum of dy (n, f, p) over n and p, in double as convolution.c
static __global__ void conv_bias_grad_kernel(mx_req r, const float *dy, float *db, int64_t n, int64_t f, int64_t p) {
  MX_CUDA_LOOP(o, f) {
    double s = 0;
    for (int64_t i = 0; i < n; i++)
      for (int64_t q = 0; q < p; q++) s += dy[(i * f + o) * p + q];
    mx_cuda_store(r, &db[o], (float)s);
  }
}

#endif
