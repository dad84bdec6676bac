/* device_cpu.c: the CPU implementation of the device interface (mx_device_cpu):
 * 64-byte aligned host memory, memcpy/memset; its kernels are kernels_cpu.c. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

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

const mx_device mx_device_cpu = {
    .name = "cpu",
    .check = cpu_check,
    .raw_alloc = cpu_raw_alloc,
    .raw_free = cpu_raw_free,
    .memset_zero = cpu_memset_zero,
    .copy_from_host = cpu_copy,
    .copy_to_host = cpu_copy,
    .copy_on_device = cpu_copy,
    .sync = cpu_sync,
    .kernels = &mx_kernels_cpu,
};
