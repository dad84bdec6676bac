/* op_shapes.c: the shape helpers of shape inference that operator files share: printing,
 * filling a slot or failing with both shapes named, and "all slots alike". */
#include <stdio.h>

#include "operator.h"

char *mx_shape_fmt(const mx_shape *s, char *buf, size_t len) {
  if (s->ndim == 0) {
    snprintf(buf, len, "(unknown)");
    return buf;
  }
  return mx_shape_str(s->dim, s->ndim, buf, len);
}

mx_status mx_shape_fill(const mx_op_attrs *a, const char *slot, mx_shape *s, const mx_shape *want) {
  if (s->ndim == 0) {
    *s = *want;
    return MX_OK;
  }
  if (mx_shape_eq(s, want)) return MX_OK;
  char b1[96], b2[96];
  return mx_op_error(a, MX_ERR_SHAPE, "%s has shape %s, expected %s", slot,
                     mx_shape_fmt(s, b1, sizeof b1), mx_shape_fmt(want, b2, sizeof b2));
}

mx_status mx_op_infer_same(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout, mx_shape *aux,
                           int naux) {
  const char *names[MX_OP_MAX_IO], *onames[MX_OP_MAX_IO];
  mx_op_arguments(a, names);
  mx_op_outputs_all(a, onames);
  const mx_shape *known = NULL;
  for (int i = 0; i < nin && !known; i++)
    if (in[i].ndim) known = &in[i];
  for (int i = 0; i < nout && !known; i++)
    if (out[i].ndim) known = &out[i];
  if (!known) return MX_OK;
  mx_shape k = *known;
  for (int i = 0; i < nin; i++) {
    mx_status st = mx_shape_fill(a, names[i], &in[i], &k);
    if (st != MX_OK) return st;
  }
  for (int i = 0; i < nout; i++) {
    mx_status st = mx_shape_fill(a, onames[i], &out[i], &k);
    if (st != MX_OK) return st;
  }
  return MX_OK;
}
