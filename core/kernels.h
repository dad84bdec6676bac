/* kernels.h: the per-device kernel table (struct mx_kernels) that the NDArray
 * functions dispatch through (mx_device_for(ctx)->kernels), and the host-side
 * broadcasting helpers they share. */
#ifndef MX_KERNELS_H
#define MX_KERNELS_H

#include <string.h>

#include "internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The geometry of an im2col (Convolution, Deconvolution; Pooling's windows too): one side is
 * the "image" (channels c, size h x w), the other the column grid (oh x ow positions), as in
 * a convolution from image to grid; 1-D kernels as height 1. A plain struct, passed by value
 * to CUDA kernels. */
typedef struct mx_conv_geom {
  int64_t c, h, w; /* image channels and size */
  int64_t oh, ow;  /* grid of kernel positions */
  int64_t kh, kw, sh, sw, dh, dw, ph, pw;
} mx_conv_geom;

/* The CPU table is in kernels_cpu.c; a device whose table (or one entry) is
 * NULL reports "not available on <device>" instead of running. All pointers
 * are device pointers; arrays are contiguous row-major float32; n counts
 * elements. */

typedef struct mx_kernels {
  /* y[i] = v */
  void (*fill)(float *y, int64_t n, float v);
  /* y[i] = start + i * step */
  void (*arange)(float *y, int64_t n, double start, double step);
  /* y[i] = op(x[i]); x == y allowed */
  void (*unary)(mx_unary_op op, const float *x, float *y, int64_t n);
  /* y[i] = min(max(x[i], lo), hi); x == y allowed */
  void (*clip)(const float *x, float *y, int64_t n, float lo, float hi);
  /* y[i] = a[i] op b[i]; y may equal a or b */
  void (*binary)(mx_binary_op op, const float *a, const float *b, float *y, int64_t n);
  /* y[i] = a[i] op s; y may equal a */
  void (*binary_scalar)(mx_binary_op op, const float *a, float s, float *y, int64_t n);
  /* y (contiguous, `shape`) = a op b where a and b are read with element
   * strides sa, sb per axis (0 on broadcast axes). ndim >= 1. */
  void (*binary_strided)(mx_binary_op op, const float *a, const int64_t *sa, const float *b,
                         const int64_t *sb, float *y, const int64_t *shape, int ndim);
  /* y (contiguous, `shape`) = x read with element strides sx: broadcasting
   * assignment (stride 0) and transpose (permuted strides). x and y distinct. */
  void (*copy_strided)(const float *x, const int64_t *sx, float *y, const int64_t *shape, int ndim);
  /* rows x cols block: y[r*ldy + c] = x[r*ldx + c] (slice_axis, concat) */
  void (*copy2d)(const float *x, int64_t ldx, float *y, int64_t ldy, int64_t rows, int64_t cols);
  /* x viewed as (outer, len, inner) reduced over the middle axis into y
   * (outer, inner). ARGMAX/ARGMIN write 0-based positions as floats; MEAN
   * divides by len; NORM is the L2 norm. len >= 1. */
  void (*reduce)(mx_reduce_op op, const float *x, float *y, int64_t outer, int64_t len,
                 int64_t inner);
  /* y row i = x row idx[i] (rows of row_size floats, x has `rows` rows).
   * Returns -1, or the position in idx of the first index that is not an
   * integer in [0, rows) (y is then partly written). */
  int64_t (*take)(const float *x, int64_t rows, int64_t row_size, const float *idx, int64_t n,
                  float *y);
  /* y (n, depth): row i is off except y[i, idx[i]] = on; indices outside
   * [0, depth) give an all-off row (MXNet's behaviour). */
  void (*one_hot)(const float *idx, int64_t n, int64_t depth, float on, float off, float *y);
  /* col (c*kh*kw, oh*ow) from one image (c, h, w), rows ld floats apart (ld >= oh*ow: several
   * images side by side); zeros where the kernel reads padding. */
  void (*im2col)(const mx_conv_geom *g, const float *img, float *col, int64_t ld);
  /* img (c, h, w) += the columns of col (c*kh*kw, oh*ow; rows ld floats apart) put back where
   * they came from; each element's sum in the order (ki, then kj) on every device. */
  void (*col2im)(const mx_conv_geom *g, const float *col, float *img, int64_t ld);
} mx_kernels;

extern const mx_kernels mx_kernels_cpu;

/* The kernel table for ctx, or NULL with a message recorded (no function
 * prefix: the caller adds its name with MX_ERR_FRAME). */
const mx_kernels *mx_kernels_for(mx_context ctx);
/* Records "<where>: <kernel> is not available on <ctx>" and returns MX_ERR_DEVICE. */
mx_status mx_kernel_missing(const char *where, mx_context ctx, const char *kernel);

/* ---- broadcasting helpers (NumPy rules, shapes aligned on the right) ---- */

/* The broadcast shape of a and b into out (ndim into *out_ndim); 0 when they
 * cannot broadcast. */
static inline int mx_broadcast_shape(const int64_t *a, int na, const int64_t *b, int nb,
                                     int64_t *out, int *out_ndim) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int64_t da = i < n - na ? 1 : a[i - (n - na)];
    int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
    if (da != db && da != 1 && db != 1) return 0;
    out[i] = da == 1 ? db : da;
  }
  *out_ndim = n;
  return 1;
}

/* Element strides for reading a contiguous array of shape (src, ns) as the
 * broadcast shape (out, n >= ns): 0 on axes where src has size 1 or is absent. */
static inline void mx_broadcast_strides(const int64_t *src, int ns, const int64_t *out, int n,
                                        int64_t *strides) {
  int64_t s = 1;
  for (int i = n - 1; i >= 0; i--) {
    int j = i - (n - ns);
    if (j < 0 || src[j] == 1) {
      strides[i] = 0;
    } else {
      strides[i] = s;
    }
    if (j >= 0) s *= src[j];
    (void)out;
  }
}

/* Merges adjacent axes that every stride set walks contiguously, so strided
 * kernels loop over as few (and as long) rows as possible. `nsets` stride
 * arrays of *ndim entries are rewritten in place with shape. */
static inline void mx_collapse_axes(int64_t *shape, int *ndim, int64_t **strides, int nsets) {
  int n = 0;
  for (int i = 0; i < *ndim; i++) { /* drop size-1 axes: their strides never matter */
    if (shape[i] == 1) continue;
    shape[n] = shape[i];
    for (int s = 0; s < nsets; s++) strides[s][n] = strides[s][i];
    n++;
  }
  if (n == 0) {
    shape[0] = 1;
    for (int s = 0; s < nsets; s++) strides[s][0] = 0;
    *ndim = 1;
    return;
  }
  int w = 0;
  for (int i = 1; i < n; i++) {
    int ok = 1;
    for (int s = 0; s < nsets; s++)
      if (strides[s][w] != strides[s][i] * shape[i]) ok = 0;
    if (ok) {
      shape[w] *= shape[i];
      for (int s = 0; s < nsets; s++) strides[s][w] = strides[s][i];
    } else {
      w++;
      shape[w] = shape[i];
      for (int s = 0; s < nsets; s++) strides[s][w] = strides[s][i];
    }
  }
  *ndim = w + 1;
}

/* y (contiguous, `shape`, n axes) = a op b, with a (ashape, an axes) and b (bshape, bn axes)
 * contiguous and broadcast to `shape`: one flat loop when the shapes are equal, else the
 * strided kernel over as few axes as the strides allow. y may be a or b when that one has
 * the whole shape. */
static inline void mx_binary_broadcast(const mx_kernels *k, mx_binary_op op, const float *a,
                                       const int64_t *ashape, int an, const float *b,
                                       const int64_t *bshape, int bn, float *y,
                                       const int64_t *shape, int n) {
  if (an == bn && memcmp(ashape, bshape, (size_t)an * sizeof(int64_t)) == 0) {
    k->binary(op, a, b, y, mx_shape_size(ashape, an));
    return;
  }
  int64_t s[MX_MAX_NDIM], sa[MX_MAX_NDIM], sb[MX_MAX_NDIM];
  memcpy(s, shape, (size_t)n * sizeof *s);
  mx_broadcast_strides(ashape, an, shape, n, sa);
  mx_broadcast_strides(bshape, bn, shape, n, sb);
  int64_t *sets[2] = {sa, sb};
  mx_collapse_axes(s, &n, sets, 2);
  k->binary_strided(op, a, sa, b, sb, y, s, n);
}

#ifdef __cplusplus
}
#endif

#endif
