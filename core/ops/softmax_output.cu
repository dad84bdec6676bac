// softmax_output.cu: the launches of SoftmaxOutput (and Softmax), softmax and log_softmax
// on a GPU: one thread per softmax row (the data seen as (outer, k, inner)) or per
// element; the valid-label count is a one-block reduction. The math is softmax_output.h's,
// as on the CPU.
#include <math.h>

#include "cuda_util.h" /* first: the CUDA runtime, then the shared bodies */

#include "softmax_output.h"

// y = softmax(x) (or its log) over k for each of the outer * inner rows; x may be y
__global__ void softmax_rows_kernel(const float *x, float *y, int64_t outer, int64_t k, int64_t inner, int log_form) {
  MX_CUDA_LOOP(r, outer * inner) {
    int64_t base = r / inner * k * inner + r % inner;
    softmax_row(x + base, y + base, k, inner, log_form);
  }
}

// *count = the number of labels that are not `ignore` (one block)
__global__ void count_valid_kernel(const float *label, int64_t n, float ignore, unsigned long long *count) {
  __shared__ unsigned long long part[MX_CUDA_THREADS];
  unsigned long long c = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) c += label[i] != ignore;
  part[threadIdx.x] = c;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) *count = part[0];
}

struct grad_args {
  int64_t outer, k, inner;
  int dist, use_ignore;
  float ignore;
  double scale;                    // grad_scale with the fixed normalisations applied
  const unsigned long long *valid; // NULL, or the valid count to divide by too
};

// g = (p - onehot(label)) * scale [* og], one thread per element
__global__ void softmax_output_grad_kernel(mx_req r, const float *p, const float *label, const float *og, float *g,
                                           grad_args a) {
  MX_CUDA_LOOP(idx, a.outer * a.k * a.inner) {
    int64_t o = idx / (a.k * a.inner), j = idx / a.inner % a.k, in = idx % a.inner;
    double scale = a.scale;
    if (a.valid) scale /= (double)(*a.valid ? *a.valid : 1);
    float lab = a.dist ? 0.0f : label[o * a.inner + in];
    int skip = !a.dist && a.use_ignore && lab == a.ignore;
    mx_cuda_store(
        r, &g[idx],
        softmax_output_grad(p[idx], j, lab, a.dist ? label[idx] : 0.0f, a.dist, skip, scale, og ? og + idx : NULL));
  }
}

extern "C" mx_status mx_op_softmax_output_forward_gpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t outer, k, inner;
  mx_op_softmax_geometry(c->attrs, mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), &outer, &k, &inner);
  MX_CUDA_LAUNCH(softmax_rows_kernel, outer * inner, mx_op_data(c->in[0]), mx_op_data(c->out[0]), outer, k, inner, 0);
  return mx_cuda_op_status(c, "softmax_rows_kernel");
}

extern "C" mx_status mx_op_softmax_output_backward_gpu(const mx_op_call *c) {
  const mx_op_attrs *a = c->attrs;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  cudaStream_t stream = mx_cuda_stream();
  if (c->req[1] != MX_REQ_NULL && c->req[1] != MX_REQ_ADD) { /* the label gets no gradient */
    size_t bytes = (size_t)mx_op_size(c->in_grad[1]) * sizeof(float);
    cudaError_t e = bytes ? cudaMemsetAsync(mx_op_data(c->in_grad[1]), 0, bytes, stream) : cudaSuccess;
    if (e != cudaSuccess) return mx_cuda_op_fail(c, "cudaMemsetAsync", e);
  }
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  grad_args g;
  mx_op_softmax_geometry(a, mx_ndarray_shape(c->out[0]), mx_ndarray_ndim(c->out[0]), &g.outer, &g.k, &g.inner);
  int64_t n = g.outer * g.k * g.inner;
  const float *label = mx_op_data(c->in[1]);
  const float *og = c->out_grad ? (c->out_grad[0] ? mx_op_data(c->out_grad[0]) : NULL) : NULL;
  const softmax_output_param *prm = MX_PARAMS(softmax_output_param, a);
  g.ignore = prm->ignore_label;
  g.use_ignore = prm->use_ignore;
  g.dist = mx_op_size(c->in[1]) == n; /* label is a distribution: every row counts */
  g.valid = NULL;
  g.scale = softmax_output_scale(prm, g.outer, g.inner, g.dist ? g.outer * g.inner : -1);
  if (prm->normalization == NORM_VALID && !g.dist) { /* the valid labels are counted on the device */
    unsigned long long *count = mx_cuda_scratch();
    if (!count) return mx_cuda_op_status(c, "mx_cuda_scratch"); /* its failure is pending */
    MX_CUDA_KERNEL(count_valid_kernel, 1, MX_CUDA_THREADS, 0, stream)(label, mx_op_size(c->in[1]), g.ignore, count);
    mx_cuda_note_launch("count_valid_kernel");
    g.valid = count;
  }
  MX_CUDA_LAUNCH(softmax_output_grad_kernel, n, r, mx_op_data(c->out[0]), label, og, mx_op_data(c->in_grad[0]), g);
  return mx_cuda_op_status(c, "softmax_output_grad_kernel");
}

/* ---- softmax / log_softmax over one axis ---- */

/* softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - e^y sum(dy). */
__global__ void softmax_axis_bwd_kernel(mx_req r, const float *y, const float *dy, float *dx, int64_t outer, int64_t k,
                                        int64_t inner, int log_form) {
  MX_CUDA_LOOP(row, outer * inner) {
    int64_t base = row / inner * k * inner + row % inner;
    double s = softmax_row_grad_sum(y + base, dy + base, k, inner, log_form);
    for (int64_t j = 0; j < k; j++) {
      int64_t i = base + j * inner;
      mx_cuda_store(r, &dx[i], softmax_grad(y[i], dy[i], s, log_form));
    }
  }
}

static mx_status axis_forward(const mx_op_call *c, int log_form) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int64_t outer, k, inner;
  mx_status st = mx_op_softmax_axis_geometry(c, c->in[0], &outer, &k, &inner);
  if (st != MX_OK) return st;
  if (c->req[0] == MX_REQ_ADD)
    return mx_op_error(c->attrs, MX_ERR_ARG, "request 'add' is not supported");
  st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  MX_CUDA_LAUNCH(softmax_rows_kernel, outer * inner, mx_op_data(c->in[0]), mx_op_data(c->out[0]), outer, k, inner,
                 log_form);
  return mx_cuda_op_status(c, "softmax_rows_kernel");
}

static mx_status axis_backward(const mx_op_call *c, int log_form) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int64_t outer, k, inner;
  mx_status st = mx_op_softmax_axis_geometry(c, c->out[0], &outer, &k, &inner);
  if (st != MX_OK) return st;
  st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  MX_CUDA_LAUNCH(softmax_axis_bwd_kernel, outer * inner, c->req[0], mx_op_data(c->out[0]), mx_op_data(c->out_grad[0]),
                 mx_op_data(c->in_grad[0]), outer, k, inner, log_form);
  return mx_cuda_op_status(c, "softmax_axis_bwd_kernel");
}

extern "C" mx_status mx_op_softmax_forward_gpu(const mx_op_call *c) {
  return axis_forward(c, 0);
}
extern "C" mx_status mx_op_softmax_backward_gpu(const mx_op_call *c) {
  return axis_backward(c, 0);
}
extern "C" mx_status mx_op_log_softmax_forward_gpu(const mx_op_call *c) {
  return axis_forward(c, 1);
}
extern "C" mx_status mx_op_log_softmax_backward_gpu(const mx_op_call *c) {
  return axis_backward(c, 1);
}
