// cuda_graph.cu: recording the GPU work queued on a device into a CUDA graph
// (stream capture of the engine's stream) and replaying it with one launch.
#include <stdlib.h>

#include "cuda_util.h"

extern "C" {
#include "kernels.h" // mx_error_rename
}

struct mx_cuda_graph {
  int dev;
  cudaGraphExec_t exec;
};

// The recording in progress on this thread: its device (-1: none) and the
// allocation count when it began (an allocation inside makes the graph unsafe).
static thread_local int recording_dev = -1;
static thread_local uint64_t requests_at_begin;

extern "C" mx_status mx_cuda_graph_begin(mx_context ctx) {
  const char *where = "mx_cuda_graph_begin";
  char cs[32];
  if (ctx.dev_type != MX_DEV_GPU)
    return mx_error(MX_ERR_ARG, "%s: CUDA graphs record GPU work (got %s)", where, mx_context_str(ctx, cs, sizeof cs));
  mx_status st = mx_context_check(ctx);
  if (st != MX_OK) return mx_error_rename(st, where);
  if (recording_dev >= 0)
    return mx_error(MX_ERR_STATE, "%s: a recording on gpu(%d) is already in progress", where, recording_dev);
  st = mx_cuda_set_device(ctx.dev_id);
  if (st == MX_OK) st = mx_cuda_take_pending(where);
  if (st != MX_OK) return mx_error_prefix(st, where);
  cudaStream_t stream = mx_cuda_stream();
  if (!stream) return mx_cuda_take_pending(where);
  // queued work from before must not end up in the graph
  cudaError_t e = cudaStreamSynchronize(stream);
  if (e == cudaSuccess) e = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
  if (e != cudaSuccess) return mx_cuda_fail(where, "cudaStreamBeginCapture", e);
  mx_alloc_stats stats;
  mx_alloc_stats_get(&stats);
  requests_at_begin = stats.requests;
  recording_dev = ctx.dev_id;
  return MX_OK;
}

extern "C" mx_status mx_cuda_graph_end(mx_context ctx, mx_cuda_graph **out) {
  const char *where = "mx_cuda_graph_end";
  *out = NULL;
  if (ctx.dev_type != MX_DEV_GPU || recording_dev != ctx.dev_id)
    return mx_error(MX_ERR_STATE, "%s: no recording in progress on this device", where);
  mx_status st = mx_cuda_set_device(ctx.dev_id);
  if (st != MX_OK) return mx_error_prefix(st, where);
  cudaGraph_t graph = NULL;
  cudaError_t e = cudaStreamEndCapture(mx_cuda_stream(), &graph);
  recording_dev = -1;
  mx_alloc_stats stats;
  mx_alloc_stats_get(&stats);
  st = mx_cuda_take_pending(where); // a refused copy or a failed launch inside
  if (st == MX_OK && e != cudaSuccess)
    st = mx_cuda_fail(where, "cudaStreamEndCapture (a call inside waited for the device)", e);
  if (st == MX_OK && stats.requests != requests_at_begin)
    st = mx_error(MX_ERR_STATE,
                  "%s: %llu arrays were allocated while recording: a graph cannot replay allocations (run the step "
                  "once before recording, so every array and optimizer state exists)",
                  where, (unsigned long long)(stats.requests - requests_at_begin));
  mx_cuda_graph *g = NULL;
  if (st == MX_OK) {
    g = (mx_cuda_graph *)calloc(1, sizeof *g);
    if (!g) st = mx_error(MX_ERR_NOMEM, "%s: out of host memory", where);
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
  g->dev = ctx.dev_id;
  *out = g;
  return MX_OK;
}

extern "C" mx_status mx_cuda_graph_launch(mx_cuda_graph *g) {
  const char *where = "mx_cuda_graph_launch";
  if (!g) return mx_error(MX_ERR_ARG, "%s: no graph", where);
  if (recording_dev >= 0) return mx_error(MX_ERR_STATE, "%s: cannot launch a graph while recording one", where);
  mx_status st = mx_cuda_set_device(g->dev);
  if (st == MX_OK) st = mx_cuda_take_pending(where);
  if (st != MX_OK) return mx_error_prefix(st, where);
  cudaError_t e = cudaGraphLaunch(g->exec, mx_cuda_stream());
  return e == cudaSuccess ? MX_OK : mx_cuda_fail(where, "cudaGraphLaunch", e);
}

extern "C" void mx_cuda_graph_release(mx_cuda_graph *g) {
  if (!g) return;
  if (mx_cuda_set_device(g->dev) == MX_OK && cudaGraphExecDestroy(g->exec) != cudaSuccess) cudaGetLastError();
  free(g);
}
