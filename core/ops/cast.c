/* cast.c: Cast to `dtype`: arrays here are float32, so float32 is the identity (sharing
 * Flatten's copy kernels) and any other type is refused naming the node. */
#include <string.h>

#include "table_op.h"

typedef struct cast_param {
  const char *dtype;
} cast_param;
static const mx_param_desc params[] = {
    MX_PARAM(cast_param, dtype, MX_PARAM_STRING, NULL, NULL, "the output type (only float32 is supported)"),
};
#define P(a) MX_PARAMS(cast_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (strcmp(P(a)->dtype, "float32") != 0)
    return mx_op_error(a, MX_ERR_ARG, "dtype %s is not supported (only float32)", P(a)->dtype);
  return mx_op_infer_same(a, in, nin, out, nout, aux, naux);
}


const mx_op mx_op_cast = {
    .name = "Cast",
    .doc = "Casts to dtype (float32 only: the identity).",
    MX_OP_PARAMS(cast_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = mx_op_copy_forward, [MX_DEV_GPU] = mx_op_copy_forward},
    .backward = {[MX_DEV_CPU] = mx_op_copy_backward, [MX_DEV_GPU] = mx_op_copy_backward},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
