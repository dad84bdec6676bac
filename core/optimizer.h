/* optimizer.h: the fused optimizer kernels of a device (its mx_device's `optim` slots;
 * optimizer.c holds the CPU's, optimizer_cuda.cu the GPU's). */
#ifndef MX_OPTIMIZER_H
#define MX_OPTIMIZER_H

#include "mx.h"

/* Each kernel makes one pass over n elements of device memory. */
typedef struct mx_optim_kernels {
  void (*sgd)(float *w, const float *grad, float *mom, int64_t n,
              const mx_optim_param *p); /* mom may be NULL */
  void (*adam)(float *w, const float *grad, float *mean, float *var, int64_t n,
               const mx_optim_param *p);
  void (*rmsprop)(float *w, const float *grad, float *nsq, float *g_avg, float *delta, int64_t n,
                  const mx_optim_param *p); /* g_avg, delta NULL: plain RMSProp */
  void (*adagrad)(float *w, const float *grad, float *history, int64_t n, const mx_optim_param *p);
} mx_optim_kernels;

#ifdef __cplusplus
extern "C" {
#endif
extern const mx_optim_kernels mx_optim_cpu_kernels;
extern const mx_optim_kernels mx_optim_cuda_kernels;
#ifdef __cplusplus
}
#endif

#endif
