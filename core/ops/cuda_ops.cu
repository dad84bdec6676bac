// cuda_ops.cu: the operators whose GPU code is CUDA of their own (the other core/ops/*.cu
// files), and the lookup the CUDA device answers mx_op_kernel_for with (device_cuda.cu's
// op_kernel slot). Operators written over the kernel table (table_op.h) are not here: their
// descriptors name one forward and backward for both devices.
#include "cuda_util.h"

#define GPU_KERNELS(var)                                                                           \
  mx_status mx_op_##var##_forward_gpu(const mx_op_call *c);                                        \
  mx_status mx_op_##var##_backward_gpu(const mx_op_call *c);
extern "C" {
GPU_KERNELS(activation)
GPU_KERNELS(batch_norm)
GPU_KERNELS(embedding)
GPU_KERNELS(leaky_relu)
GPU_KERNELS(pooling)
GPU_KERNELS(softmax_output)
GPU_KERNELS(softmax)
GPU_KERNELS(log_softmax)
GPU_KERNELS(plus)
GPU_KERNELS(minus)
GPU_KERNELS(mul)
GPU_KERNELS(div)
GPU_KERNELS(plus_scalar)
GPU_KERNELS(minus_scalar)
GPU_KERNELS(rminus_scalar)
GPU_KERNELS(mul_scalar)
GPU_KERNELS(div_scalar)
GPU_KERNELS(rdiv_scalar)
extern const mx_op mx_op_activation, mx_op_batch_norm, mx_op_embedding, mx_op_leaky_relu, mx_op_pooling,
    mx_op_softmax_output, mx_op_softmax_legacy, mx_op_softmax, mx_op_log_softmax, mx_op_softmax_activation,
    mx_op_plus, mx_op_minus, mx_op_mul, mx_op_div, mx_op_plus_scalar, mx_op_minus_scalar,
    mx_op_rminus_scalar, mx_op_mul_scalar, mx_op_div_scalar, mx_op_rdiv_scalar;
}

// an operator's descriptor, and the kernels of the .cu file that holds its GPU code
#define ENTRY(op, var) {&mx_op_##op, mx_op_##var##_forward_gpu, mx_op_##var##_backward_gpu}
static const struct {
  const mx_op *op;
  mx_op_kernel forward, backward;
} cuda_ops[] = {
    ENTRY(activation, activation),
    ENTRY(batch_norm, batch_norm),
    ENTRY(embedding, embedding),
    ENTRY(leaky_relu, leaky_relu),
    ENTRY(pooling, pooling),
    ENTRY(softmax_output, softmax_output),
    ENTRY(softmax_legacy, softmax_output), // the old name "Softmax": SoftmaxOutput's kernels
    ENTRY(softmax, softmax),
    ENTRY(log_softmax, log_softmax),
    ENTRY(softmax_activation, softmax), // softmax over an axis, as `softmax`
    ENTRY(plus, plus),
    ENTRY(minus, minus),
    ENTRY(mul, mul),
    ENTRY(div, div),
    ENTRY(plus_scalar, plus_scalar),
    ENTRY(minus_scalar, minus_scalar),
    ENTRY(rminus_scalar, rminus_scalar),
    ENTRY(mul_scalar, mul_scalar),
    ENTRY(div_scalar, div_scalar),
    ENTRY(rdiv_scalar, rdiv_scalar),
};

extern "C" mx_op_kernel mx_cuda_op_kernel(const mx_op *op, int backward) {
  for (size_t i = 0; i < sizeof cuda_ops / sizeof cuda_ops[0]; i++)
    if (cuda_ops[i].op == op) return backward ? cuda_ops[i].backward : cuda_ops[i].forward;
  return NULL;
}
