/* expand_dims.c: expand_dims, a new axis of size 1 at `axis` (negative counts from the
 * end of the output); the data is unchanged, so it shares the copy kernels of Flatten. */
#include "table_op.h"

typedef struct expand_dims_param {
  int64_t axis;
} expand_dims_param;
static const mx_param_desc params[] = {
    MX_PARAM(expand_dims_param, axis, MX_PARAM_INT, NULL, NULL, "where the new axis goes (0-based; negative from the end)"),
};
#define P(a) MX_PARAMS(expand_dims_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0) return MX_OK;
  int nd = in[0].ndim, axis = (int)P(a)->axis;
  char b[96];
  if (axis < 0) axis += nd + 1;
  if (axis < 0 || axis > nd || nd == MX_MAX_NDIM)
    return mx_op_error(a, MX_ERR_SHAPE, "axis %lld out of range for data %s", (long long)P(a)->axis,
                       mx_shape_fmt(&in[0], b, sizeof b));
  mx_shape o = {nd + 1, {0}};
  for (int i = 0, j = 0; i <= nd; i++) o.dim[i] = i == axis ? 1 : in[0].dim[j++];
  return mx_shape_fill(a, "output", &out[0], &o);
}


const mx_op mx_op_expand_dims = {
    .name = "expand_dims",
    .doc = "Inserts an axis of size 1 at axis.",
    MX_OP_PARAMS(expand_dims_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = mx_op_copy_forward, [MX_DEV_GPU] = mx_op_copy_forward},
    .backward = {[MX_DEV_CPU] = mx_op_copy_backward, [MX_DEV_GPU] = mx_op_copy_backward},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
