/* image.c (bindings): PNG pictures for mx.viz: a grid of images, reading a PNG
 * into NDArrays, and drawing a plot (a list of rect/line/text commands) to PNG. */
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "canvas.h"

/* image_write_grid(where, path, images, rows, cols, scale, pad) */
static int l_image_write_grid(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  const char *path = mxb_check_cstring(L, 2, where);
  mx_ndarray *a = mxb_check_ndarray(L, 3, where);
  int rows = (int)luaL_optinteger(L, 4, 0), cols = (int)luaL_optinteger(L, 5, 0);
  int scale = (int)luaL_optinteger(L, 6, 1), pad = (int)luaL_optinteger(L, 7, 0);
  mxb_check(L, mx_image_write_grid_png(path, a, rows, cols, scale, pad), where);
  return 0;
}

/* Pushes gray and alpha planes as (h, w) NDArrays on cpu(0), freeing both planes. */
static int push_planes(lua_State *L, const char *where, float *gray, float *alpha, int w, int h) {
  int64_t shape[2] = {h, w};
  mx_ndarray *g = NULL, *a = NULL;
  mx_status st = mx_ndarray_from_host(shape, 2, mx_cpu(0), gray, &g);
  if (st == MX_OK) st = mx_ndarray_from_host(shape, 2, mx_cpu(0), alpha, &a);
  free(gray);
  free(alpha);
  if (st != MX_OK) {
    mx_ndarray_release(g);
    return mxb_raise(L, where);
  }
  mxb_push_ndarray(L, g);
  mxb_push_ndarray(L, a);
  return 2;
}

/* image_read_png(where, path) -> gray, alpha */
static int l_image_read_png(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  const char *path = mxb_check_cstring(L, 2, where);
  float *gray, *alpha;
  int w, h;
  mxb_check(L, mx_image_read_png(path, &gray, &alpha, &w, &h), where);
  return push_planes(L, where, gray, alpha, w, h);
}

/* image_decode_png(where, bytes) -> gray, alpha */
static int l_image_decode_png(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  size_t len;
  const char *bytes = luaL_checklstring(L, 2, &len);
  float *gray, *alpha;
  int w, h;
  mxb_check(L, mx_image_decode_png(bytes, len, &gray, &alpha, &w, &h), where);
  return push_planes(L, where, gray, alpha, w, h);
}

/* The canvas lives in a userdata box while commands are read, so that a Lua
 * error on a bad command frees it through __gc. */
#define CANVAS_MT "mx.Canvas"
static int canvas_gc(lua_State *L) {
  mxb_canvas **box = luaL_checkudata(L, 1, CANVAS_MT);
  mxb_canvas_free(*box);
  *box = NULL;
  return 0;
}

static lua_Integer field_int(lua_State *L, int t, int i, const char *where, int cmd) {
  lua_rawgeti(L, t, i);
  int ok;
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  if (!ok) {
    lua_Number n = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s: drawing command %d: item %d is not a number", where, cmd, i);
    v = (lua_Integer)(n < 0 ? n - 0.5 : n + 0.5);
  }
  lua_pop(L, 1);
  return v;
}

/* image_draw_png(where, path, width, height, background, commands): commands
 * are {'rect', x, y, w, h, color}, {'line', x0, y0, x1, y1, color, thickness},
 * {'text', x, y, string, color, scale}; colours are 0xRRGGBB integers. */
static int l_image_draw_png(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  const char *path = mxb_check_cstring(L, 2, where);
  int width = (int)luaL_checkinteger(L, 3), height = (int)luaL_checkinteger(L, 4);
  uint32_t bg = (uint32_t)luaL_checkinteger(L, 5);
  luaL_checktype(L, 6, LUA_TTABLE);
  mxb_canvas **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, CANVAS_MT);
  mxb_check(L, mxb_canvas_create(width, height, bg, box), where);
  mxb_canvas *c = *box;
  lua_Integer n = (lua_Integer)lua_rawlen(L, 6);
  for (lua_Integer k = 1; k <= n; k++) {
    lua_rawgeti(L, 6, k);
    int t = lua_gettop(L);
    if (!lua_istable(L, t))
      return luaL_error(L, "%s: drawing command %d is not a table", where, (int)k);
    lua_rawgeti(L, t, 1);
    const char *kind = lua_tostring(L, -1);
    kind = kind ? kind : "?";
    if (!strcmp(kind, "rect")) {
      mxb_canvas_rect(c, (int)field_int(L, t, 2, where, k), (int)field_int(L, t, 3, where, k),
                      (int)field_int(L, t, 4, where, k), (int)field_int(L, t, 5, where, k),
                      (uint32_t)field_int(L, t, 6, where, k));
    } else if (!strcmp(kind, "line")) {
      mxb_canvas_line(c, (int)field_int(L, t, 2, where, k), (int)field_int(L, t, 3, where, k),
                      (int)field_int(L, t, 4, where, k), (int)field_int(L, t, 5, where, k),
                      (uint32_t)field_int(L, t, 6, where, k), (int)field_int(L, t, 7, where, k));
    } else if (!strcmp(kind, "text")) {
      lua_rawgeti(L, t, 4);
      const char *s = lua_tostring(L, -1);
      if (!s)
        return luaL_error(L, "%s: drawing command %d: the text is not a string", where, (int)k);
      mxb_canvas_text(c, (int)field_int(L, t, 2, where, k), (int)field_int(L, t, 3, where, k), s,
                      (uint32_t)field_int(L, t, 5, where, k), (int)field_int(L, t, 6, where, k));
      lua_pop(L, 1);
    } else {
      return luaL_error(L,
                        "%s: drawing command %d: unknown kind '%s' (expected rect, line or text)",
                        where, (int)k, kind);
    }
    lua_settop(L, t - 1);
  }
  mx_status st = mxb_canvas_write_png(c, path);
  mxb_canvas_free(c);
  *box = NULL;
  mxb_check(L, st, where);
  return 0;
}

/* image_text_width(string, scale) -> pixels */
static int l_image_text_width(lua_State *L) {
  lua_pushinteger(L, mxb_canvas_text_width(luaL_checkstring(L, 1), (int)luaL_optinteger(L, 2, 1)));
  return 1;
}

void mxb_open_image(lua_State *L) {
  if (luaL_newmetatable(L, CANVAS_MT)) {
    lua_pushcfunction(L, canvas_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {
      {"image_write_grid", l_image_write_grid}, {"image_read_png", l_image_read_png},
      {"image_decode_png", l_image_decode_png}, {"image_draw_png", l_image_draw_png},
      {"image_text_width", l_image_text_width}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
