// random_cuda.cu: mx.random on a GPU: the Philox stream of random.c (philox.h)
// filled by kernels, a thread per counter block of 4 words, so a seed gives the
// CPU's numbers. Not recordable in a CUDA graph (each replay would draw the same).
#include "cuda_util.h"
#include "philox.h"

__global__ void uniform_kernel(float *y, int64_t n, float low, float high, uint64_t key, uint64_t ctr) {
  MX_CUDA_LOOP(b, (n + 3) / 4) mx_philox_uniform_block(y, n, b, low, high, key, ctr);
}

__global__ void normal_kernel(float *y, int64_t n, float mean, float std, uint64_t key, uint64_t ctr) {
  MX_CUDA_LOOP(b, (n + 3) / 4) mx_philox_normal_block(y, n, b, mean, std, key, ctr);
}

static mx_status prepare(int dev_id) {
  mx_status st = mx_cuda_set_device(dev_id);
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

// The device interface's random slots (device_cuda.cu): y holds n floats on gpu(dev_id).
mx_status mx_cuda_random_uniform(int dev_id, float *y, int64_t n, float low, float high, uint64_t key, uint64_t ctr) {
  mx_status st = prepare(dev_id);
  if (st != MX_OK) return st;
  MX_CUDA_LAUNCH(uniform_kernel, (n + 3) / 4, y, n, low, high, key, ctr);
  return mx_cuda_launch_status("mx_random_uniform", "uniform_kernel");
}

mx_status mx_cuda_random_normal(int dev_id, float *y, int64_t n, float mean, float std, uint64_t key, uint64_t ctr) {
  mx_status st = prepare(dev_id);
  if (st != MX_OK) return st;
  MX_CUDA_LAUNCH(normal_kernel, (n + 3) / 4, y, n, mean, std, key, ctr);
  return mx_cuda_launch_status("mx_random_normal", "normal_kernel");
}
