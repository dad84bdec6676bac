// optimizer_cuda.cu: the fused optimizer updates on a GPU (mx_optim_cuda_kernels),
// one thread per element, the same arithmetic as optimizer.c's CPU loops. Each
// kernel takes its hyper-parameters by value (pv), or, when recorded into a CUDA
// graph, reads them at run time from the graph's parameter block (dp), which the
// host refreshes before each launch (cuda_graph.cu says why and how).
#include <math.h>

#include "cuda_util.h"

extern "C" {
#include "optimizer.h"
}

__device__ static inline float clip_grad(float g, const mx_optim_param &p) {
  g *= p.rescale_grad;
  if (p.clip_gradient > 0) g = g > p.clip_gradient ? p.clip_gradient : (g < -p.clip_gradient ? -p.clip_gradient : g);
  return g;
}

__global__ void sgd_kernel(float *w, const float *grad, float *mom, int64_t n, mx_optim_param pv,
                           const mx_optim_param *dp) {
  const mx_optim_param p = dp ? *dp : pv;
  MX_CUDA_LOOP(i, n) {
    float g = clip_grad(grad[i], p);
    if (mom) {
      mom[i] = p.momentum * mom[i] + -p.lr * (g + p.wd * w[i]);
      w[i] += mom[i];
    } else {
      w[i] += -p.lr * (g + p.wd * w[i]);
    }
  }
}

__global__ void adam_kernel(float *w, const float *grad, float *mean, float *var, int64_t n,
                            mx_optim_param pv, const mx_optim_param *dp) {
  const mx_optim_param p = dp ? *dp : pv;
  MX_CUDA_LOOP(i, n) {
    float g = clip_grad(grad[i], p) + p.wd * w[i];
    mean[i] = p.beta1 * mean[i] + (1.0f - p.beta1) * g;
    var[i] = p.beta2 * var[i] + (1.0f - p.beta2) * g * g;
    w[i] -= p.lr * mean[i] / (sqrtf(var[i]) + p.epsilon);
  }
}

__global__ void rmsprop_kernel(float *w, const float *grad, float *nsq, float *g_avg, float *delta,
                               int64_t n, mx_optim_param pv, const mx_optim_param *dp) {
  const mx_optim_param p = dp ? *dp : pv;
  MX_CUDA_LOOP(i, n) {
    float g = clip_grad(grad[i], p) + p.wd * w[i];
    nsq[i] = (1.0f - p.gamma1) * g * g + p.gamma1 * nsq[i];
    if (g_avg) {
      g_avg[i] = (1.0f - p.gamma1) * g + p.gamma1 * g_avg[i];
      delta[i] = p.gamma2 * delta[i] - p.lr * g / sqrtf(nsq[i] - g_avg[i] * g_avg[i] + p.epsilon);
      w[i] += delta[i];
    } else {
      w[i] -= p.lr * g / sqrtf(nsq[i] + p.epsilon);
    }
  }
}

__global__ void adagrad_kernel(float *w, const float *grad, float *history, int64_t n,
                               mx_optim_param pv, const mx_optim_param *dp) {
  const mx_optim_param p = dp ? *dp : pv;
  MX_CUDA_LOOP(i, n) {
    float g = clip_grad(grad[i], p);
    history[i] += g * g;
    w[i] += -p.lr * (g / sqrtf(history[i] + p.epsilon) + p.wd * w[i]);
  }
}

// A launch of an update kernel; nothing when a CUDA graph is being refreshed.
#define OPTIM_LAUNCH(kernel, n, p, ...)                                                            \
  do {                                                                                             \
    const void *dp_ = NULL;                                                                        \
    if (mx_cuda_graph_param(p, sizeof *(p), &dp_)) break;                                          \
    MX_CUDA_LAUNCH(kernel, n, __VA_ARGS__, *(p), (const mx_optim_param *)dp_);                     \
  } while (0)

static void cuda_sgd(float *w, const float *grad, float *mom, int64_t n, const mx_optim_param *p) {
  mx_cuda_device_of(w);
  OPTIM_LAUNCH(sgd_kernel, n, p, w, grad, mom, n);
}
static void cuda_adam(float *w, const float *grad, float *mean, float *var, int64_t n,
                      const mx_optim_param *p) {
  mx_cuda_device_of(w);
  OPTIM_LAUNCH(adam_kernel, n, p, w, grad, mean, var, n);
}
static void cuda_rmsprop(float *w, const float *grad, float *nsq, float *g_avg, float *delta,
                         int64_t n, const mx_optim_param *p) {
  mx_cuda_device_of(w);
  OPTIM_LAUNCH(rmsprop_kernel, n, p, w, grad, nsq, g_avg, delta, n);
}
static void cuda_adagrad(float *w, const float *grad, float *history, int64_t n,
                         const mx_optim_param *p) {
  mx_cuda_device_of(w);
  OPTIM_LAUNCH(adagrad_kernel, n, p, w, grad, history, n);
}

extern "C" const mx_optim_kernels mx_optim_cuda_kernels = {cuda_sgd, cuda_adam, cuda_rmsprop,
                                                           cuda_adagrad};
