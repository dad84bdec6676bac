/* eager.c: mx.core.nd_invoke, the C side of the generated mx.nd.<Op> (lua/mx/ndarray.lua):
 * one registry operator run on NDArrays through the core's cached one-node plans. */
#include <string.h>

#include "bindings.h"

#define MAX_KW 64 /* parameters of one call */

/* nd_invoke(op_name, params, positional, named, where[, is_train]):
 * params maps names to parameter text; positional lists NDArrays in input order; named maps
 * input names to NDArrays. Returns the output, or a list of them when there are several. */
static int nd_invoke(lua_State *L) {
  const char *op_name = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  const char *where = luaL_checkstring(L, 5);
  int is_train = lua_toboolean(L, 6);
  const char *keys[MAX_KW], *values[MAX_KW];
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) { /* the strings stay referenced by the table */
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      return mxb_errorf(L, "%s: parameters must be strings (internal)", where);
    if (n == MAX_KW) return mxb_errorf(L, "%s: more than %d parameters", where, MAX_KW);
    keys[n] = lua_tostring(L, -2);
    values[n++] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  mx_eager *e;
  mxb_check(L, mx_eager_get(op_name, keys, values, n, &e), where);
  const char *const *names;
  int nin = mx_eager_inputs(e, &names);
  mx_ndarray *in[64] = {NULL};
  if (nin > 64) return mxb_errorf(L, "%s: more than 64 inputs", where);
  int npos = (int)lua_rawlen(L, 3);
  if (npos > nin)
    return mxb_errorf(L, "%s: %d positional inputs given, the operator takes %d", where, npos, nin);
  for (int i = 0; i < npos; i++) {
    lua_rawgeti(L, 3, i + 1);
    in[i] = mxb_test_ndarray(L, -1);
    if (!in[i]) return mxb_errorf(L, "%s: positional input %d is not an NDArray", where, i + 1);
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, 4)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    int slot = -1;
    for (int i = 0; i < nin && slot < 0; i++)
      if (strcmp(names[i], key) == 0) slot = i;
    if (slot < 0) {
      char valid[512] = "";
      size_t len = 0;
      for (int i = 0; i < nin && len < sizeof valid; i++)
        len += (size_t)snprintf(valid + len, sizeof valid - len, "%s%s", i ? ", " : "", names[i]);
      return mxb_errorf(L, "%s: '%s' is not an input of the operator (inputs: %s)", where, key,
                        nin ? valid : "none");
    }
    if (in[slot]) return mxb_errorf(L, "%s: input '%s' is given twice", where, key);
    in[slot] = mxb_test_ndarray(L, -1);
    if (!in[slot]) return mxb_errorf(L, "%s: input '%s' is not a live NDArray", where, key);
    lua_pop(L, 1);
  }
  for (int i = 0; i < nin; i++)
    if (!in[i]) return mxb_errorf(L, "%s: input '%s' is missing", where, names[i]);
  int nout = mx_eager_num_outputs(e);
  mx_ndarray *out[64];
  mxb_check(L, mx_eager_run(e, in, nin, is_train, out), where);
  if (nout == 1) {
    mxb_push_ndarray(L, out[0]);
    return 1;
  }
  lua_createtable(L, nout, 0);
  for (int i = 0; i < nout; i++) {
    mxb_push_ndarray(L, out[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

mx_ndarray *mxb_eager_call(lua_State *L, const char *op, const char *const *keys, const char *const *values, int n,
                           const char *const *floats, const float *float_values, int nf, mx_ndarray *const *in,
                           int nin, mx_ndarray *into, const char *where) {
  /* the entry's key: the fixed parameters, then each per-call float at "0" and MXB_PER_CALL */
  enum { MAX_KEYS = 32 }; /* more than any operator's parameters */
  const char *k[MAX_KEYS], *v[MAX_KEYS];
  if (n + nf + 1 > MAX_KEYS)
    return (mxb_errorf(L, "%s: %s: too many parameters", where, op), NULL);
  int m = 0;
  for (int i = 0; i < n; i++) k[m] = keys[i], v[m++] = values[i];
  for (int i = 0; i < nf; i++) k[m] = floats[i], v[m++] = "0";
  if (nf > 0) k[m] = MXB_PER_CALL, v[m++] = "1";
  mx_eager *e;
  mx_ndarray *out = NULL;
  mxb_check(L, mx_eager_get(op, k, v, m, &e), where);
  if (mx_eager_num_outputs(e) != 1) return (mxb_errorf(L, "%s: %s has several outputs", where, op), NULL);
  for (int i = 0; i < nf; i++) mxb_check(L, mx_eager_set_float(e, floats[i], float_values[i]), where);
  if (into)
    mxb_check(L, mx_eager_run_into(e, in, nin, into), where);
  else
    mxb_check(L, mx_eager_run(e, in, nin, 0, &out), where);
  return out;
}

mx_ndarray *mxb_eager(lua_State *L, const char *op, const char *const *keys, const char *const *values, int n,
                      mx_ndarray *const *in, int nin, const char *where) {
  return mxb_eager_call(L, op, keys, values, n, NULL, NULL, 0, in, nin, NULL, where);
}

mx_ndarray *mxb_eager_into(lua_State *L, const char *op, mx_ndarray *const *in, int nin, mx_ndarray *into,
                           const float *scalar, const char *where) {
  static const char *const name[] = {"scalar"};
  return mxb_eager_call(L, op, NULL, NULL, 0, name, scalar, scalar ? 1 : 0, in, nin, into, where);
}

/* Frees the cached plans (their workspaces and operator states). */
static int nd_invoke_clear(lua_State *L) {
  (void)L;
  mx_eager_clear();
  return 0;
}

void mxb_open_eager(lua_State *L) {
  lua_pushcfunction(L, nd_invoke);
  lua_setfield(L, -2, "nd_invoke");
  lua_pushcfunction(L, nd_invoke_clear);
  lua_setfield(L, -2, "nd_invoke_clear");
}
