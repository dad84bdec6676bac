/* cuda_graph.c: mx.core.cuda_graph(ctx, fn) records the GPU work that fn queues
 * on ctx into a CUDA graph, an mx.CudaGraph userdata with :launch() (replays it)
 * and :close(). fn's work is recorded, not run: launch runs it.
 * The graph holds a reference to every NDArray and Executor that the bindings were
 * given while fn ran, so none of the device memory it replays on can be freed (or
 * handed to another array by the pool) while the graph lives. And
 * mx.core.cuda_graph_rerun(fn) runs fn; when a graph is being recorded, fn runs
 * again before each of its launches, the optimizer updates it makes then refreshing
 * their hyper-parameters (learning rate, Adam's bias correction) for the replay. */
#include <stdlib.h>

#include "bindings.h"

#define MXB_GRAPH_MT "mx.CudaGraph"

typedef struct graph_ud {
  mx_cuda_graph *g; /* NULL once closed, or when recording failed */
  mx_context ctx;
  mx_ndarray **arrays; /* held: retained while recording */
  mx_executor **exes;
  size_t n_arrays, cap_arrays, n_exes, cap_exes;
  int out_of_memory; /* a reference could not be kept: the recording fails */
  int launched;  /* launched once: the recording's own run of the reruns served the first launch */
  int launching; /* in :launch() (its reruns may run any Lua code) */
  int close_pending; /* closed by a rerun during :launch() */
} graph_ud;

/* The graph being recorded by this thread (uservalue 1 holds its reruns). */
static _Thread_local graph_ud *recording;

static int keep(void ***list, size_t *n, size_t *cap) {
  if (*n == *cap) {
    size_t c = *cap ? 2 * *cap : 64;
    void **p = realloc(*list, c * sizeof *p);
    if (!p) return 0;
    *list = p, *cap = c;
  }
  return 1;
}

void mxb_graph_keep_ndarray(mx_ndarray *a) {
  graph_ud *ud = recording;
  if (!ud || !a) return;
  if (!keep((void ***)&ud->arrays, &ud->n_arrays, &ud->cap_arrays))
    ud->out_of_memory = 1;
  else
    ud->arrays[ud->n_arrays++] = mx_ndarray_retain(a);
}

void mxb_graph_keep_executor(mx_executor *e) {
  graph_ud *ud = recording;
  if (!ud || !e) return;
  if (!keep((void ***)&ud->exes, &ud->n_exes, &ud->cap_exes))
    ud->out_of_memory = 1;
  else
    ud->exes[ud->n_exes++] = mx_executor_retain(e);
}

static void release_held(graph_ud *ud) {
  for (size_t i = 0; i < ud->n_arrays; i++) mx_ndarray_release(ud->arrays[i]);
  for (size_t i = 0; i < ud->n_exes; i++) mx_executor_release(ud->exes[i]);
  free(ud->arrays);
  free(ud->exes);
  ud->arrays = NULL, ud->exes = NULL;
  ud->n_arrays = ud->cap_arrays = ud->n_exes = ud->cap_exes = 0;
}

static void graph_free(graph_ud *ud) {
  mx_cuda_graph_release(ud->g);
  ud->g = NULL;
  release_held(ud);
}

static int l_cuda_graph(lua_State *L) {
  const char *where = "mx.core.cuda_graph";
  mx_context ctx = mxb_check_context(L, 1, where);
  if (lua_type(L, 2) != LUA_TFUNCTION) return mxb_typeerror(L, 2, where, "function");
  /* the userdata exists before recording starts: nothing below can raise until it ends */
  graph_ud *ud = lua_newuserdatauv(L, sizeof *ud, 1);
  *ud = (graph_ud){.g = NULL, .ctx = ctx};
  luaL_setmetatable(L, MXB_GRAPH_MT);
  lua_newtable(L); /* the reruns, in order */
  lua_setiuservalue(L, 3, 1);
  mxb_check(L, mx_cuda_graph_begin(ctx), where);
  recording = ud;
  lua_pushvalue(L, 3);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &recording);
  lua_pushvalue(L, 2);
  int rc = lua_pcall(L, 0, 0, 0);
  recording = NULL;
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &recording);
  mx_cuda_graph *g = NULL;
  mx_status st = mx_cuda_graph_end(ctx, &g);
  if (rc != LUA_OK) {
    mx_cuda_graph_release(g);
    release_held(ud);
    return lua_error(L); /* fn's own error, as it was raised */
  }
  if (st == MX_OK && ud->out_of_memory) {
    mx_cuda_graph_release(g);
    st = mx_error_at(MX_ERR_NOMEM, where, "out of host memory for the arrays the graph holds");
  }
  if (st != MX_OK) release_held(ud);
  mxb_check(L, st, where);
  ud->g = g;
  lua_settop(L, 3);
  return 1;
}

/* mx.core.cuda_graph_rerun(fn): fn(); while recording a graph, fn runs again before each launch */
static int l_rerun(lua_State *L) {
  const char *where = "mx.core.cuda_graph_rerun";
  if (lua_type(L, 1) != LUA_TFUNCTION) return mxb_typeerror(L, 1, where, "function");
  lua_settop(L, 1);
  graph_ud *ud = recording;
  if (!ud) {
    lua_call(L, 0, 0);
    return 0;
  }
  int hook = -1;
  mxb_check(L, mx_cuda_graph_rerun_begin(&hook), where);
  lua_pushvalue(L, 1);
  int rc = lua_pcall(L, 0, 0, 0);
  mx_status st = mx_cuda_graph_rerun_end();
  if (rc != LUA_OK) return lua_error(L);
  mxb_check(L, st, where);
  lua_rawgetp(L, LUA_REGISTRYINDEX,
              &recording); /* the recording's userdata, put there by l_cuda_graph */
  lua_getiuservalue(L, -1, 1);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, hook + 1);
  return 0;
}

/* mx.core.cuda_graph_recording(): true while this thread records a graph */
static int l_recording(lua_State *L) {
  lua_pushboolean(L, recording != NULL);
  return 1;
}

static graph_ud *check_graph(lua_State *L, const char *where) {
  graph_ud *ud = luaL_testudata(L, 1, MXB_GRAPH_MT);
  if (!ud) return (graph_ud *)(mxb_typeerror(L, 1, where, "CudaGraph"), NULL);
  if (!ud->g) return (graph_ud *)(mxb_errorf(L, "%s: the graph is closed", where), NULL);
  return ud;
}

/* :launch(): the reruns in order (each refreshing its updates' hyper-parameters), then the
 * graph. Not before the first launch: recording ran them once, for it (the update counts a
 * recorded step advanced are those of the step the first launch makes). */
static int l_launch(lua_State *L) {
  const char *where = "CudaGraph:launch";
  graph_ud *ud = check_graph(L, where);
  if (ud->launching)
    return mxb_errorf(L, "%s: the graph is being launched (a rerun launched it again)", where);
  lua_settop(L, 1);
  lua_getiuservalue(L, 1, 1);
  lua_Integer n = ud->launched ? (lua_Integer)lua_rawlen(L, 2) : 0;
  for (lua_Integer i = 1; i <= n; i++) {
    mxb_check(L, mx_cuda_graph_refresh_begin(ud->g, (int)(i - 1)), where);
    ud->launching = 1;
    lua_rawgeti(L, 2, i);
    int rc = lua_pcall(L, 0, 0, 0);
    mx_status st = mx_cuda_graph_refresh_end(ud->g);
    ud->launching = 0;
    if (ud->close_pending) graph_free(ud);
    if (rc != LUA_OK) return lua_error(L);
    mxb_check(L, st, where);
    if (!ud->g) return mxb_errorf(L, "%s: a rerun closed the graph", where);
  }
  mxb_check(L, mx_cuda_graph_launch(ud->g), where);
  ud->launched = 1;
  return 0;
}

static int l_free(lua_State *L) { /* __gc, __close and close: idempotent, never raises */
  graph_ud *ud = luaL_testudata(L, 1, MXB_GRAPH_MT);
  if (!ud) return 0;
  if (ud->launching)
    ud->close_pending = 1; /* :launch() frees it when the rerun returns */
  else
    graph_free(ud);
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
  lua_pushcfunction(L, l_rerun);
  lua_setfield(L, -2, "cuda_graph_rerun");
  lua_pushcfunction(L, l_recording);
  lua_setfield(L, -2, "cuda_graph_recording");
}
