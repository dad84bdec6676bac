/* executor.c: the mx.Executor userdata: bind/simple_bind entry points, forward,
 * backward, the monitor callback into Lua, and the arrays the executor owns
 * (arg_arrays, grad_arrays, aux_arrays, outputs and their *_dict forms). */
#include <stdlib.h>
#include <string.h>

#include "bindings.h"

#define MXB_EXECUTOR_MT "mx.Executor"

mx_symbol *mxb_check_symbol(lua_State *L, int idx, const char *where);
int mxb_read_shape(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], const char *where,
                   const char *name);

typedef struct {
  mx_executor *e;
  lua_State *L;    /* the thread running forward/backward (for the monitor) */
  int monitor_ref; /* LUA_NOREF when none */
  char error[512];
  int running;           /* forward/backward calls in progress (a callback may close the executor) */
  mx_executor *deferred; /* closed while running: released when the last call returns */
} exe_ud;

static exe_ud *check_exe(lua_State *L, int idx, const char *where) {
  exe_ud *u = luaL_testudata(L, idx, MXB_EXECUTOR_MT);
  if (!u) {
    mxb_typeerror(L, idx, where, "Executor");
    return NULL;
  }
  if (!u->e) luaL_error(L, "%s: the Executor was closed", where);
  mxb_graph_keep_executor(u->e);
  return u;
}

/* Releases the executor (idempotent, never raises). Closing (__close, :close())
 * also invalidates the arrays it handed out, so its arena is freed at once; the
 * collector (__gc) leaves them to their holders, who keep the memory alive. */
static int exe_release(lua_State *L, int close_arrays) {
  exe_ud *u = luaL_testudata(L, 1, MXB_EXECUTOR_MT);
  if (!u || !u->e) return 0;
  if (u->running) /* a callback closes the executor its forward/backward runs on: later */
    u->deferred = u->e;
  else
    mx_executor_release(u->e);
  u->e = NULL;
  if (u->monitor_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, u->monitor_ref);
  u->monitor_ref = LUA_NOREF;
  if (close_arrays && lua_getiuservalue(L, 1, 1) == LUA_TTABLE) {
    const char *lists[] = {"arg_arrays", "grad_arrays", "aux_arrays", "outputs"};
    for (int k = 0; k < 4; k++) {
      if (lua_getfield(L, -1, lists[k]) == LUA_TTABLE) {
        lua_getfield(L, -1, "n");
        lua_Integer n = lua_tointeger(L, -1);
        lua_pop(L, 1);
        for (lua_Integer i = 1; i <= n; i++) {
          lua_rawgeti(L, -1, i);
          mxb_invalidate_ndarray(L, -1);
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1);
    }
  }
  lua_newtable(L); /* drop the executor's references to its arrays */
  lua_setiuservalue(L, 1, 1);
  return 0;
}

static int exe_gc(lua_State *L) { return exe_release(L, 0); }
static int exe_close(lua_State *L) { return exe_release(L, 1); }

static void push_array_or(lua_State *L, mx_ndarray *a) {
  if (a)
    mxb_push_ndarray(L, mx_ndarray_retain(a));
  else
    lua_pushnil(L);
}

/* list and dict of n arrays named by names[] into fields[list_key], fields[dict_key] */
static void set_arrays(lua_State *L, int fields, const char *list_key, const char *dict_key,
                       mx_ndarray *const *arrs, const char *const *names, int n) {
  lua_createtable(L, n, 1);
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    push_array_or(L, arrs[i]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -4, i + 1);
    lua_setfield(L, -2, names[i]);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -3, "n");
  lua_setfield(L, fields, dict_key);
  lua_setfield(L, fields, list_key);
}

static int push_executor(lua_State *L, mx_executor *e, mx_symbol *sym, const char *where) {
  exe_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
  u->e = e;
  u->L = L;
  u->monitor_ref = LUA_NOREF;
  u->error[0] = 0;
  u->running = 0;
  u->deferred = NULL;
  luaL_setmetatable(L, MXB_EXECUTOR_MT);
  int ud = lua_gettop(L);
  lua_newtable(L);
  int fields = lua_gettop(L);
  const char *const *names;
  mx_ndarray *const *arrs;
  int n;
  mxb_check(L, mx_symbol_list_arguments(sym, &names, &n), where);
  mx_executor_arg_arrays(e, &arrs);
  set_arrays(L, fields, "arg_arrays", "arg_dict", arrs, names, n);
  mx_executor_grad_arrays(e, &arrs);
  set_arrays(L, fields, "grad_arrays", "grad_dict", arrs, names, n);
  mxb_check(L, mx_symbol_list_auxiliary_states(sym, &names, &n), where);
  mx_executor_aux_arrays(e, &arrs);
  set_arrays(L, fields, "aux_arrays", "aux_dict", arrs, names, n);
  mxb_check(L, mx_symbol_list_outputs(sym, &names, &n), where);
  mx_executor_outputs(e, &arrs);
  set_arrays(L, fields, "outputs", "output_dict", arrs, names, n);
  lua_pushvalue(L, 1);
  lua_setfield(L, fields, "symbol");
  lua_setiuservalue(L, ud, 1);
  return 1;
}

static mx_grad_req req_of(lua_State *L, int idx, const char *where) {
  const char *s = luaL_checkstring(L, idx);
  if (!strcmp(s, "null")) return MX_GRAD_NULL;
  if (!strcmp(s, "write")) return MX_GRAD_WRITE;
  if (!strcmp(s, "add")) return MX_GRAD_ADD;
  luaL_error(L, "%s: bad grad_req '%s' (expected 'write', 'add' or 'null')", where, s);
  return MX_GRAD_NULL;
}

/* reqs list (strings, in argument order) at idx into out; returns 0 when absent */
static int read_reqs(lua_State *L, int idx, mx_grad_req *out, int nargs, const char *where) {
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  for (int i = 0; i < nargs; i++) {
    lua_rawgeti(L, idx, i + 1);
    out[i] = lua_isnil(L, -1) ? MX_GRAD_WRITE : req_of(L, -1, where);
    lua_pop(L, 1);
  }
  return 1;
}

#define MAXARGS 1024

/* sym:_simple_bind(ctx, {name = shape}, reqs list|nil) */
static int l_simple_bind(lua_State *L) {
  const char *where = "Symbol:simple_bind";
  mx_symbol *sym = mxb_check_symbol(L, 1, where);
  mx_context ctx = mxb_opt_context(L, 2, where);
  luaL_checktype(L, 3, LUA_TTABLE);
  const char *const *argnames;
  int nargs;
  mxb_check(L, mx_symbol_list_arguments(sym, &argnames, &nargs), where);
  if (nargs > MAXARGS) luaL_error(L, "%s: too many arguments", where);
  mx_grad_req *reqs = lua_newuserdatauv(L, sizeof(mx_grad_req) * (size_t)(nargs + 1), 0);
  int have_reqs = read_reqs(L, 4, reqs, nargs, where);
  const char **names = lua_newuserdatauv(L, sizeof(char *) * MAXARGS, 0);
  int64_t(*shapes)[MX_MAX_NDIM] = lua_newuserdatauv(L, sizeof(int64_t[MAXARGS][MX_MAX_NDIM]), 0);
  int *ndims = lua_newuserdatauv(L, sizeof(int) * MAXARGS, 0);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, 3)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "%s: input shapes are given by name", where);
    if (n == MAXARGS) luaL_error(L, "%s: too many shapes", where);
    names[n] = lua_tostring(L, -2);
    ndims[n] = mxb_read_shape(L, -1, shapes[n], where, names[n]);
    n++;
    lua_pop(L, 1);
  }
  mx_executor *e;
  mxb_check(L,
            mx_executor_simple_bind(sym, ctx, names, (const int64_t(*)[MX_MAX_NDIM])shapes, ndims,
                                    n, have_reqs ? reqs : NULL, &e),
            where);
  return push_executor(L, e, sym, where);
}

/* arrays list at idx (false/nil holes) of n entries into out */
static void read_arrays(lua_State *L, int idx, mx_ndarray **out, int n, const char *where,
                        const char *what) {
  int given = !lua_isnoneornil(L, idx);
  if (given && lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "%s: %s must be a list of NDArrays (got %s)", where, what, luaL_typename(L, idx));
  for (int i = 0; i < n; i++) {
    out[i] = NULL;
    if (!given) continue;
    lua_rawgeti(L, idx, i + 1);
    if (lua_toboolean(L, -1)) {
      out[i] = mxb_test_ndarray(L, -1);
      if (!out[i])
        luaL_error(L, "%s: %s %d is not an NDArray (got %s)", where, what, i + 1,
                   luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
}

/* sym:_bind(ctx, args list, grads list, reqs list, aux list); lists in list order, false for none
 */
static int l_bind(lua_State *L) {
  const char *where = "Symbol:bind";
  mx_symbol *sym = mxb_check_symbol(L, 1, where);
  mx_context ctx = mxb_opt_context(L, 2, where);
  const char *const *names;
  int nargs, naux;
  mxb_check(L, mx_symbol_list_auxiliary_states(sym, &names, &naux), where);
  mxb_check(L, mx_symbol_list_arguments(sym, &names, &nargs), where);
  mx_ndarray **args = lua_newuserdatauv(L, sizeof(mx_ndarray *) * (size_t)(nargs + 1), 0);
  mx_ndarray **grads = lua_newuserdatauv(L, sizeof(mx_ndarray *) * (size_t)(nargs + 1), 0);
  mx_ndarray **aux = lua_newuserdatauv(L, sizeof(mx_ndarray *) * (size_t)(naux + 1), 0);
  mx_grad_req *reqs = lua_newuserdatauv(L, sizeof(mx_grad_req) * (size_t)(nargs + 1), 0);
  read_arrays(L, 3, args, nargs, where, "args");
  read_arrays(L, 4, grads, nargs, where, "args_grad");
  int have_reqs = read_reqs(L, 5, reqs, nargs, where);
  read_arrays(L, 6, aux, naux, where, "aux_states");
  if (have_reqs)
    for (int i = 0; i < nargs; i++)
      if (reqs[i] != MX_GRAD_NULL && !grads[i])
        reqs[i] = MX_GRAD_NULL; /* no array given: no gradient */
  mx_executor *e;
  mxb_check(L,
            mx_executor_bind(sym, ctx, args, lua_isnoneornil(L, 4) ? NULL : grads,
                             have_reqs ? reqs : NULL, aux, &e),
            where);
  return push_executor(L, e, sym, where);
}

int mxb_symbol_bind_fns(lua_State *L) {
  lua_pushcfunction(L, l_simple_bind);
  lua_setfield(L, -2, "_simple_bind");
  lua_pushcfunction(L, l_bind);
  lua_setfield(L, -2, "_bind");
  return 0;
}

/* ---- executor methods ---- */

/* Runs forward or backward with the executor marked as running, so that a close() from a
 * callback (monitor, Lua operator) only takes effect once the call has returned. */
static mx_status run_exe(exe_ud *u, int backward, int is_train, mx_ndarray **heads, int n) {
  mx_executor *e = u->e;
  u->running++;
  mx_status st = backward ? mx_executor_backward(e, heads, n) : mx_executor_forward(e, is_train);
  if (--u->running == 0 && u->deferred) {
    mx_executor_release(u->deferred);
    u->deferred = NULL;
  }
  return st;
}

static int l_forward(lua_State *L) {
  exe_ud *u = check_exe(L, 1, "Executor:forward");
  u->L = L;
  u->error[0] = 0;
  mxb_check(L, run_exe(u, 0, lua_toboolean(L, 2), NULL, 0), "Executor:forward");
  return 0;
}

static int l_backward(lua_State *L) {
  const char *where = "Executor:backward";
  exe_ud *u = check_exe(L, 1, where);
  u->L = L;
  mx_ndarray *heads[256];
  int n = 0;
  if (!lua_isnoneornil(L, 2)) {
    if (mxb_test_ndarray(L, 2)) {
      heads[n++] = mxb_test_ndarray(L, 2);
    } else {
      if (!lua_istable(L, 2)) return mxb_typeerror(L, 2, where, "NDArray or list of NDArrays");
      n = (int)(lua_Integer)lua_rawlen(L, 2);
      if (n > 256) luaL_error(L, "%s: too many gradients", where);
      read_arrays(L, 2, heads, n, where, "out_grads");
    }
  }
  mxb_check(L, run_exe(u, 1, 0, heads, n), where);
  return 0;
}

static mx_status monitor_cb(const char *name, mx_ndarray *a, void *data) {
  exe_ud *u = data;
  lua_State *L = u->L;
  if (u->monitor_ref == LUA_NOREF) return MX_OK; /* closed by an earlier callback of this call */
  int top = lua_gettop(L);
  int lent = mxb_lend_begin(L); /* the array, and views made of it, valid during the call */
  mxb_push_borrowed_ndarray(L, a);
  lua_rawgeti(L, LUA_REGISTRYINDEX, u->monitor_ref);
  lua_pushstring(L, name);
  lua_pushvalue(L, top + 2);
  int rc = lua_pcall(L, 2, 0, 0);
  mx_status st = MX_OK;
  if (rc != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    st = mx_error(MX_ERR_CALLBACK, "%s", msg ? msg : "error in the monitor callback");
  }
  mxb_lend_end(L, lent);
  lua_settop(L, top);
  return st;
}

/* exe:_set_monitor(fn | nil) */
static int l_set_monitor(lua_State *L) {
  exe_ud *u = check_exe(L, 1, "Executor:set_monitor_callback");
  if (u->monitor_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, u->monitor_ref);
  u->monitor_ref = LUA_NOREF;
  if (lua_isnoneornil(L, 2)) {
    mx_executor_set_monitor(u->e, NULL, NULL);
    return 0;
  }
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  u->monitor_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  mx_executor_set_monitor(u->e, monitor_cb, u);
  return 0;
}

/* exe:memory() -> arena bytes, bytes without any reuse */
static int l_memory(lua_State *L) {
  exe_ud *u = check_exe(L, 1, "Executor:memory");
  size_t a, n;
  mx_executor_memory(u->e, &a, &n);
  lua_pushinteger(L, (lua_Integer)a);
  lua_pushinteger(L, (lua_Integer)n);
  return 2;
}

/* exe:_feed(i, arr|nil): argument i (1-based) reads arr's memory in place until fed
 * again (no copy); nil gives it back its own memory. */
static int l_feed(lua_State *L) {
  const char *where = "Executor:feed";
  exe_ud *u = check_exe(L, 1, where);
  lua_Integer i = mxb_check_integer(L, 2, where);
  mx_ndarray *src = lua_isnoneornil(L, 3) ? NULL : mxb_check_ndarray(L, 3, where);
  mx_ndarray *const *args;
  int n = mx_executor_arg_arrays(u->e, &args);
  if (i < 1 || i > n)
    return mxb_argerror(L, 2, where, "argument %lld out of range (expected 1..%d)", (long long)i,
                        n);
  mxb_check(L, mx_executor_feed(u->e, (int)(i - 1), src), where);
  return 0;
}

static int exe_tostring(lua_State *L) {
  exe_ud *u = luaL_checkudata(L, 1, MXB_EXECUTOR_MT);
  if (!u->e) {
    lua_pushliteral(L, "[Executor (closed)]");
    return 1;
  }
  size_t a;
  mx_executor_memory(u->e, &a, NULL);
  mx_ndarray *const *arrs;
  int nout = mx_executor_outputs(u->e, &arrs), nargs = mx_executor_arg_arrays(u->e, &arrs);
  lua_pushfstring(L, "[Executor: %d outputs, %d arguments, arena %d KiB]", nout, nargs,
                  (int)((a + 1023) / 1024));
  return 1;
}

/* __index: methods first, then the executor's fields (outputs, arg_dict, ...). */
static int exe_index(lua_State *L) {
  lua_pushvalue(L, 2);
  lua_gettable(L, lua_upvalueindex(1));
  if (!lua_isnil(L, -1)) return 1;
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  lua_gettable(L, -2);
  return 1;
}

static int l_is_executor(lua_State *L) {
  exe_ud *u = luaL_testudata(L, 1, MXB_EXECUTOR_MT);
  lua_pushboolean(L, u && u->e);
  return 1;
}

/* for bindings/kvstore.c: the core executor of an mx.Executor value. */
mx_executor *mxb_check_executor(lua_State *L, int idx, const char *where) { return check_exe(L, idx, where)->e; }

void mxb_open_executor(lua_State *L) {
  int module = lua_gettop(L);
  const luaL_Reg methods[] = {{"_forward", l_forward},
                              {"_backward", l_backward},
                              {"_set_monitor", l_set_monitor},
                              {"memory", l_memory},
                              {"close", exe_close},
                              {"_feed", l_feed},
                              {NULL, NULL}};
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_pushvalue(L, -1);
  lua_setfield(L, module, "Executor_methods");
  luaL_newmetatable(L, MXB_EXECUTOR_MT);
  lua_pushcfunction(L, exe_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, exe_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, exe_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, exe_index, 1);
  lua_setfield(L, -2, "__index");
  lua_setfield(L, module, "Executor_metatable");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_is_executor);
  lua_setfield(L, module, "is_executor");
}
