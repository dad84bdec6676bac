/* activation.h: Activation's parameters and its per-element math (forward from x, backward
 * from the output y), written once for the CPU loops (activation.c) and the CUDA kernels
 * (activation.cu). */
#ifndef MX_OPS_ACTIVATION_H
#define MX_OPS_ACTIVATION_H

#include "elementwise.h"

typedef struct activation_param {
  int act_type;
} activation_param;
enum {
  ACT_RELU,
  ACT_SIGMOID,
  ACT_TANH,
  ACT_SOFTRELU,
  ACT_SOFTSIGN,
  ACT_LOG_SIGMOID,
  ACT_MISH
}; /* act_type's choices */
/* X(type) for each act_type that runs (mish is refused at bind) */
#define ACTIVATION_TYPES(X) X(ACT_RELU) X(ACT_SIGMOID) X(ACT_TANH) X(ACT_SOFTRELU) X(ACT_SOFTSIGN) X(ACT_LOG_SIGMOID)

MX_HOSTDEV static inline float activation_fwd(int type, float x) {
  switch (type) {
  case ACT_RELU: return mx_ew_relu(x);
  case ACT_SIGMOID: return mx_ew_sigmoid(x);
  case ACT_TANH: return mx_ew_tanh(x);
  case ACT_SOFTSIGN: return mx_ew_softsign(x);
  case ACT_LOG_SIGMOID: return mx_ew_log_sigmoid(x);
  default: return mx_ew_softrelu(x);
  }
}

/* dx from the output y and dy; relu's mask is a multiplication, so a CPU loop has no branch. */
MX_HOSTDEV static inline float activation_bwd(int type, float y, float dy) {
  switch (type) {
  case ACT_RELU: return (float)(y > 0.0f) * dy;
  case ACT_SIGMOID: return dy * mx_ew_sigmoid_grad_y(y);
  case ACT_TANH: return dy * mx_ew_tanh_grad_y(y);
  case ACT_SOFTSIGN: return dy * mx_ew_softsign_grad_y(y);
  case ACT_LOG_SIGMOID: return dy * mx_ew_log_sigmoid_grad_y(y);
  default: return dy * (1.0f - expf(-y)); /* softrelu: sigmoid(x) = 1 - e^-y */
  }
}

#endif
