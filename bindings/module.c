/* module.c: luaopen_mx_core, the entry point of the C module `mx.core`; it
 * gathers the functions each binding file registers. */
#include "bindings.h"

int luaopen_mx_core(lua_State *L) {
  lua_newtable(L);
  void (*openers[])(lua_State *) = {
      mxb_open_ndarray,  mxb_open_random,   mxb_open_context,    mxb_open_symbol,
      mxb_open_executor, mxb_open_io,       mxb_open_optimizer,  mxb_open_custom_op,
      mxb_open_image,    mxb_open_monitor,  mxb_open_cuda_graph, mxb_open_kvstore,
      mxb_open_bytes,    mxb_open_features, mxb_open_gemm_plan,  mxb_open_eager};
  for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++) openers[i](L);
  lua_pushstring(L, MX_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
