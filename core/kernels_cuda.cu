// kernels_cuda.cu: the CUDA kernel table (mx_kernels_cuda) behind the NDArray
// functions on mx.gpu(n): one thread per element (grid-stride loops), a block per
// row for reductions over a contiguous axis. The math is elementwise.h's, shared
// with the CPU. Launch failures are kept pending (cuda_util.h).
#include <math.h>

#include "cuda_util.h"
#include "elementwise.h"

extern "C" {
#include "kernels.h"
}

// Shapes and strides passed by value to the strided kernels.
struct strided_args {
  int ndim;
  int64_t shape[MX_MAX_NDIM];
  int64_t sa[MX_MAX_NDIM], sb[MX_MAX_NDIM];
};

// The offsets in a and b of the contiguous output element i.
__device__ static inline void strided_offsets(const strided_args &g, int64_t i, int64_t *oa, int64_t *ob) {
  int64_t a = 0, b = 0;
  for (int d = g.ndim - 1; d >= 0; d--) {
    int64_t q = i % g.shape[d];
    i /= g.shape[d];
    a += q * g.sa[d];
    b += q * g.sb[d];
  }
  *oa = a;
  *ob = b;
}

static strided_args make_args(const int64_t *shape, int ndim, const int64_t *sa, const int64_t *sb) {
  strided_args g;
  g.ndim = ndim;
  for (int d = 0; d < ndim; d++) {
    g.shape[d] = shape[d];
    g.sa[d] = sa[d];
    g.sb[d] = sb ? sb[d] : 0;
  }
  return g;
}

// ---- kernels ----

__global__ void fill_kernel(float *y, int64_t n, float v) {
  MX_CUDA_LOOP(i, n) y[i] = v;
}

// start + i * step rounded as the CPU does (no fused multiply-add)
__global__ void arange_kernel(float *y, int64_t n, double start, double step) {
  MX_CUDA_LOOP(i, n) y[i] = (float)__dadd_rn(start, __dmul_rn((double)i, step));
}

__global__ void unary_kernel(int op, const float *x, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) y[i] = mx_ew_unary(op, x[i]);
}

__global__ void clip_kernel(const float *x, float *y, int64_t n, float lo, float hi) {
  MX_CUDA_LOOP(i, n) y[i] = mx_ew_clip(x[i], lo, hi);
}

__global__ void binary_kernel(int op, const float *a, const float *b, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) y[i] = mx_ew_binary(op, a[i], b[i]);
}

__global__ void binary_scalar_kernel(int op, const float *a, float s, float *y, int64_t n) {
  MX_CUDA_LOOP(i, n) y[i] = mx_ew_binary(op, a[i], s);
}

__global__ void binary_strided_kernel(int op, const float *a, const float *b, float *y, int64_t n,
                                      strided_args g) {
  MX_CUDA_LOOP(i, n) {
    int64_t oa, ob;
    strided_offsets(g, i, &oa, &ob);
    y[i] = mx_ew_binary(op, a[oa], b[ob]);
  }
}

__global__ void copy_strided_kernel(const float *x, float *y, int64_t n, strided_args g) {
  MX_CUDA_LOOP(i, n) {
    int64_t ox, unused;
    strided_offsets(g, i, &ox, &unused);
    y[i] = x[ox];
  }
}

// rows x cols block, one thread per element
__global__ void copy2d_kernel(const float *x, int64_t ldx, float *y, int64_t ldy, int64_t rows, int64_t cols) {
  MX_CUDA_LOOP(i, rows * cols) {
    int64_t r = i / cols, c = i % cols;
    y[r * ldy + c] = x[r * ldx + c];
  }
}

// ---- reductions ----

// A running value of a reduction: the accumulated value and, for argmax and
// argmin, the position of the extreme (the first one on ties, as the CPU).
struct acc {
  float v;
  int64_t pos;
};

__device__ static inline acc acc_start(int op) {
  acc a;
  a.pos = -1;
  switch (op) {
  case MX_REDUCE_MAX: a.v = -INFINITY; break;
  case MX_REDUCE_MIN: a.v = INFINITY; break;
  default: a.v = 0.0f; break;
  }
  return a;
}

// folds the value x at position pos into a
__device__ static inline acc acc_add(int op, acc a, float x, int64_t pos) {
  switch (op) {
  case MX_REDUCE_MAX: a.v = mx_ew_max(a.v, x); break;
  case MX_REDUCE_MIN: a.v = mx_ew_min(a.v, x); break;
  case MX_REDUCE_NORM: a.v += x * x; break;
  // arg: the first NaN wins, as on the CPU (a's positions come before pos)
  case MX_REDUCE_ARGMAX:
    if (a.pos < 0 || (a.v == a.v && (x > a.v || x != x))) a = acc{x, pos};
    break;
  case MX_REDUCE_ARGMIN:
    if (a.pos < 0 || (a.v == a.v && (x < a.v || x != x))) a = acc{x, pos};
    break;
  default: a.v += x; break; // SUM, MEAN
  }
  return a;
}

// b comes before a in an arg reduction: the first NaN, else the extreme, else the first on ties
__device__ static inline bool arg_before(bool want_max, acc b, acc a) {
  bool bn = b.v != b.v, an = a.v != a.v;
  if (bn || an) return bn && (!an || b.pos < a.pos);
  if (b.v == a.v) return b.pos < a.pos;
  return want_max ? b.v > a.v : b.v < a.v;
}

// merges two partial results, b covering later positions than a
__device__ static inline acc acc_merge(int op, acc a, acc b) {
  switch (op) {
  case MX_REDUCE_MAX: a.v = mx_ew_max(a.v, b.v); break;
  case MX_REDUCE_MIN: a.v = mx_ew_min(a.v, b.v); break;
  case MX_REDUCE_ARGMAX:
  case MX_REDUCE_ARGMIN:
    if (b.pos >= 0 && (a.pos < 0 || arg_before(op == MX_REDUCE_ARGMAX, b, a))) a = b;
    break;
  default: a.v += b.v; break; // SUM, MEAN, NORM
  }
  return a;
}

__device__ static inline float acc_final(int op, acc a, int64_t len) {
  switch (op) {
  case MX_REDUCE_MEAN: return a.v / (float)len;
  case MX_REDUCE_NORM: return sqrtf(a.v);
  case MX_REDUCE_ARGMAX:
  case MX_REDUCE_ARGMIN: return (float)a.pos;
  default: return a.v;
  }
}

// inner == 1: one block per row of len values, a shared-memory tree at the end
__global__ void reduce_rows_kernel(int op, const float *x, float *y, int64_t outer, int64_t len) {
  __shared__ acc part[MX_CUDA_THREADS];
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const float *row = x + o * len;
    acc a = acc_start(op);
    // a thread's positions grow, so it keeps its first extreme; merges break ties by position
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) a = acc_add(op, a, row[i], i);
    part[threadIdx.x] = a;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if ((int)threadIdx.x < s) part[threadIdx.x] = acc_merge(op, part[threadIdx.x], part[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) y[o] = acc_final(op, part[0], len);
    __syncthreads();
  }
}

// inner > 1: one thread per output (o, i), walking the len values at stride inner
__global__ void reduce_strided_kernel(int op, const float *x, float *y, int64_t outer, int64_t len,
                                      int64_t inner) {
  MX_CUDA_LOOP(t, outer * inner) {
    int64_t o = t / inner, i = t % inner;
    const float *p = x + o * len * inner + i;
    acc a = acc_start(op);
    for (int64_t l = 0; l < len; l++) a = acc_add(op, a, p[l * inner], l);
    y[t] = acc_final(op, a, len);
  }
}

// ---- take, one_hot ----

// y row i = x row idx[i]; the first bad position goes to *bad (atomicMin)
__global__ void take_kernel(const float *x, int64_t rows, int64_t row_size, const float *idx, int64_t n, float *y,
                            unsigned long long *bad) {
  MX_CUDA_LOOP(t, n * row_size) {
    int64_t i = t / row_size, c = t % row_size;
    float f = idx[i];
    if (!(f >= 0.0f && f < (float)rows) || f != floorf(f) || (int64_t)f >= rows) {
      atomicMin(bad, (unsigned long long)i);
    } else {
      y[t] = x[(int64_t)f * row_size + c];
    }
  }
}

// the same check for rows of size 0 (no element to copy, indices still checked)
__global__ void take_check_kernel(int64_t rows, const float *idx, int64_t n, unsigned long long *bad) {
  MX_CUDA_LOOP(i, n) {
    float f = idx[i];
    if (!(f >= 0.0f && f < (float)rows) || f != floorf(f) || (int64_t)f >= rows) atomicMin(bad, (unsigned long long)i);
  }
}

__global__ void one_hot_kernel(const float *idx, int64_t n, int64_t depth, float on, float off, float *y) {
  MX_CUDA_LOOP(t, n * depth) {
    int64_t i = t / depth, j = t % depth;
    float f = idx[i];
    int hit = f >= 0.0f && f < (float)depth && (int64_t)f == j;
    y[t] = hit ? on : off;
  }
}

// ---- im2col, col2im ----

// col (c*kh*kw, oh*ow; rows ld apart) from one image (c, h, w), zeros where the kernel reads padding
__global__ void im2col_kernel(mx_conv_geom g, const float *img, float *col, int64_t ld) {
  int64_t p = g.oh * g.ow;
  MX_CUDA_LOOP(t, g.c * g.kh * g.kw * p) {
    int64_t row = t / p, q = t % p, y = q / g.ow, x = q % g.ow;
    int64_t ch = row / (g.kh * g.kw), ki = row / g.kw % g.kh, kj = row % g.kw;
    int64_t iy = y * g.sh - g.ph + ki * g.dh, ix = x * g.sw - g.pw + kj * g.dw;
    col[row * ld + q] = (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? img[(ch * g.h + iy) * g.w + ix] : 0.0f;
  }
}

// img (c, h, w) += the columns that came from each element, a thread per element (no
// atomics), in the CPU's order (ki, then kj) so the sums round alike
__global__ void col2im_kernel(mx_conv_geom g, const float *col, float *img, int64_t ld) {
  MX_CUDA_LOOP(t, g.c * g.h * g.w) {
    int64_t ch = t / (g.h * g.w), iy = t / g.w % g.h, ix = t % g.w;
    float v = img[t];
    for (int64_t ki = 0; ki < g.kh; ki++) {
      int64_t ty = iy + g.ph - ki * g.dh; // = y * sh
      if (ty < 0 || ty % g.sh) continue;
      int64_t y = ty / g.sh;
      if (y >= g.oh) continue;
      for (int64_t kj = 0; kj < g.kw; kj++) {
        int64_t tx = ix + g.pw - kj * g.dw;
        if (tx < 0 || tx % g.sw) continue;
        int64_t x = tx / g.sw;
        if (x >= g.ow) continue;
        v += col[((ch * g.kh + ki) * g.kw + kj) * ld + y * g.ow + x];
      }
    }
    img[t] = v;
  }
}

// ---- the table's entries ----

static void cuda_fill(float *y, int64_t n, float v) {
  mx_cuda_device_of(y);
  MX_CUDA_LAUNCH(fill_kernel, n, y, n, v);
}

static void cuda_arange(float *y, int64_t n, double start, double step) {
  mx_cuda_device_of(y);
  MX_CUDA_LAUNCH(arange_kernel, n, y, n, start, step);
}

static void cuda_unary(mx_unary_op op, const float *x, float *y, int64_t n) {
  mx_cuda_device_of(y);
  MX_CUDA_LAUNCH(unary_kernel, n, (int)op, x, y, n);
}

static void cuda_clip(const float *x, float *y, int64_t n, float lo, float hi) {
  mx_cuda_device_of(y);
  MX_CUDA_LAUNCH(clip_kernel, n, x, y, n, lo, hi);
}

static void cuda_binary(mx_binary_op op, const float *a, const float *b, float *y, int64_t n) {
  mx_cuda_device_of(y);
  MX_CUDA_LAUNCH(binary_kernel, n, (int)op, a, b, y, n);
}

static void cuda_binary_scalar(mx_binary_op op, const float *a, float s, float *y, int64_t n) {
  mx_cuda_device_of(y);
  MX_CUDA_LAUNCH(binary_scalar_kernel, n, (int)op, a, s, y, n);
}

static void cuda_binary_strided(mx_binary_op op, const float *a, const int64_t *sa, const float *b,
                                const int64_t *sb, float *y, const int64_t *shape, int ndim) {
  mx_cuda_device_of(y);
  int64_t n = mx_shape_size(shape, ndim);
  MX_CUDA_LAUNCH(binary_strided_kernel, n, (int)op, a, b, y, n, make_args(shape, ndim, sa, sb));
}

static void cuda_copy_strided(const float *x, const int64_t *sx, float *y, const int64_t *shape, int ndim) {
  mx_cuda_device_of(y);
  int64_t n = mx_shape_size(shape, ndim);
  MX_CUDA_LAUNCH(copy_strided_kernel, n, x, y, n, make_args(shape, ndim, sx, NULL));
}

static void cuda_copy2d(const float *x, int64_t ldx, float *y, int64_t ldy, int64_t rows, int64_t cols) {
  mx_cuda_device_of(y);
  if (ldx == cols && ldy == cols) { // one contiguous block
    if (rows * cols == 0) return;
    cudaError_t e = cudaMemcpyAsync(y, x, (size_t)(rows * cols) * sizeof(float), cudaMemcpyDeviceToDevice,
                                    mx_cuda_stream());
    if (e != cudaSuccess) mx_cuda_set_pending("cudaMemcpyAsync (copy2d)", e);
    return;
  }
  MX_CUDA_LAUNCH(copy2d_kernel, rows * cols, x, ldx, y, ldy, rows, cols);
}

static void cuda_reduce(mx_reduce_op op, const float *x, float *y, int64_t outer, int64_t len, int64_t inner) {
  mx_cuda_device_of(y);
  if (outer * inner == 0) return;
  if (inner == 1) {
    unsigned blocks = outer < 65535 ? (unsigned)outer : 65535u;
    MX_CUDA_KERNEL(reduce_rows_kernel, blocks, MX_CUDA_THREADS, 0, mx_cuda_stream())((int)op, x, y, outer, len);
    mx_cuda_note_launch("reduce_rows_kernel");
  } else {
    MX_CUDA_LAUNCH(reduce_strided_kernel, outer * inner, (int)op, x, y, outer, len, inner);
  }
}

static int64_t cuda_take(const float *x, int64_t rows, int64_t row_size, const float *idx, int64_t n, float *y) {
  mx_cuda_device_of(y);
  if (n == 0) return -1;
  unsigned long long *word = mx_cuda_scratch();
  if (!word) return -1;
  cudaError_t e;
  cudaStream_t s = mx_cuda_stream();
  unsigned long long none = ~0ull, bad = none;
  e = cudaMemsetAsync(word, 0xff, sizeof none, s); // all ones: `none`
  if (e != cudaSuccess) {
    mx_cuda_set_pending("cudaMemsetAsync (take)", e);
    return -1;
  }
  if (row_size > 0) MX_CUDA_LAUNCH(take_kernel, n * row_size, x, rows, row_size, idx, n, y, word);
  else MX_CUDA_LAUNCH(take_check_kernel, n, rows, idx, n, word);
  e = cudaMemcpyAsync(&bad, word, sizeof bad, cudaMemcpyDeviceToHost, s);
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) {
    mx_cuda_set_pending("cudaMemcpyAsync (take)", e);
    return -1;
  }
  return bad == none ? -1 : (int64_t)bad;
}

static void cuda_one_hot(const float *idx, int64_t n, int64_t depth, float on, float off, float *y) {
  mx_cuda_device_of(y);
  MX_CUDA_LAUNCH(one_hot_kernel, n * depth, idx, n, depth, on, off, y);
}

static void cuda_im2col(const mx_conv_geom *g, const float *img, float *col, int64_t ld) {
  mx_cuda_device_of(col);
  MX_CUDA_LAUNCH(im2col_kernel, g->c * g->kh * g->kw * g->oh * g->ow, *g, img, col, ld);
}

static void cuda_col2im(const mx_conv_geom *g, const float *col, float *img, int64_t ld) {
  mx_cuda_device_of(img);
  MX_CUDA_LAUNCH(col2im_kernel, g->c * g->h * g->w, *g, col, img, ld);
}

// in the order of struct mx_kernels (kernels.h)
extern "C" const mx_kernels mx_kernels_cuda = {
    cuda_fill,          cuda_arange,       cuda_unary,  cuda_clip, cuda_binary, cuda_binary_scalar,
    cuda_binary_strided, cuda_copy_strided, cuda_copy2d, cuda_reduce, cuda_take, cuda_one_hot,
    cuda_im2col,        cuda_col2im,
};
