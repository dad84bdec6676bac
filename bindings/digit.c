/* digit.c (bindings): the draw-a-digit helpers for mx.web: MNIST-style
 * preprocessing of a drawing, the ink of a decoded picture, and catching
 * SIGINT/SIGTERM so the web server can stop cleanly. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bindings.h"

/* "(3,4)" into buf. */
static const char *shape_str(const int64_t *shape, int ndim, char *buf, size_t len) {
  size_t k = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < ndim && k < len; i++)
    k += (size_t)snprintf(buf + k, len - k, i ? ",%lld" : "%lld", (long long)shape[i]);
  if (k < len) snprintf(buf + k, len - k, ")");
  return buf;
}

/* A scratch buffer owned by a userdata on the stack, so a Lua error frees it. */
static float *scratch(lua_State *L, lua_Integer n) {
  return lua_newuserdatauv(L, sizeof(float) * (size_t)(n > 0 ? n : 1), 0);
}

/* Reads a flat Lua sequence of height*width numbers into a scratch buffer (pushed). */
static float *check_flat(lua_State *L, int idx, lua_Integer height, lua_Integer width,
                         const char *where) {
  lua_Integer n = height * width;
  if ((lua_Integer)lua_rawlen(L, idx) != n)
    luaL_error(L, "%s: expected %d pixels for %dx%d (got %d)", where, (int)n, (int)width,
               (int)height, (int)(lua_Integer)lua_rawlen(L, idx));
  float *buf = scratch(L, n);
  for (lua_Integer i = 0; i < n; i++) {
    int ok;
    lua_Number v = (lua_rawgeti(L, idx, i + 1), lua_tonumberx(L, -1, &ok));
    lua_pop(L, 1);
    if (!ok) luaL_error(L, "%s: pixel %d is not a number", where, (int)(i + 1));
    buf[i] = (float)v;
  }
  return buf;
}

/* digit_preprocess(where, image) or digit_preprocess(where, pixels, height, width)
 * -> (28,28) NDArray, has_ink. image is an NDArray (height, width); pixels a flat
 * row-major sequence of numbers in [0, 1]. */
static int l_digit_preprocess(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  float res[MX_DIGIT_SIZE * MX_DIGIT_SIZE];
  int has_ink = 0;
  mx_context ctx = mx_cpu(0);
  if (lua_istable(L, 2)) {
    lua_Integer height = luaL_checkinteger(L, 3), width = luaL_checkinteger(L, 4);
    if (height < 1 || width < 1 || height > 65536 || width > 65536)
      return luaL_error(L, "%s: height and width must be 1 to 65536 (got %dx%d)", where, (int)width,
                        (int)height);
    float *buf = check_flat(L, 2, height, width, where);
    mxb_check(L, mx_digit_preprocess(buf, height, width, res, &has_ink), where);
  } else {
    mx_ndarray *img = mxb_check_ndarray(L, 2, where);
    int ndim = mx_ndarray_ndim(img);
    const int64_t *shape = mx_ndarray_shape(img);
    if (ndim != 2) {
      char buf[64];
      return luaL_error(L, "%s: the image must be 2-D (height,width) (got %s)", where,
                        shape_str(shape, ndim, buf, sizeof buf));
    }
    ctx = mx_ndarray_context(img);
    float *buf = scratch(L, mx_ndarray_size(img));
    mxb_check(L, mx_ndarray_to_host(img, buf, mx_ndarray_size(img)), where);
    mxb_check(L, mx_digit_preprocess(buf, shape[0], shape[1], res, &has_ink), where);
  }
  int64_t oshape[2] = {MX_DIGIT_SIZE, MX_DIGIT_SIZE};
  mx_ndarray *out = NULL;
  mxb_check(L, mx_ndarray_from_host(oshape, 2, ctx, res, &out), where);
  mxb_push_ndarray(L, out);
  lua_pushboolean(L, has_ink);
  return 2;
}

/* digit_ink(where, gray, alpha) -> ink: (h, w) NDArrays on the CPU (alpha may be nil). */
static int l_digit_ink(lua_State *L) {
  const char *where = luaL_checkstring(L, 1);
  mx_ndarray *gray = mxb_check_ndarray(L, 2, where);
  mx_ndarray *alpha = lua_isnoneornil(L, 3) ? NULL : mxb_check_ndarray(L, 3, where);
  int ndim = mx_ndarray_ndim(gray);
  const int64_t *shape = mx_ndarray_shape(gray);
  char b1[64], b2[64];
  if (ndim != 2)
    return luaL_error(L, "%s: gray must be 2-D (height,width) (got %s)", where,
                      shape_str(shape, ndim, b1, sizeof b1));
  if (alpha && (mx_ndarray_ndim(alpha) != 2 ||
                memcmp(mx_ndarray_shape(alpha), shape, sizeof(int64_t) * 2) != 0))
    return luaL_error(L, "%s: alpha must have the shape of gray (got %s, expected %s)", where,
                      shape_str(mx_ndarray_shape(alpha), mx_ndarray_ndim(alpha), b1, sizeof b1),
                      shape_str(shape, ndim, b2, sizeof b2));
  int64_t n = mx_ndarray_size(gray);
  float *g = scratch(L, n), *a = alpha ? scratch(L, n) : NULL, *out = scratch(L, n);
  mxb_check(L, mx_ndarray_to_host(gray, g, n), where);
  if (alpha) mxb_check(L, mx_ndarray_to_host(alpha, a, n), where);
  mxb_check(L, mx_digit_ink(g, a, shape[0], shape[1], out), where);
  mx_ndarray *res = NULL;
  mxb_check(L, mx_ndarray_from_host(shape, 2, mx_ndarray_context(gray), out, &res), where);
  mxb_push_ndarray(L, res);
  return 1;
}

/* SIGINT/SIGTERM: a flag set by the handler, polled by the server loop (luasocket's
 * select resumes after EINTR, so the loop polls at least every select timeout). */
static volatile sig_atomic_t caught_signal;
static struct sigaction old_int, old_term;
static int catching;

static void on_signal(int sig) {
  caught_signal = sig;
}

/* sigint_catch(): from now on SIGINT and SIGTERM only set the flag. */
static int l_sigint_catch(lua_State *L) {
  if (!catching) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    catching = 1;
  }
  caught_signal = 0;
  return 0;
}

/* sigint_caught() -> the signal's name ("SIGINT"/"SIGTERM") once caught, else nil; clears it. */
static int l_sigint_caught(lua_State *L) {
  int sig = caught_signal;
  caught_signal = 0;
  if (sig == 0) return 0;
  lua_pushstring(L, sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 1;
}

/* sigint_release(): puts back the handlers that were there before sigint_catch. */
static int l_sigint_release(lua_State *L) {
  if (catching) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    catching = 0;
  }
  return 0;
}

void mxb_open_digit(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"digit_preprocess", l_digit_preprocess}, {"digit_ink", l_digit_ink},
      {"sigint_catch", l_sigint_catch},         {"sigint_caught", l_sigint_caught},
      {"sigint_release", l_sigint_release},     {NULL, NULL}};
  lua_pushinteger(L, MX_DIGIT_SIZE);
  lua_setfield(L, -2, "digit_size");
  luaL_setfuncs(L, fns, 0);
}
