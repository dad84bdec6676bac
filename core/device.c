/* device.c: contexts (mx_cpu, mx_gpu, checks), mx_device_for, the pooled
 * allocator per device (size classes with free lists) and its statistics, and
 * refcounted storage (mx_storage_*). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

mx_context mx_cpu(int dev_id) { return (mx_context){MX_DEV_CPU, dev_id}; }
mx_context mx_gpu(int dev_id) { return (mx_context){MX_DEV_GPU, dev_id}; }

char *mx_context_str(mx_context ctx, char *buf, size_t len) {
  const char *t = ctx.dev_type == MX_DEV_CPU ? "cpu" : ctx.dev_type == MX_DEV_GPU ? "gpu" : "unknown";
  snprintf(buf, len, "%s(%d)", t, ctx.dev_id);
  return buf;
}

/* The device serving a device type, or NULL (unknown type or not built in). */
static const mx_device *device_of_type(int dev_type) {
  return dev_type > 0 && dev_type < MX_DEV_SLOTS ? mx_devices[dev_type] : NULL;
}

int mx_cuda_compiled(void) { return device_of_type(MX_DEV_GPU) != NULL; }

int mx_gpu_count(void) {
  const mx_device *gpu = device_of_type(MX_DEV_GPU);
  return gpu ? gpu->count() : 0;
}

/* The internal helpers here (mx_device_for, mx_pool_alloc, mx_storage_create)
 * record a message without a function prefix ("gpu(0) is not available: built
 * without CUDA"); the public function calling them adds its own name with
 * MX_ERR_FRAME. */
const mx_device *mx_device_for(mx_context ctx) {
  char cs[32];
  const mx_device *dev = device_of_type(ctx.dev_type);
  if (!dev && ctx.dev_type == MX_DEV_GPU) {
    mx_error(MX_ERR_DEVICE, "%s is not available: built without CUDA", mx_context_str(ctx, cs, sizeof cs));
    return NULL;
  }
  if (!dev) {
    mx_error(MX_ERR_DEVICE, "unknown device type %d (expected 1 for cpu or 2 for gpu)", ctx.dev_type);
    return NULL;
  }
  if (dev->check(ctx.dev_id) != MX_OK) return NULL;
  return dev;
}

mx_status mx_context_check(mx_context ctx) {
  if (!mx_device_for(ctx)) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_context_check");
  return MX_OK;
}

mx_status mx_context_sync(mx_context ctx) {
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_context_sync");
  mx_status st = dev->sync(ctx.dev_id);
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_context_sync");
}

/* ---- the pool ----
 * Size classes: 256 bytes and below share one class; above, each power-of-two
 * octave (2^k, 2^(k+1)] is split in 4 classes, so a block wastes at most 25%.
 * Each (device type, device id) has one free list per class. */
#define POOL_CLASSES 256
#define POOL_MAX_DEV 16
#define POOL_MAX_BYTES ((size_t)1 << 60)

typedef struct free_list {
  void **items;
  int n, cap;
} free_list;

typedef struct pool {
  free_list classes[POOL_CLASSES];
} pool;

static pool pools[2][POOL_MAX_DEV];
static mx_alloc_stats stats;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* class index and class size in bytes for a request of `bytes` (> 0, <= POOL_MAX_BYTES) */
static int size_class(size_t bytes, size_t *class_bytes) {
  if (bytes <= 256) {
    *class_bytes = 256;
    return 0;
  }
  int k = 63 - __builtin_clzll((unsigned long long)(bytes - 1)); /* 2^k < bytes <= 2^(k+1) */
  size_t step = (size_t)1 << (k - 2);
  size_t q = (bytes + step - 1) / step; /* 5..8 */
  *class_bytes = q * step;
  return 1 + (k - 8) * 4 + (int)(q - 5);
}

static pool *pool_for(mx_context ctx) {
  int t = ctx.dev_type == MX_DEV_GPU ? 1 : 0;
  int id = t == 0 ? 0 : ctx.dev_id; /* all CPU ids share host memory */
  if (id < 0 || id >= POOL_MAX_DEV) return NULL;
  return &pools[t][id];
}

/* frees every pooled block of one pool; called with the lock held */
static void pool_trim(pool *p, const mx_device *dev, int dev_id) {
  for (int c = 0; c < POOL_CLASSES; c++) {
    free_list *fl = &p->classes[c];
    size_t cb = 0;
    if (fl->n) {
      /* recover the class size from its index */
      if (c == 0) cb = 256;
      else {
        int k = (c - 1) / 4 + 8, q = (c - 1) % 4 + 5;
        cb = (size_t)q << (k - 2);
      }
    }
    for (int i = 0; i < fl->n; i++) {
      dev->raw_free(dev_id, fl->items[i]);
      stats.bytes_pooled -= cb;
    }
    fl->n = 0;
    free(fl->items);
    fl->items = NULL;
    fl->cap = 0;
  }
}

/* MXLUA_GPU_POOL=0: GPU arrays get blocks of exactly their size, returned at once, not
 * pooled (as PyTorch's PYTORCH_NO_CUDA_MEMORY_CACHING), so that memory checkers (the
 * emulated GPU of tests/cuda_emu, compute-sanitizer) see each array's own bounds. */
static int gpu_exact(mx_context ctx) {
  static int exact = -1;
  if (ctx.dev_type != MX_DEV_GPU) return 0;
  if (exact < 0) {
    const char *s = getenv("MXLUA_GPU_POOL");
    exact = s && strcmp(s, "0") == 0;
  }
  return exact;
}

mx_status mx_pool_alloc(mx_context ctx, size_t bytes, void **out) {
  char cs[32];
  *out = NULL;
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return MX_ERR_DEVICE;
  pool *p = pool_for(ctx);
  if (!p)
    return mx_error(MX_ERR_DEVICE, "%s is beyond the %d devices the pool supports",
                    mx_context_str(ctx, cs, sizeof cs), POOL_MAX_DEV);
  if (bytes == 0) return MX_OK;
  if (bytes > POOL_MAX_BYTES)
    return mx_error(MX_ERR_NOMEM, "cannot allocate %zu bytes on %s (more than 2^60)",
                    bytes, mx_context_str(ctx, cs, sizeof cs));
  size_t cb;
  int c = size_class(bytes, &cb);
  if (gpu_exact(ctx)) {
    mx_status st = dev->raw_alloc(ctx.dev_id, bytes, out);
    pthread_mutex_lock(&pool_lock);
    stats.requests++;
    if (st == MX_OK) stats.system_allocs++, stats.bytes_in_use += bytes;
    pthread_mutex_unlock(&pool_lock);
    return st;
  }
  pthread_mutex_lock(&pool_lock);
  stats.requests++;
  free_list *fl = &p->classes[c];
  if (fl->n > 0) {
    *out = fl->items[--fl->n];
    stats.bytes_pooled -= cb;
    stats.bytes_in_use += cb;
    pthread_mutex_unlock(&pool_lock);
    return MX_OK;
  }
  mx_status st = dev->raw_alloc(ctx.dev_id, cb, out);
  if (st == MX_ERR_NOMEM) { /* give the pooled blocks back and try once more (only when out of memory: a
                              * refusal, as during a CUDA graph's recording, would lose them all) */
    pool_trim(p, dev, ctx.dev_id);
    st = dev->raw_alloc(ctx.dev_id, cb, out);
  }
  if (st == MX_OK) {
    stats.system_allocs++;
    stats.bytes_in_use += cb;
  }
  pthread_mutex_unlock(&pool_lock);
  return st;
}

void mx_pool_free(mx_context ctx, void *ptr, size_t bytes) {
  if (!ptr || bytes == 0) return;
  const mx_device *dev = device_of_type(ctx.dev_type);
  pool *p = pool_for(ctx);
  if (!dev || !p) return; /* cannot happen: the block came from mx_pool_alloc */
  if (gpu_exact(ctx)) {
    dev->raw_free(ctx.dev_id, ptr);
    pthread_mutex_lock(&pool_lock);
    stats.bytes_in_use -= bytes;
    pthread_mutex_unlock(&pool_lock);
    return;
  }
  size_t cb;
  int c = size_class(bytes, &cb);
  pthread_mutex_lock(&pool_lock);
  free_list *fl = &p->classes[c];
  stats.bytes_in_use -= cb;
  if (fl->n == fl->cap) {
    int cap = fl->cap ? fl->cap * 2 : 8;
    void **items = realloc(fl->items, (size_t)cap * sizeof *items);
    if (!items) { /* no room to keep it: give it back */
      dev->raw_free(ctx.dev_id, ptr);
      pthread_mutex_unlock(&pool_lock);
      return;
    }
    fl->items = items;
    fl->cap = cap;
  }
  fl->items[fl->n++] = ptr;
  stats.bytes_pooled += cb;
  pthread_mutex_unlock(&pool_lock);
}

void mx_alloc_stats_get(mx_alloc_stats *out) {
  pthread_mutex_lock(&pool_lock);
  *out = stats;
  pthread_mutex_unlock(&pool_lock);
}

void mx_alloc_trim(void) {
  pthread_mutex_lock(&pool_lock);
  const mx_device *gpu = device_of_type(MX_DEV_GPU);
  for (int id = 0; id < POOL_MAX_DEV; id++) {
    pool_trim(&pools[0][id], &mx_device_cpu, id);
    if (gpu) pool_trim(&pools[1][id], gpu, id);
  }
  pthread_mutex_unlock(&pool_lock);
}

/* Host blocks still pooled go back to the system when the library unloads
 * (Lua's dlclose at exit), so leak checkers see no lost blocks. GPU pools are
 * left to the driver: the CUDA runtime may already be torn down here. */
__attribute__((destructor)) static void pool_release_at_exit(void) {
  pthread_mutex_lock(&pool_lock);
  for (int id = 0; id < POOL_MAX_DEV; id++) pool_trim(&pools[0][id], &mx_device_cpu, id);
  pthread_mutex_unlock(&pool_lock);
}

/* ---- storage ---- */

mx_status mx_storage_create(mx_context ctx, size_t bytes, mx_storage **out) {
  *out = NULL;
  mx_storage *s = malloc(sizeof *s);
  if (!s) return mx_error(MX_ERR_NOMEM, "out of host memory");
  void *data = NULL;
  mx_status st = mx_pool_alloc(ctx, bytes, &data);
  if (st != MX_OK) {
    free(s);
    return st;
  }
  s->refcount = 1;
  s->ctx = ctx;
  s->bytes = bytes;
  s->data = data;
  *out = s;
  return MX_OK;
}

void mx_storage_release(mx_storage *s) {
  if (!s || --s->refcount > 0) return;
  mx_pool_free(s->ctx, s->data, s->bytes);
  free(s);
}
