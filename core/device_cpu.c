/* device_cpu.c: the CPU implementation of the device interface (mx_device_cpu):
 * 64-byte aligned host memory, memcpy/memset; its GEMM is the GEMM plan (gemm_plan.c),
 * its random fills random.c's, its kernels kernels_cpu.c's and optimizer.c's. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "optimizer.h"

static mx_status cpu_check(int dev_id) {
  if (dev_id < 0) return mx_error(MX_ERR_DEVICE, "cpu(%d) is not a valid context (expected id >= 0)", dev_id);
  return MX_OK;
}

static mx_status cpu_raw_alloc(int dev_id, size_t bytes, void **out) {
  size_t rounded = (bytes + 63) & ~(size_t)63;
  if (rounded < bytes) return mx_error(MX_ERR_NOMEM, "cannot allocate %zu bytes on cpu(%d)", bytes, dev_id);
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (!p) return mx_error(MX_ERR_NOMEM, "cannot allocate %zu bytes on cpu(%d): out of memory", bytes, dev_id);
  *out = p;
  return MX_OK;
}

static void cpu_raw_free(int dev_id, void *ptr) { free(ptr); }

static mx_status cpu_memset_zero(int dev_id, void *ptr, size_t bytes) {
  if (bytes) memset(ptr, 0, bytes);
  return MX_OK;
}

static mx_status cpu_copy(int dev_id, void *dst, const void *src, size_t bytes) {
  if (bytes && dst != src) memmove(dst, src, bytes);
  return MX_OK;
}

static mx_status cpu_sync(int dev_id) { return MX_OK; }

static int cpu_count(void) { return 1; }

const mx_device mx_device_cpu = {
    .name = "cpu",
    .count = cpu_count,
    .check = cpu_check,
    .raw_alloc = cpu_raw_alloc,
    .raw_free = cpu_raw_free,
    .memset_zero = cpu_memset_zero,
    .copy_from_host = cpu_copy,
    .copy_to_host = cpu_copy,
    .copy_on_device = cpu_copy,
    .sync = cpu_sync,
    .gemm = mx_gemm_plan_run,
    .random_uniform = mx_random_uniform_cpu,
    .random_normal = mx_random_normal_cpu,
    .kernels = &mx_kernels_cpu,
    .optim = &mx_optim_cpu_kernels,
};
