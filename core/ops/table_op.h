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
  return *k ? MX_OK : mx_error_prefix(MX_ERR_DEVICE, c->attrs->op->name);
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

#endif
