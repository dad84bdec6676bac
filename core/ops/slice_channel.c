/* slice_channel.c: SliceChannel (also `split`): cuts the input into num_outputs equal
 * parts along `axis`, dropping that axis when squeeze_axis and each part is one wide.
 * Backward writes each part's gradient back into its place. */
#include <stdio.h>

#include "table_op.h"

typedef struct slice_channel_param {
  int64_t num_outputs;
  int64_t axis;
  int squeeze_axis;
} slice_channel_param;
static const mx_param_desc params[] = {
    MX_PARAM(slice_channel_param, num_outputs, MX_PARAM_INT, NULL, "1..64", "the number of equal parts"),
    MX_PARAM(slice_channel_param, axis, MX_PARAM_INT, "1", NULL, "the axis to cut (0-based; negative counts from the end)"),
    MX_PARAM(slice_channel_param, squeeze_axis, MX_PARAM_BOOL, "False", NULL, "drop the cut axis from the outputs (each part must then be one wide)"),
};
#define P(a) MX_PARAMS(slice_channel_param, a)

static const char *const out_names[MX_OP_MAX_IO] = {
    "output0",  "output1",  "output2",  "output3",  "output4",  "output5",  "output6",  "output7",
    "output8",  "output9",  "output10", "output11", "output12", "output13", "output14", "output15",
    "output16", "output17", "output18", "output19", "output20", "output21", "output22", "output23",
    "output24", "output25", "output26", "output27", "output28", "output29", "output30", "output31",
    "output32", "output33", "output34", "output35", "output36", "output37", "output38", "output39",
    "output40", "output41", "output42", "output43", "output44", "output45", "output46", "output47",
    "output48", "output49", "output50", "output51", "output52", "output53", "output54", "output55",
    "output56", "output57", "output58", "output59", "output60", "output61", "output62", "output63"};

/* num_outputs is range-checked at creation (1..64); the clamps only keep names within the table. */
static int list_outputs(const mx_op_attrs *a, const char **names) {
  int64_t n = P(a)->num_outputs;
  if (n < 1) n = 1;
  if (n > MX_OP_MAX_IO) n = MX_OP_MAX_IO;
  for (int i = 0; i < n; i++) names[i] = out_names[i];
  return (int)n;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  int64_t n = P(a)->num_outputs;
  char b[96];
  if (n < 1 || n > MX_OP_MAX_IO)
    return mx_op_error(a, MX_ERR_SHAPE, "num_outputs %lld out of range (1..%d)", (long long)n,
                       MX_OP_MAX_IO);
  if (in[0].ndim == 0) return MX_OK;
  int axis = (int)P(a)->axis;
  if (axis < 0) axis += in[0].ndim;
  if (axis < 0 || axis >= in[0].ndim)
    return mx_op_error(a, MX_ERR_SHAPE, "axis %lld out of range for data %s", (long long)P(a)->axis,
                       mx_shape_fmt(&in[0], b, sizeof b));
  if (in[0].dim[axis] % n != 0)
    return mx_op_error(a, MX_ERR_SHAPE,
                       "axis %d of data %s (%lld) does not "
                       "split into %lld equal parts",
                       axis, mx_shape_fmt(&in[0], b, sizeof b), (long long)in[0].dim[axis],
                       (long long)n);
  mx_shape o = in[0];
  o.dim[axis] /= n;
  if (P(a)->squeeze_axis) {
    if (o.dim[axis] != 1)
      return mx_op_error(a, MX_ERR_SHAPE,
                         "squeeze_axis needs parts one wide "
                         "(data %s, axis %d, num_outputs %lld)",
                         mx_shape_fmt(&in[0], b, sizeof b), axis, (long long)n);
    for (int d = axis; d + 1 < o.ndim; d++) o.dim[d] = o.dim[d + 1];
    if (--o.ndim == 0) o = (mx_shape){1, {1}};
  }
  for (int i = 0; i < nout; i++) {
    mx_status st = mx_shape_fill(a, out_names[i], &out[i], &o);
    if (st != MX_OK) return st;
  }
  return MX_OK;
}

/* The data seen as (outer, n * len): part i is the block of `len` at i * len in each row.
 * Written over the kernel table's block copy: one code for CPU and GPU. */
static mx_status run(const mx_op_call *c, int backward) {
  const mx_kernels *k;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const mx_ndarray *data = backward ? c->in_grad[0] : c->in[0];
  if (backward && c->req[0] == MX_REQ_NULL) return MX_OK;
  const int64_t *shape = mx_ndarray_shape(data);
  int ndim = mx_ndarray_ndim(data), axis = (int)P(c->attrs)->axis,
      n = (int)P(c->attrs)->num_outputs;
  if (axis < 0) axis += ndim;
  int64_t outer = mx_shape_size(shape, axis), len = mx_shape_size(shape + axis, ndim - axis) / n;
  float *whole = mx_op_data(backward ? c->in_grad[0] : c->in[0]);
  if (!backward) {
    for (int i = 0; i < n; i++) {
      mx_req r = c->req[i];
      if (r == MX_REQ_NULL) continue;
      float *y = mx_op_data(c->out[i]), *t = mx_table_target(c, r, y, 0);
      k->copy2d(whole + i * len, n * len, t, len, outer, len);
      mx_table_finish(k, r, y, t, outer * len);
    }
  } else {
    float *t = mx_table_target(c, c->req[0], whole, 0);
    for (int i = 0; i < n; i++) k->copy2d(mx_op_data(c->out_grad[i]), len, t + i * len, n * len, outer, len);
    mx_table_finish(k, c->req[0], whole, t, outer * n * len);
  }
  return MX_OK;
}

static mx_status forward(const mx_op_call *c) {
  return run(c, 0);
}
static mx_status backward(const mx_op_call *c) {
  return run(c, 1);
}

const mx_op mx_op_slice_channel = {
    .name = "SliceChannel",
    .doc = "Splits the input into num_outputs equal parts along axis (squeeze_axis drops it).",
    MX_OP_PARAMS(slice_channel_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output0", NULL},
    .list_outputs = list_outputs,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = mx_table_workspace,
};
