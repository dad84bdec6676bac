// regression_output.cu: LinearRegressionOutput, LogisticRegressionOutput and
// MAERegressionOutput on a GPU, one thread per element, as regression_output.c.
#include "cuda_util.h"
#include "elementwise.h"

enum { P_GRAD_SCALE };          // regression_output.c's parameter
enum { LINEAR, LOGISTIC, MAE }; // and kinds

__global__ void regression_fwd_kernel(int kind, mx_req r, const float *x, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) mx_cuda_store(r, &y[i], kind == LOGISTIC ? mx_ew_sigmoid(x[i]) : x[i]);
}

__global__ void regression_bwd_kernel(int kind, mx_req r, const float *y, const float *label, float scale, float *g,
                                      int64_t n) {
  MX_CUDA_LOOP(i, n) {
    float d = y[i] - label[i];
    mx_cuda_store(r, &g[i], scale * (kind == MAE ? mx_ew_sign(d) : d));
  }
}

static mx_status forward(const mx_op_call *c, int kind) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[0]);
  MX_CUDA_LAUNCH(regression_fwd_kernel, n, kind, c->req[0], mx_op_data(c->in[0]), mx_op_data(c->out[0]), n);
  return mx_cuda_launch_status(c->attrs->op->name, "regression_fwd_kernel");
}

static mx_status backward(const mx_op_call *c, int kind) {
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  if (c->req[1] != MX_REQ_NULL && c->req[1] != MX_REQ_ADD) { /* the label gets no gradient */
    size_t bytes = (size_t)mx_op_size(c->in_grad[1]) * sizeof(float);
    cudaError_t e = bytes ? cudaMemsetAsync(mx_op_data(c->in_grad[1]), 0, bytes, mx_cuda_stream()) : cudaSuccess;
    if (e != cudaSuccess) return mx_cuda_fail(c->attrs->op->name, "cudaMemsetAsync", e);
  }
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  int64_t n = mx_op_size(c->out[0]), per_example = n / mx_ndarray_shape(c->in[1])[0];
  float scale = MX_PFLOAT(c->attrs, P_GRAD_SCALE) / (float)per_example;
  MX_CUDA_LAUNCH(regression_bwd_kernel, n, kind, r, mx_op_data(c->out[0]), mx_op_data(c->in[1]), scale,
                 mx_op_data(c->in_grad[0]), n);
  return mx_cuda_launch_status(c->attrs->op->name, "regression_bwd_kernel");
}

extern "C" mx_status mx_op_linear_regression_forward_gpu(const mx_op_call *c) { return forward(c, LINEAR); }
extern "C" mx_status mx_op_linear_regression_backward_gpu(const mx_op_call *c) { return backward(c, LINEAR); }
extern "C" mx_status mx_op_logistic_regression_forward_gpu(const mx_op_call *c) { return forward(c, LOGISTIC); }
extern "C" mx_status mx_op_logistic_regression_backward_gpu(const mx_op_call *c) { return backward(c, LOGISTIC); }
extern "C" mx_status mx_op_mae_regression_forward_gpu(const mx_op_call *c) { return forward(c, MAE); }
extern "C" mx_status mx_op_mae_regression_backward_gpu(const mx_op_call *c) { return backward(c, MAE); }
