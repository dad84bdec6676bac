/* io.c: Lua bindings for files: IDX (MNIST) loading into NDArrays, the MXNet
 * `.params` NDArray list (save/load), atomic file writes; and the monotonic
 * clock and terminal test the training log and progress bar need. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lualib.h>

#include "bindings.h"

/* core.idx_load(path, expected_ndim, scale[, ctx]) -> NDArray */
static int l_idx_load(lua_State *L) {
  const char *where = "mx.io.idx_load";
  const char *path = mxb_check_cstring(L, 1, where);
  int ndim = (int)mxb_opt_integer(L, 2, 0, where);
  float scale = (float)mxb_opt_number(L, 3, 1.0, where);
  mx_context ctx = mxb_opt_context(L, 4, where);
  mx_ndarray *a = NULL;
  mxb_check(L, mx_idx_load(path, ndim, scale, ctx, &a), where);
  mxb_push_ndarray(L, a);
  return 1;
}

/* core.idx_load_pair(image_path, label_path, scale[, ctx]) -> images, labels */
static int l_idx_load_pair(lua_State *L) {
  const char *where = "mx.io.idx_load_pair";
  const char *img = mxb_check_cstring(L, 1, where), *lab = mxb_check_cstring(L, 2, where);
  float scale = (float)mxb_opt_number(L, 3, 1.0, where);
  mx_context ctx = mxb_opt_context(L, 4, where);
  mx_ndarray *im = NULL, *lb = NULL;
  mxb_check(L, mx_idx_load_pair(img, lab, scale, ctx, &im, &lb), where);
  mxb_push_ndarray(L, im);
  mxb_push_ndarray(L, lb);
  return 2;
}

/* core.params_save(path, arrays[, names]): arrays a sequence of NDArrays,
 * names nil or a sequence of strings of the same length. */
static int l_params_save(lua_State *L) {
  const char *where = "mx.io.save";
  const char *path = mxb_check_cstring(L, 1, where);
  luaL_checktype(L, 2, LUA_TTABLE);
  int has_names = !lua_isnoneornil(L, 3);
  if (has_names) luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
  if (n > (1 << 24)) return luaL_error(L, "%s: too many arrays (%I)", where, n);
  if (has_names && (lua_Integer)lua_rawlen(L, 3) != n)
    return luaL_error(L, "%s: %d names for %d arrays (expected one name per array)", where,
                      (int)(lua_Integer)lua_rawlen(L, 3), (int)n);
  /* scratch space owned by Lua, so an error below leaks nothing */
  mx_ndarray **arrays = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *arrays, 0);
  const char **names = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *names, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    arrays[i - 1] = mxb_test_ndarray(L, -1);
    if (!arrays[i - 1])
      return luaL_error(L, "%s: item %d is not an NDArray (got %s)", where, (int)i,
                        luaL_typename(L, -1));
    lua_pop(L, 1);
    if (has_names) {
      lua_rawgeti(L, 3, i);
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "%s: name %d is not a string (got %s)", where, (int)i,
                          luaL_typename(L, -1));
      names[i - 1] = mxb_check_cstring(L, -1, where); /* kept alive by the names table */
      lua_pop(L, 1);
    }
  }
  mxb_check(L, mx_params_save(path, arrays, has_names ? names : NULL, (int)n), where);
  return 0;
}

/* core.params_load(path[, ctx]) -> arrays, names (nil when the file has none) */
static int l_params_load(lua_State *L) {
  const char *where = "mx.io.load";
  const char *path = mxb_check_cstring(L, 1, where);
  mx_context ctx = mxb_opt_context(L, 2, where);
  mx_ndarray **arrays = NULL;
  char **names = NULL;
  int n = 0;
  mxb_check(L, mx_params_load(path, ctx, &arrays, &names, &n), where);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    mxb_push_ndarray(L, arrays[i]); /* takes the reference */
    arrays[i] = NULL;
    lua_rawseti(L, -2, i + 1);
  }
  if (names) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
      lua_pushstring(L, names[i]);
      lua_rawseti(L, -2, i + 1);
    }
  } else {
    lua_pushnil(L);
  }
  mx_params_free(arrays, names, n);
  return 2;
}

/* core.file_write_atomic(path, text) */
static int l_file_write_atomic(lua_State *L) {
  size_t len;
  const char *path = mxb_check_cstring(L, 1, "mx.io.write_atomic");
  const char *data = luaL_checklstring(L, 2, &len);
  mxb_check(L, mx_file_write_atomic(path, data, len), "mx.io.write_atomic");
  return 0;
}

/* core.now() -> seconds of a monotonic clock (for speeds and time costs) */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

/* core.isatty(file) -> true when the Lua file handle (io.stderr...) is a terminal */
static int l_isatty(lua_State *L) {
  luaL_Stream *s = luaL_testudata(L, 1, LUA_FILEHANDLE);
  lua_pushboolean(L, s != NULL && s->f != NULL && isatty(fileno(s->f)));
  return 1;
}

void mxb_open_io(lua_State *L) {
  static const luaL_Reg fns[] = {{"idx_load", l_idx_load},
                                 {"idx_load_pair", l_idx_load_pair},
                                 {"params_save", l_params_save},
                                 {"params_load", l_params_load},
                                 {"file_write_atomic", l_file_write_atomic},
                                 {"now", l_now},
                                 {"isatty", l_isatty},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
