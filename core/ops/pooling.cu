// pooling.cu: Pooling (max, avg, sum) on a GPU, as pooling.c: a thread per output
// forward; backward a thread per input element gathering, in pooling.c's order, the
// gradients of the windows that hold it (max: where it is the window's first largest).
#include <float.h>

#include "conv_geom_gpu.h"
#include "elementwise.h" // mx_ew_max: NaN kept

enum { P_KERNEL, P_POOL_TYPE, P_STRIDE, P_PAD, P_GLOBAL }; // pooling.c's parameters
enum { MAX, AVG, SUM, LP, AVG_VALID }; // pooling.c's kinds
extern "C" int mx_op_pooling_type(const mx_op_attrs *a);

static mx_gpu_geom call_geometry(const mx_op_call *c) {
  mx_gpu_geom g = mx_gpu_geom_of(c, c->in[0], c->out[0], P_KERNEL, P_STRIDE, -1, P_PAD);
  if (MX_PBOOL(c->attrs, P_GLOBAL)) { /* the whole image; kernel, stride and pad ignored */
    g.kh = g.h;
    g.kw = g.w;
    g.sh = g.sw = 1;
    g.ph = g.pw = 0;
  }
  return g;
}

// The window of output (y, x), clipped to the data, and avg's divisor (the window
// clipped to the padded data), as pooling.c's window().
__device__ static inline int64_t window(const mx_gpu_geom &g, int64_t y, int64_t x, int64_t *y0, int64_t *y1,
                                        int64_t *x0, int64_t *x1) {
  int64_t hs = y * g.sh - g.ph, ws = x * g.sw - g.pw;
  int64_t he = hs + g.kh, we = ws + g.kw;
  int64_t area = ((he < g.h + g.ph ? he : g.h + g.ph) - hs) * ((we < g.w + g.pw ? we : g.w + g.pw) - ws);
  *y0 = hs < 0 ? 0 : hs;
  *x0 = ws < 0 ? 0 : ws;
  *y1 = he > g.h ? g.h : he;
  *x1 = we > g.w ? g.w : we;
  return area;
}

__global__ void pool_fwd_kernel(mx_gpu_geom g, int type, mx_req r, const float *x, float *out, int64_t planes) {
  int64_t p = g.oh * g.ow;
  MX_CUDA_LOOP(t, planes * p) {
    int64_t pl = t / p, oy = t % p / g.ow, ox = t % g.ow;
    const float *src = x + pl * g.h * g.w;
    int64_t y0, y1, x0, x1, area = window(g, oy, ox, &y0, &y1, &x0, &x1);
    float v;
    if (type == MAX) {
      v = -FLT_MAX;
      for (int64_t i = y0; i < y1; i++)
        for (int64_t j = x0; j < x1; j++) v = mx_ew_max(src[i * g.w + j], v);
    } else {
      v = 0.0f;
      for (int64_t i = y0; i < y1; i++)
        for (int64_t j = x0; j < x1; j++) v += src[i * g.w + j];
      if (type == AVG) v /= (float)area;
      if (type == AVG_VALID) v /= (float)((y1 - y0) * (x1 - x0));
    }
    mx_cuda_store(r, &out[t], v);
  }
}

__global__ void pool_bwd_kernel(mx_gpu_geom g, int type, mx_req r, const float *x, const float *dy, float *dx,
                                int64_t planes) {
  int64_t hw = g.h * g.w;
  MX_CUDA_LOOP(t, planes * hw) {
    int64_t pl = t / hw, iy = t % hw / g.w, ix = t % g.w;
    const float *src = x + pl * hw, *gy = dy + pl * g.oh * g.ow;
    float v = r == MX_REQ_ADD ? dx[t] : 0.0f;
    // outputs whose window start oy*sh - ph lies in (iy - kh, iy]
    int64_t oy_lo = iy + g.ph - g.kh + 1, ox_lo = ix + g.pw - g.kw + 1;
    oy_lo = oy_lo <= 0 ? 0 : (oy_lo + g.sh - 1) / g.sh;
    ox_lo = ox_lo <= 0 ? 0 : (ox_lo + g.sw - 1) / g.sw;
    for (int64_t oy = oy_lo; oy < g.oh && oy * g.sh - g.ph <= iy; oy++)
      for (int64_t ox = ox_lo; ox < g.ow && ox * g.sw - g.pw <= ix; ox++) {
        int64_t y0, y1, x0, x1, area = window(g, oy, ox, &y0, &y1, &x0, &x1);
        float d = gy[oy * g.ow + ox];
        if (type == MAX) {
          int64_t best = -1;
          float m = -FLT_MAX;
          for (int64_t i = y0; i < y1; i++)
            for (int64_t j = x0; j < x1; j++)
              if (best < 0 || (m == m && mx_ew_max(src[i * g.w + j], m) != m)) { /* or the first NaN */
                m = src[i * g.w + j];
                best = i * g.w + j;
              }
          if (best == iy * g.w + ix) v += d;
        } else {
          v += type == AVG ? d / (float)area : type == AVG_VALID ? d / (float)((y1 - y0) * (x1 - x0)) : d;
        }
      }
    dx[t] = v;
  }
}

extern "C" mx_status mx_op_pooling_forward_gpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  mx_gpu_geom g = call_geometry(c);
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  MX_CUDA_LAUNCH(pool_fwd_kernel, planes * g.oh * g.ow, g, mx_op_pooling_type(c->attrs), r,
                 mx_op_data(c->in[0]), mx_op_data(c->out[0]), planes);
  return mx_cuda_launch_status("Pooling", "pool_fwd_kernel");
}

extern "C" mx_status mx_op_pooling_backward_gpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  mx_gpu_geom g = call_geometry(c);
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  MX_CUDA_LAUNCH(pool_bwd_kernel, planes * g.h * g.w, g, mx_op_pooling_type(c->attrs), r,
                 mx_op_data(c->in[0]), mx_op_data(c->out_grad[0]), mx_op_data(c->in_grad[0]), planes);
  return mx_cuda_launch_status("Pooling", "pool_bwd_kernel");
}
