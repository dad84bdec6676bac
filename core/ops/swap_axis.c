/* swap_axis.c: SwapAxis: exchanges axes dim1 and dim2 (0-based, as in MXNet); the data is
 * copied as (a, d1, b, d2, c) -> (a, d2, b, d1, c), and the gradient swaps back. */
#include "operator.h"

enum { P_DIM1, P_DIM2 };
static const mx_param_desc params[] = {
    {"dim1", MX_PARAM_INT, "0", NULL, "the first axis (0-based)"},
    {"dim2", MX_PARAM_INT, "0", NULL, "the second axis (0-based)"},
};

static mx_status axes(const mx_op_attrs *a, int nd, int *d1, int *d2) {
  int64_t x = MX_PINT(a, P_DIM1), y = MX_PINT(a, P_DIM2);
  if (x < 0 || y < 0 || x >= nd || y >= nd)
    return mx_error_at(
        MX_ERR_SHAPE,
        "mx_symbol_infer_shape", "SwapAxis %s: dim1=%lld and dim2=%lld must be in [0, %d) "
        "(operator axes are 0-based)",
        a->node_name ? a->node_name : "", (long long)x, (long long)y, nd);
  *d1 = (int)(x < y ? x : y);
  *d2 = (int)(x < y ? y : x);
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  int d1, d2;
  mx_status st = axes(a, in[0].ndim, &d1, &d2);
  if (st != MX_OK) return st;
  mx_shape o = in[0];
  o.dim[d1] = in[0].dim[d2];
  o.dim[d2] = in[0].dim[d1];
  return mx_shape_fill(a, "output", &out[0], &o);
}

/* dst (a, n2, b, n1, c) from src (a, n1, b, n2, c), by request. */
static void swap(mx_req r, const float *src, float *dst, const int64_t *s, int nd, int d1, int d2) {
  if (d1 == d2) {
    mx_req_copy(r, dst, src, mx_shape_size(s, nd));
    return;
  }
  int64_t a = 1, b = 1, c = 1;
  for (int i = 0; i < d1; i++) a *= s[i];
  for (int i = d1 + 1; i < d2; i++) b *= s[i];
  for (int i = d2 + 1; i < nd; i++) c *= s[i];
  int64_t n1 = s[d1], n2 = s[d2];
  for (int64_t i = 0; i < a; i++)
    for (int64_t j = 0; j < n1; j++)
      for (int64_t k = 0; k < b; k++)
        for (int64_t l = 0; l < n2; l++) {
          const float *from = src + (((i * n1 + j) * b + k) * n2 + l) * c;
          float *to = dst + (((i * n2 + l) * b + k) * n1 + j) * c;
          mx_req_copy(r, to, from, c);
        }
}

static mx_status forward_cpu(const mx_op_call *c) {
  int nd = mx_ndarray_ndim(c->in[0]), d1, d2;
  mx_status st = axes(c->attrs, nd, &d1, &d2);
  if (st == MX_OK && c->req[0] != MX_REQ_NULL)
    swap(c->req[0], mx_op_data(c->in[0]), mx_op_data(c->out[0]), mx_ndarray_shape(c->in[0]), nd, d1,
         d2);
  return st;
}

static mx_status backward_cpu(const mx_op_call *c) {
  int nd = mx_ndarray_ndim(c->out_grad[0]), d1, d2;
  mx_status st = axes(c->attrs, nd, &d1, &d2);
  if (st == MX_OK && c->req[0] != MX_REQ_NULL)
    swap(c->req[0], mx_op_data(c->out_grad[0]), mx_op_data(c->in_grad[0]),
         mx_ndarray_shape(c->out_grad[0]), nd, d1, d2);
  return st;
}

mx_status mx_op_swap_axis_forward_gpu(const mx_op_call *c); /* swap_axis.cu */
mx_status mx_op_swap_axis_backward_gpu(const mx_op_call *c);

const mx_op mx_op_swap_axis = {
    .name = "SwapAxis",
    .doc = "Swaps two axes of the data (dim1, dim2: 0-based).",
    .params = params,
    .nparams = 2,
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_swap_axis_forward_gpu)},
    .backward = {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_swap_axis_backward_gpu)},
    .flags = MX_OP_BWD_OUT_GRAD,
};
