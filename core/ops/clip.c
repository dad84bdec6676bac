/* clip.c: clip to [a_min, a_max]; the gradient passes where a_min < x < a_max (as MXNet's
 * clip), zero elsewhere. Written over the kernel table: one code for CPU and GPU. */
#include "table_op.h"

typedef struct clip_param {
  float a_min;
  float a_max;
} clip_param;
static const mx_param_desc params[] = {
    MX_PARAM(clip_param, a_min, MX_PARAM_FLOAT, NULL, NULL, "the lowest value"),
    MX_PARAM(clip_param, a_max, MX_PARAM_FLOAT, NULL, NULL, "the highest value"),
};
#define P(a) MX_PARAMS(clip_param, a)

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->out[0]);
  float *y = mx_op_data(c->out[0]), *t = mx_table_target(c, r, y, 0);
  k->clip(mx_op_data(c->in[0]), t, n, P(c->attrs)->a_min, P(c->attrs)->a_max);
  mx_table_finish(k, r, y, t, n);
  return MX_OK;
}

/* workspace: the mask, then the 'add' target */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_req r = c->req[0];
  if (r == MX_REQ_NULL) return MX_OK;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  int64_t n = mx_op_size(c->in[0]);
  const float *x = mx_op_data(c->in[0]);
  float *dx = mx_op_data(c->in_grad[0]), *mask = c->workspace, *t = mx_table_target(c, r, dx, n);
  k->binary_scalar(MX_BINARY_GT, x, P(c->attrs)->a_min, mask, n);
  k->binary_scalar(MX_BINARY_LT, x, P(c->attrs)->a_max, t, n);
  k->binary(MX_BINARY_MUL, mask, t, mask, n);
  k->binary(MX_BINARY_MUL, mx_op_data(c->out_grad[0]), mask, t, n);
  mx_table_finish(k, r, dx, t, n);
  return MX_OK;
}

const mx_op mx_op_clip = {
    .name = "clip",
    .doc = "Clips the data to [a_min, a_max].",
    MX_OP_PARAMS(clip_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = mx_op_infer_same,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_GRAD,
    .workspace = mx_table_workspace,
};
