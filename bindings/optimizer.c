/* optimizer.c: Lua bindings for the fused optimizer kernels and the metric
 * hit counter. Hyper-parameters are positional numbers, so a training step
 * builds no Lua table. */
#include <stdlib.h>

#include "bindings.h"

/* Arguments from `first`: lr, wd, rescale_grad, clip_gradient (nil or <= 0: none). */
static void common(lua_State *L, int first, mx_optim_param *p, const char *where) {
  p->lr = (float)mxb_check_number(L, first, where);
  p->wd = (float)mxb_opt_number(L, first + 1, 0, where);
  p->rescale_grad = (float)mxb_opt_number(L, first + 2, 1, where);
  p->clip_gradient = (float)mxb_opt_number(L, first + 3, -1, where);
}

static mx_ndarray *opt_ndarray(lua_State *L, int idx, const char *where) {
  return lua_isnoneornil(L, idx) ? NULL : mxb_check_ndarray(L, idx, where);
}

/* core.optim_sgd_update(weight, grad, mom|nil, lr, wd, rescale, clip, momentum) */
static int l_sgd(lua_State *L) {
  const char *where = "mx.optimizer.SGD";
  mx_optim_param p = {0};
  mx_ndarray *w = mxb_check_ndarray(L, 1, where), *g = mxb_check_ndarray(L, 2, where),
             *m = opt_ndarray(L, 3, where);
  common(L, 4, &p, where);
  p.momentum = (float)mxb_opt_number(L, 8, 0, where);
  mxb_check(L, mx_optim_sgd_update(w, g, m, &p), where);
  return 0;
}

/* core.optim_sgd_update_multi(weights, grads, moms|nil, lrs, wds, rescale, clip,
 * momentum): SGD over lists (Lua arrays of equal length) of parameters in one call; moms
 * may have holes (no momentum for that parameter). Lists up to 64 long use no heap. */
static int l_sgd_multi(lua_State *L) {
  const char *where = "mx.optimizer.SGD";
  enum { SMALL = 64 };
  mx_ndarray *w_s[SMALL], *g_s[SMALL], *m_s[SMALL];
  float lr_s[SMALL], wd_s[SMALL];
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_checktype(L, 5, LUA_TTABLE);
  int has_moms = !lua_isnoneornil(L, 3);
  if (has_moms) luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  if ((lua_Integer)lua_rawlen(L, 2) != n || (lua_Integer)lua_rawlen(L, 4) != n ||
      (lua_Integer)lua_rawlen(L, 5) != n)
    return luaL_error(L, "%s: weights, grads, lrs and wds must be lists of one length", where);
  mx_optim_param p = {0};
  p.rescale_grad = (float)mxb_opt_number(L, 6, 1, where);
  p.clip_gradient = (float)mxb_opt_number(L, 7, -1, where);
  p.momentum = (float)mxb_opt_number(L, 8, 0, where);
  mx_ndarray **w = w_s, **g = g_s, **m = m_s;
  float *lr = lr_s, *wd = wd_s;
  void *heap = NULL;
  if (n > SMALL) {
    size_t np = (size_t)n * sizeof(mx_ndarray *), nf = (size_t)n * sizeof(float);
    heap = malloc(3 * np + 2 * nf);
    if (!heap) return luaL_error(L, "%s: out of memory", where);
    w = heap, g = w + n, m = g + n;
    lr = (float *)(m + n), wd = lr + n;
  }
  for (lua_Integer i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    w[i] = mxb_test_ndarray(L, -1);
    lua_rawgeti(L, 2, i + 1);
    g[i] = mxb_test_ndarray(L, -1);
    m[i] = NULL;
    if (has_moms) {
      lua_rawgeti(L, 3, i + 1);
      m[i] = mxb_test_ndarray(L, -1);
      lua_pop(L, 1);
    }
    lua_rawgeti(L, 4, i + 1);
    lr[i] = (float)lua_tonumber(L, -1);
    lua_rawgeti(L, 5, i + 1);
    wd[i] = (float)lua_tonumber(L, -1);
    lua_pop(L, 4);
    if (!w[i] || !g[i]) {
      free(heap);
      return luaL_error(L, "%s: weight and gradient %d must be NDArrays", where, (int)i + 1);
    }
  }
  mx_status st = mx_optim_sgd_update_multi(w, g, m, lr, wd, (int)n, &p);
  free(heap);
  mxb_check(L, st, where);
  return 0;
}

/* core.optim_adam_update(weight, grad, mean, var, lr, wd, rescale, clip, beta1, beta2, epsilon) */
static int l_adam(lua_State *L) {
  const char *where = "mx.optimizer.Adam";
  mx_optim_param p = {0};
  mx_ndarray *w = mxb_check_ndarray(L, 1, where), *g = mxb_check_ndarray(L, 2, where);
  mx_ndarray *m = mxb_check_ndarray(L, 3, where), *v = mxb_check_ndarray(L, 4, where);
  common(L, 5, &p, where);
  p.beta1 = (float)mxb_opt_number(L, 9, 0.9, where);
  p.beta2 = (float)mxb_opt_number(L, 10, 0.999, where);
  p.epsilon = (float)mxb_opt_number(L, 11, 1e-8, where);
  mxb_check(L, mx_optim_adam_update(w, g, m, v, &p), where);
  return 0;
}

/* core.optim_rmsprop_update(weight, grad, n, g|nil, delta|nil, lr, wd, rescale, clip, gamma1,
 * gamma2, epsilon) */
static int l_rmsprop(lua_State *L) {
  const char *where = "mx.optimizer.RMSProp";
  mx_optim_param p = {0};
  mx_ndarray *w = mxb_check_ndarray(L, 1, where), *g = mxb_check_ndarray(L, 2, where);
  mx_ndarray *n = mxb_check_ndarray(L, 3, where), *ga = opt_ndarray(L, 4, where),
             *d = opt_ndarray(L, 5, where);
  common(L, 6, &p, where);
  p.gamma1 = (float)mxb_opt_number(L, 10, 0.9, where);
  p.gamma2 = (float)mxb_opt_number(L, 11, 0.9, where);
  p.epsilon = (float)mxb_opt_number(L, 12, 1e-8, where);
  mxb_check(L, mx_optim_rmsprop_update(w, g, n, ga, d, &p), where);
  return 0;
}

/* core.optim_adagrad_update(weight, grad, history, lr, wd, rescale, clip, epsilon) */
static int l_adagrad(lua_State *L) {
  const char *where = "mx.optimizer.AdaGrad";
  mx_optim_param p = {0};
  mx_ndarray *w = mxb_check_ndarray(L, 1, where), *g = mxb_check_ndarray(L, 2, where);
  mx_ndarray *h = mxb_check_ndarray(L, 3, where);
  common(L, 4, &p, where);
  p.epsilon = (float)mxb_opt_number(L, 8, 1e-7, where);
  mxb_check(L, mx_optim_adagrad_update(w, g, h, &p), where);
  return 0;
}

/* core.metric_topk_hits(pred, label, k) -> number of rows whose label is in the top k */
static int l_topk_hits(lua_State *L) {
  const char *where = "mx.metric.Accuracy";
  mx_ndarray *pred = mxb_check_ndarray(L, 1, where), *label = mxb_check_ndarray(L, 2, where);
  int k = (int)mxb_opt_integer(L, 3, 1, where);
  int64_t hits = 0;
  mxb_check(L, mx_metric_topk_hits(pred, label, k, &hits), where);
  lua_pushinteger(L, (lua_Integer)hits);
  return 1;
}

void mxb_open_optimizer(lua_State *L) {
  static const luaL_Reg fns[] = {{"optim_sgd_update", l_sgd},
                                 {"optim_sgd_update_multi", l_sgd_multi},
                                 {"optim_adam_update", l_adam},
                                 {"optim_rmsprop_update", l_rmsprop},
                                 {"optim_adagrad_update", l_adagrad},
                                 {"metric_topk_hits", l_topk_hits},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
