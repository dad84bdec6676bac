/* graph.c: mx_cuda_graph_*: the work queued on a device recorded into a graph and
 * replayed, through the device's graph slots (the GPU's: CUDA graphs, cuda_graph.cu, whose
 * messages name the public function). */
#include <stdlib.h>

#include "internal.h"

struct mx_cuda_graph {
  const mx_device *dev;
  void *impl; /* the device's own graph */
};

/* The device recording on this thread (between mx_cuda_graph_begin and _end), for the reruns. */
static _Thread_local const mx_device *recording;

mx_status mx_cuda_graph_begin(mx_context ctx) {
  const char *where = "mx_cuda_graph_begin";
  char cs[32];
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, where);
  if (!dev->graph_begin)
    return mx_error_at(MX_ERR_ARG, where, "CUDA graphs record GPU work (got %s)", mx_context_str(ctx, cs, sizeof cs));
  mx_status st = dev->graph_begin(ctx.dev_id);
  if (st == MX_OK) recording = dev;
  return st;
}

mx_status mx_cuda_graph_end(mx_context ctx, mx_cuda_graph **out) {
  const char *where = "mx_cuda_graph_end";
  *out = NULL;
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, where);
  if (!dev->graph_end) return mx_error_at(MX_ERR_STATE, where, "no recording in progress on this device");
  mx_cuda_graph *g = malloc(sizeof *g);
  void *impl = NULL;
  mx_status st = dev->graph_end(ctx.dev_id, &impl); /* ends the recording, even when g is NULL */
  if (recording == dev) recording = NULL;
  if (st != MX_OK) {
    free(g);
    return st;
  }
  if (!g) {
    dev->graph_release(impl);
    return mx_error_at(MX_ERR_NOMEM, where, "out of host memory");
  }
  g->dev = dev;
  g->impl = impl;
  *out = g;
  return MX_OK;
}

mx_status mx_cuda_graph_launch(mx_cuda_graph *g) {
  if (!g) return mx_error_at(MX_ERR_ARG, "mx_cuda_graph_launch", "no graph");
  return g->dev->graph_launch(g->impl);
}

void mx_cuda_graph_release(mx_cuda_graph *g) {
  if (!g) return;
  g->dev->graph_release(g->impl);
  free(g);
}

mx_status mx_cuda_graph_rerun_begin(int *hook) {
  *hook = -1;
  if (!recording) return mx_error_at(MX_ERR_STATE, "mx_cuda_graph_rerun_begin", "no recording in progress");
  return recording->graph_rerun_open(hook);
}

mx_status mx_cuda_graph_rerun_end(void) {
  if (!recording) return mx_error_at(MX_ERR_STATE, "mx_cuda_graph_rerun_end", "no rerun in progress");
  return recording->graph_rerun_close();
}

mx_status mx_cuda_graph_refresh_begin(mx_cuda_graph *g, int hook) {
  if (!g) return mx_error_at(MX_ERR_ARG, "mx_cuda_graph_refresh_begin", "no graph");
  return g->dev->graph_refresh_open(g->impl, hook);
}

mx_status mx_cuda_graph_refresh_end(mx_cuda_graph *g) {
  if (!g) return mx_error_at(MX_ERR_ARG, "mx_cuda_graph_refresh_end", "no graph");
  return g->dev->graph_refresh_close(g->impl);
}
