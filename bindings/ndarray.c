/* ndarray.c: the mx.NDArray metatable (built like liolib.c) and the C functions behind
 * mx.nd and the NDArray methods; printing is in ndarray_print.c, contexts in context.c,
 * random numbers in random.c. Positions taken from Lua (axes, rows, elements) are 1-based. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "checked.h"

/* "(3,4)" into buf. */
static void dims_str(const int64_t *s, int nd, char *buf, size_t len) {
  size_t used = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < nd && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, i ? ",%lld" : "%lld", (long long)s[i]);
  if (used < len) snprintf(buf + used, len - used, ")");
}

static void shape_str(const mx_ndarray *a, char *buf, size_t len) {
  dims_str(mx_ndarray_shape(a), mx_ndarray_ndim(a), buf, len);
}

/* An element as a Lua number: whole values (class ids, labels, counts) become
 * Lua integers, so they print as `7`, not `7.0`. */
static void push_value(lua_State *L, float v) {
  if (isfinite(v) && v == floorf(v) && fabsf(v) < 9007199254740992.0f)
    lua_pushinteger(L, (lua_Integer)v);
  else
    lua_pushnumber(L, v);
}

/* ---- lifetime ---- */

/* __gc and __close: releases the array once; never raises. */
static int nd_free(lua_State *L) {
  mxb_ndarray_ud *ud = luaL_testudata(L, 1, MXB_NDARRAY_MT);
  if (ud != NULL && ud->a != NULL) {
    mx_ndarray_release(ud->a);
    ud->a = NULL;
  }
  return 0;
}

/* ---- constructors ---- */

/* Walks a nested table's first elements to find its shape. */
static int nested_shape(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], const char *where) {
  int ndim = 0;
  lua_pushvalue(L, idx);
  while (lua_type(L, -1) == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n == 0) {
      lua_pop(L, 1);
      return mxb_argerror(L, idx, where,
                          "empty table at depth %d (an array needs at least one element per axis)",
                          ndim + 1);
    }
    if (ndim == MX_MAX_NDIM) {
      lua_pop(L, 1);
      return mxb_argerror(L, idx, where, "nested table is deeper than %d levels", MX_MAX_NDIM);
    }
    shape[ndim++] = n;
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  if (ndim == 0) return mxb_typeerror(L, idx, where, "table of numbers");
  return ndim;
}

/* Copies the nested table at the stack top into dst, checking it is regular.
 * `path` holds the 1-based position being read (for messages). */
static void nested_fill(lua_State *L, int argidx, const int64_t *shape, int ndim, int depth,
                        float **dst, int64_t *path, const char *where) {
  int t = lua_gettop(L);
  if (lua_type(L, t) != LUA_TTABLE || (int64_t)lua_rawlen(L, t) != shape[depth]) {
    char pos[128] = "";
    size_t used = 0;
    for (int i = 0; i < depth; i++)
      used +=
          (size_t)snprintf(pos + used, sizeof pos - used, i ? ",%lld" : "%lld", (long long)path[i]);
    if (lua_type(L, t) != LUA_TTABLE)
      mxb_argerror(L, argidx, where,
                   "ragged nested table: element [%s] is a %s, expected a table of %lld", pos,
                   luaL_typename(L, t), (long long)shape[depth]);
    mxb_argerror(L, argidx, where, "ragged nested table: row [%s] has %lld elements, expected %lld",
                 pos, (long long)lua_rawlen(L, t), (long long)shape[depth]);
  }
  for (int64_t i = 1; i <= shape[depth]; i++) {
    path[depth] = i;
    lua_rawgeti(L, t, i);
    if (depth == ndim - 1) {
      int ok = lua_type(L, -1) == LUA_TNUMBER;
      if (!ok) {
        char pos[128] = "";
        size_t used = 0;
        for (int k = 0; k <= depth; k++)
          used += (size_t)snprintf(pos + used, sizeof pos - used, k ? ",%lld" : "%lld",
                                   (long long)path[k]);
        mxb_argerror(L, argidx, where, "element [%s] is a %s, expected a number", pos,
                     luaL_typename(L, -1));
      }
      *(*dst)++ = (float)lua_tonumber(L, -1);
    } else {
      nested_fill(L, argidx, shape, ndim, depth + 1, dst, path, where);
    }
    lua_pop(L, 1);
  }
}

/* Reads the nested table at idx into a scratch buffer pushed on the stack. */
static float *nested_read(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], int *ndim,
                          const char *where) {
  *ndim = nested_shape(L, idx, shape, where);
  int64_t n;
  if (!mx_size_of_shape(shape, *ndim, &n)) {
    char dims[160];
    dims_str(shape, *ndim, dims, sizeof dims);
    mxb_argerror(L, idx, where, "nested table of shape %s is too large", dims);
  }
  float *buf = mxb_scratch(L, (size_t)n * sizeof(float));
  float *p = buf;
  int64_t path[MX_MAX_NDIM];
  lua_pushvalue(L, idx);
  nested_fill(L, idx, shape, *ndim, 0, &p, path, where);
  lua_pop(L, 1);
  return buf;
}

/* mx.nd.array(nested_table | NDArray | number[, ctx]) */
static int nd_array(lua_State *L) {
  const char *where = "mx.nd.array";
  mx_context ctx = mxb_opt_context(L, 2, where);
  mx_ndarray *out = NULL;
  mx_ndarray *src = mxb_test_ndarray(L, 1);
  if (src != NULL) {
    mxb_check(L, mx_ndarray_copyto(src, ctx, &out), where);
  } else if (lua_type(L, 1) == LUA_TNUMBER) {
    int64_t shape[1] = {1};
    float v = (float)lua_tonumber(L, 1);
    mxb_check(L, mx_ndarray_from_host(shape, 1, ctx, &v, &out), where);
  } else if (lua_type(L, 1) == LUA_TTABLE) {
    int64_t shape[MX_MAX_NDIM];
    int ndim;
    float *buf = nested_read(L, 1, shape, &ndim, where);
    mxb_check(L, mx_ndarray_from_host(shape, ndim, ctx, buf, &out), where);
  } else {
    if (luaL_testudata(L, 1, MXB_NDARRAY_MT)) mxb_check_ndarray(L, 1, where); /* closed: raises */
    return mxb_typeerror(L, 1, where, "nested table of numbers, NDArray or number");
  }
  mxb_push_ndarray(L, out);
  return 1;
}

static int nd_zeros(lua_State *L) {
  int64_t shape[MX_MAX_NDIM];
  int ndim = mxb_check_shape(L, 1, shape, "mx.nd.zeros");
  mx_context ctx = mxb_opt_context(L, 2, "mx.nd.zeros");
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_zeros(shape, ndim, ctx, &out), "mx.nd.zeros");
  mxb_push_ndarray(L, out);
  return 1;
}

static int nd_ones(lua_State *L) {
  int64_t shape[MX_MAX_NDIM];
  int ndim = mxb_check_shape(L, 1, shape, "mx.nd.ones");
  mx_context ctx = mxb_opt_context(L, 2, "mx.nd.ones");
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_full(shape, ndim, ctx, 1.0f, &out), "mx.nd.ones");
  mxb_push_ndarray(L, out);
  return 1;
}

static int nd_full(lua_State *L) {
  int64_t shape[MX_MAX_NDIM];
  int ndim = mxb_check_shape(L, 1, shape, "mx.nd.full");
  float v = (float)mxb_check_number(L, 2, "mx.nd.full");
  mx_context ctx = mxb_opt_context(L, 3, "mx.nd.full");
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_full(shape, ndim, ctx, v, &out), "mx.nd.full");
  mxb_push_ndarray(L, out);
  return 1;
}

static int nd_empty(lua_State *L) {
  int64_t shape[MX_MAX_NDIM];
  int ndim = mxb_check_shape(L, 1, shape, "mx.nd.empty");
  mx_context ctx = mxb_opt_context(L, 2, "mx.nd.empty");
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_create(shape, ndim, ctx, &out), "mx.nd.empty");
  mxb_push_ndarray(L, out);
  return 1;
}

/* mx.nd.arange(start, stop[, step[, ctx]]) or arange(stop): stop excluded. */
static int nd_arange(lua_State *L) {
  const char *where = "mx.nd.arange";
  double start = mxb_check_number(L, 1, where), stop;
  if (lua_isnoneornil(L, 2)) {
    stop = start;
    start = 0;
  } else {
    stop = mxb_check_number(L, 2, where);
  }
  double step = mxb_opt_number(L, 3, 1.0, where);
  mx_context ctx = mxb_opt_context(L, 4, where);
  if (step == 0 || !isfinite(step) || !isfinite(start) || !isfinite(stop))
    return mxb_argerror(L, 3, where, "step must be a finite non-zero number (got %g)", step);
  double n = ceil((stop - start) / step);
  if (n < 1)
    return mxb_errorf(L, "%s: empty range: start %g, stop %g, step %g", where, start, stop, step);
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_arange(start, stop, step, ctx, &out), where);
  mxb_push_ndarray(L, out);
  return 1;
}

/* ---- properties ---- */

static int nd_shape(lua_State *L) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, "NDArray:shape");
  mxb_push_shape(L, mx_ndarray_shape(a), mx_ndarray_ndim(a));
  return 1;
}
static int nd_size(lua_State *L) {
  lua_pushinteger(L, mx_ndarray_size(mxb_check_ndarray(L, 1, "NDArray:size")));
  return 1;
}
static int nd_ndim(lua_State *L) {
  lua_pushinteger(L, mx_ndarray_ndim(mxb_check_ndarray(L, 1, "NDArray:ndim")));
  return 1;
}
static int nd_context(lua_State *L) {
  mxb_push_context(L, mx_ndarray_context(mxb_check_ndarray(L, 1, "NDArray:context")));
  return 1;
}
static int nd_dtype(lua_State *L) {
  mxb_check_ndarray(L, 1, "NDArray:dtype");
  lua_pushliteral(L, "float32");
  return 1;
}

/* Builds a nested table from flat data. */
static void push_nested(lua_State *L, const float **p, const int64_t *shape, int ndim) {
  lua_createtable(L, (int)shape[0], 0);
  for (int64_t i = 1; i <= shape[0]; i++) {
    if (ndim == 1)
      push_value(L, *(*p)++);
    else
      push_nested(L, p, shape + 1, ndim - 1);
    lua_rawseti(L, -2, i);
  }
}

static int nd_totable(lua_State *L) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, "NDArray:totable");
  int64_t n = mx_ndarray_size(a);
  float *buf = mxb_scratch(L, (size_t)n * sizeof(float));
  mxb_check(L, mx_ndarray_to_host(a, buf, n), "NDArray:totable");
  const float *p = buf;
  push_nested(L, &p, mx_ndarray_shape(a), mx_ndarray_ndim(a));
  return 1;
}

static int nd_asscalar(lua_State *L) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, "NDArray:asscalar");
  if (mx_ndarray_size(a) != 1) {
    char s[96];
    shape_str(a, s, sizeof s);
    return mxb_errorf(L, "NDArray:asscalar: the array must have exactly one element (got shape %s)",
                      s);
  }
  float v;
  mxb_check(L, mx_ndarray_get_element(a, 0, &v), "NDArray:asscalar");
  push_value(L, v);
  return 1;
}

/* ---- copies and assignment ---- */

/* x:set(src): src an NDArray (broadcast to x), a number, or a nested table of x's size. */
static int nd_set(lua_State *L) {
  const char *where = "NDArray:set";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    mxb_check(L, mx_ndarray_fill(a, (float)lua_tonumber(L, 2)), where);
  } else if (lua_type(L, 2) == LUA_TTABLE) {
    int64_t shape[MX_MAX_NDIM];
    int ndim;
    float *buf = nested_read(L, 2, shape, &ndim, where);
    a = mxb_check_ndarray(L, 1, where); /* again: reading the table may have run a finalizer */
    int64_t n;
    if (!mx_size_of_shape(shape, ndim, &n) || n != mx_ndarray_size(a)) {
      char s[96], t[96];
      shape_str(a, s, sizeof s);
      dims_str(shape, ndim, t, sizeof t);
      return mxb_argerror(L, 2, where, "table of shape %s does not fit an array of shape %s", t, s);
    }
    mxb_check(L, mx_ndarray_set_host(a, buf, mx_ndarray_size(a)), where);
  } else {
    mx_ndarray *src = mxb_test_ndarray(L, 2);
    if (src == NULL) {
      if (luaL_testudata(L, 2, MXB_NDARRAY_MT)) mxb_check_ndarray(L, 2, where);
      return mxb_typeerror(L, 2, where, "NDArray, number or table");
    }
    mxb_check(L, mx_ndarray_assign(a, src), where);
  }
  lua_settop(L, 1);
  return 1;
}

static int same_shape(const mx_ndarray *a, const mx_ndarray *b) {
  int nd = mx_ndarray_ndim(a);
  if (nd != mx_ndarray_ndim(b)) return 0;
  return memcmp(mx_ndarray_shape(a), mx_ndarray_shape(b), (size_t)nd * sizeof(int64_t)) == 0;
}

/* x:copyto(ctx) -> a new array on ctx; x:copyto(y) -> y, overwritten (same shape). */
static int nd_copyto(lua_State *L) {
  const char *where = "NDArray:copyto";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  if (luaL_testudata(L, 2, MXB_NDARRAY_MT)) {
    mx_ndarray *dst = mxb_check_ndarray(L, 2, where);
    if (!same_shape(a, dst)) {
      char s[96], t[96];
      shape_str(a, s, sizeof s);
      shape_str(dst, t, sizeof t);
      return mxb_argerror(L, 2, where, "destination shape %s differs from source shape %s", t, s);
    }
    mxb_check(L, mx_ndarray_assign(dst, a), where);
    lua_settop(L, 2);
    return 1;
  }
  if (!luaL_testudata(L, 2, MXB_CONTEXT_MT))
    return mxb_typeerror(L, 2, where, "Context or NDArray");
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_copyto(a, mxb_check_context(L, 2, where), &out), where);
  mxb_push_ndarray(L, out);
  return 1;
}

/* x:as_in_context(ctx): x itself when already there, else a copy on ctx. */
static int nd_as_in_context(lua_State *L) {
  const char *where = "NDArray:as_in_context";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  mx_context ctx = mxb_check_context(L, 2, where);
  mx_context have = mx_ndarray_context(a);
  if (have.dev_type == ctx.dev_type && have.dev_id == ctx.dev_id) {
    lua_settop(L, 1);
    return 1;
  }
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_copyto(a, ctx, &out), where);
  mxb_push_ndarray(L, out);
  return 1;
}

static int nd_copy(lua_State *L) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, "NDArray:copy");
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_copy(a, &out), "NDArray:copy");
  mxb_push_ndarray(L, out);
  return 1;
}

/* ---- views and shape functions ---- */

/* x:slice(b[, e]): rows b..e (1-based, inclusive; e defaults to the last row), a view. */
static int nd_slice(lua_State *L) {
  const char *where = "NDArray:slice";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int64_t n = mx_ndarray_shape(a)[0];
  lua_Integer b = mxb_check_integer(L, 2, where);
  lua_Integer e = mxb_opt_integer(L, 3, n, where);
  if (b < 1 || b > n)
    return mxb_argerror(L, 2, where, "begin %lld out of range (expected 1..%lld)", (long long)b,
                        (long long)n);
  if (e < b || e > n)
    return mxb_argerror(L, 3, where, "end %lld out of range (expected %lld..%lld)", (long long)e,
                        (long long)b, (long long)n);
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_slice(a, b - 1, e, &out), where);
  mxb_push_view(L, out, 1);
  return 1;
}

/* slice_axis(x, axis, b, e): positions b..e (1-based, inclusive) on axis, a copy. */
static int nd_slice_axis(lua_State *L) {
  const char *where = "mx.nd.slice_axis";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int axis = mxb_check_axis(L, 2, mx_ndarray_ndim(a), where);
  int64_t n = mx_ndarray_shape(a)[axis];
  lua_Integer b = mxb_check_integer(L, 3, where);
  lua_Integer e = mxb_opt_integer(L, 4, n, where);
  if (b < 1 || b > n)
    return mxb_argerror(L, 3, where, "begin %lld out of range (expected 1..%lld)", (long long)b,
                        (long long)n);
  if (e < b || e > n)
    return mxb_argerror(L, 4, where, "end %lld out of range (expected %lld..%lld)", (long long)e,
                        (long long)b, (long long)n);
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_slice_axis(a, axis, b - 1, e, &out), where);
  mxb_push_ndarray(L, out);
  return 1;
}

/* take(x, idx): rows of x gathered by idx (an NDArray or a table of 0-based row ids); the
 * registry's take */
static int nd_take(lua_State *L) {
  const char *where = "mx.nd.take";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  mx_ndarray *idx;
  if (lua_type(L, 2) == LUA_TTABLE) {
    int64_t shape[MX_MAX_NDIM];
    int ndim;
    float *buf = nested_read(L, 2, shape, &ndim, where);
    mxb_check(L, mx_ndarray_from_host(shape, ndim, mx_ndarray_context(a), buf, &idx), where);
    mxb_push_ndarray(L, idx); /* owned by the GC from here */
  } else {
    idx = mxb_check_ndarray(L, 2, where);
  }
  mx_ndarray *in[2] = {a, idx};
  mxb_push_ndarray(L, mxb_eager(L, "take", NULL, NULL, 0, in, 2, where));
  return 1;
}

/* core.nd.permute_rows(x, {p1, ...}): x's rows reordered in place, row i = old row
 * p[i] (0-based index data, as take), without a second copy of x. CPU arrays. */
static int nd_permute_rows(lua_State *L) {
  const char *where = "mx.nd.permute_rows";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int64_t n;
  const int64_t *perm = mxb_check_int64_list(L, 2, where, &n);
  mxb_check(L, mx_ndarray_permute_rows(a, perm, n), where);
  lua_settop(L, 1);
  return 1;
}

/* reshape(x, {d1, d2, ...}) or x:reshape(d1, d2, ...): one -1 is inferred; 0 keeps x's dimension.
 */
static int nd_reshape(lua_State *L) {
  const char *where = "mx.nd.reshape";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int64_t shape[MX_MAX_NDIM];
  int ndim = 0;
  int top = lua_gettop(L);
  int is_table = lua_type(L, 2) == LUA_TTABLE;
  if (!is_table && lua_type(L, 2) != LUA_TNUMBER)
    return mxb_typeerror(L, 2, where, "shape (a table of integers)");
  int count = is_table ? (int)(lua_Integer)lua_rawlen(L, 2) : top - 1;
  if (count < 1 || count > MX_MAX_NDIM)
    return mxb_argerror(L, 2, where, "shape must have 1 to %d dimensions (got %d)", MX_MAX_NDIM,
                        count);
  if (is_table) mxb_check_list_only(L, 2, count, where);
  for (int i = 0; i < count; i++) {
    if (is_table)
      lua_rawgeti(L, 2, i + 1);
    else
      lua_pushvalue(L, i + 2);
    int ok = 0;
    lua_Integer d = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &ok) : 0;
    lua_pop(L, 1);
    if (!ok || d < -1)
      return mxb_argerror(L, 2, where, "shape dimension %d must be a positive integer, 0 or -1",
                          i + 1);
    if (d == 0) {
      if (i >= mx_ndarray_ndim(a))
        return mxb_argerror(L, 2, where,
                            "shape dimension %d is 0 (keep) but the array has only %d axes", i + 1,
                            mx_ndarray_ndim(a));
      d = mx_ndarray_shape(a)[i];
    }
    shape[ndim++] = d;
  }
  mx_ndarray *out;
  a = mxb_check_ndarray(L, 1, where); /* again: the shape's values were read since */
  mxb_check(L, mx_ndarray_reshape(a, shape, ndim, &out), where);
  mxb_push_view(L, out, 1);
  return 1;
}

/* transpose(x[, {axes}]): axes 1-based; none reverses them. */
static int nd_transpose(lua_State *L) {
  const char *where = "mx.nd.transpose";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int nd = mx_ndarray_ndim(a);
  int axes[MX_MAX_NDIM];
  int *pa = NULL;
  if (!lua_isnoneornil(L, 2)) {
    if (!lua_istable(L, 2)) return mxb_typeerror(L, 2, where, "table of axes");
    if ((lua_Integer)lua_rawlen(L, 2) != nd)
      return mxb_argerror(L, 2, where, "axes must list all %d axes (got %lld)", nd,
                          (long long)(lua_Integer)lua_rawlen(L, 2));
    int seen[MX_MAX_NDIM] = {0};
    for (int i = 0; i < nd; i++) {
      lua_rawgeti(L, 2, i + 1);
      int ok = 0;
      lua_Integer ax = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &ok) : 0;
      lua_pop(L, 1);
      if (!ok || ax < 1 || ax > nd || seen[ax - 1])
        return mxb_argerror(L, 2, where, "axes must be a permutation of 1..%d", nd);
      seen[ax - 1] = 1;
      axes[i] = (int)ax - 1;
    }
    pa = axes;
  }
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_transpose(a, pa, &out), where);
  mxb_push_ndarray(L, out);
  return 1;
}

/* expand_dims(x, axis): a new axis of size 1 at position axis (1..ndim+1). */
static int nd_expand_dims(lua_State *L) {
  const char *where = "mx.nd.expand_dims";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int axis = mxb_check_axis(L, 2, mx_ndarray_ndim(a) + 1, where);
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_expand_dims(a, axis, &out), where);
  mxb_push_view(L, out, 1);
  return 1;
}

static int nd_squeeze(lua_State *L) {
  const char *where = "mx.nd.squeeze";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int axis = lua_isnoneornil(L, 2) ? -1 : mxb_check_axis(L, 2, mx_ndarray_ndim(a), where);
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_squeeze(a, axis, &out), where);
  mxb_push_view(L, out, 1);
  return 1;
}

/* concat{a, b, ..., axis = 1} or concat(a, b, ...): along a 1-based axis (default the first). */
static int nd_concat(lua_State *L) {
  const char *where = "mx.nd.concat";
  int n, from_table = lua_type(L, 1) == LUA_TTABLE;
  lua_Integer axis_lua = 1;
  if (from_table) {
    n = (int)(lua_Integer)lua_rawlen(L, 1);
    mxb_rawgetfield(L, 1, "axis");
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      mxb_rawgetfield(L, 1, "dim");
    }
    if (!lua_isnil(L, -1)) {
      int ok = 0;
      lua_Integer ax = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &ok) : 0;
      if (!ok)
        return mxb_argerror(L, 1, where, "axis must be an integer (got %s)", luaL_typename(L, -1));
      axis_lua = ax;
    }
    lua_pop(L, 1);
  } else {
    n = lua_gettop(L);
  }
  if (n < 1) return mxb_argerror(L, 1, where, "at least one NDArray expected");
  mx_ndarray **arrays = mxb_scratch(L, (size_t)n * sizeof *arrays);
  for (int i = 0; i < n; i++) {
    if (from_table) {
      lua_rawgeti(L, 1, i + 1);
      arrays[i] = mxb_test_ndarray(L, -1);
      if (arrays[i] == NULL) {
        const char *t =
            luaL_testudata(L, -1, MXB_NDARRAY_MT) ? "a closed NDArray" : luaL_typename(L, -1);
        return mxb_argerror(L, 1, where, "element %d is %s, expected an NDArray", i + 1, t);
      }
      lua_pop(L, 1); /* still referenced by the table */
    } else {
      arrays[i] = mxb_check_ndarray(L, i + 1, where);
    }
  }
  int nd = mx_ndarray_ndim(arrays[0]);
  if (axis_lua < -nd || axis_lua > nd || axis_lua == 0)
    return mxb_argerror(L, 1, where,
                        "axis %lld out of range for arrays with %d axes (expected 1..%d)",
                        (long long)axis_lua, nd, nd);
  int axis = (int)(axis_lua > 0 ? axis_lua - 1 : nd + axis_lua);
  mx_ndarray *out;
  mxb_check(L, mx_ndarray_concat(arrays, n, axis, &out), where);
  mxb_push_ndarray(L, out);
  return 1;
}

/* ---- element access: x[i] and x[i] = v ---- */

static lua_Integer check_index(lua_State *L, mx_ndarray *a, const char *where) {
  int ok = 0;
  lua_Integer i = lua_tointegerx(L, 2, &ok);
  int64_t n = mx_ndarray_shape(a)[0];
  if (!ok) return mxb_errorf(L, "%s: index must be an integer (got %s)", where, lua_tostring(L, 2));
  if (i < 1 || i > n) {
    char s[96];
    shape_str(a, s, sizeof s);
    return mxb_errorf(L, "%s: index %lld out of range (expected 1..%lld for shape %s)", where,
                      (long long)i, (long long)n, s);
  }
  return i;
}

/* Row i (1-based) of an array with ndim > 1, as a view with the first axis dropped. */
static mx_ndarray *row_view(lua_State *L, mx_ndarray *a, lua_Integer i, const char *where) {
  mx_ndarray *row, *out;
  mxb_check(L, mx_ndarray_slice(a, i - 1, i, &row), where);
  mx_status st = mx_ndarray_reshape(row, mx_ndarray_shape(a) + 1, mx_ndarray_ndim(a) - 1, &out);
  mx_ndarray_release(row);
  mxb_check(L, st, where);
  return out;
}

/* x[{i, j, ...}]: the element at one 1-based index per axis, as a number. */
static int element_at(lua_State *L, mx_ndarray *a, const char *where) {
  int ndim = mx_ndarray_ndim(a);
  const int64_t *shape = mx_ndarray_shape(a);
  char s[96];
  shape_str(a, s, sizeof s);
  if ((int64_t)lua_rawlen(L, 2) != ndim)
    return mxb_errorf(L,
                      "%s: %d indices for an array of shape %s (an element needs %d, one per axis)",
                      where, (int)lua_rawlen(L, 2), s, ndim);
  int64_t flat = 0;
  for (int k = 0; k < ndim; k++) {
    int ok = 0;
    lua_rawgeti(L, 2, k + 1);
    lua_Integer i = lua_tointegerx(L, -1, &ok);
    if (!ok)
      return mxb_errorf(L, "%s: index %d must be an integer (got %s)", where, k + 1,
                        luaL_typename(L, -1));
    lua_pop(L, 1);
    if (i < 1 || i > shape[k])
      return mxb_errorf(L, "%s: index %d is %lld, out of range (expected 1..%lld for shape %s)",
                        where, k + 1, (long long)i, (long long)shape[k], s);
    flat = flat * shape[k] + (i - 1);
  }
  float v;
  mxb_check(L, mx_ndarray_get_element(a, flat, &v), where);
  push_value(L, v);
  return 1;
}

static int nd_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TTABLE)
    return element_at(L, mxb_check_ndarray(L, 1, "NDArray[{...}]"), "NDArray[{...}]");
  if (lua_type(L, 2) == LUA_TNUMBER) {
    const char *where = "NDArray[]";
    mx_ndarray *a = mxb_check_ndarray(L, 1, where);
    lua_Integer i = check_index(L, a, where);
    if (mx_ndarray_ndim(a) == 1) {
      float v;
      mxb_check(L, mx_ndarray_get_element(a, i - 1, &v), where);
      push_value(L, v);
    } else {
      mxb_push_view(L, row_view(L, a, i, where), 1);
    }
    return 1;
  }
  if (lua_type(L, 2) != LUA_TSTRING)
    return mxb_errorf(
        L, "NDArray[]: an index is an integer, a table of integers or a method name (got %s)",
        luaL_typename(L, 2));
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

static int nd_newindex(lua_State *L) {
  const char *where = "NDArray[]=";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  if (lua_type(L, 2) != LUA_TNUMBER)
    return mxb_errorf(L, "%s: only integer indices can be assigned (got %s key)", where,
                      luaL_typename(L, 2));
  lua_Integer i = check_index(L, a, where);
  if (mx_ndarray_ndim(a) == 1) {
    if (lua_type(L, 3) != LUA_TNUMBER)
      return mxb_errorf(L, "%s: value must be a number (got %s)", where, luaL_typename(L, 3));
    mxb_check(L, mx_ndarray_set_element(a, i - 1, (float)lua_tonumber(L, 3)), where);
    return 0;
  }
  if (lua_type(L, 3) != LUA_TNUMBER && mxb_test_ndarray(L, 3) == NULL)
    return mxb_errorf(L, "%s: value must be a number or an NDArray (got %s)", where,
                      luaL_typename(L, 3));
  mx_ndarray *row = row_view(L, a, i, where);
  mxb_push_ndarray(L, row); /* the GC frees it if the assignment fails */
  if (lua_type(L, 3) == LUA_TNUMBER)
    mxb_check(L, mx_ndarray_fill(row, (float)lua_tonumber(L, 3)), where);
  else
    mxb_check(L, mx_ndarray_assign(row, mxb_test_ndarray(L, 3)), where);
  return 0;
}

static int nd_len(lua_State *L) {
  lua_pushinteger(L, mx_ndarray_shape(mxb_check_ndarray(L, 1, "#NDArray"))[0]);
  return 1;
}

/* ---- arithmetic ---- */

/* a op b where each side is an NDArray or a number (not both numbers), every form through a
 * registry operator run eagerly: two arrays `name` (broadcast_add, ...), array op number
 * `scalar_op` (_plus_scalar, ...), number op array `rscalar_op` (_rminus_scalar, ...). */
static int binary(lua_State *L, const char *name, const char *scalar_op, const char *rscalar_op,
                  const char *where) {
  mx_ndarray *a = mxb_test_ndarray(L, 1), *b = mxb_test_ndarray(L, 2), *out;
  if (a == NULL && luaL_testudata(L, 1, MXB_NDARRAY_MT)) mxb_check_ndarray(L, 1, where);
  if (b == NULL && luaL_testudata(L, 2, MXB_NDARRAY_MT)) mxb_check_ndarray(L, 2, where);
  if (a != NULL && b != NULL) {
    mx_ndarray *in[2] = {a, b};
    out = mxb_eager(L, name, NULL, NULL, 0, in, 2, where);
  } else if (a != NULL) {
    float s = (float)mxb_check_number(L, 2, where);
    out = mxb_eager_into(L, scalar_op, &a, 1, NULL, &s, where);
  } else if (b != NULL) {
    if (lua_type(L, 1) != LUA_TNUMBER) return mxb_typeerror(L, 1, where, "NDArray or number");
    float s = (float)lua_tonumber(L, 1);
    out = mxb_eager_into(L, rscalar_op, &b, 1, NULL, &s, where);
  } else {
    return mxb_typeerror(L, 1, where, "NDArray");
  }
  mxb_push_ndarray(L, out);
  return 1;
}

static int nd_add(lua_State *L) {
  return binary(L, "broadcast_add", "_plus_scalar", "_plus_scalar", "mx.nd.add");
}
static int nd_subtract(lua_State *L) {
  return binary(L, "broadcast_sub", "_minus_scalar", "_rminus_scalar", "mx.nd.subtract");
}
static int nd_multiply(lua_State *L) {
  return binary(L, "broadcast_mul", "_mul_scalar", "_mul_scalar", "mx.nd.multiply");
}
static int nd_divide(lua_State *L) {
  return binary(L, "broadcast_div", "_div_scalar", "_rdiv_scalar", "mx.nd.divide");
}
static int nd_maximum(lua_State *L) {
  return binary(L, "broadcast_maximum", "_maximum_scalar", "_maximum_scalar", "mx.nd.maximum");
}
static int nd_minimum(lua_State *L) {
  return binary(L, "broadcast_minimum", "_minimum_scalar", "_minimum_scalar", "mx.nd.minimum");
}
static int nd_power(lua_State *L) {
  return binary(L, "broadcast_power", "_power_scalar", "_rpower_scalar", "mx.nd.power");
}
static int nd_equal(lua_State *L) {
  return binary(L, "broadcast_equal", "_equal_scalar", "_equal_scalar", "mx.nd.equal");
}
static int nd_not_equal(lua_State *L) {
  return binary(L, "broadcast_not_equal", "_not_equal_scalar", "_not_equal_scalar", "mx.nd.not_equal");
}
static int nd_greater(lua_State *L) {
  return binary(L, "broadcast_greater", "_greater_scalar", "_lesser_scalar", "mx.nd.greater");
}
static int nd_greater_equal(lua_State *L) {
  return binary(L, "broadcast_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar",
                "mx.nd.greater_equal");
}
static int nd_lesser(lua_State *L) {
  return binary(L, "broadcast_lesser", "_lesser_scalar", "_greater_scalar", "mx.nd.lesser");
}
static int nd_lesser_equal(lua_State *L) {
  return binary(L, "broadcast_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar",
                "mx.nd.lesser_equal");
}

/* a op= b (b an NDArray broadcast to a's shape, or a number): the operator run into a. */
static int inplace(lua_State *L, const char *name, const char *scalar_op, const char *where) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    float s = (float)lua_tonumber(L, 2);
    mxb_eager_into(L, scalar_op, &a, 1, a, &s, where);
  } else if (luaL_testudata(L, 2, MXB_NDARRAY_MT)) {
    mx_ndarray *in[2] = {a, mxb_check_ndarray(L, 2, where)};
    mxb_eager_into(L, name, in, 2, a, NULL, where);
  } else {
    return mxb_typeerror(L, 2, where, "NDArray or number");
  }
  lua_settop(L, 1);
  return 1;
}
static int nd_add_(lua_State *L) {
  return inplace(L, "broadcast_add", "_plus_scalar", "NDArray:add_");
}
static int nd_sub_(lua_State *L) {
  return inplace(L, "broadcast_sub", "_minus_scalar", "NDArray:sub_");
}
static int nd_mul_(lua_State *L) {
  return inplace(L, "broadcast_mul", "_mul_scalar", "NDArray:mul_");
}
static int nd_div_(lua_State *L) {
  return inplace(L, "broadcast_div", "_div_scalar", "NDArray:div_");
}

/* f(x) for the registry operator `name` (exp, relu, ...). */
static int unary(lua_State *L, const char *name, const char *where) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  mxb_push_ndarray(L, mxb_eager(L, name, NULL, NULL, 0, &a, 1, where));
  return 1;
}
#define UNARY(fn, name)                                                                            \
  static int fn(lua_State *L) {                                                                    \
    return unary(L, name, "mx.nd." name);                                                          \
  }
UNARY(nd_exp, "exp")
UNARY(nd_log, "log")
UNARY(nd_sqrt, "sqrt")
UNARY(nd_abs, "abs")
UNARY(nd_negative, "negative")
UNARY(nd_square, "square")
UNARY(nd_relu, "relu")
UNARY(nd_sigmoid, "sigmoid")
UNARY(nd_tanh, "tanh")
UNARY(nd_sign, "sign")
UNARY(nd_softrelu, "softrelu")
UNARY(nd_reciprocal, "reciprocal")

static int nd_unm(lua_State *L) {
  return unary(L, "negative", "NDArray.__unm");
}

static int nd_clip(lua_State *L) {
  const char *where = "mx.nd.clip";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where), *out;
  float lo = (float)mxb_check_number(L, 2, where), hi = (float)mxb_check_number(L, 3, where);
  if (!(lo <= hi))
    return mxb_argerror(L, 3, where, "hi must be >= lo (got lo %g, hi %g)", (double)lo, (double)hi);
  /* the registry's clip, its bounds set for this call */
  static const char *const bounds[] = {"a_min", "a_max"};
  out = mxb_eager_call(L, "clip", NULL, NULL, 0, bounds, (const float[]){lo, hi}, 2, &a, 1, NULL, where);
  mxb_push_ndarray(L, out);
  return 1;
}

/* ---- reductions: f(x[, axis[, keepdims]]) ---- */

/* f(x[, axis[, keepdims]]): the registry reduction `name` over one 1-based axis, or all. */
static int reduce(lua_State *L, const char *name, const char *where) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int axis = lua_isnoneornil(L, 2) ? -1 : mxb_check_axis(L, 2, mx_ndarray_ndim(a), where);
  int keep = mxb_opt_boolean(L, 3, 0, where);
  char axis_text[24] = "()";
  if (axis >= 0) snprintf(axis_text, sizeof axis_text, "(%d,)", axis);
  const char *keys[2] = {"axis", "keepdims"}, *values[2] = {axis_text, keep ? "True" : "False"};
  mxb_push_ndarray(L, mxb_eager(L, name, keys, values, 2, &a, 1, where));
  return 1;
}
#define REDUCE(fn, name)                                                                           \
  static int fn(lua_State *L) {                                                                    \
    return reduce(L, name, "mx.nd." name);                                                         \
  }
REDUCE(nd_sum, "sum")
REDUCE(nd_mean, "mean")
REDUCE(nd_max, "max")
REDUCE(nd_min, "min")
REDUCE(nd_argmax, "argmax")
REDUCE(nd_argmin, "argmin")
REDUCE(nd_norm, "norm")

/* ---- products and encodings ---- */

/* dot(a, b[, {transpose_a = bool, transpose_b = bool}]): the registry's dot */
static int nd_dot(lua_State *L) {
  const char *where = "mx.nd.dot";
  mx_ndarray *in[2] = {mxb_check_ndarray(L, 1, where), mxb_check_ndarray(L, 2, where)};
  int ta = 0, tb = 0;
  if (!lua_isnoneornil(L, 3)) {
    if (!lua_istable(L, 3))
      return mxb_typeerror(L, 3, where, "options table {transpose_a=, transpose_b=}");
    mxb_rawgetfield(L, 3, "transpose_a");
    ta = lua_toboolean(L, -1);
    mxb_rawgetfield(L, 3, "transpose_b");
    tb = lua_toboolean(L, -1);
    lua_pop(L, 2);
  }
  const char *keys[2] = {"transpose_a", "transpose_b"}, *values[2] = {ta ? "True" : "False", tb ? "True" : "False"};
  mxb_push_ndarray(L, mxb_eager(L, "dot", keys, values, 2, in, 2, where));
  return 1;
}

/* one_hot(labels, depth[, on_value[, off_value]]): labels hold 0-based class ids; the registry's
 * one_hot, one entry per depth, its values set per call (MXB_PER_CALL, as nd_clip) */
static int nd_one_hot(lua_State *L) {
  const char *where = "mx.nd.one_hot";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where), *out;
  lua_Integer depth = mxb_check_integer(L, 2, where);
  if (depth < 1)
    return mxb_argerror(L, 2, where, "depth must be a positive integer (got %lld)",
                        (long long)depth);
  float on = (float)mxb_opt_number(L, 3, 1, where), off = (float)mxb_opt_number(L, 4, 0, where);
  char depth_text[24];
  snprintf(depth_text, sizeof depth_text, "%lld", (long long)depth);
  static const char *const key[] = {"depth"}, *const floats[] = {"on_value", "off_value"};
  const char *depth_value[] = {depth_text};
  out = mxb_eager_call(L, "one_hot", key, depth_value, 1, floats, (const float[]){on, off}, 2, &a, 1, NULL, where);
  mxb_push_ndarray(L, out);
  return 1;
}

/* ---- synchronisation ---- */

static int nd_waitall(lua_State *L) {
  mxb_check(L, mx_context_sync(mx_cpu(0)), "mx.nd.waitall");
  for (int i = 0; i < mx_gpu_count(); i++)
    mxb_check(L, mx_context_sync(mx_gpu(i)), "mx.nd.waitall");
  return 0;
}

static int nd_wait_to_read(lua_State *L) {
  mx_ndarray *a = mxb_check_ndarray(L, 1, "NDArray:wait_to_read");
  mxb_check(L, mx_context_sync(mx_ndarray_context(a)), "NDArray:wait_to_read");
  lua_settop(L, 1);
  return 1;
}

static int nd_is_ndarray(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, MXB_NDARRAY_MT) != NULL);
  return 1;
}

/* ---- registration ---- */

/* Functions shared by mx.nd and the NDArray methods (x:exp() == mx.nd.exp(x)). */
static const luaL_Reg shared_fns[] = {{"add", nd_add},
                                      {"subtract", nd_subtract},
                                      {"multiply", nd_multiply},
                                      {"divide", nd_divide},
                                      {"maximum", nd_maximum},
                                      {"minimum", nd_minimum},
                                      {"power", nd_power},
                                      {"equal", nd_equal},
                                      {"not_equal", nd_not_equal},
                                      {"greater", nd_greater},
                                      {"greater_equal", nd_greater_equal},
                                      {"lesser", nd_lesser},
                                      {"lesser_equal", nd_lesser_equal},
                                      {"exp", nd_exp},
                                      {"log", nd_log},
                                      {"sqrt", nd_sqrt},
                                      {"abs", nd_abs},
                                      {"negative", nd_negative},
                                      {"square", nd_square},
                                      {"relu", nd_relu},
                                      {"sigmoid", nd_sigmoid},
                                      {"tanh", nd_tanh},
                                      {"sign", nd_sign},
                                      {"softrelu", nd_softrelu},
                                      {"reciprocal", nd_reciprocal},
                                      {"clip", nd_clip},
                                      {"sum", nd_sum},
                                      {"mean", nd_mean},
                                      {"max", nd_max},
                                      {"min", nd_min},
                                      {"argmax", nd_argmax},
                                      {"argmin", nd_argmin},
                                      {"norm", nd_norm},
                                      {"dot", nd_dot},
                                      {"one_hot", nd_one_hot},
                                      {"reshape", nd_reshape},
                                      {"transpose", nd_transpose},
                                      {"expand_dims", nd_expand_dims},
                                      {"squeeze", nd_squeeze},
                                      {"slice_axis", nd_slice_axis},
                                      {"take", nd_take},
                                      {NULL, NULL}};

static const luaL_Reg nd_only_fns[] = {{"array", nd_array},
                                       {"zeros", nd_zeros},
                                       {"ones", nd_ones},
                                       {"full", nd_full},
                                       {"empty", nd_empty},
                                       {"arange", nd_arange},
                                       {"permute_rows", nd_permute_rows},
                                       {"concat", nd_concat},
                                       {"waitall", nd_waitall},
                                       {"is_ndarray", nd_is_ndarray},
                                       {NULL, NULL}};

static const luaL_Reg method_only_fns[] = {{"shape", nd_shape},
                                           {"size", nd_size},
                                           {"ndim", nd_ndim},
                                           {"context", nd_context},
                                           {"dtype", nd_dtype},
                                           {"totable", nd_totable},
                                           {"asscalar", nd_asscalar},
                                           {"set", nd_set},
                                           {"copyto", nd_copyto},
                                           {"as_in_context", nd_as_in_context},
                                           {"copy", nd_copy},
                                           {"slice", nd_slice},
                                           {"add_", nd_add_},
                                           {"sub_", nd_sub_},
                                           {"mul_", nd_mul_},
                                           {"div_", nd_div_},
                                           {"wait_to_read", nd_wait_to_read},
                                           {"close", nd_free},
                                           {NULL, NULL}};

void mxb_open_ndarray(lua_State *L) {
  int module = lua_gettop(L);

  /* mx.core.NDArray_methods, also kept in the registry */
  lua_newtable(L);
  luaL_setfuncs(L, shared_fns, 0);
  luaL_setfuncs(L, method_only_fns, 0);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, MXB_NDARRAY_METHODS);
  lua_pushvalue(L, -1);
  lua_setfield(L, module, "NDArray_methods");
  int methods = lua_gettop(L);

  luaL_newmetatable(L, MXB_NDARRAY_MT);
  const luaL_Reg meta[] = {
      {"__gc", nd_free},    {"__close", nd_free},        {"__tostring", mxb_ndarray_tostring},
      {"__add", nd_add},    {"__sub", nd_subtract},      {"__mul", nd_multiply},
      {"__div", nd_divide}, {"__pow", nd_power},         {"__unm", nd_unm},
      {"__len", nd_len},    {"__newindex", nd_newindex}, {NULL, NULL}};
  luaL_setfuncs(L, meta, 0);
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, nd_index, 1);
  lua_setfield(L, -2, "__index");
  lua_setfield(L, module, "NDArray_metatable");
  lua_pop(L, 1); /* methods */

  /* mx.core.nd: the functions of mx.nd */
  lua_newtable(L);
  luaL_setfuncs(L, shared_fns, 0);
  luaL_setfuncs(L, nd_only_fns, 0);
  lua_setfield(L, module, "nd");
}
