/* bindings_util.c: the helpers every binding file shares (bindings.h): turning
 * an mx_status into a Lua error, argument checks that name the Lua function,
 * NDArray and Context userdata (owned and borrowed), shapes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bindings.h"
#include "checked.h"

void *mxb_scratch(lua_State *L, size_t bytes) {
  return lua_newuserdatauv(L, bytes ? bytes : 1, 0);
}

/* ---- errors ---- */

/* "<where>: <node>: <what>" from the failure's fields: the Lua function's name
 * stands for the core functions (which Lua users never see). */
int mxb_raise(lua_State *L, const char *where) {
  mx_error_info e;
  mx_last_error_info(&e);
  const char *what = e.what[0] ? e.what : "unknown error";
  if (e.node[0]) lua_pushfstring(L, "%s: %s: %s", where, e.node, what);
  else lua_pushfstring(L, "%s: %s", where, what);
  return lua_error(L);
}

void mxb_check(lua_State *L, mx_status st, const char *where) {
  if (st != MX_OK) mxb_raise(L, where);
}

int mxb_errorf(lua_State *L, const char *fmt, ...) {
  char buf[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lua_pushstring(L, buf);
  return lua_error(L);
}

int mxb_argerror(lua_State *L, int arg, const char *where, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (strchr(where, ':') != NULL) { /* a method: self is not counted */
    arg--;
    if (arg == 0) return mxb_errorf(L, "%s: bad self (%s)", where, buf);
  }
  return mxb_errorf(L, "%s: bad argument #%d (%s)", where, arg, buf);
}

static const char *type_name(lua_State *L, int idx) {
  int t = luaL_getmetafield(L, idx, "__name"); /* pushes nothing when absent */
  if (t == LUA_TSTRING) {
    const char *name = lua_tostring(L, -1); /* interned in the metatable: stays valid */
    lua_pop(L, 1);
    if (strcmp(name, MXB_NDARRAY_MT) == 0) return "NDArray";
    if (strcmp(name, MXB_CONTEXT_MT) == 0) return "Context";
    if (strncmp(name, "mx.", 3) == 0) return name + 3;
    return name;
  } else if (t != LUA_TNIL) {
    lua_pop(L, 1);
  }
  if (lua_type(L, idx) == LUA_TNONE) return "no value";
  return luaL_typename(L, idx);
}

int mxb_typeerror(lua_State *L, int arg, const char *where, const char *expected) {
  return mxb_argerror(L, arg, where, "%s expected, got %s", expected, type_name(L, arg));
}

lua_Number mxb_check_number(lua_State *L, int idx, const char *where) {
  int ok;
  lua_Number v = lua_tonumberx(L, idx, &ok);
  if (!ok || lua_type(L, idx) != LUA_TNUMBER) mxb_typeerror(L, idx, where, "number");
  return v;
}

lua_Number mxb_opt_number(lua_State *L, int idx, lua_Number def, const char *where) {
  return lua_isnoneornil(L, idx) ? def : mxb_check_number(L, idx, where);
}

lua_Integer mxb_check_integer(lua_State *L, int idx, const char *where) {
  if (lua_type(L, idx) != LUA_TNUMBER) mxb_typeerror(L, idx, where, "integer");
  int ok;
  lua_Integer v = lua_tointegerx(L, idx, &ok);
  if (!ok) mxb_argerror(L, idx, where, "integer expected, got %s", lua_tostring(L, idx));
  return v;
}

lua_Integer mxb_opt_integer(lua_State *L, int idx, lua_Integer def, const char *where) {
  return lua_isnoneornil(L, idx) ? def : mxb_check_integer(L, idx, where);
}

int mxb_opt_boolean(lua_State *L, int idx, int def, const char *where) {
  if (lua_isnoneornil(L, idx)) return def;
  if (!lua_isboolean(L, idx)) mxb_typeerror(L, idx, where, "boolean");
  return lua_toboolean(L, idx);
}

int mxb_check_axis(lua_State *L, int idx, int ndim, const char *where) {
  lua_Integer ax = mxb_check_integer(L, idx, where);
  if (ax >= 1 && ax <= ndim) return (int)ax - 1;
  if (ax <= -1 && ax >= -ndim) return (int)(ndim + ax);
  return mxb_argerror(
      L, idx, where, "axis %lld out of range for an array with %d axes (expected 1..%d or -%d..-1)",
      (long long)ax, ndim, ndim, ndim);
}

const char *mxb_check_cstring(lua_State *L, int idx, const char *where) {
  if (lua_type(L, idx) != LUA_TSTRING) mxb_typeerror(L, idx, where, "string");
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  if (strlen(s) != len) {
    if (idx < 0) mxb_errorf(L, "%s: a name holds a NUL byte", where);
    mxb_argerror(L, idx, where, "the string holds a NUL byte");
  }
  return s;
}

int mxb_rawgetfield(lua_State *L, int idx, const char *key) {
  idx = lua_absindex(L, idx);
  lua_pushstring(L, key);
  return lua_rawget(L, idx);
}

/* ---- NDArray userdata ---- */

static mxb_ndarray_ud *new_ndarray_ud(lua_State *L) {
  mxb_ndarray_ud *ud = lua_newuserdatauv(L, sizeof *ud, 0);
  ud->a = NULL;
  ud->borrowed = 0;
  luaL_setmetatable(L, MXB_NDARRAY_MT);
  return ud;
}

/* The collector's mode is the program's (lua5.4 runs generational, mxlua incremental); arrays
 * dropped in a loop must be collected at the pace they are made under both. The incremental
 * collector keeps that pace from the steps below; under Lua 5.4.4's generational one, 1 MB
 * temporaries waited for a major collection (6 GB peak). So, whatever the mode, a full collection
 * runs once the arrays made since the last one pass the array bytes alive after it (at least
 * MXB_COLLECT_MIN): it costs a walk of the Lua heap per that many bytes of arrays. */
#define MXB_COLLECT_MIN (32 << 20)
static int64_t made_since_collect = 0, live_after_collect = 0; /* bytes; one process, one pace */

static void pace_collector(lua_State *L, int64_t bytes) {
  /* The Lua GC sees a small userdata but not the array's memory: tell it, as if that memory had
   * been allocated in Lua */
  int64_t kb = bytes / 1024;
  if (kb > 0) lua_gc(L, LUA_GCSTEP, (int)(kb < (1 << 30) ? kb : (1 << 30)));
  made_since_collect += bytes;
  if (made_since_collect < MXB_COLLECT_MIN || made_since_collect < live_after_collect) return;
  made_since_collect = 0;
  lua_gc(L, LUA_GCCOLLECT);
  mx_alloc_stats stats;
  mx_alloc_stats_get(&stats);
  live_after_collect = (int64_t)stats.bytes_in_use;
}

void mxb_push_ndarray(lua_State *L, mx_ndarray *a) {
  /* Allocating the userdata may raise (out of memory): take the reference
   * only once the userdata exists, releasing it otherwise is impossible. */
  mxb_ndarray_ud *ud = new_ndarray_ud(L);
  ud->a = a;
  if (a) pace_collector(L, mx_ndarray_size(a) * (int64_t)sizeof(float));
}

/* ---- lending: while a callback runs, the arrays lent to it, and the views made of them,
 * are listed in the current lent table (registry[MXB_LENT]); lend_end invalidates them. */
#define MXB_LENT "mx.lent"

static void note_lent(lua_State *L) { /* the userdata at the top */
  if (lua_getfield(L, LUA_REGISTRYINDEX, MXB_LENT) == LUA_TTABLE) {
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  }
  lua_pop(L, 1);
}

int mxb_lend_begin(lua_State *L) {
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, MXB_LENT); /* the enclosing call's, restored at the end */
  lua_setfield(L, -2, "outer");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, MXB_LENT);
  return lua_gettop(L);
}

void mxb_lend_end(lua_State *L, int idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    mxb_invalidate_ndarray(L, -1);
    lua_pop(L, 1);
  }
  lua_getfield(L, idx, "outer");
  lua_setfield(L, LUA_REGISTRYINDEX, MXB_LENT);
}

void mxb_push_borrowed_ndarray(lua_State *L, mx_ndarray *a) {
  mxb_ndarray_ud *ud = new_ndarray_ud(L);
  ud->a = mx_ndarray_retain(a);
  ud->borrowed = 1;
  note_lent(L);
}

/* A view shares its source's storage, already paced when that was made: it does not pace the
 * collector (600 row slices of MNIST, one epoch's batches, took 21 ms when each counted as 306 KB
 * made: a collector step per slice and a full collection every 100). */
void mxb_push_view(lua_State *L, mx_ndarray *view, int src) {
  mxb_ndarray_ud *s = luaL_testudata(L, src, MXB_NDARRAY_MT);
  mxb_ndarray_ud *ud = new_ndarray_ud(L);
  ud->a = view;
  if (!s || !s->borrowed) return;
  ud->borrowed = 1; /* a view of a lent array is lent as well */
  note_lent(L);
}

void mxb_invalidate_ndarray(lua_State *L, int idx) {
  mxb_ndarray_ud *ud = luaL_testudata(L, idx, MXB_NDARRAY_MT);
  if (ud == NULL || ud->a == NULL) return;
  mx_ndarray_release(ud->a);
  ud->a = NULL;
}

mx_ndarray *mxb_test_ndarray(lua_State *L, int idx) {
  mxb_ndarray_ud *ud = luaL_testudata(L, idx, MXB_NDARRAY_MT);
  if (ud) mxb_graph_keep_ndarray(ud->a);
  return ud ? ud->a : NULL;
}

mx_ndarray *mxb_check_ndarray(lua_State *L, int idx, const char *where) {
  mxb_ndarray_ud *ud = luaL_testudata(L, idx, MXB_NDARRAY_MT);
  if (ud == NULL) {
    mxb_typeerror(L, idx, where, "NDArray");
    return NULL; /* not reached */
  }
  if (ud->a == NULL) {
    if (ud->borrowed)
      mxb_argerror(L, idx, where,
                   "this NDArray was lent to a callback and is no longer valid after it returned; "
                   "copy() it to keep it");
    else
      mxb_argerror(L, idx, where, "this NDArray has been closed");
  }
  mxb_graph_keep_ndarray(ud->a);
  return ud->a;
}

/* ---- Context userdata ---- */

/* One userdata per device, kept in a registry table, so mx.cpu(0) is always
 * the same value (usable as a table key; == compares equal anyway). */
void mxb_push_context(lua_State *L, mx_context ctx) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "mx.Context.cache") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "mx.Context.cache");
  }
  lua_Integer key = (lua_Integer)ctx.dev_type * 1000000 + ctx.dev_id;
  if (lua_rawgeti(L, -1, key) == LUA_TUSERDATA) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  mx_context *c = lua_newuserdatauv(L, sizeof *c, 0);
  *c = ctx;
  luaL_setmetatable(L, MXB_CONTEXT_MT);
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, key);
  lua_remove(L, -2);
}

mx_context mxb_check_context(lua_State *L, int idx, const char *where) {
  mx_context *c = luaL_testudata(L, idx, MXB_CONTEXT_MT);
  if (c == NULL) {
    mxb_typeerror(L, idx, where, "Context (mx.cpu() or mx.gpu())");
    return mx_cpu(0); /* not reached */
  }
  return *c;
}

mx_context mxb_opt_context(lua_State *L, int idx, const char *where) {
  if (lua_isnoneornil(L, idx)) return mx_cpu(0);
  return mxb_check_context(L, idx, where);
}

/* ---- shapes ---- */

/* A key of the list at idx beyond its n entries (mx.nd.zeros{2, 2, ctx = mx.gpu()}) is an option
 * given in the wrong place: refused, not ignored. Raw (lua_next): no metamethod runs. */
void mxb_check_list_only(lua_State *L, int idx, int n, const char *where) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
        lua_tointeger(L, -1) <= n)
      continue;
    int t = lua_type(L, -1);
    if (t == LUA_TNUMBER) lua_pushvalue(L, -1); /* a copy to turn into text: the key stays intact */
    const char *key =
        t == LUA_TSTRING || t == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1);
    mxb_argerror(L, idx, where,
                 "shape has a key '%s' beyond its %d sizes (a shape is a list of sizes only)", key,
                 n);
  }
}

int mxb_check_shape(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], const char *where) {
  if (lua_type(L, idx) == LUA_TNUMBER) { /* a bare size: a 1-D shape */
    lua_Integer n = mxb_check_integer(L, idx, where);
    if (n <= 0)
      mxb_argerror(L, idx, where, "shape size must be a positive integer (got %lld)", (long long)n);
    shape[0] = n;
    return 1;
  }
  if (!lua_istable(L, idx)) mxb_typeerror(L, idx, where, "shape (a table of positive integers)");
  /* raw reads: no metamethod (user code) runs while a caller may hold an engine pointer */
  lua_Integer ndim = (lua_Integer)lua_rawlen(L, idx);
  if (ndim < 1 || ndim > MX_MAX_NDIM)
    mxb_argerror(L, idx, where, "shape must have 1 to %d dimensions (got %lld)", MX_MAX_NDIM,
                 (long long)ndim);
  int64_t total = 1;
  for (int i = 0; i < ndim; i++) {
    lua_rawgeti(L, idx, i + 1);
    int ok = 0;
    lua_Integer d = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &ok) : 0;
    if (!ok) {
      const char *got = lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1);
      mxb_argerror(L, idx, where, "shape dimension %d must be a positive integer (got %s)", i + 1,
                   got);
    }
    lua_pop(L, 1);
    if (d <= 0)
      mxb_argerror(L, idx, where, "shape dimension %d must be a positive integer (got %lld)", i + 1,
                   (long long)d);
    if (!mx_size_mul(total, d, &total))
      mxb_argerror(L, idx, where,
                   "shape is too large (dimension %d is %lld; more than 2^48 elements)", i + 1,
                   (long long)d);
    shape[i] = d;
  }
  mxb_check_list_only(L, idx, (int)ndim, where);
  return (int)ndim;
}

int64_t *mxb_check_int64_list(lua_State *L, int idx, const char *where, int64_t *n) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) mxb_typeerror(L, idx, where, "table of integers");
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
  if (len > MX_SIZE_LIMIT / 8)
    mxb_argerror(L, idx, where, "list of %lld integers is too large", (long long)len);
  int64_t *list = lua_newuserdatauv(L, (size_t)(len > 0 ? len : 1) * sizeof *list, 0);
  for (lua_Integer i = 0; i < len; i++) {
    lua_rawgeti(L, idx, i + 1);
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (!isint) mxb_argerror(L, idx, where, "position %lld is not an integer", (long long)i + 1);
    list[i] = (int64_t)v;
  }
  *n = (int64_t)len;
  return list;
}

void mxb_push_shape(lua_State *L, const int64_t *shape, int ndim) {
  lua_createtable(L, ndim, 0);
  for (int i = 0; i < ndim; i++) {
    lua_pushinteger(L, (lua_Integer)shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
}
