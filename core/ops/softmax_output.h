/* softmax_output.h: the parameters of SoftmaxOutput, softmax / log_softmax and
 * SoftmaxActivation, and their math per row and per element (the softmax of a row, its
 * gradient, SoftmaxOutput's loss gradient and its scale), written once for the CPU loops
 * (softmax_output.c) and the CUDA kernels (softmax_output.cu). The data is seen as
 * (outer, k, inner): a row is k values inner apart. */
#ifndef MX_OPS_SOFTMAX_OUTPUT_H
#define MX_OPS_SOFTMAX_OUTPUT_H

#include "elementwise.h" /* MX_HOSTDEV */

typedef struct softmax_output_param {
  float grad_scale, ignore_label;
  int multi_output, use_ignore, preserve_shape, normalization, out_grad;
  float smooth_alpha;
} softmax_output_param;
enum { NORM_NULL, NORM_BATCH, NORM_VALID }; /* normalization's choices */

typedef struct softmax_axis_param {
  int64_t axis;
  const char *temperature, *dtype;
  int use_length;
} softmax_axis_param;

typedef struct softmax_activation_param {
  int mode;
} softmax_activation_param;
enum { MODE_INSTANCE, MODE_CHANNEL };

/* y = softmax(x) (or its log) over the row; x may equal y. Each exponential once (kept in
 * y for softmax), summed in double; the max's own term is 1, so sum >= 1. */
MX_HOSTDEV static inline void softmax_row(const float *xr, float *yr, int64_t k, int64_t inner, int log_form) {
  float mx = xr[0];
  for (int64_t j = 1; j < k; j++) mx = xr[j * inner] > mx ? xr[j * inner] : mx;
  double sum = 0;
  for (int64_t j = 0; j < k; j++) {
    float e = expf(xr[j * inner] - mx);
    if (!log_form) yr[j * inner] = e;
    sum += e;
  }
  if (log_form) {
    float lse = mx + (float)log(sum > 1.0 ? sum : 1.0);
    for (int64_t j = 0; j < k; j++) yr[j * inner] = xr[j * inner] - lse;
  } else {
    for (int64_t j = 0; j < k; j++) yr[j * inner] = (float)(yr[j * inner] / sum);
  }
}

/* The row sum a gradient needs: softmax sum(dy y), log_softmax sum(dy). */
MX_HOSTDEV static inline double softmax_row_grad_sum(const float *y, const float *dy, int64_t k, int64_t inner,
                                                     int log_form) {
  double s = 0;
  for (int64_t j = 0; j < k; j++) s += log_form ? dy[j * inner] : dy[j * inner] * y[j * inner];
  return s;
}
/* softmax: dx = y (dy - s); log_softmax: dx = dy - e^y s. */
MX_HOSTDEV static inline float softmax_grad(float y, float dy, double s, int log_form) {
  return log_form ? dy - expf(y) * (float)s : y * (dy - (float)s);
}

/* SoftmaxOutput's gradient of element j of a row: (p - onehot(lab)) * scale, or (p - target)
 * for a label distribution, 0 for an ignored row; times og (the gradient from above) if any. */
MX_HOSTDEV static inline float softmax_output_grad(float p, int64_t j, float lab, float target, int dist, int skip,
                                                   double scale, const float *og) {
  float v;
  if (skip)
    v = 0.0f;
  else if (dist)
    v = p - target;
  else
    v = p - ((int64_t)lab == j ? 1.0f : 0.0f);
  v = (float)(v * scale);
  if (og) v *= *og;
  return v;
}

/* grad_scale with the normalization: by the batch (outer), or by the valid labels (valid;
 * valid < 0: counted on the device and divided there); multi_output also by inner. */
static inline double softmax_output_scale(const softmax_output_param *p, int64_t outer, int64_t inner, int64_t valid) {
  double scale = p->grad_scale;
  if (p->normalization == NORM_BATCH) scale /= (double)outer;
  if (p->normalization == NORM_VALID && valid >= 0) scale /= (double)(valid ? valid : 1);
  if (p->multi_output && p->normalization != NORM_VALID) scale /= (double)inner;
  return scale;
}

#ifdef __cplusplus
extern "C" {
#endif
/* The (outer, k, inner) views of the data (softmax_output.c), for both devices. */
void mx_op_softmax_geometry(const mx_op_attrs *a, const int64_t *shape, int ndim, int64_t *outer, int64_t *k,
                            int64_t *inner);
mx_status mx_op_softmax_axis_geometry(const mx_op_call *c, const mx_ndarray *arr, int64_t *outer, int64_t *k,
                                      int64_t *inner);
#ifdef __cplusplus
}
#endif

#endif
