/* kvstore.c: Lua bindings of the kvstore reductions (mx.core.kvstore_reduce_sum,
 * nccl_*, dist_*): the sum over contexts, NCCL between GPUs, MPI between processes.
 * lua/mx/kvstore.lua builds mx.kvstore on them. */
#include "bindings.h"

/* The NDArrays of the list at idx, in a userdata buffer left on the stack (freed by the GC). */
static mx_ndarray **check_list(lua_State *L, int idx, int *n, const char *where) {
  luaL_checktype(L, idx, LUA_TTABLE);
  int len = (int)(lua_Integer)lua_rawlen(L, idx);
  mx_ndarray **arrs = lua_newuserdatauv(L, (size_t)(len > 0 ? len : 1) * sizeof *arrs, 0);
  for (int i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, i);
    arrs[i - 1] = mxb_test_ndarray(L, -1);
    lua_pop(L, 1);
    if (arrs[i - 1] == NULL)
      mxb_errorf(L, "%s: element %d of the list is not an NDArray", where, i);
  }
  *n = len;
  return arrs;
}

/* core.kvstore_reduce_sum(dst, {src...}): dst = the sum of the sources */
static int l_reduce_sum(lua_State *L) {
  const char *where = "mx.kvstore.push";
  mx_ndarray *dst = mxb_check_ndarray(L, 1, where);
  int n = 0;
  mx_ndarray **srcs = check_list(L, 2, &n, where);
  mxb_check(L, mx_kvstore_reduce_sum(dst, srcs, n), where);
  return 0;
}

static int l_nccl_compiled(lua_State *L) {
  lua_pushboolean(L, mx_nccl_compiled());
  return 1;
}

/* core.nccl_allreduce({gpu arrays}): each becomes their sum */
static int l_nccl_allreduce(lua_State *L) {
  const char *where = "mx.kvstore.push";
  int n = 0;
  mx_ndarray **arrs = check_list(L, 1, &n, where);
  mxb_check(L, mx_nccl_allreduce(arrs, n), where);
  return 0;
}

static int l_dist_compiled(lua_State *L) {
  lua_pushboolean(L, mx_dist_compiled());
  return 1;
}

/* core.dist_init() -> rank (0-based), number of processes */
static int l_dist_init(lua_State *L) {
  int rank = 0, size = 1;
  mxb_check(L, mx_dist_init(&rank, &size), "mx.kvstore.create");
  lua_pushinteger(L, rank);
  lua_pushinteger(L, size);
  return 2;
}

/* core.dist_allreduce({arrays}[, bucket_floats]): sums over processes, in place */
static int l_dist_allreduce(lua_State *L) {
  const char *where = "mx.kvstore.push";
  int n = 0;
  lua_Integer bucket = mxb_opt_integer(L, 2, 0, where);
  mx_ndarray **arrs = check_list(L, 1, &n, where);
  mxb_check(L, mx_dist_allreduce(arrs, n, (int64_t)bucket), where);
  return 0;
}

/* core.dist_broadcast({arrays}, root): root's (0-based) values everywhere */
static int l_dist_broadcast(lua_State *L) {
  const char *where = "mx.kvstore.init";
  int n = 0;
  int root = (int)mxb_opt_integer(L, 2, 0, where);
  mx_ndarray **arrs = check_list(L, 1, &n, where);
  mxb_check(L, mx_dist_broadcast(arrs, n, root), where);
  return 0;
}

static int l_dist_barrier(lua_State *L) {
  mxb_check(L, mx_dist_barrier(), "mx.kvstore.barrier");
  return 0;
}

/* core.dist_stats() -> seconds in MPI_Allreduce, number of all-reduce calls */
static int l_dist_stats(lua_State *L) {
  double s = 0;
  int64_t c = 0;
  mx_dist_stats(&s, &c);
  lua_pushnumber(L, s);
  lua_pushinteger(L, (lua_Integer)c);
  return 2;
}

static int l_dist_abort(lua_State *L) {
  int code = (int)mxb_opt_integer(L, 1, 1, "mx.kvstore.abort");
  mxb_check(L, mx_dist_abort(code), "mx.kvstore.abort");
  return 0;
}

/* core.dist_overlap(executor, {grads}[, bucket_floats]) -> an object whose :backward() runs
 * the executor's backward with the gradients' all-reduce overlapped (mx_dist_overlap_*). */
#define OVERLAP_MT "mx.kvstore.Overlap"
static int l_overlap_gc(lua_State *L) {
  mx_dist_overlap **u = luaL_checkudata(L, 1, OVERLAP_MT);
  mx_dist_overlap_release(*u);
  *u = NULL;
  return 0;
}
static int l_overlap_backward(lua_State *L) {
  mx_dist_overlap **u = luaL_checkudata(L, 1, OVERLAP_MT);
  if (*u == NULL) return luaL_error(L, "mx.kvstore.push: the overlap object was closed");
  mxb_check(L, mx_dist_overlap_backward(*u), "mx.kvstore.push");
  return 0;
}
static int l_dist_overlap(lua_State *L) {
  const char *where = "mx.kvstore.push";
  mx_executor *e = mxb_check_executor(L, 1, where);
  int n = 0;
  lua_Integer bucket = mxb_opt_integer(L, 3, 0, where);
  mx_ndarray **grads = check_list(L, 2, &n, where);
  mx_dist_overlap **u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = NULL;
  if (luaL_newmetatable(L, OVERLAP_MT)) {
    lua_pushcfunction(L, l_overlap_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_overlap_gc);
    lua_setfield(L, -2, "__close");
    lua_newtable(L);
    lua_pushcfunction(L, l_overlap_backward);
    lua_setfield(L, -2, "backward");
    lua_setfield(L, -2, "__index");
  }
  lua_setmetatable(L, -2);
  mxb_check(L, mx_dist_overlap_create(e, grads, n, (int64_t)bucket, u), where);
  return 1;
}

void mxb_open_kvstore(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"kvstore_reduce_sum", l_reduce_sum}, {"nccl_compiled", l_nccl_compiled},
      {"nccl_allreduce", l_nccl_allreduce}, {"dist_compiled", l_dist_compiled},
      {"dist_init", l_dist_init},           {"dist_allreduce", l_dist_allreduce},
      {"dist_broadcast", l_dist_broadcast}, {"dist_barrier", l_dist_barrier},
      {"dist_stats", l_dist_stats},         {"dist_abort", l_dist_abort},
      {"dist_overlap", l_dist_overlap},     {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
