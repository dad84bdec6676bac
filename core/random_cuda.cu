// random_cuda.cu: mx.random on a GPU: the Philox stream of random.c (philox.h)
// filled by kernels, a thread per counter block of 4 words, so a seed gives the
// CPU's numbers. Not recordable in a CUDA graph (each replay would draw the same).
#include "cuda_util.h"
#include "philox.h"

// numbers 4b .. 4b+3 from block ctr + b
__global__ void uniform_kernel(float *y, int64_t n, float low, float high, uint64_t key, uint64_t ctr) {
  MX_CUDA_LOOP(b, (n + 3) / 4) {
    uint32_t w[4];
    mx_philox4x32(ctr + (uint64_t)b, key, w);
    for (int j = 0; j < 4 && 4 * b + j < n; j++) y[4 * b + j] = mx_philox_uniform(w[j], low, high);
  }
}

// pairs (4b, 4b+1) from words 0, 1 and (4b+2, 4b+3) from words 2, 3 of block ctr + b
__global__ void normal_kernel(float *y, int64_t n, float mean, float std, uint64_t key, uint64_t ctr) {
  MX_CUDA_LOOP(b, (n + 3) / 4) {
    uint32_t w[4];
    mx_philox4x32(ctr + (uint64_t)b, key, w);
    for (int j = 0; j < 4 && 4 * b + j < n; j += 2) {
      float a, c;
      mx_philox_normal2(w[j], w[j + 1], mean, std, &a, &c);
      y[4 * b + j] = a;
      if (4 * b + j + 1 < n) y[4 * b + j + 1] = c;
    }
  }
}

static mx_status prepare(mx_ndarray *out) {
  mx_status st = mx_cuda_set_device(mx_ndarray_context(out).dev_id);
  if (st != MX_OK) return st;
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(mx_cuda_stream(), &cs) != cudaSuccess) cudaGetLastError();
  if (cs != cudaStreamCaptureStatusNone) {
    mx_cuda_set_pending("random numbers while recording a CUDA graph", cudaErrorStreamCaptureUnsupported);
    return mx_error(MX_ERR_STATE, "random numbers cannot be recorded in a CUDA graph (each replay would draw the "
                                  "same ones)");
  }
  return MX_OK;
}

extern "C" mx_status mx_cuda_random_uniform(float low, float high, mx_ndarray *out, uint64_t key, uint64_t ctr) {
  mx_status st = prepare(out);
  if (st != MX_OK) return st;
  int64_t n = mx_ndarray_size(out);
  MX_CUDA_LAUNCH(uniform_kernel, (n + 3) / 4, mx_ndarray_data(out), n, low, high, key, ctr);
  return mx_cuda_launch_status("mx_random_uniform", "uniform_kernel");
}

extern "C" mx_status mx_cuda_random_normal(float mean, float std, mx_ndarray *out, uint64_t key, uint64_t ctr) {
  mx_status st = prepare(out);
  if (st != MX_OK) return st;
  int64_t n = mx_ndarray_size(out);
  MX_CUDA_LAUNCH(normal_kernel, (n + 3) / 4, mx_ndarray_data(out), n, mean, std, key, ctr);
  return mx_cuda_launch_status("mx_random_normal", "normal_kernel");
}
