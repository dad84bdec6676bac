/* reshape.c: Reshape to `shape`, with MXNet's special values: 0 copies the input's
 * dimension, -1 takes what is left (at most one), -2 copies all remaining input
 * dimensions, -3 merges two input dimensions, -4 splits one into the next two values
 * (one of which may be -1); `reverse` matches them from the right. The deprecated
 * target_shape (0 = infer) and keep_highest are read as MXNet 0.x wrote them. */
#include <stdio.h>

#include "table_op.h"

typedef struct reshape_param {
  mx_shape shape;
  int reverse;
  mx_shape target_shape;
  int keep_highest;
} reshape_param;
static const mx_param_desc params[] = {
    MX_PARAM(reshape_param, shape, MX_PARAM_SHAPE, "()", NULL, "the target shape; 0 keeps a dimension, -1 infers one, -2 keeps the rest, -3 merges two, " "-4 splits one"),
    MX_PARAM(reshape_param, reverse, MX_PARAM_BOOL, "False", NULL, "match the special values from the right"),
    MX_PARAM(reshape_param, target_shape, MX_PARAM_SHAPE, "()", NULL, "deprecated: the shape, with 0 to infer"),
    MX_PARAM(reshape_param, keep_highest, MX_PARAM_BOOL, "False", NULL, "deprecated: with target_shape, keep the input's first dimension"),
};
#define P(a) MX_PARAMS(reshape_param, a)

static mx_status fail(const mx_op_attrs *a, const mx_shape *in, const char *what) {
  char b[96];
  const char *t = mx_op_param_text(a, P(a)->shape.ndim ? "shape" : "target_shape");
  return mx_op_error(a, MX_ERR_SHAPE, "cannot reshape %s with shape %s: %s",
                     mx_shape_fmt(in, b, sizeof b), t ? t : "()", what);
}

/* The codes as written, or (reverse) both the codes and the input mirrored. */
static void flip(int64_t *v, int n) {
  for (int i = 0; i < n / 2; i++) {
    int64_t t = v[i];
    v[i] = v[n - 1 - i], v[n - 1 - i] = t;
  }
}

/* out = the shape `codes` gives for input `in` (MXNet's Reshape rules). */
static mx_status apply_codes(const mx_op_attrs *a, const mx_shape *in, int64_t *codes, int ncodes,
                             int reverse, mx_shape *o) {
  int64_t src[MX_MAX_NDIM];
  int nsrc = in->ndim;
  for (int i = 0; i < nsrc; i++) src[i] = in->dim[i];
  if (reverse) flip(src, nsrc), flip(codes, ncodes);
  int at = 0, unknown = -1;
  o->ndim = 0;
#define PUSH(d)                                                                                    \
  do {                                                                                             \
    if (o->ndim == MX_MAX_NDIM) return fail(a, in, "too many axes");                               \
    o->dim[o->ndim++] = (d);                                                                       \
  } while (0)
  for (int i = 0; i < ncodes; i++) {
    int64_t d = codes[i];
    if (d > 0) {
      PUSH(d);
      at++;
    } else if (d == 0) {
      if (at >= nsrc) return fail(a, in, "0 past the input's axes");
      PUSH(src[at++]);
    } else if (d == -1) {
      if (unknown >= 0) return fail(a, in, "more than one -1");
      unknown = o->ndim;
      PUSH(1);
      at++;
    } else if (d == -2) {
      while (at < nsrc) PUSH(src[at++]);
    } else if (d == -3) {
      if (at + 1 >= nsrc) return fail(a, in, "-3 needs two input axes");
      PUSH(src[at] * src[at + 1]);
      at += 2;
    } else if (d == -4) {
      if (i + 2 >= ncodes || at >= nsrc) return fail(a, in, "-4 needs an input axis and two values");
      int64_t d1 = codes[++i], d2 = codes[++i], whole = src[at++];
      if (d1 == -1 && d2 > 0 && whole % d2 == 0) d1 = whole / d2;
      if (d2 == -1 && d1 > 0 && whole % d1 == 0) d2 = whole / d1;
      if (d1 <= 0 || d2 <= 0 || d1 * d2 != whole) return fail(a, in, "-4 does not split that axis");
      PUSH(d1);
      PUSH(d2);
    } else {
      return fail(a, in, "unknown special value");
    }
  }
#undef PUSH
  int64_t size = mx_shape_numel(in), known = mx_shape_numel(o);
  if (unknown >= 0) {
    if (known == 0 || size % known != 0) return fail(a, in, "sizes differ");
    o->dim[unknown] = size / known;
  } else if (known != size) {
    return fail(a, in, "sizes differ");
  }
  if (reverse) flip(o->dim, o->ndim);
  return MX_OK;
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  const mx_shape *sp = &P(a)->shape, *tp = &P(a)->target_shape;
  int64_t codes[MX_MAX_NDIM + 2];
  int ncodes = sp->ndim ? sp->ndim : tp->ndim;
  for (int i = 0; i < ncodes; i++) codes[i] = sp->ndim ? sp->dim[i] : tp->dim[i];
  if (!sp->ndim) /* target_shape: 0 means infer */
    for (int i = 0; i < ncodes; i++) codes[i] = codes[i] == 0 ? -1 : codes[i];
  if (in[0].ndim == 0) {
    /* A label reshaped with (-1) (MXNet 0.9 checkpoints): the loss layer fixed the output's
     * shape, so the input is that 1-D shape too. */
    if (ncodes == 1 && codes[0] == -1 && out[0].ndim == 1) in[0] = out[0];
    return MX_OK;
  }
  if (ncodes == 0) return fail(a, &in[0], "no shape given");
  if (!sp->ndim && P(a)->keep_highest) codes[0] = in[0].dim[0];
  mx_shape o;
  mx_status st = apply_codes(a, &in[0], codes, ncodes, P(a)->reverse, &o);
  if (st != MX_OK) return st;
  return mx_shape_fill(a, "output", &out[0], &o);
}


const mx_op mx_op_reshape = {
    .name = "Reshape",
    .doc = "Reshapes the input (0 keeps a dimension, -1 infers one, -2 keeps the rest, -3 merges "
           "two, -4 splits one; reverse matches from the right).",
    MX_OP_PARAMS(reshape_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = mx_op_copy_forward, [MX_DEV_GPU] = mx_op_copy_forward},
    .backward =
        {[MX_DEV_CPU] = mx_op_copy_backward, [MX_DEV_GPU] = mx_op_copy_backward},
    .flags = MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
