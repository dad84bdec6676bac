// runtime.cpp (tests/cuda_emu): the emulated GPU's CUDA runtime. Device memory is an
// arena of its own (guard pages between allocations, no access from host code),
// streams queue work until something waits, kernels run their blocks in a seeded
// shuffled order with the threads of a block as cooperative fibers, and stream
// capture records what graphs replay. Test tool only: never installed.
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <vector>

#include "emu_internal.h"

#if !defined(__x86_64__)
#error "the emulated GPU's fibers switch with x86-64 code"
#endif

// ---- the lock, errors, devices ----

static pthread_mutex_t emu_mutex;
static pthread_once_t emu_once = PTHREAD_ONCE_INIT;
static void emu_init(void);
void mx_emu_lock(void) {
  pthread_once(&emu_once, emu_init);
  pthread_mutex_lock(&emu_mutex);
}
void mx_emu_unlock(void) { pthread_mutex_unlock(&emu_mutex); }
namespace {
struct guard {
  guard() { mx_emu_lock(); }
  ~guard() { mx_emu_unlock(); }
};
} // namespace

static thread_local cudaError_t last_error = cudaSuccess;
static cudaError_t fail(cudaError_t e) {
  if (e != cudaSuccess) last_error = e;
  return e;
}

static int device_count = 2;
static size_t device_capacity = (size_t)8 << 30; // bytes each emulated GPU may hold
static size_t device_used[16];
static thread_local int current_dev = 0;
int mx_emu_current_device(void) { return current_dev; }

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void) { // xorshift64*
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}
static unsigned long long seed_used;

static const char *kernel_name; // the kernel running, for messages
static int running_dev = -1;     // the device whose work runs now (-1: none)

[[noreturn]] void mx_emu_die(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  // the backtrace first, the message last: test logs show their tail
  void *frames[16];
  int n = backtrace(frames, 16);
  backtrace_symbols_fd(frames, n, 2);
  fprintf(stderr, "\ncuda_emu: %s\ncuda_emu: (emulated GPU, MXLUA_EMU_SEED=%llu)\n", msg, seed_used);
  fflush(stderr);
  signal(SIGABRT, SIG_DFL);
  abort();
}

extern "C" const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define NAME(x) case x: return #x;
    NAME(cudaSuccess) NAME(cudaErrorInvalidValue) NAME(cudaErrorMemoryAllocation) NAME(cudaErrorInitializationError)
    NAME(cudaErrorInvalidConfiguration) NAME(cudaErrorInvalidMemcpyDirection) NAME(cudaErrorNoDevice)
    NAME(cudaErrorInvalidDevice) NAME(cudaErrorInvalidResourceHandle) NAME(cudaErrorNotReady)
    NAME(cudaErrorIllegalAddress) NAME(cudaErrorLaunchFailure) NAME(cudaErrorStreamCaptureUnsupported)
    NAME(cudaErrorStreamCaptureInvalidated) NAME(cudaErrorStreamCaptureUnmatched)
    NAME(cudaErrorStreamCaptureWrongThread) NAME(cudaErrorUnknown)
#undef NAME
  }
  return "cudaErrorUnknown";
}

// The strings the CUDA runtime gives for these errors.
extern "C" const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
  case cudaSuccess: return "no error";
  case cudaErrorInvalidValue: return "invalid argument";
  case cudaErrorMemoryAllocation: return "out of memory";
  case cudaErrorInitializationError: return "initialization error";
  case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
  case cudaErrorNoDevice: return "no CUDA-capable device is detected";
  case cudaErrorInvalidDevice: return "invalid device ordinal";
  case cudaErrorInvalidResourceHandle: return "invalid resource handle";
  case cudaErrorNotReady: return "device not ready";
  case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
  case cudaErrorLaunchFailure: return "unspecified launch failure";
  case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
  case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
  case cudaErrorStreamCaptureUnmatched: return "capture was not initiated in this stream";
  case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
  default: return "unknown error";
  }
}

extern "C" cudaError_t cudaGetLastError(void) {
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}
extern "C" cudaError_t cudaPeekAtLastError(void) { return last_error; }

extern "C" cudaError_t cudaGetDeviceCount(int *n) {
  pthread_once(&emu_once, emu_init);
  *n = device_count;
  return cudaSuccess;
}
extern "C" cudaError_t cudaGetDevice(int *dev) {
  *dev = current_dev;
  return cudaSuccess;
}
extern "C" cudaError_t cudaSetDevice(int dev) {
  pthread_once(&emu_once, emu_init);
  if (dev < 0 || dev >= device_count) return fail(cudaErrorInvalidDevice);
  current_dev = dev;
  return cudaSuccess;
}

// ---- device memory: the arena ----
// Each allocation: one guard page, then its data pages, the data ending exactly at
// the end of the last page (rounded to 4 bytes), so a kernel reading or writing
// past the end reaches the next allocation's guard page. The arena is PROT_NONE
// except while queued work runs, when the allocations it touches are opened one
// by one (the fault handler opens them) and closed again afterwards.

#define PAGE ((size_t)4096)
#define ARENA_BYTES ((size_t)256 << 30)
#define MAX_ALLOCS (1 << 22)
#define MAX_OPEN (1 << 16)

struct alloc_rec {
  char *base;
  size_t bytes;
  size_t first_page, npages; // data pages (the guard page is first_page - 1)
  int dev;
  bool live, open;
};

static char *arena;
static size_t arena_pages, next_page;
static int32_t *page_owner; // per page: allocation id; -id for id's guard page; 0 unused
static alloc_rec *allocs;   // allocs[0] unused
static int32_t nallocs;
static int32_t open_ids[MAX_OPEN];
static volatile int nopen;
static thread_local int in_device; // this thread runs queued work (kernels, copies)
static uint3 fault_thread, fault_block;

static void *map_noreserve(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    fprintf(stderr, "cuda_emu: cannot reserve %zu bytes of address space: %s\n", bytes, strerror(errno));
    abort();
  }
  return p;
}
static void *map_table(size_t bytes) {
  void *p = map_noreserve(bytes);
  mprotect(p, bytes, PROT_READ | PROT_WRITE);
  return p;
}

static int32_t alloc_at(const void *p) { // the allocation whose data pages hold p, or 0
  const char *c = (const char *)p;
  if (c < arena || c >= arena + ARENA_BYTES) return 0;
  int32_t id = page_owner[(size_t)(c - arena) / PAGE];
  return id > 0 ? id : 0;
}

int mx_emu_device_of(const void *p, size_t bytes) {
  int32_t id = alloc_at(p);
  if (!id || !allocs[id].live) return -1;
  const alloc_rec &a = allocs[id];
  if ((const char *)p < a.base || (const char *)p + bytes > a.base + a.bytes) return -1;
  return a.dev;
}

static void open_alloc(int32_t id) {
  alloc_rec &a = allocs[id];
  if (a.open) return;
  if (nopen >= MAX_OPEN) mx_emu_die("more than %d device allocations touched by one batch of work", MAX_OPEN);
  mprotect(arena + a.first_page * PAGE, a.npages * PAGE, PROT_READ | PROT_WRITE);
  a.open = true;
  open_ids[nopen++] = id;
}

void mx_emu_open(const void *p, size_t bytes) {
  int32_t id = alloc_at(p);
  if (id && allocs[id].live) open_alloc(id);
  (void)bytes;
}

static void close_all(void) {
  for (int i = 0; i < nopen; i++) {
    alloc_rec &a = allocs[open_ids[i]];
    mprotect(arena + a.first_page * PAGE, a.npages * PAGE, PROT_NONE);
    a.open = false;
  }
  nopen = 0;
}

// "N bytes past the end of a B-byte allocation on gpu(d)", for a faulting address.
static void describe_address(const char *c, char *out, size_t len) {
  size_t page = (size_t)(c - arena) / PAGE;
  int32_t own = page_owner[page];
  if (own > 0) {
    const alloc_rec &a = allocs[own];
    if (!a.live) {
      snprintf(out, len, "byte %lld of a %zu-byte allocation of gpu(%d) that was freed (cudaFree)",
               (long long)(c - a.base), a.bytes, a.dev);
    } else if (c < a.base) {
      snprintf(out, len, "%lld bytes before the start of a %zu-byte allocation on gpu(%d)", (long long)(a.base - c),
               a.bytes, a.dev);
    } else {
      snprintf(out, len, "byte %lld (float %lld) of a %zu-byte allocation on gpu(%d)", (long long)(c - a.base),
               (long long)(c - a.base) / 4, a.bytes, a.dev);
    }
    return;
  }
  if (own <= 0) { // a guard page (or the end): past the end of the allocation before it, or before -own's start
    int32_t prev = page > 0 ? page_owner[page - 1] : 0;
    if (prev > 0) {
      const alloc_rec &a = allocs[prev];
      long long past = (long long)(c - (a.base + a.bytes));
      snprintf(out, len, "%lld bytes past the end of a %zu-byte allocation on gpu(%d) (float index %lld of %zu)%s",
               past, a.bytes, a.dev, (long long)(c - a.base) / 4, a.bytes / 4, a.live ? "" : ", freed already");
      return;
    }
    if (own == 0) {
      snprintf(out, len, "device address space that was never allocated");
      return;
    }
    const alloc_rec &a = allocs[-own];
    snprintf(out, len, "%lld bytes before the start of a %zu-byte allocation on gpu(%d)", (long long)(a.base - c),
             a.bytes, a.dev);
    return;
  }
  snprintf(out, len, "device address space that was never allocated");
}

static struct sigaction old_segv;

static void on_segv(int sig, siginfo_t *si, void *uc) {
  const char *c = (const char *)si->si_addr;
  if (c < arena || c >= arena + ARENA_BYTES) { // not ours: the old handler (or the default) takes it
    sigaction(SIGSEGV, &old_segv, NULL);
    return;
  }
  int32_t id = page_owner[(size_t)(c - arena) / PAGE];
  char where[300];
  if (in_device && id > 0 && allocs[id].live) {
    if (kernel_name && running_dev >= 0 && allocs[id].dev != running_dev) {
      describe_address(c, where, sizeof where);
      mx_emu_die("kernel %s on gpu(%d), block (%u,%u,%u) thread (%u,%u,%u), accessed %s: memory of another "
                 "device (an illegal address without peer access)",
                 kernel_name, running_dev, fault_block.x, fault_block.y, fault_block.z, fault_thread.x,
                 fault_thread.y, fault_thread.z, where);
    }
    open_alloc(id);
    return;
  }
  describe_address(c, where, sizeof where);
  if (in_device && kernel_name)
    mx_emu_die("kernel %s on gpu(%d), block (%u,%u,%u) thread (%u,%u,%u): illegal address %p: %s", kernel_name,
               running_dev, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z, (void *)c,
               where);
  if (in_device) mx_emu_die("queued device work (a copy or memset) touched illegal address %p: %s", (void *)c, where);
  mx_emu_die("the host dereferenced device pointer %p (%s) outside kernels and cudaMemcpy/cudaMemset: a real GPU "
             "faults here too",
             (void *)c, where);
  (void)sig;
  (void)uc;
}

static void emu_init(void) {
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&emu_mutex, &at);
  const char *s = getenv("MXLUA_EMU_GPUS");
  if (s && *s) device_count = atoi(s) < 0 ? 0 : (atoi(s) > 16 ? 16 : atoi(s));
  s = getenv("MXLUA_EMU_SEED");
  seed_used = s && *s ? strtoull(s, NULL, 10) : 1;
  rng_state ^= seed_used * 0x2545f4914f6cdd1dull;
  if (!rng_state) rng_state = 1;
  s = getenv("MXLUA_EMU_GPU_BYTES");
  if (s && *s) device_capacity = strtoull(s, NULL, 10);
  arena = (char *)map_noreserve(ARENA_BYTES);
  arena_pages = ARENA_BYTES / PAGE;
  page_owner = (int32_t *)map_table(arena_pages * sizeof(int32_t));
  allocs = (alloc_rec *)map_table((size_t)MAX_ALLOCS * sizeof(alloc_rec));
  nallocs = 1;
  next_page = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
}

// ---- streams, capture ----

struct work {
  std::function<void()> run;
  const char *what;
  int dev;
};

struct CUstream_st {
  int dev;
  bool legacy;
  std::deque<work> queue;
  uint64_t queued = 0, done = 0;
  bool capturing = false, capture_broken = false;
  pthread_t capture_thread;
  std::vector<work> captured;
};
struct CUgraph_st {
  std::vector<work> steps;
};
struct CUgraphExec_st {
  std::vector<work> steps;
  int dev;
};
struct CUevent_st {
  cudaStream_t stream = NULL;
  uint64_t at = 0;
};

static CUstream_st legacy_streams[16];
static std::vector<cudaStream_t> all_streams;
static thread_local cudaStream_t capturing_here; // this thread's capture (thread-local mode)

static cudaStream_t resolve(cudaStream_t s) {
  if (s) return s;
  CUstream_st *l = &legacy_streams[current_dev];
  l->dev = current_dev;
  l->legacy = true;
  return l;
}

int mx_emu_stream_device(cudaStream_t s) { return resolve(s)->dev; }

// A call CUDA refuses while this thread captures (thread-local mode): the capture breaks.
static bool refused_in_capture(void) {
  if (!capturing_here) return false;
  capturing_here->capture_broken = true;
  return true;
}

static int drain_depth;

static void run_work(const work &w) {
  int saved_dev = running_dev;
  running_dev = w.dev;
  in_device++;
  w.run();
  in_device--;
  running_dev = saved_dev;
}

static void drain_to(cudaStream_t s, uint64_t upto) {
  drain_depth++;
  while (s->done < upto && !s->queue.empty()) {
    work w = std::move(s->queue.front());
    s->queue.pop_front();
    run_work(w);
    s->done++;
  }
  if (--drain_depth == 0) close_all();
}

void mx_emu_drain_stream(cudaStream_t s) {
  guard g;
  s = resolve(s);
  drain_to(s, s->queued);
}

// Runs everything queued on the device (or on all devices for dev < 0).
static void drain_device(int dev) {
  for (cudaStream_t s : all_streams)
    if (dev < 0 || s->dev == dev) drain_to(s, s->queued);
  for (int d = 0; d < device_count; d++)
    if (dev < 0 || d == dev) drain_to(&legacy_streams[d], legacy_streams[d].queued);
}

cudaError_t mx_emu_enqueue(cudaStream_t s, const char *what, std::function<void()> run) {
  guard g;
  s = resolve(s);
  work w{std::move(run), what, s->dev};
  if (s->capturing) {
    s->captured.push_back(std::move(w));
    return cudaSuccess;
  }
  if (s->legacy) {
    // the legacy stream waits for the blocking streams of its device
    std::vector<std::pair<cudaStream_t, uint64_t>> before;
    for (cudaStream_t o : all_streams)
      if (o->dev == s->dev && o->queued > o->done) before.push_back({o, o->queued});
    if (!before.empty()) {
      auto inner = std::move(w.run);
      w.run = [before, inner]() {
        for (auto &b : before) drain_to(b.first, b.second);
        inner();
      };
    }
  } else {
    cudaStream_t l = &legacy_streams[s->dev];
    if (l->queued > l->done) {
      uint64_t at = l->queued;
      auto inner = std::move(w.run);
      w.run = [l, at, inner]() {
        drain_to(l, at);
        inner();
      };
    }
  }
  s->queue.push_back(std::move(w));
  s->queued++;
  return cudaSuccess;
}

extern "C" cudaError_t cudaStreamCreateWithFlags(cudaStream_t *out, unsigned int flags) {
  guard g;
  CUstream_st *s = new CUstream_st();
  s->dev = current_dev;
  s->legacy = false;
  all_streams.push_back(s);
  *out = s;
  (void)flags;
  return cudaSuccess;
}
extern "C" cudaError_t cudaStreamCreate(cudaStream_t *out) { return cudaStreamCreateWithFlags(out, 0); }
extern "C" cudaError_t cudaStreamDestroy(cudaStream_t s) {
  guard g;
  if (!s) return fail(cudaErrorInvalidResourceHandle);
  drain_to(s, s->queued);
  for (size_t i = 0; i < all_streams.size(); i++)
    if (all_streams[i] == s) all_streams.erase(all_streams.begin() + (long)i);
  delete s;
  return cudaSuccess;
}

extern "C" cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  guard g;
  s = resolve(s);
  if (s->capturing) {
    s->capture_broken = true;
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  if (s->legacy && refused_in_capture()) return fail(cudaErrorStreamCaptureUnsupported);
  if (s->legacy) drain_device(s->dev);
  else drain_to(s, s->queued);
  return cudaSuccess;
}

extern "C" cudaError_t cudaDeviceSynchronize(void) {
  guard g;
  if (refused_in_capture()) return fail(cudaErrorStreamCaptureUnsupported);
  drain_device(current_dev);
  return cudaSuccess;
}

extern "C" cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
  guard g;
  if (!s) return fail(cudaErrorStreamCaptureUnsupported); // the legacy stream cannot be captured
  if (s->capturing) return fail(cudaErrorInvalidValue);
  s->capturing = true;
  s->capture_broken = false;
  s->captured.clear();
  s->capture_thread = pthread_self();
  capturing_here = s;
  (void)mode;
  return cudaSuccess;
}

extern "C" cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph) {
  guard g;
  *graph = NULL;
  if (!s || !s->capturing) return fail(cudaErrorStreamCaptureUnmatched);
  if (!pthread_equal(s->capture_thread, pthread_self())) return fail(cudaErrorStreamCaptureWrongThread);
  s->capturing = false;
  capturing_here = NULL;
  if (s->capture_broken) {
    s->captured.clear();
    return fail(cudaErrorStreamCaptureInvalidated);
  }
  CUgraph_st *gr = new CUgraph_st();
  gr->steps.swap(s->captured);
  *graph = gr;
  return cudaSuccess;
}

extern "C" cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status) {
  guard g;
  s = resolve(s);
  *status = !s->capturing ? cudaStreamCaptureStatusNone
                          : (s->capture_broken ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive);
  return cudaSuccess;
}

extern "C" cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags) {
  guard g;
  if (!graph) return fail(cudaErrorInvalidValue);
  CUgraphExec_st *x = new CUgraphExec_st();
  x->steps = graph->steps;
  x->dev = current_dev;
  *exec = x;
  (void)flags;
  return cudaSuccess;
}

extern "C" cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
  guard g;
  if (!exec) return fail(cudaErrorInvalidValue);
  if (refused_in_capture()) return fail(cudaErrorStreamCaptureUnsupported);
  // the steps are shared with the exec: destroying it while a launch is queued is the caller's bug
  const std::vector<work> *steps = &exec->steps;
  return mx_emu_enqueue(s, "cudaGraphLaunch", [steps]() {
    for (const work &w : *steps) run_work(w);
  });
}

extern "C" cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  guard g;
  delete graph;
  return cudaSuccess;
}

extern "C" cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  guard g;
  drain_device(-1); // a queued launch may still read the steps
  delete exec;
  return cudaSuccess;
}

// ---- events ----

extern "C" cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned int flags) {
  *ev = new CUevent_st();
  (void)flags;
  return cudaSuccess;
}
extern "C" cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, 0); }
extern "C" cudaError_t cudaEventDestroy(cudaEvent_t ev) {
  delete ev;
  return cudaSuccess;
}
extern "C" cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t s) {
  guard g;
  if (!ev) return fail(cudaErrorInvalidResourceHandle);
  s = resolve(s);
  if (s->capturing) return cudaSuccess; // an event node: nothing to wait for on replay here
  ev->stream = s;
  ev->at = s->queued;
  return cudaSuccess;
}
extern "C" cudaError_t cudaEventSynchronize(cudaEvent_t ev) {
  guard g;
  if (!ev) return fail(cudaErrorInvalidResourceHandle);
  if (ev->stream) drain_to(ev->stream, ev->at);
  return cudaSuccess;
}

// ---- memory ----

static std::map<const char *, size_t> pinned; // cudaMallocHost blocks

static bool is_pinned(const void *p, size_t bytes) {
  auto it = pinned.upper_bound((const char *)p);
  if (it == pinned.begin()) return false;
  --it;
  return (const char *)p >= it->first && (const char *)p + bytes <= it->first + it->second;
}

extern "C" cudaError_t cudaMalloc(void **out, size_t bytes) {
  guard g;
  *out = NULL;
  if (refused_in_capture()) return fail(cudaErrorStreamCaptureUnsupported);
  if (device_count == 0) return fail(cudaErrorNoDevice);
  if (bytes == 0) return cudaSuccess;
  if (bytes > device_capacity - device_used[current_dev]) return fail(cudaErrorMemoryAllocation);
  size_t rounded = (bytes + 3) & ~(size_t)3;
  size_t npages = (rounded + PAGE - 1) / PAGE;
  if (next_page + 1 + npages > arena_pages || nallocs >= MAX_ALLOCS) {
    fprintf(stderr, "cuda_emu: the emulated GPUs' address space is used up (never reused, to catch use after free)\n");
    return fail(cudaErrorMemoryAllocation);
  }
  int32_t id = nallocs++;
  size_t guard_page = next_page, first = next_page + 1;
  next_page = first + npages;
  page_owner[guard_page] = -id;
  for (size_t p = first; p < first + npages; p++) page_owner[p] = id;
  alloc_rec &a = allocs[id];
  a.first_page = first;
  a.npages = npages;
  a.base = arena + (first + npages) * PAGE - rounded;
  a.bytes = bytes;
  a.dev = current_dev;
  a.live = true;
  a.open = false;
  device_used[current_dev] += bytes;
  // memory from cudaMalloc is not zeroed: fill it with a pattern (each float a NaN)
  mprotect(arena + first * PAGE, npages * PAGE, PROT_READ | PROT_WRITE);
  memset(arena + first * PAGE, 0xff, npages * PAGE);
  mprotect(arena + first * PAGE, npages * PAGE, PROT_NONE);
  *out = a.base;
  return cudaSuccess;
}

extern "C" cudaError_t cudaFree(void *p) {
  guard g;
  if (!p) return cudaSuccess;
  if (refused_in_capture()) return fail(cudaErrorStreamCaptureUnsupported);
  int32_t id = alloc_at(p);
  if (!id || !allocs[id].live || allocs[id].base != (char *)p) return fail(cudaErrorInvalidValue);
  drain_device(-1); // cudaFree waits for the device
  alloc_rec &a = allocs[id];
  a.live = false;
  device_used[a.dev] -= a.bytes;
  madvise(arena + a.first_page * PAGE, a.npages * PAGE, MADV_DONTNEED);
  return cudaSuccess;
}

extern "C" cudaError_t cudaMallocHost(void **out, size_t bytes) {
  guard g;
  void *p = NULL;
  if (posix_memalign(&p, PAGE, bytes ? bytes : 1)) return fail(cudaErrorMemoryAllocation);
  pinned[(const char *)p] = bytes;
  *out = p;
  return cudaSuccess;
}
extern "C" cudaError_t cudaFreeHost(void *p) {
  guard g;
  if (!p) return cudaSuccess;
  drain_device(-1);
  pinned.erase((const char *)p);
  free(p);
  return cudaSuccess;
}

extern "C" cudaError_t cudaPointerGetAttributes(cudaPointerAttributes *attr, const void *p) {
  guard g;
  memset(attr, 0, sizeof *attr);
  int32_t id = alloc_at(p);
  if (id && allocs[id].live) {
    attr->type = cudaMemoryTypeDevice;
    attr->device = allocs[id].dev;
    attr->devicePointer = (void *)p;
  } else if (is_pinned(p, 1)) {
    attr->type = cudaMemoryTypeHost;
    attr->device = current_dev;
    attr->hostPointer = (void *)p;
  } else {
    attr->type = cudaMemoryTypeUnregistered;
    attr->device = -2;
  }
  return cudaSuccess;
}

// The copy's direction against where its pointers really are (a swapped pair is an error).
static cudaError_t check_copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind *kind) {
  bool dst_dev = mx_emu_device_of(dst, bytes) >= 0, src_dev = mx_emu_device_of(src, bytes) >= 0;
  if (*kind == cudaMemcpyDefault) {
    *kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                    : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  }
  // a pointer into the arena that is not inside one live allocation is out of range
  bool dst_arena = (const char *)dst >= arena && (const char *)dst < arena + ARENA_BYTES;
  bool src_arena = (const char *)src >= arena && (const char *)src < arena + ARENA_BYTES;
  switch (*kind) {
  case cudaMemcpyHostToDevice: return dst_dev && !src_arena ? cudaSuccess : cudaErrorInvalidValue;
  case cudaMemcpyDeviceToHost: return src_dev && !dst_arena ? cudaSuccess : cudaErrorInvalidValue;
  case cudaMemcpyDeviceToDevice: return dst_dev && src_dev ? cudaSuccess : cudaErrorInvalidValue;
  case cudaMemcpyHostToHost: return !dst_arena && !src_arena ? cudaSuccess : cudaErrorInvalidValue;
  default: return cudaErrorInvalidMemcpyDirection;
  }
}

static bool strict_pageable(void) {
  static int v = -1;
  if (v < 0) {
    const char *s = getenv("MXLUA_EMU_STRICT_PAGEABLE");
    v = s && *s == '1';
  }
  return v;
}

extern "C" cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                                       cudaStream_t s) {
  guard g;
  if (bytes == 0) return cudaSuccess;
  cudaError_t e = check_copy(dst, src, bytes, &kind);
  if (e != cudaSuccess) return fail(e);
  cudaStream_t rs = resolve(s);
  bool pageable = (kind == cudaMemcpyHostToDevice && !is_pinned(src, bytes)) ||
                  (kind == cudaMemcpyDeviceToHost && !is_pinned(dst, bytes));
  if (rs->capturing && pageable) {
    rs->capture_broken = true;
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  if (kind == cudaMemcpyHostToDevice && pageable) {
    // CUDA stages pageable host memory at the call; the copy to the device runs in stream order
    std::vector<char> staged((const char *)src, (const char *)src + bytes);
    bool strict = strict_pageable();
    void *caller = __builtin_return_address(0);
    return fail(mx_emu_enqueue(s, "cudaMemcpyAsync", [dst, src, staged, strict, caller]() {
      if (strict && memcmp(src, staged.data(), staged.size()) != 0) {
        Dl_info info;
        const char *fn = dladdr(caller, &info) && info.dli_sname ? info.dli_sname : "?";
        mx_emu_die("the pageable host buffer %p given to cudaMemcpyAsync (host to device, %zu bytes, called from %s) "
                   "changed before the copy ran (MXLUA_EMU_STRICT_PAGEABLE=1)",
                   src, staged.size(), fn);
      }
      memcpy(dst, staged.data(), staged.size());
    }));
  }
  // device to host, into pageable memory too, lands when the stream gets there
  return fail(mx_emu_enqueue(s, "cudaMemcpyAsync", [dst, src, bytes]() { memcpy(dst, src, bytes); }));
}

extern "C" cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
  guard g;
  if (refused_in_capture()) return fail(cudaErrorStreamCaptureUnsupported);
  if (bytes == 0) return cudaSuccess;
  cudaError_t e = check_copy(dst, src, bytes, &kind);
  if (e != cudaSuccess) return fail(e);
  drain_device(-1); // the legacy stream: after the blocking streams' work
  drain_depth++;
  in_device++;
  memcpy(dst, src, bytes);
  in_device--;
  if (--drain_depth == 0) close_all();
  return cudaSuccess;
}

extern "C" cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s) {
  guard g;
  if (bytes == 0) return cudaSuccess;
  if (mx_emu_device_of(p, bytes) < 0) return fail(cudaErrorInvalidValue);
  return fail(mx_emu_enqueue(s, "cudaMemsetAsync", [p, value, bytes]() { memset(p, value, bytes); }));
}
extern "C" cudaError_t cudaMemset(void *p, int value, size_t bytes) {
  guard g;
  cudaError_t e = cudaMemsetAsync(p, value, bytes, NULL);
  if (e == cudaSuccess) drain_device(-1);
  return e;
}

// ---- kernels: blocks in shuffled order, the threads of a block as fibers ----

uint3 threadIdx, blockIdx, blockDim, gridDim;

// A fiber's switch: saves the callee-saved registers on the current stack, keeps
// the stack pointer in *save, and continues on the stack `to`.
extern "C" void mx_emu_switch(void **save, void *to);
__asm__(".text\n"
        ".globl mx_emu_switch\n"
        ".type mx_emu_switch,@function\n"
        "mx_emu_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size mx_emu_switch, .-mx_emu_switch\n");

#define FIBER_STACK ((size_t)256 << 10)
enum { READY, AT_BARRIER, FINISHED };
struct fiber {
  void *sp;
  uint3 tid;
  int state;
};
static fiber *fibers[1024];
static int nfibers;
static fiber *current_fiber;
static void *scheduler_sp;
static const std::function<void()> *thread_body;

static void fiber_main(void) {
  for (;;) {
    (*thread_body)();
    current_fiber->state = FINISHED;
    mx_emu_switch(&current_fiber->sp, scheduler_sp);
  }
}

static fiber *make_fiber(void) {
  char *stack = (char *)mmap(NULL, FIBER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                             -1, 0);
  if (stack == MAP_FAILED) mx_emu_die("cannot map a fiber stack");
  mprotect(stack, PAGE, PROT_NONE); // a stack overflow faults
  fiber *f = new fiber();
  void **top = (void **)(stack + FIBER_STACK);
  top -= 2;            // 16-byte aligned; at fiber_main's entry rsp % 16 == 8, as after a call
  top[0] = (void *)fiber_main;
  top[1] = NULL;
  top -= 6;            // rbp, rbx, r12..r15 popped by the first switch
  for (int i = 0; i < 6; i++) top[i] = NULL;
  f->sp = top;
  return f;
}

extern "C" void __syncthreads(void) {
  if (!current_fiber) mx_emu_die("__syncthreads called outside a kernel");
  current_fiber->state = AT_BARRIER;
  mx_emu_switch(&current_fiber->sp, scheduler_sp);
}
extern "C" void __threadfence(void) {}

static void shuffle(std::vector<unsigned> &v) {
  for (size_t i = v.size(); i > 1; i--) std::swap(v[i - 1], v[rng_next() % i]);
}

static void run_block(unsigned nthreads, const std::vector<unsigned> &order) {
  for (unsigned i = 0; i < nthreads; i++) {
    unsigned t = order[i];
    fibers[i]->tid = {t % blockDim.x, (t / blockDim.x) % blockDim.y, t / (blockDim.x * blockDim.y)};
    fibers[i]->state = READY;
  }
  for (;;) {
    for (unsigned i = 0; i < nthreads; i++) {
      fiber *f = fibers[i];
      if (f->state != READY) continue;
      current_fiber = f;
      threadIdx = f->tid;
      fault_thread = f->tid;
      mx_emu_switch(&scheduler_sp, f->sp);
    }
    unsigned waiting = 0, finished = 0;
    for (unsigned i = 0; i < nthreads; i++) (fibers[i]->state == AT_BARRIER ? waiting : finished)++;
    if (!waiting) break;
    if (finished)
      mx_emu_die("kernel %s, block (%u,%u,%u): %u of its %u threads wait at __syncthreads() while %u have returned "
                 "without reaching it (a real GPU hangs or corrupts shared memory here)",
                 kernel_name, blockIdx.x, blockIdx.y, blockIdx.z, waiting, nthreads, finished);
    for (unsigned i = 0; i < nthreads; i++) fibers[i]->state = READY;
  }
  current_fiber = NULL;
}

static void run_kernel(const char *name, dim3 grid, dim3 block, const std::function<void()> &body) {
  const char *saved_name = kernel_name;
  kernel_name = name;
  gridDim = {grid.x, grid.y, grid.z};
  blockDim = {block.x, block.y, block.z};
  unsigned nthreads = block.x * block.y * block.z;
  while (nfibers < (int)nthreads) fibers[nfibers++] = make_fiber();
  thread_body = &body;
  uint64_t nblocks = (uint64_t)grid.x * grid.y * grid.z;
  std::vector<unsigned> blocks(nblocks), order(nthreads);
  for (uint64_t b = 0; b < nblocks; b++) blocks[b] = (unsigned)b;
  shuffle(blocks);
  for (unsigned t = 0; t < nthreads; t++) order[t] = t;
  for (uint64_t i = 0; i < nblocks; i++) {
    unsigned b = blocks[i];
    blockIdx = {b % grid.x, (b / grid.x) % grid.y, b / (grid.x * grid.y)};
    fault_block = blockIdx;
    shuffle(order);
    run_block(nthreads, order);
  }
  kernel_name = saved_name;
}

void mx_emu_enqueue_kernel(const char *name, dim3 grid, dim3 block, size_t shmem, cudaStream_t s,
                           std::function<void()> body) {
  guard g;
  uint64_t threads = (uint64_t)block.x * block.y * block.z;
  bool bad = threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
             grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535 ||
             shmem > 48 * 1024;
  if (bad) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  cudaStream_t rs = resolve(s);
  if (rs->dev != current_dev) { // a stream of another device
    fail(cudaErrorInvalidResourceHandle);
    return;
  }
  mx_emu_enqueue(s, name, [name, grid, block, body]() { run_kernel(name, grid, block, body); });
}
