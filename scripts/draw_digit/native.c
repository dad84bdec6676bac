/* native.c: luaopen_draw_digit_native, the draw-a-digit demo's C module: the
 * digit math of digit.c on flat Lua sequences of numbers, with the server
 * (http.c) and signal (signals.c) functions registered beside it. */
#include <lauxlib.h>
#include <stdint.h>
#include <stdlib.h>

#include "digit.h"
#include "native.h"

/* A scratch buffer owned by a userdata on the stack, so a Lua error frees it. */
static float *scratch(lua_State *L, lua_Integer n) {
  return lua_newuserdatauv(L, sizeof(float) * (size_t)(n > 0 ? n : 1), 0);
}

/* Reads a flat Lua sequence of height*width numbers into a scratch buffer (pushed). */
static float *check_flat(lua_State *L, int idx, lua_Integer height, lua_Integer width,
                         const char *where, const char *what, const char *whats) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer n = height * width;
  if ((lua_Integer)lua_rawlen(L, idx) != n)
    luaL_error(L, "%s: expected %d %s for %dx%d (got %d)", where, (int)n, whats, (int)width,
               (int)height, (int)(lua_Integer)lua_rawlen(L, idx));
  float *buf = scratch(L, n);
  for (lua_Integer i = 0; i < n; i++) {
    int ok;
    lua_Number v = (lua_rawgeti(L, idx, i + 1), lua_tonumberx(L, -1, &ok));
    lua_pop(L, 1);
    if (!ok) luaL_error(L, "%s: %s %d is not a number", where, what, (int)(i + 1));
    buf[i] = (float)v;
  }
  return buf;
}

static void check_size(lua_State *L, const char *where, lua_Integer height, lua_Integer width) {
  if (height < 1 || width < 1 || height > 65536 || width > 65536)
    luaL_error(L, "%s: height and width must be 1 to 65536 (got %dx%d)", where, (int)width,
               (int)height);
}

/* Pushes n floats as a flat Lua sequence. */
static void push_flat(lua_State *L, const float *v, lua_Integer n) {
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* preprocess(where, pixels, height, width) -> 784 numbers (28x28, row-major), has_ink.
 * pixels: a flat row-major sequence of numbers in [0, 1]. */
static int l_preprocess(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  lua_Integer height = luaL_checkinteger(L, 3), width = luaL_checkinteger(L, 4);
  check_size(L, where, height, width);
  float *px = check_flat(L, 2, height, width, where, "pixel", "pixels");
  float res[DIGIT_SIZE * DIGIT_SIZE];
  char err[160];
  int has_ink = 0;
  if (digit_preprocess(px, height, width, res, &has_ink, err, sizeof err) != 0)
    return luaL_error(L, "%s: %s", where, err);
  push_flat(L, res, DIGIT_SIZE * DIGIT_SIZE);
  lua_pushboolean(L, has_ink);
  return 2;
}

/* ink(where, gray, alpha, height, width) -> height*width numbers: the ink of a picture
 * given as flat gray and alpha sequences (alpha may be nil). */
static int l_ink(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  lua_Integer height = luaL_checkinteger(L, 4), width = luaL_checkinteger(L, 5);
  check_size(L, where, height, width);
  float *g = check_flat(L, 2, height, width, where, "gray value", "gray values");
  float *a = lua_isnoneornil(L, 3)
                 ? NULL
                 : check_flat(L, 3, height, width, where, "alpha value", "alpha values");
  float *out = scratch(L, height * width);
  char err[160];
  if (digit_ink(g, a, height, width, out, err, sizeof err) != 0)
    return luaL_error(L, "%s: %s", where, err);
  push_flat(L, out, height * width);
  return 1;
}

int luaopen_draw_digit_native(lua_State *L) {
  static const luaL_Reg fns[] = {{"preprocess", l_preprocess}, {"ink", l_ink}, {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushinteger(L, DIGIT_SIZE);
  lua_setfield(L, -2, "digit_size");
  dd_open_signals(L);
  dd_open_http(L);
  return 1;
}
