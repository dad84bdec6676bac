/* kernels_cpu.c: the CPU kernel table (mx_kernels_cpu). Contiguous cases are
 * tight loops, one per op (the switch is outside the loop) so the compiler
 * vectorises them; broadcasting goes through a strided index loop. */
#include <math.h>
#include <string.h>

#include "elementwise.h"
#include "kernels.h"

static void cpu_fill(float *y, int64_t n, float v) {
  for (int64_t i = 0; i < n; i++) y[i] = v;
}

static void cpu_arange(float *y, int64_t n, double start, double step) {
  for (int64_t i = 0; i < n; i++) y[i] = (float)(start + (double)i * step);
}

#define UNARY_CASE(OP, F)                                                    \
  case OP:                                                                   \
    for (int64_t i = 0; i < n; i++) y[i] = F(x[i]);                          \
    break;

static void cpu_unary(mx_unary_op op, const float *x, float *y, int64_t n) {
  switch (op) {
    UNARY_CASE(MX_UNARY_COPY, mx_ew_copy)
    UNARY_CASE(MX_UNARY_NEG, mx_ew_neg)
    UNARY_CASE(MX_UNARY_EXP, mx_ew_exp)
    UNARY_CASE(MX_UNARY_LOG, mx_ew_log)
    UNARY_CASE(MX_UNARY_SQRT, mx_ew_sqrt)
    UNARY_CASE(MX_UNARY_ABS, mx_ew_abs)
    UNARY_CASE(MX_UNARY_SQUARE, mx_ew_square)
    UNARY_CASE(MX_UNARY_RELU, mx_ew_relu)
    UNARY_CASE(MX_UNARY_SIGMOID, mx_ew_sigmoid)
    UNARY_CASE(MX_UNARY_TANH, mx_ew_tanh)
    UNARY_CASE(MX_UNARY_SOFTRELU, mx_ew_softrelu)
    UNARY_CASE(MX_UNARY_SIGN, mx_ew_sign)
    UNARY_CASE(MX_UNARY_RECIPROCAL, mx_ew_reciprocal)
  default: break;
  }
}

static void cpu_clip(const float *x, float *y, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; i++) y[i] = mx_ew_clip(x[i], lo, hi);
}

/* Expands BODY(F) once per binary op, F being the op's element function. */
#define BINARY_SWITCH(op, BODY)                                              \
  switch (op) {                                                              \
  case MX_BINARY_ADD: BODY(mx_ew_add); break;                                \
  case MX_BINARY_SUB: BODY(mx_ew_sub); break;                                \
  case MX_BINARY_MUL: BODY(mx_ew_mul); break;                                \
  case MX_BINARY_DIV: BODY(mx_ew_div); break;                                \
  case MX_BINARY_MAX: BODY(mx_ew_max); break;                                \
  case MX_BINARY_MIN: BODY(mx_ew_min); break;                                \
  case MX_BINARY_POW: BODY(mx_ew_pow); break;                                \
  case MX_BINARY_RSUB: BODY(mx_ew_rsub); break;                              \
  case MX_BINARY_RDIV: BODY(mx_ew_rdiv); break;                              \
  case MX_BINARY_EQ: BODY(mx_ew_eq); break;                                  \
  case MX_BINARY_NE: BODY(mx_ew_ne); break;                                  \
  case MX_BINARY_GT: BODY(mx_ew_gt); break;                                  \
  case MX_BINARY_GE: BODY(mx_ew_ge); break;                                  \
  case MX_BINARY_LT: BODY(mx_ew_lt); break;                                  \
  case MX_BINARY_LE: BODY(mx_ew_le); break;                                  \
  default: break;                                                            \
  }

static void cpu_binary(mx_binary_op op, const float *a, const float *b, float *y, int64_t n) {
#define LOOP(F) for (int64_t i = 0; i < n; i++) y[i] = F(a[i], b[i])
  BINARY_SWITCH(op, LOOP)
#undef LOOP
}

static void cpu_binary_scalar(mx_binary_op op, const float *a, float s, float *y, int64_t n) {
#define LOOP(F) for (int64_t i = 0; i < n; i++) y[i] = F(a[i], s)
  BINARY_SWITCH(op, LOOP)
#undef LOOP
}

/* One innermost row of a strided binary op: n outputs, strides 1 or 0 get
 * their own vectorisable loops. */
static void binary_row(mx_binary_op op, const float *a, int64_t sa, const float *b, int64_t sb,
                       float *y, int64_t n) {
  if (sa == 1 && sb == 1) {
    cpu_binary(op, a, b, y, n);
  } else if (sa == 1 && sb == 0) {
    cpu_binary_scalar(op, a, b[0], y, n);
  } else if (sa == 0 && sb == 1) {
    float s = a[0];
#define LOOP(F) for (int64_t i = 0; i < n; i++) y[i] = F(s, b[i])
    BINARY_SWITCH(op, LOOP)
#undef LOOP
  } else {
#define LOOP(F) for (int64_t i = 0; i < n; i++) y[i] = F(a[i * sa], b[i * sb])
    BINARY_SWITCH(op, LOOP)
#undef LOOP
  }
}

static void cpu_binary_strided(mx_binary_op op, const float *a, const int64_t *sa, const float *b,
                               const int64_t *sb, float *y, const int64_t *shape, int ndim) {
  int64_t idx[MX_MAX_NDIM] = {0};
  int64_t rows = 1, inner = shape[ndim - 1];
  for (int d = 0; d < ndim - 1; d++) rows *= shape[d];
  if (inner == 0) return;
  int64_t oa = 0, ob = 0;
  for (int64_t r = 0; r < rows; r++) {
    binary_row(op, a + oa, sa[ndim - 1], b + ob, sb[ndim - 1], y + r * inner, inner);
    /* advance the outer index like an odometer */
    for (int d = ndim - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < shape[d]) break;
      oa -= sa[d] * shape[d];
      ob -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/* y (rows, cols) = x read down columns (x is (cols, rows) row-major): a 2-D
 * transpose in 32x32 tiles, so both sides stay in cache */
static void transpose_tiled(const float *x, int64_t ldx, float *y, int64_t rows, int64_t cols) {
  enum { T = 32 };
  for (int64_t r0 = 0; r0 < rows; r0 += T)
    for (int64_t c0 = 0; c0 < cols; c0 += T) {
      int64_t r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
      for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c1; c++) y[r * cols + c] = x[c * ldx + r];
    }
}

static void cpu_copy_strided(const float *x, const int64_t *sx, float *y, const int64_t *shape,
                             int ndim) {
  if (ndim == 2 && sx[0] == 1 && sx[1] == shape[0] && shape[0] > 1) {
    transpose_tiled(x, sx[1], y, shape[0], shape[1]);
    return;
  }
  int64_t idx[MX_MAX_NDIM] = {0};
  int64_t rows = 1, inner = shape[ndim - 1], s = sx[ndim - 1];
  for (int d = 0; d < ndim - 1; d++) rows *= shape[d];
  if (inner == 0) return;
  int64_t ox = 0;
  for (int64_t r = 0; r < rows; r++) {
    float *yr = y + r * inner;
    const float *xr = x + ox;
    if (s == 1) {
      memcpy(yr, xr, (size_t)inner * sizeof(float));
    } else if (s == 0) {
      for (int64_t i = 0; i < inner; i++) yr[i] = xr[0];
    } else {
      for (int64_t i = 0; i < inner; i++) yr[i] = xr[i * s];
    }
    for (int d = ndim - 2; d >= 0; d--) {
      idx[d]++;
      ox += sx[d];
      if (idx[d] < shape[d]) break;
      ox -= sx[d] * shape[d];
      idx[d] = 0;
    }
  }
}

static void cpu_copy2d(const float *x, int64_t ldx, float *y, int64_t ldy, int64_t rows,
                       int64_t cols) {
  for (int64_t r = 0; r < rows; r++)
    memmove(y + r * ldy, x + r * ldx, (size_t)cols * sizeof(float));
}

/* ---- reductions ---- */

/* Contiguous sums use LANES independent float accumulators over blocks of
 * BLOCK values (the loop vectorises without reassociating one running sum),
 * and add the blocks up in double: the error stays near one float rounding
 * however long the row. */
#define LANES 16
#define BLOCK 4096

static float sum_block(const float *x, int64_t n) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) acc[j] += x[i + j];
  float s = 0.0f;
  for (; i < n; i++) s += x[i];
  for (int j = 0; j < LANES; j++) s += acc[j];
  return s;
}

static float sumsq_block(const float *x, int64_t n) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) acc[j] += x[i + j] * x[i + j];
  float s = 0.0f;
  for (; i < n; i++) s += x[i] * x[i];
  for (int j = 0; j < LANES; j++) s += acc[j];
  return s;
}

static double sum_contig(const float *x, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n; i += BLOCK) total += sum_block(x + i, n - i < BLOCK ? n - i : BLOCK);
  return total;
}

static double sumsq_contig(const float *x, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n; i += BLOCK) total += sumsq_block(x + i, n - i < BLOCK ? n - i : BLOCK);
  return total;
}

/* Sums (or sums of squares) down the middle axis of (len, inner) into y[inner]:
 * columns in tiles of TILE, rows in blocks of ROWS summed in float (vectorised
 * along the row), the blocks added up in double. */
#define TILE 256
#define ROWS 256
static void sum_columns(const float *x, float *y, int64_t len, int64_t inner, int squares) {
  for (int64_t c0 = 0; c0 < inner; c0 += TILE) {
    int64_t w = inner - c0 < TILE ? inner - c0 : TILE;
    double total[TILE] = {0};
    for (int64_t r0 = 0; r0 < len; r0 += ROWS) {
      int64_t r1 = len - r0 < ROWS ? len : r0 + ROWS;
      float part[TILE] = {0};
      for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * inner + c0;
        if (squares)
          for (int64_t c = 0; c < w; c++) part[c] += xr[c] * xr[c];
        else
          for (int64_t c = 0; c < w; c++) part[c] += xr[c];
      }
      for (int64_t c = 0; c < w; c++) total[c] += part[c];
    }
    for (int64_t c = 0; c < w; c++) y[c0 + c] = (float)total[c];
  }
}

static float max_contig(const float *x, int64_t n) {
  float acc[LANES];
  for (int j = 0; j < LANES; j++) acc[j] = -INFINITY;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) acc[j] = mx_ew_max(acc[j], x[i + j]);
  float m = -INFINITY;
  for (; i < n; i++) m = mx_ew_max(m, x[i]);
  for (int j = 0; j < LANES; j++) m = mx_ew_max(m, acc[j]);
  return m;
}

static float min_contig(const float *x, int64_t n) {
  float acc[LANES];
  for (int j = 0; j < LANES; j++) acc[j] = INFINITY;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) acc[j] = mx_ew_min(acc[j], x[i + j]);
  float m = INFINITY;
  for (; i < n; i++) m = mx_ew_min(m, x[i]);
  for (int j = 0; j < LANES; j++) m = mx_ew_min(m, acc[j]);
  return m;
}

/* first position of the max (sign 1) or min (sign -1) of n values at stride s; the first
 * NaN when there is one (as numpy) */
static int64_t argext(const float *x, int64_t n, int64_t s, int want_max) {
  int64_t best = 0;
  float bv = x[0];
  if (bv != bv) return 0;
  for (int64_t i = 1; i < n; i++) {
    float v = x[i * s];
    if (v != v) return i;
    if (want_max ? v > bv : v < bv) { bv = v; best = i; }
  }
  return best;
}

static void cpu_reduce(mx_reduce_op op, const float *x, float *y, int64_t outer, int64_t len,
                       int64_t inner) {
  for (int64_t o = 0; o < outer; o++) {
    const float *xo = x + o * len * inner;
    float *yo = y + o * inner;
    if (op == MX_REDUCE_ARGMAX || op == MX_REDUCE_ARGMIN) {
      for (int64_t i = 0; i < inner; i++)
        yo[i] = (float)argext(xo + i, len, inner, op == MX_REDUCE_ARGMAX);
      continue;
    }
    if (inner == 1) {
      switch (op) {
      case MX_REDUCE_SUM: yo[0] = (float)sum_contig(xo, len); break;
      case MX_REDUCE_MEAN: yo[0] = (float)(sum_contig(xo, len) / (double)len); break;
      case MX_REDUCE_MAX: yo[0] = max_contig(xo, len); break;
      case MX_REDUCE_MIN: yo[0] = min_contig(xo, len); break;
      case MX_REDUCE_NORM: yo[0] = (float)sqrt(sumsq_contig(xo, len)); break;
      default: break;
      }
      continue;
    }
    if (op == MX_REDUCE_SUM || op == MX_REDUCE_MEAN || op == MX_REDUCE_NORM) {
      sum_columns(xo, yo, len, inner, op == MX_REDUCE_NORM);
      if (op == MX_REDUCE_MEAN)
        for (int64_t i = 0; i < inner; i++) yo[i] /= (float)len;
      if (op == MX_REDUCE_NORM)
        for (int64_t i = 0; i < inner; i++) yo[i] = sqrtf(yo[i]);
      continue;
    }
    /* max and min with inner > 1: whole rows at a time (vectorises along inner) */
    memcpy(yo, xo, (size_t)inner * sizeof(float));
    for (int64_t l = 1; l < len; l++) {
      const float *xr = xo + l * inner;
      if (op == MX_REDUCE_MAX)
        for (int64_t i = 0; i < inner; i++) yo[i] = mx_ew_max(yo[i], xr[i]);
      else
        for (int64_t i = 0; i < inner; i++) yo[i] = mx_ew_min(yo[i], xr[i]);
    }
  }
}

static int64_t cpu_take(const float *x, int64_t rows, int64_t row_size, const float *idx,
                        int64_t n, float *y) {
  for (int64_t i = 0; i < n; i++) {
    float f = idx[i];
    if (!(f >= 0.0f && f < (float)rows) || f != floorf(f)) return i;
    int64_t r = (int64_t)f;
    if (r >= rows) return i;
    memcpy(y + i * row_size, x + r * row_size, (size_t)row_size * sizeof(float));
  }
  return -1;
}

static void cpu_one_hot(const float *idx, int64_t n, int64_t depth, float on, float off,
                        float *y) {
  for (int64_t i = 0; i < n; i++) {
    float *row = y + i * depth;
    for (int64_t j = 0; j < depth; j++) row[j] = off;
    float f = idx[i];
    if (f >= 0.0f && f < (float)depth) {
      int64_t c = (int64_t)f;
      if (c < depth) row[c] = on;
    }
  }
}

/* ---- im2col, col2im (Convolution, Deconvolution) ---- */

static void cpu_im2col(const mx_conv_geom *g, const float *restrict img, float *restrict col, int64_t ld) {
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        float *row = col + ((ch * g->kh + ki) * g->kw + kj) * ld;
        const float *plane = img + ch * g->h * g->w;
        for (int64_t y = 0; y < g->oh; y++) {
          int64_t iy = y * g->sh - g->ph + ki * g->dh;
          float *r = row + y * g->ow;
          if (iy < 0 || iy >= g->h) {
            for (int64_t x = 0; x < g->ow; x++) r[x] = 0.0f;
            continue;
          }
          const float *src = plane + iy * g->w;
          int64_t off = kj * g->dw - g->pw;
          if (g->sw == 1 && off >= 0 && off + g->ow <= g->w) {
            /* rows are short (LeNet: 24 and 8): fixed 8-float copies, inlined, instead of a memcpy
             * call */
            int64_t x = 0;
            for (; x + 8 <= g->ow; x += 8) memcpy(r + x, src + off + x, 8 * sizeof(float));
            for (; x < g->ow; x++) r[x] = src[off + x];
            continue;
          }
          for (int64_t x = 0; x < g->ow; x++) {
            int64_t ix = x * g->sw + off;
            r[x] = (ix >= 0 && ix < g->w) ? src[ix] : 0.0f;
          }
        }
      }
}

static void cpu_col2im(const mx_conv_geom *g, const float *restrict col, float *restrict img, int64_t ld) {
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        const float *row = col + ((ch * g->kh + ki) * g->kw + kj) * ld;
        float *plane = img + ch * g->h * g->w;
        for (int64_t y = 0; y < g->oh; y++) {
          int64_t iy = y * g->sh - g->ph + ki * g->dh;
          if (iy < 0 || iy >= g->h) continue;
          const float *r = row + y * g->ow;
          float *dst = plane + iy * g->w;
          int64_t off = kj * g->dw - g->pw;
          for (int64_t x = 0; x < g->ow; x++) {
            int64_t ix = x * g->sw + off;
            if (ix >= 0 && ix < g->w) dst[ix] += r[x];
          }
        }
      }
}

const mx_kernels mx_kernels_cpu = {
    .fill = cpu_fill,
    .arange = cpu_arange,
    .unary = cpu_unary,
    .clip = cpu_clip,
    .binary = cpu_binary,
    .binary_scalar = cpu_binary_scalar,
    .binary_strided = cpu_binary_strided,
    .copy_strided = cpu_copy_strided,
    .copy2d = cpu_copy2d,
    .reduce = cpu_reduce,
    .take = cpu_take,
    .one_hot = cpu_one_hot,
    .im2col = cpu_im2col,
    .col2im = cpu_col2im,
};
