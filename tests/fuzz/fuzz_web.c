/* fuzz_web.c: libFuzzer target for the draw-a-digit page's request path, hosting a Lua state with
 * the mx module and the demo's C module linked in: each input goes through tests/fuzz/web_fuzz.lua
 * (the routes with their JSON, base64, PNG and pixel decoding). A Lua error there is a finding. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int luaopen_mx_core(lua_State *L);
int luaopen_draw_digit_native(lua_State *L); /* scripts/draw_digit/native.c */

static lua_State *L;
static int fuzz_fn = LUA_NOREF;

static void setup(void) {
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_mx_core);
  lua_setfield(L, -2, "mx.core");
  lua_pushcfunction(L, luaopen_draw_digit_native);
  lua_setfield(L, -2, "draw_digit.native");
  lua_pop(L, 1);
  const char *code =
      "package.path = ROOT .. '/lua/?.lua;' .. ROOT .. '/lua/?/init.lua;' .. package.path\n"
      "return dofile(ROOT .. '/tests/fuzz/web_fuzz.lua')";
  lua_pushstring(L, MXLUA_SOURCE_ROOT);
  lua_setglobal(L, "ROOT");
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_web: setup failed: %s\n", lua_tostring(L, -1));
    abort();
  }
  fuzz_fn = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L) setup();
  lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_fn);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_web: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
