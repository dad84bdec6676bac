// device_cuda.cu: the CUDA implementation of the device interface
// (mx_device_cuda): cudaMalloc-backed blocks for the pool (never managed
// memory), copies, memset, sync, and the device check. No math kernels yet.
#include <cuda_runtime.h>
#include <stdio.h>

extern "C" {
#include "internal.h"
}

// Device count, asked once: any CUDA error means "no usable GPU".
static int cached_count = -1;
static char count_error[256];

static int cuda_count(void) {
  if (cached_count >= 0) return cached_count;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    snprintf(count_error, sizeof count_error, "%s", cudaGetErrorString(e));
    cudaGetLastError(); // clear the sticky error
    n = 0;
  } else if (n == 0) {
    snprintf(count_error, sizeof count_error, "0 devices");
  }
  cached_count = n;
  return n;
}

extern "C" int mx_cuda_compiled(void) { return 1; }
extern "C" int mx_gpu_count(void) { return cuda_count(); }

static mx_status cuda_fail(mx_status st, const char *what, int dev_id, cudaError_t e) {
  cudaGetLastError();
  return mx_error(st, "%s on gpu(%d) failed: %s", what, dev_id, cudaGetErrorString(e));
}

static mx_status cuda_check(int dev_id) {
  int n = cuda_count();
  if (n == 0)
    return mx_error(MX_ERR_DEVICE, "gpu(%d) is not available: no CUDA device present (cudaGetDeviceCount: %s)",
                    dev_id, count_error);
  if (dev_id < 0 || dev_id >= n)
    return mx_error(MX_ERR_DEVICE, "gpu(%d) out of range (%d CUDA device%s present, ids 0..%d)", dev_id, n,
                    n == 1 ? "" : "s", n - 1);
  return MX_OK;
}

static mx_status set_device(int dev_id) {
  cudaError_t e = cudaSetDevice(dev_id);
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaSetDevice", dev_id, e);
}

static mx_status cuda_raw_alloc(int dev_id, size_t bytes, void **out) {
  mx_status st = set_device(dev_id);
  if (st != MX_OK) return st;
  void *p = NULL;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return mx_error(MX_ERR_NOMEM, "cannot allocate %zu bytes on gpu(%d): %s", bytes, dev_id,
                    cudaGetErrorString(e));
  }
  *out = p;
  return MX_OK;
}

static void cuda_raw_free(int dev_id, void *ptr) {
  if (set_device(dev_id) == MX_OK) cudaFree(ptr);
}

static mx_status cuda_memset_zero(int dev_id, void *ptr, size_t bytes) {
  if (!bytes) return MX_OK;
  mx_status st = set_device(dev_id);
  if (st != MX_OK) return st;
  cudaError_t e = cudaMemset(ptr, 0, bytes);
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaMemset", dev_id, e);
}

static mx_status cuda_copy(int dev_id, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                           const char *what) {
  if (!bytes) return MX_OK;
  mx_status st = set_device(dev_id);
  if (st != MX_OK) return st;
  cudaError_t e = cudaMemcpy(dst, src, bytes, kind);
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, what, dev_id, e);
}

static mx_status cuda_copy_from_host(int dev_id, void *dst, const void *src, size_t bytes) {
  return cuda_copy(dev_id, dst, src, bytes, cudaMemcpyHostToDevice, "cudaMemcpy (host to device)");
}
static mx_status cuda_copy_to_host(int dev_id, void *dst, const void *src, size_t bytes) {
  return cuda_copy(dev_id, dst, src, bytes, cudaMemcpyDeviceToHost, "cudaMemcpy (device to host)");
}
static mx_status cuda_copy_on_device(int dev_id, void *dst, const void *src, size_t bytes) {
  return cuda_copy(dev_id, dst, src, bytes, cudaMemcpyDeviceToDevice, "cudaMemcpy (device to device)");
}

static mx_status cuda_sync(int dev_id) {
  mx_status st = set_device(dev_id);
  if (st != MX_OK) return st;
  cudaError_t e = cudaDeviceSynchronize();
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaDeviceSynchronize", dev_id, e);
}

// The CUDA issue fills `kernels` with a CUDA mx_kernels table.
extern "C" const mx_device mx_device_cuda = {
    "gpu",          cuda_check,          cuda_raw_alloc,    cuda_raw_free, cuda_memset_zero,
    cuda_copy_from_host, cuda_copy_to_host, cuda_copy_on_device, cuda_sync,     NULL,
};
