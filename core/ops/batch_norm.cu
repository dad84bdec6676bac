// batch_norm.cu: BatchNorm on a GPU, as batch_norm.c: one block per channel, the
// batch statistics and the gradient sums in double through a shared-memory tree,
// then the block writes its channel's elements.
#include <math.h>

#include "cuda_util.h"

enum { P_EPS, P_MOMENTUM, P_FIX_GAMMA, P_GLOBAL, P_OUTPUT_MEAN_VAR, P_AXIS }; // batch_norm.c's parameters

// data viewed as (outer, ch, inner) around the channel axis
static void view(const mx_op_call *c, int64_t *outer, int64_t *ch, int64_t *inner) {
  int nd = mx_ndarray_ndim(c->in[0]);
  const int64_t *s = mx_ndarray_shape(c->in[0]);
  int64_t axis = MX_PINT(c->attrs, P_AXIS);
  if (axis < 0) axis += nd;
  *outer = *inner = 1;
  for (int i = 0; i < axis; i++) *outer *= s[i];
  for (int i = (int)axis + 1; i < nd; i++) *inner *= s[i];
  *ch = s[axis];
}

// the block's sum of v (every thread passes its part); all threads get it
__device__ static double block_sum(double v, double *part) {
  part[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  double total = part[0];
  __syncthreads();
  return total;
}

struct bn_args {
  int64_t outer, ch, inner;
  float eps, mom;
  int fix, batch, global;
};

#define BN_AT(k, e) (((e) / a.inner * a.ch + (k)) * a.inner + (e) % a.inner) // element e of channel k

__global__ void bn_fwd_kernel(bn_args a, mx_req r, const float *x, const float *gamma, const float *beta, float *y,
                              float *mean, float *var, float *mm, float *mv) {
  __shared__ double part[MX_CUDA_THREADS];
  int64_t m = a.outer * a.inner;
  for (int64_t k = blockIdx.x; k < a.ch; k += gridDim.x) {
    float mu, v;
    if (a.batch) {
      double s = 0, s2 = 0;
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) s += x[BN_AT(k, e)];
      double dmu = block_sum(s, part) / (double)m;
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        double d = x[BN_AT(k, e)] - dmu;
        s2 += d * d;
      }
      s2 = block_sum(s2, part);
      mu = (float)dmu;
      v = (float)(s2 / (double)m);
      if (threadIdx.x == 0) {
        mm[k] = a.mom * mm[k] + (1.0f - a.mom) * mu;
        mv[k] = a.mom * mv[k] + (1.0f - a.mom) * v;
      }
    } else {
      mu = mm[k];
      v = mv[k];
    }
    if (threadIdx.x == 0) {
      mean[k] = mu;
      var[k] = v;
    }
    float scale = (a.fix ? 1.0f : gamma[k]) / sqrtf(v + a.eps), shift = beta[k] - mu * scale;
    for (int64_t e = threadIdx.x; e < m; e += blockDim.x) mx_cuda_store(r, &y[BN_AT(k, e)], x[BN_AT(k, e)] * scale + shift);
  }
}

__global__ void bn_bwd_kernel(bn_args a, mx_req rx, mx_req rg, mx_req rb, const float *x, const float *gamma,
                              const float *dy, const float *mean, const float *var, float *dx, float *dgamma,
                              float *dbeta) {
  __shared__ double part[MX_CUDA_THREADS];
  int64_t m = a.outer * a.inner;
  for (int64_t k = blockIdx.x; k < a.ch; k += gridDim.x) {
    float mu = mean[k], istd = 1.0f / sqrtf(var[k] + a.eps), g = a.fix ? 1.0f : gamma[k];
    double sdy = 0, sdyx = 0;
    for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
      float d = dy[BN_AT(k, e)], p = x[BN_AT(k, e)];
      sdy += d;
      sdyx += d * (p - mu) * istd;
    }
    sdy = block_sum(sdy, part);
    sdyx = block_sum(sdyx, part);
    if (threadIdx.x == 0) {
      if (rg != MX_REQ_NULL) mx_cuda_store(rg, &dgamma[k], a.fix ? 0.0f : (float)sdyx);
      if (rb != MX_REQ_NULL) mx_cuda_store(rb, &dbeta[k], (float)sdy);
    }
    if (rx != MX_REQ_NULL) {
      float f = g * istd, mdy = a.global ? 0.0f : (float)(sdy / (double)m),
            mdyx = a.global ? 0.0f : (float)(sdyx / (double)m);
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        int64_t at = BN_AT(k, e);
        mx_cuda_store(rx, &dx[at], f * (dy[at] - mdy - (x[at] - mu) * istd * mdyx));
      }
    }
  }
}

static bn_args args_of(const mx_op_call *c) {
  bn_args a;
  view(c, &a.outer, &a.ch, &a.inner);
  a.eps = MX_PFLOAT(c->attrs, P_EPS);
  a.mom = MX_PFLOAT(c->attrs, P_MOMENTUM);
  a.fix = MX_PBOOL(c->attrs, P_FIX_GAMMA);
  a.global = MX_PBOOL(c->attrs, P_GLOBAL);
  a.batch = c->is_train && !a.global;
  return a;
}

static unsigned blocks_for(int64_t ch) { return ch < 65535 ? (unsigned)ch : 65535u; }

extern "C" mx_status mx_op_batch_norm_forward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  bn_args a = args_of(c);
  if (a.ch == 0) return MX_OK;
  MX_CUDA_KERNEL(bn_fwd_kernel, blocks_for(a.ch), MX_CUDA_THREADS, 0, mx_cuda_stream())(
      a, c->req[0], mx_op_data(c->in[0]), mx_op_data(c->in[1]), mx_op_data(c->in[2]), mx_op_data(c->out[0]),
      mx_op_data(c->out[1]), mx_op_data(c->out[2]), mx_op_data(c->aux[0]), mx_op_data(c->aux[1]));
  return mx_cuda_launch_status("BatchNorm", "bn_fwd_kernel");
}

extern "C" mx_status mx_op_batch_norm_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  bn_args a = args_of(c);
  if (a.ch == 0) return MX_OK;
  MX_CUDA_KERNEL(bn_bwd_kernel, blocks_for(a.ch), MX_CUDA_THREADS, 0, mx_cuda_stream())(
      a, c->req[0], c->req[1], c->req[2], mx_op_data(c->in[0]), mx_op_data(c->in[1]), mx_op_data(c->out_grad[0]),
      mx_op_data(c->out[1]), mx_op_data(c->out[2]), c->req[0] != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL,
      c->req[1] != MX_REQ_NULL ? mx_op_data(c->in_grad[1]) : NULL,
      c->req[2] != MX_REQ_NULL ? mx_op_data(c->in_grad[2]) : NULL);
  return mx_cuda_launch_status("BatchNorm", "bn_bwd_kernel");
}
