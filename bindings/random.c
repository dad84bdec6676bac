/* random.c: mx.random (seed, uniform, normal: one seedable generator per process) and
 * mx.nd.random_permutation. */
#include "bindings.h"

static int nd_random_permutation(lua_State *L) {
  const char *where = "mx.nd.random_permutation";
  lua_Integer n = mxb_check_integer(L, 1, where);
  if (n < 1)
    return mxb_argerror(L, 1, where, "n must be a positive integer (got %lld)", (long long)n);
  mx_context ctx = mxb_opt_context(L, 2, where);
  mx_ndarray *out;
  mxb_check(L, mx_random_permutation(n, ctx, &out), where);
  mxb_push_ndarray(L, out);
  return 1;
}

static int random_seed(lua_State *L) {
  lua_Integer s = mxb_check_integer(L, 1, "mx.random.seed");
  mx_random_seed((uint64_t)s);
  return 0;
}

/* uniform(low, high, shape|out[, ctx]): a new array, or `out` filled in place. */
static int random_fill(lua_State *L, int normal, const char *where) {
  float p1 = (float)mxb_check_number(L, 1, where);
  float p2 = (float)mxb_check_number(L, 2, where);
  if (normal && !(p2 >= 0))
    return mxb_argerror(L, 2, where, "std must be >= 0 (got %g)", (double)p2);
  if (!normal && !(p2 >= p1))
    return mxb_argerror(L, 2, where, "high must be >= low (got low %g, high %g)", (double)p1,
                        (double)p2);
  mx_ndarray *out = mxb_test_ndarray(L, 3);
  if (out == NULL) {
    if (luaL_testudata(L, 3, MXB_NDARRAY_MT)) mxb_check_ndarray(L, 3, where); /* closed: raises */
    int64_t shape[MX_MAX_NDIM];
    int ndim = mxb_check_shape(L, 3, shape, where);
    mx_context ctx = mxb_opt_context(L, 4, where);
    mxb_check(L, mx_ndarray_create(shape, ndim, ctx, &out), where);
    mxb_push_ndarray(L, out);
  } else {
    lua_pushvalue(L, 3);
  }
  mxb_check(L, normal ? mx_random_normal(p1, p2, out) : mx_random_uniform(p1, p2, out), where);
  return 1;
}
static int random_uniform(lua_State *L) {
  return random_fill(L, 0, "mx.random.uniform");
}
static int random_normal(lua_State *L) {
  return random_fill(L, 1, "mx.random.normal");
}

static const luaL_Reg random_fns[] = {
    {"seed", random_seed}, {"uniform", random_uniform}, {"normal", random_normal}, {NULL, NULL}};

/* mx.core.random, and random_permutation into mx.core.nd (opened before). */
void mxb_open_random(lua_State *L) {
  int module = lua_gettop(L);
  lua_newtable(L);
  luaL_setfuncs(L, random_fns, 0);
  lua_setfield(L, module, "random");
  lua_getfield(L, module, "nd");
  lua_pushcfunction(L, nd_random_permutation);
  lua_setfield(L, -2, "random_permutation");
  lua_pop(L, 1);
}
