/* optimizer.c: fused optimizer updates (SGD as MXNet, Adam, RMSProp, AdaGrad):
 * argument checks, dispatch through the weight's device (its `optim` slots), and
 * the CPU device's kernels. */
#include <math.h>

#include "internal.h"
#include "optimizer.h"
#include "simd.h"

/* The parameters are copied into locals and the arrays marked restrict, so the
 * loops vectorize (a store through w could otherwise alias p->lr). `hi` is the
 * clip bound, +inf when clip_gradient <= 0 (no clipping, no branch in the loop). */
#define LOAD_PARAMS(p)                                                                             \
  const float lr = (p)->lr, wd = (p)->wd, rescale = (p)->rescale_grad;                             \
  const float hi = (p)->clip_gradient > 0 ? (p)->clip_gradient : INFINITY;                         \
  (void)lr, (void)wd

static inline float clip_grad(float g, float rescale, float hi) {
  g *= rescale;
  return g > hi ? hi : (g < -hi ? -hi : g);
}

MX_SIMD_CLONES static void sgd_span(float *restrict w, const float *restrict grad, float *restrict mom, int64_t n,
                                    const mx_optim_param *p) {
  LOAD_PARAMS(p);
  const float momentum = p->momentum;
  if (mom) {
    for (int64_t i = 0; i < n; i++) {
      float g = clip_grad(grad[i], rescale, hi);
      float m = momentum * mom[i] + -lr * (g + wd * w[i]);
      mom[i] = m;
      w[i] += m;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      float g = clip_grad(grad[i], rescale, hi);
      w[i] += -lr * (g + wd * w[i]);
    }
  }
}

/* A weight this large is updated by the engine's team (team.c), in parts of whole cache lines:
 * the GEMMs before it left its gradient half in each core's cache. */
enum { SGD_TEAM_FROM = 32768 };
typedef struct {
  float *w;
  const float *grad;
  float *mom;
  int64_t n;
  const mx_optim_param *p;
} sgd_job;

static void sgd_part(void *ctx, int part, int parts) {
  const sgd_job *j = ctx;
  int64_t per = (j->n + parts - 1) / parts;
  per = (per + 15) / 16 * 16;
  int64_t lo = per * part, hi = lo + per < j->n ? lo + per : j->n;
  if (lo < hi) sgd_span(j->w + lo, j->grad + lo, j->mom ? j->mom + lo : NULL, hi - lo, j->p);
}

static void cpu_sgd(float *w, const float *grad, float *mom, int64_t n, const mx_optim_param *p) {
  sgd_job j = {w, grad, mom, n, p};
  if (n < SGD_TEAM_FROM) sgd_span(w, grad, mom, n, p);
  else mx_team_run(sgd_part, &j, mx_team_size());
}

MX_SIMD_CLONES static void cpu_adam(float *restrict w, const float *restrict grad, float *restrict mean,
                     float *restrict var, int64_t n, const mx_optim_param *p) {
  LOAD_PARAMS(p);
  const float b1 = p->beta1, b2 = p->beta2, eps = p->epsilon;
  for (int64_t i = 0; i < n; i++) {
    float g = clip_grad(grad[i], rescale, hi) + wd * w[i];
    float m = b1 * mean[i] + (1.0f - b1) * g;
    float v = b2 * var[i] + (1.0f - b2) * g * g;
    mean[i] = m, var[i] = v;
    w[i] -= lr * m / (sqrtf(v) + eps);
  }
}

MX_SIMD_CLONES static void cpu_rmsprop(float *restrict w, const float *restrict grad, float *restrict nsq,
                        float *restrict g_avg, float *restrict delta, int64_t n,
                        const mx_optim_param *p) {
  LOAD_PARAMS(p);
  const float g1 = p->gamma1, g2 = p->gamma2, eps = p->epsilon;
  if (g_avg) { /* centered (Graves) */
    for (int64_t i = 0; i < n; i++) {
      float g = clip_grad(grad[i], rescale, hi) + wd * w[i];
      float s = (1.0f - g1) * g * g + g1 * nsq[i];
      float a = (1.0f - g1) * g + g1 * g_avg[i];
      float d = g2 * delta[i] - lr * g / sqrtf(s - a * a + eps);
      nsq[i] = s, g_avg[i] = a, delta[i] = d;
      w[i] += d;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      float g = clip_grad(grad[i], rescale, hi) + wd * w[i];
      float s = (1.0f - g1) * g * g + g1 * nsq[i];
      nsq[i] = s;
      w[i] -= lr * g / sqrtf(s + eps);
    }
  }
}

MX_SIMD_CLONES static void cpu_adagrad(float *restrict w, const float *restrict grad, float *restrict history,
                        int64_t n, const mx_optim_param *p) {
  LOAD_PARAMS(p);
  const float eps = p->epsilon;
  for (int64_t i = 0; i < n; i++) {
    float g = clip_grad(grad[i], rescale, hi);
    float h = history[i] + g * g;
    history[i] = h;
    w[i] += -lr * (g / sqrtf(h + eps) + wd * w[i]);
  }
}

const mx_optim_kernels mx_optim_cpu_kernels = {cpu_sgd, cpu_adam, cpu_rmsprop, cpu_adagrad};

/* The weight's device's optimizer kernels, after checking that every other
 * array (NULL entries skipped) has the weight's size and context. */
static mx_status prepare(const char *where, const mx_ndarray *w, const mx_ndarray *const *others,
                         const char *const *names, int n_others, const mx_optim_param *p,
                         const mx_optim_kernels **out) {
  if (!w || !p) return mx_error_at(MX_ERR_ARG, where, "weight and parameters are required");
  char sa[64], sb[64], ca[16], cb[16];
  mx_context ctx = mx_ndarray_context(w);
  for (int i = 0; i < n_others; i++) {
    const mx_ndarray *a = others[i];
    if (!a) continue;
    if (mx_ndarray_size(a) != mx_ndarray_size(w))
      return mx_error_at(MX_ERR_SHAPE, where, "%s shape %s does not match weight shape %s",
                      names[i],
                      mx_shape_str(mx_ndarray_shape(a), mx_ndarray_ndim(a), sa, sizeof sa),
                      mx_shape_str(mx_ndarray_shape(w), mx_ndarray_ndim(w), sb, sizeof sb));
    mx_context c = mx_ndarray_context(a);
    if (c.dev_type != ctx.dev_type || c.dev_id != ctx.dev_id)
      return mx_error_at(MX_ERR_DEVICE, where, "%s is on %s but the weight is on %s", names[i],
                      mx_context_str(c, ca, sizeof ca), mx_context_str(ctx, cb, sizeof cb));
  }
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, where);
  if (!dev->optim)
    return mx_error_at(MX_ERR_DEVICE, where, "no optimizer kernel for %s in this build",
                    mx_context_str(ctx, ca, sizeof ca));
  *out = dev->optim;
  return MX_OK;
}

mx_status mx_optim_sgd_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *mom,
                              const mx_optim_param *p) {
  const mx_optim_kernels *k = NULL;
  const mx_ndarray *others[] = {grad, mom};
  const char *names[] = {"gradient", "momentum state"};
  if (!grad) return mx_error_at(MX_ERR_ARG, "mx_optim_sgd_update", "no gradient given");
  mx_status st = prepare("mx_optim_sgd_update", weight, others, names, 2, p, &k);
  if (st != MX_OK) return st;
  k->sgd(mx_ndarray_data(weight), mx_ndarray_data((mx_ndarray *)grad),
         mom ? mx_ndarray_data(mom) : NULL, mx_ndarray_size(weight), p);
  return MX_OK;
}

mx_status mx_optim_adam_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *mean,
                               mx_ndarray *var, const mx_optim_param *p) {
  const mx_optim_kernels *k = NULL;
  const mx_ndarray *others[] = {grad, mean, var};
  const char *names[] = {"gradient", "mean state", "variance state"};
  if (!grad || !mean || !var)
    return mx_error_at(MX_ERR_ARG, "mx_optim_adam_update", "gradient, mean and variance are required");
  mx_status st = prepare("mx_optim_adam_update", weight, others, names, 3, p, &k);
  if (st != MX_OK) return st;
  k->adam(mx_ndarray_data(weight), mx_ndarray_data((mx_ndarray *)grad), mx_ndarray_data(mean),
          mx_ndarray_data(var), mx_ndarray_size(weight), p);
  return MX_OK;
}

mx_status mx_optim_rmsprop_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *n,
                                  mx_ndarray *g_avg, mx_ndarray *delta, const mx_optim_param *p) {
  const mx_optim_kernels *k = NULL;
  const mx_ndarray *others[] = {grad, n, g_avg, delta};
  const char *names[] = {"gradient", "n state", "g state", "delta state"};
  if (!grad || !n)
    return mx_error_at(MX_ERR_ARG, "mx_optim_rmsprop_update", "gradient and n state are required");
  if (!g_avg != !delta)
    return mx_error_at(MX_ERR_ARG,
                    "mx_optim_rmsprop_update", "the centered form needs both g and delta states");
  mx_status st = prepare("mx_optim_rmsprop_update", weight, others, names, 4, p, &k);
  if (st != MX_OK) return st;
  k->rmsprop(mx_ndarray_data(weight), mx_ndarray_data((mx_ndarray *)grad), mx_ndarray_data(n),
             g_avg ? mx_ndarray_data(g_avg) : NULL, delta ? mx_ndarray_data(delta) : NULL,
             mx_ndarray_size(weight), p);
  return MX_OK;
}

mx_status mx_optim_adagrad_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *history,
                                  const mx_optim_param *p) {
  const mx_optim_kernels *k = NULL;
  const mx_ndarray *others[] = {grad, history};
  const char *names[] = {"gradient", "history state"};
  if (!grad || !history)
    return mx_error_at(MX_ERR_ARG, "mx_optim_adagrad_update", "gradient and history are required");
  mx_status st = prepare("mx_optim_adagrad_update", weight, others, names, 2, p, &k);
  if (st != MX_OK) return st;
  k->adagrad(mx_ndarray_data(weight), mx_ndarray_data((mx_ndarray *)grad), mx_ndarray_data(history),
             mx_ndarray_size(weight), p);
  return MX_OK;
}

/* ---- one call for all of a network's parameters ---- */

mx_status mx_optim_sgd_update_multi(mx_ndarray *const *weights, mx_ndarray *const *grads,
                                    mx_ndarray *const *moms, const float *lrs, const float *wds,
                                    int n, const mx_optim_param *p) {
  const char *where = "mx_optim_sgd_update_multi";
  const char *names[] = {"gradient", "momentum state"};
  if (n < 0 || (n > 0 && (!weights || !grads || !lrs || !wds)))
    return mx_error_at(MX_ERR_ARG, where, "weights, gradients, lrs and wds are required (got n %d)", n);
  for (int i = 0; i < n; i++) {
    const mx_optim_kernels *k;
    const mx_ndarray *others[] = {grads[i], moms ? moms[i] : NULL};
    if (!grads[i]) return mx_error_at(MX_ERR_ARG, where, "no gradient given for parameter %d", i);
    mx_status st = prepare(where, weights[i], others, names, 2, p, &k);
    if (st != MX_OK) return st;
  }
  for (int i = 0; i < n; i++) {
    const mx_optim_kernels *k;
    const mx_ndarray *others[] = {grads[i], moms ? moms[i] : NULL};
    prepare(where, weights[i], others, names, 2, p, &k); /* checked above: picks the kernels */
    mx_optim_param q = *p;
    q.lr = lrs[i], q.wd = wds[i];
    mx_ndarray *m = moms ? moms[i] : NULL;
    k->sgd(mx_ndarray_data(weights[i]), mx_ndarray_data(grads[i]), m ? mx_ndarray_data(m) : NULL,
           mx_ndarray_size(weights[i]), &q);
  }
  return MX_OK;
}
