// kvstore_nccl.cu: kvstore 'nccl': an in-place all-reduce (sum) of one array per
// GPU of this process through NCCL, on the engine's stream of each device. Built
// with -DMX_HAVE_NCCL when the Makefile finds libnccl beside CUDA.
#ifdef MX_HAVE_NCCL
#include <nccl.h>
#include <string.h>

#include "cuda_util.h"

// One communicator per device of the last device list (rebuilt when it changes).
static ncclComm_t g_comms[MX_CUDA_MAX_DEVICES];
static int g_devs[MX_CUDA_MAX_DEVICES];
static int g_ndev;

extern "C" int mx_nccl_compiled(void) {
  return 1;
}

static mx_status nccl_fail(const char *what, ncclResult_t r) {
  return mx_error_at(MX_ERR_DEVICE, "mx_nccl_allreduce", "%s failed: %s", what, ncclGetErrorString(r));
}

static mx_status comms_for(const int *devs, int n) {
  if (n == g_ndev && memcmp(devs, g_devs, (size_t)n * sizeof(int)) == 0) return MX_OK;
  for (int i = 0; i < g_ndev; i++) ncclCommDestroy(g_comms[i]);
  g_ndev = 0;
  ncclResult_t r = ncclCommInitAll(g_comms, n, devs);
  if (r != ncclSuccess) return nccl_fail("ncclCommInitAll", r);
  memcpy(g_devs, devs, (size_t)n * sizeof(int));
  g_ndev = n;
  return MX_OK;
}

extern "C" mx_status mx_nccl_allreduce(mx_ndarray *const *arrays, int n) {
  if (n < 1 || n > MX_CUDA_MAX_DEVICES || arrays == NULL)
    return mx_error_at(MX_ERR_ARG, "mx_nccl_allreduce", "need 1 to %d arrays (got %d)",
                    MX_CUDA_MAX_DEVICES, n);
  int devs[MX_CUDA_MAX_DEVICES];
  int64_t size = mx_ndarray_size(arrays[0]);
  for (int i = 0; i < n; i++) {
    mx_context c = mx_ndarray_context(arrays[i]);
    if (c.dev_type != MX_DEV_GPU)
      return mx_error_at(
          MX_ERR_ARG,
          "mx_nccl_allreduce", "array %d is not on a GPU (kvstore 'nccl' needs gpu contexts)", i);
    if (mx_ndarray_size(arrays[i]) != size)
      return mx_error_at(MX_ERR_SHAPE, "mx_nccl_allreduce", "array %d has %lld elements (expected %lld)",
                      i, (long long)mx_ndarray_size(arrays[i]), (long long)size);
    for (int j = 0; j < i; j++)
      if (devs[j] == c.dev_id)
        return mx_error_at(MX_ERR_ARG, "mx_nccl_allreduce", "two arrays on gpu(%d)", c.dev_id);
    devs[i] = c.dev_id;
  }
  mx_status st = comms_for(devs, n);
  if (st != MX_OK) return st;
  ncclResult_t r = ncclGroupStart();
  if (r != ncclSuccess) return nccl_fail("ncclGroupStart", r);
  for (int i = 0; i < n; i++) {
    if ((st = mx_cuda_set_device(devs[i])) != MX_OK) {
      ncclGroupEnd();
      return st;
    }
    float *p = mx_ndarray_data(arrays[i]);
    r = ncclAllReduce(p, p, (size_t)size, ncclFloat, ncclSum, g_comms[i], mx_cuda_stream());
    if (r != ncclSuccess) {
      ncclGroupEnd();
      return nccl_fail("ncclAllReduce", r);
    }
  }
  r = ncclGroupEnd();
  if (r != ncclSuccess) return nccl_fail("ncclGroupEnd", r);
  for (int i = 0; i < n; i++) {
    if ((st = mx_cuda_set_device(devs[i])) != MX_OK) return st;
    cudaError_t e = cudaStreamSynchronize(mx_cuda_stream());
    if (e != cudaSuccess) return mx_cuda_fail("mx_nccl_allreduce", "cudaStreamSynchronize", e);
  }
  return MX_OK;
}
#endif
