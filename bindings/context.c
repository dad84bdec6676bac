/* context.c: mx.Context values (cpu(0), gpu(1)), the checks of a context, and what the
 * devices report: GPU count, CUDA build, the memory pools' statistics. */
#include <string.h>

#include "bindings.h"

static int ctx_cpu(lua_State *L) {
  lua_Integer id = mxb_opt_integer(L, 1, 0, "mx.cpu");
  if (id < 0 || id > 1024)
    return mxb_argerror(L, 1, "mx.cpu", "device id must be in 0..1024 (got %lld)", (long long)id);
  mxb_push_context(L, mx_cpu((int)id));
  return 1;
}

static int ctx_gpu(lua_State *L) {
  lua_Integer id = mxb_opt_integer(L, 1, 0, "mx.gpu");
  if (id < 0 || id > 1024)
    return mxb_argerror(L, 1, "mx.gpu", "device id must be in 0..1024 (got %lld)", (long long)id);
  mxb_push_context(L, mx_gpu((int)id));
  return 1;
}

static int ctx_tostring(lua_State *L) {
  char buf[32];
  lua_pushstring(L, mx_context_str(mxb_check_context(L, 1, "Context.__tostring"), buf, sizeof buf));
  return 1;
}

static int ctx_eq(lua_State *L) {
  mx_context *a = luaL_testudata(L, 1, MXB_CONTEXT_MT), *b = luaL_testudata(L, 2, MXB_CONTEXT_MT);
  lua_pushboolean(L, a && b && a->dev_type == b->dev_type && a->dev_id == b->dev_id);
  return 1;
}

/* ctx.device_type ("cpu"/"gpu"), ctx.device_id, ctx.device_typeid, else a method. */
static int ctx_index(lua_State *L) {
  mx_context c = mxb_check_context(L, 1, "Context");
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "device_type") == 0)
    lua_pushstring(L, c.dev_type == MX_DEV_GPU ? "gpu" : "cpu");
  else if (k && strcmp(k, "device_id") == 0)
    lua_pushinteger(L, c.dev_id);
  else if (k && strcmp(k, "device_typeid") == 0)
    lua_pushinteger(L, c.dev_type);
  else {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
  }
  return 1;
}

/* mx.core.check_context(ctx): true, or nil and the reason arrays cannot live there. */
static int ctx_check(lua_State *L) {
  mx_context c = mxb_check_context(L, 1, "mx.context.check");
  if (mx_context_check(c) == MX_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushnil(L);
  lua_pushstring(L, mx_last_error());
  return 2;
}

static int core_gpu_count(lua_State *L) {
  lua_pushinteger(L, mx_gpu_count());
  return 1;
}

static int core_cuda_compiled(lua_State *L) {
  lua_pushboolean(L, mx_cuda_compiled());
  return 1;
}

static int core_alloc_stats(lua_State *L) {
  mx_alloc_stats s;
  mx_alloc_stats_get(&s);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)s.requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, (lua_Integer)s.system_allocs);
  lua_setfield(L, -2, "system_allocs");
  lua_pushinteger(L, (lua_Integer)s.bytes_in_use);
  lua_setfield(L, -2, "bytes_in_use");
  lua_pushinteger(L, (lua_Integer)s.bytes_pooled);
  lua_setfield(L, -2, "bytes_pooled");
  return 1;
}

static int core_alloc_trim(lua_State *L) {
  mx_alloc_trim();
  return 0;
}

static const luaL_Reg context_fns[] = {{"cpu", ctx_cpu},
                                       {"gpu", ctx_gpu},
                                       {"check_context", ctx_check},
                                       {"gpu_count", core_gpu_count},
                                       {"cuda_compiled", core_cuda_compiled},
                                       {"alloc_stats", core_alloc_stats},
                                       {"alloc_trim", core_alloc_trim},
                                       {NULL, NULL}};

void mxb_open_context(lua_State *L) {
  int module = lua_gettop(L);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, module, "Context_methods");
  luaL_newmetatable(L, MXB_CONTEXT_MT);
  lua_pushcfunction(L, ctx_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, ctx_eq);
  lua_setfield(L, -2, "__eq");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, ctx_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 2);
  luaL_setfuncs(L, context_fns, 0);
}
