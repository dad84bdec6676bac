/* ndarray.c: the mx.NDArray and mx.Context metatables (built like liolib.c)
 * and the C functions behind mx.nd, NDArray methods, mx.random and contexts. */
#include "bindings.h"

/* __gc and __close: releases the array once; never raises. */
static int nd_free(lua_State *L) {
  mxb_ndarray_ud *ud = luaL_testudata(L, 1, MXB_NDARRAY_MT);
  if (ud != NULL && ud->a != NULL) {
    mx_ndarray_release(ud->a);
    ud->a = NULL;
  }
  return 0;
}

void mxb_open_ndarray(lua_State *L) {
  luaL_newmetatable(L, MXB_NDARRAY_MT);
  lua_pushcfunction(L, nd_free);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, nd_free);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_newmetatable(L, MXB_CONTEXT_MT);
  lua_pop(L, 1);
}
