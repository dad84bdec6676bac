/* cuda_graph.c: mx.core.cuda_graph(ctx, fn) records the GPU work that fn queues
 * on ctx into a CUDA graph, an mx.CudaGraph userdata with :launch() (replays it)
 * and :close(). fn's work is recorded, not run: launch runs it. */
#include "bindings.h"

#define MXB_GRAPH_MT "mx.CudaGraph"

typedef struct graph_ud {
  mx_cuda_graph *g; /* NULL once closed, or when recording failed */
  mx_context ctx;
} graph_ud;

static int l_cuda_graph(lua_State *L) {
  const char *where = "mx.core.cuda_graph";
  mx_context ctx = mxb_check_context(L, 1, where);
  if (lua_type(L, 2) != LUA_TFUNCTION) return mxb_typeerror(L, 2, where, "function");
  /* the userdata exists before recording starts: nothing below can raise until it ends */
  graph_ud *ud = lua_newuserdatauv(L, sizeof *ud, 0);
  ud->g = NULL;
  ud->ctx = ctx;
  luaL_setmetatable(L, MXB_GRAPH_MT);
  mxb_check(L, mx_cuda_graph_begin(ctx), where);
  lua_pushvalue(L, 2);
  int rc = lua_pcall(L, 0, 0, 0);
  mx_cuda_graph *g = NULL;
  mx_status st = mx_cuda_graph_end(ctx, &g);
  if (rc != LUA_OK) {
    mx_cuda_graph_release(g);
    return lua_error(L); /* fn's own error, as it was raised */
  }
  mxb_check(L, st, where);
  ud->g = g;
  lua_settop(L, 3);
  return 1;
}

static graph_ud *check_graph(lua_State *L, const char *where) {
  graph_ud *ud = luaL_testudata(L, 1, MXB_GRAPH_MT);
  if (!ud) return (graph_ud *)(mxb_typeerror(L, 1, where, "CudaGraph"), NULL);
  if (!ud->g) return (graph_ud *)(mxb_errorf(L, "%s: the graph is closed", where), NULL);
  return ud;
}

static int l_launch(lua_State *L) {
  const char *where = "CudaGraph:launch";
  graph_ud *ud = check_graph(L, where);
  mxb_check(L, mx_cuda_graph_launch(ud->g), where);
  return 0;
}

static int l_free(lua_State *L) { /* __gc, __close and close: idempotent, never raises */
  graph_ud *ud = luaL_testudata(L, 1, MXB_GRAPH_MT);
  if (ud && ud->g) {
    mx_cuda_graph_release(ud->g);
    ud->g = NULL;
  }
  return 0;
}

static int l_tostring(lua_State *L) {
  graph_ud *ud = luaL_checkudata(L, 1, MXB_GRAPH_MT);
  char cs[32];
  lua_pushfstring(L, "CudaGraph(%s%s)", mx_context_str(ud->ctx, cs, sizeof cs), ud->g ? "" : ", closed");
  return 1;
}

void mxb_open_cuda_graph(lua_State *L) {
  static const luaL_Reg methods[] = {{"launch", l_launch}, {"close", l_free}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", l_free}, {"__close", l_free}, {"__tostring", l_tostring}, {NULL, NULL}};
  luaL_newmetatable(L, MXB_GRAPH_MT);
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_cuda_graph);
  lua_setfield(L, -2, "cuda_graph");
}
