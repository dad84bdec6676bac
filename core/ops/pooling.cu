// pooling.cu: Pooling's launches on a GPU: forward a thread per output; backward a thread
// per input element gathering, in pooling.c's order, the gradients of the windows that hold
// it (max: where it is the window's first largest). The math is pooling.h's, as on the CPU.
#include "cuda_util.h"
#include "pooling.h"

__global__ void pool_fwd_kernel(mx_conv_geom g, int kind, mx_req r, const float *x, float *out, int64_t planes) {
  int64_t p = g.oh * g.ow;
  MX_CUDA_LOOP(t, planes * p)
  mx_cuda_store(r, &out[t], pool_forward(&g, kind, x + t / p * g.h * g.w, t % p / g.ow, t % g.ow));
}

__global__ void pool_bwd_kernel(mx_conv_geom g, int kind, mx_req r, const float *x, const float *dy, float *dx,
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
        float d = gy[oy * g.ow + ox];
        if (kind == POOL_MAX) {
          if (pool_argmax(&g, src, oy, ox) == iy * g.w + ix) v += d;
        } else {
          v += pool_share(&g, kind, d, oy, ox);
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
  mx_conv_geom g = mx_op_pooling_geometry(c);
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  MX_CUDA_LAUNCH(pool_fwd_kernel, planes * g.oh * g.ow, g, pooling_kind(MX_PARAMS(pooling_param, c->attrs)), r,
                 mx_op_data(c->in[0]), mx_op_data(c->out[0]), planes);
  return mx_cuda_op_status(c, "pool_fwd_kernel");
}

extern "C" mx_status mx_op_pooling_backward_gpu(const mx_op_call *c) {
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  mx_conv_geom g = mx_op_pooling_geometry(c);
  int64_t planes = mx_ndarray_shape(c->in[0])[0] * g.c;
  MX_CUDA_LAUNCH(pool_bwd_kernel, planes * g.h * g.w, g, pooling_kind(MX_PARAMS(pooling_param, c->attrs)), r,
                 mx_op_data(c->in[0]), mx_op_data(c->out_grad[0]), mx_op_data(c->in_grad[0]), planes);
  return mx_cuda_op_status(c, "pool_bwd_kernel");
}
