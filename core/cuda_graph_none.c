/* cuda_graph_none.c: the CUDA graph functions of a build without CUDA, which
 * fail with a clear message (cuda_graph.cu holds the real ones). */
#include "mx.h"

#ifndef MX_HAVE_CUDA
mx_status mx_cuda_graph_begin(mx_context ctx) {
  (void)ctx;
  return mx_error(MX_ERR_DEVICE, "mx_cuda_graph_begin: CUDA graphs are not available: built without CUDA");
}
mx_status mx_cuda_graph_end(mx_context ctx, mx_cuda_graph **out) {
  (void)ctx;
  *out = NULL;
  return mx_error(MX_ERR_DEVICE, "mx_cuda_graph_end: CUDA graphs are not available: built without CUDA");
}
mx_status mx_cuda_graph_launch(mx_cuda_graph *g) {
  (void)g;
  return mx_error(MX_ERR_DEVICE, "mx_cuda_graph_launch: CUDA graphs are not available: built without CUDA");
}
void mx_cuda_graph_release(mx_cuda_graph *g) { (void)g; }
mx_status mx_cuda_graph_rerun_begin(int *hook) {
  *hook = -1;
  return mx_error(MX_ERR_DEVICE, "mx_cuda_graph_rerun_begin: CUDA graphs are not available: built without CUDA");
}
mx_status mx_cuda_graph_rerun_end(void) {
  return mx_error(MX_ERR_DEVICE, "mx_cuda_graph_rerun_end: CUDA graphs are not available: built without CUDA");
}
mx_status mx_cuda_graph_refresh_begin(mx_cuda_graph *g, int hook) {
  (void)g, (void)hook;
  return mx_error(MX_ERR_DEVICE, "mx_cuda_graph_refresh_begin: CUDA graphs are not available: built without CUDA");
}
mx_status mx_cuda_graph_refresh_end(mx_cuda_graph *g) {
  (void)g;
  return mx_error(MX_ERR_DEVICE, "mx_cuda_graph_refresh_end: CUDA graphs are not available: built without CUDA");
}
#else
typedef int mx_cuda_graph_none_unused; /* ISO C wants a translation unit to declare something */
#endif
