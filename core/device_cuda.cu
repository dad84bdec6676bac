// device_cuda.cu: the CUDA implementation of the device interface
// (mx_device_cuda): cudaMalloc-backed blocks for the pool (never managed
// memory), one stream per device, copies (pinned staging for large ones),
// memset, sync, the device check, and pending launch failures (cuda_util.h);
// its GEMM, random fills, graphs, kernels and optimizer kernels come from the other .cu files.
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cuda_util.h"

extern "C" {
#include "kernels.h"
#include "optimizer.h"
}

extern "C" const mx_kernels mx_kernels_cuda; // kernels_cuda.cu
extern "C" mx_op_kernel mx_cuda_op_kernel(const mx_op *op, int backward); // ops/cuda_ops.cu

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


// ---- failures ----

static thread_local cudaError_t pending_error = cudaSuccess;
static thread_local char pending_what[128];

void mx_cuda_set_pending(const char *what, cudaError_t e) {
  if (pending_error != cudaSuccess) return; // keep the first failure
  pending_error = e;
  snprintf(pending_what, sizeof pending_what, "%s", what);
}

mx_status mx_cuda_fail(const char *where, const char *what, cudaError_t e) {
  cudaGetLastError();
  mx_status st = e == cudaErrorMemoryAllocation ? MX_ERR_NOMEM : MX_ERR_DEVICE;
  return mx_error_at(st, where, "%s failed: %s", what, cudaGetErrorString(e));
}

// Device-interface messages have no function prefix (device.c's convention:
// the public caller adds its name).
static mx_status cuda_fail(mx_status st, const char *what, int dev_id, cudaError_t e) {
  cudaGetLastError();
  if (e == cudaErrorMemoryAllocation) st = MX_ERR_NOMEM;
  return mx_error(st, "%s on gpu(%d) failed: %s", what, dev_id, cudaGetErrorString(e));
}

// The pending failure, cleared, as "<where>: <what> failed: ..." or, where is
// NULL, "<what> on gpu(dev_id) failed: ..." (a device-interface call's failure).
static mx_status take_pending(const char *where, int dev_id) {
  if (pending_error == cudaSuccess) return MX_OK;
  cudaError_t e = pending_error;
  pending_error = cudaSuccess;
  return where ? mx_cuda_fail(where, pending_what, e) : cuda_fail(MX_ERR_DEVICE, pending_what, dev_id, e);
}

mx_status mx_cuda_take_pending(const char *where) { return take_pending(where, 0); }
static mx_status pending(int dev_id) { return take_pending(NULL, dev_id); }

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

// ---- devices and streams ----

mx_status mx_cuda_set_device(int dev_id) {
  int cur = -1;
  if (cudaGetDevice(&cur) == cudaSuccess && cur == dev_id) return MX_OK;
  cudaError_t e = cudaSetDevice(dev_id);
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaSetDevice", dev_id, e);
}

int mx_cuda_current_device(void) {
  int cur = 0;
  if (cudaGetDevice(&cur) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return cur;
}

static pthread_mutex_t stream_lock = PTHREAD_MUTEX_INITIALIZER;
static cudaStream_t streams[MX_CUDA_MAX_DEVICES];
static int stream_made[MX_CUDA_MAX_DEVICES];

cudaStream_t mx_cuda_stream(void) {
  int dev = mx_cuda_current_device();
  if (dev < 0 || dev >= MX_CUDA_MAX_DEVICES) return NULL;
  if (stream_made[dev]) return streams[dev];
  pthread_mutex_lock(&stream_lock);
  if (!stream_made[dev]) {
    // a blocking stream: work someone puts on the legacy stream stays ordered with ours
    cudaError_t e = cudaStreamCreateWithFlags(&streams[dev], cudaStreamDefault);
    if (e == cudaSuccess) {
      stream_made[dev] = 1;
    } else {
      mx_cuda_set_pending("cudaStreamCreate", e);
      streams[dev] = NULL;
    }
  }
  pthread_mutex_unlock(&stream_lock);
  return streams[dev];
}

void mx_cuda_device_of(const void *ptr) {
  if (cuda_count() <= 1 || !ptr) return; // one device: it is always current
  cudaPointerAttributes attr;
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();
    return;
  }
  if (attr.type == cudaMemoryTypeDevice && attr.device >= 0) mx_cuda_set_device(attr.device);
}

static unsigned long long *scratch[MX_CUDA_MAX_DEVICES];

unsigned long long *mx_cuda_scratch(void) {
  int dev = mx_cuda_current_device();
  if (dev < 0 || dev >= MX_CUDA_MAX_DEVICES) return NULL;
  pthread_mutex_lock(&stream_lock);
  if (!scratch[dev]) {
    cudaError_t e = cudaMalloc((void **)&scratch[dev], 8 * sizeof(unsigned long long));
    if (e != cudaSuccess) {
      scratch[dev] = NULL;
      mx_cuda_set_pending("cudaMalloc (scratch)", e);
    }
  }
  pthread_mutex_unlock(&stream_lock);
  return scratch[dev];
}

// Sets dev_id current, then reports a failure left pending by earlier launches.
static mx_status enter(int dev_id) {
  mx_status st = mx_cuda_set_device(dev_id);
  if (st != MX_OK) return st;
  return pending(dev_id);
}

// ---- memory ----

static mx_status cuda_raw_alloc(int dev_id, size_t bytes, void **out) {
  // no pending() here: the pool retries a failed allocation, which would lose it
  mx_status st = mx_cuda_set_device(dev_id);
  if (st != MX_OK) return st;
  void *p = NULL;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorStreamCaptureUnsupported) { // not a lack of memory: the pool must not trim
    cudaGetLastError();
    return mx_error(MX_ERR_STATE, "cannot allocate %zu bytes on gpu(%d) while a CUDA graph is being recorded", bytes,
                    dev_id);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    return mx_error(MX_ERR_NOMEM, "cannot allocate %zu bytes on gpu(%d): %s", bytes, dev_id,
                    cudaGetErrorString(e));
  }
  *out = p;
  return MX_OK;
}

static void cuda_raw_free(int dev_id, void *ptr) {
  if (mx_cuda_set_device(dev_id) != MX_OK) return;
  // cudaFree waits for the device: work still queued on the block finishes first
  if (cudaFree(ptr) != cudaSuccess) cudaGetLastError();
}

static mx_status cuda_memset_zero(int dev_id, void *ptr, size_t bytes) {
  mx_status st = enter(dev_id);
  if (st != MX_OK || !bytes) return st;
  cudaError_t e = cudaMemsetAsync(ptr, 0, bytes, mx_cuda_stream());
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaMemsetAsync", dev_id, e);
}

// ---- copies ----
// Copies up to STAGE_MIN bytes go straight from/to pageable memory. Larger ones
// (data batches, parameters) go through two pinned staging buffers per device:
// host to device, the host fills one buffer while the other is on its way
// (an event says when a buffer may be refilled), and the call returns once the
// last chunk is queued; device to host waits for each chunk.
#define STAGE_MIN ((size_t)64 << 10)
#define STAGE_BYTES ((size_t)4 << 20)

typedef struct stage {
  pthread_mutex_t lock;
  int ready; // buffers and events made
  float *buf[2];
  cudaEvent_t done[2];
} stage;
static stage stages[MX_CUDA_MAX_DEVICES];
static pthread_once_t stage_once = PTHREAD_ONCE_INIT;
static void stage_init_locks(void) {
  for (int i = 0; i < MX_CUDA_MAX_DEVICES; i++) pthread_mutex_init(&stages[i].lock, NULL);
}

// The device's staging buffers, locked; NULL (nothing locked) when they cannot
// be made: the caller then copies directly.
static stage *stage_acquire(int dev_id) {
  if (dev_id < 0 || dev_id >= MX_CUDA_MAX_DEVICES) return NULL;
  pthread_once(&stage_once, stage_init_locks);
  stage *s = &stages[dev_id];
  pthread_mutex_lock(&s->lock);
  if (!s->ready) {
    int ok = 1;
    for (int i = 0; i < 2 && ok; i++) {
      ok = cudaMallocHost((void **)&s->buf[i], STAGE_BYTES) == cudaSuccess;
      if (ok) ok = cudaEventCreateWithFlags(&s->done[i], cudaEventDisableTiming) == cudaSuccess;
    }
    if (!ok) {
      cudaGetLastError();
      pthread_mutex_unlock(&s->lock);
      return NULL;
    }
    s->ready = 1;
  }
  return s;
}

static mx_status staged_to_device(int dev_id, stage *s, char *dst, const char *src, size_t bytes) {
  cudaStream_t stream = mx_cuda_stream();
  for (size_t at = 0, i = 0; at < bytes; at += STAGE_BYTES, i ^= 1) {
    size_t len = bytes - at < STAGE_BYTES ? bytes - at : STAGE_BYTES;
    cudaError_t e = cudaEventSynchronize(s->done[i]); // the buffer's previous copy is over
    if (e != cudaSuccess) return cuda_fail(MX_ERR_DEVICE, "cudaEventSynchronize", dev_id, e);
    memcpy(s->buf[i], src + at, len);
    e = cudaMemcpyAsync(dst + at, s->buf[i], len, cudaMemcpyHostToDevice, stream);
    if (e == cudaSuccess) e = cudaEventRecord(s->done[i], stream);
    if (e != cudaSuccess) return cuda_fail(MX_ERR_DEVICE, "cudaMemcpyAsync (host to device)", dev_id, e);
  }
  return MX_OK;
}

static mx_status staged_to_host(int dev_id, stage *s, char *dst, const char *src, size_t bytes) {
  cudaStream_t stream = mx_cuda_stream();
  for (size_t at = 0; at < bytes; at += STAGE_BYTES) {
    size_t len = bytes - at < STAGE_BYTES ? bytes - at : STAGE_BYTES;
    cudaError_t e = cudaEventSynchronize(s->done[0]);
    if (e == cudaSuccess) e = cudaMemcpyAsync(s->buf[0], src + at, len, cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess) e = cudaEventRecord(s->done[0], stream);
    if (e == cudaSuccess) e = cudaEventSynchronize(s->done[0]);
    if (e != cudaSuccess) return cuda_fail(MX_ERR_DEVICE, "cudaMemcpyAsync (device to host)", dev_id, e);
    memcpy(dst + at, s->buf[0], len);
  }
  return MX_OK;
}

// Copies with the host and waits cannot be part of a CUDA graph (cuda_graph.cu):
// refused while the stream is recording, and left pending so the recording fails.
static mx_status refuse_if_recording(int dev_id, const char *what) {
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(mx_cuda_stream(), &cs) != cudaSuccess) cudaGetLastError();
  if (cs == cudaStreamCaptureStatusNone) return MX_OK;
  char msg[128];
  snprintf(msg, sizeof msg, "%s while recording a CUDA graph", what);
  mx_cuda_set_pending(msg, cudaErrorStreamCaptureUnsupported);
  return mx_error(MX_ERR_STATE, "cannot %s on gpu(%d) while a CUDA graph is being recorded", what, dev_id);
}

static mx_status cuda_copy_from_host(int dev_id, void *dst, const void *src, size_t bytes) {
  mx_status st = enter(dev_id);
  if (st == MX_OK) st = refuse_if_recording(dev_id, "copy from the host");
  if (st != MX_OK || !bytes) return st;
  stage *s = bytes > STAGE_MIN ? stage_acquire(dev_id) : NULL;
  if (s) {
    st = staged_to_device(dev_id, s, (char *)dst, (const char *)src, bytes);
    pthread_mutex_unlock(&s->lock);
    return st;
  }
  // from pageable memory the call returns once src has been read
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, mx_cuda_stream());
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaMemcpyAsync (host to device)", dev_id, e);
}

static mx_status cuda_copy_to_host(int dev_id, void *dst, const void *src, size_t bytes) {
  mx_status st = enter(dev_id);
  if (st == MX_OK) st = refuse_if_recording(dev_id, "copy to the host");
  if (st != MX_OK || !bytes) return st;
  stage *s = bytes > STAGE_MIN ? stage_acquire(dev_id) : NULL;
  if (s) {
    st = staged_to_host(dev_id, s, (char *)dst, (const char *)src, bytes);
    pthread_mutex_unlock(&s->lock);
    return st;
  }
  cudaStream_t stream = mx_cuda_stream();
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaMemcpyAsync (device to host)", dev_id, e);
}

static mx_status cuda_copy_on_device(int dev_id, void *dst, const void *src, size_t bytes) {
  mx_status st = enter(dev_id);
  if (st != MX_OK || !bytes) return st;
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, mx_cuda_stream());
  return e == cudaSuccess ? MX_OK : cuda_fail(MX_ERR_DEVICE, "cudaMemcpyAsync (device to device)", dev_id, e);
}

static mx_status cuda_sync(int dev_id) {
  mx_status st = mx_cuda_set_device(dev_id);
  if (st == MX_OK) st = refuse_if_recording(dev_id, "wait for the device");
  if (st != MX_OK) return st;
  cudaError_t e = cudaStreamSynchronize(mx_cuda_stream());
  if (e != cudaSuccess) return cuda_fail(MX_ERR_DEVICE, "cudaStreamSynchronize", dev_id, e);
  return pending(dev_id);
}

// The CUDA device, registered in devices.c. C++ has no designated initializers
// before C++20: the slots in mx_device's order.
extern "C" const mx_device mx_device_cuda = {
    "gpu",
    cuda_count,
    cuda_check,
    cuda_raw_alloc,
    cuda_raw_free,
    cuda_memset_zero,
    cuda_copy_from_host,
    cuda_copy_to_host,
    cuda_copy_on_device,
    cuda_sync,
    mx_cuda_gemm,           // blas_cuda.cu
    mx_cuda_random_uniform, // random_cuda.cu
    mx_cuda_random_normal,
    mx_cuda_graph_record,   // cuda_graph.cu
    mx_cuda_graph_finish,
    mx_cuda_graph_replay,
    mx_cuda_graph_free,
    mx_cuda_graph_rerun_open,
    mx_cuda_graph_rerun_close,
    mx_cuda_graph_refresh_open,
    mx_cuda_graph_refresh_close,
    &mx_kernels_cuda,       // kernels_cuda.cu
    &mx_optim_cuda_kernels, // optimizer_cuda.cu
    mx_cuda_op_kernel,      // ops/cuda_ops.cu
};
