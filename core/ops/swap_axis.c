/* swap_axis.c: SwapAxis: exchanges axes dim1 and dim2 (0-based, as in MXNet); the gradient
 * swaps back. Written over the kernel table's strided copy (as transpose): one code for CPU
 * and GPU. */
#include "table_op.h"

typedef struct swap_axis_param {
  int64_t dim1, dim2;
} swap_axis_param;

static const mx_param_desc params[] = {
    MX_PARAM(swap_axis_param, dim1, MX_PARAM_INT, "0", NULL, "the first axis (0-based)"),
    MX_PARAM(swap_axis_param, dim2, MX_PARAM_INT, "0", NULL, "the second axis (0-based)"),
};
#define P(a) MX_PARAMS(swap_axis_param, a)

static mx_status axes(const mx_op_attrs *a, int nd, int *d1, int *d2) {
  int64_t x = P(a)->dim1, y = P(a)->dim2;
  if (x < 0 || y < 0 || x >= nd || y >= nd)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "dim1=%lld and dim2=%lld must be in [0, %d) "
                       "(operator axes are 0-based)",
                       (long long)x, (long long)y, nd);
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

/* dst = src (shape s) with axes d1 and d2 exchanged, by request: dst's axis i reads src with
 * src's stride of axis perm(i). Swapping is its own inverse, so backward runs it on the gradient. */
static mx_status swap(const mx_op_call *c, mx_ndarray *src, mx_ndarray *dst) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  int nd = mx_ndarray_ndim(src), d1, d2;
  mx_status st = axes(c->attrs, nd, &d1, &d2);
  if (st != MX_OK || r == MX_REQ_NULL) return st;
  st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const int64_t *s = mx_ndarray_shape(src);
  int64_t stride[MX_MAX_NDIM] = {0}, shape[MX_MAX_NDIM], sx[MX_MAX_NDIM], at = 1;
  for (int i = nd - 1; i >= 0; i--) {
    stride[i] = at;
    at *= s[i];
  }
  for (int i = 0; i < nd; i++) {
    int from = i == d1 ? d2 : i == d2 ? d1 : i;
    shape[i] = s[from];
    sx[i] = stride[from];
  }
  int64_t n = mx_op_size(dst);
  float *y = mx_op_data(dst), *t = mx_table_target(c, r, y, 0);
  if (nd > 0) k->copy_strided(mx_op_data(src), sx, t, shape, nd);
  mx_table_finish(k, r, y, t, n);
  return MX_OK;
}

static mx_status forward(const mx_op_call *c) {
  return swap(c, c->in[0], c->out[0]);
}
static mx_status backward(const mx_op_call *c) {
  return swap(c, c->out_grad[0], c->in_grad[0]);
}

const mx_op mx_op_swap_axis = {
    .name = "SwapAxis",
    .doc = "Swaps two axes of the data (dim1, dim2: 0-based).",
    MX_OP_PARAMS(swap_axis_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = mx_table_workspace,
};
