/* mx.h: the public C interface of the mxlua engine (NDArrays, contexts, errors).
 * Every fallible function returns an mx_status and records a message that
 * mx_last_error() returns. The engine knows nothing of Lua. */
#ifndef MX_H
#define MX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MX_VERSION "0.1"
#define MX_MAX_NDIM 6

/* ---- status and errors (error.c) ---- */
typedef enum mx_status {
  MX_OK = 0,
  MX_ERR_ARG,      /* a bad argument: wrong value, bad axis, bad index */
  MX_ERR_SHAPE,    /* shapes that do not fit together */
  MX_ERR_NOMEM,    /* allocation failed (host or device) */
  MX_ERR_DEVICE,   /* no such device, or a device call failed */
  MX_ERR_IO,       /* a file could not be opened, read or written */
  MX_ERR_FORMAT,   /* a file or text is not in the expected format */
  MX_ERR_CALLBACK, /* a user callback (e.g. a Lua custom operator) failed */
  MX_ERR_STATE,    /* an object used in a state that forbids it */
  MX_ERR_INTERNAL
} mx_status;

/* The last failure on this thread, in fields (error.c): its status; where it happened,
 * the public functions from the outermost (the one called) in; the operator or node it
 * concerns ("" when none); and what happened, which names no function. */
typedef struct mx_error_info {
  mx_status status;
  const char *where; /* the outermost function: "mx_executor_forward" ("" when none said) */
  const char *node;  /* "node 3 (fc1)", "" */
  const char *what;  /* "shape (2,3) does not match (3,2)" */
} mx_error_info;
void mx_last_error_info(mx_error_info *out);
/* The same as one line, "<where>: <inner functions>: <node>: <what>", for C callers and logs. */
const char *mx_last_error(void);
/* Records a failure (what: printf-style) in the public function `where` and returns
 * `status`: `return mx_error_at(MX_ERR_ARG, "mx_ndarray_reshape", "size %lld ...", n)`. */
mx_status mx_error_at(mx_status status, const char *where, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Records a failure without a function (an internal helper's: its public caller adds
 * itself with MX_ERR_FRAME). */
mx_status mx_error(mx_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The one way a caller adds context to a callee's failure: `return MX_ERR_FRAME(st, "mx_fn")`
 * appends the function mx_fn as the new outermost frame (never replacing one; the same
 * name twice in a row is kept once) and returns st. */
mx_status mx_error_frame(mx_status status, const char *where);
#define MX_ERR_FRAME(status, where) mx_error_frame((status), (where))
/* Adds the operator or node the failure concerns (printf-style; outer context first; the
 * same context as the current outermost one is kept once, so that an operator and its
 * caller may both name it). */
mx_status mx_error_node(mx_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- contexts and devices (device.c) ---- */
typedef enum mx_device_type { MX_DEV_CPU = 1, MX_DEV_GPU = 2 } mx_device_type;
typedef struct mx_context {
  int dev_type; /* mx_device_type */
  int dev_id;
} mx_context;

mx_context mx_cpu(int dev_id);
mx_context mx_gpu(int dev_id);
/* "cpu(0)" / "gpu(1)" into buf; returns buf. */
char *mx_context_str(mx_context ctx, char *buf, size_t len);
/* MX_OK when arrays can live on ctx; otherwise a clear message
 * ("built without CUDA", "no CUDA device present", "gpu(3) out of range"). */
mx_status mx_context_check(mx_context ctx);
int mx_cuda_compiled(void);       /* 1 when built with the CUDA device layer */
int mx_gpu_count(void);           /* 0 when no usable device (any CUDA error counts as none) */
mx_status mx_context_sync(mx_context ctx); /* waits for the device's queued work */

/* Allocation statistics, summed over devices. `requests` counts every storage
 * allocation asked of the pools; `system_allocs` every malloc/cudaMalloc made. */
typedef struct mx_alloc_stats {
  uint64_t requests;
  uint64_t system_allocs;
  uint64_t bytes_in_use;
  uint64_t bytes_pooled;
} mx_alloc_stats;
void mx_alloc_stats_get(mx_alloc_stats *out);
/* Returns pooled (unused) blocks to the system. */
void mx_alloc_trim(void);

/* ---- NDArray (ndarray.c) ----
 * A refcounted, contiguous, row-major float32 array on one context. Views
 * (reshape, first-axis slice) share the storage of their base. Shapes are
 * int64 and 0-based axes at this level (the Lua layer translates from 1-based). */
typedef struct mx_ndarray mx_ndarray;

mx_status mx_ndarray_create(const int64_t *shape, int ndim, mx_context ctx, mx_ndarray **out); /* uninitialised */
mx_status mx_ndarray_zeros(const int64_t *shape, int ndim, mx_context ctx, mx_ndarray **out);
mx_status mx_ndarray_full(const int64_t *shape, int ndim, mx_context ctx, float value, mx_ndarray **out);
mx_status mx_ndarray_from_host(const int64_t *shape, int ndim, mx_context ctx, const float *data, mx_ndarray **out);
mx_status mx_ndarray_arange(double start, double stop, double step, mx_context ctx, mx_ndarray **out);
mx_ndarray *mx_ndarray_retain(mx_ndarray *a);
void mx_ndarray_release(mx_ndarray *a); /* NULL is fine */

int mx_ndarray_ndim(const mx_ndarray *a);
const int64_t *mx_ndarray_shape(const mx_ndarray *a);
int64_t mx_ndarray_size(const mx_ndarray *a);
mx_context mx_ndarray_context(const mx_ndarray *a);
float *mx_ndarray_data(mx_ndarray *a);            /* device pointer to the first element */
int mx_ndarray_same_storage(const mx_ndarray *a, const mx_ndarray *b);

/* Host transfer: n must equal the array's size. */
mx_status mx_ndarray_to_host(const mx_ndarray *a, float *dst, int64_t n);
mx_status mx_ndarray_set_host(mx_ndarray *a, const float *src, int64_t n);
mx_status mx_ndarray_get_element(const mx_ndarray *a, int64_t flat_index, float *out);
mx_status mx_ndarray_set_element(mx_ndarray *a, int64_t flat_index, float v);

/* dst[...] = src, src broadcast to dst's shape (NumPy rules); any contexts. */
mx_status mx_ndarray_assign(mx_ndarray *dst, const mx_ndarray *src);
mx_status mx_ndarray_fill(mx_ndarray *dst, float value);
mx_status mx_ndarray_copy(const mx_ndarray *a, mx_ndarray **out);               /* same context */
mx_status mx_ndarray_copyto(const mx_ndarray *a, mx_context ctx, mx_ndarray **out);

/* Views and shape functions. reshape accepts one -1. slice is [begin, end) on axis 0 (a view). */
mx_status mx_ndarray_reshape(mx_ndarray *a, const int64_t *shape, int ndim, mx_ndarray **out);
mx_status mx_ndarray_slice(mx_ndarray *a, int64_t begin, int64_t end, mx_ndarray **out);
mx_status mx_ndarray_slice_axis(const mx_ndarray *a, int axis, int64_t begin, int64_t end, mx_ndarray **out); /* copy */
mx_status mx_ndarray_take(const mx_ndarray *a, const mx_ndarray *indices, mx_ndarray **out); /* rows by 0-based index data */
/* (permute.c) in place: row i becomes old row perm[i] (0-based), as take; CPU only. */
mx_status mx_ndarray_permute_rows(mx_ndarray *a, const int64_t *perm, int64_t n);
mx_status mx_ndarray_concat(mx_ndarray *const *arrays, int n, int axis, mx_ndarray **out);
/* axes NULL reverses the axes. */
mx_status mx_ndarray_transpose(const mx_ndarray *a, const int *axes, mx_ndarray **out);
mx_status mx_ndarray_expand_dims(mx_ndarray *a, int axis, mx_ndarray **out);   /* view */
mx_status mx_ndarray_squeeze(mx_ndarray *a, int axis, mx_ndarray **out);       /* view; axis -1: all size-1 axes */

/* Element-wise math. */
typedef enum mx_unary_op {
  MX_UNARY_COPY, MX_UNARY_NEG, MX_UNARY_EXP, MX_UNARY_LOG, MX_UNARY_SQRT, MX_UNARY_ABS,
  MX_UNARY_SQUARE, MX_UNARY_RELU, MX_UNARY_SIGMOID, MX_UNARY_TANH, MX_UNARY_SOFTRELU,
  MX_UNARY_SIGN, MX_UNARY_RECIPROCAL,
  MX_UNARY_COUNT
} mx_unary_op;
typedef enum mx_binary_op {
  MX_BINARY_ADD, MX_BINARY_SUB, MX_BINARY_MUL, MX_BINARY_DIV, MX_BINARY_MAX, MX_BINARY_MIN,
  MX_BINARY_POW, MX_BINARY_RSUB, MX_BINARY_RDIV, /* reversed forms: b - a, b / a */
  MX_BINARY_EQ, MX_BINARY_NE, MX_BINARY_GT, MX_BINARY_GE, MX_BINARY_LT, MX_BINARY_LE,
  MX_BINARY_COUNT
} mx_binary_op;
mx_status mx_ndarray_unary(mx_unary_op op, const mx_ndarray *a, mx_ndarray **out);
mx_status mx_ndarray_clip(const mx_ndarray *a, float lo, float hi, mx_ndarray **out);
/* out = a op b with NumPy broadcasting; both on one context. */
mx_status mx_ndarray_binary(mx_binary_op op, const mx_ndarray *a, const mx_ndarray *b, mx_ndarray **out);
mx_status mx_ndarray_binary_scalar(mx_binary_op op, const mx_ndarray *a, float b, mx_ndarray **out);
/* a = a op b in place; b must broadcast to a's shape. */
mx_status mx_ndarray_binary_inplace(mx_binary_op op, mx_ndarray *a, const mx_ndarray *b);
mx_status mx_ndarray_binary_scalar_inplace(mx_binary_op op, mx_ndarray *a, float b);

/* Reductions over all axes (axis = -1) or one axis. argmax/argmin give 0-based
 * positions as float values. norm is the L2 norm. */
typedef enum mx_reduce_op {
  MX_REDUCE_SUM, MX_REDUCE_MEAN, MX_REDUCE_MAX, MX_REDUCE_MIN, MX_REDUCE_ARGMAX, MX_REDUCE_ARGMIN,
  MX_REDUCE_NORM, MX_REDUCE_COUNT
} mx_reduce_op;
mx_status mx_ndarray_reduce(mx_reduce_op op, const mx_ndarray *a, int axis, int keepdims, mx_ndarray **out);

/* Matrix product of 1-D/2-D arrays with optional transposes (through mx_gemm). */
mx_status mx_ndarray_dot(const mx_ndarray *a, const mx_ndarray *b, int transpose_a, int transpose_b, mx_ndarray **out);
/* out[i, indices[i]] = on_value, else off_value; indices hold 0-based class ids. */
mx_status mx_ndarray_one_hot(const mx_ndarray *indices, int64_t depth, float on_value, float off_value, mx_ndarray **out);

/* ---- random numbers (random.c): one seedable generator per process ---- */
void mx_random_seed(uint64_t seed);
mx_status mx_random_uniform(float low, float high, mx_ndarray *out);
mx_status mx_random_normal(float mean, float std, mx_ndarray *out);
mx_status mx_random_permutation(int64_t n, mx_context ctx, mx_ndarray **out); /* 0..n-1 as float */

/* ---- BLAS (blas.c): row-major C = alpha * op(A) op(B) + beta * C on ctx's device ---- */
mx_status mx_gemm(mx_context ctx, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                  float *c, int64_t ldc);

/* ---- GEMM plan (gemm_plan.c): which CPU library runs each GEMM shape ----
 * The first time a shape (m, n, k, transposes, leading dimensions, beta, threads) comes, the
 * candidates built in are timed on it and the fastest keeps it for the process.
 * MXLUA_GEMM_PLAN=measure (default) | openblas | blis | libxsmm forces a choice. */
typedef enum mx_gemm_lib { MX_GEMM_OPENBLAS, MX_GEMM_BLIS, MX_GEMM_LIBXSMM, MX_GEMM_LIBS } mx_gemm_lib;
typedef struct mx_gemm_lib_info {
  const char *name; /* "openblas", "blis", "libxsmm" */
  int built;        /* in this build */
  int generic;      /* its CPU detection fell back to a generic kernel on this CPU */
  char detail[120]; /* version and kernel set: "0.3.21 Haswell", "0.9.0 generic" */
} mx_gemm_lib_info;
typedef struct mx_gemm_plan_entry {
  int transpose_a, transpose_b, m, n, k, lda, ldb, ldc;
  float beta;                  /* 0, 1, or another value (libxsmm takes only 0 and 1) */
  int threads;                 /* the engine's CPU GEMM threads when planned */
  mx_gemm_lib library;         /* the choice */
  double us[MX_GEMM_LIBS];     /* measured microseconds per call; < 0: not a candidate here */
  int lib_threads[MX_GEMM_LIBS]; /* threads each candidate ran on */
  char why[96];                /* "measured", "forced by MXLUA_GEMM_PLAN", ... */
} mx_gemm_plan_entry;
/* A candidate that ran on a thread team is chosen only where its median beats the fastest
 * one-thread candidate's by this factor (gemm_plan.c, choose, says why). */
#define MX_GEMM_TEAM_MARGIN 1.5
const char *mx_gemm_plan_mode(void); /* "measure" or the forced library's name */
void mx_gemm_lib_describe(mx_gemm_lib lib, mx_gemm_lib_info *out);
int mx_gemm_plan_size(void);
mx_status mx_gemm_plan_get(int i, mx_gemm_plan_entry *out); /* 0-based, in planning order */

/* ---- training support: IDX files (idx.c), .params files (params.c), optimizer kernels (optimizer.c) ---- */

/* Reads an IDX file of unsigned bytes, plain or gzip-compressed. `expected_ndim`
 * 1 wants labels (magic 0x801), 3 images (magic 0x803), 0 any ubyte IDX file.
 * Values become float32 times `scale`; the array keeps the file's dims. Errors
 * (wrong magic, truncated data) name the file. */
mx_status mx_idx_load(const char *path, int expected_ndim, float scale, mx_context ctx, mx_ndarray **out);
/* Images (n,rows,cols) scaled by `scale` and labels (n,) from a pair of IDX
 * files; fails, naming both files, when their counts differ. */
mx_status mx_idx_load_pair(const char *image_path, const char *label_path, float scale, mx_context ctx,
                           mx_ndarray **images, mx_ndarray **labels);
/* (bytes.c) rows of unsigned bytes from IDX files, kept as bytes: the files' rows
 * (first dimension) one after the other, each file's other dimensions flattened (equal). */
typedef struct mx_bytes mx_bytes;
mx_status mx_bytes_load_idx(const char *const *paths, int n, mx_bytes **out);
void mx_bytes_free(mx_bytes *b);
int64_t mx_bytes_rows(const mx_bytes *b);
int64_t mx_bytes_cols(const mx_bytes *b);
/* In place: row i becomes old row perm[i] (0-based), as mx_ndarray_permute_rows. */
mx_status mx_bytes_permute_rows(mx_bytes *b, const int64_t *perm, int64_t n);
/* Fills the CPU array dst (whole rows) with rows begin, begin+1, ... (wrapping past the
 * last row to the first) as float(byte) * scale. */
mx_status mx_bytes_to_ndarray(const mx_bytes *b, int64_t begin, float scale, mx_ndarray *dst);
/* As mx_bytes_to_ndarray, each row read as images of height x width (one per
 * plane) and cropped at random from the image padded with `pad` zeros on every side: MXNet's
 * pad + rand_crop, a shift of -pad..pad pixels per axis. The crop's corner comes from `draws`,
 * a CPU array of two uniform [0, 1) values per row (y, then x). */
mx_status mx_bytes_to_ndarray_crop(const mx_bytes *b, int64_t begin, float scale, int64_t height, int64_t width,
                                   int pad, mx_ndarray *draws, mx_ndarray *dst);

/* Writes `len` bytes to `path` atomically: a temporary file in the same
 * folder (path.tmp.PID.XXXXXX), fflush + fsync, then rename over `path`. Only a regular file is
 * replaced: a symbolic link is written through (its target replaced), anything else (a device, a
 * folder, a pipe) is refused, named. First it removes the temporary files of path that a killed
 * write left: of a pid no longer running, or an hour old. (file.c) */
mx_status mx_file_write_atomic(const char *path, const void *data, size_t len);
/* Reads the whole regular file at `path` into *data (malloc'd, NUL-terminated; *len bytes
 * before the NUL). Anything but a regular file is refused, and the read is bounded by the
 * file's size: a device or pipe never makes it read forever. Errors start with `where`. */
mx_status mx_file_read_all(const char *path, const char *where, char **data, size_t *len);
/* MX_OK when `path` names a regular file (after symbolic links); else an error starting
 * with `where`. */
mx_status mx_file_check_regular(const char *path, const char *where);
/* Writes an MXNet NDArray list (`.params`: magic 0x112, V2 dense cpu float32
 * records), atomically. `names` may be NULL (an unnamed list). */
mx_status mx_params_save(const char *path, mx_ndarray *const *arrays, const char *const *names, int n);
/* Reads an MXNet NDArray list (legacy, V1 or V2 dense records; f32/f64/f16/u8/
 * i32/i8/i64 converted to float32) onto ctx. On success *arrays and *names
 * (NULL when the file has no names) hold n entries: free them with mx_params_free. */
mx_status mx_params_load(const char *path, mx_context ctx, mx_ndarray ***arrays, char ***names, int *n);
void mx_params_free(mx_ndarray **arrays, char **names, int n);

/* Fused optimizer updates: one pass over weight, grad and state, on the
 * weight's device; all arrays of one shape and context. clip_gradient <= 0
 * means no clipping. g below is clip(rescale_grad * grad). */
typedef struct mx_optim_param {
  float lr, wd, rescale_grad, clip_gradient;
  float momentum;          /* SGD */
  float beta1, beta2;      /* Adam; lr is already bias-corrected by the caller */
  float gamma1, gamma2;    /* RMSProp */
  float epsilon;           /* Adam, RMSProp, AdaGrad */
} mx_optim_param;
/* SGD as MXNet: with mom: mom = momentum*mom - lr*(g + wd*w); w += mom.
 * mom NULL: w -= lr*(g + wd*w). */
mx_status mx_optim_sgd_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *mom, const mx_optim_param *p);
/* SGD over n parameters in one call, as n calls of mx_optim_sgd_update with
 * p->lr = lrs[i], p->wd = wds[i]; moms NULL (or moms[i] NULL): no momentum. Every array is
 * checked before any is updated. */
mx_status mx_optim_sgd_update_multi(mx_ndarray *const *weights, mx_ndarray *const *grads,
                                    mx_ndarray *const *moms, const float *lrs, const float *wds,
                                    int n, const mx_optim_param *p);
/* Adam (MXNet's adam_update): g = clip(rescale*grad) + wd*w; m = b1*m + (1-b1)*g;
 * v = b2*v + (1-b2)*g^2; w -= lr*m/(sqrt(v)+eps). */
mx_status mx_optim_adam_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *mean, mx_ndarray *var,
                               const mx_optim_param *p);
/* RMSProp. Plain (g_avg and delta NULL): n = (1-gamma1)*g^2 + gamma1*n;
 * w -= lr*g/sqrt(n+eps). Centered (Graves; all three states):
 * n as above, g_avg = (1-gamma1)*g + gamma1*g_avg,
 * delta = gamma2*delta - lr*g/sqrt(n - g_avg^2 + eps); w += delta.
 * g = clip(rescale*grad) + wd*w. */
mx_status mx_optim_rmsprop_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *n, mx_ndarray *g_avg,
                                  mx_ndarray *delta, const mx_optim_param *p);
/* AdaGrad: g = clip(rescale*grad); h += g^2; w -= lr*(g/sqrt(h+eps) + wd*w). */
mx_status mx_optim_adagrad_update(mx_ndarray *weight, const mx_ndarray *grad, mx_ndarray *history,
                                  const mx_optim_param *p);
/* Counts rows of `pred` (n, k) whose argmax (first maximum) equals label[i]
 * (0-based class ids, (n,) or (n,1)); for the Accuracy metric, no allocation.
 * With top_k > 1, counts rows whose label is among the top_k largest. */
mx_status mx_metric_topk_hits(const mx_ndarray *pred, const mx_ndarray *label, int top_k, int64_t *hits);

/* ---- images (image.c): PNG files through libpng ---- */
/* An 8-bit image, rows top first; channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
mx_status mx_image_write_png(const char *path, const uint8_t *pixels, int width, int height, int channels);
/* Tiles images (n,h,w), (n,1,h,w) or flat square (n,h*w) into a rows x cols grid
 * (a count <= 0 is computed from the other), each pixel scale x scale, tiles
 * separated by `pad` dark-gray pixels. Values 0 (black) to 1 (white), clipped. */
mx_status mx_image_write_grid_png(const char *path, const mx_ndarray *images, int rows, int cols, int scale,
                                  int pad);
/* Decodes a PNG (any colour type and depth) into malloc'd gray and alpha planes of
 * width*height floats in [0,1] (alpha 1 where the PNG has none); free() both. */
mx_status mx_image_decode_png(const void *buf, size_t len, float **gray, float **alpha, int *width, int *height);
mx_status mx_image_read_png(const char *path, float **gray, float **alpha, int *width, int *height);

/* ---- symbols and executors (symbol.c, symbol_json.c, infer.c, plan.c, executor.c) ----
 * A symbol is a refcounted handle on a graph of operator nodes (its heads are
 * its outputs). Names follow MXNet: unnamed ops get `<op lower-case><counter>`
 * from one process-wide counter per operator, missing inputs become variables
 * `<name>_<arg>`, outputs are `<name>_<outname>`. Lists of names returned by the
 * list functions stay valid until the symbol is released. */
typedef struct mx_symbol mx_symbol;
typedef struct mx_executor mx_executor;

mx_status mx_symbol_variable(const char *name, mx_symbol **out);
/* An operator with its parameters (string values, MXNet's JSON form), not yet
 * composed; name NULL or "" takes the automatic name. */
mx_status mx_symbol_create_op(const char *op_name, const char *name, const char *const *keys,
                              const char *const *values, int n, mx_symbol **out);
/* Gives inputs: keys[i] names the argument (NULL for positional). On an
 * uncomposed operator it fills its inputs (missing ones become variables); on
 * any other symbol it returns a copy whose variables of those names (or, by
 * position, in list_arguments order) are replaced. */
mx_status mx_symbol_compose(mx_symbol *sym, const char *const *keys, mx_symbol *const *args, int n,
                            mx_symbol **out);
mx_symbol *mx_symbol_retain(mx_symbol *s);
void mx_symbol_release(mx_symbol *s);
mx_status mx_symbol_list_arguments(mx_symbol *s, const char *const **names, int *n);
mx_status mx_symbol_list_outputs(mx_symbol *s, const char *const **names, int *n);
mx_status mx_symbol_list_auxiliary_states(mx_symbol *s, const char *const **names, int *n);
int mx_symbol_num_outputs(const mx_symbol *s);
const char *mx_symbol_name(const mx_symbol *s);    /* of its first head node; NULL for a group */
const char *mx_symbol_op_name(const mx_symbol *s); /* "FullyConnected"; NULL for a variable or group */
mx_status mx_symbol_group(mx_symbol *const *syms, int n, mx_symbol **out);
mx_status mx_symbol_get_internals(mx_symbol *s, mx_symbol **out);
mx_status mx_symbol_get_output(mx_symbol *s, int index, mx_symbol **out); /* 0-based */
/* Attributes of the head node: user ones are stored as `__key__`; get gives
 * NULL when absent. */
const char *mx_symbol_get_attr(const mx_symbol *s, const char *key);
mx_status mx_symbol_set_attr(mx_symbol *s, const char *key, const char *value);
/* All attributes of the head node; arrays valid until the next change. */
int mx_symbol_list_attr(const mx_symbol *s, const char *const **keys, const char *const **values);
/* "[Symbol softmax: SoftmaxOutput <- fc3 <- ... <- data]" (malloc'd; free()). */
char *mx_symbol_str(const mx_symbol *s);

/* Shape inference. Inputs: shapes for n named arguments (names NULL: the first n
 * arguments in list order). On success *complete says whether every shape is
 * known; when not, `missing` (if given) receives the names still unknown.
 * Result arrays (one per argument/output/aux, ndim 0 = unknown) are malloc'd
 * mx_symbol_shapes that the caller frees with mx_symbol_shapes_free. */
typedef struct mx_symbol_shapes {
  int narg, nout, naux;
  int *arg_ndim, *out_ndim, *aux_ndim;
  int64_t (*arg)[MX_MAX_NDIM], (*out)[MX_MAX_NDIM], (*aux)[MX_MAX_NDIM];
} mx_symbol_shapes;
mx_status mx_symbol_infer_shape(mx_symbol *s, const char *const *names, const int64_t (*shapes)[MX_MAX_NDIM],
                                const int *ndims, int n, mx_symbol_shapes *out, int *complete,
                                char *missing, size_t missing_len);
void mx_symbol_shapes_free(mx_symbol_shapes *r);

/* MXNet's `-symbol.json` (writes 1.x layout; reads 0.8, 0.9 and 1.x). */
mx_status mx_symbol_to_json(mx_symbol *s, char **json); /* malloc'd; free() */
mx_status mx_symbol_from_json(const char *json, mx_symbol **out);
mx_status mx_symbol_save(mx_symbol *s, const char *path);
mx_status mx_symbol_load(const char *path, mx_symbol **out);

/* The operator registry, for generating constructors and documentation. */
typedef struct mx_op_param_info {
  const char *name, *type, *default_value, *choices, *doc; /* default NULL: required */
} mx_op_param_info;
typedef struct mx_op_info {
  const char *name, *doc;
  int nparams;
  const mx_op_param_info *params;
  const char *const *arguments; /* the default names (NULL-terminated) */
} mx_op_info;
int mx_op_list_count(void);
mx_status mx_op_get_info(int i, mx_op_info *out);

/* ---- eager operators (imperative.c): a registry operator run on NDArrays (mx.nd.<Op>) ----
 * mx_eager_get gives the prepared operator for (name, parameters): parsed once and cached, owned
 * by the cache (valid until the next mx_eager_get or mx_eager_clear). mx_eager_run runs it on its
 * inputs (arguments then aux states, in mx_eager_inputs order, all on one context) and returns
 * new arrays for its visible outputs; shapes, operator state and workspace are planned once per
 * (input shapes, context), so a repeated call allocates only the arrays it returns. */
typedef struct mx_eager mx_eager;
mx_status mx_eager_get(const char *op_name, const char *const *keys, const char *const *values, int n,
                       mx_eager **out);
int mx_eager_inputs(const mx_eager *e, const char *const **names); /* arguments then aux states */
int mx_eager_num_arguments(const mx_eager *e);
int mx_eager_num_outputs(const mx_eager *e); /* visible */
mx_status mx_eager_run(mx_eager *e, mx_ndarray *const *in, int nin, int is_train, mx_ndarray **outputs);
/* The same with output 0 written into `out` (same context, the result's shape; may be in[0]):
 * the in-place NDArray methods (a:add_(b)). */
mx_status mx_eager_run_into(mx_eager *e, mx_ndarray *const *in, int nin, mx_ndarray *out);
/* Sets a float parameter of the prepared operator for the runs that follow, without preparing
 * another (a + 2 and a + 3 share `_plus_scalar`'s entry; the cached text keeps its first value). */
mx_status mx_eager_set_float(mx_eager *e, const char *name, float value);
void mx_eager_clear(void); /* frees the cache (plans, workspaces) */

/* Gradient requests (MXNet's OpReqType values). */
typedef enum mx_grad_req { MX_GRAD_NULL = 0, MX_GRAD_WRITE = 1, MX_GRAD_ADD = 3 } mx_grad_req;

/* Binds a symbol: plans every buffer once (one arena per executor), then
 * forward/backward allocate nothing. args/arg_grads in list_arguments order,
 * aux in list_auxiliary_states order. A NULL arg (or aux) is created in the
 * arena (zeros) with the shape inferred from the non-NULL ones; a NULL
 * arg_grad with a non-null request is created in the arena too. grad_reqs NULL
 * means write for all. The executor retains what it is given. */
mx_status mx_executor_bind(mx_symbol *sym, mx_context ctx, mx_ndarray *const *args,
                           mx_ndarray *const *arg_grads, const mx_grad_req *grad_reqs, mx_ndarray *const *aux,
                           mx_executor **out);
/* simple_bind: shapes of named inputs; arguments, gradients (except where
 * grad_reqs says null) and aux states all live in the executor's arena. */
mx_status mx_executor_simple_bind(mx_symbol *sym, mx_context ctx, const char *const *names,
                                  const int64_t (*shapes)[MX_MAX_NDIM], const int *ndims, int n,
                                  const mx_grad_req *grad_reqs, mx_executor **out);
mx_executor *mx_executor_retain(mx_executor *e);
void mx_executor_release(mx_executor *e);
mx_status mx_executor_forward(mx_executor *e, int is_train);
/* head_grads: n gradients for the outputs (NULL entries, or n = 0, for loss heads). */
mx_status mx_executor_backward(mx_executor *e, mx_ndarray *const *head_grads, int n);
/* Borrowed arrays (retain to keep): outputs; args/grads (NULL when no gradient)
 * in list_arguments order; aux in list_auxiliary_states order. */
int mx_executor_outputs(mx_executor *e, mx_ndarray *const **out);
int mx_executor_arg_arrays(mx_executor *e, mx_ndarray *const **out);
int mx_executor_grad_arrays(mx_executor *e, mx_ndarray *const **out);
int mx_executor_aux_arrays(mx_executor *e, mx_ndarray *const **out);
mx_grad_req mx_executor_grad_req(mx_executor *e, int arg_index);
/* Called with (name, array) for every operator output in forward (`<node>_output`)
 * and every gradient in backward (`<node>_backward_<arg>`); fn NULL removes it.
 * A non-OK return stops the pass with that status. */
typedef mx_status (*mx_monitor_fn)(const char *name, mx_ndarray *array, void *userdata);
void mx_executor_set_monitor(mx_executor *e, mx_monitor_fn fn, void *userdata);
/* Bytes of the executor's arena, and what it would take with no reuse at all. */
void mx_executor_memory(const mx_executor *e, size_t *arena_bytes, size_t *naive_bytes);
/* Argument `arg` reads src's memory in place (no copy) until fed again; src NULL gives
 * it back its own memory (also done at release). src: same shape, CPU, the executor's context.
 * The argument's array then aliases src: writing into one writes into the other. */
mx_status mx_executor_feed(mx_executor *e, int arg, mx_ndarray *src);

/* ---- custom operators (ops/custom.c): operators written outside the engine ----
 * The `Custom` operator (parameter op_type) calls the callbacks registered for
 * its op_type, each with the opaque `self`. Attributes are the node's string
 * key/values (op_type and the user's parameters). Names written by `list` are
 * copied. Arrays passed to forward/backward are the executor's own, valid only
 * during the call; a NULL entry is an array the operator did not ask for. req
 * values are mx_grad_req-like: 0 null, 1 write, 2 inplace, 3 add. */
typedef struct mx_custom_shape {
  int ndim; /* 0: unknown */
  int64_t dim[MX_MAX_NDIM];
} mx_custom_shape;
typedef struct mx_custom_attrs {
  const char *node_name;
  int n;
  const char *const *keys, *const *values;
} mx_custom_attrs;
enum { MX_CUSTOM_LIST_ARGUMENTS, MX_CUSTOM_LIST_OUTPUTS, MX_CUSTOM_LIST_AUX };
/* backward_needs bits */
#define MX_CUSTOM_NEEDS_IN_DATA 1u
#define MX_CUSTOM_NEEDS_OUT_DATA 2u
#define MX_CUSTOM_NEEDS_OUT_GRAD 4u
typedef struct mx_custom_op_callbacks {
  void *self;
  mx_status (*list)(void *self, const mx_custom_attrs *a, int which, int *count, const char **names);
  /* Fills unknown shapes (ndim 0) of inputs, outputs and aux states. */
  mx_status (*infer_shape)(void *self, const mx_custom_attrs *a, int nin, mx_custom_shape *in, int nout,
                           mx_custom_shape *out, int naux, mx_custom_shape *aux);
  mx_status (*backward_needs)(void *self, const mx_custom_attrs *a, unsigned *needs); /* optional: all */
  mx_status (*create_operator)(void *self, const mx_custom_attrs *a, mx_context ctx, int nin,
                               const mx_custom_shape *in, void **op);
  mx_status (*forward)(void *self, void *op, int is_train, const int *req, int nin, mx_ndarray *const *in,
                       int nout, mx_ndarray *const *out, int naux, mx_ndarray *const *aux);
  mx_status (*backward)(void *self, void *op, const int *req, int nout, mx_ndarray *const *out_grad, int nin,
                        mx_ndarray *const *in, mx_ndarray *const *out, mx_ndarray *const *in_grad, int naux,
                        mx_ndarray *const *aux);
  void (*free_operator)(void *self, void *op); /* optional */
} mx_custom_op_callbacks;
/* Registers (or replaces) the callbacks of op_type; they are copied. */
mx_status mx_custom_op_register(const char *op_type, const mx_custom_op_callbacks *cb);
int mx_custom_op_registered(const char *op_type);

/* ---- CUDA graphs (graph.c, cuda_graph.cu; without CUDA every call fails "built without CUDA") ----
 * Between begin and end, the GPU work queued on ctx (kernels, GEMMs, device
 * copies and fills: e.g. an executor's forward and backward and the optimizer
 * updates of a training step) is recorded, not run; launch then replays all of
 * it with one call. Recording fails, naming the cause, on anything that cannot
 * be replayed: an allocation (run the step once before recording, so every
 * array and state exists), a copy from or to the host, a wait for the device.
 * Kernel arguments are fixed at recording, except the hyper-parameters of the
 * fused optimizer updates, which the kernels read from the graph's parameter
 * block (see rerun/refresh below). Every array the recorded work touches must
 * outlive the graph (the Lua binding holds them). */
typedef struct mx_cuda_graph mx_cuda_graph;
mx_status mx_cuda_graph_begin(mx_context ctx);
/* Ends the recording begun on ctx (always, also after a failure inside it). */
mx_status mx_cuda_graph_end(mx_context ctx, mx_cuda_graph **out);
mx_status mx_cuda_graph_launch(mx_cuda_graph *g); /* queued on the device's stream */
void mx_cuda_graph_release(mx_cuda_graph *g);      /* NULL is fine */
/* Hyper-parameters refreshed before each launch. While recording, the optimizer
 * updates made between rerun_begin and rerun_end form rerun number *hook (0, 1, ...
 * in order). Before a launch, refresh_begin(g, hook), the same updates made again
 * (same kinds, same order: their kernels are not queued, their hyper-parameters go
 * to the graph's parameter block), refresh_end(g): an error when they did not
 * match the recording. Updates recorded outside any rerun keep their values. */
mx_status mx_cuda_graph_rerun_begin(int *hook);
mx_status mx_cuda_graph_rerun_end(void);
mx_status mx_cuda_graph_refresh_begin(mx_cuda_graph *g, int hook);
mx_status mx_cuda_graph_refresh_end(mx_cuda_graph *g);

/* ---- scaling out (kvstore.c, kvstore_mpi.c, kvstore_nccl.cu) ----
 * The reductions behind mx.kvstore: a sum of arrays of one shape held on several
 * contexts of one process, an in-place all-reduce of GPU arrays through NCCL, and
 * MPI between processes (mpirun). Without Open MPI (or NCCL) at build time the
 * calls fail with "not available in this build". */
/* dst = srcs[0] + ... + srcs[n-1]; every array of dst's shape, on any context. */
mx_status mx_kvstore_reduce_sum(mx_ndarray *dst, mx_ndarray *const *srcs, int n);
int mx_nccl_compiled(void);
/* arrays[i] (one per GPU, same shape) all become their sum, through NCCL. */
mx_status mx_nccl_allreduce(mx_ndarray *const *arrays, int n);
int mx_dist_compiled(void);
/* MPI_Init (once; later calls only report): this process's rank and the number of processes.
 * A process that then exits with a non-zero status aborts every rank (MPI_Abort);
 * status 0 finalizes. */
mx_status mx_dist_init(int *rank, int *size);
/* Each array becomes the sum of that array over all processes: the arrays are packed
 * into buckets of at most bucket_floats floats (<= 0: 4M), one MPI_Allreduce each. */
mx_status mx_dist_allreduce(mx_ndarray *const *arrays, int n, int64_t bucket_floats);
mx_status mx_dist_broadcast(mx_ndarray *const *arrays, int n, int root); /* root's values to every rank */
mx_status mx_dist_barrier(void);
/* Seconds spent in MPI_Allreduce (communication only; for the overlap below, the wait
 * left after backward) and the number of all-reduces, since init. */
void mx_dist_stats(double *allreduce_seconds, int64_t *allreduce_calls);
/* Ends every rank now, with this exit code (MPI_Abort). */
mx_status mx_dist_abort(int code);
/* The all-reduce overlapped with a backward pass: mx_dist_overlap_backward runs e's
 * backward and returns once every array of grads holds its sum over the processes; each
 * bucket's all-reduce starts as soon as backward has written all of its gradients (seen
 * through e's monitor hook, which the call takes over and gives back empty). The first
 * call learns how often and in which order backward writes each gradient, and overlaps
 * nothing; later buckets (bucket_floats <= 0: 32K floats) follow that order. */
typedef struct mx_dist_overlap mx_dist_overlap;
mx_status mx_dist_overlap_create(mx_executor *e, mx_ndarray *const *grads, int n, int64_t bucket_floats,
                                 mx_dist_overlap **out);
mx_status mx_dist_overlap_backward(mx_dist_overlap *o);
void mx_dist_overlap_release(mx_dist_overlap *o); /* NULL is fine */

/* ---- what this build has (features.c) ----
 * The optional parts, in order: CUDA, CUBLAS, NCCL, MPI, BLIS, LIBXSMM, then OPENBLAS (always in;
 * detail: its version and the core it runs) and AVX2 (simd.h's AVX2 copies of the hot loops:
 * enabled when built and this CPU runs them). */
typedef struct mx_feature {
  const char *name;
  int enabled;        /* compiled in (AVX2: compiled and used on this CPU) */
  int off_on_request; /* left out because the build was told to (make BLIS=, make NVCC=) */
  const char *detail; /* a version, a path or a CPU, or "" */
} mx_feature;
/* The features (static storage); *count gets how many. */
const mx_feature *mx_features(int *count);

#ifdef __cplusplus
}
#endif
#endif
