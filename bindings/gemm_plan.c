/* gemm_plan.c: mx.core.gemm_plan(), the CPU GEMM plan as a Lua table: the mode, the libraries
 * built in (version, kernel set, generic or not) and, per shape planned so far, the library
 * chosen and the microseconds each candidate measured. */
#include "bindings.h"

static void push_lib_map_number(lua_State *L, const double *v) {
  lua_newtable(L);
  for (int i = 0; i < MX_GEMM_LIBS; i++) {
    if (v[i] < 0) continue;
    mx_gemm_lib_info info;
    mx_gemm_lib_describe((mx_gemm_lib)i, &info);
    lua_pushnumber(L, v[i]);
    lua_setfield(L, -2, info.name);
  }
}

static int l_gemm_plan(lua_State *L) {
  lua_newtable(L);
  lua_pushstring(L, mx_gemm_plan_mode());
  lua_setfield(L, -2, "mode");
  lua_pushnumber(L, MX_GEMM_TEAM_MARGIN);
  lua_setfield(L, -2, "team_margin");
  lua_newtable(L); /* libraries: name -> {built, generic, detail} */
  for (int i = 0; i < MX_GEMM_LIBS; i++) {
    mx_gemm_lib_info info;
    mx_gemm_lib_describe((mx_gemm_lib)i, &info);
    lua_newtable(L);
    lua_pushboolean(L, info.built);
    lua_setfield(L, -2, "built");
    lua_pushboolean(L, info.generic);
    lua_setfield(L, -2, "generic");
    lua_pushstring(L, info.detail);
    lua_setfield(L, -2, "detail");
    lua_setfield(L, -2, info.name);
  }
  lua_setfield(L, -2, "libraries");
  lua_newtable(L); /* shapes, in planning order */
  int n = mx_gemm_plan_size();
  for (int i = 0; i < n; i++) {
    mx_gemm_plan_entry e;
    mxb_check(L, mx_gemm_plan_get(i, &e), "mx.core.gemm_plan");
    lua_newtable(L);
    const char *ints[] = {"m", "n", "k", "lda", "ldb", "ldc", "threads"};
    const int vals[] = {e.m, e.n, e.k, e.lda, e.ldb, e.ldc, e.threads};
    for (int j = 0; j < 7; j++) {
      lua_pushinteger(L, vals[j]);
      lua_setfield(L, -2, ints[j]);
    }
    lua_pushboolean(L, e.transpose_a);
    lua_setfield(L, -2, "transpose_a");
    lua_pushboolean(L, e.transpose_b);
    lua_setfield(L, -2, "transpose_b");
    lua_pushnumber(L, e.beta);
    lua_setfield(L, -2, "beta");
    mx_gemm_lib_info info;
    mx_gemm_lib_describe(e.library, &info);
    lua_pushstring(L, info.name);
    lua_setfield(L, -2, "library");
    push_lib_map_number(L, e.us);
    lua_setfield(L, -2, "us");
    double th[MX_GEMM_LIBS];
    for (int j = 0; j < MX_GEMM_LIBS; j++) th[j] = e.us[j] < 0 ? -1 : e.lib_threads[j];
    push_lib_map_number(L, th);
    lua_setfield(L, -2, "lib_threads");
    lua_pushstring(L, e.why);
    lua_setfield(L, -2, "why");
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "shapes");
  return 1;
}

void mxb_open_gemm_plan(lua_State *L) {
  lua_pushcfunction(L, l_gemm_plan);
  lua_setfield(L, -2, "gemm_plan");
}
