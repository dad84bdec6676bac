/* table_op.h: for operators written once over the device kernel table (kernels.h), so the
 * same forward and backward run on the CPU and on the GPU (whose table is CUDA, in
 * kernels_cuda.cu): the call's table, and an 'add' request computed in the workspace. */
#ifndef MX_TABLE_OP_H
#define MX_TABLE_OP_H

#include "kernels.h"
#include "operator.h"

/* The kernel table of the call's device. */
static inline mx_status mx_table_of(const mx_op_call *c, const mx_kernels **k) {
  *k = mx_kernels_for(c->ctx);
  return *k ? MX_OK : mx_op_error_node(c->attrs, MX_ERR_DEVICE);
}

/* Where a result for dst is computed under request r: dst itself, or (add) the workspace,
 * from `at` floats in. */
static inline float *mx_table_target(const mx_op_call *c, mx_req r, float *dst, int64_t at) {
  return r == MX_REQ_ADD ? c->workspace + at : dst;
}

/* After computing into the target: dst += target for 'add'. */
static inline void mx_table_finish(const mx_kernels *k, mx_req r, float *dst, const float *t, int64_t n) {
  if (r == MX_REQ_ADD && n > 0) k->binary(MX_BINARY_ADD, dst, t, dst, n);
}

/* dst = src (write, inplace) or dst += src (add) over n floats; nothing for null. */
static inline mx_status mx_table_copy(const mx_op_call *c, mx_req r, float *dst, const float *src, int64_t n) {
  const mx_kernels *k;
  if (r == MX_REQ_NULL || n == 0) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  if (r == MX_REQ_ADD)
    k->binary(MX_BINARY_ADD, dst, src, dst, n);
  else if (dst != src)
    k->unary(MX_UNARY_COPY, src, dst, n);
  return MX_OK;
}

/* The shape-only operators' kernels (flatten.c): the output is the input's data. */
mx_status mx_op_copy_forward(const mx_op_call *c);
mx_status mx_op_copy_backward(const mx_op_call *c);


/* Data (N, C, positions...) as (n, ch, s): samples, channels, positions per channel. */
static inline void mx_table_ncs(const mx_ndarray *x, int64_t *n, int64_t *ch, int64_t *s) {
  const int64_t *d = mx_ndarray_shape(x);
  *n = d[0], *ch = d[1], *s = mx_shape_size(d + 2, mx_ndarray_ndim(x) - 2);
}
/* Workspace of twice the largest input or output (a mask and an 'add' target). */
static inline int64_t mx_table_workspace(const mx_op_attrs *a, const mx_shape *in, int nin,
                                         const mx_shape *out, int nout, int backward) {
  int64_t m = 1;
  for (int i = 0; i < nin; i++)
    if (mx_shape_numel(&in[i]) > m) m = mx_shape_numel(&in[i]);
  for (int i = 0; i < nout; i++)
    if (mx_shape_numel(&out[i]) > m) m = mx_shape_numel(&out[i]);
  return 2 * m;
}

/* The same for the backward only: forward requests are write or in place (plan.c), so an
 * element-wise forward needs no scratch, and an eager call (imperative.c) allocates none. */
static inline int64_t mx_table_workspace_bwd(const mx_op_attrs *a, const mx_shape *in, int nin,
                                             const mx_shape *out, int nout, int backward) {
  return backward ? mx_table_workspace(a, in, nin, out, nout, backward) : 0;
}

/* The table for a forward that writes its output 0 (write or in place): *k is NULL when the
 * request is null (nothing to do); an 'add' request (never planned) is an error. */
static inline mx_status mx_table_forward_of(const mx_op_call *c, const mx_kernels **k) {
  *k = NULL;
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  if (c->req[0] == MX_REQ_ADD)
    return mx_op_error(c->attrs, MX_ERR_INTERNAL, "an 'add' request for a forward output");
  return mx_table_of(c, k);
}

/* Writes dy/dx of a one-input element-wise operator into d (n floats) from its input x and
 * output y. */
typedef void (*mx_table_deriv)(const mx_kernels *k, const mx_op_call *c, const float *x, const float *y,
                               float *d, int64_t n);

/* The backward of a one-input element-wise operator: dx = dy * deriv, by the request.
 * workspace (mx_table_workspace_bwd): d, then the 'add' target. */
static inline mx_status mx_table_unary_backward(const mx_op_call *c, mx_table_deriv deriv) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[0]);
  float *dx = mx_op_data(c->in_grad[0]), *d = c->workspace, *t = mx_table_target(c, r, dx, n);
  deriv(k, c, mx_op_data(c->in[0]), mx_op_data(c->out[0]), d, n);
  k->binary(MX_BINARY_MUL, mx_op_data(c->out_grad[0]), d, t, n);
  mx_table_finish(k, r, dx, t, n);
  return MX_OK;
}

/* y (m, n; rows ldy apart) = op(x) op(w) through mx_gemm on the call's device, under request r
 * (beta 1 for 'add'); an empty inner size k writes zeros (dot, take). */
static inline mx_status mx_table_gemm(const mx_op_call *c, mx_req r, int tx, int tw, int64_t m, int64_t n, int64_t k,
                          const float *x, int64_t ldx, const float *w, int64_t ldw, float *y, int64_t ldy) {
  if (r == MX_REQ_NULL || m == 0 || n == 0) return MX_OK;
  if (k == 0) {
    if (r == MX_REQ_ADD) return MX_OK;
    const mx_kernels *kt;
    mx_status st = mx_table_of(c, &kt);
    if (st == MX_OK) kt->fill(y, m * n, 0.0f);
    return st;
  }
  mx_status st = mx_gemm(c->ctx, tx, tw, m, n, k, 1.0f, x, ldx, w, ldw, r == MX_REQ_ADD ? 1.0f : 0.0f, y, ldy);
  return st == MX_OK ? MX_OK : mx_op_error_node(c->attrs, st);
}

/* The table's take (rows of x gathered by idx, each id checked) into *bad: the first bad
 * position, or -1. A device's check that could not run also gives -1 with its failure left
 * pending, so -1 is confirmed by a sync of the call's device (a no-op on the CPU). */
static inline mx_status mx_table_take_checked(const mx_op_call *c, const mx_kernels *k, const float *x,
                                              int64_t rows, int64_t row, const float *idx, int64_t n, float *y,
                                              int64_t *bad) {
  *bad = k->take(x, rows, row, idx, n, y);
  if (*bad >= 0) return MX_OK;
  mx_status st = mx_context_sync(c->ctx);
  return st == MX_OK ? st : mx_op_error_node(c->attrs, st);
}

/* No gradient to input i (indices: one_hot, take): zeros for 'write', nothing for 'add'. */
static inline mx_status mx_table_zero_grad(const mx_op_call *c, int i) {
  const mx_kernels *k;
  mx_req r = c->req[i];
  if (r == MX_REQ_NULL || r == MX_REQ_ADD) return MX_OK;
  int64_t n = mx_op_size(c->in_grad[i]);
  if (n == 0) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  k->fill(mx_op_data(c->in_grad[i]), n, 0.0f);
  return MX_OK;
}

#endif
