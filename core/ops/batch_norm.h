/* batch_norm.h: BatchNorm's parameters, its view of the data, and its per-channel and
 * per-element math, written once for the CPU loops (batch_norm.c) and the CUDA kernels
 * (batch_norm.cu); each device sums a channel its own way (in double) and hands the sums
 * to these bodies. */
#ifndef MX_OPS_BATCH_NORM_H
#define MX_OPS_BATCH_NORM_H

#include "elementwise.h" /* MX_HOSTDEV */

typedef struct batch_norm_param {
  float eps, momentum;
  int fix_gamma, use_global_stats, output_mean_var;
  int64_t axis;
  int cudnn_off;
  const char *min_calib_range, *max_calib_range;
} batch_norm_param;

/* A call: data viewed as (outer, ch, inner) around the channel axis, and its parameters. */
typedef struct bn_args {
  int64_t outer, ch, inner;
  float eps, mom;
  int fix, batch, global;
} bn_args;

static inline bn_args bn_args_of(const mx_op_call *c) {
  const batch_norm_param *p = MX_PARAMS(batch_norm_param, c->attrs);
  bn_args a;
  int nd = mx_ndarray_ndim(c->in[0]);
  const int64_t *s = mx_ndarray_shape(c->in[0]);
  int64_t axis = p->axis < 0 ? p->axis + nd : p->axis;
  a.outer = a.inner = 1;
  for (int i = 0; i < axis; i++) a.outer *= s[i];
  for (int i = (int)axis + 1; i < nd; i++) a.inner *= s[i];
  a.ch = s[axis];
  a.eps = p->eps;
  a.mom = p->momentum;
  a.fix = p->fix_gamma;
  a.global = p->use_global_stats;
  a.batch = c->is_train && !a.global;
  return a;
}

/* Channel k's statistics: the batch's from the sum s and the centred sum of squares s2 over
 * its m elements (the moving ones updated), or the moving ones; kept in mean/var for backward.
 * Then y = x * scale + shift. */
MX_HOSTDEV static inline void bn_channel(const bn_args *a, int64_t k, double s, double s2, double m, const float *gamma,
                                         const float *beta, float *mean, float *var, float *mm, float *mv, float *scale,
                                         float *shift) {
  float mu, v;
  if (a->batch) {
    mu = (float)(s / m);
    v = (float)(s2 / m);
    mm[k] = a->mom * mm[k] + (1.0f - a->mom) * mu;
    mv[k] = a->mom * mv[k] + (1.0f - a->mom) * v;
  } else {
    mu = mm[k];
    v = mv[k];
  }
  mean[k] = mu;
  var[k] = v;
  *scale = (a->fix ? 1.0f : gamma[k]) / sqrtf(v + a->eps);
  *shift = beta[k] - mu * *scale;
}

/* Backward of channel k, from the sums of dy (sdy) and of dy * xhat (sdyx) over its m
 * elements: the gamma and beta gradients, and dx = f * (dy - mdy - xhat * mdyx) (with
 * batch statistics; with the moving ones they are constants and dx = gamma/std * dy). */
typedef struct bn_grad {
  float dgamma, dbeta, f, mdy, mdyx;
} bn_grad;
MX_HOSTDEV static inline bn_grad bn_channel_grad(const bn_args *a, float g, float istd, double sdy, double sdyx,
                                                 double m) {
  bn_grad r;
  r.dgamma = a->fix ? 0.0f : (float)sdyx;
  r.dbeta = (float)sdy;
  r.f = g * istd;
  r.mdy = a->global ? 0.0f : (float)(sdy / m);
  r.mdyx = a->global ? 0.0f : (float)(sdyx / m);
  return r;
}
MX_HOSTDEV static inline float bn_dx(const bn_grad *r, float dy, float x, float mu, float istd) {
  return r->f * (dy - r->mdy - (x - mu) * istd * r->mdyx);
}

#endif
