// optimizer_cuda.cu: the fused optimizer updates on a GPU (mx_optim_cuda_kernels),
// one thread per element, the same arithmetic as optimizer.c's CPU loops.
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

__global__ void sgd_kernel(float *w, const float *grad, float *mom, int64_t n, mx_optim_param p) {
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

__global__ void adam_kernel(float *w, const float *grad, float *mean, float *var, int64_t n, mx_optim_param p) {
  MX_CUDA_LOOP(i, n) {
    float g = clip_grad(grad[i], p) + p.wd * w[i];
    mean[i] = p.beta1 * mean[i] + (1.0f - p.beta1) * g;
    var[i] = p.beta2 * var[i] + (1.0f - p.beta2) * g * g;
    w[i] -= p.lr * mean[i] / (sqrtf(var[i]) + p.epsilon);
  }
}

__global__ void rmsprop_kernel(float *w, const float *grad, float *nsq, float *g_avg, float *delta, int64_t n,
                               mx_optim_param p) {
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

__global__ void adagrad_kernel(float *w, const float *grad, float *history, int64_t n, mx_optim_param p) {
  MX_CUDA_LOOP(i, n) {
    float g = clip_grad(grad[i], p);
    history[i] += g * g;
    w[i] += -p.lr * (g / sqrtf(history[i] + p.epsilon) + p.wd * w[i]);
  }
}

// The parameters travel by value: p points to host memory.
static void cuda_sgd(float *w, const float *grad, float *mom, int64_t n, const mx_optim_param *p) {
  mx_cuda_device_of(w);
  MX_CUDA_LAUNCH(sgd_kernel, n, w, grad, mom, n, *p);
}
static void cuda_adam(float *w, const float *grad, float *mean, float *var, int64_t n, const mx_optim_param *p) {
  mx_cuda_device_of(w);
  MX_CUDA_LAUNCH(adam_kernel, n, w, grad, mean, var, n, *p);
}
static void cuda_rmsprop(float *w, const float *grad, float *nsq, float *g_avg, float *delta, int64_t n,
                         const mx_optim_param *p) {
  mx_cuda_device_of(w);
  MX_CUDA_LAUNCH(rmsprop_kernel, n, w, grad, nsq, g_avg, delta, n, *p);
}
static void cuda_adagrad(float *w, const float *grad, float *history, int64_t n, const mx_optim_param *p) {
  mx_cuda_device_of(w);
  MX_CUDA_LAUNCH(adagrad_kernel, n, w, grad, history, n, *p);
}

extern "C" const mx_optim_kernels mx_optim_cuda_kernels = {cuda_sgd, cuda_adam, cuda_rmsprop, cuda_adagrad};
