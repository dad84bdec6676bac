// cuda_graph.cu: the CUDA device's graph slots (graph.c has the public calls):
// recording the GPU work queued on a device into a CUDA graph (stream capture of
// the engine's stream) and replaying it with one launch.
#include <stdlib.h>

#include "cuda_util.h"

struct cuda_graph {
  int dev;
  cudaGraphExec_t exec;
};

// The recording in progress on this thread: its device (-1: none) and the
// allocation count when it began (an allocation inside makes the graph unsafe).
static thread_local int recording_dev = -1;
static thread_local uint64_t requests_at_begin;

mx_status mx_cuda_graph_record(int dev_id) {
  const char *where = "mx_cuda_graph_begin";
  if (recording_dev >= 0)
    return mx_error_at(MX_ERR_STATE, where, "a recording on gpu(%d) is already in progress", recording_dev);
  mx_status st = mx_cuda_set_device(dev_id);
  if (st == MX_OK) st = mx_cuda_take_pending(where);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  cudaStream_t stream = mx_cuda_stream();
  if (!stream) return mx_cuda_take_pending(where);
  // queued work from before must not end up in the graph
  cudaError_t e = cudaStreamSynchronize(stream);
  if (e == cudaSuccess) e = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
  if (e != cudaSuccess) return mx_cuda_fail(where, "cudaStreamBeginCapture", e);
  mx_alloc_stats stats;
  mx_alloc_stats_get(&stats);
  requests_at_begin = stats.requests;
  recording_dev = dev_id;
  return MX_OK;
}

mx_status mx_cuda_graph_finish(int dev_id, void **out) {
  const char *where = "mx_cuda_graph_end";
  *out = NULL;
  if (recording_dev != dev_id) return mx_error_at(MX_ERR_STATE, where, "no recording in progress on this device");
  mx_status st = mx_cuda_set_device(dev_id);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  cudaGraph_t graph = NULL;
  cudaError_t e = cudaStreamEndCapture(mx_cuda_stream(), &graph);
  recording_dev = -1;
  mx_alloc_stats stats;
  mx_alloc_stats_get(&stats);
  st = mx_cuda_take_pending(where); // a refused copy or a failed launch inside
  if (st == MX_OK && e != cudaSuccess)
    st = mx_cuda_fail(where, "cudaStreamEndCapture (a call inside waited for the device)", e);
  if (st == MX_OK && stats.requests != requests_at_begin)
    st = mx_error_at(MX_ERR_STATE,
                  where, "%llu arrays were allocated while recording: a graph cannot replay allocations (run the step "
                  "once before recording, so every array and optimizer state exists)", (unsigned long long)(stats.requests - requests_at_begin));
  cuda_graph *g = NULL;
  if (st == MX_OK) {
    g = (cuda_graph *)calloc(1, sizeof *g);
    if (!g) st = mx_error_at(MX_ERR_NOMEM, where, "out of host memory");
  }
  if (st == MX_OK) {
    e = cudaGraphInstantiate(&g->exec, graph, 0);
    if (e != cudaSuccess) {
      st = mx_cuda_fail(where, "cudaGraphInstantiate", e);
      free(g);
      g = NULL;
    }
  }
  if (graph) cudaGraphDestroy(graph);
  if (st != MX_OK) return st;
  g->dev = dev_id;
  *out = g;
  return MX_OK;
}

mx_status mx_cuda_graph_replay(void *graph) {
  const char *where = "mx_cuda_graph_launch";
  cuda_graph *g = (cuda_graph *)graph;
  if (recording_dev >= 0) return mx_error_at(MX_ERR_STATE, where, "cannot launch a graph while recording one");
  mx_status st = mx_cuda_set_device(g->dev);
  if (st == MX_OK) st = mx_cuda_take_pending(where);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  cudaError_t e = cudaGraphLaunch(g->exec, mx_cuda_stream());
  return e == cudaSuccess ? MX_OK : mx_cuda_fail(where, "cudaGraphLaunch", e);
}

void mx_cuda_graph_free(void *graph) {
  cuda_graph *g = (cuda_graph *)graph;
  if (!g) return;
  if (mx_cuda_set_device(g->dev) == MX_OK && cudaGraphExecDestroy(g->exec) != cudaSuccess) cudaGetLastError();
  free(g);
}
