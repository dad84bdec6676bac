// cuda_graph.cu: the CUDA device's graph slots (graph.c has the public calls):
// recording the GPU work queued on a device into a CUDA graph (stream capture of
// the engine's stream) and replaying it with one launch, with the hyper-parameters
// of recorded optimizer updates refreshed before each launch.
//
// Why a parameter block: a kernel argument is copied into the graph when it is
// captured, so an update kernel taking its learning rate by value replays the rate
// of the moment it was recorded (no lr_scheduler, no Adam bias correction). While
// recording, an update kernel therefore gets a pointer to a slot of the graph's
// parameter block (device memory, made before the capture starts) and reads its
// hyper-parameters there when it runs. The host keeps a mirror of the block in
// pinned memory; the bindings' refresh (cuda_graph_refresh_begin/end) rewrites
// the mirror outside any capture, and every launch queues, on the engine's stream
// and before the graph, one copy of the mirror into the block. Stream order then
// gives launch k the values written for launch k: the graph of launch k-1 has run
// before that copy, and launch k's kernels run after it. The copy reads the pinned
// mirror when it executes, not when it is queued, so the mirror is rewritten only
// after the event recorded behind the previous copy has passed.
#include <stdlib.h>
#include <string.h>

#include "cuda_util.h"

#define SLOTS 1024    // hyper-parameter sets (optimizer updates) one graph can record
#define SLOT_BYTES 64 // one set, at most: sizeof(mx_optim_param) is 40

struct hook_range {
  int first, end; // the slots a rerun made while recording: [first, end)
};

struct cuda_graph {
  int dev;
  cudaGraphExec_t exec;
  char *params;                         // device: SLOTS slots
  char *mirror;                         // pinned host: what the next launch copies into params
  unsigned char *sizes;                 // bytes of each slot in use
  int n_slots;                          // slots in use
  cudaEvent_t uploaded;                 // behind the last copy of mirror into params
  hook_range *hooks;                    // reruns recorded (cuda_graph_rerun_begin/end)
  int n_hooks, in_hook;                 // in_hook: a rerun in progress while recording
  int cursor_first, cursor, cursor_end; // refreshing: the hook's slots, and the next one
  const char *failure;                  // a slot refused while recording or refreshing
};

// The recording in progress on this thread (NULL: none), its device, and the
// allocation count when it began (an allocation inside makes the graph unsafe);
// the graph whose hyper-parameters are being refreshed (NULL: none).
static thread_local cuda_graph *recording;
static thread_local int recording_dev = -1;
static thread_local uint64_t requests_at_begin;
static thread_local cuda_graph *refreshing;

static void graph_free(cuda_graph *g) {
  if (!g) return;
  if (mx_cuda_set_device(g->dev) == MX_OK) {
    if (g->exec && cudaGraphExecDestroy(g->exec) != cudaSuccess) cudaGetLastError();
    if (g->uploaded && cudaEventDestroy(g->uploaded) != cudaSuccess) cudaGetLastError();
    if (cudaFree(g->params) != cudaSuccess) cudaGetLastError();
    if (cudaFreeHost(g->mirror) != cudaSuccess) cudaGetLastError();
  }
  free(g->sizes);
  free(g->hooks);
  free(g);
}

// A graph without its exec: the parameter block and its mirror, made before the capture.
static mx_status graph_new(int dev, cuda_graph **out, const char *where) {
  cuda_graph *g = (cuda_graph *)calloc(1, sizeof *g);
  if (!g) return mx_error_at(MX_ERR_NOMEM, where, "out of host memory");
  g->dev = dev;
  g->sizes = (unsigned char *)calloc(SLOTS, 1);
  cudaError_t e = g->sizes ? cudaMalloc((void **)&g->params, (size_t)SLOTS * SLOT_BYTES)
                           : cudaErrorMemoryAllocation;
  if (e == cudaSuccess) e = cudaMallocHost((void **)&g->mirror, (size_t)SLOTS * SLOT_BYTES);
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&g->uploaded, cudaEventDisableTiming);
  if (e != cudaSuccess) {
    graph_free(g);
    return mx_cuda_fail(where, "allocating the graph's parameter block", e);
  }
  *out = g;
  return MX_OK;
}

mx_status mx_cuda_graph_record(int dev_id) {
  const char *where = "mx_cuda_graph_begin";
  if (recording_dev >= 0)
    return mx_error_at(MX_ERR_STATE, where, "a recording on gpu(%d) is already in progress", recording_dev);
  if (refreshing) return mx_error_at(MX_ERR_STATE, where, "cannot record a graph while refreshing one");
  mx_status st;
  st = mx_cuda_set_device(dev_id);
  if (st == MX_OK) st = mx_cuda_take_pending(where);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  cudaStream_t stream = mx_cuda_stream();
  if (!stream) return mx_cuda_take_pending(where);
  cuda_graph *g = NULL;
  st = graph_new(dev_id, &g, where);
  if (st != MX_OK) return st;
  // queued work from before must not end up in the graph
  cudaError_t e = cudaStreamSynchronize(stream);
  if (e == cudaSuccess) e = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
  if (e != cudaSuccess) {
    graph_free(g);
    return mx_cuda_fail(where, "cudaStreamBeginCapture", e);
  }
  mx_alloc_stats stats;
  mx_alloc_stats_get(&stats);
  requests_at_begin = stats.requests;
  recording_dev = dev_id;
  recording = g;
  return MX_OK;
}

mx_status mx_cuda_graph_finish(int dev_id, void **out) {
  const char *where = "mx_cuda_graph_end";
  *out = NULL;
  if (recording_dev != dev_id) return mx_error_at(MX_ERR_STATE, where, "no recording in progress on this device");
  cuda_graph *g = recording;
  recording = NULL;
  mx_status st = mx_cuda_set_device(dev_id);
  if (st != MX_OK) {
    graph_free(g);
    return MX_ERR_FRAME(st, where);
  }
  cudaGraph_t graph = NULL;
  cudaError_t e = cudaStreamEndCapture(mx_cuda_stream(), &graph);
  recording_dev = -1;
  mx_alloc_stats stats;
  mx_alloc_stats_get(&stats);
  st = mx_cuda_take_pending(where); // a refused copy or a failed launch inside
  if (st == MX_OK && e != cudaSuccess)
    st = mx_cuda_fail(where, "cudaStreamEndCapture (a call inside waited for the device)", e);
  if (st == MX_OK && stats.requests != requests_at_begin)
    st = mx_error_at(MX_ERR_STATE, where,
                  "%llu arrays were allocated while recording: a graph cannot replay allocations (run the step "
                  "once before recording, so every array and optimizer state exists)", (unsigned long long)(stats.requests - requests_at_begin));
  if (st == MX_OK && g->failure) st = mx_error_at(MX_ERR_STATE, where, "%s", g->failure);
  if (st == MX_OK && g->in_hook)
    st = mx_error_at(MX_ERR_STATE, where, "a rerun was begun and not ended");
  if (st == MX_OK) {
    e = cudaGraphInstantiate(&g->exec, graph, 0);
    if (e != cudaSuccess) {
      g->exec = NULL;
      st = mx_cuda_fail(where, "cudaGraphInstantiate", e);
    }
  }
  if (graph) cudaGraphDestroy(graph);
  if (st != MX_OK) {
    graph_free(g);
    return st;
  }
  *out = g;
  return MX_OK;
}

mx_status mx_cuda_graph_replay(void *graph) {
  const char *where = "mx_cuda_graph_launch";
  cuda_graph *g = (cuda_graph *)graph;
  if (recording_dev >= 0)
    return mx_error_at(MX_ERR_STATE, where, "cannot launch a graph while recording one");
  if (refreshing)
    return mx_error_at(MX_ERR_STATE, where, "cannot launch a graph while refreshing one");
  mx_status st = mx_cuda_set_device(g->dev);
  if (st == MX_OK) st = mx_cuda_take_pending(where);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  cudaStream_t stream = mx_cuda_stream();
  cudaError_t e = cudaSuccess;
  if (g->n_slots > 0) { // the hyper-parameters of this launch, ahead of it on the stream
    e = cudaMemcpyAsync(g->params, g->mirror, (size_t)g->n_slots * SLOT_BYTES,
                        cudaMemcpyHostToDevice, stream);
    if (e != cudaSuccess) return mx_cuda_fail(where, "cudaMemcpyAsync (hyper-parameters)", e);
    e = cudaEventRecord(g->uploaded, stream);
    if (e != cudaSuccess) return mx_cuda_fail(where, "cudaEventRecord", e);
  }
  e = cudaGraphLaunch(g->exec, stream);
  return e == cudaSuccess ? MX_OK : mx_cuda_fail(where, "cudaGraphLaunch", e);
}

void mx_cuda_graph_free(void *graph) {
  cuda_graph *g = (cuda_graph *)graph;
  if (g && g == refreshing) refreshing = NULL;
  graph_free(g);
}

// ---- hyper-parameters refreshed before each launch ----

mx_status mx_cuda_graph_rerun_open(int *hook) {
  const char *where = "mx_cuda_graph_rerun_begin";
  cuda_graph *g = recording;
  if (!g) return mx_error_at(MX_ERR_STATE, where, "no recording in progress");
  if (g->in_hook)
    return mx_error_at(MX_ERR_STATE, where, "a rerun is already in progress (they do not nest)");
  hook_range *h = (hook_range *)realloc(g->hooks, (size_t)(g->n_hooks + 1) * sizeof *h);
  if (!h) return mx_error_at(MX_ERR_NOMEM, where, "out of host memory");
  g->hooks = h;
  h[g->n_hooks].first = h[g->n_hooks].end = g->n_slots;
  *hook = g->n_hooks++;
  g->in_hook = 1;
  return MX_OK;
}

mx_status mx_cuda_graph_rerun_close(void) {
  cuda_graph *g = recording;
  if (!g || !g->in_hook)
    return mx_error_at(MX_ERR_STATE, "mx_cuda_graph_rerun_end", "no rerun in progress");
  g->hooks[g->n_hooks - 1].end = g->n_slots;
  g->in_hook = 0;
  return MX_OK;
}

mx_status mx_cuda_graph_refresh_open(void *graph, int hook) {
  const char *where = "mx_cuda_graph_refresh_begin";
  cuda_graph *g = (cuda_graph *)graph;
  if (!g || hook < 0 || hook >= g->n_hooks)
    return mx_error_at(MX_ERR_ARG, where, "no rerun %d in this graph", hook);
  if (recording || refreshing)
    return mx_error_at(MX_ERR_STATE, where, "a graph is being %s",
                    recording ? "recorded" : "refreshed");
  mx_status st = mx_cuda_set_device(g->dev);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  // the previous launch's copy has read the mirror (an event never recorded has passed)
  cudaError_t e = cudaEventSynchronize(g->uploaded);
  if (e != cudaSuccess) return mx_cuda_fail(where, "cudaEventSynchronize", e);
  g->cursor_first = g->cursor = g->hooks[hook].first;
  g->cursor_end = g->hooks[hook].end;
  g->failure = NULL;
  refreshing = g;
  return MX_OK;
}

mx_status mx_cuda_graph_refresh_close(void *graph) {
  const char *where = "mx_cuda_graph_refresh_end";
  cuda_graph *g = (cuda_graph *)graph;
  if (!g || refreshing != g)
    return mx_error_at(MX_ERR_STATE, where, "this graph is not being refreshed");
  refreshing = NULL;
  if (g->failure) return mx_error_at(MX_ERR_STATE, where, "%s", g->failure);
  if (g->cursor != g->cursor_end)
    return mx_error_at(
        MX_ERR_STATE, where,
        "the rerun made %d optimizer updates on gpu(%d) where the recording made %d: the graph "
        "replays the recorded ones only", g->cursor - g->cursor_first, g->dev, g->cursor_end - g->cursor_first);
  return MX_OK;
}

// For a launch that takes `bytes` of hyper-parameters at `host` (cuda_util.h).
int mx_cuda_graph_param(const void *host, size_t bytes, const void **dev) {
  *dev = NULL;
  cuda_graph *g = recording ? recording : refreshing;
  if (!g || mx_cuda_current_device() != g->dev) return 0; // by value: not in a graph
  if (g == recording) {
    if (g->n_slots >= SLOTS || bytes > SLOT_BYTES) {
      if (!g->failure) g->failure = "more than 1024 optimizer updates in one graph";
      return 0;
    }
    int k = g->n_slots++;
    memcpy(g->mirror + (size_t)k * SLOT_BYTES, host, bytes);
    g->sizes[k] = (unsigned char)bytes;
    *dev = g->params + (size_t)k * SLOT_BYTES;
    return 0;
  }
  // refreshing: the values go to the mirror, the kernel is in the graph already
  if (g->cursor >= g->cursor_end) {
    g->cursor++; // counted, reported by refresh_end
    return 1;
  }
  if (g->sizes[g->cursor] != bytes) {
    if (!g->failure)
      g->failure = "the rerun made another kind of optimizer update than the recording";
    g->cursor++;
    return 1;
  }
  memcpy(g->mirror + (size_t)g->cursor++ * SLOT_BYTES, host, bytes);
  return 1;
}
