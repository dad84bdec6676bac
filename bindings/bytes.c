/* bytes.c: Lua bindings for mx_bytes (core/bytes.c): IDX images kept as bytes,
 * core.bytes_load_idx{paths...} -> a Bytes object with rows, cols, permute_rows, fill,
 * fill_crop (random crops of the padded images: augmentation). */
#include <limits.h>
#include <stdlib.h>

#include "bindings.h"

#define MXB_BYTES_MT "mx.Bytes"

static mx_bytes **check_bytes(lua_State *L, int idx, const char *where) {
  mx_bytes **ud = luaL_testudata(L, idx, MXB_BYTES_MT);
  if (!ud) {
    mxb_typeerror(L, idx, where, "Bytes");
    return NULL; /* not reached: mxb_typeerror raises */
  }
  if (!*ud) luaL_error(L, "%s: the Bytes object was freed", where);
  return ud;
}

/* core.bytes_load_idx({path1, path2, ...}) -> Bytes: the files' rows one after the other. */
static int l_bytes_load_idx(lua_State *L) {
  const char *where = "mx.io.bytes_load_idx";
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)(lua_Integer)lua_rawlen(L, 1);
  if (n < 1 || n > 64) return mxb_argerror(L, 1, where, "expected 1 to 64 file names (got %d)", n);
  const char *paths[64];
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    paths[i] = lua_tostring(L, -1); /* the strings stay alive in the table */
    lua_pop(L, 1);
    if (!paths[i]) return mxb_argerror(L, 1, where, "position %d is not a file name", i + 1);
  }
  mx_bytes **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = NULL;
  luaL_setmetatable(L, MXB_BYTES_MT);
  mxb_check(L, mx_bytes_load_idx(paths, n, ud), where);
  return 1;
}

static int bytes_rows(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)mx_bytes_rows(*check_bytes(L, 1, "mx.Bytes:rows")));
  return 1;
}

static int bytes_cols(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)mx_bytes_cols(*check_bytes(L, 1, "mx.Bytes:cols")));
  return 1;
}

/* b:permute_rows({p1, ...}): row i = old row p[i] (0-based index data), in place. */
static int bytes_permute_rows(lua_State *L) {
  const char *where = "mx.Bytes:permute_rows";
  mx_bytes *b = *check_bytes(L, 1, where);
  int64_t n;
  const int64_t *perm = mxb_check_int64_list(L, 2, where, &n);
  mxb_check(L, mx_bytes_permute_rows(b, perm, n), where);
  lua_settop(L, 1);
  return 1;
}

/* b:fill(dst, first[, scale]): dst (a CPU NDArray of whole rows) = rows first, first+1, ...
 * (1-based; wrapping past the last row) as float(byte) * scale. Returns dst. */
static int bytes_fill(lua_State *L) {
  const char *where = "mx.Bytes:fill";
  mx_bytes *b = *check_bytes(L, 1, where);
  mx_ndarray *dst = mxb_check_ndarray(L, 2, where);
  lua_Integer first = mxb_check_integer(L, 3, where);
  float scale = (float)mxb_opt_number(L, 4, 1.0, where);
  mxb_check(L, mx_bytes_to_ndarray(b, first >= 1 ? first - 1 : -1, scale, dst), where);
  lua_settop(L, 2);
  return 1;
}

/* b:fill_crop(dst, first, scale, height, width, pad, draws): as fill, each row's images
 * cropped at random from their pad-padded selves, corners from draws (2 uniforms a row). */
static int bytes_fill_crop(lua_State *L) {
  const char *where = "mx.Bytes:fill_crop";
  mx_bytes *b = *check_bytes(L, 1, where);
  mx_ndarray *dst = mxb_check_ndarray(L, 2, where);
  lua_Integer first = mxb_check_integer(L, 3, where);
  float scale = (float)mxb_opt_number(L, 4, 1.0, where);
  lua_Integer height = mxb_check_integer(L, 5, where), width = mxb_check_integer(L, 6, where);
  lua_Integer pad = mxb_check_integer(L, 7, where);
  mx_ndarray *draws = mxb_check_ndarray(L, 8, where);
  if (pad < 0 || pad > INT_MAX) return luaL_error(L, "%s: pad %I out of range", where, pad);
  mxb_check(L, mx_bytes_to_ndarray_crop(b, first >= 1 ? first - 1 : -1, scale, height, width, (int)pad, draws, dst), where);
  lua_settop(L, 2);
  return 1;
}

static int bytes_gc(lua_State *L) {
  mx_bytes **ud = luaL_checkudata(L, 1, MXB_BYTES_MT);
  mx_bytes_free(*ud);
  *ud = NULL;
  return 0;
}

void mxb_open_bytes(lua_State *L) {
  static const luaL_Reg methods[] = {{"rows", bytes_rows},
                                     {"cols", bytes_cols},
                                     {"permute_rows", bytes_permute_rows},
                                     {"fill", bytes_fill},
                                     {"fill_crop", bytes_fill_crop},
                                     {NULL, NULL}};
  if (luaL_newmetatable(L, MXB_BYTES_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, bytes_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_bytes_load_idx);
  lua_setfield(L, -2, "bytes_load_idx");
}
