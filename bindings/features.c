/* features.c: mx.core.features(), the list mx_features gives (what this build has), as
 * {name=, enabled=, off_on_request=, detail=} tables in order. */
#include "bindings.h"

static int l_features(lua_State *L) {
  int n = 0;
  const mx_feature *f = mx_features(&n);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_createtable(L, 0, 4);
    lua_pushstring(L, f[i].name);
    lua_setfield(L, -2, "name");
    lua_pushboolean(L, f[i].enabled);
    lua_setfield(L, -2, "enabled");
    lua_pushboolean(L, f[i].off_on_request);
    lua_setfield(L, -2, "off_on_request");
    lua_pushstring(L, f[i].detail);
    lua_setfield(L, -2, "detail");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

void mxb_open_features(lua_State *L) {
  lua_pushcfunction(L, l_features);
  lua_setfield(L, -2, "features");
}
