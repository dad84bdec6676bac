// batch_norm.cu: BatchNorm's launches on a GPU: one block per channel, the batch
// statistics and the gradient sums in double through a shared-memory tree, then the
// block writes its channel's elements; the math is batch_norm.h's, as on the CPU.
#include <math.h>

#include "cuda_util.h" /* first: the CUDA runtime, then the shared bodies */

#include "batch_norm.h"

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

#define BN_AT(k, e) (((e) / a.inner * a.ch + (k)) * a.inner + (e) % a.inner) // element e of channel k

__global__ void bn_fwd_kernel(bn_args a, mx_req r, const float *x, const float *gamma, const float *beta, float *y,
                              float *mean, float *var, float *mm, float *mv) {
  __shared__ double part[MX_CUDA_THREADS];
  int64_t m = a.outer * a.inner;
  for (int64_t k = blockIdx.x; k < a.ch; k += gridDim.x) {
    double s = 0, s2 = 0;
    if (a.batch) {
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) s += x[BN_AT(k, e)];
      s = block_sum(s, part);
      double dmu = s / (double)m;
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        double d = x[BN_AT(k, e)] - dmu;
        s2 += d * d;
      }
      s2 = block_sum(s2, part);
    }
    __shared__ float affine[2]; // thread 0 updates the statistics; all read scale and shift
    if (threadIdx.x == 0) bn_channel(&a, k, s, s2, (double)m, gamma, beta, mean, var, mm, mv, &affine[0], &affine[1]);
    __syncthreads();
    float scale = affine[0], shift = affine[1];
    __syncthreads(); // read by all before thread 0 writes the next channel's
    for (int64_t e = threadIdx.x; e < m; e += blockDim.x)
      mx_cuda_store(r, &y[BN_AT(k, e)], x[BN_AT(k, e)] * scale + shift);
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
    bn_grad gr = bn_channel_grad(&a, g, istd, sdy, sdyx, (double)m);
    if (threadIdx.x == 0) {
      if (rg != MX_REQ_NULL) mx_cuda_store(rg, &dgamma[k], gr.dgamma);
      if (rb != MX_REQ_NULL) mx_cuda_store(rb, &dbeta[k], gr.dbeta);
    }
    if (rx != MX_REQ_NULL)
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        int64_t at = BN_AT(k, e);
        mx_cuda_store(rx, &dx[at], bn_dx(&gr, dy[at], x[at], mu, istd));
      }
  }
}

static unsigned blocks_for(int64_t ch) {
  return ch < 65535 ? (unsigned)ch : 65535u;
}

extern "C" mx_status mx_op_batch_norm_forward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  bn_args a = bn_args_of(c);
  if (a.ch == 0) return MX_OK;
  MX_CUDA_KERNEL(bn_fwd_kernel, blocks_for(a.ch), MX_CUDA_THREADS, 0, mx_cuda_stream())
  (a, c->req[0], mx_op_data(c->in[0]), mx_op_data(c->in[1]), mx_op_data(c->in[2]), mx_op_data(c->out[0]),
   mx_op_data(c->out[1]), mx_op_data(c->out[2]), mx_op_data(c->aux[0]), mx_op_data(c->aux[1]));
  return mx_cuda_op_status(c, "bn_fwd_kernel");
}

extern "C" mx_status mx_op_batch_norm_backward_gpu(const mx_op_call *c) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  bn_args a = bn_args_of(c);
  if (a.ch == 0) return MX_OK;
  MX_CUDA_KERNEL(bn_bwd_kernel, blocks_for(a.ch), MX_CUDA_THREADS, 0, mx_cuda_stream())
  (a, c->req[0], c->req[1], c->req[2], mx_op_data(c->in[0]), mx_op_data(c->in[1]), mx_op_data(c->out_grad[0]),
   mx_op_data(c->out[1]), mx_op_data(c->out[2]), c->req[0] != MX_REQ_NULL ? mx_op_data(c->in_grad[0]) : NULL,
   c->req[1] != MX_REQ_NULL ? mx_op_data(c->in_grad[1]) : NULL,
   c->req[2] != MX_REQ_NULL ? mx_op_data(c->in_grad[2]) : NULL);
  return mx_cuda_op_status(c, "bn_bwd_kernel");
}
