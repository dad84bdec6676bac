// selftest.cu (tests/cuda_emu): the emulated GPU must catch the bugs a GPU shows.
// `cuda_emu_selftest MODE` runs one small program: "ok" is correct and exits 0; each
// other mode carries one deliberate bug, which the emulator must stop or expose
// (tests/cuda_emu/run.sh checks each outcome).
#include <stdio.h>
#include <string.h>

#include "cuda_util.h"

#define N 1000

__global__ void scale_kernel(const float *x, float *y, int64_t n) { MX_CUDA_LOOP(i, n) y[i] = 2.0f * x[i]; }
// the off-by-one: reads one element past the end of x
__global__ void scale_off_by_one_kernel(const float *x, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) y[i] = 2.0f * x[i + 1];
}
// the out-of-bounds write: the loop bound is n + 8
__global__ void scale_oob_write_kernel(const float *x, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n + 8) y[i] = 2.0f * (i < n ? x[i] : 0.0f);
}
// a block sum through shared memory
__global__ void sum_kernel(const float *x, float *out, int64_t n) {
  __shared__ float part[256];
  float s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (unsigned h = blockDim.x / 2; h > 0; h >>= 1) {
    if (threadIdx.x < h) part[threadIdx.x] += part[threadIdx.x + h];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = part[0];
}
// a barrier that thread 0 skips
__global__ void bad_barrier_kernel(float *out) {
  if (threadIdx.x == 0) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

static int check(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    printf("%s failed: %s\n", what, cudaGetErrorString(e));
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "ok";
  cudaStream_t s;
  float *host, *in, *x, *y;
  if (check(cudaStreamCreate(&s), "cudaStreamCreate") || check(cudaMallocHost((void **)&host, N * 4), "cudaMallocHost") ||
      check(cudaMallocHost((void **)&in, N * 4), "cudaMallocHost") ||
      check(cudaMalloc((void **)&x, N * 4), "cudaMalloc") || check(cudaMalloc((void **)&y, N * 4), "cudaMalloc"))
    return 1;
  for (int i = 0; i < N; i++) in[i] = (float)i; // pinned: read when the copy runs, so kept until the end
  if (check(cudaMemcpyAsync(x, in, N * 4, cudaMemcpyHostToDevice, s), "copy to the device")) return 1;
  if (!strcmp(mode, "launch_1025")) {
    MX_CUDA_KERNEL(scale_kernel, 1, 1025, 0, s)(x, y, (int64_t)N);
    cudaError_t e = cudaGetLastError();
    printf("launch of 1025 threads: %s\n", cudaGetErrorString(e));
    return e == cudaSuccess ? 0 : 1;
  }
  if (!strcmp(mode, "off_by_one")) MX_CUDA_KERNEL(scale_off_by_one_kernel, 4, 256, 0, s)(x, y, (int64_t)N);
  else if (!strcmp(mode, "oob_write")) MX_CUDA_KERNEL(scale_oob_write_kernel, 4, 256, 0, s)(x, y, (int64_t)N);
  else if (!strcmp(mode, "bad_barrier")) MX_CUDA_KERNEL(bad_barrier_kernel, 1, 64, 0, s)(y);
  else MX_CUDA_KERNEL(scale_kernel, 4, 256, 0, s)(x, y, (int64_t)N);
  if (check(cudaGetLastError(), "launch")) return 1;
  if (!strcmp(mode, "host_read")) {
    printf("y[3] read on the host: %g\n", y[3]); // a device pointer dereferenced by the host
    return 0;
  }
  memset(host, 0, N * 4);
  if (check(cudaMemcpyAsync(host, y, N * 4, cudaMemcpyDeviceToHost, s), "copy to the host")) return 1;
  if (strcmp(mode, "missing_sync") != 0 && check(cudaStreamSynchronize(s), "cudaStreamSynchronize")) return 1;
  for (int i = 0; i < N; i++)
    if (host[i] != 2.0f * (float)i) {
      printf("wrong result (stale?): element %d is %g, expected %g\n", i, host[i], 2.0f * (float)i);
      return 1;
    }
  // shared memory and barriers
  MX_CUDA_KERNEL(sum_kernel, 1, 256, 0, s)(x, y, (int64_t)N);
  if (check(cudaMemcpyAsync(host, y, 4, cudaMemcpyDeviceToHost, s), "copy") || check(cudaStreamSynchronize(s), "sync"))
    return 1;
  if (host[0] != (float)(N * (N - 1) / 2)) {
    printf("wrong block sum: %g\n", host[0]);
    return 1;
  }
  printf("ok\n");
  return 0;
}
