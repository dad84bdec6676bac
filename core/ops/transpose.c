/* transpose.c: transpose, the axes permuted (output axis i is input axis axes[i]; no axes
 * reverses them). Written over the kernel table's strided copy: one code for CPU and GPU. */
#include "table_op.h"

typedef struct transpose_param {
  mx_shape axes;
} transpose_param;
static const mx_param_desc params[] = {
    MX_PARAM(transpose_param, axes, MX_PARAM_SHAPE, "()", NULL, "the permutation (0-based); empty reverses the axes"),
};
#define P(a) MX_PARAMS(transpose_param, a)

/* perm[i] = the input axis of output axis i; fails unless a permutation of 0..nd-1. */
static mx_status perm_of(const mx_op_attrs *a, int nd, int *perm) {
  const mx_shape *p = &P(a)->axes;
  const char *text = mx_op_param_text(a, "axes");
  int seen[MX_MAX_NDIM] = {0};
  if (p->ndim && p->ndim != nd)
    return mx_op_error(a, MX_ERR_SHAPE, "axes %s for %d axes", text, nd);
  for (int i = 0; i < nd; i++) {
    int64_t ax = p->ndim ? p->dim[i] : nd - 1 - i;
    if (ax < 0) ax += nd;
    if (ax < 0 || ax >= nd || seen[ax])
      return mx_op_error(a, MX_ERR_SHAPE, "axes %s is not a permutation of %d axes", text, nd);
    seen[ax] = 1;
    perm[i] = (int)ax;
  }
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  int perm[MX_MAX_NDIM];
  mx_status st = perm_of(a, in[0].ndim, perm);
  if (st != MX_OK) return st;
  mx_shape o = in[0];
  for (int i = 0; i < o.ndim; i++) o.dim[i] = in[0].dim[perm[i]];
  return mx_shape_fill(a, "output", &out[0], &o);
}

/* forward: y (out shape) reads x with stride(in)[perm[i]] on axis i; backward: dx (in shape)
 * reads dy with stride(out)[i] on axis perm[i]. */
static mx_status run(const mx_op_call *c, int backward) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  mx_ndarray *src = backward ? c->out_grad[0] : c->in[0], *dst = backward ? c->in_grad[0] : c->out[0];
  const mx_ndarray *data = backward ? dst : src;
  int nd = mx_ndarray_ndim(data), perm[MX_MAX_NDIM];
  st = perm_of(c->attrs, nd, perm);
  if (st != MX_OK) return st;
  const int64_t *ds = mx_ndarray_shape(data);
  int64_t in_stride[MX_MAX_NDIM], out_shape[MX_MAX_NDIM], out_stride[MX_MAX_NDIM], sx[MX_MAX_NDIM];
  int64_t shape[MX_MAX_NDIM];
  for (int i = 0; i < nd; i++) out_shape[i] = ds[perm[i]];
  int64_t si = 1, so = 1;
  for (int i = nd - 1; i >= 0; i--) {
    in_stride[i] = si;
    out_stride[i] = so;
    si *= ds[i];
    so *= out_shape[i];
  }
  for (int i = 0; i < nd; i++) {
    if (!backward) {
      shape[i] = out_shape[i];
      sx[i] = in_stride[perm[i]];
    } else {
      shape[perm[i]] = ds[perm[i]];
      sx[perm[i]] = out_stride[i];
    }
  }
  int64_t n = mx_op_size(dst);
  float *y = mx_op_data(dst), *t = mx_table_target(c, r, y, 0);
  k->copy_strided(mx_op_data(src), sx, t, shape, nd);
  mx_table_finish(k, r, y, t, n);
  return MX_OK;
}

static mx_status forward(const mx_op_call *c) {
  return run(c, 0);
}
static mx_status backward(const mx_op_call *c) {
  return run(c, 1);
}

const mx_op mx_op_transpose = {
    .name = "transpose",
    .doc = "Permutes the axes (output axis i is input axis axes[i]; default reversed).",
    MX_OP_PARAMS(transpose_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = mx_table_workspace,
};
