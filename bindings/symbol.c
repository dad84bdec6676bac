/* symbol.c: the mx.Symbol userdata (a reference on a core symbol) and the C side
 * of mx.symbol: variables, operator creation and composition, lists, shape
 * inference, JSON, the operator registry, and the bind entry points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"

#define MXB_SYMBOL_MT "mx.Symbol"

typedef struct {
  mx_symbol *s;
} sym_ud;

static void push_symbol(lua_State *L, mx_symbol *s) {
  sym_ud *ud = lua_newuserdatauv(L, sizeof *ud, 0);
  ud->s = s;
  luaL_setmetatable(L, MXB_SYMBOL_MT);
}

static mx_symbol *check_symbol(lua_State *L, int idx, const char *where) {
  sym_ud *ud = luaL_testudata(L, idx, MXB_SYMBOL_MT);
  if (!ud) {
    mxb_typeerror(L, idx, where, "Symbol");
    return NULL;
  }
  if (!ud->s) luaL_error(L, "%s: the Symbol was closed", where);
  return ud->s;
}

mx_symbol *mxb_check_symbol(lua_State *L, int idx, const char *where);
mx_symbol *mxb_check_symbol(lua_State *L, int idx, const char *where) {
  return check_symbol(L, idx, where);
}

static int sym_free(lua_State *L) {
  sym_ud *ud = luaL_testudata(L, 1, MXB_SYMBOL_MT);
  if (ud && ud->s) {
    mx_symbol_release(ud->s);
    ud->s = NULL;
  }
  return 0;
}

static int sym_tostring(lua_State *L) {
  mx_symbol *s = check_symbol(L, 1, "Symbol:__tostring");
  char *str = mx_symbol_str(s);
  if (!str) return luaL_error(L, "Symbol:__tostring: out of memory");
  lua_pushstring(L, str);
  free(str);
  return 1;
}

/* core.symbol.variable(name) */
static int l_variable(lua_State *L) {
  const char *name = mxb_check_cstring(L, 1, "mx.symbol.Variable");
  mx_symbol *s;
  mxb_check(L, mx_symbol_variable(name, &s), "mx.symbol.Variable");
  push_symbol(L, s);
  return 1;
}

/* Reads a table of string keys and string values (mx/symbol.lua turns numbers,
 * booleans and shapes into MXNet's text first); strings stay owned by the table. */
static int string_pairs(lua_State *L, int idx, const char **keys, const char **vals, int cap,
                        const char *where) {
  int n = 0;
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: parameters must be given as strings (got %s = %s)", where,
                 luaL_typename(L, -2), luaL_typename(L, -1));
    if (n == cap) luaL_error(L, "%s: too many parameters (max %d)", where, cap);
    keys[n] = lua_tostring(L, -2);
    vals[n++] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return n;
}

/* core.symbol.create(op, name|nil, params{key = "text"}, where) -> an uncomposed Symbol */
static int l_create(lua_State *L) {
  const char *op = luaL_checkstring(L, 1);
  const char *name = luaL_optstring(L, 2, NULL);
  const char *where = luaL_optstring(L, 4, op);
  const char *keys[128], *vals[128];
  int n = string_pairs(L, 3, keys, vals, 128, where);
  mx_symbol *s;
  mxb_check(L, mx_symbol_create_op(op, name, keys, vals, n, &s), where);
  push_symbol(L, s);
  return 1;
}

/* sym:_compose(positional {Symbol...}, keyword {name = Symbol}, where) -> Symbol */
static int l_compose(lua_State *L) {
  const char *where = luaL_optstring(L, 4, "Symbol:__call");
  mx_symbol *s = check_symbol(L, 1, where);
  mx_symbol *args[128];
  const char *keys[128];
  int n = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer m = (lua_Integer)lua_rawlen(L, 2);
    for (lua_Integer i = 1; i <= m; i++) {
      if (n == 128) luaL_error(L, "%s: too many inputs", where);
      lua_rawgeti(L, 2, i);
      sym_ud *ud = luaL_testudata(L, -1, MXB_SYMBOL_MT);
      if (!ud || !ud->s)
        return luaL_error(L, "%s: input %d is not a Symbol (got %s)", where, (int)i,
                          luaL_typename(L, -1));
      args[n] = ud->s;
      keys[n++] = NULL;
      lua_pop(L, 1);
    }
  }
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      if (n == 128) luaL_error(L, "%s: too many inputs", where);
      sym_ud *ud = luaL_testudata(L, -1, MXB_SYMBOL_MT);
      if (lua_type(L, -2) != LUA_TSTRING || !ud || !ud->s)
        return luaL_error(L, "%s: input %s is not a Symbol (got %s)", where, lua_tostring(L, -2),
                          luaL_typename(L, -1));
      args[n] = ud->s;
      keys[n++] = lua_tostring(L, -2);
      lua_pop(L, 1);
    }
  }
  mx_symbol *r;
  mxb_check(L, mx_symbol_compose(s, keys, args, n, &r), where);
  push_symbol(L, r);
  return 1;
}

static void push_names(lua_State *L, const char *const *names, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static int l_list_arguments(lua_State *L) {
  const char *const *names;
  int n;
  mxb_check(L, mx_symbol_list_arguments(check_symbol(L, 1, "Symbol:list_arguments"), &names, &n),
            "Symbol:list_arguments");
  push_names(L, names, n);
  return 1;
}

static int l_list_outputs(lua_State *L) {
  const char *const *names;
  int n;
  mxb_check(L, mx_symbol_list_outputs(check_symbol(L, 1, "Symbol:list_outputs"), &names, &n),
            "Symbol:list_outputs");
  push_names(L, names, n);
  return 1;
}

static int l_list_aux(lua_State *L) {
  const char *const *names;
  int n;
  mxb_check(L,
            mx_symbol_list_auxiliary_states(check_symbol(L, 1, "Symbol:list_auxiliary_states"),
                                            &names, &n),
            "Symbol:list_auxiliary_states");
  push_names(L, names, n);
  return 1;
}

static void push_shapes(lua_State *L, int n, const int *ndims,
                        const int64_t (*shapes)[MX_MAX_NDIM]) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    if (ndims[i])
      mxb_push_shape(L, shapes[i], ndims[i]);
    else
      lua_newtable(L); /* unknown (infer_shape_partial) */
    lua_rawseti(L, -2, i + 1);
  }
}

/* The shape of argument `name` from the Lua value at idx: a list of positive integers. */
static int read_shape(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], const char *where,
                      const char *name) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx))
    return luaL_error(L, "%s: the shape of '%s' must be a list of positive integers (got %s)",
                      where, name, luaL_typename(L, idx));
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  if (n < 1 || n > MX_MAX_NDIM)
    return luaL_error(L, "%s: the shape of '%s' must have 1 to %d dimensions (got %d)", where, name,
                      MX_MAX_NDIM, (int)n);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    int ok = 0;
    lua_Integer d = lua_tointegerx(L, -1, &ok);
    lua_pop(L, 1);
    if (!ok || d < 1 || d > ((lua_Integer)1 << 40))
      return luaL_error(
          L, "%s: the shape of '%s' must hold positive integers (dimension %d is not one)", where,
          name, (int)i);
    shape[i - 1] = d;
  }
  return (int)n;
}

int mxb_read_shape(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], const char *where,
                   const char *name);
int mxb_read_shape(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], const char *where,
                   const char *name) {
  return read_shape(L, idx, shape, where, name);
}

/* Reads {name = shape, ...} (or a list of shapes in argument order) at idx. */
static int read_shapes(lua_State *L, int idx, const char **names, int64_t (*shapes)[MX_MAX_NDIM],
                       int *ndims, int cap, int *named, const char *where) {
  int n = 0;
  *named = 1;
  if (lua_isnoneornil(L, idx)) return 0;
  if (!lua_istable(L, idx)) return mxb_typeerror(L, idx, where, "table of shapes");
  if ((lua_Integer)lua_rawlen(L, idx) > 0) {
    *named = 0;
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, idx) && n < cap; i++, n++) {
      lua_rawgeti(L, idx, i);
      char name[32];
      snprintf(name, sizeof name, "argument %d", (int)i);
      ndims[n] = read_shape(L, -1, shapes[n], where, name);
      lua_pop(L, 1);
    }
    return n;
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: shapes are given by argument name", where);
    if (n == cap) luaL_error(L, "%s: too many shapes", where);
    names[n] = lua_tostring(L, -2);
    ndims[n] = read_shape(L, -1, shapes[n], where, names[n]);
    n++;
    lua_pop(L, 1);
  }
  return n;
}

#define MAXSH 256
/* sym:infer_shape{data = {100, 784}} -> arg_shapes, out_shapes, aux_shapes
 * (nil, message when incomplete); infer_shape_partial gives {} for unknown shapes. */
static int infer_shape(lua_State *L, int partial) {
  const char *where = partial ? "Symbol:infer_shape_partial" : "Symbol:infer_shape";
  mx_symbol *s = check_symbol(L, 1, where);
  const char *names[MAXSH];
  int64_t(*shapes)[MX_MAX_NDIM] = lua_newuserdatauv(L, sizeof(int64_t[MAXSH][MX_MAX_NDIM]), 0);
  int ndims[MAXSH], named;
  int n = read_shapes(L, 2, names, shapes, ndims, MAXSH, &named, where);
  mx_symbol_shapes r;
  int complete;
  char missing[1024];
  mxb_check(L,
            mx_symbol_infer_shape(s, named ? names : NULL, (const int64_t(*)[MX_MAX_NDIM])shapes,
                                  ndims, n, &r, &complete, missing, sizeof missing),
            where);
  if (!complete && !partial) {
    mx_symbol_shapes_free(&r);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: cannot infer the shapes of %s (give their shapes)", where,
                    missing[0] ? missing : "some outputs");
    return 2;
  }
  push_shapes(L, r.narg, r.arg_ndim, (const int64_t(*)[MX_MAX_NDIM])r.arg);
  push_shapes(L, r.nout, r.out_ndim, (const int64_t(*)[MX_MAX_NDIM])r.out);
  push_shapes(L, r.naux, r.aux_ndim, (const int64_t(*)[MX_MAX_NDIM])r.aux);
  mx_symbol_shapes_free(&r);
  return 3;
}

static int l_infer_shape(lua_State *L) {
  return infer_shape(L, 0);
}
static int l_infer_shape_partial(lua_State *L) {
  return infer_shape(L, 1);
}

static int l_get_internals(lua_State *L) {
  mx_symbol *r;
  mxb_check(L, mx_symbol_get_internals(check_symbol(L, 1, "Symbol:get_internals"), &r),
            "Symbol:get_internals");
  push_symbol(L, r);
  return 1;
}

/* sym:get_output(i), 1-based */
static int l_get_output(lua_State *L) {
  mx_symbol *s = check_symbol(L, 1, "Symbol:get_output"), *r;
  lua_Integer i = mxb_check_integer(L, 2, "Symbol:get_output");
  if (i < 1 || i > mx_symbol_num_outputs(s))
    return mxb_argerror(L, 2, "Symbol:get_output",
                        "index %lld out of range (the symbol has %d outputs)", (long long)i,
                        mx_symbol_num_outputs(s));
  mxb_check(L, mx_symbol_get_output(s, (int)i - 1, &r), "Symbol:get_output");
  push_symbol(L, r);
  return 1;
}

static int l_num_outputs(lua_State *L) {
  lua_pushinteger(L, mx_symbol_num_outputs(check_symbol(L, 1, "Symbol:num_outputs")));
  return 1;
}

static int l_name(lua_State *L) {
  const char *n = mx_symbol_name(check_symbol(L, 1, "Symbol:name"));
  if (n)
    lua_pushstring(L, n);
  else
    lua_pushnil(L);
  return 1;
}

static int l_op_name(lua_State *L) {
  const char *n = mx_symbol_op_name(check_symbol(L, 1, "Symbol:op_name"));
  if (n)
    lua_pushstring(L, n);
  else
    lua_pushnil(L);
  return 1;
}

static int l_get_attr(lua_State *L) {
  const char *v = mx_symbol_get_attr(check_symbol(L, 1, "Symbol:attr"), luaL_checkstring(L, 2));
  if (v)
    lua_pushstring(L, v);
  else
    lua_pushnil(L);
  return 1;
}

static int l_set_attr(lua_State *L) {
  mx_symbol *s = check_symbol(L, 1, "Symbol:_set_attr");
  mxb_check(L, mx_symbol_set_attr(s, mxb_check_cstring(L, 2, "Symbol:_set_attr"), mxb_check_cstring(L, 3, "Symbol:_set_attr")),
            "Symbol:_set_attr");
  return 0;
}

static int l_list_attr(lua_State *L) {
  const char *const *k, *const *v;
  int n = mx_symbol_list_attr(check_symbol(L, 1, "Symbol:list_attr"), &k, &v);
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, v[i]);
    lua_setfield(L, -2, k[i]);
  }
  return 1;
}

static int l_tojson(lua_State *L) {
  char *json;
  mxb_check(L, mx_symbol_to_json(check_symbol(L, 1, "Symbol:tojson"), &json), "Symbol:tojson");
  lua_pushstring(L, json);
  free(json);
  return 1;
}

/* A string argument; otherwise an error naming the Lua function (not luaL_checkstring's). */
static const char *check_str(lua_State *L, int idx, const char *where) {
  return mxb_check_cstring(L, idx, where);
}

static int l_save(lua_State *L) {
  mx_symbol *s = check_symbol(L, 1, "Symbol:save");
  mxb_check(L, mx_symbol_save(s, check_str(L, 2, "Symbol:save")), "Symbol:save");
  return 0;
}

static int l_load_json(lua_State *L) {
  mx_symbol *s;
  mxb_check(L, mx_symbol_from_json(check_str(L, 1, "mx.symbol.load_json"), &s), "mx.symbol.load_json");
  push_symbol(L, s);
  return 1;
}

static int l_load(lua_State *L) {
  mx_symbol *s;
  mxb_check(L, mx_symbol_load(check_str(L, 1, "mx.symbol.load"), &s), "mx.symbol.load");
  push_symbol(L, s);
  return 1;
}

/* core.symbol.group({Symbol...}) */
static int l_group(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  mx_symbol *syms[256];
  int n = (int)(lua_Integer)lua_rawlen(L, 1);
  if (n > 256) luaL_error(L, "mx.symbol.Group: too many symbols (max 256)");
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    sym_ud *ud = luaL_testudata(L, -1, MXB_SYMBOL_MT);
    if (!ud || !ud->s)
      return luaL_error(L, "mx.symbol.Group: item %d is not a Symbol (got %s)", i + 1,
                        luaL_typename(L, -1));
    syms[i] = ud->s;
    lua_pop(L, 1);
  }
  mx_symbol *r;
  mxb_check(L, mx_symbol_group(syms, n, &r), "mx.symbol.Group");
  push_symbol(L, r);
  return 1;
}

/* core.symbol.op_list() -> {{name=, doc=, arguments={...}, params={{name=, type=, default=,
 * choices=, doc=}}}} */
static int l_op_list(lua_State *L) {
  int n = mx_op_list_count();
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    mx_op_info info;
    mxb_check(L, mx_op_get_info(i, &info), "mx.symbol");
    lua_createtable(L, 0, 4);
    lua_pushstring(L, info.name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, info.doc);
    lua_setfield(L, -2, "doc");
    lua_newtable(L);
    for (int j = 0; info.arguments && info.arguments[j]; j++) {
      lua_pushstring(L, info.arguments[j]);
      lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "arguments");
    lua_createtable(L, info.nparams, 0);
    for (int j = 0; j < info.nparams; j++) {
      const mx_op_param_info *p = &info.params[j];
      lua_createtable(L, 0, 5);
      lua_pushstring(L, p->name);
      lua_setfield(L, -2, "name");
      lua_pushstring(L, p->type);
      lua_setfield(L, -2, "type");
      if (p->default_value) {
        lua_pushstring(L, p->default_value);
        lua_setfield(L, -2, "default");
      }
      if (p->choices) {
        lua_pushstring(L, p->choices);
        lua_setfield(L, -2, "choices");
      }
      lua_pushstring(L, p->doc ? p->doc : "");
      lua_setfield(L, -2, "doc");
      lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "params");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* __index: methods by name; sym[i] is the i-th output (1-based); sym['fc1_output'] by name. */
static int sym_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_settop(L, 2);
    return l_get_output(L);
  }
  lua_pushvalue(L, 2);
  lua_gettable(L, lua_upvalueindex(1));
  if (!lua_isnil(L, -1) || lua_type(L, 2) != LUA_TSTRING) return 1;
  mx_symbol *s = check_symbol(L, 1, "Symbol:__index");
  const char *const *names;
  int n;
  mxb_check(L, mx_symbol_list_outputs(s, &names, &n), "Symbol:__index");
  const char *key = lua_tostring(L, 2);
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], key) == 0) {
      mx_symbol *r;
      mxb_check(L, mx_symbol_get_output(s, i, &r), "Symbol:__index");
      push_symbol(L, r);
      return 1;
    }
  lua_pushnil(L);
  return 1;
}

static int l_is_symbol(lua_State *L) {
  sym_ud *ud = luaL_testudata(L, 1, MXB_SYMBOL_MT);
  lua_pushboolean(L, ud && ud->s);
  return 1;
}

int mxb_symbol_bind_fns(
    lua_State *L); /* executor.c: adds _simple_bind/_bind to the methods table at top */

void mxb_open_symbol(lua_State *L) {
  int module = lua_gettop(L);
  const luaL_Reg methods[] = {{"_compose", l_compose},
                              {"list_arguments", l_list_arguments},
                              {"list_outputs", l_list_outputs},
                              {"list_auxiliary_states", l_list_aux},
                              {"infer_shape", l_infer_shape},
                              {"infer_shape_partial", l_infer_shape_partial},
                              {"get_internals", l_get_internals},
                              {"get_output", l_get_output},
                              {"num_outputs", l_num_outputs},
                              {"name", l_name},
                              {"op_name", l_op_name},
                              {"attr", l_get_attr},
                              {"_set_attr", l_set_attr},
                              {"list_attr", l_list_attr},
                              {"tojson", l_tojson},
                              {"save", l_save},
                              {"close", sym_free},
                              {NULL, NULL}};
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  mxb_symbol_bind_fns(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, module, "Symbol_methods");
  int mt = (luaL_newmetatable(L, MXB_SYMBOL_MT), lua_gettop(L));
  lua_pushcfunction(L, sym_free);
  lua_setfield(L, mt, "__gc");
  lua_pushcfunction(L, sym_free);
  lua_setfield(L, mt, "__close");
  lua_pushcfunction(L, sym_tostring);
  lua_setfield(L, mt, "__tostring");
  lua_pushvalue(L, mt - 1);
  lua_pushcclosure(L, sym_index, 1);
  lua_setfield(L, mt, "__index");
  lua_pushliteral(L, "mx.Symbol");
  lua_setfield(L, mt, "__name");
  lua_setfield(L, module, "Symbol_metatable");
  lua_pop(L, 1); /* methods */
  const luaL_Reg fns[] = {{"variable", l_variable},   {"create", l_create}, {"group", l_group},
                          {"load_json", l_load_json}, {"load", l_load},     {"op_list", l_op_list},
                          {"is_symbol", l_is_symbol}, {NULL, NULL}};
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
  lua_setfield(L, module, "symbol");
}
