// softmax_output.cu: SoftmaxOutput (and Softmax), softmax and log_softmax on a
// GPU: one thread per softmax row (the data seen as (outer, k, inner)), sums in
// double as softmax_output.c; the valid-label count is a one-block reduction.
#include <math.h>

#include "cuda_util.h"

// softmax_output.c's parameters, in order
enum { P_GRAD_SCALE, P_IGNORE_LABEL, P_MULTI_OUTPUT, P_USE_IGNORE, P_PRESERVE_SHAPE, P_NORMALIZATION, P_OUT_GRAD };
enum { NORM_NULL, NORM_BATCH, NORM_VALID };

// softmax_output.c's (outer, k, inner) views of the data, for both devices
extern "C" void mx_op_softmax_geometry(const mx_op_attrs *a, const int64_t *shape, int ndim, int64_t *outer,
                                       int64_t *k, int64_t *inner);
extern "C" mx_status mx_op_softmax_axis_geometry(const mx_op_call *c, const mx_ndarray *arr, int64_t *outer,
                                                 int64_t *k, int64_t *inner);

// y = softmax(x) (or its log) over k for each of the outer * inner rows; x may be y
__global__ void softmax_rows_kernel(const float *x, float *y, int64_t outer, int64_t k, int64_t inner, int log_form) {
  MX_CUDA_LOOP(r, outer * inner) {
    int64_t o = r / inner, in = r % inner;
    const float *xr = x + o * k * inner + in;
    float *yr = y + o * k * inner + in;
    float mx = xr[0];
    for (int64_t j = 1; j < k; j++) mx = xr[j * inner] > mx ? xr[j * inner] : mx;
    double sum = 0;
    for (int64_t j = 0; j < k; j++) sum += exp((double)(xr[j * inner] - mx));
    if (log_form) {
      float lse = mx + (float)log(sum);
      for (int64_t j = 0; j < k; j++) yr[j * inner] = xr[j * inner] - lse;
    } else {
      for (int64_t j = 0; j < k; j++) yr[j * inner] = (float)(exp((double)(xr[j * inner] - mx)) / sum);
    }
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
  double scale;                     // grad_scale with the fixed normalisations applied
  const unsigned long long *valid;  // NULL, or the valid count to divide by too
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
    float v;
    if (skip) v = 0.0f;
    else if (a.dist) v = p[idx] - label[idx];
    else v = p[idx] - ((int64_t)lab == j ? 1.0f : 0.0f);
    v = (float)(v * scale);
    if (og) v *= og[idx];
    mx_cuda_store(r, &g[idx], v);
  }
}

extern "C" mx_status mx_op_softmax_output_forward_gpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  int64_t outer, k, inner;
  mx_op_softmax_geometry(c->attrs, mx_ndarray_shape(c->in[0]), mx_ndarray_ndim(c->in[0]), &outer, &k, &inner);
  MX_CUDA_LAUNCH(softmax_rows_kernel, outer * inner, mx_op_data(c->in[0]), mx_op_data(c->out[0]), outer, k, inner, 0);
  return mx_cuda_launch_status(c->attrs->op->name, "softmax_rows_kernel");
}

extern "C" mx_status mx_op_softmax_output_backward_gpu(const mx_op_call *c) {
  const mx_op_attrs *a = c->attrs;
  mx_status st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  cudaStream_t stream = mx_cuda_stream();
  if (c->req[1] != MX_REQ_NULL && c->req[1] != MX_REQ_ADD) { /* the label gets no gradient */
    size_t bytes = (size_t)mx_op_size(c->in_grad[1]) * sizeof(float);
    cudaError_t e = bytes ? cudaMemsetAsync(mx_op_data(c->in_grad[1]), 0, bytes, stream) : cudaSuccess;
    if (e != cudaSuccess) return mx_cuda_fail(a->op->name, "cudaMemsetAsync", e);
  }
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  grad_args g;
  mx_op_softmax_geometry(a, mx_ndarray_shape(c->out[0]), mx_ndarray_ndim(c->out[0]), &g.outer, &g.k, &g.inner);
  int64_t n = g.outer * g.k * g.inner;
  const float *label = mx_op_data(c->in[1]);
  const float *og = c->out_grad ? (c->out_grad[0] ? mx_op_data(c->out_grad[0]) : NULL) : NULL;
  g.ignore = MX_PFLOAT(a, P_IGNORE_LABEL);
  g.use_ignore = MX_PBOOL(a, P_USE_IGNORE);
  g.dist = mx_op_size(c->in[1]) == n; /* label is a distribution */
  g.valid = NULL;
  g.scale = MX_PFLOAT(a, P_GRAD_SCALE);
  switch ((int)MX_PINT(a, P_NORMALIZATION)) {
  case NORM_BATCH: g.scale /= (double)g.outer; break;
  case NORM_VALID:
    if (g.dist) { /* every row of a distribution counts */
      int64_t rows = g.outer * g.inner;
      g.scale /= (double)(rows > 0 ? rows : 1);
    } else {
      unsigned long long *count = mx_cuda_scratch();
      if (!count) return mx_cuda_take_pending(a->op->name);
      MX_CUDA_KERNEL(count_valid_kernel, 1, MX_CUDA_THREADS, 0, stream)(label, mx_op_size(c->in[1]), g.ignore, count);
      mx_cuda_note_launch("count_valid_kernel");
      g.valid = count;
    }
    break;
  }
  if (MX_PBOOL(a, P_MULTI_OUTPUT) && MX_PINT(a, P_NORMALIZATION) != NORM_VALID) g.scale /= (double)g.inner;
  MX_CUDA_LAUNCH(softmax_output_grad_kernel, n, r, mx_op_data(c->out[0]), label, og, mx_op_data(c->in_grad[0]), g);
  return mx_cuda_launch_status(a->op->name, "softmax_output_grad_kernel");
}

/* ---- softmax / log_softmax over one axis ---- */

/* softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - e^y sum(dy). */
__global__ void softmax_axis_bwd_kernel(mx_req r, const float *y, const float *dy, float *dx, int64_t outer, int64_t k,
                                        int64_t inner, int log_form) {
  MX_CUDA_LOOP(row, outer * inner) {
    int64_t base = row / inner * k * inner + row % inner;
    double s = 0;
    for (int64_t j = 0; j < k; j++) s += log_form ? dy[base + j * inner] : dy[base + j * inner] * y[base + j * inner];
    for (int64_t j = 0; j < k; j++) {
      int64_t i = base + j * inner;
      float v = log_form ? dy[i] - expf(y[i]) * (float)s : y[i] * (dy[i] - (float)s);
      mx_cuda_store(r, &dx[i], v);
    }
  }
}

static mx_status axis_forward(const mx_op_call *c, int log_form) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int64_t outer, k, inner;
  mx_status st = mx_op_softmax_axis_geometry(c, c->in[0], &outer, &k, &inner);
  if (st != MX_OK) return st;
  if (c->req[0] == MX_REQ_ADD) return mx_error(MX_ERR_ARG, "%s: request 'add' is not supported", c->attrs->op->name);
  st = mx_cuda_enter(c);
  if (st != MX_OK) return st;
  MX_CUDA_LAUNCH(softmax_rows_kernel, outer * inner, mx_op_data(c->in[0]), mx_op_data(c->out[0]), outer, k, inner,
                 log_form);
  return mx_cuda_launch_status(c->attrs->op->name, "softmax_rows_kernel");
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
  return mx_cuda_launch_status(c->attrs->op->name, "softmax_axis_bwd_kernel");
}

extern "C" mx_status mx_op_softmax_forward_gpu(const mx_op_call *c) { return axis_forward(c, 0); }
extern "C" mx_status mx_op_softmax_backward_gpu(const mx_op_call *c) { return axis_backward(c, 0); }
extern "C" mx_status mx_op_log_softmax_forward_gpu(const mx_op_call *c) { return axis_forward(c, 1); }
extern "C" mx_status mx_op_log_softmax_backward_gpu(const mx_op_call *c) { return axis_backward(c, 1); }
