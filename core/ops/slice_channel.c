/* slice_channel.c: SliceChannel (also `split`): cuts the input into num_outputs equal
 * parts along `axis`, dropping that axis when squeeze_axis and each part is one wide.
 * Backward writes each part's gradient back into its place. */
#include <stdio.h>

#include "operator.h"

enum { P_NUM_OUTPUTS, P_AXIS, P_SQUEEZE_AXIS };
static const mx_param_desc params[] = {
    {"num_outputs", MX_PARAM_INT, NULL, NULL, "the number of equal parts"},
    {"axis", MX_PARAM_INT, "1", NULL, "the axis to cut (0-based; negative counts from the end)"},
    {"squeeze_axis", MX_PARAM_BOOL, "False", NULL,
     "drop the cut axis from the outputs (each part must then be one wide)"},
};

static const char *const out_names[MX_OP_MAX_IO] = {
    "output0",  "output1",  "output2",  "output3",  "output4",  "output5",  "output6",  "output7",
    "output8",  "output9",  "output10", "output11", "output12", "output13", "output14", "output15",
    "output16", "output17", "output18", "output19", "output20", "output21", "output22", "output23",
    "output24", "output25", "output26", "output27", "output28", "output29", "output30", "output31",
    "output32", "output33", "output34", "output35", "output36", "output37", "output38", "output39",
    "output40", "output41", "output42", "output43", "output44", "output45", "output46", "output47",
    "output48", "output49", "output50", "output51", "output52", "output53", "output54", "output55",
    "output56", "output57", "output58", "output59", "output60", "output61", "output62", "output63"};

/* num_outputs is checked at inference; names stay within the table. */
static int list_outputs(const mx_op_attrs *a, const char **names) {
  int64_t n = MX_PINT(a, P_NUM_OUTPUTS);
  if (n < 1) n = 1;
  if (n > MX_OP_MAX_IO) n = MX_OP_MAX_IO;
  for (int i = 0; i < n; i++) names[i] = out_names[i];
  return (int)n;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  int64_t n = MX_PINT(a, P_NUM_OUTPUTS);
  char b[96];
  if (n < 1 || n > MX_OP_MAX_IO)
    return mx_error(MX_ERR_SHAPE,
                    "mx_symbol_infer_shape: SliceChannel %s: num_outputs %lld out of range (1..%d)",
                    a->node_name, (long long)n, MX_OP_MAX_IO);
  if (in[0].ndim == 0) return MX_OK;
  int axis = (int)MX_PINT(a, P_AXIS);
  if (axis < 0) axis += in[0].ndim;
  if (axis < 0 || axis >= in[0].ndim)
    return mx_error(MX_ERR_SHAPE,
                    "mx_symbol_infer_shape: SliceChannel %s: axis %lld out of range for data %s",
                    a->node_name, (long long)MX_PINT(a, P_AXIS), mx_shape_fmt(&in[0], b, sizeof b));
  if (in[0].dim[axis] % n != 0)
    return mx_error(MX_ERR_SHAPE,
                    "mx_symbol_infer_shape: SliceChannel %s: axis %d of data %s (%lld) does not "
                    "split into %lld equal parts",
                    a->node_name, axis, mx_shape_fmt(&in[0], b, sizeof b),
                    (long long)in[0].dim[axis], (long long)n);
  mx_shape o = in[0];
  o.dim[axis] /= n;
  if (MX_PBOOL(a, P_SQUEEZE_AXIS)) {
    if (o.dim[axis] != 1)
      return mx_error(MX_ERR_SHAPE,
                      "mx_symbol_infer_shape: SliceChannel %s: squeeze_axis needs parts one wide "
                      "(data %s, axis %d, num_outputs %lld)",
                      a->node_name, mx_shape_fmt(&in[0], b, sizeof b), axis, (long long)n);
    for (int d = axis; d + 1 < o.ndim; d++) o.dim[d] = o.dim[d + 1];
    if (--o.ndim == 0) o = (mx_shape){1, {1}};
  }
  for (int i = 0; i < nout; i++) {
    mx_status st = mx_shape_fill(a, out_names[i], &out[i], &o);
    if (st != MX_OK) return st;
  }
  return MX_OK;
}

/* The data seen as (outer, n * len): part i is the block of `len` at i * len in each row. */
void mx_op_slice_channel_geometry(const mx_op_call *c, int64_t *outer, int64_t *len,
                                  int *n) {
  const int64_t *shape = mx_ndarray_shape(c->in[0]);
  int ndim = mx_ndarray_ndim(c->in[0]), axis = (int)MX_PINT(c->attrs, P_AXIS);
  if (axis < 0) axis += ndim;
  *n = (int)MX_PINT(c->attrs, P_NUM_OUTPUTS);
  *outer = mx_shape_size(shape, axis);
  *len = mx_shape_size(shape + axis, ndim - axis) / *n;
}

static mx_status run(const mx_op_call *c, int backward) {
  int64_t outer, len;
  int n;
  mx_op_slice_channel_geometry(c, &outer, &len, &n);
  float *whole = mx_op_data(backward ? c->in_grad[0] : c->in[0]);
  mx_req r = c->req[0];
  if (backward && r == MX_REQ_NULL) return MX_OK;
  for (int i = 0; i < n; i++) {
    if (!backward) r = c->req[i];
    if (r == MX_REQ_NULL) continue;
    float *part = mx_op_data(backward ? c->out_grad[i] : c->out[i]);
    for (int64_t o = 0; o < outer; o++) {
      float *w = whole + (o * n + i) * len, *p = part + o * len;
      if (backward)
        mx_req_copy(r, w, p, len);
      else
        mx_req_copy(r, p, w, len);
    }
  }
  return MX_OK;
}

static mx_status forward_cpu(const mx_op_call *c) {
  return run(c, 0);
}
static mx_status backward_cpu(const mx_op_call *c) {
  return run(c, 1);
}

mx_status mx_op_slice_channel_forward_gpu(const mx_op_call *c); /* slice_channel.cu */
mx_status mx_op_slice_channel_backward_gpu(const mx_op_call *c);

const mx_op mx_op_slice_channel = {
    .name = "SliceChannel",
    .doc = "Splits the input into num_outputs equal parts along axis (squeeze_axis drops it).",
    .params = params,
    .nparams = 3,
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output0", NULL},
    .list_outputs = list_outputs,
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_slice_channel_forward_gpu)},
    .backward =
        {[MX_DEV_CPU] = backward_cpu, [MX_DEV_GPU] = MX_GPU(mx_op_slice_channel_backward_gpu)},
    .flags = MX_OP_BWD_OUT_GRAD,
};
